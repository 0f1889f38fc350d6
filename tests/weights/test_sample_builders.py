"""Sample-weight builders against scikit-learn and closed forms."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils.class_weight import compute_sample_weight

from weightwise.weights import (
    class_weights,
    clip,
    effective_sample_size,
    from_class_weights,
    inverse_variance,
    normalize,
    recency,
)

RNG = np.random.default_rng(1)

# zeros and normal floats (the closed forms written in the tests underflow on subnormals)
weight_lists = st.lists(st.one_of(st.just(0.0), st.floats(1e-100, 1e6)), min_size=1, max_size=40)


# --- from_class_weights --------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=60))
def test_balanced_sample_weights_match_sklearn(labels: list[int]) -> None:
    y = np.asarray(labels)
    # relabel to 0..K-1 so that every class is present
    _, y = np.unique(y, return_inverse=True)
    expected = compute_sample_weight("balanced", y)
    got = from_class_weights(y, class_weights(y))
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got.mean() == pytest.approx(1.0, rel=1e-12)  # the "samples" normalisation


def test_from_class_weights_array_dict_and_types() -> None:
    y = [2, 0, 1, 1, 2]
    cw = [0.5, 2.0, 4.0]
    expected = np.array([4.0, 0.5, 2.0, 2.0, 4.0])
    for labels in (y, np.asarray(y), torch.tensor(y), pd.Series(y)):
        got = from_class_weights(labels, cw)
        assert isinstance(got, np.ndarray) and got.dtype == np.float64
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(from_class_weights(y, torch.tensor(cw)), expected)
    np.testing.assert_array_equal(from_class_weights(y, dict(enumerate(cw))), expected)
    # a dict may skip classes that y does not use, and use numpy integer keys
    np.testing.assert_array_equal(
        from_class_weights([7, 3, 7], {np.int64(3): 1.5, 7: 0.0}), [0.0, 1.5, 0.0]
    )


def test_from_class_weights_keeps_the_label_shape() -> None:
    masks = RNG.integers(0, 3, size=(2, 4, 5))
    cw = np.array([0.1, 1.0, 10.0])
    got = from_class_weights(masks, cw)
    assert got.shape == masks.shape
    np.testing.assert_array_equal(got, cw[masks])


# --- recency -------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30),
    st.floats(1e-3, 1e4),
    st.floats(0.0, 1e5),
)
def test_recency_closed_form(times: list[float], half_life: float, lead: float) -> None:
    t = np.asarray(times)
    now = float(t.max()) + lead
    got = recency(t, half_life=half_life, now=now)
    np.testing.assert_allclose(got, 0.5 ** ((now - t) / half_life), rtol=1e-12, atol=1e-300)
    # now=None means the newest timestamp, which gets weight 1
    default = recency(t, half_life=half_life)
    np.testing.assert_allclose(default, 0.5 ** ((t.max() - t) / half_life), rtol=1e-12)
    assert default[np.argmax(t)] == 1.0


def test_recency_half_life_semantics() -> None:
    np.testing.assert_allclose(recency([0, 10, 20, 30], half_life=10), [0.125, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(recency([0, 5], half_life=10, now=10), [0.5, 2**-0.5])


def test_recency_with_datetimes() -> None:
    days = np.array(["2024-01-01", "2024-01-08", "2024-01-15"], dtype="datetime64[D]")
    expected = np.array([0.25, 0.5, 1.0])  # ages 14, 7, 0 days, half-life 7 days
    week = 7 * 86400
    for half_life in (
        np.timedelta64(7, "D"),
        pd.Timedelta(days=7),
        dt.timedelta(weeks=1),
        week,
        float(week),
    ):
        np.testing.assert_allclose(recency(days, half_life=half_life), expected, rtol=1e-12)
    # pandas, naive and time-zone aware, and Python datetimes
    naive = pd.Series(pd.to_datetime(days))
    np.testing.assert_allclose(recency(naive, half_life=pd.Timedelta("7D")), expected)
    aware = pd.Series(pd.to_datetime(days).tz_localize("Europe/Paris"))
    np.testing.assert_allclose(recency(aware, half_life=pd.Timedelta("7D")), expected)
    np.testing.assert_allclose(
        recency(pd.DatetimeIndex(aware), half_life=pd.Timedelta("7D")), expected
    )
    pydt = [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 8), dt.datetime(2024, 1, 15)]
    np.testing.assert_allclose(recency(pydt, half_life=dt.timedelta(days=7)), expected)
    # an explicit now, one more half-life later, halves everything
    for now in (
        np.datetime64("2024-01-22"),
        pd.Timestamp("2024-01-22"),
        dt.datetime(2024, 1, 22),
        pd.Timestamp("2024-01-22 01:00", tz="Europe/Paris"),  # 00:00 UTC
    ):
        np.testing.assert_allclose(
            recency(days, half_life=np.timedelta64(7, "D"), now=now), expected / 2, rtol=1e-12
        )


def test_recency_integer_timestamps_are_exact() -> None:
    base = 1_700_000_000_000_000_000  # nanoseconds since the epoch
    t = np.array([base, base + 1], dtype=np.int64)
    with pytest.raises(ValueError, match=r"timestamps.*later than now.*index 1"):
        recency(t, half_life=1e9, now=base)
    np.testing.assert_allclose(recency(t, half_life=1.0, now=base + 1), [0.5, 1.0])


# --- inverse_variance ----------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(1e-6, 1e6), min_size=1, max_size=30))
def test_inverse_variance_closed_form(stds: list[float]) -> None:
    s = np.asarray(stds)
    np.testing.assert_allclose(inverse_variance(s), 1.0 / s**2, rtol=1e-12)
    np.testing.assert_allclose(inverse_variance(torch.tensor(s)), 1.0 / s**2, rtol=1e-12)


# --- clip / normalize / effective_sample_size ----------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(weight_lists, st.floats(1.0, 100.0))
def test_clip_closed_form(weights: list[float], ratio: float) -> None:
    w = np.asarray(weights)
    got = clip(w, max_ratio=ratio)
    positive = w[w > 0]
    if positive.size == 0:
        np.testing.assert_array_equal(got, w)
        return
    smallest = positive.min()
    np.testing.assert_array_equal(got, np.minimum(w, ratio * smallest))
    assert got.max() <= ratio * smallest * (1 + 1e-12)
    np.testing.assert_array_equal(got == 0, w == 0)  # zeros stay, nothing renormalised
    assert got[w == smallest][0] == smallest


def test_clip_by_hand() -> None:
    np.testing.assert_array_equal(clip([0.0, 2.0, 5.0, 100.0], max_ratio=3), [0.0, 2.0, 5.0, 6.0])
    np.testing.assert_array_equal(clip([1.0, 9.0], max_ratio=float("inf")), [1.0, 9.0])
    np.testing.assert_array_equal(clip([3.0, 9.0], max_ratio=1), [3.0, 3.0])


@settings(max_examples=50, deadline=None)
@given(weight_lists.filter(lambda w: max(w) > 0))
def test_normalize_closed_form(weights: list[float]) -> None:
    w = np.asarray(weights)
    got = normalize(w)
    assert got.sum() == pytest.approx(w.size, rel=1e-12)  # Σw = N, zeros counted
    np.testing.assert_allclose(got, w * w.size / w.sum(), rtol=1e-12, atol=1e-300)


def test_normalize_keeps_shape_and_handles_huge_weights() -> None:
    got = normalize(np.full((2, 3), 1e308))
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got, 1.0)


@settings(max_examples=50, deadline=None)
@given(weight_lists.filter(lambda w: max(w) > 0), st.floats(1e-3, 1e3))
def test_effective_sample_size_closed_form(weights: list[float], scale: float) -> None:
    w = np.asarray(weights)
    ess = effective_sample_size(w)
    assert isinstance(ess, float)
    assert ess == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-9)
    assert effective_sample_size(w * scale) == pytest.approx(ess, rel=1e-9)
    assert 1.0 - 1e-9 <= ess <= w.size + 1e-9


@pytest.mark.parametrize("n", [1, 2, 17, 1000])
def test_effective_sample_size_extremes(n: int) -> None:
    assert effective_sample_size(np.full(n, 0.3)) == pytest.approx(n, rel=1e-12)
    one = np.zeros(n)
    one[n // 2] = 5.0
    assert effective_sample_size(one) == 1.0
    assert effective_sample_size(np.zeros(n)) == 0.0
    assert effective_sample_size([]) == 0.0


# --- bad inputs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "needles"),
    [
        (lambda: from_class_weights([0, 1, 3], [1.0, 2.0, 3.0]), ["y", "[0, 3)", "3", "index 2"]),
        (lambda: from_class_weights([0, -1], [1.0, 2.0]), ["y", "-1", "index 1"]),
        (lambda: from_class_weights([0, 1], [1.0, -2.0]), ["class_weight", "-2.0", "index 1"]),
        (lambda: from_class_weights([0, 1], [1.0, np.nan]), ["class_weight", "nan", "index 1"]),
        (lambda: from_class_weights([0, 1], [[1.0, 2.0]]), ["class_weight", "(1, 2)"]),
        (lambda: from_class_weights([0, 5], {0: 1.0}), ["class_weight", "class 5", "index 1"]),
        (lambda: from_class_weights([0, 1], {0: 1.0, 1: -3.0}), ["class_weight", "-3.0"]),
        (lambda: from_class_weights([0], {"a": 1.0}), ["class_weight", "'a'"]),
        (lambda: recency([1, 2, 3], half_life=1, now=2), ["timestamps", "now=2", "3", "index 2"]),
        (lambda: recency([1.0, 2.0], half_life=0), ["half_life", "0"]),
        (lambda: recency([1.0, 2.0], half_life=-3.0), ["half_life", "-3.0"]),
        (lambda: recency([1.0, 2.0], half_life=float("nan")), ["half_life", "nan"]),
        (lambda: recency([1.0, np.inf], half_life=1.0), ["timestamps", "inf", "index 1"]),
        (
            lambda: recency(np.array(["2024-01-01", "NaT"], dtype="datetime64[D]"), half_life=1),
            ["timestamps", "NaT", "index 1"],
        ),
        (
            lambda: recency(
                np.array(["2024-01-01", "2024-02-01"], dtype="datetime64[D]"),
                half_life=np.timedelta64(1, "D"),
                now=np.datetime64("2024-01-15"),
            ),
            ["timestamps", "2024-02-01", "index 1", "2024-01-15"],
        ),
        (
            lambda: recency([1.0, 2.0], half_life=np.timedelta64(1, "s")),
            ["half_life", "timedelta", "timestamps"],
        ),
        (
            lambda: recency(
                np.array(["2024-01-01"], dtype="datetime64[D]"), half_life=1.0, now=5.0
            ),
            ["now", "5.0", "datetimes"],
        ),
        (lambda: recency(["a", "b"], half_life=1.0), ["timestamps", "numbers or datetimes", "'a'"]),
        (lambda: inverse_variance([1.0, 0.0]), ["std", "0.0", "index 1"]),
        (lambda: inverse_variance([1.0, -2.0]), ["std", "-2.0", "index 1"]),
        (lambda: inverse_variance([np.nan, 1.0]), ["std", "nan", "index 0"]),
        (lambda: inverse_variance([[1.0, np.inf]]), ["std", "inf", "index (0, 1)"]),
        (lambda: inverse_variance([1e-200]), ["std", "1e-200", "index 0"]),
        (lambda: clip([1.0, -1.0], max_ratio=2), ["weights", "-1.0", "index 1"]),
        (lambda: clip([1.0, 2.0], max_ratio=0.5), ["max_ratio", "0.5"]),
        (lambda: clip([1.0, 2.0], max_ratio=float("nan")), ["max_ratio", "nan"]),
        (lambda: normalize([0.0, 0.0]), ["weights", "zero"]),
        (lambda: normalize([]), ["weights", "empty"]),
        (lambda: normalize([1.0, 2.0, 3.0, -1.0]), ["weights", "-1.0", "index 3"]),
        (lambda: normalize([1.0, np.inf]), ["weights", "inf", "index 1"]),
        (lambda: effective_sample_size([1.0, np.nan]), ["weights", "nan", "index 1"]),
        (lambda: effective_sample_size([[1.0, -0.5]]), ["weights", "-0.5", "index (0, 1)"]),
    ],
)
def test_builders_bad_input(call: object, needles: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        call()  # type: ignore[operator]
    for needle in needles:
        assert needle in str(info.value), (needle, str(info.value))
