"""The metrics package's layout contract: the functional metrics never import torchmetrics,
the Metric classes load on first access, ``sample_weight`` is keyword-only (a positional one
warns for one release), and one task resolver decides ``num_classes``/``num_labels``."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

import weightwise.metrics as M
from weightwise.metrics import functional as F
from weightwise.metrics.functional._inputs import resolve_task

SRC = Path(__file__).resolve().parents[2] / "src"


def _modules_after(statement: str) -> set[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    code = f"{statement}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "statement",
    [
        "import weightwise.metrics.functional",
        "from weightwise.metrics import evaluate, report_table, functional",
    ],
)
def test_functional_import_does_not_import_torchmetrics(statement: str) -> None:
    mods = _modules_after(statement)
    assert "weightwise.metrics.functional" in mods
    assert "torchmetrics" not in mods
    classes = {"weightwise.metrics._confusion", "weightwise.metrics._ranking"}
    assert not mods & {*classes, "weightwise.metrics._probabilistic"}


def test_metric_classes_load_on_first_access() -> None:
    mods = _modules_after("import weightwise.metrics as M\nM.AUROC")
    assert "torchmetrics" in mods and "weightwise.metrics._ranking" in mods
    from torchmetrics import Metric

    for name in M.__all__:
        value = getattr(M, name)
        assert value is not None
        if name[0].isupper():
            assert issubclass(value, Metric), name
    assert set(M.__all__) <= set(dir(M))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        M.Nope  # noqa: B018


def test_star_import_gives_every_exported_name() -> None:
    ns: dict[str, object] = {}
    exec("from weightwise.metrics import *", ns)
    assert set(M.__all__) <= set(ns)


@pytest.mark.parametrize("name", F.__all__)
def test_sample_weight_is_keyword_only(name: str) -> None:
    params = inspect.signature(getattr(F, name)).parameters
    assert params["sample_weight"].kind is inspect.Parameter.KEYWORD_ONLY
    assert list(params)[:2] == ["preds", "target"]


def test_positional_sample_weight_warns_and_equals_the_keyword() -> None:
    p, y = torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2])
    w = torch.tensor([1.0, 1.0, 2.0, 0.5])
    with pytest.warns(FutureWarning, match=r"pass sample_weight=\.\.\. by keyword"):
        old = F.accuracy(p, y, w)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = F.accuracy(p, y, sample_weight=w)
    ref = skm.accuracy_score(y.numpy(), p.numpy(), sample_weight=w.numpy())
    assert old.item() == new.item() == pytest.approx(ref, abs=1e-12)
    with pytest.warns(FutureWarning):
        out = M.evaluate(p, y, w, metrics=["accuracy"])
    assert out["weighted"]["accuracy"] == pytest.approx(ref, abs=1e-12)
    with pytest.raises(TypeError, match="4 positional arguments"):
        F.recall(p, y, w, "multiclass")
    with pytest.raises(TypeError, match="sample_weight="):
        F.recall(p, y, w, sample_weight=w)


def test_one_resolver_rule() -> None:
    labels = torch.tensor([0, 3, 1])
    scores = torch.rand(3, 5)
    # multiclass: the scores' class axis, else 1 + the largest label (at least 2)
    assert resolve_task(scores, labels, None, None, None) == ("multiclass", 5, None)
    assert resolve_task(labels, torch.tensor([0, 1, 2]), None, None, None) == (
        "multiclass",
        4,
        None,
    )
    assert (
        resolve_task(torch.tensor([0, 0]), torch.tensor([0, 0]), "multiclass", None, None)[1] == 2
    )
    # an explicit value is kept (and checked by the formatters)
    assert resolve_task(scores, labels, "multiclass", 7, None)[1] == 7
    # multilabel: target.shape[1]
    assert resolve_task(torch.rand(4, 3), torch.ones(4, 3), None, None, None) == (
        "multilabel",
        None,
        3,
    )
    with pytest.raises(ValueError, match="task must be one of"):
        resolve_task(labels, labels, "multi", None, None)


def test_score_metric_given_labels_names_the_score_shape() -> None:
    y = torch.tensor([0, 1, 2, 1])
    with pytest.raises(ValueError, match=r"needs multiclass scores of shape \(4, 3\)"):
        F.auroc(y, y, task="multiclass")
    with pytest.raises(ValueError, match=r"needs multiclass scores of shape \(4, 3\)"):
        F.log_loss(y, y, task="multiclass")


def test_classification_report_is_computed_functionally() -> None:
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 3, 40), rng.integers(0, 3, 40)
    w = rng.random(40)
    ours = F.classification_report(
        torch.as_tensor(p), torch.as_tensor(y), sample_weight=torch.as_tensor(w)
    )
    ref = skm.classification_report(y, p, sample_weight=w, output_dict=True)
    for key in ("0", "1", "2", "macro avg", "weighted avg"):
        for col in ("precision", "recall", "f1-score"):
            assert ours[key][col] == pytest.approx(ref[key][col], abs=1e-12)
        assert ours[key]["weighted_support"] == pytest.approx(ref[key]["support"], abs=1e-12)
    assert ours["accuracy"] == pytest.approx(ref["accuracy"], abs=1e-12)
    stream = M.ClassificationReport("multiclass", num_classes=3)
    stream.update(torch.as_tensor(p[:15]), torch.as_tensor(y[:15]), torch.as_tensor(w[:15]))
    stream.update(torch.as_tensor(p[15:]), torch.as_tensor(y[15:]), torch.as_tensor(w[15:]))
    streamed = stream.compute()
    assert streamed.keys() == ours.keys()
    for key, row in ours.items():
        if isinstance(row, dict):
            for col, v in row.items():
                assert streamed[key][col] == pytest.approx(v, abs=1e-12)
