"""From per-class sums to a loss: class average, the set-level reductions, batch pooling.

The rules (see ``docs/segmentation.md``): the per-class losses ``ℓ_c`` average with the class
weights over the kept classes, ``D = Σ_c cw_c·ℓ_c / Σ_c cw_c``; with ``pooling="sample"`` the
per-sample losses then reduce as elements do (``"mean"`` over the samples kept); with
``pooling="batch"`` the sums are pooled over the batch (and, with ``sync``, across ranks) first.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist

from ..reduction import Reduction, SyncArg, _sync_group, reduce_weighted
from ._dense_inputs import Dense
from ._dense_sums import dense_sums

__all__ = [
    "class_average",
    "class_sums",
    "finish_set_loss",
    "global_sums",
    "global_value",
    "reduce_samples",
    "safe_div",
]


def global_sums(
    sums: tuple[torch.Tensor, ...], sync: SyncArg
) -> tuple[tuple[torch.Tensor, ...], int]:
    """All-reduce batch-pooled sums; the local part keeps its gradient (straight-through)."""
    do_sync, group = _sync_group(sync)
    if not do_sync:
        return sums, 1
    out = []
    for x in sums:
        total = x.detach().clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM, group=group)
        out.append(x + (total - x.detach()))
    return tuple(out), dist.get_world_size(group)


def safe_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    # Where the denominator is 0 (smooth = 0 and nothing in the sums) divide by 1 instead, so
    # neither the value nor the gradient is NaN; those terms are masked by the caller.
    return num / torch.where(den != 0, den, torch.ones_like(den))


def class_average(
    ell: torch.Tensor, empty: torch.Tensor, cw: torch.Tensor | None, empty_mode: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``Σ_c cw_c·ℓ_c / Σ_c cw_c`` over kept classes; returns ``(D, kept, per_class)``."""
    if empty_mode == "skip":
        keep = ~empty
        val = ell
    else:
        keep = torch.ones_like(empty)
        # "zero" / "one" are the score of an empty class; the loss is 1 - score.
        const = 1.0 if empty_mode == "zero" else 0.0
        val = torch.where(empty, torch.full_like(ell, const), ell)
    wc = keep.to(ell.dtype)
    if cw is not None:
        wc = wc * cw
    per_class = val * keep.to(ell.dtype)
    den = wc.sum(-1)
    return safe_div((val * wc).sum(-1), den), den > 0, per_class


def class_sums(
    d: Dense, *, squared: bool, pooling: str, include_background: bool, sync: SyncArg
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None, int]:
    """``(I, P, G, cw, world)``: the per-class sums ``(N, C)`` (``pooling="sample"``), or pooled
    over the batch, ``Σ_n s_n·I_nc``, shape ``(C,)`` (``pooling="batch"``; over every rank with
    ``sync``, ``world`` ranks); class 0 and its class weight left out without background."""
    inter, big_p, big_g = dense_sums(d, squared=squared)
    cw = d.class_weight
    if not include_background and inter.shape[1] > 1:
        inter, big_p, big_g = inter[:, 1:], big_p[:, 1:], big_g[:, 1:]
        cw = None if cw is None else cw[1:]
    if pooling != "batch":
        return inter, big_p, big_g, cw, 1
    s = d.sample
    if s is not None:
        inter, big_p, big_g = (x * s.unsqueeze(1) for x in (inter, big_p, big_g))
    (inter, big_p, big_g), world = global_sums((inter.sum(0), big_p.sum(0), big_g.sum(0)), sync)
    return inter, big_p, big_g, cw, world


def global_value(out: torch.Tensor, world: int) -> torch.Tensor:
    """A batch-pooled loss that every one of ``world`` ranks holds: the value stays global and
    the gradient is scaled by ``world``, so that DDP's averaged gradient is the global-batch
    gradient (also for the per-class values of ``reduction="none"``)."""
    if world > 1:
        return world * out - (world - 1) * out.detach()
    return out


def finish_set_loss(
    ell_fn: Any,
    d: Dense,
    *,
    squared: bool,
    pooling: str,
    include_background: bool,
    empty_mode: str,
    reduction: Reduction,
    sync: SyncArg,
) -> torch.Tensor:
    """Sums -> per-class losses -> class average -> reduction, for every set-level loss."""
    inter, big_p, big_g, cw, world = class_sums(
        d, squared=squared, pooling=pooling, include_background=include_background, sync=sync
    )
    ell = ell_fn(inter, big_p, big_g)
    if pooling == "batch":
        value, kept, per_class = class_average(ell, big_g == 0, cw, empty_mode)
        out = (
            per_class if reduction == "none" else torch.where(kept, value, torch.zeros_like(value))
        )
        return global_value(out, world)
    s = d.sample
    empty = big_g == 0
    if s is not None:
        empty = empty | (s == 0).unsqueeze(1)
    value, kept, _ = class_average(ell, empty, cw, empty_mode)
    return reduce_samples(value, kept, s, reduction=reduction, sync=sync)


def reduce_samples(
    value: torch.Tensor,
    kept: torch.Tensor,
    s: torch.Tensor | None,
    *,
    reduction: Reduction,
    sync: SyncArg,
) -> torch.Tensor:
    k = kept.to(value.dtype)
    sw = k if s is None else s * k
    weighted = torch.where(kept, value, torch.zeros_like(value)) * sw
    return reduce_weighted(weighted, sw, reduction=reduction, count=kept.sum(), sync=sync)
