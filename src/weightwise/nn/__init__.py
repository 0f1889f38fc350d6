"""``torch.nn.Module`` losses: weights fixed at construction, ``sample_weight`` in ``forward``."""

from __future__ import annotations

from ._causal_lm import CausalLMLoss
from ._classification import BCEWithLogitsLoss, CrossEntropyLoss
from ._dense import (
    CompoundLoss,
    DiceLoss,
    FocalTverskyLoss,
    GeneralizedDiceLoss,
    LovaszHingeLoss,
    LovaszSoftmaxLoss,
    TverskyLoss,
)
from ._imbalance import (
    AnyOfCrossEntropyLoss,
    AsymmetricLoss,
    BalancedSoftmaxLoss,
    BinaryFocalLoss,
    FocalLoss,
    LDAMLoss,
    LogitAdjustedCrossEntropyLoss,
)

__all__ = [
    "AnyOfCrossEntropyLoss",
    "AsymmetricLoss",
    "BCEWithLogitsLoss",
    "BalancedSoftmaxLoss",
    "BinaryFocalLoss",
    "CausalLMLoss",
    "CompoundLoss",
    "CrossEntropyLoss",
    "DiceLoss",
    "FocalLoss",
    "FocalTverskyLoss",
    "GeneralizedDiceLoss",
    "LDAMLoss",
    "LogitAdjustedCrossEntropyLoss",
    "LovaszHingeLoss",
    "LovaszSoftmaxLoss",
    "TverskyLoss",
]
