"""One rank of test_dense_ddp.py (run by tests/ddp_util.py; not collected by pytest).

Usage: python dense_ddp_worker.py RANK WORLD_SIZE PORT OUT_DIR
Each rank takes an uneven shard of the global batch, runs one step of a DDP-wrapped 1x1
convolution with a ``sync=True`` dense loss, and saves DDP's averaged parameter gradients and
its own returned loss value for every case.
"""

from __future__ import annotations

import os
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, os.path.dirname(__file__))
from test_dense_ddp import KEYS, SHARDS, batch, loss_fn, make_model


def main() -> None:
    rank, world, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = port
    dist.init_process_group("gloo", rank=rank, world_size=world)
    lo, hi = SHARDS[rank]
    results = {}
    for case, reduction in KEYS:
        model = DistributedDataParallel(make_model())
        local = {k: v[lo:hi] for k, v in batch().items()}
        loss = loss_fn(case, model, local, reduction, sync=True)
        loss.backward()
        results[(case, reduction)] = {
            "grads": [p.grad.detach().clone() for p in model.module.parameters()],
            "loss": loss.detach().clone(),
        }
    torch.save(results, os.path.join(out, f"rank{rank}.pt"))
    dist.barrier()
    dist.destroy_process_group()
    # Skip interpreter teardown: gloo's background threads can abort it after the work is done.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
