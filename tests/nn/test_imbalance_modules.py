"""The nn twins of the imbalance losses: same values as the functions, weights as buffers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from weightwise import losses
from weightwise import nn as wnn
from weightwise.schedules import DeferredReweighting


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(6, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (6,), generator=g)
    Y = (torch.rand(6, 3, generator=g) > 0.6).double()
    sw = torch.rand(6, generator=g, dtype=torch.float64)
    return x, y, Y, sw


COUNTS = [60.0, 6.0, 2.0]
CW = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)


@pytest.mark.parametrize(
    "module, fn, kind, kwargs, buffers",
    [
        (
            wnn.FocalLoss,
            losses.focal_loss,
            "hard",
            {"gamma": 1.5, "alpha": [0.2, 0.3, 0.5], "class_weight": CW, "ignore_index": 2},
            {"alpha", "class_weight"},
        ),
        (
            wnn.BinaryFocalLoss,
            losses.binary_focal_loss,
            "multi",
            {"gamma": 2.0, "alpha": 0.3, "pos_weight": CW, "neg_weight": [1.0, 2.0, 3.0]},
            {"alpha", "pos_weight", "neg_weight"},
        ),
        (wnn.AnyOfCrossEntropyLoss, losses.any_of_cross_entropy, "sets", {"mode": "max"}, set()),
        (
            wnn.LogitAdjustedCrossEntropyLoss,
            losses.logit_adjusted_cross_entropy,
            "hard",
            {"counts": COUNTS, "tau": 0.7, "class_weight": CW, "label_smoothing": 0.1},
            {"counts", "class_weight"},
        ),
        (
            wnn.LogitAdjustedCrossEntropyLoss,
            losses.logit_adjusted_cross_entropy,
            "hard",
            {"prior": [0.5, 0.3, 0.2]},
            {"prior"},
        ),
        (
            wnn.BalancedSoftmaxLoss,
            losses.balanced_softmax_cross_entropy,
            "hard",
            {"counts": COUNTS, "class_weight": CW},
            {"counts", "class_weight"},
        ),
        (
            wnn.LDAMLoss,
            losses.ldam_loss,
            "hard",
            {"counts": COUNTS, "max_margin": 0.4, "scale": 8.0, "class_weight": CW},
            {"counts", "class_weight"},
        ),
        (
            wnn.AsymmetricLoss,
            losses.asymmetric_loss,
            "multi",
            {"gamma_pos": 1.0, "gamma_neg": 3.0, "clip": 0.1, "pos_weight": CW},
            {"pos_weight"},
        ),
    ],
)
@pytest.mark.parametrize("reduction", ["mean", "weighted_mean", "none"])
def test_module_matches_functional(module, fn, kind, kwargs, buffers, reduction):
    x, y, Y, sw = _data()
    target = {"hard": y, "multi": Y, "sets": Y.bool() | torch.eye(3, dtype=torch.bool)[y]}[kind]
    mod = module(**kwargs, reduction=reduction)
    assert buffers <= set(dict(mod.named_buffers()))
    assert buffers <= set(mod.state_dict())
    got = mod(x, target, sample_weight=sw)
    ref = fn(x, target, **kwargs, sample_weight=sw, reduction=reduction)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)
    assert type(mod).__name__ in repr(mod)


def test_ldam_drw_schedule_through_module():
    x, y, _, sw = _data(1)
    drw = DeferredReweighting(COUNTS, switch_epoch=2, beta=0.99)
    mod = wnn.LDAMLoss(counts=COUNTS, reduction="weighted_mean")
    for epoch in range(4):
        mod.set_class_weight(drw.class_weight(epoch))
        ref = losses.ldam_loss(
            x,
            y,
            counts=COUNTS,
            class_weight=drw.class_weight(epoch),
            sample_weight=sw,
            reduction="weighted_mean",
        )
        torch.testing.assert_close(mod(x, y, sample_weight=sw), ref, rtol=1e-12, atol=1e-12)
    assert mod.class_weight is not None
    np.testing.assert_allclose(mod.class_weight.numpy(), drw.class_weight(3))


def test_module_bad_arguments():
    with pytest.raises(ValueError, match=r"alpha must be None or a per-class vector"):
        wnn.FocalLoss(alpha=0.25)
    with pytest.raises(ValueError, match=r"gamma must be a finite number >= 0"):
        wnn.BinaryFocalLoss(gamma=-2.0)
    with pytest.raises(ValueError, match=r"counts must be finite and positive .* index 1"):
        wnn.BalancedSoftmaxLoss(counts=[3, 0])
    with pytest.raises(ValueError, match=r"counts must be finite and positive .* index 0"):
        wnn.LDAMLoss(counts=[0, 3])
    with pytest.raises(ValueError, match=r"give exactly one of prior and counts"):
        wnn.LogitAdjustedCrossEntropyLoss()
    with pytest.raises(ValueError, match=r"mode must be 'marginal' or 'max'"):
        wnn.AnyOfCrossEntropyLoss(mode="sum")
    with pytest.raises(ValueError, match=r"reduction must be one of"):
        wnn.AsymmetricLoss(reduction="avg")
