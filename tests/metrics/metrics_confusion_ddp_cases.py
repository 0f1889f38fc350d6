"""Cases shared by the DDP metric test and its worker."""

from __future__ import annotations

import torch

from weightwise import metrics as M

N = 23  # odd: the second rank's share is padded

DDP_CASES = [
    ("accuracy", M.Accuracy, {"task": "multiclass", "num_classes": 4}),
    ("top2", M.Accuracy, {"task": "multiclass", "num_classes": 4, "top_k": 2}),
    ("f1_macro", M.F1Score, {"task": "multiclass", "num_classes": 4}),
    ("jaccard_w", M.JaccardIndex, {"task": "multiclass", "num_classes": 4, "average": "weighted"}),
    ("confmat", M.ConfusionMatrix, {"task": "multiclass", "num_classes": 4}),
    ("kappa", M.CohenKappa, {"task": "multiclass", "num_classes": 4, "weights": "quadratic"}),
    ("mcc", M.MatthewsCorrCoef, {"task": "multiclass", "num_classes": 4}),
    ("balanced", M.BalancedAccuracy, {"task": "multiclass", "num_classes": 4}),
    ("gmean", M.GeometricMean, {"task": "multiclass", "num_classes": 4}),
    ("report", M.ClassificationReport, {"task": "multiclass", "num_classes": 4}),
    ("binary_precision", M.Precision, {"task": "binary"}),
    ("multilabel_f1", M.F1Score, {"task": "multilabel", "num_labels": 3, "average": "micro"}),
]  # fmt: skip


def global_data(task: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    weight = torch.rand(N, generator=g, dtype=torch.float64) * 2
    if task == "binary":
        return torch.rand(N, generator=g), torch.randint(0, 2, (N,), generator=g), weight
    if task == "multilabel":
        preds = torch.rand(N, 3, generator=g)
        return preds, torch.randint(0, 2, (N, 3), generator=g), weight
    return torch.randn(N, 4, generator=g), torch.randint(0, 4, (N,), generator=g), weight
