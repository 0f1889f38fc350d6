"""2-process gloo DDP: synced confusion-matrix metrics equal the single-process value, with
the padded duplicates carrying weight 0 (pytorch#25162)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from metrics_confusion_ddp_cases import DDP_CASES, global_data

from ddp_util import run_ddp_workers

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def ddp_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = tmp_path_factory.mktemp("ddp_metrics")
    run_ddp_workers(HERE / "metrics_confusion_ddp_worker.py", out, world=2)
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(2)]


def _assert_same(got, want):
    if isinstance(want, dict):
        assert got.keys() == want.keys()
        for k in want:
            _assert_same(got[k], want[k])
    else:
        torch.testing.assert_close(
            torch.as_tensor(got, dtype=torch.float64),
            torch.as_tensor(want, dtype=torch.float64),
            rtol=1e-12,
            atol=1e-12,
        )


@pytest.mark.parametrize("case", DDP_CASES, ids=[c[0] for c in DDP_CASES])
def test_synced_equals_single_process(ddp_results, case):
    name, cls, opts = case
    preds, target, weight = global_data(opts["task"])
    single = cls(**opts)
    single.update(preds, target, weight)
    want = single.compute()
    for rank_result in ddp_results:
        _assert_same(rank_result[name], want)
