"""Meta tensors (shape only): every loss runs on all-meta inputs (shape inference), and a meta
argument next to real logits is a ``ValueError`` naming that argument."""

from __future__ import annotations

import pytest
import torch

import weightwise.losses as L
from test_common import LOSS_CASES

# Losses called through a wrapper hold real tensors of their own (linear CE's head), so a meta
# input cannot run through them; the plain signatures are covered.
_PLAIN = sorted(n for n, c in LOSS_CASES.items() if c.call is None)


@pytest.mark.parametrize("name", _PLAIN)
def test_every_loss_runs_on_meta_inputs(name: str) -> None:
    case = LOSS_CASES[name]
    x, t = case.data(4, 0)
    w = torch.ones(4, dtype=torch.float64, device="meta")
    out = getattr(L, name)(x.to("meta"), t.to("meta"), sample_weight=w, **case.options)
    assert out.device.type == "meta"


@pytest.mark.parametrize("name", _PLAIN)
@pytest.mark.parametrize("argument", ["sample_weight", "target"])
def test_a_meta_argument_next_to_real_logits_is_named(name: str, argument: str) -> None:
    case = LOSS_CASES[name]
    x, t = case.data(4, 0)
    w = torch.ones(4, dtype=torch.float64)
    if argument == "sample_weight":
        w = w.to("meta")
    else:
        t = t.to("meta")
    named = "target_sets" if argument == "target" and name == "any_of_cross_entropy" else argument
    with pytest.raises(ValueError, match=f"^{named} is a meta tensor .* on cpu"):
        getattr(L, name)(x, t, sample_weight=w, **case.options)
