"""Shared set-up of the window-denominator tests (float64): a global batch, its micro-batches,
the weightwise loss with a window denominator, and an independent oracle on the whole batch.

Each case gives:
* ``model()``: a small float64 module;
* ``batch()``: the global batch, a dict of tensors whose dim 0 is the example axis;
* ``loss(model, b, reduction, denominator, sync)``: the weightwise loss of a micro-batch;
* ``weights(b, reduction)``: the micro-batch's element weights for ``window_denominator``;
* ``oracle(model, b, reduction)``: the loss of the whole batch, composed from PyTorch's
  ``F.cross_entropy`` / ``F.binary_cross_entropy_with_logits`` by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from weightwise.losses import binary_cross_entropy, cross_entropy

N, D, C = 16, 5, 4
IGNORE = -1
REDUCTIONS = ("mean", "weighted_mean", "nonzero_mean", "sum")
CW = torch.tensor([1.0, 3.0, 0.5, 2.0], dtype=torch.float64)


def _divide(total: torch.Tensor, omega: torch.Tensor, mask: torch.Tensor, reduction: str):
    if reduction == "sum":
        return total
    if reduction == "mean":
        return total / mask.sum()
    if reduction == "weighted_mean":
        return total / omega.sum()
    return total / (omega != 0).sum()


# ---- cross-entropy with sample and class weights and an ignored element ---------------------


def ce_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Linear(D, C).double()


def ce_batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(N, D, generator=g, dtype=torch.float64)
    # Very uneven weights per micro-batch, so per-micro-batch division is visibly wrong.
    s = torch.rand(N, generator=g, dtype=torch.float64) * 2
    s[:4] *= 10.0
    s[3] = 0.0
    y = torch.randint(0, C, (N,), generator=g)
    y[9] = IGNORE
    return {"x": x, "s": s, "y": y}


def ce_loss(model, b, reduction, denominator, sync, fused=None):
    return cross_entropy(
        model(b["x"]),
        b["y"],
        sample_weight=b["s"],
        class_weight=CW,
        ignore_index=IGNORE,
        reduction=reduction,
        denominator=denominator,
        sync=sync,
        fused=fused,
    )


def ce_weights(b, reduction):
    valid = b["y"] != IGNORE
    if reduction == "mean":
        return valid
    return b["s"] * CW[b["y"].clamp(min=0)] * valid


def ce_oracle(model, b, reduction):
    per = F.cross_entropy(model(b["x"]), b["y"], weight=CW, ignore_index=IGNORE, reduction="none")
    valid = (b["y"] != IGNORE).double()
    omega = b["s"] * CW[b["y"].clamp(min=0)] * valid
    return _divide((per * b["s"]).sum(), omega, valid, reduction)


# ---- multi-label BCE with pos/neg weights ------------------------------------------------------


def bce_batch() -> dict[str, torch.Tensor]:
    b = ce_batch()
    g = torch.Generator().manual_seed(2)
    b["t"] = (torch.rand(N, C, generator=g) > 0.6).double()
    return b


def bce_loss(model, b, reduction, denominator, sync, fused=None):
    return binary_cross_entropy(
        model(b["x"]),
        b["t"],
        sample_weight=b["s"],
        pos_weight=CW,
        reduction=reduction,
        denominator=denominator,
        sync=sync,
        fused=fused,
    )


def bce_weights(b, reduction):
    if reduction == "mean":
        return torch.ones_like(b["t"])
    return b["s"][:, None] * (CW * b["t"] + (1 - b["t"]))


def bce_oracle(model, b, reduction):
    per = F.binary_cross_entropy_with_logits(model(b["x"]), b["t"], pos_weight=CW, reduction="none")
    omega = b["s"][:, None] * (CW * b["t"] + (1 - b["t"]))
    return _divide((per * b["s"][:, None]).sum(), omega, torch.ones_like(omega), reduction)


@dataclass(frozen=True)
class Case:
    model: Callable[[], torch.nn.Module]
    batch: Callable[[], dict[str, torch.Tensor]]
    loss: Callable[..., torch.Tensor]
    weights: Callable[..., torch.Tensor]
    oracle: Callable[..., torch.Tensor]


CASES: dict[str, Case] = {
    "cross_entropy": Case(ce_model, ce_batch, ce_loss, ce_weights, ce_oracle),
    "binary_cross_entropy": Case(ce_model, bce_batch, bce_loss, bce_weights, bce_oracle),
}


def split(b: dict[str, torch.Tensor], bounds: list[tuple[int, int]]) -> list[dict]:
    return [{k: v[lo:hi] for k, v in b.items()} for lo, hi in bounds]


def grads(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p.grad.detach().clone() for p in model.parameters()]
