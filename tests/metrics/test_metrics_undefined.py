"""The package rule for undefined metrics: no data (an empty input, or every sample weight 0)
gives NaN with a ``UserWarning`` (as ``log_loss`` does); ``zero_division`` stays the value of a
0/0 ratio of one class among data."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

import weightwise.metrics as MC
import weightwise.metrics.functional as MF

STATS_METRICS = [
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1_score",
    "fbeta_score",
    "specificity",
    "jaccard_index",
    "dice_score",
    "matthews_corrcoef",
    "cohen_kappa",
    "geometric_mean",
    "log_loss",
    "brier_score",
]
CLASSES = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "BalancedAccuracy",
    "f1_score": "F1Score",
    "matthews_corrcoef": "MatthewsCorrCoef",
    "log_loss": "LogLoss",
}


def _no_data(kind: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    if kind == "empty":
        return torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), None
    probs = torch.softmax(torch.randn(4, 3, generator=torch.Generator().manual_seed(0)), 1)
    return probs, torch.tensor([0, 1, 2, 0]), torch.zeros(4)


def _options(name: str) -> dict:
    return {"beta": 2.0} if name == "fbeta_score" else {}


@pytest.mark.parametrize("kind", ["empty", "zero weights"])
@pytest.mark.parametrize("name", STATS_METRICS)
def test_no_data_is_nan_with_a_warning(name: str, kind: str) -> None:
    p, y, w = _no_data(kind)
    with pytest.warns(UserWarning, match="undefined"):
        got = getattr(MF, name)(
            p, y, sample_weight=w, task="multiclass", num_classes=3, **_options(name)
        )
    assert math.isnan(float(got))


@pytest.mark.parametrize("name", ["precision", "recall", "f1_score", "accuracy"])
def test_no_data_per_class_is_nan_everywhere(name: str) -> None:
    p, y, w = _no_data("zero weights")
    with pytest.warns(UserWarning, match="undefined"):
        got = getattr(MF, name)(
            p, y, sample_weight=w, task="multiclass", num_classes=3, average="none"
        )
    assert got.shape == (3,) and bool(torch.isnan(got).all())


@pytest.mark.parametrize("kind", ["empty", "zero weights"])
@pytest.mark.parametrize("name", sorted(CLASSES))
def test_the_stateful_classes_follow_the_rule(name: str, kind: str) -> None:
    p, y, w = _no_data(kind)
    metric = getattr(MC, CLASSES[name])("multiclass", num_classes=3)
    metric.update(p, y, sample_weight=w)
    with pytest.warns(UserWarning, match="undefined"):
        assert math.isnan(float(metric.compute()))


def test_binary_and_multilabel_tasks_too() -> None:
    with pytest.warns(UserWarning, match="accuracy is undefined"):
        assert math.isnan(float(MF.accuracy(torch.zeros(0), torch.zeros(0), task="binary")))
    with pytest.warns(UserWarning, match="the F-score is undefined"):
        got = MF.f1_score(
            torch.rand(3, 2), torch.ones(3, 2), task="multilabel", sample_weight=torch.zeros(3)
        )
    assert math.isnan(float(got))


def test_data_with_a_zero_over_zero_class_is_not_undefined() -> None:
    # Class 2 is never predicted nor true: its ratios are 0/0 -> zero_division, no warning.
    p, y = torch.tensor([0, 1, 1]), torch.tensor([0, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = MF.accuracy(p, y, task="multiclass", num_classes=3)
    assert float(got) == 1.0
