"""Binary tasks: positive-class metrics and the threshold-tuned variant of each strategy.

Models are 2-logit classifiers trained with the softmax losses; ``p = softmax(z)[:, 1]`` is the
positive-class probability (2-class softmax cross-entropy is binary cross-entropy on
``z_1 − z_0``, so class weights ``(1, n_neg/n_pos)`` are BCE's ``pos_weight``). A variant
``"<strategy>+threshold"`` predicts positive when ``p > t``, ``t`` tuned on validation by
:func:`weightwise.decision.best_threshold` for the selection metric. Its validation scores are
*cross-fitted* (the threshold applied to each half of the validation set is tuned on the other
half), so tuning does not flatter it on the split that chooses; its test scores use the
threshold tuned on the whole validation set. See docs/compare.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["THRESHOLD_METRICS", "binary_metrics", "cross_fitted_predictions", "tune_threshold"]

#: Selection metric -> ``best_threshold`` metric; other selection metrics get no variants.
THRESHOLD_METRICS = {"balanced_accuracy": "balanced_accuracy", "accuracy": "accuracy",
                     "f1_score": "f1"}  # fmt: skip
#: Decision-dependent metrics (recomputed at a threshold); the others depend on ``p`` only.
DECISION_METRICS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1_score",
                    "rare_recall", "worst_class_recall")  # fmt: skip


def binary_metrics(
    p1: np.ndarray, y: np.ndarray, w: np.ndarray | None, threshold: float
) -> dict[str, float]:
    """Positive-class metrics of the decision ``p1 > threshold`` (and ranking metrics of ``p1``).

    ``precision``, ``recall``, ``f1_score`` are the positive class's; ``rare_recall`` is the
    recall of the rarer class in ``y``, ``worst_class_recall`` ``min(recall, specificity)``.
    """
    from weightwise.metrics import functional as M

    pt, yt = torch.as_tensor(p1, dtype=torch.float64), torch.as_tensor(y)
    wt = None if w is None else torch.as_tensor(w, dtype=torch.float64)
    kw: dict[str, Any] = {"task": "binary", "threshold": float(threshold)}
    recall = float(M.recall(pt, yt, sample_weight=wt, **kw))
    specificity = float(M.specificity(pt, yt, sample_weight=wt, **kw))
    rare = int(np.argmin(np.bincount(y, minlength=2)))
    out = {
        "accuracy": float(M.accuracy(pt, yt, sample_weight=wt, **kw)),
        "balanced_accuracy": 0.5 * (recall + specificity),
        "precision": float(M.precision(pt, yt, sample_weight=wt, **kw)),
        "recall": recall,
        "f1_score": float(M.f1_score(pt, yt, sample_weight=wt, **kw)),
        "rare_recall": recall if rare == 1 else specificity,
        "worst_class_recall": min(recall, specificity),
    }
    if len(np.unique(y)) == 2:
        out["average_precision"] = float(
            M.average_precision(pt, yt, sample_weight=wt, task="binary")
        )
        out["auroc"] = float(M.auroc(pt, yt, sample_weight=wt, task="binary"))
    else:
        out["average_precision"] = out["auroc"] = float("nan")
    return out


def tune_threshold(p1: np.ndarray, y: np.ndarray, w: np.ndarray | None, metric: str) -> float:
    """``best_threshold`` of ``p1`` for the selection ``metric`` (positive when ``p1 > t``)."""
    from weightwise.decision import best_threshold

    return float(best_threshold(p1, y, metric=THRESHOLD_METRICS[metric], sample_weight=w))


def cross_fitted_predictions(
    p1: np.ndarray, y: np.ndarray, w: np.ndarray | None, metric: str, *, seed: int
) -> tuple[np.ndarray, list[float]]:
    """Validation decisions with 2-fold cross-fitted thresholds, and the two thresholds.

    The validation rows are split in two halves stratified by class (seeded); each half is
    decided with the threshold tuned on the other.
    """
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(y), dtype=np.int64)
    for c in (0, 1):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        fold[idx[1::2]] = 1
    pred = np.zeros(len(y), dtype=np.int64)
    thresholds = []
    for k in (0, 1):
        tune, apply = fold != k, fold == k
        if len(np.unique(y[tune])) < 2:  # a half without both classes: tune on all rows
            tune = np.ones(len(y), dtype=bool)
        t = tune_threshold(p1[tune], y[tune], None if w is None else w[tune], metric)
        thresholds.append(t)
        pred[apply] = p1[apply] > t
    return pred, thresholds
