"""A wrong dtype is a ``TypeError`` in every loss (also a ``ValueError``, for 0.1 code)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from weightwise import losses as L
from weightwise import nn as wnn

Loss = Callable[..., torch.Tensor]

# Softmax-style losses: (N, C, d...) logits, integer class targets (N, d...).
CLASS_LOSSES: dict[str, Loss] = {
    "cross_entropy": L.cross_entropy,
    "focal_loss": L.focal_loss,
    "logit_adjusted": lambda x, t, **kw: L.logit_adjusted_cross_entropy(
        x, t, counts=[3, 2, 1], **kw
    ),
    "balanced_softmax": lambda x, t, **kw: L.balanced_softmax_cross_entropy(
        x, t, counts=[3, 2, 1], **kw
    ),
    "ldam_loss": lambda x, t, **kw: L.ldam_loss(x, t, counts=[3, 2, 1], **kw),
    "dice_loss": L.dice_loss,
    "tversky_loss": L.tversky_loss,
    "focal_tversky_loss": L.focal_tversky_loss,
    "generalized_dice_loss": L.generalized_dice_loss,
    "lovasz_softmax_loss": L.lovasz_softmax_loss,
    "DiceLoss": wnn.DiceLoss(),
    "CrossEntropyLoss": wnn.CrossEntropyLoss(),
    "FocalLoss": wnn.FocalLoss(),
    "dice_ce": wnn.CompoundLoss.dice_ce(),
}
# Losses that refuse soft (probability) targets.
HARD_ONLY = {"focal_loss", "ldam_loss", "lovasz_softmax_loss", "FocalLoss"}

BINARY_LOSSES: dict[str, Loss] = {
    "binary_cross_entropy": L.binary_cross_entropy,
    "binary_focal_loss": L.binary_focal_loss,
    "asymmetric_loss": L.asymmetric_loss,
    "dice_loss_multilabel": lambda x, t, **kw: L.dice_loss(x, t, mode="multilabel", **kw),
    "dice_loss_binary": lambda x, t, **kw: L.dice_loss(x, t, mode="binary", **kw),
    "lovasz_hinge_loss": L.lovasz_hinge_loss,
}


def _class_data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(2, 3, 4, 5, generator=g), torch.randint(0, 3, (2, 4, 5), generator=g)


def _raises_dtype(fn: Loss, *args: Any, match: str, **kw: Any) -> None:
    with pytest.raises(TypeError, match=match) as info:
        fn(*args, **kw)
    assert isinstance(info.value, ValueError)  # code written for 0.1 caught ValueError


@pytest.mark.parametrize("name", sorted(CLASS_LOSSES))
def test_integer_logits_are_a_type_error(name):
    x, t = _class_data()
    _raises_dtype(
        CLASS_LOSSES[name],
        x.long(),
        t,
        match=r"^logits must be a floating-point tensor; got torch.int64$",
    )


@pytest.mark.parametrize("name", sorted(CLASS_LOSSES))
@pytest.mark.parametrize("dtype", [torch.bool, torch.complex64])
def test_non_integer_class_targets_are_a_type_error(name, dtype):
    x, t = _class_data()
    _raises_dtype(
        CLASS_LOSSES[name],
        x,
        t.to(dtype),
        match=rf"^target must hold integer class indices.*; got dtype {dtype}$",
    )


@pytest.mark.parametrize("name", sorted(HARD_ONLY))
def test_soft_targets_where_none_are_allowed_are_a_type_error(name):
    x, _ = _class_data()
    soft = torch.softmax(torch.randn(x.shape), dim=1)
    _raises_dtype(
        CLASS_LOSSES[name],
        x,
        soft,
        match=r"^target must hold integer class indices.*; got dtype torch.float32$",
    )


def test_soft_target_of_the_wrong_shape_is_a_value_error_naming_both_shapes():
    x, t = _class_data()
    for fn in (L.cross_entropy, L.dice_loss):
        with pytest.raises(ValueError, match=r"soft target must have the logits' shape") as info:
            fn(x, t.float())  # class indices given as floats
        assert not isinstance(info.value, TypeError)


FUNCTIONAL = sorted(k for k, v in CLASS_LOSSES.items() if not isinstance(v, torch.nn.Module))


@pytest.mark.parametrize("name", FUNCTIONAL)
def test_complex_class_weight_is_a_type_error(name):
    x, t = _class_data()
    cw = torch.ones(3, dtype=torch.complex64)
    _raises_dtype(CLASS_LOSSES[name], x, t, class_weight=cw, match=r"^class_weight must be real")


@pytest.mark.parametrize("name", sorted(BINARY_LOSSES))
def test_binary_losses_refuse_integer_logits_and_complex_targets(name):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 4, generator=g)
    y = (torch.rand(2, 3, 4, generator=g) > 0.5).float()
    if name in ("dice_loss_binary", "lovasz_hinge_loss"):
        x, y = x[:, :1], y[:, :1]
    fn = BINARY_LOSSES[name]
    _raises_dtype(
        fn, x.long(), y, match=r"^logits must be a floating-point tensor; got torch.int64$"
    )
    _raises_dtype(fn, x, y.to(torch.complex64), match=r"^target must be real; got dtype")


def test_value_errors_stay_value_errors():
    x, t = _class_data()
    bad = t.clone()
    bad[0, 0, 0] = 3
    for fn in (L.cross_entropy, L.focal_loss, L.dice_loss, L.lovasz_softmax_loss):
        with pytest.raises(ValueError, match=r"target must be in \[0, 3\); got 3") as info:
            fn(x, bad)
        assert not isinstance(info.value, TypeError)
