"""The one-pass fast test of large CPU tensors (``_checks._bits_below``) agrees with the plain
comparisons it replaces, for every dtype it handles, and the checks built on it still name the
first bad position."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from weightwise import _checks
from weightwise._checks import check_finite_nonnegative, check_in_range

BIG = _checks._TORCH_GRAIN + 7
INTS = [torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8]
FLOATS = [torch.float32, torch.float64]


@settings(max_examples=60, deadline=None)
@given(
    dtype=st.sampled_from(INTS),
    bad=st.integers(-(2**62), 2**62),
    pos=st.integers(0, BIG - 1),
    classes=st.integers(1, 2**40),
)
def test_integers_agree_with_the_range_comparison(dtype, bad, pos, classes):
    info = torch.iinfo(dtype)
    value = int(np.clip(bad, info.min, info.max))
    x = torch.zeros(BIG, dtype=dtype)
    x[pos] = value
    wide = x.to(torch.int64)  # (an int8 tensor compared with 128 wraps the 128)
    expected = bool(((wide >= 0) & (wide < classes)).all())
    assert _checks._bits_below(x, classes) is expected
    assert _checks._bits_below(x, float("inf")) is bool((x >= 0).all())


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (0.0, True),
        (3.5, True),
        (3e38, True),  # near float32's largest
        (float("inf"), False),
        (float("nan"), False),
        (-float("nan"), False),
        (-1e-30, False),
        (-float("inf"), False),
    ],
)
def test_floats_agree_with_finite_and_non_negative(dtype, value, ok):
    x = torch.rand(BIG, dtype=dtype)
    x[BIG // 2] = value
    assert bool((torch.isfinite(x) & (x >= 0)).all()) is ok
    assert _checks._bits_below(x, float("inf")) is ok


def test_small_accelerator_and_other_dtypes_are_left_to_the_bounds():
    assert _checks._bits_below(torch.zeros(8), float("inf")) is None
    assert _checks._bits_below(torch.zeros(BIG, dtype=torch.float16), float("inf")) is None
    assert _checks._bits_below(torch.zeros(BIG, device="meta"), float("inf")) is None


def test_negative_zero_is_a_false_alarm_the_elementwise_check_accepts():
    x = torch.rand(BIG)
    x[5] = -0.0
    assert _checks._bits_below(x, float("inf")) is False
    check_finite_nonnegative(x, "sample_weight")  # no error: -0.0 >= 0


def test_large_inputs_still_name_the_first_bad_position():
    w = torch.rand(BIG)
    w[BIG - 3] = -1.0
    with pytest.raises(ValueError, match=rf"sample_weight .*got -1.0 at index {BIG - 3}"):
        check_finite_nonnegative(w, "sample_weight")
    t = torch.randint(0, 10, (BIG,))
    t[7] = -3
    with pytest.raises(ValueError, match=r"target must be in \[0, 10\); got -3 at index 7"):
        check_in_range(t, 10)
    t[7] = -100
    check_in_range(t, 10, ignore_index=-100)  # allowed


def test_non_contiguous_views_are_read_correctly():
    x = torch.zeros(BIG, 2, dtype=torch.int64)
    x[:, 1] = -1  # only the strided column below holds bad values
    assert _checks._bits_below(x[:, 0], 10) is True
    assert _checks._bits_below(x[:, 1], 10) is False
    assert _checks._bits_below(x.t(), 10) is False
