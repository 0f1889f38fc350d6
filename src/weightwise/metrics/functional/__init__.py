"""Functional weighted metrics: one call on a whole evaluation set (no torchmetrics import).

Every function takes ``preds``, ``target`` and, by keyword, ``sample_weight`` (scikit-learn's
convention; a positional ``sample_weight`` still works for one release with a
``FutureWarning``). The stateful metrics of :mod:`weightwise.metrics` call the same private
steps, so a function and its twin agree exactly.

Layout: :mod:`._inputs` (formatting, option checks, the task resolver), :mod:`._stat_scores`
(weighted confusion statistics), :mod:`._curves` (ROC / precision-recall curves),
:mod:`._confusion`, :mod:`._ranking` and :mod:`._probabilistic` (the public functions).
"""

from __future__ import annotations

from ._confusion import (
    accuracy,
    balanced_accuracy,
    classification_report,
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
from ._probabilistic import brier_score, calibration_error, log_loss
from ._ranking import auroc, average_precision, precision_at_k, recall_at_k

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
