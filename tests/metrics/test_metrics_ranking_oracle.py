"""AUROC and average precision against scikit-learn with sample_weight (and a brute-force
weighted pairwise count for one-vs-one, which scikit-learn refuses), exact and binned."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from weightwise.metrics import AUROC, AveragePrecision
from weightwise.metrics.functional import auroc, average_precision

TOL = 1e-6
GRID = np.array([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0])  # few values: many ties
WEIGHTS = st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.25])

# A few probability rows for 3 classes: columns repeat values across rows, so ties abound.
ROWS3 = np.array(
    [
        [0.5, 0.3, 0.2],
        [0.2, 0.5, 0.3],
        [0.3, 0.2, 0.5],
        [0.25, 0.25, 0.5],
        [0.5, 0.25, 0.25],
        [1 / 3, 1 / 3, 1 / 3],
        [1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0],
    ]
)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@st.composite
def binary_data(draw, max_n=30):
    n = draw(st.integers(1, max_n))
    s = np.array(draw(st.lists(st.sampled_from(GRID), min_size=n, max_size=n)))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    w = np.array(draw(st.lists(WEIGHTS, min_size=n, max_size=n)))
    return s, y, w


@st.composite
def multiclass_data(draw, max_n=30):
    n = draw(st.integers(1, max_n))
    idx = draw(st.lists(st.integers(0, len(ROWS3) - 1), min_size=n, max_size=n))
    y = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    w = np.array(draw(st.lists(WEIGHTS, min_size=n, max_size=n)))
    return ROWS3[idx], y, w


def _sk_binary(fn, y, s, w, *, auc: bool):
    """scikit-learn's value, or None where ours is undefined."""
    pos, neg = w[y == 1].sum(), w[y == 0].sum()
    if pos <= 0 or (auc and neg <= 0):
        return None
    return fn(y, s, sample_weight=w)


def _check(ours, ref):
    if ref is None:
        assert torch.isnan(ours)
    else:
        assert ours.item() == pytest.approx(ref, abs=TOL)


# ---------------------------------------------------------------------------------------------
# binary
# ---------------------------------------------------------------------------------------------


@settings(max_examples=120, deadline=None)
@given(binary_data())
def test_binary_auroc_and_ap_equal_sklearn(data):
    s, y, w = data
    st_, yt, wt = torch.tensor(s), torch.tensor(y), torch.tensor(w)
    for fn, skfn, auc in [
        (auroc, roc_auc_score, True),
        (average_precision, average_precision_score, False),
    ]:
        ref = _sk_binary(skfn, y, s, w, auc=auc)
        _check(_quiet(fn, st_, yt, wt, task="binary"), ref)
        # every score lies on the grid of 21 thresholds k/20: binned equals exact
        _check(_quiet(fn, st_, yt, wt, task="binary", thresholds=21), ref)


def test_undefined_binary_auroc_is_nan_with_warning():
    with pytest.warns(UserWarning, match="undefined"):
        out = auroc(torch.tensor([0.2, 0.7]), torch.tensor([1, 1]), task="binary")
    assert torch.isnan(out)
    with pytest.warns(UserWarning, match="undefined"):
        out = auroc(
            torch.tensor([0.2, 0.7]),
            torch.tensor([1, 0]),
            sample_weight=torch.tensor([1.0, 0.0]),
            task="binary",
        )
    assert torch.isnan(out)


def test_float32_scores_and_large_input_equal_sklearn():
    g = np.random.default_rng(0)
    n = 20_000
    s = np.round(g.random(n), 3).astype(np.float32)  # ties
    y = (g.random(n) < 0.3).astype(np.int64)
    w = g.random(n) * (g.random(n) > 0.1)
    ours = auroc(
        torch.from_numpy(s), torch.from_numpy(y), sample_weight=torch.from_numpy(w), task="binary"
    )
    assert ours.item() == pytest.approx(roc_auc_score(y, s, sample_weight=w), abs=TOL)
    ours = average_precision(
        torch.from_numpy(s), torch.from_numpy(y), sample_weight=torch.from_numpy(w), task="binary"
    )
    assert ours.item() == pytest.approx(average_precision_score(y, s, sample_weight=w), abs=TOL)


