"""Losses under ``torch.compile(fullgraph=True)`` in the default check mode.

Each loss of the registry in ``tests/test_common.py`` either traces into one graph (no graph
break, no recompilation when the weight *values* change, the eager result) or is listed in
``NOT_YET`` with the reason, so a new loss cannot skip this test. The graphs run on dynamo's
counting backend (the captured graph executed eagerly), which checks the tracing without paying
for code generation on every run of the suite.
"""

from __future__ import annotations

import functools

import pytest
import torch
from torch._dynamo.testing import CompileCounter

import weightwise.losses as L
from test_common import LOSS_CASES

#: Losses that do not trace into one graph yet, and why (issue 18 tracks them).
NOT_YET = {
    "logit_adjusted_cross_entropy": "prior/counts are checked with NumPy, traced as data-dependent",
    "ldam_loss": "counts are checked with NumPy, traced as data-dependent branches",
    "balanced_softmax_cross_entropy": "the logit-adjusted path (NumPy count checks)",
}
COMPILES = sorted(set(LOSS_CASES) - set(NOT_YET))


def test_every_loss_is_listed() -> None:
    assert set(COMPILES) | set(NOT_YET) == set(LOSS_CASES)
    assert set(NOT_YET) <= set(LOSS_CASES)


_CASES = [pytest.param(n, id=n) for n in COMPILES] + [
    pytest.param(n, id=n, marks=pytest.mark.xfail(reason=why, strict=True))
    for n, why in sorted(NOT_YET.items())
]


@pytest.mark.parametrize("name", _CASES)
def test_fullgraph_without_recompiling_for_new_weight_values(name: str) -> None:
    case = LOSS_CASES[name]
    fn = functools.partial(case.call or getattr(L, name), **case.options)
    x, t = case.data(6, 0)
    # float64 as the registry builds them (linear CE's head is float64 too)
    mask = case.weights == "mask"  # Lovász: 0/1 weights only

    def step(x: torch.Tensor, t: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return fn(x, t, sample_weight=w, reduction="weighted_mean")

    torch._dynamo.reset()
    counter = CompileCounter()
    compiled = torch.compile(step, backend=counter, fullgraph=True)
    for seed in range(3):  # new weight values, same shapes: one graph
        w = torch.rand(6, generator=torch.Generator().manual_seed(seed)) + 0.1
        if mask:
            w = (w > 0.4).float()
        xc = x.clone().requires_grad_()
        xe = x.clone().requires_grad_()
        out = compiled(xc, t, w)
        ref = step(xe, t, w)
        out.backward()
        ref.backward()
        torch.testing.assert_close(out, ref)
        torch.testing.assert_close(xc.grad, xe.grad)
    assert counter.frame_count == 1
