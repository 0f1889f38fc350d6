"""focal_loss and binary_focal_loss against cross-entropy, torchvision's formula written out,
the naive autograd composition, and the contract's weight invariants."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import weight_invariants as inv
import weightwise.losses._focal as focal_mod
from weight_invariants import cases
from weightwise.losses import binary_cross_entropy, binary_focal_loss, cross_entropy, focal_loss

REDUCTIONS = ["mean", "weighted_mean", "nonzero_mean", "sum", "none"]
SHAPES = [(7, 4), (3, 5, 4, 2)]


def _data(shape, *, seed=0, ignore=None, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    n, c, *rest = shape
    logits = torch.randn(*shape, generator=g, dtype=dtype) * 3
    target = torch.randint(0, c, (n, *rest), generator=g)
    if ignore is not None:
        target.view(-1)[::3] = ignore
    sw = torch.rand(n, *rest, generator=g, dtype=dtype) * 2
    cw = torch.rand(c, generator=g, dtype=dtype) + 0.1
    return logits, target, sw, cw


@pytest.fixture(params=["auto", "blocked"])
def path(request, monkeypatch):
    """Both implementations: the default choice (the autograd composition for inputs of one
    block, as these are, with gamma = 0 or >= 1) and the blocked custom Function, forced."""
    if request.param == "blocked":
        monkeypatch.setattr(focal_mod, "_compose", lambda logits, gamma, softmax: False)
    return request.param


def _value_and_grad(fn, logits):
    x = logits.detach().clone().requires_grad_(True)
    out = fn(x)
    (out.sum() if out.dim() else out).backward()
    return out.detach(), x.grad


# ---- the composition oracles, written out as the papers / torchvision write them -------------


def torchvision_sigmoid_focal(inputs, targets, alpha, gamma):
    """torchvision.ops.sigmoid_focal_loss(reduction="none"), written out line by line."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return loss


def naive_softmax_focal(logits, target, gamma):
    """-(1 - p_y)^γ log p_y via log_softmax and gather (autograd keeps every intermediate)."""
    logp = F.log_softmax(logits, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
    return -((1 - logp.exp()) ** gamma) * logp


def _reduce_by_hand(wl, omega, n, reduction):
    if reduction == "none":
        return wl
    if reduction == "sum":
        return wl.sum()
    if reduction == "mean":
        return wl.sum() / n
    if reduction == "weighted_mean":
        return wl.sum() / omega.sum()
    return wl.sum() / (omega != 0).sum()


# ---- gamma = 0 is cross-entropy ------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, reduction, ignore", list(itertools.product(SHAPES, REDUCTIONS, [None, 255]))
)
def test_focal_gamma0_equals_cross_entropy(shape, reduction, ignore):
    logits, target, sw, cw = _data(shape, ignore=ignore, seed=1)
    alpha = torch.rand(shape[1], dtype=torch.float64) + 0.2
    kw = {"sample_weight": sw, "ignore_index": ignore, "reduction": reduction}
    got = _value_and_grad(
        lambda x: focal_loss(x, target, gamma=0.0, alpha=alpha, class_weight=cw, **kw), logits
    )
    ref = _value_and_grad(lambda x: cross_entropy(x, target, class_weight=alpha * cw, **kw), logits)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(9,), (7, 4), (3, 5, 4, 2)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_focal_gamma0_equals_bce(shape, reduction):
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(*shape, generator=g, dtype=torch.float64) * 3
    hard = (torch.rand(*shape, generator=g) > 0.6).double()
    soft = torch.rand(*shape, generator=g, dtype=torch.float64)
    sw = torch.rand(shape[0], generator=g, dtype=torch.float64) + 0.1
    c = shape[1] if len(shape) > 1 else None
    pw = torch.rand(c, dtype=torch.float64) * 3 if c else torch.tensor(2.5, dtype=torch.float64)
    nw = torch.rand(c, dtype=torch.float64) + 0.5 if c else torch.tensor(0.7, dtype=torch.float64)
    kw = {"sample_weight": sw, "reduction": reduction}
    # Hard targets: pos/neg weights in κ equal BCE's per-term weights.
    got = _value_and_grad(
        lambda x: binary_focal_loss(
            x, hard, gamma=0.0, alpha=None, pos_weight=pw, neg_weight=nw, **kw
        ),
        logits,
    )
    ref = _value_and_grad(
        lambda x: binary_cross_entropy(x, hard, pos_weight=pw, neg_weight=nw, **kw), logits
    )
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)
    # Soft targets without pos/neg weights.
    got = _value_and_grad(lambda x: binary_focal_loss(x, soft, gamma=0.0, alpha=None, **kw), logits)
    ref = _value_and_grad(lambda x: binary_cross_entropy(x, soft, **kw), logits)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)


