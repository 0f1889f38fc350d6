"""The reduction contract (weightwise.reduction) on hand-checkable inputs."""

from __future__ import annotations

import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from weightwise.reduction import broadcast_weight, reduce_loss


def test_each_reduction_by_its_definition():
    g = torch.Generator().manual_seed(0)
    L = torch.rand(5, 3, generator=g, dtype=torch.float64)
    w = torch.rand(5, generator=g, dtype=torch.float64)
    w[2] = 0.0
    wl = L * w[:, None]
    omega = w[:, None].expand(5, 3)
    torch.testing.assert_close(reduce_loss(L, w), wl.sum() / 15)
    torch.testing.assert_close(reduce_loss(L, w, reduction="weighted_mean"), wl.sum() / omega.sum())
    torch.testing.assert_close(reduce_loss(L, w, reduction="nonzero_mean"), wl.sum() / 12)
    torch.testing.assert_close(reduce_loss(L, w, reduction="sum"), wl.sum())
    torch.testing.assert_close(reduce_loss(L, w, reduction="none"), wl)
    torch.testing.assert_close(reduce_loss(L, w, count=10), wl.sum() / 10)
    torch.testing.assert_close(
        reduce_loss(L, w, reduction="weighted_mean", denominator=2.0), wl.sum() / 2
    )


def test_no_weight_means_are_plain_means():
    L = torch.arange(6.0).reshape(2, 3)
    for red in ["mean", "weighted_mean", "nonzero_mean"]:
        assert reduce_loss(L, reduction=red).item() == pytest.approx(2.5)


@pytest.mark.parametrize("reduction", ["mean", "weighted_mean", "nonzero_mean", "sum"])
def test_zero_denominator_is_zero_with_zero_gradient(reduction):
    L = torch.rand(4, requires_grad=True)
    loss = reduce_loss(L, torch.zeros(4), reduction=reduction, count=0)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(L.grad, torch.zeros(4))


@pytest.mark.parametrize(
    "wshape, grid",
    [((), (4, 3)), ((4,), (4,)), ((4,), (4, 3, 2)), ((4, 3), (4, 3, 2)), ((4, 3, 2), (4, 3, 2))],
)
def test_left_aligned_broadcast(wshape, grid):
    w = torch.rand(wshape)
    out = broadcast_weight(w, grid)
    assert out.shape == grid
    idx = (slice(None),) * len(wshape) + (None,) * (len(grid) - len(wshape))
    torch.testing.assert_close(out, (w[idx] if wshape else w).expand(grid))


@pytest.mark.parametrize(
    "wshape, grid",
    [((4, 1), (4,)), ((1,), (4,)), ((3,), (4, 3)), ((4, 2), (4, 3)), ((4, 3, 1), (4, 3))],
)
def test_size_one_and_trailing_broadcast_refused(wshape, grid):
    msg = re.escape(f"shape {tuple(wshape)} does not fit the element grid {grid}")
    with pytest.raises(ValueError, match=msg):
        broadcast_weight(torch.ones(wshape), grid)


def test_class_axis_shapes():
    grid = (2, 3, 4, 5)
    s = torch.rand(2, 4, 5)  # per pixel: channel axis skipped
    torch.testing.assert_close(broadcast_weight(s, grid, class_axis=True), s[:, None].expand(grid))
    p = torch.rand(2, 3)  # per sample and label
    torch.testing.assert_close(
        broadcast_weight(p, grid, class_axis=True), p[:, :, None, None].expand(grid)
    )
    n = torch.rand(2)
    torch.testing.assert_close(
        broadcast_weight(n, grid, class_axis=True), n[:, None, None, None].expand(grid)
    )
    with pytest.raises(ValueError, match="ambiguous"):
        broadcast_weight(torch.rand(2, 3), (2, 3, 3), class_axis=True)
    with pytest.raises(ValueError, match=r"\(2, 3\) per sample and label"):
        broadcast_weight(torch.rand(2, 4), grid, class_axis=True)


def test_value_errors_name_position():
    with pytest.raises(
        ValueError,
        match=r"weight must be finite and non-negative; got -2.0 at "
        r"index \(1, 0\)",
    ):
        reduce_loss(torch.ones(2, 2), torch.tensor([[1.0, 1.0], [-2.0, 1.0]]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        reduce_loss(torch.ones(2), reduction="batch_mean")


@settings(max_examples=50, deadline=None)
# Weights are 0 or normal floats: with subnormal weights, w·L itself rounds (5e-324·0.5 = 0).
@given(
    st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 10)), min_size=1, max_size=20),
    st.floats(0.01, 100),
)
def test_weighted_mean_scale_free_and_sum_linear(ws, scale):
    w = torch.tensor(ws, dtype=torch.float64)
    L = torch.linspace(0.5, 2.0, len(ws), dtype=torch.float64)
    torch.testing.assert_close(
        reduce_loss(L, w * scale, reduction="weighted_mean"),
        reduce_loss(L, w, reduction="weighted_mean"),
    )
    torch.testing.assert_close(
        reduce_loss(L, w * scale, reduction="sum"), scale * reduce_loss(L, w, reduction="sum")
    )
