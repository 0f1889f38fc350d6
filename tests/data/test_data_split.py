"""stratified_split: a partition, largest-remainder sizes per class, every class in every part."""

from __future__ import annotations

import math

import numpy as np
import pytest

from weightwise.data import stratified_split
from weightwise.data._split import class_part_sizes


def _largest_remainder(n, fractions):
    exact = [n * f for f in fractions]
    sizes = [math.floor(e) for e in exact]
    for j in sorted(range(len(exact)), key=lambda j: (sizes[j] - exact[j], j))[: n - sum(sizes)]:
        sizes[j] += 1
    return sizes


def test_partition_with_per_class_largest_remainder_sizes():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 997)
    fractions = (0.7, 0.2, 0.1)
    parts = stratified_split(y, fractions=fractions, seed=3)
    assert all(p.dtype == np.int64 for p in parts)
    allidx = np.concatenate(parts)
    assert sorted(allidx.tolist()) == list(range(len(y)))  # a partition
    for c in range(5):
        n_c = int((y == c).sum())
        got = [int((y[p] == c).sum()) for p in parts]
        assert got == _largest_remainder(n_c, fractions)  # all parts non-empty here


def test_small_class_still_in_every_part_when_it_can_be():
    y = np.array([0] * 50 + [1] * 5)
    parts = stratified_split(y, fractions=(0.8, 0.1, 0.1), seed=0)
    assert [int((y[p] == 1).sum()) for p in parts] == [3, 1, 1]
    assert class_part_sizes(5, [0.8, 0.1, 0.1]) == [3, 1, 1]


def test_too_small_class_fills_parts_in_order_and_warns():
    y = np.array([0] * 30 + [1] * 2 + [2])
    with pytest.warns(UserWarning, match=r"classes \[1, 2\] have fewer items than the 3"):
        parts = stratified_split(y, seed=0)
    assert [int((y[p] == 1).sum()) for p in parts] == [1, 1, 0]
    assert [int((y[p] == 2).sum()) for p in parts] == [1, 0, 0]


def test_zero_fraction_parts_stay_empty_and_weights_travel():
    y = np.repeat([0, 1], [6, 4])
    w = np.arange(10, dtype=float)
    a, b, c = stratified_split(y, fractions=(0.5, 0.0, 0.5), seed=1)
    assert b.size == 0
    assert sorted(w[a].tolist() + w[c].tolist()) == w.tolist()


def test_seed_changes_and_repeats_the_split():
    y = np.repeat([0, 1, 2], 20)
    a = stratified_split(y, seed=0)
    assert all(np.array_equal(p, q) for p, q in zip(a, stratified_split(y, seed=0), strict=True))
    assert not all(
        np.array_equal(p, q) for p, q in zip(a, stratified_split(y, seed=1), strict=True)
    )


@pytest.mark.parametrize(
    "fractions, fragment",
    [
        ((0.5, 0.6), "fractions must sum to 1; got a sum of 1.1"),
        ((1.5, -0.5), r"fractions must be finite and non-negative; got -0\.5 at index 1"),
        ((), "at least one value"),
    ],
)
def test_split_validation(fractions, fragment):
    with pytest.raises(ValueError, match=fragment):
        stratified_split([0, 1, 1], fractions=fractions)
