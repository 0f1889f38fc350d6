"""An empty batch (N = 0): every dense and Lovász loss returns 0 with a zero gradient, as
``cross_entropy`` (and PyTorch's summed losses) do; ``reduction="none"`` gives an empty tensor."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import weightwise.losses as L

DENSE = ["dice_loss", "tversky_loss", "focal_tversky_loss", "generalized_dice_loss"]


def _inputs(mode: str) -> tuple[torch.Tensor, torch.Tensor]:
    if mode == "binary":
        return torch.randn(0, 1, 4, 4, dtype=torch.float64, requires_grad=True), torch.zeros(
            0, 4, 4
        )
    x = torch.randn(0, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    t = torch.zeros(0, 3, 4, 4) if mode == "multilabel" else torch.zeros(0, 4, 4, dtype=torch.long)
    return x, t


@pytest.mark.parametrize("name", DENSE)
@pytest.mark.parametrize("mode", ["multiclass", "binary", "multilabel"])
@pytest.mark.parametrize("reduction", ["mean", "weighted_mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_dense_losses_on_an_empty_batch(name, mode, reduction, weighted) -> None:
    x, t = _inputs(mode)
    w = torch.zeros(0, dtype=torch.float64) if weighted else None
    out = getattr(L, name)(x, t, mode=mode, reduction=reduction, sample_weight=w)
    if reduction == "none":
        assert out.shape == (0,)
    else:
        assert out.shape == () and out.item() == 0.0
    out.sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape


def test_the_rule_is_cross_entropys() -> None:
    """PyTorch's summed cross-entropy on N = 0 is 0; weightwise's CE and Dice agree with it."""
    x = torch.randn(0, 3, requires_grad=True)
    y = torch.zeros(0, dtype=torch.long)
    assert F.cross_entropy(x, y, reduction="sum").item() == 0.0
    assert L.cross_entropy(x, y).item() == 0.0
    x4, t4 = _inputs("multiclass")
    assert L.dice_loss(x4, t4).item() == 0.0


@pytest.mark.parametrize("per_image", [False, True])
def test_lovasz_losses_on_an_empty_batch(per_image: bool) -> None:
    x, t = _inputs("multiclass")
    out = L.lovasz_softmax_loss(x, t, per_image=per_image)
    assert out.item() == 0.0
    out.backward()
    xb, tb = _inputs("binary")
    out = L.lovasz_hinge_loss(xb, tb, per_image=per_image)
    assert out.item() == 0.0
    out.backward()
    assert xb.grad is not None and xb.grad.shape == xb.shape