def test_binned_auroc_converges_to_exact():
    g = np.random.default_rng(1)
    n = 5000
    y = (g.random(n) < 0.4).astype(np.int64)
    s = g.beta(2 + 2 * y, 3)
    w = g.random(n)
    args = (torch.tensor(s), torch.tensor(y))
    kw = {"sample_weight": torch.tensor(w), "task": "binary"}
    exact = auroc(*args, **kw).item()
    P, Q = w[y == 1].sum(), w[y == 0].sum()
    bounds = []
    for k in (11, 101, 1001):
        # a positive and a negative in one bin count 1/2 instead of 0 or 1: the error is at
        # most half the weight of such pairs
        b = np.searchsorted(np.arange(k) / (k - 1), s, side="right")
        wp = np.bincount(b, w * y, minlength=k + 1)
        wn = np.bincount(b, w * (1 - y), minlength=k + 1)
        bound = (wp * wn).sum() / (2 * P * Q)
        err = abs(auroc(*args, **kw, thresholds=k).item() - exact)
        assert err <= bound + 1e-12
        bounds.append(bound)
    assert bounds[0] > bounds[1] > bounds[2]
    assert bounds[2] < 1e-3
    # thresholds given as a sequence: the grid of 11 values
    seq = auroc(*args, **kw, thresholds=np.linspace(0, 1, 11)).item()
    assert seq == pytest.approx(auroc(*args, **kw, thresholds=11).item(), abs=1e-12)


def test_binned_memory_is_fixed():
    m = AUROC("multiclass", num_classes=4, thresholds=100)
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        p = torch.softmax(torch.randn(50, 4, generator=g), 1)
        m.update(p, torch.randint(0, 4, (50,), generator=g))
    assert m.hist.shape == (4, 101, 2)
    assert m.hist.dtype == torch.float64


# ---------------------------------------------------------------------------------------------
# multiclass one-vs-rest
# ---------------------------------------------------------------------------------------------


def _ovr_reference(skfn, P, y, w, average, *, auc: bool):
    c = P.shape[1]
    if average == "micro":
        onehot = np.eye(c)[y]
        return _sk_binary(skfn, onehot.ravel(), P.ravel(), np.repeat(w, c), auc=auc)
    vals, sup = [], []
    for k in range(c):
        v = _sk_binary(skfn, (y == k).astype(int), P[:, k], w, auc=auc)
        vals.append(np.nan if v is None else v)
        sup.append(w[y == k].sum())
    vals, sup = np.array(vals), np.array(sup)
    if average == "none":
        return vals
    keep = ~np.isnan(vals)
    if not keep.any():
        return None
    if average == "weighted":
        return float(np.average(vals[keep], weights=sup[keep]))
    return float(vals[keep].mean())


@settings(max_examples=80, deadline=None)
@given(multiclass_data(), st.sampled_from(["macro", "weighted", "micro", "none"]))
def test_multiclass_ovr_equals_sklearn_per_class(data, average):
    P, y, w = data
    args = (torch.tensor(P), torch.tensor(y), torch.tensor(w))
    for fn, skfn, auc in [
        (auroc, roc_auc_score, True),
        (average_precision, average_precision_score, False),
    ]:
        ref = _ovr_reference(skfn, P, y, w, average, auc=auc)
        for thresholds in (None, [0.0, 0.2, 0.25, 0.3, 1 / 3, 0.5, 1.0]):  # ROWS3's values
            ours = _quiet(
                fn, *args, task="multiclass", num_classes=3, average=average, thresholds=thresholds
            )
            if average == "none":
                np.testing.assert_allclose(ours.numpy(), ref, atol=TOL)
            else:
                _check(ours, ref)


@pytest.mark.parametrize("average", ["macro", "weighted", "micro"])
def test_multiclass_ovr_equals_sklearn_multiclass_call(average):
    g = np.random.default_rng(2)
    n, c = 300, 4
    P = g.dirichlet(np.ones(c), n)
    P = np.round(P, 2)
    P[:, -1] = 1 - P[:, :-1].sum(1)
    P = np.clip(P, 0, 1)
    P /= P.sum(1, keepdims=True)
    y = g.integers(0, c, n)
    w = g.random(n) * 3
    ref = roc_auc_score(y, P, multi_class="ovr", average=average, sample_weight=w)
    ours = auroc(torch.tensor(P), torch.tensor(y), sample_weight=torch.tensor(w), average=average)
    assert ours.item() == pytest.approx(ref, abs=TOL)
    ref = average_precision_score(np.eye(c)[y], P, average=average, sample_weight=w)
    ours = average_precision(
        torch.tensor(P), torch.tensor(y), sample_weight=torch.tensor(w), average=average
    )
    assert ours.item() == pytest.approx(ref, abs=TOL)


