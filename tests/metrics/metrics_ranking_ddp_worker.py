"""Run by test_metrics_ranking_ddp.py as one process of a 2-rank gloo group (not collected).

Usage: python metrics_ranking_ddp_worker.py RANK WORLD_SIZE PORT OUT_DIR
Each rank takes an uneven shard of one global dataset, pads it with weight-0 duplicates (as a
distributed evaluation sampler does), streams it through every case's stateful metric in two
uneven batches, and saves the synchronised ``compute()`` values.
"""

from __future__ import annotations

import os
import sys
import warnings

import torch
import torch.distributed as dist

sys.path.insert(0, os.path.dirname(__file__))
from metrics_ranking_cases import CASES, global_data, shard


def main() -> None:
    rank, world, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = port
    dist.init_process_group("gloo", rank=rank, world_size=world)
    results = {}
    for case in CASES:
        p, t, w = shard(*global_data(case.kind), rank, world)
        m = case.stateful()
        cut = 3 + rank
        m.update(p[:cut], t[:cut], w[:cut])
        m.update(p[cut:], t[cut:], w[cut:])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results[case.name] = m.compute()
    torch.save(results, os.path.join(out, f"rank{rank}.pt"))
    dist.barrier()
    dist.destroy_process_group()
    # Skip interpreter teardown: gloo's background threads can abort it after the work is done.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
