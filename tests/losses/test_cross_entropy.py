"""cross_entropy against PyTorch, scikit-learn and closed forms; contract invariants."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import log_loss

import weight_invariants as inv
from weight_invariants import cases
from weightwise.losses import cross_entropy
from weightwise.nn import CrossEntropyLoss

SHAPES = [(7, 4), (3, 5, 4, 2)]  # (N, C) and dense (N, C, H, W)


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


@pytest.mark.parametrize(
    "shape, use_cw, ignore, smoothing",
    list(itertools.product(SHAPES, [False, True], [None, -100, 255], [0.0, 0.2])),
)
def test_weighted_mean_equals_torch_cross_entropy(shape, use_cw, ignore, smoothing):
    logits, target, _, cw = _data(shape, ignore=ignore)
    cw = cw if use_cw else None
    kwargs = {"weight": cw, "label_smoothing": smoothing}
    if ignore is not None:
        kwargs["ignore_index"] = ignore
    for ours_red, torch_red in [("weighted_mean", "mean"), ("sum", "sum"), ("none", "none")]:
        ours = cross_entropy(
            logits,
            target,
            class_weight=cw,
            ignore_index=ignore,
            label_smoothing=smoothing,
            reduction=ours_red,
        )
        ref = F.cross_entropy(logits, target, reduction=torch_red, **kwargs)
        torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("ignore", [None, -100])
def test_mean_with_sample_weight_is_sum_over_counted_elements(shape, ignore):
    logits, target, sw, cw = _data(shape, ignore=ignore)
    ours = cross_entropy(logits, target, sample_weight=sw, class_weight=cw, ignore_index=ignore)
    per = F.cross_entropy(
        logits, target, weight=cw, reduction="none", ignore_index=-100 if ignore is None else ignore
    )
    n = (target != -100).sum() if ignore is not None else target.numel()
    torch.testing.assert_close(ours, (per * sw).sum() / n, rtol=1e-12, atol=1e-12)


def test_weighted_mean_equals_sklearn_log_loss():
    logits, target, _, _ = _data((40, 5), seed=3)
    sw = torch.rand(40, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    ours = cross_entropy(logits, target, sample_weight=sw, reduction="weighted_mean")
    ref = log_loss(
        target.numpy(),
        torch.softmax(logits, 1).numpy(),
        sample_weight=sw.numpy(),
        labels=np.arange(5),
    )
    assert ours.item() == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("use_cw", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_soft_targets_mean_equals_torch_and_weighted_mean_closed_form(shape, use_cw, smoothing):
    logits, _, sw, cw = _data(shape, seed=5)
    g = torch.Generator().manual_seed(6)
    soft = torch.softmax(torch.randn(*shape, generator=g, dtype=torch.float64), dim=1)
    cw = cw if use_cw else None
    # PyTorch's mean for probability targets divides by N: our "mean".
    ours = cross_entropy(logits, soft, class_weight=cw, label_smoothing=smoothing)
    ref = F.cross_entropy(logits, soft, weight=cw, label_smoothing=smoothing)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    # weighted_mean: Σ s Σ_c cw_c t'_c (-log p_c) / Σ s Σ_c cw_c t_c, written out.
    c = shape[1]
    cwv = torch.ones(c, dtype=torch.float64) if cw is None else cw
    view = [1, c] + [1] * (len(shape) - 2)
    t_smooth = soft * (1 - smoothing) + smoothing / c
    logp = torch.log_softmax(logits, 1)
    num = (sw * (-(t_smooth * logp * cwv.view(view)).sum(1))).sum()
    den = (sw * (soft * cwv.view(view)).sum(1)).sum()
    got = cross_entropy(
        logits,
        soft,
        sample_weight=sw,
        class_weight=cw,
        label_smoothing=smoothing,
        reduction="weighted_mean",
    )
    torch.testing.assert_close(got, num / den, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "weighted_mean", "nonzero_mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("shape", SHAPES)
def test_one_hot_soft_targets_equal_hard_targets(reduction, smoothing, shape):
    # pytorch#107680: PyTorch's weighted mean differs here; ours must not.
    logits, target, sw, cw = _data(shape, seed=7)
    onehot = F.one_hot(target, shape[1]).movedim(-1, 1).to(logits.dtype)
    kw = {
        "sample_weight": sw,
        "class_weight": cw,
        "label_smoothing": smoothing,
        "reduction": reduction,
    }
    torch.testing.assert_close(
        cross_entropy(logits, onehot, **kw),
        cross_entropy(logits, target, **kw),
        rtol=1e-12,
        atol=1e-12,
    )


def test_module_matches_functional_and_moves_weights():
    logits, target, sw, cw = _data((6, 4), seed=8)
    mod = CrossEntropyLoss(class_weight=cw, reduction="weighted_mean", label_smoothing=0.1)
    assert "class_weight" in mod.state_dict()
    torch.testing.assert_close(
        mod(logits, target, sample_weight=sw),
        cross_entropy(
            logits,
            target,
            sample_weight=sw,
            class_weight=cw,
            reduction="weighted_mean",
            label_smoothing=0.1,
        ),
    )


# ---- zero denominators -------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "weighted_mean", "nonzero_mean", "sum"])
def test_all_ignored_gives_zero_and_zero_gradient(reduction):
    logits = torch.randn(4, 3, 2, dtype=torch.float64, requires_grad=True)
    target = torch.full((4, 2), -1)
    loss = cross_entropy(
        logits, target, ignore_index=-1, class_weight=torch.ones(3), reduction=reduction
    )
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(logits.grad, torch.zeros_like(logits))


@pytest.mark.parametrize("reduction", ["mean", "weighted_mean", "nonzero_mean", "sum"])
def test_all_zero_weights_gives_zero_and_zero_gradient(reduction):
    logits = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    loss = cross_entropy(
        logits, torch.tensor([0, 1, 2, 0, 1]), sample_weight=torch.zeros(5), reduction=reduction
    )
    loss.backward()
    assert loss.item() == 0.0 and not torch.isnan(logits.grad).any()
    assert torch.equal(logits.grad, torch.zeros_like(logits))


# ---- gradcheck ---------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "weighted_mean", "nonzero_mean", "sum"])
def test_gradcheck_hard_and_soft(reduction):
    logits, target, sw, cw = _data((3, 4, 2), seed=9, ignore=-100)
    logits.requires_grad_(True)
    sw.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda x, s: cross_entropy(
            x,
            target,
            sample_weight=s,
            class_weight=cw,
            ignore_index=-100,
            label_smoothing=0.1,
            reduction=reduction,
        ),
        (logits, sw),
    )
    soft = torch.softmax(torch.randn(3, 4, 2, dtype=torch.float64), 1).requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda x, t: cross_entropy(x, t, class_weight=cw, reduction=reduction),
        (logits, soft),
        check_undefined_grad=False,
    )


# ---- invariants (DECISIONS §1 table) -----------------------------------------------------


def _ce(logits, target, w, reduction):
    return cross_entropy(
        logits,
        target,
        sample_weight=w,
        reduction=reduction,
        class_weight=torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64),
    )


def _rand(n, seed):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(n, 3, generator=g, dtype=torch.float64),
        torch.randint(0, 3, (n,), generator=g),
        torch.rand(n, generator=g, dtype=torch.float64) + 0.05,
    )


def _on_rows(n, seed):
    logits, target, _ = _rand(n, seed)

    def loss(rows, w, red):
        return _ce(logits[rows], target[rows], w, red)

    return loss


@settings(max_examples=40, deadline=None)
@given(cases)
def test_unit_weights_equal_no_weights(case):
    n, seed, _ = case
    inv.unit_equals_none(_on_rows(n, seed), n)


@settings(max_examples=40, deadline=None)
@given(cases)
def test_integer_weights_equal_repetition(case):
    n, seed, reps = case
    inv.integer_equals_repetition(_on_rows(n, seed), reps)


@settings(max_examples=40, deadline=None)
@given(cases)
def test_zero_weight_equals_removal(case):
    n, seed, mask = case
    inv.zero_equals_removal(_on_rows(n, seed), _rand(n, seed)[-1], mask)


@settings(max_examples=40, deadline=None)
@given(cases, st.floats(0.01, 100.0))
def test_weighted_mean_is_scale_free(case, scale):
    n, seed, _ = case
    inv.weighted_mean_scale_free(_on_rows(n, seed), _rand(n, seed)[-1], scale)


def test_table_crosses_fail_on_a_counterexample():
    # The ✗ cells of the table: these properties do not hold, and the test shows one case.
    logits, target, w = _rand(4, 0)
    w2 = torch.tensor([2.0, 1.0, 0.0, 0.0], dtype=torch.float64)
    idx = torch.tensor([0, 0, 1])
    keep = torch.tensor([True, True, False, False])
    rep = _ce(logits[idx], target[idx], None, "mean")
    for red in ["mean", "nonzero_mean"]:
        assert not torch.allclose(_ce(logits, target, w2, red), rep)  # integer ≠ repetition
    assert not torch.allclose(
        _ce(logits, target, w2, "mean"), _ce(logits[keep], target[keep], w2[keep], "mean")
    )  # zero ≠ removal
    for red in ["mean", "nonzero_mean", "sum"]:
        assert not torch.allclose(_ce(logits, target, 3 * w, red), _ce(logits, target, w, red))


# ---- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"sample_weight": torch.tensor([1.0, -1.0, 1.0, 1.0])},
            r"sample_weight must be finite and non-negative; got -1.0 at index 1",
        ),
        (
            {"sample_weight": torch.tensor([1.0, 1.0, float("nan"), 1.0])},
            r"sample_weight .* got nan at index 2",
        ),
        (
            {"sample_weight": torch.tensor([1.0, 1.0, 1.0, float("inf")])},
            r"sample_weight .* got inf at index 3",
        ),
        ({"sample_weight": torch.ones(4, 1)}, r"sample_weight of shape \(4, 1\) .* \(4,\)"),
        ({"sample_weight": torch.ones(3)}, r"sample_weight of shape \(3,\) .* \(4,\)"),
        ({"class_weight": torch.ones(2)}, r"class_weight must have shape \(3,\).*got shape \(2,\)"),
        (
            {"class_weight": torch.tensor([1.0, -2.0, 1.0])},
            r"class_weight must be finite and non-negative; got -2.0 at index 1",
        ),
        ({"reduction": "avg"}, r"reduction must be one of .*'avg'"),
        ({"label_smoothing": 1.5}, r"label_smoothing must be in \[0, 1\]; got 1.5"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cross_entropy(torch.randn(4, 3), torch.tensor([0, 1, 2, 1]), **kwargs)


def test_bad_targets_raise():
    with pytest.raises(ValueError, match=r"target must be in \[0, 3\); got 3 at index 2"):
        cross_entropy(torch.randn(4, 3), torch.tensor([0, 1, 3, 1]))
    with pytest.raises(ValueError, match=r"or ignore_index=-1; got -2 at index \(1, 0\)"):
        cross_entropy(torch.randn(2, 3, 2), torch.tensor([[0, 1], [-2, 1]]), ignore_index=-1)
    with pytest.raises(ValueError, match=r"target must have shape \(4,\)"):
        cross_entropy(torch.randn(4, 3), torch.tensor([0, 1, 2]))
    soft = torch.tensor([[0.5, 0.5, 0.1]])
    with pytest.raises(ValueError, match=r"sum to 1 .* got a sum of 1.1\d* at index 0"):
        cross_entropy(torch.randn(1, 3), soft)
    with pytest.raises(ValueError, match=r"ignore_index cannot be used with soft targets"):
        cross_entropy(torch.randn(1, 3), torch.tensor([[0.5, 0.5, 0.0]]), ignore_index=-100)
    with pytest.raises(ValueError, match=r"logits must have shape \(N, C\)"):
        cross_entropy(torch.randn(3), torch.tensor([0, 1, 2]))


def test_value_checks_can_be_switched_off():
    import weightwise

    weightwise.set_checks(False)
    try:
        # No value check runs (and no device sync); the shape check still does.
        cross_entropy(
            torch.randn(4, 3),
            torch.tensor([0, 1, 2, 1]),
            sample_weight=torch.tensor([1.0, -1.0, 1.0, 1.0]),
        )
        with pytest.raises(ValueError, match="does not fit"):
            cross_entropy(
                torch.randn(4, 3), torch.tensor([0, 1, 2, 1]), sample_weight=torch.ones(4, 1)
            )
    finally:
        weightwise.set_checks(True)


def test_python_number_weights_keep_float64_precision():
    # Lists and floats convert straight to the logits' dtype (no float32 rounding on the way).
    logits, target, _, _ = _data((3, 2), seed=11)
    kw = {"reduction": "sum"}
    as_lists = cross_entropy(
        logits, target, sample_weight=[0.3, 0.1, 0.7], class_weight=[0.3, 0.9], **kw
    )
    as_f64 = cross_entropy(
        logits, target, sample_weight=torch.tensor([0.3, 0.1, 0.7], dtype=torch.float64),
        class_weight=torch.tensor([0.3, 0.9], dtype=torch.float64), **kw,
    )  # fmt: skip
    assert as_lists.item() == as_f64.item()
