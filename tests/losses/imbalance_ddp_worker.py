"""One rank of test_imbalance_ddp.py (run by tests/ddp_util.py; not collected by pytest).

Usage: python imbalance_ddp_worker.py RANK WORLD_SIZE PORT OUT_DIR
"""

from __future__ import annotations

import os
import sys

import torch
import torch.distributed as dist

sys.path.insert(0, os.path.dirname(__file__))
from test_imbalance_ddp import CASES, REDUCTIONS, SHARDS, batch, loss_fn


def main() -> None:
    rank, world, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = port
    dist.init_process_group("gloo", rank=rank, world_size=world)
    lo, hi = SHARDS[rank]
    res = {}
    for case in CASES:
        for red in REDUCTIONS:
            b = {k: v[lo:hi] for k, v in batch().items()}
            x = b["x"].clone().requires_grad_(True)
            loss = loss_fn(case, x, b, red, sync=True)
            loss.backward()
            logged = loss.detach().clone()
            dist.all_reduce(logged)
            res[(case, red)] = (x.grad / world, logged / world)
    torch.save(res, os.path.join(out, f"rank{rank}.pt"))
    dist.barrier()
    dist.destroy_process_group()
    # Skip interpreter teardown: gloo's background threads can abort it after the work is done.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
