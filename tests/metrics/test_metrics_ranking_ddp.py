"""Ranking and probabilistic metrics under 2 gloo processes: the synchronised exact (list
states, concatenated) and binned (histogram states, summed) values equal the single-process
value on the global data, with weight-0 padding on the shorter rank."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from metrics_ranking_cases import CASES, Case, global_data

from ddp_util import run_ddp_workers

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def ddp_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = tmp_path_factory.mktemp("ddp_ranking")
    run_ddp_workers(HERE / "metrics_ranking_ddp_worker.py", out, world=2)
    return [torch.load(out / f"rank{r}.pt") for r in range(2)]


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_synced_value_equals_single_process(ddp_results: list[dict], case: Case):
    p, t, w = global_data(case.kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = case.functional(p, t, w)
    for rank_result in ddp_results:
        torch.testing.assert_close(
            rank_result[case.name], expected, rtol=1e-9, atol=1e-12, equal_nan=True
        )
