"""Many classes stay bounded: per-class arrays summarised, no (C, C) matrix, the bootstrap kept
on O(N) statistics instead of (N, C) probabilities, with the same numbers."""

from __future__ import annotations

import json

import numpy as np

import weightwise.comparison._engine as engine
from weightwise.comparison import compare

C = 150


def _split(rng, n):
    y = np.concatenate([np.arange(C), rng.integers(0, C, n - C)])
    X = rng.normal(size=(n, 6)).astype(np.float32)
    X[:, 0] += y / C
    return X, y


def _run(**kw):
    rng = np.random.default_rng(0)
    return compare(_split(rng, 3 * C), _split(rng, 2 * C), _split(rng, 2 * C), epochs=1,
                   strategies=["none", "balanced"], hidden=(8,), n_boot=200, **kw)  # fmt: skip


def test_results_json_stays_small_and_per_class_arrays_are_summarised(tmp_path):
    cmp = _run()
    text = cmp.to_json(tmp_path / "results.json")
    # C² floats would be 22,500 per strategy, C per-class values a few KB: neither is written.
    assert len(text) < 60_000, len(text)
    for st in cmp.results["strategies"].values():
        assert st["confusion_matrix"] is None
        assert st["per_class_recall"]["summarised"].startswith(f"{C} classes")
        assert len(st["per_class_recall"]["lowest"]) == 10
    assert json.loads(text)["dataset"]["num_classes"] == C


def test_compact_statistics_give_the_same_numbers(monkeypatch):
    compact = _run().results
    monkeypatch.setattr(engine, "MAX_PER_CLASS", 10_000)  # keep every (N, C) probability
    full = _run().results
    for name in ("none", "balanced"):
        assert compact["strategies"][name]["vs_none"] == full["strategies"][name]["vs_none"]
    assert compact["recommendation"] == full["recommendation"]


def test_chunked_training_loss_equals_one_pass(monkeypatch):
    one = _run().results
    monkeypatch.setattr(engine, "EVAL_CHUNK", 7)
    chunked = _run().results
    for name in ("none", "balanced"):
        a = one["strategies"][name]["history"][0]["train_ce_unweighted"]
        b = chunked["strategies"][name]["history"][0]["train_ce_unweighted"]
        assert abs(a - b) < 1e-5 * abs(a)
