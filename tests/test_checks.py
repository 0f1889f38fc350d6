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


# ---- check modes -------------------------------------------------------------------------------


def test_modes_switch_restore_and_refuse_unknown_names() -> None:
    import weightwise

    assert weightwise.get_checks() == "auto"
    with weightwise.checks("async"):
        assert weightwise.get_checks() == "async"
        with weightwise.no_checks():
            assert weightwise.get_checks() == "off" and not weightwise.checks_enabled()
        assert weightwise.get_checks() == "async"
    assert weightwise.get_checks() == "auto"
    weightwise.set_checks(False)
    assert weightwise.get_checks() == "off"
    weightwise.set_checks(True)
    assert weightwise.get_checks() == "auto"
    with pytest.raises(ValueError, match="mode must be one of 'auto', 'eager', 'async', 'off'"):
        weightwise.set_checks("lazy")  # type: ignore[arg-type]
    assert weightwise.get_checks() == "auto"


def test_auto_is_eager_on_cpu_and_async_raises_a_runtime_error_naming_the_argument() -> None:
    import weightwise
    from weightwise.losses import cross_entropy

    logits, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    bad = torch.tensor([1.0, -1.0, 1.0, 1.0])
    with pytest.raises(
        ValueError, match=r"sample_weight must be finite and non-negative; got -1.0"
    ):
        cross_entropy(logits, y, sample_weight=bad)
    with weightwise.checks("async"), pytest.raises(RuntimeError, match="sample_weight must be"):
        cross_entropy(logits, y, sample_weight=bad)
    with (
        weightwise.checks("async"),
        pytest.raises(RuntimeError, match=r"target must be in \[0, 3\)"),
    ):
        cross_entropy(logits, torch.tensor([0, 1, 5, 0]))
    with weightwise.checks("off"):
        cross_entropy(logits, y, sample_weight=bad)  # not checked: the caller asked for speed


def test_async_mode_reads_nothing_from_the_device() -> None:
    """In "async" mode the _checks value checks issue no scalar read (ATen level)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    import weightwise
    from weightwise._checks import check_finite_nonnegative, check_in_range, check_soft_target

    reads = {"_local_scalar_dense", "nonzero", "masked_select", "unique", "_unique2"}

    class CountReads(TorchDispatchMode):
        count = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.__name__.split(".")[0] in reads:
                CountReads.count += 1
            return func(*args, **(kwargs or {}))

    w, t = torch.rand(5, 3), torch.randint(0, 3, (5,))
    soft = torch.softmax(torch.randn(5, 3), dim=1)
    with weightwise.checks("async"), CountReads():
        check_finite_nonnegative(w, "sample_weight")
        check_in_range(t, 3, ignore_index=-100)
        check_soft_target(soft)
    assert CountReads.count == 0
    with weightwise.checks("eager"), CountReads():  # the same checks read the device eagerly
        check_finite_nonnegative(w, "sample_weight")
    assert CountReads.count > 0
