"""The weight invariants and streaming for every ranking and probabilistic metric:
unit = none, integer = repetition, zero = removal, scaling = unchanged, bad weights raise
naming the argument; many uneven batches equal one call on the concatenation."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from metrics_ranking_cases import CASES, Case, make_inputs

TOL = dict(rtol=1e-9, atol=1e-12, equal_nan=True)


def _run(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined classes warn; compared as nan here
        return fn(*args, **kwargs)


def _same(a: torch.Tensor, b: torch.Tensor) -> None:
    torch.testing.assert_close(a, b, **TOL)


SEEDS = st.integers(0, 2**31 - 1)


@pytest.mark.parametrize("case", CASES, ids=repr)
@settings(max_examples=12, deadline=None)
@given(n=st.integers(2, 25), seed=SEEDS)
def test_weight_invariants(case: Case, n: int, seed: int):
    p, t = make_inputs(case.kind, n, seed)
    g = np.random.default_rng(seed + 1)
    # unit weights equal no weights
    _same(
        _run(case.functional, p, t, torch.ones(n, dtype=torch.float64)), _run(case.functional, p, t)
    )
    # integer weights equal repeating samples (0 repetitions = removal)
    reps = torch.tensor(g.integers(0, 4, n))
    reps[0] = max(int(reps[0]), 1)
    rep = _run(case.functional, p.repeat_interleave(reps, 0), t.repeat_interleave(reps, 0))
    _same(_run(case.functional, p, t, reps.double()), rep)
    # zero weight equals removal (other weights arbitrary)
    w = torch.tensor(g.random(n) * 3)
    keep = torch.tensor(g.random(n) < 0.7)
    keep[0] = True
    _same(
        _run(case.functional, p, t, torch.where(keep, w, 0.0)),
        _run(case.functional, p[keep], t[keep], w[keep]),
    )
    # scaling every weight changes nothing
    _same(_run(case.functional, p, t, w * 3.7), _run(case.functional, p, t, w))


@pytest.mark.parametrize("case", CASES, ids=repr)
@pytest.mark.parametrize(
    "bad, match",
    [
        ("negative", r"sample_weight must be finite and non-negative; got -1\.0 at index 2"),
        ("nan", r"sample_weight must be finite and non-negative; got nan at index 2"),
        ("inf", r"sample_weight must be finite and non-negative; got inf at index 2"),
        ("length", r"sample_weight of shape \(5,\)"),
        ("column", r"sample_weight of shape \(6, 1\)"),
    ],
)
def test_bad_weights_raise_naming_the_argument(case: Case, bad: str, match: str):
    p, t = make_inputs(case.kind, 6, 0)
    w = torch.ones(6, dtype=torch.float64)
    if bad == "negative":
        w[2] = -1.0
    elif bad == "nan":
        w[2] = float("nan")
    elif bad == "inf":
        w[2] = float("inf")
    elif bad == "length":
        w = w[:5]
    else:
        w = w[:, None]
    with pytest.raises(ValueError, match=match):
        case.functional(p, t, w)
    m = case.stateful()
    with pytest.raises(ValueError, match=match):
        m.update(p, t, w)


@pytest.mark.parametrize("case", CASES, ids=repr)
@settings(max_examples=8, deadline=None)
@given(n=st.integers(3, 40), seed=SEEDS, cuts=st.lists(st.integers(0, 40), max_size=6))
def test_streaming_uneven_batches_equal_one_call(case: Case, n: int, seed: int, cuts: list[int]):
    p, t = make_inputs(case.kind, n, seed)
    w = torch.tensor(np.random.default_rng(seed).choice([0.0, 0.5, 1.0, 2.5], n))
    bounds = sorted({0, n, *(c % (n + 1) for c in cuts)})
    m = case.stateful()
    for lo, hi in itertools.pairwise(bounds):
        m.update(p[lo:hi], t[lo:hi], w[lo:hi])
    _same(_run(m.compute), _run(case.functional, p, t, w))
