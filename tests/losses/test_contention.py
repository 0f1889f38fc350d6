"""The chunked paths step aside on a contended CPU (issue 18, point 4).

On a CPU that other processes keep busy, the chunked fused CE/BCE and blocked focal paths take
the plain composition instead (``weightwise.losses._fused.cpu_contended``). The value and the
gradient are the same either way; oracles: PyTorch's own losses.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import weightwise.losses as L
from weightwise.losses import _fused


@pytest.fixture(params=[False, True], ids=["quiet", "contended"])
def contended(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    monkeypatch.setattr(_fused, "_measure_contention", lambda threads: request.param)
    # the state as after one reading of `request.param`: the next reading agrees with it
    monkeypatch.setattr(_fused, "_contention_cache", [-1.0, False, request.param])
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    # Thresholds low enough that these small inputs would take the fused path on a quiet CPU.
    monkeypatch.setattr(
        _fused, "_MIN_FUSED_ELEMENTS", dict.fromkeys(_fused._MIN_FUSED_ELEMENTS, 2**15)
    )
    return bool(request.param)


def test_the_default_path_follows_the_contention(contended: bool) -> None:
    x = torch.randn(512, 100, requires_grad=True)
    assert _fused.cpu_contended() is contended
    assert _fused.use_fused(None, x, "mean") is (not contended)
    assert _fused.use_fused(True, x, "mean")  # forced: always fused


def test_cross_entropy_is_the_same_either_way(contended: bool) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 100, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 100, (512,), generator=g)
    cw = torch.rand(100, generator=g, dtype=torch.float64) + 0.5
    L.cross_entropy(x, y, class_weight=cw, reduction="weighted_mean").backward()
    xe = x.detach().clone().requires_grad_()
    F.cross_entropy(xe, y, weight=cw).backward()  # PyTorch's weighted mean is ours
    torch.testing.assert_close(x.grad, xe.grad)


@pytest.mark.parametrize("gamma", [0.0, 1.0, 2.0, 0.5])
def test_focal_is_the_same_either_way(contended: bool, gamma: float) -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1024, 300, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 300, (1024,), generator=g)
    L.focal_loss(x, y, gamma=gamma).backward()
    xe = x.detach().clone().requires_grad_()
    logp = F.log_softmax(xe, dim=1).gather(1, y[:, None]).squeeze(1)
    (-((1 - logp.exp()) ** gamma) * logp).mean().backward()  # Lin et al.'s formula
    torch.testing.assert_close(x.grad, xe.grad)


def test_binary_focal_is_the_same_either_way(contended: bool) -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(1024, 300, generator=g, dtype=torch.float64, requires_grad=True)
    t = (torch.rand(1024, 300, generator=g, dtype=torch.float64) > 0.9).to(x.dtype)
    L.binary_focal_loss(x, t, gamma=2.0, alpha=None).backward()
    xe = x.detach().clone().requires_grad_()
    p = torch.sigmoid(xe)  # torchvision's sigmoid_focal_loss, written out
    ce = F.binary_cross_entropy_with_logits(xe, t, reduction="none")
    (ce * (1 - (p * t + (1 - p) * (1 - t))) ** 2.0).mean().backward()
    torch.testing.assert_close(x.grad, xe.grad)


def test_contention_is_measured_without_error() -> None:
    assert _fused._measure_contention(2) in (True, False)


def test_one_stray_reading_does_not_change_the_state(monkeypatch: pytest.MonkeyPatch) -> None:
    readings = iter([True, False, False, True, True, False, False])
    monkeypatch.setattr(_fused, "_measure_contention", lambda threads: next(readings))
    monkeypatch.setattr(_fused, "_contention_cache", [-1.0, False, None])
    monkeypatch.setattr(_fused, "_CONTENTION_TTL", 0.0)  # a reading at every call
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    # the state starts quiet and changes only when two readings in a row agree (the first,
    # stray, reading included)
    got = [_fused.cpu_contended() for _ in range(7)]
    assert got == [False, False, False, False, True, True, False]
