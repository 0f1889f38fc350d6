"""linear_cross_entropy equals cross_entropy(hidden @ weight.T + bias) (PyTorch's own
F.cross_entropy composition) in value and gradient, float64; gradcheck; bf16."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from weightwise.losses import linear_cross_entropy

N, H, V = 23, 5, 13
REDUCTIONS = ("mean", "weighted_mean", "nonzero_mean", "sum")


def _inputs(dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(N, H, generator=g, dtype=dtype).requires_grad_()
    w = torch.randn(V, H, generator=g, dtype=dtype).requires_grad_()
    b = torch.randn(V, generator=g, dtype=dtype).requires_grad_()
    y = torch.randint(0, V, (N,), generator=g)
    y[[2, 11]] = -100
    s = torch.rand(N, generator=g, dtype=torch.float64)
    s[5] = 0.0
    cw = torch.rand(V, generator=g, dtype=torch.float64) + 0.1
    return h, w, b, y, s, cw


def _composition(h, w, b, y, s, cw, reduction, eps, zl):
    z = F.linear(h, w, b)
    per = F.cross_entropy(z, y, weight=cw, ignore_index=-100, reduction="none", label_smoothing=eps)
    valid = y != -100
    w_y = cw[y.clamp(min=0)] * valid
    per = (per + zl * w_y * torch.logsumexp(z, dim=1) ** 2) * s
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    if reduction == "mean":
        return per.sum() / valid.sum()
    omega = s * w_y
    return per.sum() / (omega.sum() if reduction == "weighted_mean" else (omega != 0).sum())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("eps", "zl"), [(0.0, 0.0), (0.15, 0.0), (0.0, 1e-2), (0.3, 1e-1)])
@pytest.mark.parametrize("chunk_size", [1, 4, None])
def test_equals_composition_value_and_gradient(reduction, eps, zl, chunk_size):
    h, w, b, y, s, cw = _inputs()
    got = linear_cross_entropy(
        h,
        w,
        y,
        bias=b,
        sample_weight=s,
        class_weight=cw,
        ignore_index=-100,
        label_smoothing=eps,
        z_loss=zl,
        reduction=reduction,
        chunk_size=chunk_size,
    )
    ref = _composition(h, w, b, y, s, cw, reduction, eps, zl)
    torch.testing.assert_close(got, ref, rtol=1e-11, atol=1e-13)
    for a, e in zip(
        torch.autograd.grad(got, (h, w, b)), torch.autograd.grad(ref, (h, w, b)), strict=True
    ):
        torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("reduction", ["mean", "weighted_mean"])
@pytest.mark.parametrize("chunk_size", [5, None])
def test_row_blocks_inside_chunks_equal_composition(reduction, chunk_size, monkeypatch):
    # the elementwise work walks each chunk in blocks of rows (3 here: ragged in chunks of 5)
    from weightwise.losses import _linear

    monkeypatch.setattr(_linear, "_CACHE_ELEMENTS", 3 * V)
    h, w, b, y, s, cw = _inputs(seed=2)
    got = linear_cross_entropy(
        h, w, y, bias=b, sample_weight=s, class_weight=cw, ignore_index=-100,
        label_smoothing=0.1, z_loss=1e-2, reduction=reduction, chunk_size=chunk_size,
    )  # fmt: skip
    ref = _composition(h, w, b, y, s, cw, reduction, 0.1, 1e-2)
    torch.testing.assert_close(got, ref, rtol=1e-11, atol=1e-13)
    for a, e in zip(
        torch.autograd.grad(got, (h, w, b)), torch.autograd.grad(ref, (h, w, b)), strict=True
    ):
        torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("contended", [False, True], ids=["quiet", "contended"])
def test_contended_cpu_takes_larger_blocks_with_the_same_result(contended, monkeypatch):
    # on a CPU other processes keep busy the elementwise work takes fewer, larger blocks (fewer
    # parallel regions to wait at); the value and the gradients do not change
    from weightwise.losses import _linear

    monkeypatch.setattr(_linear, "cpu_contended", lambda: contended)
    monkeypatch.setattr(_linear, "_CACHE_ELEMENTS", 3 * V)
    monkeypatch.setattr(_linear, "_CONTENDED_BLOCK_ELEMENTS", 7 * V)
    assert _linear._block_rows(N, V, torch.device("cpu")) == (7 if contended else 3)
    assert _linear._block_rows(5, V, torch.device("cpu")) == (5 if contended else 3)
    h, w, b, y, s, cw = _inputs(seed=3)
    got = linear_cross_entropy(
        h, w, y, bias=b, sample_weight=s, class_weight=cw, ignore_index=-100,
        label_smoothing=0.1, z_loss=1e-2, reduction="weighted_mean",
    )  # fmt: skip
    ref = _composition(h, w, b, y, s, cw, "weighted_mean", 0.1, 1e-2)
    torch.testing.assert_close(got, ref, rtol=1e-11, atol=1e-13)
    for a, e in zip(
        torch.autograd.grad(got, (h, w, b)), torch.autograd.grad(ref, (h, w, b)), strict=True
    ):
        torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-13)


def test_unweighted_defaults_equal_torch():
    h, w, _, y, _, _ = _inputs()
    y = y.clamp(min=0)
    got = linear_cross_entropy(h, w, y)
    ref = F.cross_entropy(h @ w.T, y)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-14)
    for a, e in zip(
        torch.autograd.grad(got, (h, w)), torch.autograd.grad(ref, (h, w)), strict=True
    ):
        torch.testing.assert_close(a, e, rtol=1e-11, atol=1e-14)


def test_gradcheck():
    g = torch.Generator().manual_seed(3)
    h = torch.randn(7, 3, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(5, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 4, -100, 2, 2, 1, 3])
    s = torch.rand(7, generator=g, dtype=torch.float64)
    cw = torch.rand(5, generator=g, dtype=torch.float64) + 0.5

    def f(h, w, b):
        return linear_cross_entropy(
            h,
            w,
            y,
            bias=b,
            sample_weight=s,
            class_weight=cw,
            ignore_index=-100,
            label_smoothing=0.1,
            z_loss=0.05,
            reduction="weighted_mean",
            chunk_size=3,
        )

    assert torch.autograd.gradcheck(f, (h, w, b))


def test_leading_dims_none_and_frozen_head():
    h, w, b, y, s, cw = _inputs()
    h3 = h.detach().reshape(1, N, H).requires_grad_()
    none = linear_cross_entropy(
        h3,
        w,
        y.reshape(1, N),
        bias=b,
        sample_weight=s.reshape(1, N),
        class_weight=cw,
        ignore_index=-100,
        reduction="none",
    )
    ref = _composition(h, w, b, y, s, cw, "none", 0.0, 0.0)
    assert none.shape == (1, N)
    torch.testing.assert_close(none.reshape(-1), ref)
    # A frozen head: only hidden gets a gradient, and it is the same.
    wf = w.detach()
    got = linear_cross_entropy(h, wf, y, ignore_index=-100, sample_weight=s, class_weight=cw)
    (gh,) = torch.autograd.grad(got, h)
    (eh,) = torch.autograd.grad(_composition(h, wf, None, y, s, cw, "mean", 0.0, 0.0), h)
    torch.testing.assert_close(gh, eh, rtol=1e-10, atol=1e-13)


def test_grad_output_scales_and_retained_graph_backward_again():
    h, w, _, y, s, _ = _inputs()
    loss = linear_cross_entropy(h, w, y, ignore_index=-100, sample_weight=s)
    (3.0 * loss).backward(retain_graph=True)
    ref = 3.0 * _composition(h, w, None, y, s, torch.ones(V, dtype=torch.float64), "mean", 0, 0)
    eh, ew = torch.autograd.grad(ref, (h, w))
    torch.testing.assert_close(h.grad, eh)
    torch.testing.assert_close(w.grad, ew)
    h.grad = w.grad = None
    loss.backward()  # the retained graph gives the same gradient again
    torch.testing.assert_close(3.0 * h.grad, eh)
    torch.testing.assert_close(3.0 * w.grad, ew)


@pytest.mark.parametrize("fast_half", [False, True])
def test_bfloat16_is_close_to_float32(fast_half, monkeypatch):
    # both ∇W paths: float32 products (CPUs without native bf16) and bf16 products by
    # vocabulary blocks (CUDA, AVX512-BF16 / AMX), with ragged blocks
    from weightwise.losses import _linear

    monkeypatch.setattr(_linear, "_fast_half_matmul", lambda device, dtype: fast_half)
    monkeypatch.setattr(_linear, "_BLOCK_ELEMENTS", 2 * H)
    monkeypatch.setattr(_linear, "_CACHE_ELEMENTS", 2 * V)  # row blocks of 2 in chunks of 5
    h, w, b, y, s, cw = _inputs(torch.float32, seed=4)
    hb, wb, bb = (t.detach().bfloat16().requires_grad_() for t in (h, w, b))
    got = linear_cross_entropy(
        hb,
        wb,
        y,
        bias=bb,
        sample_weight=s,
        class_weight=cw,
        ignore_index=-100,
        reduction="weighted_mean",
        chunk_size=5,
    )
    assert got.dtype == torch.bfloat16
    got.backward()
    assert hb.grad.dtype == wb.grad.dtype == bb.grad.dtype == torch.bfloat16
    # the float32 composition on the same (bf16-rounded) inputs
    h32, w32, b32 = (t.detach().float().requires_grad_() for t in (hb, wb, bb))
    ref = _composition(h32, w32, b32, y, s.float(), cw.float(), "weighted_mean", 0.0, 0.0)
    ref.backward()
    torch.testing.assert_close(got.float(), ref, rtol=2e-2, atol=1e-2)
    for a, e in ((hb, h32), (wb, w32), (bb, b32)):
        torch.testing.assert_close(a.grad.float(), e.grad, rtol=5e-2, atol=5e-3)


def test_no_grad_gives_the_value():
    h, w, b, y, s, _ = _inputs()
    with torch.no_grad():
        got = linear_cross_entropy(h, w, y, bias=b, sample_weight=s, ignore_index=-100)
    assert not got.requires_grad
    ref = _composition(h, w, b, y, s, torch.ones(V, dtype=torch.float64), "mean", 0.0, 0.0)
    torch.testing.assert_close(got, ref.detach())


def test_errors():
    h, w, b, y, s, cw = _inputs()
    with pytest.raises(ValueError, match=r"weight must have shape \(V, H\) with H = 5"):
        linear_cross_entropy(h, w[:, :3], y, ignore_index=-100)
    with pytest.raises(ValueError, match=r"target must have shape \(23,\)"):
        linear_cross_entropy(h, w, y[:5], ignore_index=-100)
    with pytest.raises(ValueError, match="target must be in"):
        linear_cross_entropy(h, w, y)  # -100 without ignore_index
    with pytest.raises(ValueError, match=r"bias must have shape \(13,\)"):
        linear_cross_entropy(h, w, y, bias=b[:3], ignore_index=-100)
    with pytest.raises(ValueError, match="same dtype"):
        linear_cross_entropy(h, w.float(), y, ignore_index=-100)
    with pytest.raises(ValueError, match="class_weight must have shape"):
        linear_cross_entropy(h, w, y, class_weight=cw[:4], ignore_index=-100)
    with pytest.raises(ValueError, match="sample_weight must be finite and non-negative"):
        linear_cross_entropy(h, w, y, sample_weight=-s, ignore_index=-100)
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        linear_cross_entropy(h, w, y, ignore_index=-100, chunk_size=0)