def test_multiclass_from_logits_and_dense_inputs():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(6, 3, 4, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (6, 4, 5), generator=g)
    w = torch.rand(6, 4, 5, generator=g, dtype=torch.float64)
    P = torch.softmax(logits, 1).movedim(1, -1).reshape(-1, 3).numpy()
    ref = roc_auc_score(y.reshape(-1).numpy(), P, multi_class="ovr", sample_weight=w.reshape(-1))
    ours = auroc(logits, y, sample_weight=w, task="multiclass", num_classes=3, from_logits=True)
    assert ours.item() == pytest.approx(ref, abs=TOL)


# ---------------------------------------------------------------------------------------------
# multiclass one-vs-one: brute force weighted pairwise count
# ---------------------------------------------------------------------------------------------


def _ovo_brute(P, y, w, average):
    c = P.shape[1]
    W = np.array([w[y == k].sum() for k in range(c)])

    def a_given_b(a, b):
        num = 0.0
        for i in np.flatnonzero(y == a):
            for j in np.flatnonzero(y == b):
                si, sj = P[i, a], P[j, a]
                num += w[i] * w[j] * ((si > sj) + 0.5 * (si == sj))
        return num / (W[a] * W[b])

    vals, sup = [], []
    for a in range(c):
        for b in range(a + 1, c):
            if W[a] > 0 and W[b] > 0:
                vals.append((a_given_b(a, b) + a_given_b(b, a)) / 2)
                sup.append(W[a] + W[b])
    if not vals:
        return None
    return float(np.average(vals, weights=sup if average == "weighted" else None))


@settings(max_examples=60, deadline=None)
@given(multiclass_data(max_n=20), st.sampled_from(["macro", "weighted"]))
def test_ovo_equals_brute_force_pairwise_count(data, average):
    P, y, w = data
    ref = _ovo_brute(P, y, w, average)
    args = (torch.tensor(P), torch.tensor(y), torch.tensor(w))
    for thresholds in (None, [0.0, 0.2, 0.25, 0.3, 1 / 3, 0.5, 1.0]):
        ours = _quiet(
            auroc, *args, task="multiclass", num_classes=3, multi_class="ovo", average=average,
            thresholds=thresholds,
        )  # fmt: skip
        _check(ours, ref)


@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_ovo_unit_weights_equal_sklearn(average):
    g = np.random.default_rng(4)
    n, c = 200, 4
    P = g.dirichlet(np.ones(c), n)
    y = g.integers(0, c, n)
    ref = roc_auc_score(y, P, multi_class="ovo", average=average)
    ours = auroc(torch.tensor(P), torch.tensor(y), multi_class="ovo", average=average)
    assert ours.item() == pytest.approx(ref, abs=TOL)


def test_ovo_class_only_weights_leave_macro_unchanged():
    g = np.random.default_rng(5)
    n, c = 200, 3
    P, y = torch.tensor(g.dirichlet(np.ones(c), n)), torch.tensor(g.integers(0, c, n))
    cw = torch.tensor([0.2, 5.0, 1.5], dtype=torch.float64)
    plain = auroc(P, y, multi_class="ovo")
    torch.testing.assert_close(auroc(P, y, sample_weight=cw[y], multi_class="ovo"), plain)
    # one-vs-rest: the "rest" mixes classes of different weight, so the value moves
    assert abs(auroc(P, y, sample_weight=cw[y]).item() - auroc(P, y).item()) > 1e-4
    binary_s, binary_y = P[:, 1], (y == 1).long()
    torch.testing.assert_close(
        auroc(
            binary_s, binary_y, sample_weight=torch.where(binary_y == 1, 4.0, 0.3), task="binary"
        ),
        auroc(binary_s, binary_y, task="binary"),
    )
    # AP does change under class-only weights
    ap_plain = average_precision(binary_s, binary_y, task="binary")
    ap_cw = average_precision(
        binary_s, binary_y, sample_weight=torch.where(binary_y == 1, 4.0, 0.3), task="binary"
    )
    assert abs(ap_plain.item() - ap_cw.item()) > 1e-3


