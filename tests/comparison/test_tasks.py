"""Multi-label and segmentation comparisons: metrics against scikit-learn, every strategy's
wiring (what reaches the loss and the decision step), the demos from the CLI and the Python API
(the same ``results.json``), ignore_index and per-pixel weight maps, and a user's own model."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import sklearn.metrics as skm
from torch import nn
from typer.testing import CliRunner

import weightwise.decision
import weightwise.losses
from weightwise.cli._app import app
from weightwise.cli._compare_data import load_builtin
from weightwise.comparison import SCHEMA_VERSION, compare
from weightwise.comparison._tasks import (
    MULTILABEL_STRATEGIES,
    SEGMENTATION_STRATEGIES,
    multilabel_stats,
    segmentation_stats,
    stats_metric,
)

FAST = {"epochs": 2, "n_boot": 100}


def _ones(n):
    return np.ones((1, n))


# ------------------------------------------------------------------ metrics vs scikit-learn


def test_multilabel_metrics_equal_scikit_learn():
    rng = np.random.default_rng(0)
    Y = (rng.random((80, 5)) < [0.5, 0.3, 0.1, 0.05, 0.6]).astype(np.int64)
    P = rng.random((80, 5))
    pred = (P > 0.4).astype(np.int64)
    w = rng.random(80) + 0.2
    st = multilabel_stats(P, pred, Y, w, k=2)
    for avg in ("macro", "micro"):
        want = skm.f1_score(Y, pred, average=avg, sample_weight=w, zero_division=0)
        got = stats_metric(f"{avg}_f1", st, _ones(80))[0]
        assert got == pytest.approx(want, abs=1e-12)
    # precision@2 by hand: the true labels among each row's two highest scores.
    top = np.argsort(-P, axis=1, kind="stable")[:, :2]
    hits = np.take_along_axis(Y, top, axis=1).sum(axis=1)
    assert stats_metric("precision_at_k", st, _ones(80))[0] == pytest.approx(
        np.average(hits / 2, weights=w)
    )
    # A resample with multiplicities is the metric of the repeated rows.
    R = rng.integers(0, 3, size=(1, 80)).astype(np.float64)
    rep = np.repeat(np.arange(80), R[0].astype(int))
    want = skm.f1_score(Y[rep], pred[rep], average="macro", sample_weight=w[rep], zero_division=0)
    # scikit-learn counts a label without true or predicted rows as 0; we leave it out.
    present = (Y[rep].sum(0) + pred[rep].sum(0)) > 0
    per = skm.f1_score(Y[rep], pred[rep], average=None, sample_weight=w[rep], zero_division=0)
    assert stats_metric("macro_f1", st, R)[0] == pytest.approx(per[present].mean())
    assert present.all() or want != per[present].mean()


def test_segmentation_metrics_equal_scikit_learn_on_labelled_pixels():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, size=(6, 5, 5))
    y[0, 0, :3] = 255
    pred = np.where(
        rng.random(y.shape) < 0.6, np.where(y == 255, 0, y), rng.integers(0, 4, y.shape)
    )
    wmap = rng.random(y.shape) + 0.1
    st = segmentation_stats(pred, y, wmap, 4, 255)
    keep = y.ravel() != 255
    yt, pt, wt = y.ravel()[keep], pred.ravel()[keep], wmap.ravel()[keep]
    iou = skm.jaccard_score(yt, pt, labels=range(4), average=None, sample_weight=wt)
    assert stats_metric("miou", st, _ones(6))[0] == pytest.approx(iou.mean())
    dice = skm.f1_score(yt, pt, labels=range(4), average=None, sample_weight=wt)
    assert stats_metric("mean_dice", st, _ones(6))[0] == pytest.approx(dice.mean())
    assert stats_metric("pixel_balanced_accuracy", st, _ones(6))[0] == pytest.approx(
        skm.balanced_accuracy_score(yt, pt, sample_weight=wt)
    )
    assert stats_metric("pixel_accuracy", st, _ones(6))[0] == pytest.approx(
        skm.accuracy_score(yt, pt, sample_weight=wt)
    )
    # A per-image weight (N,) weights every pixel of the image.
    wi = rng.random(6) + 0.5
    st_i = segmentation_stats(pred, y, wi, 4, 255)
    wpix = np.broadcast_to(wi[:, None, None], y.shape).ravel()[keep]
    iou_i = skm.jaccard_score(yt, pt, labels=range(4), average=None, sample_weight=wpix)
    assert stats_metric("miou", st_i, _ones(6))[0] == pytest.approx(iou_i.mean())


# -------------------------------------------------------------------------- small data


def _multilabel(rng, n, rates=(0.5, 0.2, 0.08)):
    Y = (rng.random((n, len(rates))) < rates).astype(np.float32)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    X[:, : len(rates)] += 1.5 * Y
    return X, Y


def _segmentation(rng, n, side=6):
    y = np.zeros((n, side, side), np.int64)
    y[:, 1:3, 1:4] = 1
    y[: n // 3, 3:5, 3:5] = 2
    y[:, 0, 0] = 255
    X = (y[:, None] == np.arange(3)[None, :, None, None]).astype(np.float32)
    X = X + rng.normal(scale=0.8, size=X.shape).astype(np.float32)
    return X, y


ML_LOSSES = ("binary_cross_entropy", "binary_focal_loss", "asymmetric_loss")
ML_WIRING = {
    "none": ("binary_cross_entropy", {"pos_weight": None, "neg_weight": None}),
    "pos_weight": ("binary_cross_entropy", {}),
    "focal": ("binary_focal_loss", {"gamma": 2.0, "alpha": 0.25}),
    "asl": ("asymmetric_loss", {"gamma_pos": 0.0, "gamma_neg": 4.0, "clip": 0.05}),
}


def test_every_multilabel_strategy_is_listed():
    assert set(ML_WIRING) == set(MULTILABEL_STRATEGIES)


@pytest.mark.parametrize("strategy", sorted(ML_WIRING))
def test_multilabel_strategy_wiring(strategy, spy_losses):
    calls = spy_losses(ML_LOSSES)
    rng = np.random.default_rng(0)
    train = _multilabel(rng, 100)
    compare(train, _multilabel(rng, 40), strategies=[strategy], batch_size=25, **FAST)
    loss, fixed = ML_WIRING[strategy]
    assert {n for n, _ in calls} == {loss}
    assert len(calls) == 2 * 4  # every training batch goes through that loss
    P = train[1].sum(axis=0)
    for _, args in calls:
        for key, want in fixed.items():
            assert args[key] == want, (key, args[key])
        if strategy == "pos_weight":  # balanced: N/(2P), N/(2(N-P)) per label
            np.testing.assert_allclose(args["pos_weight"].numpy(), 100 / (2 * P), rtol=1e-6)
            np.testing.assert_allclose(args["neg_weight"].numpy(), 100 / (2 * (100 - P)),
                                       rtol=1e-6)  # fmt: skip
        elif "pos_weight" in args:
            assert args["pos_weight"] is None and args["neg_weight"] is None


def test_multilabel_threshold_variant_decides_with_the_tuned_thresholds(monkeypatch):
    tuned: list[tuple[str, int]] = []
    real = weightwise.decision.best_threshold

    def spy(scores, target, *, metric="f1", **kw):
        tuned.append((metric, len(target)))
        return real(scores, target, metric=metric, **kw)

    monkeypatch.setattr(weightwise.decision, "best_threshold", spy)
    rng = np.random.default_rng(3)
    Xt, Yt = _multilabel(rng, 60)
    cmp = compare(_multilabel(rng, 120), _multilabel(rng, 60), (Xt, Yt), strategies=["none"],
                  **FAST)  # fmt: skip
    assert set(cmp.ranking) == {"none", "none+threshold"}
    assert {m for m, _ in tuned} == {"f1"}
    assert {n for _, n in tuned} == {60, 30}  # all of validation, then each cross-fitted half
    rec = cmp.results["strategies"]["none+threshold"]
    t = np.asarray(rec["thresholds"])
    assert t.shape == (3,) and not np.allclose(t, 0.5)
    assert len(rec["val_thresholds_cross_fitted"]) == 2
    # Its test F1 is that of the tuned thresholds, not of 0.5; the base keeps 0.5.
    base, var = cmp.results["strategies"]["none"]["test"], rec["test"]
    assert var["macro_average_precision"] == base["macro_average_precision"]
    assert var["macro_f1"] != base["macro_f1"]


SEG_LOSSES = ("cross_entropy", "focal_loss", "dice_loss", "focal_tversky_loss",
              "lovasz_softmax_loss")  # fmt: skip
SEG_WIRING: dict[str, tuple[set[str], dict[str, Any]]] = {
    "none": ({"cross_entropy"}, {"class_weight": None}),
    "median_frequency": ({"cross_entropy"}, {}),
    "focal": ({"focal_loss"}, {"gamma": 2.0, "class_weight": None}),
    "dice": ({"dice_loss"}, {"class_weight": None}),
    "dice_ce": ({"dice_loss", "cross_entropy"}, {"class_weight": None}),
    "focal_tversky": ({"focal_tversky_loss"}, {"alpha": 0.3, "beta": 0.7, "gamma": 4 / 3}),
    "lovasz": ({"lovasz_softmax_loss"}, {}),
}


def test_every_segmentation_strategy_is_listed():
    assert set(SEG_WIRING) == set(SEGMENTATION_STRATEGIES)


@pytest.mark.parametrize("strategy", sorted(SEG_WIRING))
def test_segmentation_strategy_wiring(strategy, spy_losses):
    calls = spy_losses(SEG_LOSSES)
    rng = np.random.default_rng(0)
    X, y = _segmentation(rng, 12)
    wmap = (rng.random(y.shape) + 0.5).astype(np.float32)
    compare((X, y, wmap), _segmentation(rng, 6), strategies=[strategy], batch_size=6,
            ignore_index=255, **FAST)  # fmt: skip
    used, fixed = SEG_WIRING[strategy]
    assert {n for n, _ in calls} == used
    assert len(calls) == 2 * 2 * len(used)
    seen_maps = []
    for _, args in calls:
        assert args["ignore_index"] == 255
        for key, want in fixed.items():
            assert args[key] == pytest.approx(want) if want is not None else args[key] is None
        s = args["sample_weight"]
        assert s is not None and tuple(s.shape) == (6, 6, 6)  # the per-pixel map, per batch
        seen_maps.append(s.numpy())
    # The maps are the user's, batch by batch (each image once per epoch).
    per_epoch = np.concatenate(seen_maps[: 2 * len(used) : len(used)])
    np.testing.assert_allclose(np.sort(per_epoch.ravel()), np.sort(wmap.ravel()))
    if strategy == "median_frequency":
        # Eigen & Fergus: freq_c = pixels of c / pixels of the images holding c; w = med/freq,
        # then scaled so that Σ_c n_c·w_c = N (labelled pixels).
        valid = y != 255
        n_c = np.array([(y == c).sum() for c in range(3)], dtype=float)
        img_tot = valid.reshape(len(y), -1).sum(1)
        has = np.stack([(y == c).reshape(len(y), -1).any(1) for c in range(3)], axis=1)
        freq = n_c / np.array([img_tot[has[:, c]].sum() for c in range(3)])
        w = np.median(freq) / freq
        w = w * n_c.sum() / (n_c * w).sum()
        for _, args in calls:
            np.testing.assert_allclose(args["class_weight"].numpy(), w, rtol=1e-5)


# ------------------------------------------------------------------------- end to end


def _cli(args):
    return CliRunner().invoke(app, ["compare", *args], prog_name="weightwise")


@pytest.mark.parametrize(
    ("dataset", "strategies", "extra"),
    [
        ("digits_multilabel", ["none", "pos_weight"], {}),
        ("digits_seg", ["none", "dice"], {"batch_size": 16}),
    ],
)
def test_demo_cli_and_api_write_the_same_results_json(tmp_path, dataset, strategies, extra):
    out = tmp_path / "cli"
    args = ["--dataset", dataset, "--epochs", "1", "--strategies", ",".join(strategies)]
    if extra:
        args += ["--batch-size", str(extra["batch_size"])]
    r = _cli([*args, "--out", str(out)])
    assert r.exit_code == 0, r.output
    d = load_builtin(dataset, imbalance_ratio=None, seed=0)
    cmp = compare(
        (d.X_train, d.Y_train), (d.X_val, d.Y_val), (d.X_test, d.Y_test),
        strategies=strategies, epochs=1, class_names=d.names, dataset_info=d.info,
        ignore_index=d.ignore_index, **extra,
    )  # fmt: skip
    cmp.to_json(tmp_path / "api.json")
    assert (tmp_path / "api.json").read_text() == (out / "results.json").read_text()
    res = json.loads((out / "results.json").read_text())
    assert res["schema_version"] == SCHEMA_VERSION == 3
    assert res["selection"]["split"] == "val"
    html = (out / "report.html").read_text()
    assert html.index("Recommendation:") < html.index("Ranking (by validation")
    if dataset == "digits_multilabel":
        assert res["task"] == "multilabel" and res["selection"]["metric"] == "macro_f1"
        assert set(res["ranking"]) == {"none", "pos_weight", "none+threshold",
                                       "pos_weight+threshold"}  # fmt: skip
        assert {"macro_f1", "micro_f1", "macro_average_precision", "precision_at_k"} <= set(
            res["strategies"]["none"]["test"]
        )
        assert "Precision-recall curves" in html and (out / "pr_curves.png").exists()
    else:
        assert res["task"] == "segmentation" and res["selection"]["metric"] == "miou"
        assert res["dataset"]["ignore_index"] == 255 and len(res["dataset"]["class_names"]) == 6
        assert len(res["strategies"]["none"]["per_class"]["iou"]) == 6
        assert len(res["examples"]["mask"]) == 4 and (out / "overlays.png").exists()
        assert "Test images, true masks and predictions" in html


def test_segmentation_with_a_users_cnn():
    rng = np.random.default_rng(5)
    built: list[nn.Module] = []

    def factory() -> nn.Module:
        built.append(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                                   nn.Conv2d(8, 3, 3, padding=1)))  # fmt: skip
        return built[-1]

    cmp = compare(_segmentation(rng, 30), _segmentation(rng, 12), _segmentation(rng, 12),
                  model=factory, ignore_index=255, strategies="none,median_frequency",
                  epochs=10, batch_size=10, lr=0.03, n_boot=100)  # fmt: skip
    assert len(built) == 3 and cmp.results["config"]["model"] == "custom"
    # It learnt: the classes are written in the input channels (chance mIoU is about 0.2).
    assert min(s["test"]["miou"] for s in cmp.results["strategies"].values()) > 0.5


def test_multilabel_from_a_file_two_ways_agree(tmp_path):
    rng = np.random.default_rng(4)
    X, Y = _multilabel(rng, 160)
    import pandas as pd

    feats = {f"x{i}": X[:, i] for i in range(X.shape[1])}
    cols = pd.DataFrame({**feats, **{k: Y[:, j].astype(int) for j, k in enumerate("abc")}})
    cols.to_csv(tmp_path / "cols.csv", index=False)
    tags = ["|".join(k for j, k in enumerate("abc") if Y[i, j]) for i in range(len(Y))]
    pd.DataFrame({**feats, "tags": tags}).to_csv(tmp_path / "tags.csv", index=False)
    common = ["--epochs", "1", "--strategies", "none,asl"]
    r1 = _cli(["--data", str(tmp_path / "cols.csv"), "--target", "a,b,c", *common,
               "--out", str(tmp_path / "o1")])  # fmt: skip
    r2 = _cli(["--data", str(tmp_path / "tags.csv"), "--target", "tags", "--label-sep", "|",
               *common, "--out", str(tmp_path / "o2")])  # fmt: skip
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    a, b = (json.loads((tmp_path / o / "results.json").read_text()) for o in ("o1", "o2"))
    assert a["task"] == b["task"] == "multilabel"
    assert a["dataset"]["class_names"] == b["dataset"]["class_names"] == ["a", "b", "c"]
    assert a["strategies"] == b["strategies"] and a["ranking"] == b["ranking"]


@pytest.mark.parametrize(
    ("table", "args", "message"),
    [
        ({"x": [1, 2, 3, 4], "a": [0, 1, 2, 1], "b": [1, 0, 1, 0]}, ["--target", "a,b"],
         "label column 'a' of .* must hold 0/1; it holds 2 in row 2 \\(line 4"),
        ({"x": [1, 2, 3, 4], "t": ["a|b", "a", "", "b"]}, ["--target", "t,x", "--label-sep", "|"],
         "--label-sep reads one target column"),
        ({"x": range(20), "a": [0] * 20, "b": [1, 0] * 10}, ["--target", "a,b"],
         "label 'a' has no positive row in the training split"),
        ({"x": [1, 2, 3, 4], "a": [0, 1, 1, 1], "b": [1, 0, 1, 0]},
         ["--target", "a,b", "--positive-class", "a"], "--positive-class is not available"),
    ],
)  # fmt: skip
def test_multilabel_file_errors_exit_2_with_one_line(tmp_path, table, args, message):
    import re

    import pandas as pd

    pd.DataFrame(table).to_csv(tmp_path / "t.csv", index=False)
    r = _cli(["--data", str(tmp_path / "t.csv"), *args, "--out", str(tmp_path / "o")])
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.output.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.output
    assert re.search(message, lines[0]), lines[0]
    assert not (tmp_path / "o").exists()  # refused before training


def test_task_errors_name_the_argument():
    rng = np.random.default_rng(0)
    tr, va = _multilabel(rng, 30), _multilabel(rng, 20)
    with pytest.raises(ValueError, match="unknown multilabel strategy 'balanced'"):
        compare(tr, va, strategies=["balanced"], **FAST)
    with pytest.raises(ValueError, match="rank_by must be one of macro_f1"):
        compare(tr, va, rank_by="balanced_accuracy", **FAST)
    with pytest.raises(ValueError, match="ignore_index is for segmentation"):
        compare(tr, va, ignore_index=255, **FAST)
    X, y = _segmentation(rng, 6)
    Xv, yv = _segmentation(rng, 4)
    yv[0, 2, 2] = 7
    with pytest.raises(ValueError, match="val masks hold class 7, outside"):
        compare((X, y), (Xv, yv), ignore_index=255, **FAST)
    with pytest.raises(ValueError, match=r"sample weights must be \(N,\) or a per-pixel map"):
        compare((X, y, np.ones((6, 3))), (X, y), ignore_index=255, **FAST)


def test_pr_curve_is_scikit_learns_interpolated_and_binary_runs_record_it():
    from weightwise.comparison._tasks import _pr_curve

    rng = np.random.default_rng(7)
    Y = (rng.random((60, 3)) < 0.3).astype(np.int64)
    P = np.clip(0.3 * Y + rng.random(Y.shape), 0, 1)
    w = rng.random(60) + 0.5
    curve = _pr_curve(P, Y, w)
    prec, rec, _ = skm.precision_recall_curve(Y.ravel(), P.ravel(), sample_weight=np.repeat(w, 3))
    for level, got in zip(curve["recall"], curve["precision"], strict=True):
        assert got == pytest.approx(prec[rec >= level - 1e-12].max())
    rng = np.random.default_rng(0)

    def split(n):
        y = (rng.random(n) < 0.3).astype(np.int64)
        return rng.normal(size=(n, 3)).astype(np.float32) + y[:, None], y

    cmp = compare(split(80), split(40), split(40), strategies=["none"], **FAST)
    assert len(cmp.results["strategies"]["none"]["pr_curve"]["recall"]) == 101
