"""Every confusion-matrix metric against scikit-learn / imbalanced-learn with random
sample_weight (or a brute-force weighted count where they have none), to 1e-6.

Hypothesis draws ties in the scores (threshold and argmax ties), zero weights, classes absent
from the batch and single-class batches. As DECISIONS §6 says, scikit-learn is given the rows of
positive weight (it takes its class set from every row, whatever the weight), or
``labels=range(C)`` for the confusion matrix and kappa.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from imblearn.metrics import geometric_mean_score
from sklearn import metrics as skm

from weightwise import metrics as M
from weightwise.metrics import functional as F

TOL = {"rtol": 1e-6, "atol": 1e-6, "equal_nan": True}
SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))


@st.composite
def multiclass_data(draw, max_c=5):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(1, 30))
    c = draw(st.integers(2, max_c))
    present = draw(st.integers(1, c))  # classes absent from the batch; 1 = single-class
    y = rng.integers(0, present, n)
    scores = rng.integers(0, 3, (n, c)) / 2.0  # argmax ties -> lower index
    p = scores.argmax(1)
    kind = draw(st.sampled_from(["floats", "with_zeros", "integers"]))
    if kind == "floats":
        w = rng.random(n) * 3
    elif kind == "with_zeros":
        w = rng.random(n) * 3 * (rng.random(n) > 0.4)
    else:
        w = rng.integers(0, 4, n).astype(float)
    assume(w.sum() > 0)
    return y, scores, p, w, c


@st.composite
def binary_data(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(1, 30))
    single = draw(st.booleans())
    y = np.full(n, rng.integers(0, 2)) if single else rng.integers(0, 2, n)
    scores = rng.integers(0, 5, n) / 4.0  # 0.5 ties the threshold: strict >
    w = rng.random(n) * 3 * (rng.random(n) > 0.3)
    assume(w.sum() > 0)
    return y, scores, (scores > 0.5).astype(int), w


@st.composite
def multilabel_data(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(1, 25))
    labels = draw(st.integers(2, 4))
    y = rng.integers(0, 2, (n, labels))
    scores = rng.integers(0, 5, (n, labels)) / 4.0
    w = rng.random(n) * 3 * (rng.random(n) > 0.3)
    assume(w.sum() > 0)
    return y, scores, (scores > 0.5).astype(int), w


def t(x):
    return torch.as_tensor(x)


SK_PRF = {
    "precision": (F.precision, skm.precision_score, {}),
    "recall": (F.recall, skm.recall_score, {}),
    "f1_score": (F.f1_score, skm.f1_score, {}),
    "dice_score": (F.dice_score, skm.f1_score, {}),
    "fbeta_score": (F.fbeta_score, skm.fbeta_score, {"beta": 2.0}),
    "jaccard_index": (F.jaccard_index, skm.jaccard_score, {}),
}


@pytest.mark.parametrize("name", sorted(SK_PRF))
@pytest.mark.parametrize("zd", [0.0, 1.0])
@SETTINGS
@given(data=multiclass_data())
def test_multiclass_prf_equals_sklearn(name, zd, data):
    y, scores, p, w, c = data
    ours, ref, extra = SK_PRF[name]
    m = w > 0
    for avg in ("micro", "macro", "weighted"):
        got = ours(t(scores), t(y), sample_weight=t(w), task="multiclass", num_classes=c,
                   average=avg, zero_division=zd, **extra)  # fmt: skip
        want = ref(y[m], p[m], sample_weight=w[m], average=avg, zero_division=zd, **extra)
        np.testing.assert_allclose(float(got), want, **TOL, err_msg=avg)
    got = ours(t(p), t(y), sample_weight=t(w), task="multiclass", num_classes=c, average="none",
               zero_division=zd, **extra)  # fmt: skip
    # labels=range(C) fixes scikit-learn's class set, so the whole vector compares, absent
    # classes (their zero_division value) included.
    want = ref(y, p, sample_weight=w, average=None, labels=np.arange(c), zero_division=zd, **extra)
    np.testing.assert_allclose(got.numpy(), want, **TOL)


@pytest.mark.parametrize("name", sorted(SK_PRF))
@SETTINGS
@given(data=binary_data(), zd=st.sampled_from([0.0, 1.0]))
def test_binary_prf_equals_sklearn(name, data, zd):
    y, scores, p, w = data
    ours, ref, extra = SK_PRF[name]
    m = w > 0
    got = ours(t(scores), t(y), sample_weight=t(w), task="binary", zero_division=zd, **extra)
    want = ref(y[m], p[m], sample_weight=w[m], zero_division=zd, labels=[0, 1], **extra)
    np.testing.assert_allclose(float(got), want, **TOL)


@pytest.mark.parametrize("name", sorted(SK_PRF))
@SETTINGS
@given(data=multilabel_data(), zd=st.sampled_from([0.0, 1.0]))
def test_multilabel_prf_equals_sklearn(name, data, zd):
    y, scores, p, w = data
    ours, ref, extra = SK_PRF[name]
    m = w > 0
    nl = y.shape[1]
    for avg in ("micro", "macro", "weighted", None):
        if avg == "weighted" and y[m].sum() == 0:
            continue  # no weighted support at all: scikit-learn's functions disagree there
        got = ours(t(scores), t(y), sample_weight=t(w), task="multilabel", num_labels=nl,
                   average=avg, zero_division=zd, **extra)  # fmt: skip
        if avg == "macro":
            # DECISIONS §6: a label enters the macro average only when its weighted
            # tp + fp + fn > 0 (true or predicted in a row of positive weight).
            present = np.flatnonzero((y[m] + p[m]).sum(0) > 0)
            if present.size == 0:
                np.testing.assert_allclose(float(got), zd, **TOL)
                continue
            extra = {**extra, "labels": present}
        want = ref(y[m], p[m], sample_weight=w[m], average=avg, zero_division=zd, **extra)
        extra.pop("labels", None)
        np.testing.assert_allclose(np.asarray(got), want, **TOL, err_msg=str(avg))


@SETTINGS
@given(data=multiclass_data())
def test_multiclass_accuracy_balanced_mcc_kappa_confmat(data):
    y, scores, p, w, c = data
    m = w > 0
    kw = {"task": "multiclass", "num_classes": c}
    np.testing.assert_allclose(
        float(F.accuracy(t(scores), t(y), sample_weight=t(w), **kw)),
        skm.accuracy_score(y, p, sample_weight=w), **TOL,
    )  # fmt: skip
    for avg in ("macro", "weighted"):
        np.testing.assert_allclose(
            float(F.accuracy(t(p), t(y), sample_weight=t(w), average=avg, **kw)),
            skm.recall_score(y[m], p[m], sample_weight=w[m], average=avg, zero_division=0), **TOL,
        )  # fmt: skip
    np.testing.assert_allclose(
        float(F.balanced_accuracy(t(p), t(y), sample_weight=t(w), **kw)),
        skm.balanced_accuracy_score(y[m], p[m], sample_weight=w[m]), **TOL,
    )  # fmt: skip
    np.testing.assert_allclose(
        float(F.matthews_corrcoef(t(p), t(y), sample_weight=t(w), **kw)),
        skm.matthews_corrcoef(y[m], p[m], sample_weight=w[m]), **TOL,
    )  # fmt: skip
    for kappa_w in (None, "linear", "quadratic"):
        with _quiet():
            want = skm.cohen_kappa_score(
                y, p, labels=np.arange(c), weights=kappa_w, sample_weight=w
            )
        np.testing.assert_allclose(
            float(F.cohen_kappa(t(p), t(y), sample_weight=t(w), weights=kappa_w, **kw)), want, **TOL
        )
    for norm in (None, "true", "pred", "all"):
        with _quiet():
            want = skm.confusion_matrix(y, p, labels=np.arange(c), sample_weight=w, normalize=norm)
        np.testing.assert_allclose(
            F.confusion_matrix(t(scores), t(y), sample_weight=t(w), normalize=norm, **kw).numpy(),
            np.nan_to_num(want), **TOL,
        )  # fmt: skip


class _quiet:
    def __enter__(self):
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


@SETTINGS
@given(data=binary_data())
def test_binary_accuracy_balanced_mcc_kappa_confmat(data):
    y, scores, p, w = data
    m = w > 0
    s = t(scores)
    np.testing.assert_allclose(
        float(F.accuracy(s, t(y), sample_weight=t(w), task="binary")),
        skm.accuracy_score(y, p, sample_weight=w),
        **TOL,
    )
    with _quiet():
        want_bal = skm.balanced_accuracy_score(y[m], p[m], sample_weight=w[m])
        want_k = skm.cohen_kappa_score(y, p, labels=[0, 1], sample_weight=w)
    np.testing.assert_allclose(
        float(F.balanced_accuracy(s, t(y), sample_weight=t(w), task="binary")), want_bal, **TOL
    )
    np.testing.assert_allclose(
        float(F.matthews_corrcoef(s, t(y), sample_weight=t(w), task="binary")),
        skm.matthews_corrcoef(y[m], p[m], sample_weight=w[m]), **TOL,
    )  # fmt: skip
    np.testing.assert_allclose(
        float(F.cohen_kappa(s, t(y), sample_weight=t(w), task="binary")), want_k, **TOL
    )
    np.testing.assert_allclose(
        F.confusion_matrix(s, t(y), sample_weight=t(w), task="binary").numpy(),
        skm.confusion_matrix(y, p, labels=[0, 1], sample_weight=w), **TOL,
    )  # fmt: skip
    # specificity = recall of the negative class
    np.testing.assert_allclose(
        float(F.specificity(s, t(y), sample_weight=t(w), task="binary")),
        skm.recall_score(1 - y[m], 1 - p[m], sample_weight=w[m], zero_division=0), **TOL,
    )  # fmt: skip


@SETTINGS
@given(data=multilabel_data())
def test_multilabel_accuracy_mcc_confmat(data):
    y, scores, p, w = data
    nl = y.shape[1]
    kw = {"task": "multilabel", "num_labels": nl}
    s = t(scores)
    np.testing.assert_allclose(
        float(F.accuracy(s, t(y), sample_weight=t(w), **kw)),
        1 - skm.hamming_loss(y, p, sample_weight=w), **TOL,
    )  # fmt: skip
    per = [skm.accuracy_score(y[:, j], p[:, j], sample_weight=w) for j in range(nl)]
    np.testing.assert_allclose(
        F.accuracy(s, t(y), sample_weight=t(w), average="none", **kw).numpy(), per, **TOL
    )
    # Macro: only labels with weighted tp + fp + fn > 0 (DECISIONS §6), i.e. true or predicted
    # in a row of positive weight.
    present = ((y[w > 0] + p[w > 0]).sum(0) > 0) if (w > 0).any() else np.zeros(nl, bool)
    want_macro = np.mean(np.asarray(per)[present]) if present.any() else 0.0
    np.testing.assert_allclose(
        float(F.accuracy(s, t(y), sample_weight=t(w), average="macro", **kw)), want_macro, **TOL
    )
    m = w > 0
    wl = np.repeat(w[m], nl)
    np.testing.assert_allclose(
        float(F.matthews_corrcoef(s, t(y), sample_weight=t(w), **kw)),
        skm.matthews_corrcoef(y[m].ravel(), p[m].ravel(), sample_weight=wl), **TOL,
    )  # fmt: skip
    np.testing.assert_allclose(
        F.confusion_matrix(s, t(y), sample_weight=t(w), **kw).numpy(),
        skm.multilabel_confusion_matrix(y, p, sample_weight=w), **TOL,
    )  # fmt: skip


def _brute_specificity_gmean(y, p, w, c):
    """Brute-force weighted one-vs-rest counts over the present classes."""
    classes = np.unique(np.concatenate([y, p]))
    tp = np.array([w[(y == k) & (p == k)].sum() for k in classes])
    fp = np.array([w[(y != k) & (p == k)].sum() for k in classes])
    fn = np.array([w[(y == k) & (p != k)].sum() for k in classes])
    tn = np.array([w[(y != k) & (p != k)].sum() for k in classes])
    sen = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=tp + fn > 0)
    spe = np.divide(tn, tn + fp, out=np.zeros_like(tn), where=tn + fp > 0)
    sup = tp + fn
    out = {}
    for avg in ("macro", "weighted", "micro"):
        if avg == "macro":
            a_sen, a_spe = sen.mean(), spe.mean()
        elif avg == "weighted":
            a_sen, a_spe = (sen * sup).sum() / sup.sum(), (spe * sup).sum() / sup.sum()
        else:
            a_sen = tp.sum() / (tp.sum() + fn.sum())
            d = tn.sum() + fp.sum()
            a_spe = tn.sum() / d if d > 0 else 0.0
        out[avg] = (a_spe, np.sqrt(a_sen * a_spe))
    return out


@SETTINGS
@given(data=multiclass_data())
def test_specificity_and_geometric_mean(data):
    y, _scores, p, w, c = data
    m = w > 0
    kw = {"task": "multiclass", "num_classes": c}
    brute = _brute_specificity_gmean(y[m], p[m], w[m], c)
    for avg, (spe, gm) in brute.items():
        np.testing.assert_allclose(
            float(F.specificity(t(p), t(y), sample_weight=t(w), average=avg, **kw)), spe, **TOL
        )
        np.testing.assert_allclose(
            float(F.geometric_mean(t(p), t(y), sample_weight=t(w), average=avg, **kw)), gm, **TOL
        )
    # imbalanced-learn itself: weighted for average="multiclass", unit weights otherwise
    with _quiet():
        want = geometric_mean_score(y[m], p[m], sample_weight=w[m], average="multiclass")
    np.testing.assert_allclose(
        float(F.geometric_mean(t(p), t(y), sample_weight=t(w), **kw)), want, **TOL
    )
    for avg in ("macro", "weighted", "micro"):
        with _quiet():
            want = geometric_mean_score(y, p, average=avg)
        np.testing.assert_allclose(
            float(F.geometric_mean(t(p), t(y), average=avg, **kw)), want, **TOL
        )


@SETTINGS
@given(data=binary_data())
def test_binary_geometric_mean(data):
    y, scores, p, w = data
    m = w > 0
    cm = skm.confusion_matrix(y[m], p[m], labels=[0, 1], sample_weight=w[m])
    (tn, fp), (fn, tp) = cm
    tpr = tp / (tp + fn) if tp + fn > 0 else 0.0
    tnr = tn / (tn + fp) if tn + fp > 0 else 0.0
    np.testing.assert_allclose(
        float(F.geometric_mean(t(scores), t(y), sample_weight=t(w), task="binary")),
        np.sqrt(tpr * tnr),
        **TOL,
    )
    with _quiet():
        want = geometric_mean_score(y, p, average="binary")
    np.testing.assert_allclose(float(F.geometric_mean(t(scores), t(y), task="binary")), want, **TOL)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), k=st.integers(1, 4))
def test_top_k_accuracy_equals_sklearn(seed, n, k):
    rng = np.random.default_rng(seed)
    c = 5
    scores = rng.random((n, c))  # tie-free
    y = rng.integers(0, c, n)
    w = rng.random(n) * (rng.random(n) > 0.3)
    assume(w.sum() > 0)
    got = F.accuracy(t(scores), t(y), sample_weight=t(w), task="multiclass", num_classes=c, top_k=k)
    want = skm.top_k_accuracy_score(y, scores, k=k, labels=np.arange(c), sample_weight=w)
    np.testing.assert_allclose(float(got), want, **TOL)
    # macro: per-class weighted hit rate over the classes with tp + fp + fn > 0
    topk = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    hit = (topk == y[:, None]).any(1)
    rates = []
    for cl in range(c):
        sup = w[y == cl].sum()
        fp = sum(w[i] for i in range(n) if y[i] != cl and cl in topk[i])
        if sup + fp > 0:
            rates.append(w[(y == cl) & hit].sum() / sup if sup > 0 else 0.0)
    got = F.accuracy(
        t(scores),
        t(y),
        sample_weight=t(w),
        task="multiclass",
        num_classes=c,
        top_k=k,
        average="macro",
    )
    np.testing.assert_allclose(float(got), np.mean(rates), **TOL)


def test_top_k_ties_go_to_the_lower_index():
    scores = torch.tensor([[0.2, 0.4, 0.4, 0.0], [0.3, 0.3, 0.3, 0.1]])
    # row 0: classes 1 and 2 tie; top-1 is 1. row 1: 0, 1, 2 tie; top-2 is {0, 1}.
    kw = {"task": "multiclass", "num_classes": 4}
    assert float(F.accuracy(scores, torch.tensor([1, 1]), **kw)) == 0.5
    assert float(F.accuracy(scores, torch.tensor([2, 2]), top_k=2, **kw)) == 0.5
    assert float(F.accuracy(scores, torch.tensor([2, 1]), top_k=2, **kw)) == 1.0


@SETTINGS
@given(data=multiclass_data())
def test_classification_report_equals_sklearn(data):
    y, _scores, p, w, c = data
    m = w > 0
    ours = F.classification_report(t(p), t(y), sample_weight=t(w), task="multiclass", num_classes=c)
    with _quiet():
        ref = skm.classification_report(
            y[m], p[m], sample_weight=w[m], output_dict=True, zero_division=0
        )
    for key, row in ref.items():
        if key == "accuracy":
            np.testing.assert_allclose(ours["accuracy"], row, **TOL)
            continue
        for col in ("precision", "recall", "f1-score"):
            np.testing.assert_allclose(ours[key][col], row[col], **TOL, err_msg=f"{key} {col}")
        np.testing.assert_allclose(ours[key]["weighted_support"], row["support"], **TOL)
    for cl in range(c):
        assert ours[str(cl)]["support"] == int(((y == cl) & m).sum())
        assert ours[str(cl)]["predicted"] == int(((p == cl) & m).sum())
        np.testing.assert_allclose(ours[str(cl)]["weighted_predicted"], w[p == cl].sum(), **TOL)
    stream = M.ClassificationReport("multiclass", num_classes=c)
    half = len(y) // 2
    stream.update(t(p[:half]), t(y[:half]), t(w[:half]))
    stream.update(t(p[half:]), t(y[half:]), t(w[half:]))
    streamed = stream.compute()
    assert streamed.keys() == ours.keys()
    for key, row in ours.items():
        if isinstance(row, dict):
            for col, v in row.items():
                np.testing.assert_allclose(streamed[key][col], v, rtol=1e-12, atol=1e-12)
        else:
            np.testing.assert_allclose(streamed[key], row, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 4))
def test_dense_per_pixel_weights_equal_flattened_sklearn(seed, n):
    rng = np.random.default_rng(seed)
    c, h, wd = 3, 4, 5
    logits = rng.normal(size=(n, c, h, wd))
    y = rng.integers(0, c, (n, h, wd))
    wmap = rng.random((n, h, wd)) * (rng.random((n, h, wd)) > 0.2)
    assume(wmap.sum() > 0)
    p = logits.argmax(1)
    m = wmap.ravel() > 0
    yf, pf, wf = y.ravel()[m], p.ravel()[m], wmap.ravel()[m]
    for avg in ("micro", "macro", "weighted"):
        got = F.jaccard_index(
            t(logits), t(y), sample_weight=t(wmap), task="multiclass", num_classes=c, average=avg
        )
        np.testing.assert_allclose(
            float(got), skm.jaccard_score(yf, pf, sample_weight=wf, average=avg), **TOL
        )
        got = F.dice_score(
            t(logits), t(y), sample_weight=t(wmap), task="multiclass", num_classes=c, average=avg
        )
        np.testing.assert_allclose(
            float(got), skm.f1_score(yf, pf, sample_weight=wf, average=avg), **TOL
        )
    # an (N,) weight covers every pixel of its sample
    ws = rng.random(n)
    got = F.jaccard_index(t(logits), t(y), sample_weight=t(ws), task="multiclass", num_classes=c)
    full = np.broadcast_to(ws[:, None, None], y.shape).ravel()
    mm = full > 0
    np.testing.assert_allclose(
        float(got),
        skm.jaccard_score(y.ravel()[mm], p.ravel()[mm], sample_weight=full[mm], average="macro"),
        **TOL,
    )
