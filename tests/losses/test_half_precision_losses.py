"""Every registry loss accepts float16 / bfloat16 logits (issue 18, point 5).

The oracle is the same loss in float64 on the same (rounded) inputs, whose values are checked
against PyTorch, torchvision and the papers' formulas elsewhere; the tolerance scales with the
half dtype's eps. The gradient must be finite and in the logits' dtype.
"""

from __future__ import annotations

import functools

import pytest
import torch

import weightwise.losses as L
from test_common import LOSS_CASES

#: Called with a float64 head of its own (the registry's caller), so not castable here.
OWN_HEAD = {"linear_cross_entropy"}


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["fp16", "bf16"])
@pytest.mark.parametrize("name", sorted(set(LOSS_CASES) - OWN_HEAD))
def test_half_precision_matches_float64(name: str, dtype: torch.dtype) -> None:
    case = LOSS_CASES[name]
    fn = functools.partial(case.call or getattr(L, name), **case.options)
    x, t = case.data(6, 0)
    w = torch.rand(6, generator=torch.Generator().manual_seed(0), dtype=torch.float64) + 0.1
    if case.weights == "mask":
        w = (w > 0.4).to(w.dtype)
    xh = x.to(dtype).requires_grad_()
    th = t.to(dtype) if t.is_floating_point() else t
    wh = w.to(dtype)
    out = fn(xh, th, sample_weight=wh, reduction="weighted_mean")
    ref = fn(
        xh.detach().double(), th.double() if th.is_floating_point() else th,
        sample_weight=wh.double(), reduction="weighted_mean",
    )  # fmt: skip
    out.backward()
    eps = torch.finfo(dtype).eps
    assert out.dtype == dtype
    torch.testing.assert_close(out.double(), ref, rtol=16 * eps, atol=16 * eps)
    assert xh.grad is not None and xh.grad.dtype == dtype and bool(torch.isfinite(xh.grad).all())
