"""The fused path (gradient computed in the forward pass) equals the reference autograd path:
values and gradients, 1e-6 relative in float64 and 1e-5 in float32, for every reduction, weight
kind, ignore_index, label smoothing, soft targets, dense shapes and all-ignored batches."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

import weightwise
from weightwise.losses import _fused, binary_cross_entropy, cross_entropy

REDUCTIONS = ["mean", "weighted_mean", "nonzero_mean", "sum"]
TOL = {torch.float64: {"rtol": 1e-6, "atol": 1e-9}, torch.float32: {"rtol": 1e-5, "atol": 1e-6}}


def _both(fn, logits, *, check_path=True):
    out = {}
    for fused in (True, False):
        x = logits.detach().clone().requires_grad_(True)
        loss = fn(x, fused)
        loss.backward()
        out[fused] = (loss.detach(), x.grad)
        if fused and check_path:
            assert "Fused" in type(loss.grad_fn).__name__, "the fused path was not taken"
    return out


def _assert_same(out, dtype):
    torch.testing.assert_close(out[True][0], out[False][0], **TOL[dtype])
    torch.testing.assert_close(out[True][1], out[False][1], **TOL[dtype])


@pytest.mark.parametrize(
    "shape, weight, ignore, smoothing, reduction, dtype",
    list(
        itertools.product(
            [(9, 5), (3, 4, 5, 2)],
            ["none", "sample", "grid", "class", "both"],
            [None, -1],
            [0.0, 0.2],
            REDUCTIONS,
            [torch.float64, torch.float32],
        )
    ),
)
def test_cross_entropy_hard(shape, weight, ignore, smoothing, reduction, dtype):
    g = torch.Generator().manual_seed(hash((shape, weight, reduction)) % 2**31)
    n, c, *rest = shape
    logits = torch.randn(*shape, generator=g, dtype=dtype) * 3
    target = torch.randint(0, c, (n, *rest), generator=g)
    if ignore is not None:
        target.view(-1)[::4] = ignore
    sw = {
        "sample": torch.rand(n, generator=g, dtype=dtype),
        "grid": torch.rand(n, *rest, generator=g, dtype=dtype),
        "both": torch.rand(n, generator=g, dtype=dtype),
    }.get(weight)
    if sw is not None:
        sw.view(-1)[1] = 0.0
    cw = torch.rand(c, generator=g, dtype=dtype) + 0.2 if weight in ("class", "both") else None

    def fn(x, fused):
        return cross_entropy(
            x,
            target,
            sample_weight=sw,
            class_weight=cw,
            ignore_index=ignore,
            label_smoothing=smoothing,
            reduction=reduction,
            fused=fused,
        )

    _assert_same(_both(fn, logits), dtype)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("shape", [(6, 7), (2, 7, 3)])
def test_cross_entropy_hard_extreme_logits_match_pytorch(shape, smoothing):
    # Logit gaps of thousands: exp(x) overflows and exp(x - max) underflows for all but the
    # largest class, so only a max-subtracted log-sum-exp gives finite values and gradients.
    g = torch.Generator().manual_seed(7)
    n, c, *rest = shape
    logits = torch.randn(*shape, generator=g) * 2000.0
    target = torch.randint(0, c, (n, *rest), generator=g)
    cw = torch.rand(c, generator=g) + 0.5
    sw = torch.rand(n, generator=g)
    x = logits.clone().requires_grad_(True)
    loss = cross_entropy(
        x, target, sample_weight=sw, class_weight=cw, label_smoothing=smoothing, fused=True
    )
    loss.backward()
    assert "Fused" in type(loss.grad_fn).__name__
    xr = logits.clone().requires_grad_(True)
    per = F.cross_entropy(xr, target, weight=cw, reduction="none", label_smoothing=smoothing)
    sw_grid = sw.reshape(n, *([1] * len(rest)))
    expected = (per * sw_grid).sum() / target.numel()
    expected.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all()
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(x.grad, xr.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(7, 4), (2, 3, 4, 4)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("use_cw", [False, True])
def test_cross_entropy_soft(shape, reduction, smoothing, use_cw):
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(*shape, generator=g, dtype=torch.float64)
    t = torch.softmax(torch.randn(*shape, generator=g, dtype=torch.float64), 1)
    sw = torch.rand(shape[0], generator=g, dtype=torch.float64)
    cw = torch.rand(shape[1], generator=g, dtype=torch.float64) if use_cw else None

    def fn(x, fused):
        return cross_entropy(
            x,
            t,
            sample_weight=sw,
            class_weight=cw,
            label_smoothing=smoothing,
            reduction=reduction,
            fused=fused,
        )

    _assert_same(_both(fn, logits), torch.float64)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_all_ignored_is_zero_with_zero_gradient(reduction):
    logits = torch.randn(4, 3, 5, dtype=torch.float64)
    target = torch.full((4, 5), 7)
    out = _both(
        lambda x, fused: cross_entropy(x, target, ignore_index=7, reduction=reduction, fused=fused),
        logits,
    )
    for fused in (True, False):
        assert out[fused][0].item() == 0.0
        assert torch.equal(out[fused][1], torch.zeros_like(logits))


@pytest.mark.parametrize("shape", [(6,), (8, 5), (2, 3, 4, 4)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", ["none", "sample", "pos", "pos_neg_pixel"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_binary_cross_entropy(shape, reduction, weights, dtype):
    g = torch.Generator().manual_seed(5)
    logits = torch.randn(*shape, generator=g, dtype=dtype) * 4
    t = torch.rand(*shape, generator=g, dtype=dtype)  # soft targets
    c = shape[1] if len(shape) > 1 else 1
    sw = pw = nw = None
    if weights == "sample":
        sw = torch.rand(shape[0], generator=g, dtype=dtype)
    if weights in ("pos", "pos_neg_pixel"):
        pw = (torch.rand(c, generator=g, dtype=dtype) * 3) if len(shape) > 1 else 2.5
    if weights == "pos_neg_pixel":
        nw = (torch.rand(c, generator=g, dtype=dtype)) if len(shape) > 1 else 0.5
        sw = torch.rand(shape[0], *shape[2:], generator=g, dtype=dtype)

    def fn(x, fused):
        return binary_cross_entropy(
            x, t, sample_weight=sw, pos_weight=pw, neg_weight=nw, reduction=reduction, fused=fused
        )

    _assert_same(_both(fn, logits), dtype)


def test_backward_with_non_unit_grad_output_and_switches(monkeypatch):
    monkeypatch.setattr(
        _fused, "_MIN_FUSED_ELEMENTS", dict.fromkeys(_fused._MIN_FUSED_ELEMENTS, 2**15)
    )
    monkeypatch.setattr(_fused, "cpu_contended", lambda: False)
    logits = torch.randn(5, 3, dtype=torch.float64)
    y = torch.tensor([0, 2, 1, 1, 0])
    out = _both(lambda x, fused: 3.5 * cross_entropy(x, y, fused=fused), logits, check_path=False)
    _assert_same(out, torch.float64)
    x = logits.clone().requires_grad_(True)
    # Small inputs take the reference path unless fused=True; large ones (2^15 here) the fused one.
    assert "Fused" not in type(cross_entropy(x, y).grad_fn).__name__
    assert "Fused" in type(cross_entropy(x, y, fused=True).grad_fn).__name__
    big = torch.randn(4096, 8, requires_grad=True)
    yb = torch.randint(0, 8, (4096,))
    assert "Fused" in type(cross_entropy(big, yb).grad_fn).__name__
    weightwise.set_fused(False)
    try:
        assert "Fused" not in type(cross_entropy(big, yb).grad_fn).__name__
    finally:
        weightwise.set_fused(True)
    assert "Fused" not in type(cross_entropy(big, yb, reduction="none").sum().grad_fn).__name__


def test_the_default_fuses_only_large_logits(monkeypatch):
    # fused=None takes the fused path from 2^23 logits for flat CE (N, C) and BCE, 2^22 for
    # dense CE (N, C, d...); below, the composition (see _fused._MIN_FUSED_ELEMENTS).
    monkeypatch.setattr(_fused, "cpu_contended", lambda: False)

    def fused(x, y, fn=cross_entropy, **kw):
        with torch.no_grad():
            x = x.detach().clone()
        x.requires_grad_(True)
        return "Fused" in type(fn(x, y, **kw).grad_fn).__name__

    flat_below = torch.randn(2**18, 16)  # 2^22
    assert not fused(flat_below, torch.randint(0, 16, (2**18,)))
    flat = torch.randn(2**19, 16)  # 2^23
    assert fused(flat, torch.randint(0, 16, (2**19,)))
    column = flat.view(2**19, 16, 1)  # a trailing axis of size 1 is still flat
    assert fused(column, torch.randint(0, 16, (2**19, 1)))
    del flat, column
    dense_below = torch.randn(2, 4, 512, 512)  # 2^21
    y_below = torch.randint(0, 4, (2, 512, 512))
    assert not fused(dense_below, y_below)
    assert fused(dense_below, y_below, fused=True)  # forced at any size
    dense = torch.randn(4, 4, 512, 512)  # 2^22
    assert fused(dense, torch.randint(0, 4, (4, 512, 512)))
    bce_below = dense.view(2**18, 16)  # 2^22
    assert not fused(bce_below, (bce_below > 0).float(), fn=binary_cross_entropy)
    del dense, bce_below
    bce = torch.randn(2**19, 16)  # 2^23
    assert fused(bce, (bce > 0).float(), fn=binary_cross_entropy)


def test_fused_is_skipped_when_weights_need_grad_and_reference_gradgradcheck():
    logits = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 2, 1, 1])
    w = torch.rand(4, dtype=torch.float64, requires_grad=True)
    assert "Fused" not in type(cross_entropy(logits, y, sample_weight=w).grad_fn).__name__
    assert torch.autograd.gradgradcheck(
        lambda x: cross_entropy(x, y, sample_weight=w.detach(), fused=False), (logits,)
    )
    with pytest.raises(RuntimeError):
        loss = cross_entropy(logits, y, fused=True)  # once-differentiable
        (g,) = torch.autograd.grad(loss, logits, create_graph=True)
        g.sum().backward()


def test_fused_memory_is_one_gradient(monkeypatch):
    # The fused function keeps exactly one logits-sized tensor (the gradient) for backward.
    logits = torch.randn(64, 10, requires_grad=True)
    y = torch.randint(0, 10, (64,))
    loss = cross_entropy(
        logits, y, class_weight=torch.rand(10), sample_weight=torch.rand(64), fused=True
    )
    ctx = loss.grad_fn
    assert ctx.grad.shape == logits.shape
    assert ctx.saved_tensors == ()
    loss.backward()
    assert ctx.grad is None
    ref = F.cross_entropy(logits.detach(), y)  # sanity: inputs are usable afterwards
    assert torch.isfinite(ref)


def test_chunking_does_not_change_the_result(monkeypatch):
    monkeypatch.setattr(_fused, "_CHUNK_ELEMENTS", 7)  # many ragged chunks
    monkeypatch.setattr(_fused, "_BCE_CHUNK_ELEMENTS", 7)
    logits = torch.randn(2, 3, 5, 3, dtype=torch.float64)
    y = torch.randint(0, 3, (2, 5, 3))
    cw = torch.rand(3, dtype=torch.float64)
    out = _both(
        lambda x, fused: cross_entropy(x, y, label_smoothing=0.1, class_weight=cw, fused=fused),
        logits,
    )
    _assert_same(out, torch.float64)
    x2 = torch.randn(11, 4, dtype=torch.float64)
    t2 = torch.rand(11, 4, dtype=torch.float64)
    _assert_same(
        _both(lambda x, fused: binary_cross_entropy(x, t2, fused=fused), x2), torch.float64
    )


@pytest.mark.parametrize("soft", [False, True])
def test_chunks_of_whole_samples_for_small_images(monkeypatch, soft):
    # (5, 3, 5, 3) logits, 45 per sample: chunks of 2 samples (2, 2, 1), hard and soft targets
    monkeypatch.setattr(_fused, "_CHUNK_ELEMENTS", 90)
    g = torch.Generator().manual_seed(11)
    logits = torch.randn(5, 3, 5, 3, generator=g, dtype=torch.float64)
    if soft:
        y = torch.softmax(torch.randn(5, 3, 5, 3, generator=g, dtype=torch.float64), 1)
    else:
        y = torch.randint(0, 3, (5, 5, 3), generator=g)
    sw = torch.rand(5, 5, 3, generator=g, dtype=torch.float64)
    cw = torch.rand(3, generator=g, dtype=torch.float64) + 0.2

    def fn(x, fused):
        return cross_entropy(
            x, y, sample_weight=sw, class_weight=cw, label_smoothing=0.1,
            reduction="weighted_mean", fused=fused,
        )  # fmt: skip

    _assert_same(_both(fn, logits), torch.float64)
