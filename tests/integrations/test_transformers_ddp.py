"""transformers.Trainer with WeightedLoss on 2 gloo ranks (CPU DDP): 2 ranks × 2 micro-batches
× 2 rows give, after one SGD step, the parameters of one 8-row batch in one process, with class
and sample weights (classifier) and with class and token weights (causal LM). Trainer sums
``num_items_in_batch`` (here the window's Σω) over the ranks and multiplies the loss by the
number of ranks; DDP averages the gradients."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")

from test_transformers import CASES_DDP, _assert_same, _max_diff, _train  # noqa: E402

from ddp_util import run_ddp_workers  # noqa: E402

HERE = Path(__file__).parent


@pytest.fixture(autouse=True)
def _no_datasets_package(monkeypatch):
    import transformers.trainer

    monkeypatch.setattr(transformers.trainer, "is_datasets_available", lambda: False)


@pytest.fixture(scope="module")
def ddp_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = tmp_path_factory.mktemp("trainer_ddp")
    # the timeout kills a hung rank: the test fails instead of hanging
    run_ddp_workers(HERE / "trainer_ddp_worker.py", out, world=2, timeout=120)
    return [torch.load(out / f"rank{r}.pt") for r in range(2)]


@pytest.mark.parametrize("name", sorted(CASES_DDP))
def test_two_ranks_accumulating_equal_one_big_batch(ddp_results, name, tmp_path):
    build, rows, loss = CASES_DDP[name]
    start = [p.detach().clone() for p in build().parameters()]
    big = _train(build(), rows(), loss, bs=8, ga=1, tmp_path=tmp_path)
    assert _max_diff(big, start) > 1e-3  # the step moved the parameters
    for rank_result in ddp_results:
        _assert_same(rank_result[name], big)


def test_per_micro_batch_denominators_differ(ddp_results, tmp_path):
    build, rows, loss = CASES_DDP["classifier"]
    big = _train(build(), rows(), loss, bs=8, ga=1, tmp_path=tmp_path)
    assert _max_diff(ddp_results[0]["own_denominator"], big) > 1e-4
