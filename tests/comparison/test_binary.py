"""Binary tasks: positive-class metrics against scikit-learn, threshold-tuned variants chosen
without flattering themselves on validation, the positive class, the built-in demo."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics as skm
from typer.testing import CliRunner

from weightwise.cli._app import app
from weightwise.comparison import compare
from weightwise.comparison._binary import binary_metrics, cross_fitted_predictions
from weightwise.decision import best_threshold

FAST = {"epochs": 3, "n_boot": 200}


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_binary_metrics_match_sklearn(weighted, threshold):
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.3).astype(np.int64)
    p = np.clip(0.3 * y + 0.7 * rng.random(200), 0, 1)
    w = rng.random(200) + 0.2 if weighted else None
    got = binary_metrics(p, y, w, threshold)
    pred = (p > threshold).astype(int)
    want = {
        "accuracy": skm.accuracy_score(y, pred, sample_weight=w),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred, sample_weight=w),
        "precision": skm.precision_score(y, pred, sample_weight=w),
        "recall": skm.recall_score(y, pred, sample_weight=w),
        "f1_score": skm.f1_score(y, pred, sample_weight=w),
        "average_precision": skm.average_precision_score(y, p, sample_weight=w),
        "auroc": skm.roc_auc_score(y, p, sample_weight=w),
    }
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k


def test_cross_fitted_thresholds_are_tuned_on_the_other_half():
    rng = np.random.default_rng(1)
    y = (rng.random(120) < 0.4).astype(np.int64)
    p = np.clip(0.4 * y + 0.6 * rng.random(120), 0, 1)
    pred, (t0, t1) = cross_fitted_predictions(p, y, None, "balanced_accuracy", seed=0)
    # Half k is decided by the threshold of the other half, which best_threshold finds there.
    fold = np.zeros(120, dtype=int)
    r = np.random.default_rng(0)
    for c in (0, 1):
        idx = np.flatnonzero(y == c)
        fold[idx[r.permutation(len(idx))][1::2]] = 1
    assert t0 == best_threshold(p[fold == 1], y[fold == 1], metric="balanced_accuracy")
    assert t1 == best_threshold(p[fold == 0], y[fold == 0], metric="balanced_accuracy")
    assert (pred[fold == 0] == (p[fold == 0] > t0)).all()
    assert (pred[fold == 1] == (p[fold == 1] > t1)).all()


def _split(rng, n, pos=0.2):
    y = (rng.random(n) < pos).astype(np.int64)
    X = rng.normal(size=(n, 5)).astype(np.float32)
    X[:, 0] += 1.2 * y
    return X, y


def test_binary_task_variants_and_positive_class():
    rng = np.random.default_rng(2)
    tr, va, te = _split(rng, 300), _split(rng, 200), _split(rng, 200)
    cmp = compare(tr, va, te, **FAST)
    res = cmp.results
    assert res["task"] == "binary"
    assert res["dataset"]["positive_class"] == "1"  # the rarer class by default
    base = ["none", "balanced", "pos_weight", "focal", "resample", "logit_adjusted"]
    assert set(res["strategies"]) == set(base) | {f"{b}+threshold" for b in base}
    for b in base:
        v = res["strategies"][f"{b}+threshold"]
        # The test threshold is tuned on the whole validation set; the validation scores use
        # the cross-fitted halves' thresholds.
        assert isinstance(v["threshold"], float) and len(v["val_thresholds_cross_fitted"]) == 2
        # Probability metrics are the base model's; decisions differ.
        assert v["test"]["log_loss"] == res["strategies"][b]["test"]["log_loss"]
        assert {"precision", "recall", "f1_score", "average_precision", "auroc"} <= set(v["test"])
    flipped = compare(tr, va, te, positive_class="0", strategies=["none"], **FAST)
    assert flipped.results["dataset"]["positive_class"] == "0"
    assert flipped.results["dataset"]["class_names"] == ["1", "0"]
    # `recall` is the positive class's: index 1 of the per-class recalls, in both runs.
    for r in (res, flipped.results):
        st = r["strategies"]["none"]
        assert st["test"]["recall"] == pytest.approx(st["per_class_recall"][1])


def test_threshold_tuning_does_not_win_by_construction():
    # Scores carry no information about y: every threshold variant must not beat `none`
    # (as in-sample tuning on validation would make it do), over a few data sets.
    wins = 0
    for s in range(6):
        rng = np.random.default_rng(10 + s)
        noise = [(rng.normal(size=(n, 3)).astype(np.float32),
                  (rng.random(n) < 0.3).astype(np.int64)) for n in (200, 150, 150)]  # fmt: skip
        cmp = compare(*noise, strategies=["none"], hidden=(), seed=s, **FAST)
        wins += cmp.recommendation["strategy"] != "none"
    assert wins <= 1


def test_builtin_breast_cancer_from_the_cli(tmp_path):
    out = tmp_path / "bc"
    args = ["compare", "--dataset", "breast_cancer", "--epochs", "3", "--strategies",
            "none,pos_weight", "--positive-class", "malignant", "--out", str(out)]  # fmt: skip
    r = CliRunner().invoke(app, args, prog_name="weightwise")
    assert r.exit_code == 0, r.output
    res = json.loads((out / "results.json").read_text())
    assert res["task"] == "binary" and res["dataset"]["positive_class"] == "malignant"
    assert res["dataset"]["train_counts"] == [214, 127]  # 357 benign, 212 malignant: 60% each
    assert set(res["strategies"]) == {"none", "pos_weight", "none+threshold",
                                      "pos_weight+threshold"}  # fmt: skip
    assert "recommendation:" in r.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategies", "none,pos_weight"], "'pos_weight' is for binary targets"),
        (["--positive-class", "3"], "--positive-class is for binary targets"),
        (["--dataset", "breast_cancer", "--positive-class", "cat"], "'cat' is not a class"),
    ],
)
def test_binary_options_misused(tmp_path, args, message):
    r = CliRunner().invoke(app, ["compare", *args, "--out", str(tmp_path / "o")],
                           prog_name="weightwise")  # fmt: skip
    assert r.exit_code == 2 and message in r.output, r.output
