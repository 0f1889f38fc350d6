"""Shared set-up of the DDP equivalence test: data, model and losses (float64)."""

from __future__ import annotations

import torch

from weightwise.losses import binary_cross_entropy, cross_entropy

N, D, C = 12, 5, 4
CASES = ("ce_hard", "ce_soft", "bce")
REDUCTIONS = ("mean", "weighted_mean", "nonzero_mean", "sum")
# Uneven shards: DDP's averaged gradient must still equal the global-batch gradient.
SHARDS = {2: [(0, 5), (5, 12)]}


def make_model(case: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Linear(D, C).double()


def make_batch(case: str) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(N, D, generator=g, dtype=torch.float64)
    w = torch.rand(N, generator=g, dtype=torch.float64) * 2
    w[3] = 0.0  # a zero weight on rank 0
    y = torch.randint(0, C, (N,), generator=g)
    y[7] = -1  # an ignored element on rank 1
    soft = torch.softmax(torch.randn(N, C, generator=g, dtype=torch.float64), dim=1)
    multi = (torch.rand(N, C, generator=g) > 0.6).double()
    return {"x": x, "w": w, "y": y, "soft": soft, "multi": multi}


def compute_loss(
    case: str,
    model: torch.nn.Module,
    b: dict[str, torch.Tensor],
    *,
    reduction: str,
    sync: bool,
    fused: bool | None = None,
) -> torch.Tensor:
    logits = model(b["x"])
    cw = torch.tensor([1.0, 3.0, 0.5, 2.0], dtype=torch.float64)
    if case == "ce_hard":
        return cross_entropy(
            logits,
            b["y"],
            sample_weight=b["w"],
            class_weight=cw,
            ignore_index=-1,
            label_smoothing=0.1,
            reduction=reduction,
            sync=sync,
            fused=fused,
        )
    if case == "ce_soft":
        return cross_entropy(
            logits,
            b["soft"],
            sample_weight=b["w"],
            class_weight=cw,
            reduction=reduction,
            sync=sync,
            fused=fused,
        )
    return binary_cross_entropy(
        logits,
        b["multi"],
        sample_weight=b["w"],
        pos_weight=cw,
        neg_weight=cw.flip(0),
        reduction=reduction,
        sync=sync,
        fused=fused,
    )
