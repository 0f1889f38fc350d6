"""sync=True under 2 gloo processes: DDP's averaged gradient equals the single-process
gradient on the global batch (DECISIONS §1), for every reduction and uneven shards."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ddp_cases import CASES, REDUCTIONS, compute_loss, make_batch, make_model

from ddp_util import run_ddp_workers

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def ddp_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = tmp_path_factory.mktemp("ddp")
    run_ddp_workers(HERE / "ddp_worker.py", out, world=2)
    return [torch.load(out / f"rank{r}.pt") for r in range(2)]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_sync_gradient_equals_global_batch(ddp_results: list[dict], case: str, reduction: str):
    model = make_model(case)
    # The oracle runs the reference (autograd) path in one process; the ranks run the
    # fused path (fused=True), so this also checks the fused path under sync.
    loss = compute_loss(case, model, make_batch(case), reduction=reduction, sync=False, fused=False)
    loss.backward()
    expected = [p.grad for p in model.parameters()]
    for rank_result in ddp_results:
        got = rank_result[(case, reduction)]
        for g, e in zip(got["grads"], expected, strict=True):
            torch.testing.assert_close(g, e, rtol=1e-6, atol=1e-9)
        # The mean over ranks of the returned values is the global-batch loss.
        torch.testing.assert_close(got["loss"], loss.detach(), rtol=1e-6, atol=1e-9)