def test_ovo_skips_absent_class_with_warning():
    P = torch.tensor(ROWS3[:4])
    y = torch.tensor([0, 1, 0, 1])
    with pytest.warns(UserWarning, match="left out"):
        out = auroc(P, y, multi_class="ovo")
    assert out.item() == pytest.approx(_ovo_brute(ROWS3[:4], y.numpy(), np.ones(4), "macro"))
    with pytest.warns(UserWarning, match="every class pair"):
        assert torch.isnan(auroc(P, torch.zeros(4, dtype=torch.long), multi_class="ovo"))


# ---------------------------------------------------------------------------------------------
# multilabel
# ---------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 25),
    st.integers(0, 2**31 - 1),
    st.sampled_from(["macro", "weighted", "micro", "none"]),
    st.booleans(),
)
def test_multilabel_equals_sklearn_per_label(n, seed, average, per_label_weight):
    g = np.random.default_rng(seed)
    L = 3
    P = g.choice(GRID, (n, L))
    Y = g.integers(0, 2, (n, L))
    w = g.choice([0.0, 0.5, 1.0, 2.0], (n, L) if per_label_weight else (n,))
    W = w if per_label_weight else np.repeat(w[:, None], L, 1)
    for fn, skfn, auc in [
        (auroc, roc_auc_score, True),
        (average_precision, average_precision_score, False),
    ]:
        if average == "micro":
            ref = _sk_binary(skfn, Y.ravel(), P.ravel(), W.ravel(), auc=auc)
        else:
            vals = np.array(
                [
                    np.nan
                    if (v := _sk_binary(skfn, Y[:, k], P[:, k], W[:, k], auc=auc)) is None
                    else v
                    for k in range(L)
                ]
            )
            sup = (W * Y).sum(0)
            keep = ~np.isnan(vals)
            if average == "none":
                ref = vals
            elif not keep.any():
                ref = None
            elif average == "weighted":
                ref = float(np.average(vals[keep], weights=sup[keep]))
            else:
                ref = float(vals[keep].mean())
        for thresholds in (None, 21):
            ours = _quiet(
                fn, torch.tensor(P), torch.tensor(Y), torch.tensor(w), task="multilabel",
                num_labels=L, average=average, thresholds=thresholds,
            )  # fmt: skip
            if average == "none":
                np.testing.assert_allclose(ours.numpy(), ref, atol=TOL)
            else:
                _check(ours, ref)


# ---------------------------------------------------------------------------------------------
# stateful twins and argument checks
# ---------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:The ``compute`` method")
@pytest.mark.parametrize("cls", [AUROC, AveragePrecision])
def test_stateful_reset_and_empty(cls):
    m = cls("binary")
    with pytest.warns(UserWarning, match="undefined"):
        assert torch.isnan(m.compute())
    ref = roc_auc_score if cls is AUROC else average_precision_score
    m.update(torch.tensor([0.2, 0.8]), torch.tensor([0, 1]))
    assert m.compute().item() == pytest.approx(ref([0, 1], [0.2, 0.8]), abs=TOL)
    m.reset()  # the first batch must not leak into the second
    m.update(torch.tensor([0.8, 0.2]), torch.tensor([0, 1]))
    assert m.compute().item() == pytest.approx(ref([0, 1], [0.8, 0.2]), abs=TOL)


