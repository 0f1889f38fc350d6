"""Run by test_metrics_confusion_ddp.py as one rank of a 2-process gloo group (not collected).

Usage: python metrics_confusion_ddp_worker.py RANK WORLD_SIZE PORT OUT_DIR
Each rank takes an interleaved share of one global evaluation set; the last rank's share is
padded with a weight-0 duplicate (as a distributed evaluation sampler pads), updates its metrics
in uneven batches and saves ``compute()`` (which all-reduces the states).
"""

from __future__ import annotations

import os
import sys

import torch
import torch.distributed as dist

sys.path.insert(0, os.path.dirname(__file__))
from metrics_confusion_ddp_cases import DDP_CASES, global_data


def main() -> None:
    rank, world, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = port
    dist.init_process_group("gloo", rank=rank, world_size=world)
    results = {}
    for name, cls, opts in DDP_CASES:
        preds, target, weight = global_data(opts["task"])
        n = target.shape[0]
        per_rank = -(-n // world)
        idx = torch.arange(rank, per_rank * world, world)
        pad = idx >= n
        idx = torch.where(pad, idx % n, idx)  # wrap-around duplicates ...
        w = torch.where(pad, torch.zeros(()), weight[idx].double())  # ... carrying weight 0
        metric = cls(**opts)
        cut = len(idx) // 3
        metric.update(preds[idx[:cut]], target[idx[:cut]], w[:cut])
        metric.update(preds[idx[cut:]], target[idx[cut:]], w[cut:])
        results[name] = metric.compute()
    torch.save(results, os.path.join(out, f"rank{rank}.pt"))
    dist.barrier()
    dist.destroy_process_group()
    # Skip interpreter teardown: gloo's background threads can abort it after the work is done.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
