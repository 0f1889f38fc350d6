"""Run by test_transformers_ddp.py as one process of a 2-rank gloo group (not collected by pytest).

Usage: python trainer_ddp_worker.py RANK WORLD_SIZE PORT OUT_DIR
Each rank runs ``transformers.Trainer`` (DDP on CPU, gloo) with ``WeightedLoss`` for one
optimiser step of 2 micro-batches of 2 rows (the 8 rows of the data set over the 2 ranks), for
a class-weighted classifier with sample weights and a token-weighted causal LM, and saves the
parameters after the step.
"""

from __future__ import annotations

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))


def main() -> None:
    rank, world, port, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    os.environ.update(
        RANK=rank, LOCAL_RANK=rank, WORLD_SIZE=world, MASTER_ADDR="127.0.0.1", MASTER_PORT=port
    )
    torch.set_num_threads(1)
    import transformers.trainer

    # The suite's tests/datasets folder can shadow Hugging Face datasets on the path.
    transformers.trainer.is_datasets_available = lambda: False
    from test_transformers import CASES_DDP

    results = {}
    for name, (build, rows, loss) in CASES_DDP.items():
        results[name] = run(build(), rows(), loss, os.path.join(out, f"{name}-{rank}"))
    # The control: each micro-batch divided by its own Σω (no window denominator).
    build, rows, loss = CASES_DDP["classifier"]

    def own_denominator(outputs, labels, num_items_in_batch=None):
        return loss(outputs, labels, None)

    results["own_denominator"] = run(
        build(), rows(), loss, os.path.join(out, f"own-{rank}"), own_denominator
    )
    torch.save(results, os.path.join(out, f"rank{rank}.pt"))


def run(model, rows, loss, output_dir, compute_loss_func=None):
    import warnings

    from test_transformers import _train

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the control's "no window denominator" warning
        params = _train(
            model,
            rows,
            loss,
            bs=2,
            ga=2,
            tmp_path=output_dir,
            compute_loss_func=compute_loss_func,
            ddp_backend="gloo",
        )
    assert torch.distributed.get_world_size() == 2  # Trainer ran under DDP
    return params


if __name__ == "__main__":
    main()
