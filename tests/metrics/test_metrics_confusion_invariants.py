"""The weight invariants on every confusion-matrix metric, streaming, and bad-input messages."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from metrics_confusion_cases import CASES, RATIO_FREE, make_inputs, value, with_sizes

from weightwise import metrics as M
from weightwise.metrics import functional as F

IDS = [c[0] for c in CASES]
WEIGHT_VALUES = np.array([0.0, 0.5, 1.0, 2.0, 3.7])


def _close(a: np.ndarray, b: np.ndarray) -> None:
    # 1e-6, the acceptance tolerance: MCC near 0 is a difference of products whose rounding
    # residue (~1e-16) divided by a small norm can reach ~1e-9.
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6, equal_nan=True)


def _weights(rng: np.random.Generator, n: int) -> torch.Tensor:
    w = WEIGHT_VALUES[rng.integers(0, len(WEIGHT_VALUES), n)]
    w[rng.integers(0, n)] = 1.5  # at least one positive weight
    return torch.as_tensor(w)


seeds = st.integers(0, 2**32 - 1)
sizes = st.integers(1, 25)
SETTINGS = settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("case", CASES, ids=IDS)
@SETTINGS
@given(seed=seeds, n=sizes)
def test_weight_invariants(case, seed, n):
    name, fn, _, opts = case
    rng = np.random.default_rng(seed)
    preds, target = make_inputs(opts["task"], n, rng)
    w = _weights(rng, n)
    # unit weights equal no weights
    _close(value(fn, preds, target, torch.ones(n, dtype=torch.float64), opts),
           value(fn, preds, target, None, opts))  # fmt: skip
    # zero weight equals removal
    keep = w > 0
    _close(value(fn, preds, target, w, opts), value(fn, preds[keep], target[keep], w[keep], opts))
    # integer weights equal repetition
    reps = torch.as_tensor(rng.integers(0, 4, n))
    reps[rng.integers(0, n)] = 1
    rep_idx = torch.repeat_interleave(torch.arange(n), reps)
    _close(
        value(fn, preds, target, reps.double(), opts),
        value(fn, preds[rep_idx], target[rep_idx], None, opts),
    )
    # scaling every weight changes nothing (the confusion matrix scales with them)
    scaled = value(fn, preds, target, w * 3.7, opts)
    base = value(fn, preds, target, w, opts)
    _close(scaled, base * 3.7 if name in RATIO_FREE else base)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@SETTINGS
@given(seed=seeds, n=st.integers(2, 40), dense=st.booleans())
def test_streaming_equals_one_call_and_functional(case, seed, n, dense):
    _, fn, cls, opts = case
    rng = np.random.default_rng(seed)
    preds, target = make_inputs(opts["task"], n, rng, dense=dense)
    if dense and opts["task"] != "multilabel":
        w = torch.as_tensor(rng.random(tuple(target.shape)))  # per-pixel map
    else:
        w = _weights(rng, n)
    metric = cls(**with_sizes(opts))
    cuts = sorted(set(rng.integers(0, n + 1, 4).tolist()) | {0, n})
    for lo, hi in itertools.pairwise(cuts):
        metric.update(preds[lo:hi], target[lo:hi], w[lo:hi])
    got = np.asarray(metric.compute(), dtype=np.float64)
    _close(got, value(fn, preds, target, w, opts))
    metric.reset()
    metric.update(preds, target, w)
    _close(np.asarray(metric.compute(), dtype=np.float64), value(fn, preds, target, w, opts))


BAD = [
    (
        torch.tensor([1.0, -1.0, 1.0, 1.0]),
        r"sample_weight must be finite and non-negative; got -1\.0 at index 1",
    ),
    (torch.tensor([1.0, 1.0, float("nan"), 1.0]), r"sample_weight .*nan at index 2"),
    (torch.tensor([1.0, 1.0, 1.0]), r"sample_weight of shape \(3,\)"),
    (torch.ones(4, 1), r"sample_weight of shape \(4, 1\)"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("bad, match", BAD)
def test_bad_weights_raise_naming_the_argument(case, bad, match):
    _, fn, cls, opts = case
    preds, target = make_inputs(opts["task"], 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match=match):
        fn(preds, target, sample_weight=bad, **with_sizes(opts))
    with pytest.raises(ValueError, match=match):
        cls(**with_sizes(opts)).update(preds, target, bad)


def test_bad_inputs_name_argument_position_and_value():
    y = torch.tensor([0, 1, 2, 5])
    with pytest.raises(ValueError, match=r"target must be in \[0, 4\); got 5 at index 3"):
        F.accuracy(torch.tensor([0, 1, 2, 3]), y, task="multiclass", num_classes=4)
    with pytest.raises(
        ValueError, match=r"preds must be probabilities in \[0, 1\].*1\.5 at index 2"
    ):
        F.precision(torch.tensor([0.1, 0.2, 1.5]), torch.tensor([0, 1, 1]), task="binary")
    with pytest.raises(ValueError, match=r"target must be 0 or 1; got 2 at index \(1, 0\)"):
        F.recall(torch.rand(2, 2), torch.tensor([[0, 1], [2, 0]]), task="multilabel")
    with pytest.raises(ValueError, match="average must be one of"):
        F.f1_score(torch.tensor([0, 1]), torch.tensor([0, 1]), task="multiclass", average="samples")
    with pytest.raises(ValueError, match="zero_division must be"):
        M.Precision("binary", zero_division=2.0)
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        M.Accuracy("multiclass")
    with pytest.raises(ValueError, match="task must be one of"):
        M.Recall("multi")
    with pytest.raises(ValueError, match="top_k must be <= num_classes=3"):
        M.Accuracy("multiclass", num_classes=3, top_k=4)
    with pytest.raises(ValueError, match=r"scores of shape \(2, 3\)"):
        F.accuracy(torch.rand(2, 4), torch.tensor([0, 1]), task="multiclass", num_classes=3)


def test_logits_and_ignore_index():
    rng = np.random.default_rng(1)
    logits = torch.as_tensor(rng.normal(size=30) * 3)
    y = torch.as_tensor(rng.integers(0, 2, 30))
    a = F.f1_score(logits, y, task="binary", from_logits=True)
    b = F.f1_score(torch.sigmoid(logits), y, task="binary")
    assert float(a) == float(b)
    y_mc = torch.as_tensor(rng.integers(0, 3, 30))
    p_mc = torch.as_tensor(rng.integers(0, 3, 30))
    y_ign = y_mc.clone()
    y_ign[::4] = 255
    keep = y_ign != 255
    for avg in ("micro", "macro", "weighted"):
        got = F.precision(
            p_mc, y_ign, task="multiclass", num_classes=3, average=avg, ignore_index=255
        )
        ref = F.precision(p_mc[keep], y_ign[keep], task="multiclass", num_classes=3, average=avg)
        assert float(got) == pytest.approx(float(ref), abs=1e-12)


def test_all_zero_weights_are_undefined_not_zero_division():
    """No data (every weight 0, or no sample) is undefined: NaN with a warning, whatever
    ``zero_division`` says (the package rule; ``zero_division`` is for a 0/0 class ratio)."""
    p, y = torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0])
    w = torch.zeros(3)
    mc = {"task": "multiclass", "num_classes": 2}
    for zd in (0.0, 1.0):
        with pytest.warns(UserWarning, match="precision is undefined: the total sample weight"):
            got = F.precision(p, y, sample_weight=w, zero_division=zd, **mc)
        assert math.isnan(float(got))
    with pytest.warns(UserWarning, match="Cohen's kappa is undefined"):
        assert math.isnan(float(F.cohen_kappa(p, y, sample_weight=w, **mc)))
    with pytest.warns(UserWarning, match="Matthews correlation coefficient is undefined"):
        assert math.isnan(float(F.matthews_corrcoef(p, y, sample_weight=w, task="binary")))


def test_zero_division_still_fills_a_zero_over_zero_class_among_data():
    # Class 2 is never predicted: its precision is 0/0 -> zero_division; the data are there.
    p, y = torch.tensor([0, 1, 1]), torch.tensor([0, 1, 2])
    for zd in (0.0, 1.0):
        per = F.precision(p, y, task="multiclass", num_classes=3, average="none", zero_division=zd)
        assert float(per[2]) == zd


def test_evaluate_weighted_and_unweighted_side_by_side():
    rng = np.random.default_rng(3)
    p = torch.as_tensor(rng.integers(0, 3, 40))
    y = torch.as_tensor(rng.integers(0, 3, 40))
    w = torch.as_tensor(rng.random(40))
    out = M.evaluate(
        p,
        y,
        sample_weight=w,
        metrics=["accuracy", "f1_score", "confusion_matrix"],
        average="weighted",
    )
    assert set(out) == {"weighted", "unweighted"}
    from sklearn.metrics import f1_score as sk_f1

    assert out["weighted"]["f1_score"] == pytest.approx(
        sk_f1(y.numpy(), p.numpy(), sample_weight=w.numpy(), average="weighted"), rel=1e-6
    )
    assert out["unweighted"]["f1_score"] == pytest.approx(
        sk_f1(y.numpy(), p.numpy(), average="weighted"), rel=1e-6
    )
    assert out["unweighted"]["accuracy"] == pytest.approx(float((p == y).double().mean()))
    assert out["weighted"]["accuracy"] == pytest.approx(float(((p == y) * w).sum() / w.sum()))
    assert len(out["weighted"]["confusion_matrix"]) == 3
    assert set(M.evaluate(p, y)) == {"unweighted"}
    M.register_metric(
        "error_rate", lambda p, t, w=None, **kw: 1 - F.accuracy(p, t, sample_weight=w, **kw)
    )
    out = M.evaluate(p, y, sample_weight=w, metrics=["error_rate"])
    assert out["weighted"]["error_rate"] == pytest.approx(
        1 - float(F.accuracy(p, y, sample_weight=w))
    )
    with pytest.raises(ValueError, match="unknown metric name 'nope'"):
        M.evaluate(p, y, metrics=["nope"])


def test_report_table_renders():
    from rich.console import Console

    p, y = torch.tensor([0, 1, 2, 2]), torch.tensor([0, 1, 1, 2])
    rep = F.classification_report(
        p, y, sample_weight=torch.tensor([1.0, 2.0, 1.0, 0.0]), target_names=["a", "b", "c"]
    )
    console = Console(record=True, width=120)
    console.print(M.report_table(rep, title="report"))
    text = console.export_text()
    assert "weighted_support" in text and "macro avg" in text


def test_class_average_none_means_per_class_as_in_the_functional_twin():
    # average=None is "none" (per class) in both forms; leaving it out gives the default.
    p, y = torch.tensor([0, 1, 2, 2]), torch.tensor([0, 1, 1, 2])
    fn = F.precision(p, y, task="multiclass", num_classes=3, average=None)
    for avg, want in [(None, fn), ("macro", fn.mean())]:
        m = M.Precision("multiclass", num_classes=3, average=avg)
        m.update(p, y)
        torch.testing.assert_close(m.compute(), want)
    m = M.Precision("multiclass", num_classes=3)
    m.update(p, y)
    torch.testing.assert_close(m.compute(), fn.mean())
    acc = M.Accuracy("multiclass", num_classes=3, average=None)
    acc.update(p, y)
    torch.testing.assert_close(
        acc.compute(), F.accuracy(p, y, task="multiclass", num_classes=3, average=None)
    )
