"""binary_cross_entropy against PyTorch, scikit-learn and the written-out formula."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import log_loss

from weightwise.losses import binary_cross_entropy
from weightwise.nn import BCEWithLogitsLoss


def _data(shape, seed=0, soft=False):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g, dtype=torch.float64) * 4
    t = torch.rand(*shape, generator=g, dtype=torch.float64)
    if not soft:
        t = (t > 0.6).double()
    return x, t, g


@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("weight_shape", ["none", "sample", "full"])
def test_mean_equals_torch_bce_with_pos_weight(soft, weight_shape):
    x, t, g = _data((9, 5), soft=soft)
    pw = torch.rand(5, generator=g, dtype=torch.float64) * 3
    s = {
        "none": None,
        "sample": torch.rand(9, generator=g, dtype=torch.float64),
        "full": torch.rand(9, 5, generator=g, dtype=torch.float64),
    }[weight_shape]
    torch_w = None if s is None else (s[:, None] if s.dim() == 1 else s)
    for ours_red, torch_red in [("mean", "mean"), ("sum", "sum"), ("none", "none")]:
        ours = binary_cross_entropy(x, t, sample_weight=s, pos_weight=pw, reduction=ours_red)
        ref = F.binary_cross_entropy_with_logits(
            x, t, weight=torch_w, pos_weight=pw, reduction=torch_red
        )
        if ours_red == "none":
            ref = ref.expand_as(ours)
        torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)


def test_dense_pos_weight_aligns_with_dim_1():
    # PyTorch aligns pos_weight with the last dim; ours with dim 1 (the label axis).
    x, t, _g = _data((2, 3, 4, 4))
    pw = torch.tensor([1.0, 5.0, 0.2], dtype=torch.float64)
    ours = binary_cross_entropy(x, t, pos_weight=pw)
    ref = F.binary_cross_entropy_with_logits(x, t, pos_weight=pw.view(3, 1, 1))
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)


def test_binary_weighted_mean_equals_sklearn_log_loss():
    x, t, g = _data((50,), seed=2)
    s = torch.rand(50, generator=g, dtype=torch.float64)
    ours = binary_cross_entropy(x, t, sample_weight=s, reduction="weighted_mean")
    ref = log_loss(t.numpy(), torch.sigmoid(x).numpy(), sample_weight=s.numpy())
    assert ours.item() == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("reduction", ["mean", "weighted_mean", "nonzero_mean", "sum"])
@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 4, 5)])
def test_pos_neg_weight_formula_written_out(reduction, shape):
    x, t, g = _data(shape, seed=3, soft=True)
    c = shape[1]
    pw = torch.rand(c, generator=g, dtype=torch.float64) + 0.5
    nw = torch.rand(c, generator=g, dtype=torch.float64)
    nw[0] = 0.0
    s = torch.rand(shape[0], *shape[2:], generator=g, dtype=torch.float64)  # per pixel
    view = [1, c] + [1] * (len(shape) - 2)
    sg = s.unsqueeze(1)
    p = torch.sigmoid(x)
    wl = sg * (pw.view(view) * t * -torch.log(p) + nw.view(view) * (1 - t) * -torch.log(1 - p))
    omega = (sg * (pw.view(view) * t + nw.view(view) * (1 - t))).expand(shape)
    expected = {
        "mean": wl.sum() / wl.numel(),
        "weighted_mean": wl.sum() / omega.sum(),
        "nonzero_mean": wl.sum() / (omega != 0).sum(),
        "sum": wl.sum(),
    }[reduction]
    got = binary_cross_entropy(
        x, t, sample_weight=s, pos_weight=pw, neg_weight=nw, reduction=reduction
    )
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)


def test_extreme_logits_are_finite():
    x = torch.tensor([-1000.0, 1000.0, 0.0], requires_grad=True)
    t = torch.tensor([1.0, 0.0, 1.0])
    loss = binary_cross_entropy(x, t, reduction="sum")
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all()
    assert loss.item() == pytest.approx(2000.0 + torch.log(torch.tensor(2.0)).item(), rel=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "weighted_mean", "nonzero_mean", "sum"])
def test_gradcheck(reduction):
    x, t, g = _data((4, 3, 2), seed=4, soft=True)
    x.requires_grad_(True)
    s = torch.rand(4, 3, generator=g, dtype=torch.float64).requires_grad_(True)
    pw = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda a, b, w: binary_cross_entropy(
            a, b, sample_weight=w, pos_weight=pw, neg_weight=pw.flip(0), reduction=reduction
        ),
        (x, t.requires_grad_(True), s),
    )


def test_module_matches_functional():
    x, t, _g = _data((5, 3), seed=5)
    pw, nw = torch.tensor([2.0, 1.0, 3.0]), torch.tensor([1.0, 0.5, 1.0])
    mod = BCEWithLogitsLoss(pos_weight=pw, neg_weight=nw, reduction="weighted_mean").double()
    torch.testing.assert_close(
        mod(x, t),
        binary_cross_entropy(
            x, t, pos_weight=pw.double(), neg_weight=nw.double(), reduction="weighted_mean"
        ),
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 10), st.integers(0, 2**31 - 1), st.floats(0.01, 100.0))
def test_invariants(n, seed, scale):
    x, t, g = _data((n, 3), seed=seed)
    w = torch.rand(n, generator=g, dtype=torch.float64) + 0.1
    pw = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)

    def f(xx, tt, ww, red):
        return binary_cross_entropy(xx, tt, sample_weight=ww, pos_weight=pw, reduction=red)

    for red in ["mean", "weighted_mean", "nonzero_mean", "sum"]:
        torch.testing.assert_close(
            f(x, t, torch.ones(n, dtype=torch.float64), red), f(x, t, None, red)
        )
    torch.testing.assert_close(f(x, t, w * scale, "weighted_mean"), f(x, t, w, "weighted_mean"))
    reps = torch.randint(0, 3, (n,), generator=g)
    reps[0] = max(int(reps[0]), 1)
    idx = torch.repeat_interleave(torch.arange(n), reps)
    for red in ["weighted_mean", "sum"]:
        torch.testing.assert_close(f(x, t, reps.double(), red), f(x[idx], t[idx], None, red))
    keep = reps > 0
    wz = torch.where(keep, w, torch.zeros_like(w))
    for red in ["weighted_mean", "nonzero_mean", "sum"]:
        torch.testing.assert_close(f(x, t, wz, red), f(x[keep], t[keep], w[keep], red))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"pos_weight": torch.ones(2)}, r"pos_weight must have shape \(3,\)"),
        (
            {"neg_weight": torch.tensor([1.0, -1.0, 1.0])},
            r"neg_weight must be finite and non-negative; got -1.0 at index 1",
        ),
        ({"sample_weight": torch.ones(4, 1)}, r"sample_weight of shape \(4, 1\) does not fit"),
        ({"sample_weight": torch.ones(4, 3) * float("nan")}, r"got nan at index \(0, 0\)"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        binary_cross_entropy(torch.randn(4, 3), torch.ones(4, 3), **kwargs)


def test_bad_target_and_ambiguous_weight():
    with pytest.raises(ValueError, match=r"target must be in \[0, 1\]; got 2.0 at index \(1, 0\)"):
        binary_cross_entropy(torch.randn(2, 3), torch.tensor([[0.0, 1, 0], [2, 0, 0]]))
    with pytest.raises(ValueError, match=r"ambiguous .* pass the full grid \(2, 3, 3\)"):
        binary_cross_entropy(
            torch.randn(2, 3, 3), torch.ones(2, 3, 3), sample_weight=torch.ones(2, 3)
        )
    with pytest.raises(ValueError, match=r"pos_weight must be a scalar"):
        binary_cross_entropy(torch.randn(4), torch.ones(4), pos_weight=torch.ones(4))
