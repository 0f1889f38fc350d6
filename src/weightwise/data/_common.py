"""Helpers shared by the samplers: argument checks, DDP rank resolution, seeded generators."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .._checks import DTypeError, check_nonnegative_int, check_positive_int

__all__ = [
    "as_weight_view",
    "check_nonnegative_int",
    "check_positive_int",
    "make_rng",
    "resolve_rank",
    "share_length",
    "share_positions",
]


def resolve_rank(rank: int | None, world_size: int | None) -> tuple[int, int]:
    """``(rank, world_size)`` from the arguments, else from an initialised process group.

    Both ``None``: read ``torch.distributed`` when it is initialised, else ``(0, 1)``. Giving
    only one of the two is a ``ValueError``; so is a rank outside ``[0, world_size)``.
    """
    if rank is None and world_size is None:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return int(dist.get_rank()), int(dist.get_world_size())
        return 0, 1
    if rank is None or world_size is None:
        raise ValueError(
            "give both rank and world_size, or neither (then they are read from an "
            f"initialised torch.distributed process group); got rank={rank!r}, "
            f"world_size={world_size!r}"
        )
    w = check_positive_int(world_size, "world_size")
    r = check_nonnegative_int(rank, "rank")
    if r >= w:
        raise ValueError(f"rank must be in [0, world_size={w}); got {rank!r}")
    return r, w


def share_length(num_samples: int, world_size: int, drop_last: bool) -> int:
    """One rank's share: ``ceil(num_samples / W)``, or the floor with ``drop_last``."""
    if drop_last:
        return num_samples // world_size
    return math.ceil(num_samples / world_size)


def share_positions(rank: int, world_size: int, length: int, draw_len: int) -> np.ndarray:
    """Positions of one rank's share in a global draw of ``draw_len`` items.

    Rank ``r`` takes the interleaved positions ``r, r + W, r + 2W, …`` (``length`` of them),
    wrapped modulo ``draw_len`` when they run past the end, as ``DistributedSampler`` pads.
    """
    pos = np.arange(length, dtype=np.int64) * world_size + rank
    if draw_len and length and pos[-1] >= draw_len:
        pos %= draw_len
    return pos


def make_rng(seed: int, epoch: int, stream: int = 0) -> np.random.Generator:
    """A NumPy PCG64 generator determined by ``(seed, epoch, stream)`` only."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, epoch, stream])))


def as_weight_view(weights: Any, name: str = "weights") -> np.ndarray:
    """A 1-D NumPy view of ``weights`` (no copy for CPU tensors and arrays).

    Lists become float64 arrays; CUDA tensors are copied to the host. Values are not checked
    here (see :func:`weightwise.data._draw.block_totals`).
    """
    if isinstance(weights, torch.Tensor):
        t = weights.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        if t.dtype in (torch.bfloat16, torch.float16):
            t = t.to(torch.float32)
        if t.dtype == torch.bool:
            t = t.to(torch.uint8)
        arr = t.numpy()
    else:
        if hasattr(weights, "to_numpy"):
            weights = weights.to_numpy()
        arr = np.asarray(weights)
        if arr.dtype == np.bool_:
            arr = arr.astype(np.uint8)
        if arr.dtype.kind not in "fiu":
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError) as err:
                raise DTypeError(f"{name} must be numeric; got dtype {arr.dtype}: {err}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, one weight per item; got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must not be empty; got shape {arr.shape}")
    return arr
