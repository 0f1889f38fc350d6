"""asymmetric_loss against Ridnik et al.'s formula written out (their reference code's steps)."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from weightwise.losses import asymmetric_loss, binary_cross_entropy

REDUCTIONS = ["mean", "weighted_mean", "nonzero_mean", "sum", "none"]


def reference_asl(x, y, gamma_neg=4.0, gamma_pos=1.0, clip=0.05, eps=1e-8, detach=False):
    """Ridnik et al. (2021), ``AsymmetricLoss.forward``, step by step; returns the elementwise
    loss (the reference returns ``-loss.sum()``)."""
    x_sigmoid = torch.sigmoid(x)
    xs_pos = x_sigmoid
    xs_neg = 1 - x_sigmoid
    if clip is not None and clip > 0:
        xs_neg = (xs_neg + clip).clamp(max=1)
    los_pos = y * torch.log(xs_pos.clamp(min=eps))
    los_neg = (1 - y) * torch.log(xs_neg.clamp(min=eps))
    loss = los_pos + los_neg
    if gamma_neg > 0 or gamma_pos > 0:
        with torch.set_grad_enabled(not detach and torch.is_grad_enabled()):
            pt0 = xs_pos * y
            pt1 = xs_neg * (1 - y)
            pt = pt0 + pt1
            one_sided_gamma = gamma_pos * y + gamma_neg * (1 - y)
            one_sided_w = torch.pow(1 - pt, one_sided_gamma)
        loss = loss * one_sided_w
    return -loss


def _value_and_grad(fn, logits):
    x = logits.detach().clone().requires_grad_(True)
    out = fn(x)
    (out.sum() if out.dim() else out).backward()
    return out.detach(), x.grad


def _data(shape, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g, dtype=torch.float64) * 2
    y = (torch.rand(*shape, generator=g) > 0.7).double()
    return x, y


@pytest.mark.parametrize(
    "gammas, clip, detach",
    list(
        itertools.product(
            [(0.0, 4.0), (1.0, 4.0), (0.5, 2.5), (0.0, 0.0)], [0.0, 0.05, 0.2], [False, True]
        )
    ),
)
def test_equals_reference_formula(gammas, clip, detach):
    gp, gn = gammas
    x, y = _data((6, 5), seed=1)
    got = _value_and_grad(
        lambda z: asymmetric_loss(
            z, y, gamma_pos=gp, gamma_neg=gn, clip=clip, detach_focal=detach, reduction="none"
        ),
        x,
    )
    ref = _value_and_grad(
        lambda z: reference_asl(z, y, gamma_neg=gn, gamma_pos=gp, clip=clip, detach=detach), x
    )
    torch.testing.assert_close(got, ref, rtol=1e-9, atol=1e-12)
    # The reference's -Σ is our reduction="sum".
    torch.testing.assert_close(
        asymmetric_loss(x, y, gamma_pos=gp, gamma_neg=gn, clip=clip, reduction="sum"),
        ref[0].sum(),
        rtol=1e-9,
        atol=1e-12,
    )


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    gp=st.floats(0.0, 4.0),
    gn=st.floats(0.0, 6.0),
    clip=st.floats(0.0, 0.3),
    seed=st.integers(0, 2**31 - 1),
)
def test_equals_reference_random(shape, gp, gn, clip, seed):
    x, y = _data(shape, seed)
    got = _value_and_grad(
        lambda z: asymmetric_loss(z, y, gamma_pos=gp, gamma_neg=gn, clip=clip, reduction="none"), x
    )
    ref = _value_and_grad(lambda z: reference_asl(z, y, gamma_neg=gn, gamma_pos=gp, clip=clip), x)
    torch.testing.assert_close(got[0], ref[0], rtol=1e-8, atol=1e-10)
    # For 0 < γ- < 1 the reference's gradient is NaN (0^(γ-1) · 0) on the negatives whose
    # probability is at most the clip; the loss is 0 on a neighbourhood there, so the true
    # gradient is 0.
    flat = ~torch.isfinite(ref[1])
    assert torch.all(got[1][flat] == 0)
    assert torch.all((y[flat] == 0) & (torch.sigmoid(x[flat]) <= clip + 1e-12))
    torch.testing.assert_close(got[1][~flat], ref[1][~flat], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_no_focusing_no_clip_is_bce_with_weights(reduction):
    x, y = _data((5, 4, 3), seed=2)
    g = torch.Generator().manual_seed(3)
    sw = torch.rand(5, 3, generator=g, dtype=torch.float64)  # per pixel
    pw = torch.rand(4, generator=g, dtype=torch.float64) * 3
    nw = torch.rand(4, generator=g, dtype=torch.float64) + 0.2
    kw = {"sample_weight": sw, "pos_weight": pw, "neg_weight": nw, "reduction": reduction}
    got = _value_and_grad(
        lambda z: asymmetric_loss(z, y, gamma_pos=0.0, gamma_neg=0.0, clip=0.0, **kw), x
    )
    ref = _value_and_grad(lambda z: binary_cross_entropy(z, y, **kw), x)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)


def test_saturated_logits_stay_finite():
    x = torch.tensor([[-200.0, 200.0, 30.0, -30.0]], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[1.0, 0.0, 0.0, 1.0]], dtype=torch.float64)
    for clip in [0.0, 0.05]:
        loss = asymmetric_loss(x, y, gamma_pos=1.0, gamma_neg=4.0, clip=clip, reduction="sum")
        (g,) = torch.autograd.grad(loss, x)
        assert torch.isfinite(loss) and torch.isfinite(g).all()
    # -log σ(-200) = 200 exactly (the reference's eps clamp would give -log(1e-8) ≈ 18.4).
    loss = asymmetric_loss(x[:, :1], y[:, :1], gamma_pos=0.0, reduction="sum")
    assert loss.item() == pytest.approx(200.0, rel=1e-12)


def test_gradcheck():
    # detach_focal=True has, by design, not the gradient of its value (the reference's
    # disable_torch_grad_focal_loss); it is checked against the reference above instead.
    detach = False
    x, y = _data((3, 4, 2), seed=4)
    sw = torch.rand(3, 4, dtype=torch.float64).requires_grad_(True)
    x.requires_grad_(True)
    for red in ["mean", "weighted_mean", "sum"]:
        assert torch.autograd.gradcheck(
            lambda z, s, red=red: asymmetric_loss(
                z,
                y,
                gamma_pos=1.0,
                gamma_neg=3.0,
                clip=0.05,
                detach_focal=detach,
                pos_weight=torch.tensor([1.0, 2.0, 0.5, 1.0], dtype=torch.float64),
                sample_weight=s,
                reduction=red,
            ),
            (x, sw),
        )


# ---- invariants ----------------------------------------------------------------------------

cases = st.integers(min_value=1, max_value=10).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.integers(0, 2**31 - 1),
        st.lists(st.integers(0, 3), min_size=n, max_size=n),
    )
)


def _asl(x, y, w, red):
    return asymmetric_loss(
        x, y, neg_weight=torch.tensor([1.0, 0.5, 2.0]), sample_weight=w, reduction=red
    )


def _rand(n, seed):
    x, y = _data((n, 3), seed)
    w = torch.rand(n, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) + 0.05
    return x, y, w


@settings(max_examples=20, deadline=None)
@given(cases)
def test_invariants(case):
    n, seed, reps = case
    x, y, w = _rand(n, seed)
    for red in ["mean", "weighted_mean", "nonzero_mean", "sum"]:  # unit = none
        torch.testing.assert_close(
            _asl(x, y, torch.ones(n, dtype=torch.float64), red), _asl(x, y, None, red)
        )
    r = torch.tensor(reps, dtype=torch.float64)
    if r.sum() == 0:
        r[0] = 1.0
    idx = torch.repeat_interleave(torch.arange(n), r.long())
    for red in ["weighted_mean", "sum"]:  # integer = repetition
        torch.testing.assert_close(_asl(x, y, r, red), _asl(x[idx], y[idx], None, red))
    keep = r > 0
    wz = torch.where(keep, w, torch.zeros_like(w))
    for red in ["weighted_mean", "nonzero_mean", "sum"]:  # zero = removal
        torch.testing.assert_close(_asl(x, y, wz, red), _asl(x[keep], y[keep], w[keep], red))
    torch.testing.assert_close(  # scale-free
        _asl(x, y, 7.5 * w, "weighted_mean"), _asl(x, y, w, "weighted_mean")
    )


def test_bad_input():
    x, y = torch.randn(4, 3), torch.ones(4, 3)
    with pytest.raises(ValueError, match=r"gamma_neg must be a finite number >= 0; got -1"):
        asymmetric_loss(x, y, gamma_neg=-1)
    with pytest.raises(ValueError, match=r"gamma_pos must be a finite number >= 0; got -0.5"):
        asymmetric_loss(x, y, gamma_pos=-0.5)
    with pytest.raises(ValueError, match=r"clip must be a finite number >= 0; got -0.1"):
        asymmetric_loss(x, y, clip=-0.1)
    with pytest.raises(ValueError, match=r"clip must be in \[0, 1\]; got 2"):
        asymmetric_loss(x, y, clip=2)
    with pytest.raises(ValueError, match=r"target must be in \[0, 1\]; got 3.0 at index \(1, 0\)"):
        asymmetric_loss(x, torch.tensor([[1.0, 0, 0], [3.0, 0, 0], [0, 0, 0], [0, 0, 0]]))
    with pytest.raises(ValueError, match=r"pos_weight must have shape \(3,\)"):
        asymmetric_loss(x, y, pos_weight=torch.ones(2))
