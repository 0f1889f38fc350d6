"""Functional weighted losses. Every loss takes ``sample_weight`` and ``reduction=`` with the
meanings of :mod:`weightwise.reduction`."""

from __future__ import annotations

from ._causal_lm import causal_lm_loss, causal_lm_weight
from ._classification import binary_cross_entropy, cross_entropy
from ._dense import dice_loss, focal_tversky_loss, generalized_dice_loss, tversky_loss
from ._focal import binary_focal_loss, focal_loss
from ._imbalance import (
    any_of_cross_entropy,
    asymmetric_loss,
    balanced_softmax_cross_entropy,
    ldam_loss,
    ldam_margins,
    logit_adjusted_cross_entropy,
)
from ._linear import linear_cross_entropy
from ._lovasz import lovasz_hinge_loss, lovasz_softmax_loss

__all__ = [
    "any_of_cross_entropy",
    "asymmetric_loss",
    "balanced_softmax_cross_entropy",
    "binary_cross_entropy",
    "binary_focal_loss",
    "causal_lm_loss",
    "causal_lm_weight",
    "cross_entropy",
    "dice_loss",
    "focal_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "ldam_loss",
    "ldam_margins",
    "linear_cross_entropy",
    "logit_adjusted_cross_entropy",
    "lovasz_hinge_loss",
    "lovasz_softmax_loss",
    "tversky_loss",
]
