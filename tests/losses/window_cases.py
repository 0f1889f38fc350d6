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

from weightwise.losses import (
    binary_cross_entropy,
    causal_lm_loss,
    causal_lm_weight,
    cross_entropy,
    linear_cross_entropy,
)

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


# ---- linear cross-entropy: hidden from a linear layer, the head a parameter -------------------

H, V = 6, 7
CWV = torch.linspace(0.5, 2.0, V, dtype=torch.float64)


class Head(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Linear(D, H).double()
        self.head = torch.nn.Linear(H, V).double()

    def forward(self, x, hidden=False):
        # hidden=True returns the head's input (under DDP the forward must run in the wrapper)
        h = self.body(x)
        return h if hidden else self.head(h)


def lin_batch() -> dict[str, torch.Tensor]:
    b = ce_batch()
    g = torch.Generator().manual_seed(3)
    b["y"] = torch.randint(0, V, (N,), generator=g)
    b["y"][9] = IGNORE
    return b


def lin_loss(model, b, reduction, denominator, sync, fused=None):
    m = model.module if hasattr(model, "module") else model
    return linear_cross_entropy(
        model(b["x"], hidden=True),
        m.head.weight,
        b["y"],
        bias=m.head.bias,
        sample_weight=b["s"],
        class_weight=CWV,
        ignore_index=IGNORE,
        label_smoothing=0.1,
        z_loss=1e-2,
        reduction=reduction,
        denominator=denominator,
        sync=sync,
        chunk_size=3,
    )


def lin_weights(b, reduction):
    valid = b["y"] != IGNORE
    if reduction == "mean":
        return valid
    return b["s"] * CWV[b["y"].clamp(min=0)] * valid


def lin_oracle(model, b, reduction):
    z = model(b["x"])
    y = b["y"]
    per = F.cross_entropy(
        z, y, weight=CWV, ignore_index=IGNORE, reduction="none", label_smoothing=0.1
    )
    valid = (y != IGNORE).double()
    w_y = CWV[y.clamp(min=0)] * valid
    per = per + 1e-2 * w_y * torch.logsumexp(z, dim=1) ** 2
    omega = b["s"] * w_y
    return _divide((per * b["s"]).sum(), omega, valid, reduction)


# ---- causal LM: token, sequence and class weights, padding, the shift -------------------------

T = 5


class TinyLM(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.emb = torch.nn.Embedding(V, H).double()
        self.head = torch.nn.Linear(H, V, bias=False).double()

    def forward(self, ids, hidden=False):
        h = torch.tanh(self.emb(ids))
        return h if hidden else self.head(h)


def lm_batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(4)
    ids = torch.randint(0, V, (N, T), generator=g)
    lengths = torch.randint(1, T + 1, (N,), generator=g)
    lengths[:4] = T
    pad = torch.arange(T)[None, :] >= lengths[:, None]
    labels = ids.masked_fill(pad, -100)
    labels[2, 3] = -100  # a masked prompt token inside a row
    tw = torch.rand(N, T, generator=g, dtype=torch.float64) * 2
    tw[:4] *= 10.0
    q = torch.rand(N, generator=g, dtype=torch.float64) + 0.5
    return {"ids": ids, "labels": labels, "tw": tw, "q": q}


def _lm_kwargs(b):
    return dict(token_weight=b["tw"], sequence_weight=b["q"], class_weight=CWV)


def lm_loss(model, b, reduction, denominator, sync, fused=None):
    return causal_lm_loss(
        model(b["ids"]),
        b["labels"],
        **_lm_kwargs(b),
        label_smoothing=0.1,
        z_loss=1e-2,
        reduction=reduction,
        denominator=denominator,
        sync=sync,
    )


def lm_hidden_loss(model, b, reduction, denominator, sync, fused=None):
    m = model.module if hasattr(model, "module") else model
    return causal_lm_loss(
        None,
        b["labels"],
        hidden=model(b["ids"], hidden=True),
        lm_head=m.head.weight,
        **_lm_kwargs(b),
        label_smoothing=0.1,
        z_loss=1e-2,
        reduction=reduction,
        denominator=denominator,
        sync=sync,
        chunk_size=4,
    )


def lm_weights(b, reduction):
    return causal_lm_weight(b["labels"], **_lm_kwargs(b), reduction=reduction)


def lm_oracle(model, b, reduction):
    """The shifted composition, written out with F.cross_entropy."""
    z = model(b["ids"])[:, :-1].reshape(-1, V)
    y = b["labels"][:, 1:].reshape(-1)
    s = (b["tw"][:, 1:] * b["q"][:, None]).reshape(-1)
    per = F.cross_entropy(z, y, weight=CWV, reduction="none", label_smoothing=0.1)
    valid = (y != -100).double()
    w_y = CWV[y.clamp(min=0)] * valid
    per = per + 1e-2 * w_y * torch.logsumexp(z, dim=1) ** 2
    return _divide((per * s).sum(), s * w_y, valid, reduction)


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
    "linear_cross_entropy": Case(Head, lin_batch, lin_loss, lin_weights, lin_oracle),
    "causal_lm_loss": Case(TinyLM, lm_batch, lm_loss, lm_weights, lm_oracle),
    "causal_lm_loss_hidden": Case(TinyLM, lm_batch, lm_hidden_loss, lm_weights, lm_oracle),
}


def split(b: dict[str, torch.Tensor], bounds: list[tuple[int, int]]) -> list[dict]:
    return [{k: v[lo:hi] for k, v in b.items()} for lo, hi in bounds]


def grads(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p.grad.detach().clone() for p in model.parameters()]
