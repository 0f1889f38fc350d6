"""One rank of the 2-rank gloo group of test_transformers_ddp.py (not collected by pytest).

The test forks its ranks and calls ``rank_main`` in each: transformers is already imported in the
test process, so a rank starts in milliseconds instead of re-importing it. Each rank runs
``transformers.Trainer`` (DDP on CPU, gloo) with ``WeightedLoss`` for one optimiser step of 2
micro-batches of 2 rows (the 8 rows of the data set over the 2 ranks), for a class-weighted
classifier with sample weights and a token-weighted causal LM, and saves the parameters after the
step to ``OUT_DIR/rank{RANK}.pt``.

By hand: ``python trainer_ddp_worker.py RANK WORLD_SIZE PORT OUT_DIR``, one process per rank.
"""

from __future__ import annotations

import os
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(__file__))


def rank_main(rank: int, world: int, port: int, out: str) -> None:
    """Run rank ``rank`` of ``world`` (rendezvous on 127.0.0.1:``port``); save its results."""
    # One intra-op thread: a forked child must not rely on a thread pool it did not start,
    # and 2 ranks on 2 cores gain nothing from more.
    torch.set_num_threads(1)
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    import transformers.trainer

    # The suite's tests/datasets folder can shadow Hugging Face datasets on the path.
    transformers.trainer.is_datasets_available = lambda: False
    from test_transformers import CASES_DDP

    results = {}
    for name, (build, rows, loss) in CASES_DDP.items():
        results[name] = _run(build(), rows(), loss, os.path.join(out, f"{name}-{rank}"))
    # The control: each micro-batch divided by its own Σω (no window denominator).
    build, rows, loss = CASES_DDP["classifier"]

    def own_denominator(outputs, labels, num_items_in_batch=None):
        return loss(outputs, labels, None)

    results["own_denominator"] = _run(
        build(), rows(), loss, os.path.join(out, f"own-{rank}"), own_denominator
    )
    torch.save(results, os.path.join(out, f"rank{rank}.pt"))


def _run(model, rows, loss, output_dir, compute_loss_func=None):
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
    rank_main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