# ---- torchvision's formula -----------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    alpha=st.one_of(st.none(), st.floats(0.0, 1.0)),
    gamma=st.floats(0.0, 5.0),
    soft=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_binary_focal_equals_torchvision_formula(shape, alpha, gamma, soft, seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(*shape, generator=g, dtype=torch.float64) * 4
    t = torch.rand(*shape, generator=g, dtype=torch.float64)
    if not soft:
        t = (t > 0.5).double()
    ref = _value_and_grad(
        lambda x: torchvision_sigmoid_focal(x, t, -1.0 if alpha is None else alpha, gamma),
        logits,
    )
    for blocked in (False, True):  # the default choice, then the blocked Function forced
        with pytest.MonkeyPatch.context() as mp:
            if blocked:
                mp.setattr(focal_mod, "_compose", lambda logits, gamma, softmax: False)
            got = _value_and_grad(
                lambda x: binary_focal_loss(x, t, gamma=gamma, alpha=alpha, reduction="none"),
                logits,
            )
        torch.testing.assert_close(got, ref, rtol=1e-9, atol=1e-12)
    # torchvision's "mean" and "sum" are ours.
    for red, fn in [("mean", torch.mean), ("sum", torch.sum)]:
        torch.testing.assert_close(
            binary_focal_loss(logits, t, gamma=gamma, alpha=alpha, reduction=red),
            fn(ref[0]),
            rtol=1e-9,
            atol=1e-12,
        )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_focal_per_label_alpha_weights_and_reductions(reduction, path):
    g = torch.Generator().manual_seed(3)
    n, c, h = 4, 3, 5
    logits = torch.randn(n, c, h, generator=g, dtype=torch.float64) * 2
    t = torch.rand(n, c, h, generator=g, dtype=torch.float64)
    alpha = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    pw = torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64)
    nw = torch.tensor([1.0, 0.0, 3.0], dtype=torch.float64)
    sw = torch.rand(n, h, generator=g, dtype=torch.float64)  # per pixel
    got = binary_focal_loss(
        logits,
        t,
        gamma=1.5,
        alpha=alpha,
        pos_weight=pw,
        neg_weight=nw,
        sample_weight=sw,
        reduction=reduction,
    )
    v = (1, c, 1)
    a_t = alpha.view(v) * t + (1 - alpha.view(v)) * (1 - t)
    omega = sw.unsqueeze(1) * a_t * (pw.view(v) * t + nw.view(v) * (1 - t))
    p = torch.sigmoid(logits)
    p_t = p * t + (1 - p) * (1 - t)
    L = F.binary_cross_entropy_with_logits(logits, t, reduction="none") * (1 - p_t) ** 1.5
    ref = _reduce_by_hand(omega * L, omega, L.numel(), reduction)
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)


# ---- softmax focal equals the composition --------------------------------------------------


@pytest.mark.parametrize(
    "shape, reduction, ignore, gamma",
    list(itertools.product(SHAPES, REDUCTIONS, [None, -1], [0.5, 2.0, 3.0])),
)
def test_focal_equals_naive_composition(shape, reduction, ignore, gamma, path):
    logits, target, sw, cw = _data(shape, ignore=ignore, seed=4)
    alpha = torch.rand(shape[1], dtype=torch.float64)
    got = _value_and_grad(
        lambda x: focal_loss(
            x,
            target,
            gamma=gamma,
            alpha=alpha,
            class_weight=cw,
            sample_weight=sw,
            ignore_index=ignore,
            reduction=reduction,
        ),
        logits,
    )

    def ref_fn(x):
        valid = torch.ones_like(target, dtype=torch.bool) if ignore is None else target != ignore
        safe = torch.where(valid, target, 0)
        omega = sw * alpha[safe] * cw[safe] * valid
        return _reduce_by_hand(
            omega * naive_softmax_focal(x, safe, gamma), omega, valid.sum(), reduction
        )

    torch.testing.assert_close(got, _value_and_grad(ref_fn, logits), rtol=1e-10, atol=1e-12)


