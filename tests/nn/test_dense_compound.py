"""CompoundLoss: dice + CE and dice + BCE equal the sum of the functional terms."""

from __future__ import annotations

import pytest
import torch

from weightwise.losses import binary_cross_entropy, cross_entropy, dice_loss
from weightwise.nn import CompoundLoss, CrossEntropyLoss, DiceLoss, TverskyLoss


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(3, 4, 5, 6, generator=g, dtype=torch.float64)
    target = torch.randint(0, 4, (3, 5, 6), generator=g)
    target[0, 0] = 255
    pix = torch.rand(3, 5, 6, generator=g, dtype=torch.float64)
    cw = torch.rand(4, generator=g, dtype=torch.float64) + 0.1
    return logits, target, pix, cw


@pytest.mark.parametrize("sw", ["pixel", "sample", None])
def test_dice_ce_equals_sum_of_terms_under_the_same_weights(sw):
    logits, target, pix, cw = _data()
    weight = {"pixel": pix, "sample": pix[:, 0, 0], None: None}[sw]
    loss_fn = CompoundLoss.dice_ce(
        class_weight=cw, ignore_index=255, dice_weight=0.7, ce_weight=0.3, pooling="batch"
    )
    got = loss_fn(logits, target, sample_weight=weight)
    d = dice_loss(
        logits, target, sample_weight=weight, class_weight=cw, ignore_index=255, pooling="batch"
    )
    ce = cross_entropy(logits, target, sample_weight=weight, class_weight=cw, ignore_index=255)
    torch.testing.assert_close(got, 0.7 * d + 0.3 * ce)
    torch.testing.assert_close(loss_fn.last_terms["dice"], d.detach())
    torch.testing.assert_close(loss_fn.last_terms["ce"], ce.detach())
    assert "terms.dice.class_weight" in loss_fn.state_dict()


def test_dice_bce_equals_sum_of_terms():
    logits, target, pix, _ = _data(1)
    x = logits[:, :1]
    y = (target[:, None] == 1).double()
    loss_fn = CompoundLoss.dice_bce(pos_weight=torch.tensor([3.0], dtype=torch.float64))
    got = loss_fn(x, y, sample_weight=pix)
    ref = dice_loss(x, y, mode="binary", sample_weight=pix) + binary_cross_entropy(
        x, y, sample_weight=pix, pos_weight=torch.tensor([3.0], dtype=torch.float64)
    )
    torch.testing.assert_close(got, ref)
    x.requires_grad_(True)
    loss_fn(x, y).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_general_terms_sequence_and_bad_arguments():
    logits, target, pix, _ = _data(2)
    target = target.clamp_max(3)
    terms = [DiceLoss(), TverskyLoss(alpha=0.3, beta=0.7), CrossEntropyLoss()]
    loss_fn = CompoundLoss(terms, weights=[1.0, 2.0, 0.5])
    ref = sum(
        lam * t(logits, target, sample_weight=pix)
        for lam, t in zip([1.0, 2.0, 0.5], terms, strict=True)
    )
    torch.testing.assert_close(loss_fn(logits, target, sample_weight=pix), ref)
    assert sorted(loss_fn.last_terms) == ["0", "1", "2"]
    with pytest.raises(ValueError, match=r"one lambda per term \(3\); got 2"):
        CompoundLoss(terms, weights=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"weights names terms \['bce'\]"):
        CompoundLoss({"dice": DiceLoss()}, weights={"bce": 1.0})
    with pytest.raises(ValueError, match=r"weights\['dice'\] must be finite and non-negative"):
        CompoundLoss({"dice": DiceLoss()}, weights={"dice": -1.0})
    with pytest.raises(ValueError, match=r"terms\['x'\] must be a torch.nn.Module; got function"):
        CompoundLoss({"x": dice_loss})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match=r"at least one loss module"):
        CompoundLoss([])
