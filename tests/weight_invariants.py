"""The weight invariants of DECISIONS §1, shared by the loss test files.

A test file provides ``loss(rows, w, reduction)``: the loss (or a stack of losses) on the rows
``rows`` (an index tensor or a boolean mask into the file's data) with sample weights ``w``
(``None`` for no weights), and calls the checks from its own hypothesis tests:

| reduction | unit = none | integer = repetition | zero = removal | scale-free |
| --- | --- | --- | --- | --- |
| mean | ✓ | ✗ | ✗ | ✗ |
| weighted_mean | ✓ | ✓ | ✓ | ✓ |
| nonzero_mean | ✓ | ✗ | ✓ | ✗ |
| sum | ✓ | ✓ | ✓ | ✗ |
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import hypothesis.strategies as st
import torch

LossOnRows = Callable[[torch.Tensor, torch.Tensor | None, str], torch.Tensor]
REDUCTIONS = ("mean", "weighted_mean", "nonzero_mean", "sum")

#: (n, seed, per-row integers in [0, 3]): repetition counts, or a keep mask where > 0.
cases = st.integers(min_value=1, max_value=10).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.integers(0, 2**31 - 1),
        st.lists(st.integers(0, 3), min_size=n, max_size=n),
    )
)


def unit_equals_none(loss: LossOnRows, n: int) -> None:
    rows = torch.arange(n)
    for red in REDUCTIONS:
        torch.testing.assert_close(
            loss(rows, torch.ones(n, dtype=torch.float64), red), loss(rows, None, red)
        )


def integer_equals_repetition(loss: LossOnRows, reps: Sequence[int]) -> None:
    w = torch.tensor(reps, dtype=torch.float64)
    if w.sum() == 0:
        w[0] = 1.0
    idx = torch.repeat_interleave(torch.arange(len(reps)), w.long())
    for red in ("weighted_mean", "sum"):
        torch.testing.assert_close(loss(torch.arange(len(reps)), w, red), loss(idx, None, red))


def zero_equals_removal(loss: LossOnRows, w: torch.Tensor, mask: Sequence[int]) -> None:
    keep = torch.tensor(mask) > 0
    if not keep.any():
        keep[0] = True
    wz = torch.where(keep, w, torch.zeros_like(w))
    for red in ("weighted_mean", "nonzero_mean", "sum"):
        torch.testing.assert_close(
            loss(torch.arange(len(w)), wz, red), loss(torch.nonzero(keep)[:, 0], w[keep], red)
        )


def weighted_mean_scale_free(loss: LossOnRows, w: torch.Tensor, scale: float) -> None:
    rows = torch.arange(len(w))
    torch.testing.assert_close(
        loss(rows, w * scale, "weighted_mean"), loss(rows, w, "weighted_mean")
    )
