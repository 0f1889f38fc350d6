"""Losses, loss modules and metric updates under ``torch.compile(fullgraph=True)``, default mode.

The registries of ``tests/test_common.py`` (driven by the packages' ``__all__``) list every
public loss (``LOSS_CASES``), every ``nn`` module (``NN_CASES``) and every ``Metric`` class
(``CLASS_CASES``), so nothing new can skip these tests. Each traces into one graph (no graph
break), does not recompile when the weight *values* change (same shapes), and gives the eager
result, gradients included. The graphs run on dynamo's counting backend (the captured graph
executed eagerly), which checks the tracing without paying for code generation on every run.

Metrics: torchmetrics wraps ``Metric.update`` in a function that counts the updates in a Python
int (``self._update_count += 1``). ``torch.compile`` treats integer attributes of an
``nn.Module`` as constants, so compiling ``metric.update`` itself recompiles on every step until
dynamo's cache limit. What compiles cleanly is the state update under it,
``type(metric).update(metric, ...)``: that is what is tested here (see ``docs/performance.md``).
The exact ranking metrics (``AUROC``, ``AveragePrecision`` without ``thresholds``) append each
batch to list states, which dynamo guards on by length, so they trace into one graph per step
but recompile as the list grows; their binned form (``thresholds=``) keeps a fixed-shape
histogram and compiles once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch._dynamo.testing import CompileCounter

import weightwise
import weightwise.losses as L
import weightwise.metrics as MC
import weightwise.nn as NN
from test_common import (
    CLASS_CASES,
    LOSS_CASES,
    METRIC_CASES,
    NN_CASES,
    _metric_data,
    nn_weight_keyword,
)

#: Exact ranking metrics: list states that grow each step (see the module docstring).
GROWING_STATE = {"AUROC", "AveragePrecision"}


def _weights(seed: int, n: int, *, mask: bool = False, dtype: Any = None) -> torch.Tensor:
    w = torch.rand(n, generator=torch.Generator().manual_seed(seed), dtype=dtype) + 0.1
    return (w > 0.4).to(w.dtype) if mask else w


def _check_loss_step(fn: Callable[..., torch.Tensor], name: str) -> None:
    """``fn(x, t, w)`` traces into one graph for three weight draws and matches eager."""
    case = LOSS_CASES[name]
    x, t = case.data(6, 0)  # float64 as the registry builds them
    torch._dynamo.reset()
    counter = CompileCounter()
    compiled = torch.compile(fn, backend=counter, fullgraph=True)
    for seed in range(3):  # new weight values, same shapes: one graph
        w = _weights(seed, 6, mask=case.weights == "mask")  # Lovász: 0/1 weights only
        xc = x.clone().requires_grad_()
        xe = x.clone().requires_grad_()
        out = compiled(xc, t, w)
        ref = fn(xe, t, w)
        out.backward()
        ref.backward()
        torch.testing.assert_close(out, ref)
        torch.testing.assert_close(xc.grad, xe.grad)
    assert counter.frame_count == 1


@pytest.mark.parametrize("name", sorted(LOSS_CASES))
def test_loss_fullgraph_without_recompiling_for_new_weight_values(name: str) -> None:
    case = LOSS_CASES[name]
    fn = functools.partial(case.call or getattr(L, name), **case.options)

    def step(x: torch.Tensor, t: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return fn(x, t, sample_weight=w, reduction="weighted_mean")

    _check_loss_step(step, name)


@pytest.mark.parametrize("name", sorted(NN_CASES))
def test_module_fullgraph_without_recompiling_for_new_weight_values(name: str) -> None:
    fname = NN_CASES[name]
    options = LOSS_CASES[fname].options
    if name == "CompoundLoss":
        module = NN.CompoundLoss.dice_ce(reduction="weighted_mean", **options)
    else:
        module = getattr(NN, name)(reduction="weighted_mean", **options)

    def step(x: torch.Tensor, t: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = module(x, t, **{nn_weight_keyword(name): w})
        return out

    _check_loss_step(step, fname)


def _metric(name: str, **extra: Any) -> Any:
    opts = dict(METRIC_CASES[CLASS_CASES[name]].options, **extra)
    cls = getattr(MC, name)
    if name in ("PrecisionAtK", "RecallAtK"):
        return cls(opts.pop("k"), **opts)
    return cls(opts.pop("task"), **opts)


def _flat(value: Any) -> list[torch.Tensor]:
    if isinstance(value, dict):
        return [v for k in sorted(value) for v in _flat(value[k])]
    return [torch.as_tensor(value, dtype=torch.float64)]


def _check_metric_updates(name: str, *, recompiles: bool, **extra: Any) -> None:
    case = METRIC_CASES[CLASS_CASES[name]]
    compiled_metric, eager_metric = _metric(name, **extra), _metric(name, **extra)
    state_update = type(compiled_metric).update  # under torchmetrics' counting wrapper

    def step(p: torch.Tensor, t: torch.Tensor, w: torch.Tensor) -> None:
        state_update(compiled_metric, p, t, sample_weight=w)

    torch._dynamo.reset()
    counter = CompileCounter()
    compiled = torch.compile(step, backend=counter, fullgraph=True)
    steps = 3
    for seed in range(steps):  # new data and weight values, same shapes
        p, t = _metric_data(case.data, 6, seed)
        w = _weights(seed, 6, dtype=torch.float64)
        compiled(p, t, w)
        eager_metric.update(p, t, sample_weight=w)
    compiled_metric._update_count = steps  # the wrapper's bookkeeping, skipped above
    for a, b in zip(_flat(compiled_metric.compute()), _flat(eager_metric.compute()), strict=True):
        torch.testing.assert_close(a, b, equal_nan=True)
    assert counter.frame_count == (steps if recompiles else 1)


@pytest.mark.parametrize("name", sorted(CLASS_CASES))
def test_metric_update_fullgraph_without_recompiling_for_new_weight_values(name: str) -> None:
    _check_metric_updates(name, recompiles=name in GROWING_STATE)


@pytest.mark.parametrize("name", sorted(GROWING_STATE))
def test_binned_ranking_update_compiles_once(name: str) -> None:
    _check_metric_updates(name, recompiles=False, thresholds=11)


def test_the_metric_registry_covers_every_class() -> None:
    assert set(CLASS_CASES) <= set(MC.__all__)
    assert GROWING_STATE <= set(CLASS_CASES)


# ---- class counts / priors: checked once while tracing, or on the device ---------------------


_COUNT_INPUTS: dict[str, Callable[[], Any]] = {
    "list": lambda: [30.0, 12.0, 3.0],
    "numpy": lambda: np.array([30.0, 12.0, 3.0]),
    "tensor": lambda: torch.tensor([30, 12, 3]),
}


@pytest.mark.parametrize("kind", sorted(_COUNT_INPUTS))
@pytest.mark.parametrize(
    "name", ["logit_adjusted_cross_entropy", "balanced_softmax_cross_entropy", "ldam_loss"]
)
def test_counts_of_every_kind_compile(name: str, kind: str) -> None:
    counts = _COUNT_INPUTS[kind]()
    fn = getattr(L, name)

    def step(x: torch.Tensor, t: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return fn(x, t, counts=counts, sample_weight=w, reduction="weighted_mean")

    _check_loss_step(step, name)


def test_bad_counts_in_a_list_raise_while_tracing() -> None:
    x, t = LOSS_CASES["ldam_loss"].data(6, 0)

    def step(x: torch.Tensor) -> torch.Tensor:
        return L.ldam_loss(x, t, counts=[3.0, 0.0, 1.0])

    torch._dynamo.reset()
    with pytest.raises(Exception, match=r"counts must be finite and positive.*index 1"):
        torch.compile(step, backend=CompileCounter(), fullgraph=True)(x)


def test_bad_tensor_counts_eager_and_async() -> None:
    x, t = LOSS_CASES["ldam_loss"].data(6, 0)
    bad = torch.tensor([3.0, 2.0, -1.0])
    with pytest.raises(ValueError, match=r"counts must be finite and positive.*-1.0 at index 2"):
        L.logit_adjusted_cross_entropy(x, t, counts=bad)
    with pytest.raises(ValueError, match=r"prior must be finite and positive.*nan at index 0"):
        L.logit_adjusted_cross_entropy(x, t, prior=torch.tensor([float("nan"), 1.0, 1.0]))
    with weightwise.checks("async"), pytest.raises(RuntimeError, match="counts must be finite"):
        L.ldam_loss(x, t, counts=bad)
    with weightwise.checks("off"):  # no value check: the log of -1 is NaN
        assert torch.isnan(L.logit_adjusted_cross_entropy(x, t, counts=bad))
    with pytest.raises(ValueError, match=r"counts must have shape \(3,\).*\(2,\)"):
        L.ldam_loss(x, t, counts=torch.tensor([1.0, 2.0]))


# ---- the fused / blocked paths at sizes where they are the default ---------------------------


@pytest.mark.parametrize("fused", [None, True])
@pytest.mark.parametrize("name", ["cross_entropy", "binary_cross_entropy"])
def test_fused_sizes_compile(name: str, fused: bool | None) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 100, generator=g)  # 51200 logits: above the fused threshold
    if name == "cross_entropy":
        t = torch.randint(0, 100, (512,), generator=g)
    else:
        t = (torch.rand(512, 100, generator=g) > 0.8).float()
    fn = getattr(L, name)

    def step(x: torch.Tensor, t: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return fn(x, t, sample_weight=w, fused=fused)

    torch._dynamo.reset()
    counter = CompileCounter()
    compiled = torch.compile(step, backend=counter, fullgraph=True)
    for seed in range(2):
        w = _weights(seed, 512)
        xc, xe = x.clone().requires_grad_(), x.clone().requires_grad_()
        out, ref = compiled(xc, t, w), step(xe, t, w)
        (2 * out).backward()  # a grad_output that is not 1
        (2 * ref).backward()
        torch.testing.assert_close(out, ref)
        torch.testing.assert_close(xc.grad, xe.grad)
    assert counter.frame_count == 1
