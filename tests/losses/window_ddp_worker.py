"""Run by test_window_ddp.py as one process of a 2-rank gloo group (not collected by pytest).

Usage: python window_ddp_worker.py RANK WORLD_SIZE PORT OUT_DIR
Each rank takes 2 uneven micro-batches of one global batch, computes the window denominator
once with ``sync=True``, accumulates the gradient of a DDP-wrapped model (``no_sync`` on the
first micro-batch) with ``denominator=`` and ``sync=True`` losses, and saves the averaged
gradients for every case and reduction.
"""

from __future__ import annotations

import os
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, os.path.dirname(__file__))
from window_cases import CASES, REDUCTIONS, split

from weightwise.reduction import window_denominator

# rank -> its 2 micro-batches of the 16-example global batch (uneven on purpose)
MICRO = {0: [(0, 3), (3, 8)], 1: [(8, 14), (14, 16)]}


def main() -> None:
    rank, world, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = port
    dist.init_process_group("gloo", rank=rank, world_size=world)
    results = {}
    for name, case in CASES.items():
        for reduction in REDUCTIONS:
            model = DistributedDataParallel(case.model())
            micro = split(case.batch(), MICRO[rank])
            denom = window_denominator(
                [case.weights(b, reduction) for b in micro], reduction=reduction, sync=True
            )
            logged = torch.zeros((), dtype=torch.float64)
            with model.no_sync():
                loss = case.loss(model, micro[0], reduction, denom, True)
                loss.backward()
                logged += loss.detach()
            loss = case.loss(model, micro[1], reduction, denom, True)
            loss.backward()
            logged += loss.detach()
            dist.all_reduce(logged)
            logged /= world
            results[(name, reduction)] = {
                "grads": [p.grad.detach().clone() for p in model.module.parameters()],
                "loss": logged,
                "denominator": denom,
            }
    torch.save(results, os.path.join(out, f"rank{rank}.pt"))
    dist.barrier()
    dist.destroy_process_group()
    # Skip interpreter teardown: gloo's background threads can abort it after the work is done.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
