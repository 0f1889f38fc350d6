"""2 gloo ranks × 2 uneven micro-batches with a window denominator (``sync=True``): DDP's
averaged gradient equals the gradient of the whole batch in one process (float64, 1e-6)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from window_cases import CASES, REDUCTIONS

from ddp_util import run_ddp_workers

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def ddp_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = tmp_path_factory.mktemp("window_ddp")
    run_ddp_workers(HERE / "window_ddp_worker.py", out, world=2)
    return [torch.load(out / f"rank{r}.pt") for r in range(2)]


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ranks_times_micro_batches_equal_one_batch(ddp_results, name, reduction):
    case = CASES[name]
    model = case.model()
    loss = case.oracle(model, case.batch(), reduction)
    loss.backward()
    for rank_result in ddp_results:
        got = rank_result[(name, reduction)]
        for g, p in zip(got["grads"], model.parameters(), strict=True):
            torch.testing.assert_close(g, p.grad, rtol=1e-6, atol=1e-12)
        # The mean over ranks of the summed micro-batch values is the whole batch's loss.
        torch.testing.assert_close(got["loss"], loss.detach(), rtol=1e-6, atol=1e-12)
    assert (
        ddp_results[0][(name, reduction)]["denominator"]
        == (ddp_results[1][(name, reduction)]["denominator"])
    )