def test_bad_arguments_raise():
    s, y = torch.tensor([0.2, 0.8]), torch.tensor([0, 1])
    with pytest.raises(ValueError, match="preds must be probabilities"):
        auroc(torch.tensor([0.2, 1.5]), y, task="binary")
    with pytest.raises(ValueError, match="thresholds"):
        auroc(s, y, task="binary", thresholds=1)
    with pytest.raises(ValueError, match="thresholds must be strictly increasing"):
        auroc(s, y, task="binary", thresholds=[0.0, 0.5, 0.5])
    with pytest.raises(ValueError, match="multi_class"):
        AUROC("multilabel", num_labels=2, multi_class="ovo")
    with pytest.raises(ValueError, match="average"):
        AUROC("multiclass", num_classes=3, multi_class="ovo", average="micro")
    with pytest.raises(ValueError, match="sum to 1"):
        auroc(torch.tensor([[0.5, 0.6], [0.5, 0.5]]), y, task="multiclass")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_sort_keys_order_any_reals_and_merge_signed_zeros(dtype):
    from weightwise.metrics.functional._curves import descending_keys as _descending_keys

    vals = [-np.inf, -2.0, -1.0, -1e-30, -0.0, 0.0, 1e-30, 0.25, 1.0, 3.0, np.inf]
    for sign in (1.0, -1.0):  # with and without negative values present
        x = torch.tensor([v for v in vals if sign < 0 or v >= 0 or v == 0], dtype=dtype)
        x = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(0))]
        keys = _descending_keys(x)
        order = torch.argsort(keys, stable=True)
        xs = x[order].double()
        assert bool((xs[1:] <= xs[:-1]).all())  # descending
        # equal keys iff equal values (-0.0 == 0.0)
        eq_keys = keys.unsqueeze(0) == keys.unsqueeze(1)
        eq_vals = x.unsqueeze(0) == x.unsqueeze(1)
        assert torch.equal(eq_keys, eq_vals)


def test_ovr_skips_undefined_class_with_warning_and_ignore_index_is_removal():
    P = torch.tensor(ROWS3[[0, 1, 3, 4, 5, 6]])
    y = torch.tensor([0, 1, 0, 1, 1, 0])  # class 2 never occurs
    with pytest.warns(UserWarning, match=r"undefined for class \[2\].*left out of the macro"):
        out = auroc(P, y)
    ref = np.mean([roc_auc_score(y.numpy() == k, P[:, k].numpy()) for k in (0, 1)])
    assert out.item() == pytest.approx(ref, abs=TOL)
    # ignore_index: those elements leave, exactly as if removed
    y_ign = torch.tensor([0, 1, -1, 1, 2, -1])
    keep = y_ign != -1
    for fn in (auroc, average_precision):
        got = _quiet(fn, P, y_ign, ignore_index=-1)
        torch.testing.assert_close(got, _quiet(fn, P[keep], y_ign[keep]))


def test_multilabel_per_label_weights_stream_like_one_call():
    g = torch.Generator().manual_seed(6)
    P = torch.rand(30, 4, generator=g, dtype=torch.float64).round(decimals=1)
    Y = torch.randint(0, 2, (30, 4), generator=g)
    W = torch.rand(30, 4, generator=g, dtype=torch.float64)
    for cls, fn in [(AUROC, auroc), (AveragePrecision, average_precision)]:
        for thresholds in (None, 11):
            m = cls("multilabel", num_labels=4, average="weighted", thresholds=thresholds)
            for lo, hi in [(0, 7), (7, 8), (8, 30)]:
                m.update(P[lo:hi], Y[lo:hi], W[lo:hi])
            one = fn(
                P, Y, sample_weight=W, task="multilabel", average="weighted", thresholds=thresholds
            )
            torch.testing.assert_close(m.compute(), one, rtol=1e-12, atol=1e-12)


def test_from_logits_ranks_logits_without_saturation_ties():
    z = torch.tensor([30.0, 20.0, -5.0, 2.0, -40.0], dtype=torch.float32)
    y = torch.tensor([1, 0, 0, 1, 0])
    w = torch.tensor([1.0, 2.0, 1.0, 0.5, 3.0])
    assert torch.sigmoid(z)[0] == torch.sigmoid(z)[1]  # saturated in float32
    for fn, skfn in [(auroc, roc_auc_score), (average_precision, average_precision_score)]:
        ref = skfn(y.numpy(), z.numpy(), sample_weight=w.numpy())  # ranking the logits
        assert fn(z, y, sample_weight=w, task="binary", from_logits=True).item() == pytest.approx(
            ref, abs=TOL
        )
        m = (AUROC if fn is auroc else AveragePrecision)("binary", from_logits=True)
        m.update(z, y, w)
        assert m.compute().item() == pytest.approx(ref, abs=TOL)
    Z = torch.stack([z, -z], 1)
    Y = torch.stack([y, 1 - y], 1)
    ref = np.mean([roc_auc_score(Y[:, k].numpy(), Z[:, k].numpy()) for k in range(2)])
    assert auroc(Z, Y, task="multilabel", from_logits=True).item() == pytest.approx(ref, abs=TOL)
