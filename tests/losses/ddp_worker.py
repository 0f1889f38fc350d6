"""Run by test_ddp_sync.py as one process of a 2-rank gloo group (not collected by pytest).

Usage: python ddp_worker.py RANK WORLD_SIZE PORT OUT_DIR
Each rank takes an uneven shard of one global batch, trains one step of a DDP-wrapped linear
model with ``sync=True`` losses, and saves the averaged parameter gradients for every case.
"""

from __future__ import annotations

import os
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, os.path.dirname(__file__))
from ddp_cases import CASES, REDUCTIONS, SHARDS, compute_loss, make_batch, make_model


def main() -> None:
    rank, world, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = port
    dist.init_process_group("gloo", rank=rank, world_size=world)
    lo, hi = SHARDS[world][rank]
    results = {}
    for case in CASES:
        for reduction in REDUCTIONS:
            model = DistributedDataParallel(make_model(case))
            batch = make_batch(case)
            local = {k: v[lo:hi] for k, v in batch.items()}
            loss = compute_loss(case, model, local, reduction=reduction, sync=True, fused=True)
            loss.backward()
            logged = loss.detach().clone()
            dist.all_reduce(logged)
            logged /= world
            results[(case, reduction)] = {
                "grads": [p.grad.detach().clone() for p in model.module.parameters()],
                "loss": logged,
            }
    torch.save(results, os.path.join(out, f"rank{rank}.pt"))
    dist.barrier()
    dist.destroy_process_group()
    # Skip interpreter teardown: gloo's background threads can abort it after the work is done.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