# (37, 6, 3): row blocks; (3, 4, 5, 6) whole-row blocks, or pixel-slice blocks with row_chunks=1
@pytest.mark.parametrize(
    "shape, row_chunks", [((37, 6, 3), None), ((3, 4, 5, 6), None), ((3, 4, 5, 6), 1)]
)
def test_chunked_passes_equal_single_chunk(monkeypatch, shape, row_chunks):
    logits, target, sw, _ = _data(shape, seed=5)
    t = torch.rand(*shape, dtype=torch.float64)
    one = [
        _value_and_grad(lambda x: focal_loss(x, target, sample_weight=sw), logits),
        _value_and_grad(lambda x: binary_focal_loss(x, t, sample_weight=sw), logits),
    ]
    monkeypatch.setattr(focal_mod, "_CHUNK_ELEMENTS", 50)  # many chunks, uneven last one
    monkeypatch.setattr(focal_mod, "_SOFTMAX_CHUNK_ELEMENTS", 50)
    if row_chunks is not None:
        monkeypatch.setattr(focal_mod, "_ROW_CHUNKS", row_chunks)
    many = [
        _value_and_grad(lambda x: focal_loss(x, target, sample_weight=sw), logits),
        _value_and_grad(lambda x: binary_focal_loss(x, t, sample_weight=sw), logits),
    ]
    torch.testing.assert_close(many, one, rtol=1e-13, atol=1e-14)


def test_float32_matches_float64_composition(path):
    logits, target, _, _ = _data((64, 10), seed=6, dtype=torch.float32)
    t = (torch.rand(64, 10) > 0.8).float()
    got = _value_and_grad(lambda x: focal_loss(x, target, gamma=2.0), logits)
    ref = _value_and_grad(lambda x: naive_softmax_focal(x, target, 2.0).mean(), logits.double())
    torch.testing.assert_close(got, tuple(r.float() for r in ref), rtol=1e-5, atol=1e-6)
    got = _value_and_grad(lambda x: binary_focal_loss(x, t), logits)
    ref = _value_and_grad(
        lambda x: torchvision_sigmoid_focal(x, t.double(), 0.25, 2.0).mean(), logits.double()
    )
    torch.testing.assert_close(got, tuple(r.float() for r in ref), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_extreme_logits_stay_finite(gamma, path):
    logits = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 50.0]], requires_grad=True)
    target = torch.tensor([0, 0])
    loss = focal_loss(logits, target, gamma=gamma, reduction="sum")
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()
    # sample 0 is certain and right (loss 0), sample 1 certain and wrong (loss 2e4 · 1^γ).
    assert loss.item() == pytest.approx(2e4, rel=1e-6)
    x = torch.tensor([1e4, -1e4, 100.0, -100.0], requires_grad=True)
    t = torch.tensor([1.0, 0.0, 0.0, 1.0])
    loss = binary_focal_loss(x, t, gamma=gamma, alpha=None, reduction="none")
    loss.sum().backward()
    assert torch.isfinite(loss).all() and torch.isfinite(x.grad).all()
    torch.testing.assert_close(loss, torch.tensor([0.0, 0.0, 100.0, 100.0]))


# ---- gradcheck (float64), custom backward included -----------------------------------------


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 3.3])
@pytest.mark.parametrize("reduction", ["mean", "weighted_mean", "nonzero_mean", "sum", "none"])
def test_gradcheck_focal(gamma, reduction, path):
    logits, target, sw, cw = _data((3, 4, 2), seed=7, ignore=-100)
    logits.requires_grad_(True)
    sw.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda x, s: focal_loss(
            x,
            target,
            gamma=gamma,
            alpha=cw,
            sample_weight=s,
            ignore_index=-100,
            reduction=reduction,
        ),
        (logits, sw),
    )


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 3.3])
@pytest.mark.parametrize("soft", [False, True])
def test_gradcheck_binary_focal(gamma, soft, path):
    g = torch.Generator().manual_seed(8)
    logits = (torch.randn(3, 4, 2, generator=g, dtype=torch.float64) * 2).requires_grad_(True)
    t = torch.rand(3, 4, 2, generator=g, dtype=torch.float64)
    t = t if soft else (t > 0.5).double()
    sw = torch.rand(3, 2, generator=g, dtype=torch.float64).requires_grad_(True)
    for red in ["mean", "weighted_mean", "none"]:
        assert torch.autograd.gradcheck(
            lambda x, s, red=red: binary_focal_loss(
                x, t, gamma=gamma, alpha=0.3, pos_weight=2.0, sample_weight=s, reduction=red
            ),
            (logits, sw),
        )
    # A target that needs a gradient (distillation) takes the plain autograd path.
    t_req = torch.rand(3, 4, 2, generator=g, dtype=torch.float64).requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda x, tt: binary_focal_loss(x, tt, gamma=gamma, reduction="sum"), (logits, t_req)
    )


# ---- invariants (DECISIONS §1 table) -------------------------------------------------------


def _rand(n, seed):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(n, 3, generator=g, dtype=torch.float64),
        torch.randint(0, 3, (n,), generator=g),
        (torch.rand(n, 3, generator=g) > 0.5).double(),
        torch.rand(n, generator=g, dtype=torch.float64) + 0.05,
    )


