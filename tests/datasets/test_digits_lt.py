"""load_digits_lt: balanced held-out sets, exponential training profile, reproducible split."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from weightwise.datasets import LongTailedData, load_digits_lt, long_tail_counts


def _expected_counts(n_max: int, num_classes: int, ratio: float) -> list[int]:
    # n_i = n_max · ρ^(-i/(C-1)), rounded down, at least 1
    return [
        max(1, math.floor(n_max * ratio ** (-i / (num_classes - 1)) + 1e-9))
        for i in range(num_classes)
    ]


@pytest.fixture(scope="module")
def default_split() -> LongTailedData:
    return load_digits_lt()


def _digit_class_sizes() -> np.ndarray:
    from sklearn.datasets import load_digits

    return np.bincount(load_digits().target)


def test_dtypes_shapes_and_range(default_split: LongTailedData) -> None:
    d = default_split
    for X, y in ((d.X_train, d.y_train), (d.X_val, d.y_val), (d.X_test, d.y_test)):
        assert X.dtype == np.float32 and y.dtype == np.int64
        assert X.ndim == 2 and X.shape[1] == 64 and X.shape[0] == y.shape[0]
        assert X.min() >= 0.0 and X.max() <= 1.0
    assert d.X_train.max() == 1.0
    assert d.class_names == tuple(str(c) for c in range(10))
    assert d.num_classes == 10
    assert d.counts.dtype == np.int64
    np.testing.assert_array_equal(d.counts, np.bincount(d.y_train, minlength=10))


def test_held_out_sets_are_balanced(default_split: LongTailedData) -> None:
    assert np.bincount(default_split.y_val, minlength=10).tolist() == [30] * 10
    assert np.bincount(default_split.y_test, minlength=10).tolist() == [30] * 10


@pytest.mark.parametrize("ratio", [1.0, 10.0, 100.0, 1000.0])
def test_training_counts_follow_exponential_profile(ratio: float) -> None:
    d = load_digits_lt(imbalance_ratio=ratio, val_per_class=20, test_per_class=25)
    n_max = int(_digit_class_sizes().min()) - 20 - 25
    assert d.counts.tolist() == _expected_counts(n_max, 10, ratio)
    assert d.counts[0] == n_max
    assert np.all(np.diff(d.counts) <= 0)
    assert d.counts.min() >= 1


def test_default_counts_are_documented_values(default_split: LongTailedData) -> None:
    n_max = int(_digit_class_sizes().min()) - 60
    assert default_split.counts.tolist() == _expected_counts(n_max, 10, 10.0)
    assert default_split.counts.tolist() == [114, 88, 68, 52, 40, 31, 24, 19, 14, 11]


def test_splits_are_disjoint(default_split: LongTailedData) -> None:
    # Map every returned row back to its index (or indices, for duplicate images) in the
    # full data set; no index may appear in two splits.
    from sklearn.datasets import load_digits

    full = (load_digits().data / 16.0).astype(np.float32)
    lookup: dict[bytes, list[int]] = {}
    for i, row in enumerate(full):
        lookup.setdefault(row.tobytes(), []).append(i)

    def indices(X: np.ndarray) -> set[int]:
        out: set[int] = set()
        for row in X:
            out.update(lookup[row.tobytes()])
        return out

    d = default_split
    train, val, test = indices(d.X_train), indices(d.X_val), indices(d.X_test)
    assert not (train & val) and not (train & test) and not (val & test)


def test_same_seed_same_split_other_seed_other_split() -> None:
    a, b = load_digits_lt(seed=3), load_digits_lt(seed=3)
    for name in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test", "counts"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    c = load_digits_lt(seed=4)
    np.testing.assert_array_equal(a.counts, c.counts)
    assert not np.array_equal(a.X_train, c.X_train)


def test_split_is_frozen(default_split: LongTailedData) -> None:
    with pytest.raises(AttributeError):
        default_split.counts = np.zeros(10)  # type: ignore[misc]


@pytest.mark.parametrize("ratio", [0.5, 0.0, -3.0, float("nan"), float("inf")])
def test_bad_imbalance_ratio_raises(ratio: float) -> None:
    with pytest.raises(ValueError, match="imbalance_ratio"):
        load_digits_lt(imbalance_ratio=ratio)


def test_held_out_sets_too_large_raise() -> None:
    with pytest.raises(ValueError, match="leaves none for training"):
        load_digits_lt(val_per_class=100, test_per_class=100)
    with pytest.raises(ValueError, match="val_per_class"):
        load_digits_lt(val_per_class=-1)


def test_zero_held_out_uses_all_of_the_smallest_class() -> None:
    d = load_digits_lt(imbalance_ratio=1.0, val_per_class=0, test_per_class=0)
    assert d.X_val.shape == (0, 64) and d.y_test.shape == (0,)
    assert d.counts.tolist() == [int(_digit_class_sizes().min())] * 10


@given(
    n_max=st.integers(1, 5000),
    num_classes=st.integers(2, 200),
    ratio=st.floats(1.0, 1e4, allow_nan=False),
)
def test_long_tail_counts_profile(n_max: int, num_classes: int, ratio: float) -> None:
    counts = long_tail_counts(n_max, num_classes, ratio)
    assert counts.tolist() == _expected_counts(n_max, num_classes, ratio)
    assert counts[0] == n_max and counts.min() >= 1
    assert np.all(np.diff(counts) <= 0)


def test_long_tail_counts_edge_cases() -> None:
    assert long_tail_counts(100, 3, 100.0).tolist() == [100, 10, 1]
    assert long_tail_counts(7, 1, 50.0).tolist() == [7]
    with pytest.raises(ValueError):
        long_tail_counts(0, 3, 2.0)


def test_importing_weightwise_does_not_load_the_cli_stack() -> None:
    import subprocess

    code = (
        "import sys, weightwise; "
        "heavy = [m for m in ('sklearn', 'pandas', 'typer', 'rich', 'weightwise.datasets', "
        "'weightwise.cli') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
