"""Run by test_data_ddp.py as one process of a gloo group (not collected by pytest).

Usage: python data_ddp_worker.py RANK WORLD_SIZE PORT OUT_DIR
Each rank builds the samplers *without* rank/world_size (they are read from the initialised
process group), iterates them for epoch 2, and saves what it drew.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch
import torch.distributed as dist

from weightwise.data import (
    BalancedBatchSampler,
    ClassBalancedSampler,
    DistributedEvalSampler,
    WeightedSampler,
)

WEIGHTS = np.random.default_rng(0).random(101) * (np.arange(101) % 7 != 0)
LABELS = np.random.default_rng(1).integers(0, 4, 101)
CONFIGS = {
    "replacement_even": {"num_samples": 64},
    "replacement_uneven": {"num_samples": 63},
    "no_replacement_uneven": {"num_samples": 63, "replacement": False},
    "drop_last": {"num_samples": 63, "drop_last": True},
}


def main() -> None:
    rank, world, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = port
    dist.init_process_group("gloo", rank=rank, world_size=world)
    results: dict[str, object] = {}
    for name, kw in CONFIGS.items():
        s = WeightedSampler(WEIGHTS, seed=3, **kw)
        s.set_epoch(2)
        results[name] = {"rank": s.rank, "world": s.world_size, "len": len(s), "idx": list(s)}
    cb = ClassBalancedSampler(LABELS, power=0.5, seed=3)
    cb.set_epoch(2)
    results["class_balanced"] = list(cb)
    bb = BalancedBatchSampler(LABELS, batch_size=8, seed=3)
    bb.set_epoch(2)
    results["balanced_batches"] = list(bb)
    ev = DistributedEvalSampler(101)
    results["eval"] = {"idx": list(ev), "w": ev.padding_weights()}
    # all ranks agree on the global draw: gather the shares through the group itself
    share = torch.tensor(results["replacement_even"]["idx"])  # type: ignore[index]
    gathered = [torch.empty_like(share) for _ in range(world)]
    dist.all_gather(gathered, share)
    results["gathered"] = gathered
    torch.save(results, os.path.join(out, f"rank{rank}.pt"))
    dist.barrier()
    dist.destroy_process_group()
    # Skip interpreter teardown: gloo's background threads can abort it after the work is done.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