def _both(logits, target, multi, w, reduction):
    a = focal_loss(
        logits,
        target,
        alpha=torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64),
        class_weight=torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64),
        sample_weight=w,
        reduction=reduction,
    )
    b = binary_focal_loss(
        logits,
        multi,
        pos_weight=torch.tensor([1.0, 3.0, 0.5]),
        sample_weight=w,
        reduction=reduction,
    )
    return torch.stack([a, b])


def _on_rows(n, seed):
    logits, target, multi, _ = _rand(n, seed)

    def loss(rows, w, red):
        return _both(logits[rows], target[rows], multi[rows], w, red)

    return loss


@settings(max_examples=25, deadline=None)
@given(cases)
def test_unit_weights_equal_no_weights(case):
    n, seed, _ = case
    inv.unit_equals_none(_on_rows(n, seed), n)


@settings(max_examples=25, deadline=None)
@given(cases)
def test_integer_weights_equal_repetition(case):
    n, seed, reps = case
    inv.integer_equals_repetition(_on_rows(n, seed), reps)


@settings(max_examples=25, deadline=None)
@given(cases)
def test_zero_weight_equals_removal(case):
    n, seed, mask = case
    inv.zero_equals_removal(_on_rows(n, seed), _rand(n, seed)[-1], mask)


@settings(max_examples=25, deadline=None)
@given(cases, st.floats(0.01, 100.0))
def test_weighted_mean_is_scale_free(case, scale):
    n, seed, _ = case
    inv.weighted_mean_scale_free(_on_rows(n, seed), _rand(n, seed)[-1], scale)


@pytest.mark.parametrize("reduction", ["mean", "weighted_mean", "nonzero_mean", "sum"])
def test_all_zero_weights_give_zero_and_zero_gradient(reduction):
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    loss = focal_loss(
        x, torch.tensor([0, 1, 2, 0]), sample_weight=torch.zeros(4), reduction=reduction
    ) + binary_focal_loss(x, torch.ones(4, 3), sample_weight=torch.zeros(4), reduction=reduction)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(x.grad, torch.zeros_like(x))


# ---- bad input -----------------------------------------------------------------------------


def test_focal_bad_input():
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
    with pytest.raises(
        ValueError, match=r"alpha must be None or a per-class vector of shape \(3,\)"
    ):
        focal_loss(x, y, alpha=0.25)
    with pytest.raises(ValueError, match=r"alpha must have shape \(3,\)"):
        focal_loss(x, y, alpha=torch.ones(2))
    with pytest.raises(
        ValueError, match=r"alpha must be finite and non-negative; got -1.0 at index 2"
    ):
        focal_loss(x, y, alpha=[1.0, 1.0, -1.0])
    with pytest.raises(ValueError, match=r"gamma must be a finite number >= 0; got -1"):
        focal_loss(x, y, gamma=-1)
    with pytest.raises(ValueError, match=r"target must be in \[0, 3\); got 5 at index 1"):
        focal_loss(x, torch.tensor([0, 5, 1, 1]))
    with pytest.raises(ValueError, match=r"soft targets are not supported"):
        focal_loss(x, torch.softmax(x, 1))
    with pytest.raises(ValueError, match=r"sample_weight of shape \(4, 1\)"):
        focal_loss(x, y, sample_weight=torch.ones(4, 1))
    with pytest.raises(
        ValueError, match=r"sample_weight must be finite and non-negative; got -2.0"
    ):
        focal_loss(x, y, sample_weight=torch.tensor([1.0, -2.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"reduction must be one of"):
        focal_loss(x, y, reduction="avg")


def test_binary_focal_bad_input():
    x, t = torch.randn(4, 3), torch.ones(4, 3)
    with pytest.raises(ValueError, match=r"gamma must be a finite number >= 0; got -0.5"):
        binary_focal_loss(x, t, gamma=-0.5)
    with pytest.raises(ValueError, match=r"gamma must be a finite number >= 0; got nan"):
        binary_focal_loss(x, t, gamma=float("nan"))
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]; got 1.5"):
        binary_focal_loss(x, t, alpha=1.5)
    with pytest.raises(ValueError, match=r"alpha must be .*; got -0.1\d* at index 1"):
        binary_focal_loss(x, t, alpha=torch.tensor([0.2, -0.1, 0.3]))
    with pytest.raises(ValueError, match=r"target must be in \[0, 1\]; got 2.0 at index \(0, 0\)"):
        binary_focal_loss(x, torch.full((4, 3), 2.0))
    with pytest.raises(ValueError, match=r"target must have the logits' shape"):
        binary_focal_loss(x, torch.ones(4))
