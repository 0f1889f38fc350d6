"""Weighted streaming metrics (torchmetrics ``Metric`` subclasses) and their helpers.

Every metric takes ``sample_weight`` and equals the weighted statistic scikit-learn computes with
the same argument: unit weights equal no weights, integer weights equal repeated samples, zero
weight equals removal, and scaling every weight leaves ratio metrics unchanged. States are
float64 sums synchronised across DDP ranks by addition, so weight-0 padding from a distributed
evaluation sampler gives the exact single-process value. Functional twins live in
:mod:`weightwise.metrics.functional`; :func:`evaluate` computes several at once.

Undefined metrics, one rule for the package: with no data at all (an empty input, or every
sample weight 0) a metric is undefined and returns NaN (per class for ``average="none"``) with
a ``UserWarning``, as ``log_loss`` does. ``zero_division`` is something else: the value of a
0/0 ratio of one class while there are data (a class never predicted, say). See
``docs/semantics.md``, "Metrics and validation".

Layout: the pure functions are in :mod:`weightwise.metrics.functional` (which never imports
torchmetrics); the ``Metric`` classes in ``_confusion``, ``_ranking`` and ``_probabilistic``
are imported on first access (PEP 562), so ``import weightwise.metrics`` and the functional
metrics do not pay for torchmetrics' import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import functional
from ._evaluate import evaluate, register_metric
from ._report import report_table

if TYPE_CHECKING:
    from ._confusion import (
        Accuracy,
        BalancedAccuracy,
        ClassificationReport,
        CohenKappa,
        ConfusionMatrix,
        DiceScore,
        F1Score,
        FBetaScore,
        GeometricMean,
        JaccardIndex,
        MatthewsCorrCoef,
        Precision,
        Recall,
        Specificity,
    )
    from ._probabilistic import BrierScore, CalibrationError, LogLoss
    from ._ranking import AUROC, AveragePrecision, PrecisionAtK, RecallAtK

__all__ = [
    "AUROC",
    "Accuracy",
    "AveragePrecision",
    "BalancedAccuracy",
    "BrierScore",
    "CalibrationError",
    "ClassificationReport",
    "CohenKappa",
    "ConfusionMatrix",
    "DiceScore",
    "F1Score",
    "FBetaScore",
    "GeometricMean",
    "JaccardIndex",
    "LogLoss",
    "MatthewsCorrCoef",
    "Precision",
    "PrecisionAtK",
    "Recall",
    "RecallAtK",
    "Specificity",
    "evaluate",
    "functional",
    "register_metric",
    "report_table",
]

#: Where each lazily imported ``Metric`` class lives.
_LAZY: dict[str, str] = {
    **dict.fromkeys(
        (
            "Accuracy",
            "BalancedAccuracy",
            "ClassificationReport",
            "CohenKappa",
            "ConfusionMatrix",
            "DiceScore",
            "F1Score",
            "FBetaScore",
            "GeometricMean",
            "JaccardIndex",
            "MatthewsCorrCoef",
            "Precision",
            "Recall",
            "Specificity",
        ),
        "._confusion",
    ),
    **dict.fromkeys(("BrierScore", "CalibrationError", "LogLoss"), "._probabilistic"),
    **dict.fromkeys(("AUROC", "AveragePrecision", "PrecisionAtK", "RecallAtK"), "._ranking"),
}


def __getattr__(name: str) -> Any:
    """Import a ``Metric`` class (and torchmetrics) on first access."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
