"""Functional twins of the metrics in :mod:`weightwise.metrics` (same private steps)."""

from __future__ import annotations

from .._classification import classification_report
from .._functional_confusion import (
    accuracy,
    balanced_accuracy,
    cohen_kappa,
    confusion_matrix,
    dice_score,
    f1_score,
    fbeta_score,
    geometric_mean,
    jaccard_index,
    matthews_corrcoef,
    precision,
    recall,
    specificity,
)
from .._probabilistic import brier_score, calibration_error, log_loss
from .._ranking import auroc, average_precision, precision_at_k, recall_at_k

__all__ = [
    "accuracy",
    "auroc",
    "average_precision",
    "balanced_accuracy",
    "brier_score",
    "calibration_error",
    "classification_report",
    "cohen_kappa",
    "confusion_matrix",
    "dice_score",
    "f1_score",
    "fbeta_score",
    "geometric_mean",
    "jaccard_index",
    "log_loss",
    "matthews_corrcoef",
    "precision",
    "precision_at_k",
    "recall",
    "recall_at_k",
    "specificity",
]
