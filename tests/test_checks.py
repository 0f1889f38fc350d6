"""weightwise._checks: wrong types raise DTypeError (a TypeError that is also a ValueError)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from weightwise._checks import (
    DTypeError,
    as_tensor,
    check_nonnegative_int,
    check_positive_int,
    check_real,
)
from weightwise.weights import class_weight_map, recency


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: check_positive_int(2.5, "epochs"), "epochs must be a positive integer; got 2.5"),
        (lambda: check_positive_int(True, "k"), "k must be a positive integer; got True"),
        (lambda: check_nonnegative_int("3", "seed"), "seed must be a non-negative integer"),
        (lambda: check_real("x", "beta"), "beta must be a real number; got 'x'"),
        (lambda: as_tensor(["a", "b"], name="preds"), "preds must be numeric; got an array"),
        (lambda: as_tensor(np.array([1j]), name="w"), "w must be real; got dtype complex128"),
        (
            lambda: as_tensor(torch.tensor([1j]), name="w", like=torch.zeros(1)),
            "w must be real; got dtype torch.complex64",
        ),
        (lambda: class_weight_map(np.array([["a"]]), [1.0]), "mask must hold integer class"),
        (
            lambda: recency(np.array(["a"]), half_life=1.0),
            "timestamps must be numbers or datetimes",
        ),
    ],
)
def test_wrong_types_raise_a_type_error_that_is_also_a_value_error(call, message) -> None:
    with pytest.raises(TypeError, match=message) as info:
        call()
    assert isinstance(info.value, ValueError) and isinstance(info.value, DTypeError)


def test_wrong_values_stay_value_errors() -> None:
    with pytest.raises(ValueError, match="epochs must be a positive integer; got 0") as info:
        check_positive_int(0, "epochs")
    assert not isinstance(info.value, TypeError)


def test_as_tensor_converts_straight_to_the_target_dtype() -> None:
    # A Python float64 weight must not be rounded through float32 on its way to float64.
    x = 0.1 + 1e-12
    t = as_tensor([x], name="w", like=torch.zeros(1, dtype=torch.float64))
    assert t.dtype == torch.float64 and t.item() == x
