"""Samplers under a real 2-process gloo group: rank and world size read from the group, shares
disjoint in position and their union exactly the single-process draw (DECISIONS §7)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from data_ddp_worker import CONFIGS, LABELS, WEIGHTS

from ddp_util import run_ddp_workers
from weightwise.data import (
    BalancedBatchSampler,
    ClassBalancedSampler,
    DistributedEvalSampler,
    WeightedSampler,
)

HERE = Path(__file__).parent
WORLD = 2


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = tmp_path_factory.mktemp("data_ddp")
    run_ddp_workers(HERE / "data_ddp_worker.py", out, world=WORLD)
    return [torch.load(out / f"rank{r}.pt") for r in range(WORLD)]


def _interleave(shares: list[list[int]]) -> list[int]:
    out: list[int] = []
    for i in range(len(shares[0])):
        out.extend(sh[i] for sh in shares)
    return out


@pytest.mark.parametrize("name", list(CONFIGS))
def test_weighted_sampler_shares_from_process_group(ranks, name):
    kw = CONFIGS[name]
    got = [r[name] for r in ranks]
    assert [g["rank"] for g in got] == [0, 1] and all(g["world"] == WORLD for g in got)
    m = kw["num_samples"]
    length = m // WORLD if kw.get("drop_last") else -(-m // WORLD)
    assert all(g["len"] == length == len(g["idx"]) for g in got)
    union = _interleave([g["idx"] for g in got])
    replacement = kw.get("replacement", True)
    draw_size = length * WORLD if replacement and not kw.get("drop_last") else m
    single = WeightedSampler(WEIGHTS, draw_size, replacement=replacement, seed=3)
    expected = single.draw(epoch=2).tolist()
    if kw.get("drop_last"):
        expected = expected[: length * WORLD]
    elif not replacement:
        expected = expected + expected[: length * WORLD - m]
    assert union == expected
    assert all(WEIGHTS[i] > 0 for i in union)
    if not replacement:
        real = [set(g["idx"][: (m - r + WORLD - 1) // WORLD]) for r, g in enumerate(got)]
        assert not (real[0] & real[1]) and len(real[0] | real[1]) == m


def test_all_ranks_see_the_same_global_draw(ranks):
    for r in ranks:
        gathered = [g.tolist() for g in r["gathered"]]
        assert gathered == [ranks[k]["replacement_even"]["idx"] for k in range(WORLD)]


def test_class_balanced_and_balanced_batch_shares(ranks):
    # 101 labels over 2 ranks: a global draw of 2 * 51 i.i.d. items
    single = ClassBalancedSampler(LABELS, power=0.5, num_samples=102, seed=3).draw(epoch=2)
    assert _interleave([r["class_balanced"] for r in ranks]) == single.tolist()
    bb = BalancedBatchSampler(LABELS, batch_size=8, seed=3)
    bb.set_epoch(2)
    batches = list(bb)
    got = [r["balanced_batches"] for r in ranks]
    assert got[0] == batches[0::2] and got[1] == batches[1::2]


def test_eval_sampler_weighted_sum_equals_single_process(ranks):
    values = np.random.default_rng(5).random(101)
    weights = np.random.default_rng(6).random(101)
    total = 0.0
    real: list[int] = []
    for r in ranks:
        idx, pad_w = np.array(r["eval"]["idx"]), r["eval"]["w"].numpy()
        total += float((values[idx] * weights[idx] * pad_w).sum())
        real.extend(idx[pad_w > 0].tolist())
    assert total == pytest.approx(float((values * weights).sum()), rel=1e-12)
    assert sorted(real) == list(range(101))
    expected_len = len(DistributedEvalSampler(101, rank=0, world_size=WORLD))
    assert [len(r["eval"]["idx"]) for r in ranks] == [expected_len] * WORLD
