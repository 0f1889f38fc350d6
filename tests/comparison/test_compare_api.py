"""`weightwise.compare`: the Python API, its agreement with the CLI, selection on validation,
the coverage of its intervals, and a user's own model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import weightwise
from weightwise.cli._app import app
from weightwise.cli._compare_data import load_builtin
from weightwise.comparison import Comparison, compare

FAST = {"epochs": 2, "n_boot": 300}


def _blobs(rng, counts, shift=0.9):
    y = np.repeat(np.arange(len(counts)), counts)
    X = rng.normal(size=(len(y), 4)).astype(np.float32)
    X[:, 0] += shift * y
    X[:, 1] -= shift * (y == 1)
    return X, y


def test_top_level_names_are_lazy_and_the_same_objects():
    assert weightwise.compare is compare
    assert weightwise.Comparison is Comparison


def test_api_and_cli_write_the_same_results_json(tmp_path):
    args = ["--epochs", "2", "--seed", "1", "--strategies", "none,balanced,resample,ldam_drw"]
    out = tmp_path / "cli"
    r = CliRunner().invoke(app, ["compare", *args, "--out", str(out)], prog_name="weightwise")
    assert r.exit_code == 0, r.output
    d = load_builtin("digits_lt", imbalance_ratio=None, seed=1)
    cmp = compare(
        (d.X_train, d.y_train),
        (d.X_val, d.y_val),
        (d.X_test, d.y_test),
        strategies=["none", "balanced", "resample", "ldam_drw"],
        epochs=2,
        seed=1,
        class_names=d.class_names,
        dataset_info=d.info,
    )
    cmp.to_json(tmp_path / "api.json")
    assert (tmp_path / "api.json").read_text() == (out / "results.json").read_text()


def test_outputs_table_and_report(tmp_path):
    rng = np.random.default_rng(0)
    cmp = compare(_blobs(rng, [60, 20]), _blobs(rng, [30, 30]), _blobs(rng, [30, 30]),
                  strategies="none,balanced", **FAST)  # fmt: skip
    table = cmp.table()
    assert list(table.index) == cmp.ranking
    assert {"val_balanced_accuracy", "val_diff_vs_none", "test_balanced_accuracy",
            "test_diff_vs_none"} <= set(table.columns)  # fmt: skip
    assert table.loc["none", "val_diff_vs_none"] == 0.0
    html = cmp.report(tmp_path / "r.html").read_text()
    assert "Recommendation:" in html and "data:image/png;base64," in html
    paths = cmp.save(tmp_path / "out")
    assert json.loads(paths["results"].read_text()) == json.loads(cmp.to_json())


def test_ranking_follows_validation_not_test():
    # Train and test share a 12:4:1 prior, validation is balanced. By accuracy, plain training
    # is best on the imbalanced test, re-balancing is best on the balanced validation set.
    rng = np.random.default_rng(3)
    train, val, test = (_blobs(rng, c, shift=0.7) for c in ([480, 160, 40], [150] * 3,
                                                             [480, 160, 40]))  # fmt: skip
    cmp = compare(train, val, test, strategies=["none", "balanced", "logit_adjusted"],
                  rank_by="accuracy", epochs=5, n_boot=300, hidden=())  # fmt: skip
    st = cmp.results["strategies"]
    by_val = sorted(st, key=lambda n: -st[n]["val"]["accuracy"])
    by_test = sorted(st, key=lambda n: -st[n]["test"]["accuracy"])
    assert by_val != by_test  # the construction works: the two splits disagree
    assert cmp.ranking == by_val
    assert cmp.results["selection"] == {"metric": "accuracy", "split": "val", "epoch_rule": "last"}
    assert all(s["val"]["epoch"] == 5 for s in st.values())


def test_intervals_cover_when_every_strategy_is_equivalent():
    # Balanced classes: every class weight is 1 and the samplers draw classes uniformly, so no
    # strategy is better than `none` by construction. Over 20 data sets and seeds the
    # recommendation may be something else in at most 2 (the 5% family-wise level).
    equivalent = ["none", "balanced", "effective", "logit_adjusted", "posthoc_adjusted",
                  "resample", "sqrt_resample"]  # fmt: skip
    wrong = 0
    for s in range(20):
        rng = np.random.default_rng(100 + s)
        cmp = compare(_blobs(rng, [50] * 3), _blobs(rng, [50] * 3), _blobs(rng, [30] * 3),
                      strategies=equivalent, hidden=(), epochs=3, batch_size=32, seed=s,
                      n_boot=500)  # fmt: skip
        wrong += cmp.recommendation["strategy"] != "none"
        rec = cmp.recommendation
        if rec["strategy"] == "none":
            assert rec["val"] == {"diff": 0.0, "ci95": [0.0, 0.0], "significant": False}
            assert "No strategy beat plain training" in rec["verdict"]
    assert wrong <= 2


def test_digits_lt_recommendation_beats_none_with_interval_above_zero():
    d = load_builtin("digits_lt", imbalance_ratio=None, seed=0)
    cmp = compare((d.X_train, d.y_train), (d.X_val, d.y_val), (d.X_test, d.y_test),
                  strategies=["none", "balanced", "logit_adjusted", "resample"], epochs=10,
                  n_boot=1000)  # fmt: skip
    rec = cmp.recommendation
    assert rec["strategy"] != "none"
    assert rec["val"]["significant"] and rec["val"]["ci95"][0] > 0
    assert rec["vs_none"]["ci95"][0] > 0  # the test set confirms it
    assert rec["strategy"] == cmp.ranking[0]


def test_seeds_repeat_init_and_batches_and_report_spread():
    rng = np.random.default_rng(1)
    splits = [_blobs(rng, c) for c in ([80, 20], [40, 40], [40, 40])]
    one = compare(*splits, strategies=["none", "resample"], seeds=1, seed=4, **FAST)
    three = compare(*splits, strategies=["none", "resample"], seeds=3, seed=4, **FAST)
    per = three.results["strategies"]["resample"]["per_seed"]
    assert per["seeds"] == [4, 5, 6]
    # The first repeat is the 1-seed run; the mean is the mean of the repeats.
    assert per["val"][0] == one.results["strategies"]["resample"]["val"]["balanced_accuracy"]
    assert three.results["strategies"]["resample"]["val"]["balanced_accuracy"] == pytest.approx(
        np.mean(per["val"])
    )
    assert "val_std" in three.results["strategies"]["none"]
    assert three.results["config"]["seeds"] == 3


class _Images(torch.utils.data.Dataset):
    """8×8 digit images as (1, 8, 8) tensors with their labels (and weights)."""

    def __init__(self, X, y, w=None):
        self.X = torch.as_tensor(X).reshape(-1, 1, 8, 8)
        self.y = torch.as_tensor(y)
        self.w = w

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        if self.w is None:
            return self.X[i], self.y[i]
        return self.X[i], self.y[i], float(self.w[i])


def _small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(8 * 4 * 4, 10),
    )  # fmt: skip


def test_a_small_cnn_on_image_tensors():
    d = load_builtin("digits_lt", imbalance_ratio=5, seed=0)
    built: list[nn.Module] = []

    def factory() -> nn.Module:
        built.append(_small_cnn())
        return built[-1]

    w = np.random.default_rng(0).random(len(d.y_train)) + 0.5
    cmp = compare(_Images(d.X_train, d.y_train, w), _Images(d.X_val, d.y_val),
                  _Images(d.X_test, d.y_test), model=factory,
                  strategies=["none", "balanced"], epochs=5, n_boot=200,
                  optimizer=lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9))  # fmt: skip
    res = cmp.results
    assert res["config"]["model"] == "custom" and res["config"]["optimizer"] == "custom"
    assert res["dataset"]["sample_weights"] is True
    assert len(built) == 3  # the initial model, then one fresh model per strategy
    # It learnt (chance is 0.1): the images went through the user's convolutions.
    assert min(s["test"]["accuracy"] for s in res["strategies"].values()) > 0.5
    assert set(res["ranking"]) == {"none", "balanced"}


def test_every_strategy_starts_from_the_same_initial_state(monkeypatch):
    from weightwise.comparison import _engine

    seen: list[dict] = []
    real = _engine.run_strategy

    def spy(name, data, cfg, init_state, **kw):
        seen.append({k: v.clone() for k, v in init_state.items()})
        return real(name, data, cfg, init_state, **kw)

    monkeypatch.setattr(_engine, "run_strategy", spy)
    rng = np.random.default_rng(0)
    compare(_blobs(rng, [40, 20]), _blobs(rng, [20, 20]), _blobs(rng, [20, 20]),
            strategies=["none", "focal", "resample"], **FAST)  # fmt: skip
    assert len(seen) == 3
    for other in seen[1:]:
        assert all(torch.equal(other[k], seen[0][k]) for k in seen[0])


@pytest.mark.parametrize(
    ("y", "task", "message"),
    [
        (np.random.default_rng(0).normal(size=40), None, "regression"),
        (np.eye(4)[np.arange(40) % 4] * 2, None, "read as multi-label and must hold 0/1"),
        (np.zeros((40, 3, 3), dtype=np.int64), None, "must be images"),
        (np.zeros((40, 2, 3, 3), dtype=np.int64), None, r"targets of shape \(40, 2, 3, 3\)"),
        (np.eye(4)[np.arange(40) % 4], "multiclass", "does not fit targets of shape"),
        (np.arange(40) % 3, "segmentation", "does not fit targets of shape"),
        (np.arange(40) % 3, "binary", "needs a target with exactly 2 classes"),
        (np.arange(40) % 2, "ranking", "task must be one of"),
    ],
)
def test_unsupported_targets_are_clear_errors(y, task, message):
    X = np.zeros((40, 3), np.float32)
    with pytest.raises(ValueError, match=message):
        compare((X, y), (X, y), task=task, **FAST)


def test_without_a_test_set_the_validation_decides_and_nothing_is_reported_on_test(tmp_path):
    rng = np.random.default_rng(2)
    cmp = compare(_blobs(rng, [60, 15]), _blobs(rng, [30, 30]), strategies="none,balanced",
                  **FAST)  # fmt: skip
    assert cmp.recommendation["vs_none"] is None
    assert all("test" not in s for s in cmp.results["strategies"].values())
    assert "Recommendation:" in cmp.report(tmp_path / "r.html").read_text()


def test_bad_inputs_name_the_argument():
    X = np.zeros((10, 2), np.float32)
    y = np.arange(10) % 2
    with pytest.raises(ValueError, match=r"sample weights must be finite.*-1.0 at index 3"):
        w = np.ones(10)
        w[3] = -1
        compare((X, y, w), (X, y), **FAST)
    with pytest.raises(ValueError, match="val has label 7, absent from train"):
        compare((X, y), (X, np.full(10, 7)), **FAST)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        compare((X, y), (X, y), epochs=0)
