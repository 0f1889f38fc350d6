"""``recency``: one timestamp per sample (2-D refused) and a ``unit=`` for numeric half-lives."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from weightwise.weights import recency

DAYS = np.array(["2024-01-01", "2024-01-04", "2024-01-08"], dtype="datetime64[D]")
AGE_DAYS = np.array([7.0, 4.0, 0.0])


@pytest.mark.parametrize(
    ("half_life", "unit", "days"),
    [(7, "D", 7.0), (1.5, "D", 1.5), (1, "W", 7.0), (36, "h", 1.5), (86400 * 2, None, 2.0)],
)
def test_numeric_half_life_in_a_unit(half_life: float, unit: str | None, days: float) -> None:
    np.testing.assert_allclose(
        recency(DAYS, half_life=half_life, unit=unit), 0.5 ** (AGE_DAYS / days), rtol=1e-12
    )


def test_a_timedelta_half_life_equals_the_unit_form() -> None:
    expected = recency(DAYS, half_life=7, unit="D")
    np.testing.assert_allclose(recency(DAYS, half_life=dt.timedelta(days=7)), expected)
    np.testing.assert_allclose(recency(DAYS, half_life=pd.Timedelta("7D")), expected)
    np.testing.assert_allclose(recency(DAYS, half_life=np.timedelta64(168, "h")), expected)


def test_numbers_keep_their_default_behaviour() -> None:
    np.testing.assert_allclose(recency([0.0, 10.0, 20.0], half_life=10.0), [0.25, 0.5, 1.0])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: recency(np.zeros((2, 3)), half_life=1.0), r"timestamps must be 1-D.*\(2, 3\)"),
        (
            lambda: recency(np.tile(DAYS, (2, 1)), half_life=dt.timedelta(days=1)),
            r"timestamps must be 1-D.*\(2, 3\)",
        ),
        (lambda: recency([1.0, 2.0], half_life=1, unit="D"), "datetime timestamps only"),
        (
            lambda: recency(DAYS, half_life=dt.timedelta(days=1), unit="D"),
            "applies to a numeric half_life",
        ),
        (lambda: recency(DAYS, half_life=1, unit="days"), "unit must be one of 'W', 'D'"),
        (lambda: recency(DAYS, half_life=-1, unit="D"), "half_life must be positive"),
    ],
)
def test_recency_refuses(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
