"""ClassBalancedSampler, BalancedBatchSampler and DistributedEvalSampler."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch
from scipy import stats
from torch.utils.data import DataLoader, TensorDataset

from weightwise.data import BalancedBatchSampler, ClassBalancedSampler, DistributedEvalSampler

ALPHA = 1e-3
LABELS = np.repeat(np.arange(4), [500, 100, 25, 5])  # 100:20:5:1 imbalance


@pytest.mark.parametrize("power", [0.0, 0.5, 1.0])
def test_class_frequencies_follow_n_c_to_the_power(power):
    s = ClassBalancedSampler(LABELS, power=power, num_samples=20_000, seed=1)
    idx = s.draw().numpy()
    counts = np.bincount(LABELS[idx], minlength=4)
    n_c = np.bincount(LABELS).astype(float)
    expected = n_c**power / (n_c**power).sum() * len(idx)
    assert stats.chisquare(counts, expected).pvalue > ALPHA
    np.testing.assert_allclose(s.class_probabilities, n_c**power / (n_c**power).sum())


def test_power_zero_is_uniform_over_classes_within_tolerance():
    idx = ClassBalancedSampler(LABELS, power=0.0, num_samples=20_000, seed=2).draw().numpy()
    freq = np.bincount(LABELS[idx], minlength=4) / 20_000
    se = math.sqrt(0.25 * 0.75 / 20_000)
    assert np.abs(freq - 0.25).max() < 4 * se


def test_uniform_within_a_class():
    idx = ClassBalancedSampler(LABELS, power=0.0, num_samples=20_000, seed=3).draw().numpy()
    within = np.bincount(idx, minlength=len(LABELS))[LABELS == 1]  # class 1: 100 items
    assert stats.chisquare(within).pvalue > ALPHA


def test_default_num_samples_and_absent_classes():
    y = np.array([0, 0, 2, 2, 2, 5])
    s = ClassBalancedSampler(y, seed=0)
    assert len(s) == 6
    np.testing.assert_array_equal(s.class_probabilities, [1 / 3, 0, 1 / 3, 0, 0, 1 / 3])
    idx = s.draw().numpy()
    assert set(y[idx].tolist()) <= {0, 2, 5}


def test_expected_coverage_closed_form_99_to_1():
    y = np.array([0] * 99 + [1])
    s = ClassBalancedSampler(y, power=0.0, seed=0)
    d = 100
    expected = (99 * (1 - (1 - 0.5 / 99) ** d) + (1 - 0.5**d)) / 100
    assert s.expected_coverage() == pytest.approx(expected, rel=1e-12)
    assert s.expected_coverage() < 0.41  # most majority items are never seen in an epoch


def test_class_balanced_validation():
    with pytest.raises(ValueError, match="labels must hold integer class indices"):
        ClassBalancedSampler([0, -1, 2])
    with pytest.raises(ValueError, match="power must be a finite real number; got nan"):
        ClassBalancedSampler([0, 1], power=float("nan"))
    with pytest.raises(ValueError, match="labels must be 1-D"):
        ClassBalancedSampler(np.zeros((2, 2), dtype=int))


# --------------------------------------------------------------------------- balanced batches


@pytest.mark.parametrize("classes_per_batch", [None, 2, 4])
def test_balanced_batches_are_exactly_balanced(classes_per_batch):
    s = BalancedBatchSampler(LABELS, batch_size=8, classes_per_batch=classes_per_batch, seed=0)
    p = classes_per_batch or 4
    assert len(s) == len(LABELS) // 8
    picks: Counter[int] = Counter()
    for batch in s:
        assert len(batch) == 8
        counts = Counter(LABELS[batch].tolist())
        assert len(counts) == p and set(counts.values()) == {8 // p}
        picks.update(counts.keys())
    assert max(picks.values()) - min(picks.values()) <= 1  # classes covered equally often


def test_balanced_batch_items_distinct_when_class_is_large_enough():
    s = BalancedBatchSampler(LABELS, batch_size=16, seed=1)  # 4 per class; class 3 has 5
    for batch in s:
        assert len(set(batch)) == 16
    small = BalancedBatchSampler([0] * 10 + [1] * 2, batch_size=6, seed=0)  # class 1 needs 3
    for batch in small:
        ones = [i for i in batch if i >= 10]
        assert len(ones) == 3 and set(ones) <= {10, 11}


def test_balanced_batch_walks_the_class_members():
    # class with 100 items, 2 per batch: distinct items until the class is exhausted once
    s = BalancedBatchSampler(LABELS, batch_size=8, seed=3)
    seen = [i for b in s for i in b if LABELS[i] == 1]
    assert len(set(seen[:100])) == min(100, len(seen))


def test_balanced_batch_epochs_and_ddp_round_robin():
    s = BalancedBatchSampler(LABELS, batch_size=8, seed=0)
    e0, e1 = list(s), list(s)
    assert e0 != e1
    s.set_epoch(0)
    assert list(s) == e0
    shares = [
        BalancedBatchSampler(LABELS, batch_size=8, seed=0, rank=r, world_size=3) for r in range(3)
    ]
    got = [list(x) for x in shares]
    nb = len(e0)
    length = -(-nb // 3)
    assert all(len(g) == length == len(x) for g, x in zip(got, shares, strict=True))
    flat = [got[p % 3][p // 3] for p in range(length * 3)]
    assert flat[:nb] == e0 and flat[nb:] == e0[: length * 3 - nb]
    dropped = [
        list(BalancedBatchSampler(LABELS, batch_size=8, rank=r, world_size=3, drop_last=True))
        for r in range(3)
    ]
    assert all(len(d) == nb // 3 for d in dropped)


def test_balanced_batch_coverage_is_the_fraction_of_distinct_items_drawn():
    s = BalancedBatchSampler(LABELS, batch_size=8, seed=0)
    s.set_epoch(2)
    drawn = {i for b in s for i in b}
    assert s.coverage(epoch=2) == len(drawn) / len(LABELS)
    # 78 batches x 2 items per class: class 0 (500 items) is covered at most 156 times
    assert s.coverage(epoch=2) <= (156 + 100 + 25 + 5) / len(LABELS)


def test_balanced_batch_sampler_with_dataloader():
    ds = TensorDataset(torch.from_numpy(LABELS))
    loader = DataLoader(ds, batch_sampler=BalancedBatchSampler(LABELS, batch_size=8, seed=0))
    for (yb,) in loader:
        assert torch.bincount(yb, minlength=4).tolist() == [2, 2, 2, 2]


def test_balanced_batch_validation():
    with pytest.raises(ValueError, match="batch_size must be a multiple of classes_per_batch=3"):
        BalancedBatchSampler(LABELS, batch_size=8, classes_per_batch=3)
    with pytest.raises(ValueError, match=r"must not exceed the number of classes present .*\(4\)"):
        BalancedBatchSampler(LABELS, batch_size=10, classes_per_batch=5)
    with pytest.raises(ValueError, match="batch_size must not exceed len"):
        BalancedBatchSampler([0, 1], batch_size=4)


# --------------------------------------------------------------------------- eval sampler


@pytest.mark.parametrize("n, world", [(10, 3), (7, 2), (2, 4), (9, 3)])
def test_eval_shares_disjoint_and_padding_weight_zero(n, world):
    samplers = [DistributedEvalSampler(n, rank=r, world_size=world) for r in range(world)]
    length = -(-n // world)
    real: list[int] = []
    pads = 0
    for s in samplers:
        idx, w = list(s), s.padding_weights()
        assert len(idx) == len(s) == length == w.shape[0] and w.dtype == torch.float32
        real.extend(i for i, wi in zip(idx, w.tolist(), strict=True) if wi == 1.0)
        pads += s.num_padding
        assert set(w.tolist()) <= {0.0, 1.0}
    assert sorted(real) == list(range(n))  # every item once, no item twice
    assert pads == length * world - n


def test_eval_weighted_mean_equals_single_process_exactly():
    n, world = 11, 4
    rng = np.random.default_rng(0)
    values, weights = rng.random(n), rng.random(n)
    num = den = 0.0
    for r in range(world):
        s = DistributedEvalSampler(n, rank=r, world_size=world)
        idx = np.array(list(s))
        w = weights[idx] * s.padding_weights().numpy()
        num += float((w * values[idx]).sum())
        den += float(w.sum())
    assert num / den == pytest.approx(float((weights * values).sum() / weights.sum()), rel=1e-12)


def test_eval_sampler_validation():
    with pytest.raises(ValueError, match="dataset_len must be a positive integer; got 0"):
        DistributedEvalSampler(0)


@pytest.mark.parametrize("power", [-1, -0.5, -1e-9])
def test_class_balanced_sampler_refuses_a_negative_power(power: float) -> None:
    with pytest.raises(ValueError, match=r"power must be >= 0 .*got -"):
        ClassBalancedSampler([0, 0, 1], power=power)
