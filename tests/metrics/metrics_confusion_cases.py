"""Shared cases for the confusion-matrix metric tests (imported by test_metrics_confusion_*)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from weightwise import metrics as M
from weightwise.metrics import functional as F

# (id, functional twin, stateful class, options) -- every metric, every task and average.
CASES: list[tuple[str, Any, Any, dict[str, Any]]] = []
for task in ("binary", "multiclass", "multilabel"):
    avgs = ["micro"] if task == "binary" else ["micro", "macro", "weighted", "none"]
    for avg in avgs:
        for fname, cls in [
            ("precision", M.Precision),
            ("recall", M.Recall),
            ("f1_score", M.F1Score),
            ("specificity", M.Specificity),
            ("jaccard_index", M.JaccardIndex),
            ("dice_score", M.DiceScore),
            ("accuracy", M.Accuracy),
        ]:
            CASES.append(
                (f"{fname}-{task}-{avg}", getattr(F, fname), cls, {"task": task, "average": avg})
            )
        CASES.append(
            (
                f"fbeta-{task}-{avg}",
                F.fbeta_score,
                M.FBetaScore,
                {"task": task, "average": avg, "beta": 0.5},
            )
        )
    CASES.append((f"mcc-{task}", F.matthews_corrcoef, M.MatthewsCorrCoef, {"task": task}))
    CASES.append((f"confmat-{task}", F.confusion_matrix, M.ConfusionMatrix, {"task": task}))
for task in ("binary", "multiclass"):
    CASES.append((f"balanced-{task}", F.balanced_accuracy, M.BalancedAccuracy, {"task": task}))
    for kw in (None, "linear", "quadratic"):
        CASES.append(
            (f"kappa-{task}-{kw}", F.cohen_kappa, M.CohenKappa, {"task": task, "weights": kw})
        )
    for avg in ("multiclass", "micro", "macro", "weighted", "none"):
        CASES.append(
            (
                f"gmean-{task}-{avg}",
                F.geometric_mean,
                M.GeometricMean,
                {"task": task, "average": avg},
            )
        )
CASES.append(
    (
        "confmat-true",
        F.confusion_matrix,
        M.ConfusionMatrix,
        {"task": "multiclass", "normalize": "true"},
    )
)
CASES.append(
    ("top2", F.accuracy, M.Accuracy, {"task": "multiclass", "top_k": 2, "average": "micro"})
)
CASES.append(
    ("top2-macro", F.accuracy, M.Accuracy, {"task": "multiclass", "top_k": 2, "average": "macro"})
)

NUM_CLASSES = 4
NUM_LABELS = 3
RATIO_FREE = {"confmat-binary", "confmat-multiclass", "confmat-multilabel"}  # sums scale


def with_sizes(opts: dict[str, Any]) -> dict[str, Any]:
    out = dict(opts)
    if opts["task"] == "multiclass":
        out["num_classes"] = NUM_CLASSES
    if opts["task"] == "multilabel":
        out["num_labels"] = NUM_LABELS
    return out


def make_inputs(task: str, n: int, rng: np.random.Generator, *, dense: bool = False):
    """Inputs with ties in the scores (a coarse grid), as torch tensors."""
    extra = (3, 2) if dense else ()
    if task == "binary":
        target = torch.as_tensor(rng.integers(0, 2, (n, *extra)))
        preds = torch.as_tensor(rng.integers(0, 5, (n, *extra)) / 4.0)  # 0.5 ties the threshold
    elif task == "multiclass":
        target = torch.as_tensor(rng.integers(0, NUM_CLASSES, (n, *extra)))
        preds = torch.as_tensor(rng.integers(0, 3, (n, NUM_CLASSES, *extra)) / 2.0)  # argmax ties
    else:
        target = torch.as_tensor(rng.integers(0, 2, (n, NUM_LABELS, *extra)))
        preds = torch.as_tensor(rng.integers(0, 5, (n, NUM_LABELS, *extra)) / 4.0)
    return preds, target


def value(fn: Any, preds: Any, target: Any, weight: Any, opts: dict[str, Any]) -> np.ndarray:
    return np.asarray(fn(preds, target, sample_weight=weight, **with_sizes(opts)), dtype=np.float64)
