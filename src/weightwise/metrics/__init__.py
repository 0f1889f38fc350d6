"""Weighted streaming metrics (torchmetrics ``Metric`` subclasses) and their helpers.

Every metric takes ``sample_weight`` and equals the weighted statistic scikit-learn computes with
the same argument: unit weights equal no weights, integer weights equal repeated samples, zero
weight equals removal, and scaling every weight leaves ratio metrics unchanged. States are
float64 sums synchronised across DDP ranks by addition, so weight-0 padding from a distributed
evaluation sampler gives the exact single-process value. Functional twins live in
:mod:`weightwise.metrics.functional`; :func:`evaluate` computes several at once.
"""

from __future__ import annotations

from . import functional
from ._classification import (
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
    report_table,
)
from ._evaluate import evaluate, register_metric
from ._ranking_metrics import (
    AUROC,
    AveragePrecision,
    BrierScore,
    CalibrationError,
    LogLoss,
    PrecisionAtK,
    RecallAtK,
)

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
