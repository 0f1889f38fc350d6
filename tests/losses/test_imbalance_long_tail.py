"""Logit adjustment, balanced softmax, post-hoc adjustment, any-of cross-entropy, LDAM and
deferred re-weighting, against cross-entropy on transformed logits and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import weight_invariants as inv
from weight_invariants import cases
from weightwise import class_weights
from weightwise.decision import posthoc_logit_adjust
from weightwise.losses import (
    any_of_cross_entropy,
    balanced_softmax_cross_entropy,
    cross_entropy,
    ldam_loss,
    ldam_margins,
    logit_adjusted_cross_entropy,
)
from weightwise.schedules import DeferredReweighting

REDUCTIONS = ["mean", "weighted_mean", "nonzero_mean", "sum", "none"]
SHAPES = [(7, 4), (3, 4, 5, 2)]


def _data(shape, *, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    n, c, *rest = shape
    logits = torch.randn(*shape, generator=g, dtype=dtype) * 3
    target = torch.randint(0, c, (n, *rest), generator=g)
    sw = torch.rand(n, *rest, generator=g, dtype=dtype) * 2
    cw = torch.rand(c, generator=g, dtype=dtype) + 0.1
    counts = torch.randint(1, 1000, (c,), generator=g).double()
    return logits, target, sw, cw, counts


def _value_and_grad(fn, logits):
    x = logits.detach().clone().requires_grad_(True)
    out = fn(x)
    (out.sum() if out.dim() else out).backward()
    return out.detach(), x.grad


def _cview(v, x):
    return v.view(1, -1, *([1] * (x.dim() - 2)))


# ---- logit adjustment / balanced softmax ---------------------------------------------------


@pytest.mark.parametrize("shape, reduction", list(itertools.product(SHAPES, REDUCTIONS)))
def test_logit_adjusted_tau0_equals_cross_entropy(shape, reduction):
    logits, target, sw, cw, counts = _data(shape, seed=1)
    kw = {"sample_weight": sw, "class_weight": cw, "reduction": reduction}
    got = _value_and_grad(
        lambda x: logit_adjusted_cross_entropy(x, target, counts=counts, tau=0.0, **kw), logits
    )
    ref = _value_and_grad(lambda x: cross_entropy(x, target, **kw), logits)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape, reduction", list(itertools.product(SHAPES, REDUCTIONS)))
def test_balanced_softmax_equals_cross_entropy_on_logits_plus_log_counts(shape, reduction):
    logits, target, sw, cw, counts = _data(shape, seed=2)
    kw = {"sample_weight": sw, "class_weight": cw, "reduction": reduction, "ignore_index": 0}
    ref = _value_and_grad(
        lambda x: cross_entropy(x + _cview(counts.log(), x), target, **kw), logits
    )
    for fn in [
        lambda x: balanced_softmax_cross_entropy(x, target, counts=counts, **kw),
        lambda x: logit_adjusted_cross_entropy(x, target, counts=counts.tolist(), tau=1.0, **kw),
        lambda x: logit_adjusted_cross_entropy(x, target, prior=counts / counts.sum(), **kw),
    ]:
        torch.testing.assert_close(_value_and_grad(fn, logits), ref, rtol=1e-12, atol=1e-12)


def test_logit_adjusted_formula_written_out():
    # Menon et al. eq. (10): -log [exp(f_y + τ log π_y) / Σ_c exp(f_c + τ log π_c)].
    logits, target, _, _, counts = _data((9, 5), seed=3)
    prior = counts / counts.sum()
    tau = 1.7
    z = logits + tau * prior.log()
    num = torch.exp(z.gather(1, target[:, None])).squeeze(1)
    ref = -torch.log(num / torch.exp(z).sum(1))
    got = logit_adjusted_cross_entropy(logits, target, prior=prior, tau=tau, reduction="none")
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "weighted_mean", "sum"])
def test_logit_adjusted_and_balanced_softmax_gradcheck(reduction):
    logits, target, sw, cw, counts = _data((3, 4, 2), seed=14)
    x = logits.requires_grad_(True)
    s = sw.requires_grad_(True)
    kw = {"class_weight": cw, "reduction": reduction}
    assert torch.autograd.gradcheck(
        lambda z, w: logit_adjusted_cross_entropy(
            z, target, counts=counts, tau=0.6, sample_weight=w, **kw
        ),
        (x, s),
    )
    assert torch.autograd.gradcheck(
        lambda z, w: balanced_softmax_cross_entropy(
            z, target, counts=counts, sample_weight=w, **kw
        ),
        (x, s),
    )


def test_posthoc_logit_adjust():
    logits, _, _, _, counts = _data((6, 4), seed=4)
    prior = (counts / counts.sum()).numpy()
    got = posthoc_logit_adjust(logits, prior=prior, tau=0.5)
    torch.testing.assert_close(got, logits - 0.5 * torch.log(torch.as_tensor(prior))[None, :])
    # numpy in, numpy out; counts work as well as a prior (argmax and softmax unchanged).
    got_np = posthoc_logit_adjust(logits.numpy(), prior=counts.numpy())
    assert isinstance(got_np, np.ndarray)
    np.testing.assert_allclose(
        got_np - got_np.max(1, keepdims=True),
        (logits - torch.log(counts)).numpy() - (logits - torch.log(counts)).numpy().max(1)[:, None],
        rtol=1e-12,
        atol=1e-12,
    )
    dense = torch.randn(2, 3, 4, 4)
    out = posthoc_logit_adjust(dense, prior=[0.5, 0.3, 0.2])
    torch.testing.assert_close(
        out, dense - torch.log(torch.tensor([0.5, 0.3, 0.2])).view(1, 3, 1, 1)
    )
    single = posthoc_logit_adjust(torch.zeros(3), prior=[0.5, 0.3, 0.2])
    assert int(single.argmax()) == 2
    torch.testing.assert_close(posthoc_logit_adjust(logits, prior=prior, tau=0.0), logits)


def test_logit_adjustment_bad_input():
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
    with pytest.raises(
        ValueError, match=r"counts must be finite and positive .*got 0.0 at index 1"
    ):
        logit_adjusted_cross_entropy(x, y, counts=[5, 0, 3])
    with pytest.raises(
        ValueError, match=r"counts must be finite and positive .*got 0.0 at index 2"
    ):
        balanced_softmax_cross_entropy(x, y, counts=[5, 1, 0])
    with pytest.raises(ValueError, match=r"prior must be finite and positive; got -0.1 at index 0"):
        logit_adjusted_cross_entropy(x, y, prior=[-0.1, 0.5, 0.6])
    with pytest.raises(ValueError, match=r"give exactly one of prior and counts; got both"):
        logit_adjusted_cross_entropy(x, y, prior=[0.2, 0.3, 0.5], counts=[1, 2, 3])
    with pytest.raises(ValueError, match=r"give exactly one of prior and counts; got neither"):
        logit_adjusted_cross_entropy(x, y)
    with pytest.raises(ValueError, match=r"tau must be a finite number >= 0; got -1.0"):
        logit_adjusted_cross_entropy(x, y, counts=[1, 2, 3], tau=-1.0)
    with pytest.raises(ValueError, match=r"counts must have shape \(3,\)"):
        logit_adjusted_cross_entropy(x, y, counts=[1, 2])
    with pytest.raises(ValueError, match=r"prior must be finite and positive; got 0.0 at index 1"):
        posthoc_logit_adjust(x, prior=[0.5, 0.0, 0.5])
    with pytest.raises(ValueError, match=r"tau must be a finite number >= 0"):
        posthoc_logit_adjust(x, prior=[0.5, 0.2, 0.3], tau=float("nan"))


# ---- any-of cross-entropy ------------------------------------------------------------------


@pytest.mark.parametrize("shape, reduction", list(itertools.product(SHAPES, REDUCTIONS)))
@pytest.mark.parametrize("mode", ["marginal", "max"])
def test_any_of_singleton_sets_equal_cross_entropy(shape, reduction, mode):
    logits, target, sw, _, _ = _data(shape, seed=5)
    sets = F.one_hot(target, shape[1]).movedim(-1, 1).bool()
    got = _value_and_grad(
        lambda x: any_of_cross_entropy(x, sets, mode=mode, sample_weight=sw, reduction=reduction),
        logits,
    )
    ref = _value_and_grad(
        lambda x: cross_entropy(x, target, sample_weight=sw, reduction=reduction), logits
    )
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)


def _random_sets(shape, seed):
    g = torch.Generator().manual_seed(seed)
    sets = torch.rand(*shape, generator=g) < 0.4
    # guarantee a non-empty set per element
    first = torch.randint(0, shape[1], (shape[0], *shape[2:]), generator=g)
    return sets | F.one_hot(first, shape[1]).movedim(-1, 1).bool()


@pytest.mark.parametrize("shape", SHAPES)
def test_any_of_marginal_equals_brute_force(shape):
    logits, _, sw, _, _ = _data(shape, seed=6)
    sets = _random_sets(shape, 7)
    got = _value_and_grad(
        lambda x: any_of_cross_entropy(x, sets, sample_weight=sw, reduction="sum"), logits
    )

    def brute(x):
        p = torch.softmax(x, dim=1)
        return (sw * -torch.log((p * sets).sum(dim=1))).sum()

    torch.testing.assert_close(got, _value_and_grad(brute, logits), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_any_of_max_mode_trains_only_the_best_allowed_class(shape):
    logits, _, sw, _, _ = _data(shape, seed=8)
    sets = _random_sets(shape, 9)
    got_val, got_grad = _value_and_grad(
        lambda x: any_of_cross_entropy(x, sets, mode="max", sample_weight=sw, reduction="sum"),
        logits,
    )
    # Brute force, element by element: cross-entropy over {c*} ∪ ¬S.
    x_flat = logits.movedim(1, -1).reshape(-1, shape[1])
    s_flat = sets.movedim(1, -1).reshape(-1, shape[1])
    w_flat = sw.reshape(-1)
    total = 0.0
    grad_flat = torch.zeros_like(x_flat)
    for i in range(x_flat.shape[0]):
        allowed = [c for c in range(shape[1]) if s_flat[i, c]]
        best = max(allowed, key=lambda c: x_flat[i, c].item())
        part = [best] + [c for c in range(shape[1]) if not s_flat[i, c]]
        z = x_flat[i, part]
        total += w_flat[i].item() * (torch.logsumexp(z, 0) - x_flat[i, best]).item()
        pz = torch.softmax(z, 0)
        for j, c in enumerate(part):
            grad_flat[i, c] = w_flat[i] * (pz[j] - (1.0 if c == best else 0.0))
    assert got_val.item() == pytest.approx(total, rel=1e-10)
    ref_grad = grad_flat.reshape(logits.movedim(1, -1).shape).movedim(-1, 1)
    torch.testing.assert_close(got_grad, ref_grad, rtol=1e-10, atol=1e-12)
    # Other allowed classes get exactly zero gradient.
    best_mask = torch.zeros_like(sets)
    best_mask.scatter_(1, logits.masked_fill(~sets, float("-inf")).argmax(1, keepdim=True), True)
    assert torch.all(got_grad[sets & ~best_mask] == 0)


def test_any_of_full_set_gives_zero_loss_and_gradcheck():
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    sets = torch.ones(3, 4, dtype=torch.bool)
    assert any_of_cross_entropy(x, sets, reduction="sum").item() == pytest.approx(0.0, abs=1e-12)
    sets = _random_sets((3, 4, 2), 10)
    x = torch.randn(3, 4, 2, dtype=torch.float64, requires_grad=True)
    sw = torch.rand(3, 2, dtype=torch.float64, requires_grad=True)
    for mode, red in itertools.product(["marginal", "max"], ["mean", "weighted_mean", "sum"]):
        assert torch.autograd.gradcheck(
            lambda z, s, mode=mode, red=red: any_of_cross_entropy(
                z, sets, mode=mode, sample_weight=s, reduction=red
            ),
            (x, sw),
        )


def test_any_of_bad_input():
    x = torch.randn(3, 4)
    sets = torch.tensor([[1, 0, 0, 0], [0, 0, 0, 0], [1, 1, 0, 0]], dtype=torch.bool)
    with pytest.raises(ValueError, match=r"target_sets must allow at least one class .* index 1"):
        any_of_cross_entropy(x, sets)
    with pytest.raises(
        ValueError, match=r"target_sets must be a boolean mask of the logits' shape"
    ):
        any_of_cross_entropy(x, torch.ones(3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"target_sets must be boolean \(or 0/1\); got 2"):
        any_of_cross_entropy(x, torch.full((3, 4), 2))
    with pytest.raises(ValueError, match=r"mode must be 'marginal' or 'max'; got 'min'"):
        any_of_cross_entropy(x, torch.ones(3, 4, dtype=torch.bool), mode="min")
    # 0/1 integers are accepted and mean the same as the boolean mask; a set holding every
    # class has -log Σ_{c∈S} p_c = -log 1 = 0.
    as_int = any_of_cross_entropy(x, torch.ones(3, 4, dtype=torch.long))
    as_bool = any_of_cross_entropy(x, torch.ones(3, 4, dtype=torch.bool))
    assert as_int.item() == as_bool.item()
    assert as_bool.item() == pytest.approx(0.0, abs=1e-6)


# ---- LDAM and deferred re-weighting --------------------------------------------------------


def test_ldam_margins_closed_form():
    counts = np.array([5000.0, 500.0, 50.0, 5.0])
    got = ldam_margins(counts, max_margin=0.5)
    ref = 0.5 * counts**-0.25 / np.max(counts**-0.25)
    np.testing.assert_allclose(got, ref, rtol=1e-15)
    assert got[-1] == pytest.approx(0.5)


@pytest.mark.parametrize("shape, reduction", list(itertools.product(SHAPES, REDUCTIONS)))
def test_ldam_equals_cross_entropy_on_shifted_scaled_logits(shape, reduction):
    logits, target, sw, cw, counts = _data(shape, seed=11)
    c = shape[1]
    m = torch.as_tensor(0.7 * counts.numpy() ** -0.25 / np.max(counts.numpy() ** -0.25))
    kw = {"sample_weight": sw, "class_weight": cw, "reduction": reduction}

    def ref(x):
        onehot = F.one_hot(target, c).movedim(-1, 1).to(x.dtype)
        return cross_entropy(10.0 * (x - _cview(m, x) * onehot), target, **kw)

    got = _value_and_grad(
        lambda x: ldam_loss(x, target, counts=counts, max_margin=0.7, scale=10.0, **kw), logits
    )
    torch.testing.assert_close(got, _value_and_grad(ref, logits), rtol=1e-12, atol=1e-12)


def test_ldam_with_cao_reduction_and_ignore_index():
    # Cao et al.: F.cross_entropy(s * where(onehot, x - m_y, x), y, weight=w) == weighted_mean.
    logits, target, _, cw, counts = _data((8, 3), seed=12)
    target[2] = -100
    m = torch.as_tensor(ldam_margins(counts))
    safe = target.clamp(min=0)
    index = F.one_hot(safe, 3).bool()
    out = torch.where(index, logits - m[safe][:, None], logits)
    ref = F.cross_entropy(30.0 * out, target, weight=cw)
    got = ldam_loss(
        logits, target, counts=counts, class_weight=cw, ignore_index=-100, reduction="weighted_mean"
    )
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)


def test_ldam_gradcheck_and_bad_input():
    logits, target, sw, _, counts = _data((4, 3, 2), seed=13)
    x = logits.requires_grad_(True)
    s = sw.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda z, w: ldam_loss(z, target, counts=counts, scale=2.0, sample_weight=w), (x, s)
    )
    y = torch.tensor([0, 1, 2, 1])
    with pytest.raises(
        ValueError, match=r"counts must be finite and positive .*got 0.0 at index 0"
    ):
        ldam_loss(torch.randn(4, 3), y, counts=[0, 2, 3])
    with pytest.raises(ValueError, match=r"scale must be a finite number > 0; got 0"):
        ldam_loss(torch.randn(4, 3), y, counts=[1, 2, 3], scale=0)
    with pytest.raises(ValueError, match=r"max_margin must be a finite number >= 0; got -0.5"):
        ldam_loss(torch.randn(4, 3), y, counts=[1, 2, 3], max_margin=-0.5)
    with pytest.raises(ValueError, match=r"target must be in \[0, 3\); got 3 at index 3"):
        ldam_loss(torch.randn(4, 3), torch.tensor([0, 1, 2, 3]), counts=[1, 2, 3])


def test_deferred_reweighting_schedule():
    counts = np.array([4000.0, 400.0, 40.0, 4.0])
    drw = DeferredReweighting(counts, switch_epoch=3, beta=0.999)
    for e in range(3):
        np.testing.assert_array_equal(drw.class_weight(e), np.ones(4))
    # Cao et al.'s code, written out: (1-β)/(1-β^n), normalised to sum C.
    eff = (1 - 0.999) / (1 - np.power(0.999, counts))
    ref = eff / eff.sum() * len(counts)
    for e in (3, 4, 100):
        np.testing.assert_allclose(drw.class_weight(e), ref, rtol=1e-12)
    np.testing.assert_allclose(
        drw(3), class_weights(counts=counts, scheme="effective", beta=0.999, normalize="classes")
    )
    with pytest.raises(
        ValueError, match=r"counts must be finite and positive .*got 0.0 at index 1"
    ):
        DeferredReweighting([3, 0], switch_epoch=1)
    with pytest.raises(ValueError, match=r"switch_epoch must be an integer >= 0; got -1"):
        DeferredReweighting([3, 1], switch_epoch=-1)
    with pytest.raises(ValueError, match=r"beta must be in \[0, 1\); got 1.0"):
        DeferredReweighting([3, 1], switch_epoch=1, beta=1.0)
    with pytest.raises(ValueError, match=r"epoch must be an integer >= 0; got -2"):
        drw.class_weight(-2)


# ---- invariants (DECISIONS §1 table) for the losses of this file ----------------------------

COUNTS = torch.tensor([50.0, 5.0, 1.0], dtype=torch.float64)
CW = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)


def _rand(n, seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, 3, generator=g, dtype=torch.float64)
    target = torch.randint(0, 3, (n,), generator=g)
    sets = _random_sets((n, 3), seed)
    w = torch.rand(n, generator=g, dtype=torch.float64) + 0.05
    return logits, target, sets, w


def _all(logits, target, sets, w, red):
    return torch.stack(
        [
            logit_adjusted_cross_entropy(
                logits,
                target,
                counts=COUNTS,
                tau=0.5,
                class_weight=CW,
                sample_weight=w,
                reduction=red,
            ),
            balanced_softmax_cross_entropy(
                logits, target, counts=COUNTS, sample_weight=w, reduction=red
            ),
            any_of_cross_entropy(logits, sets, sample_weight=w, reduction=red),
            any_of_cross_entropy(logits, sets, mode="max", sample_weight=w, reduction=red),
            ldam_loss(
                logits, target, counts=COUNTS, class_weight=CW, sample_weight=w, reduction=red
            ),
        ]
    )


def _on_rows(n, seed):
    logits, target, sets, _ = _rand(n, seed)

    def loss(rows, w, red):
        return _all(logits[rows], target[rows], sets[rows], w, red)

    return loss


@settings(max_examples=20, deadline=None)
@given(cases)
def test_unit_weights_equal_no_weights(case):
    n, seed, _ = case
    inv.unit_equals_none(_on_rows(n, seed), n)


@settings(max_examples=20, deadline=None)
@given(cases)
def test_integer_weights_equal_repetition(case):
    n, seed, reps = case
    inv.integer_equals_repetition(_on_rows(n, seed), reps)


@settings(max_examples=20, deadline=None)
@given(cases)
def test_zero_weight_equals_removal(case):
    n, seed, mask = case
    inv.zero_equals_removal(_on_rows(n, seed), _rand(n, seed)[-1], mask)


@settings(max_examples=20, deadline=None)
@given(cases, st.floats(0.01, 100.0))
def test_weighted_mean_is_scale_free(case, scale):
    n, seed, _ = case
    inv.weighted_mean_scale_free(_on_rows(n, seed), _rand(n, seed)[-1], scale)
