"""`weightwise compare` under ``torchrun``: the process group, sharding and agreement helpers.

When ``torchrun`` (or any launcher that sets ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT``) starts the command with ``WORLD_SIZE > 1``, every rank runs
the same command line. This module

- initialises the process group: ``nccl`` when CUDA is present with a device for every local
  rank, ``gloo`` otherwise;
- shards each *global* batch of the 1-process run: rank ``r`` takes positions
  ``r, r + W, r + 2W, …`` of it (the interleaved shares of DECISIONS §7);
- evaluates on :class:`weightwise.data.DistributedEvalSampler` shares and gathers the scores,
  dropping the padding by its weight 0, so metrics see exactly the 1-process rows;
- makes a user's mistake collective (:meth:`DistContext.agree`): every rank exits 2 and only
  rank 0 prints the ``error: …`` line, even when the mistake shows on one rank only.

With ``WORLD_SIZE`` unset or 1 nothing here runs, and ``weightwise compare`` is the
single-process command.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import numpy as np
import torch

from ._errors import USAGE_EXIT_CODE, USER_ERRORS, UserError, error_line, is_quiet_rank
from ._errors import env_int as _env_int

__all__ = ["DistContext", "init_from_env", "is_quiet_rank", "session"]

T = TypeVar("T")

#: How long a collective may wait for a peer before it fails instead of hanging.
TIMEOUT = timedelta(minutes=10)


@dataclass(frozen=True)
class DistContext:
    """This process's place in the group."""

    rank: int
    world_size: int
    local_rank: int
    backend: str
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, batch: np.ndarray) -> np.ndarray:
        """This rank's share of one global batch: positions ``rank, rank + W, …``.

        A global batch shorter than ``W`` leaves some ranks an empty share; their loss is an
        exact 0 with zero gradient, and the synced denominator still counts the whole batch.
        """
        return batch[self.rank :: self.world_size]

    def mean_over_ranks(self, values: list[float]) -> list[float]:
        """The elementwise mean over ranks, in float64 (one collective)."""
        import torch.distributed as dist

        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return (t / self.world_size).cpu().tolist()

    @torch.no_grad()
    def gather_logits(self, model: torch.nn.Module, X: torch.Tensor) -> torch.Tensor:
        """``model(X)`` for all rows, each rank computing its evaluation share.

        Rank ``r`` scores rows ``r, r + W, …`` of ``X`` (``DistributedEvalSampler``); the shares
        are all-gathered with their padding weights, and the rows of weight 0 (duplicates that
        pad the last round) are dropped, so the result holds every row once, in order.
        """
        import torch.distributed as dist

        from weightwise.data import DistributedEvalSampler

        n = X.shape[0]
        sampler = DistributedEvalSampler(n, rank=self.rank, world_size=self.world_size)
        idx = torch.tensor(list(sampler), dtype=torch.long, device=X.device)
        model.eval()
        local = model(X[idx])
        model.train()
        pad = sampler.padding_weights().to(device=local.device, dtype=local.dtype)
        packed = torch.cat([local, pad[:, None]], dim=1).contiguous()
        parts = [torch.empty_like(packed) for _ in range(self.world_size)]
        dist.all_gather(parts, packed)
        # parts[r][k] is global position k·W + r.
        stacked = torch.stack(parts, dim=1).reshape(-1, packed.shape[1]).cpu()
        keep = stacked[:, -1] > 0
        out = stacked[keep, :-1]
        if out.shape[0] != n:  # pragma: no cover - an invariant of DistributedEvalSampler
            raise RuntimeError(f"gathered {out.shape[0]} rows, expected {n}")
        return out

    def agree(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on every rank; if it raised a user's mistake on any rank, raise on all.

        Every rank raises :class:`UserError` with the message of the lowest failing rank
        (prefixed by that rank when it is not 0), so every rank exits 2 and rank 0 prints the
        line. Other exceptions propagate (a bug: ``torchrun`` stops the other ranks).
        """
        import torch.distributed as dist

        result: T | None = None
        message: str | None = None
        try:
            result = fn()
        except USER_ERRORS as exc:
            message = str(exc)
        except OSError as exc:
            message = f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
        messages: list[str | None] = [None] * self.world_size
        dist.all_gather_object(messages, message)
        for r, m in enumerate(messages):
            if m is not None:
                raise UserError(m if r == 0 else f"rank {r}: {m}")
        return result  # type: ignore[return-value]

    def barrier(self) -> None:
        import torch.distributed as dist

        dist.barrier()


def init_from_env() -> DistContext | None:
    """Join the process group described by ``torchrun``'s variables; ``None`` for 1 process."""
    world = _env_int("WORLD_SIZE", 1)
    if world <= 1:
        return None
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", rank)
    if not (0 <= rank < world):
        raise UserError(f"RANK must be in [0, {world}), got {rank}")
    for var in ("MASTER_ADDR", "MASTER_PORT"):
        if not os.environ.get(var):
            raise UserError(f"WORLD_SIZE={world} but {var} is not set; launch with torchrun")
    import torch.distributed as dist

    local_world = _env_int("LOCAL_WORLD_SIZE", world)
    use_cuda = torch.cuda.is_available() and torch.cuda.device_count() >= local_world
    if use_cuda:
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    dist.init_process_group(backend, rank=rank, world_size=world, timeout=TIMEOUT)
    return DistContext(rank, world, local_rank, backend, device)


def _exit(code: int) -> None:
    """Leave the group and the process with ``code``, skipping interpreter teardown (gloo's
    background threads can abort it after the work is done)."""
    import torch.distributed as dist

    try:
        if dist.is_initialized():
            dist.destroy_process_group()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


@contextmanager
def session(ctx: DistContext) -> Iterator[DistContext]:
    """Run a distributed command body; every rank leaves with the same status.

    A user's mistake raised by :meth:`DistContext.agree` is printed by rank 0 as one
    ``error: …`` line and every rank exits 2; success exits 0 on every rank.
    """
    try:
        yield ctx
    except USER_ERRORS as exc:
        if ctx.is_main:
            sys.stderr.write(error_line(str(exc)))
        _exit(USAGE_EXIT_CODE)
    except BaseException:  # a bug: say where, on the rank where it happened
        sys.stderr.write(f"[rank {ctx.rank}] ")
        traceback.print_exc()
        _exit(1)
    _exit(0)
