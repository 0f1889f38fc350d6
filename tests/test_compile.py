"""Losses, loss modules and metric updates under ``torch.compile(fullgraph=True)``, default mode.

The registries of ``tests/test_common.py`` (driven by the packages' ``__all__``) list every
public loss (``LOSS_CASES``), every ``nn`` module (``NN_CASES``) and every ``Metric`` class
(``CLASS_CASES``), so nothing new can skip these tests. Each traces into one graph (no graph
break), does not recompile when the weight *values* change (same shapes), and gives the eager
result, gradients included. The graphs run on dynamo's counting backend (the captured graph
executed eagerly), which checks the tracing without paying for code generation on every run.

Metrics: torchmetrics wraps ``Metric.update`` in a function that counts the updates in a Python
int (``self._update_count += 1``), and ``torch.compile`` treats integer attributes of an
``nn.Module`` as constants, so that wrapper alone would recompile on every step. Our base class
(``weightwise.metrics._base.CompilableMetric``) counts in a tensor while dynamo traces, so both
the user-facing ``torch.compile(metric.update)`` (its ``update_count`` checked too) and the state
update under the wrapper, ``type(metric).update(metric, ...)``, are tested here (see
``docs/performance.md``).
The exact ranking metrics (``AUROC``, ``AveragePrecision`` without ``thresholds``) append each
batch to list states, which dynamo guards on by length, so they trace into one graph per step
but recompile as the list grows; their binned form (``thresholds=``) keeps a fixed-shape
histogram and compiles once.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch._dynamo.testing import CompileCounter, CompileCounterWithBackend

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


def _check_metric_updates(
    name: str, *, recompiles: bool, user_facing: bool = False, **extra: Any
) -> None:
    """Five updates through ``torch.compile(fullgraph=True)``: one graph (one per step for the
    growing list states), then ``compute`` equals the eager metric's.

    ``user_facing``: compile the bound ``metric.update`` itself, under torchmetrics' counting
    wrapper, and check its bookkeeping (``update_count``); otherwise compile the state update
    under it, ``type(metric).update(metric, ...)``.
    """
    case = METRIC_CASES[CLASS_CASES[name]]
    compiled_metric, eager_metric = _metric(name, **extra), _metric(name, **extra)
    if user_facing:
        update = compiled_metric.update
    else:
        state_update = type(compiled_metric).update

        def update(p: torch.Tensor, t: torch.Tensor, *, sample_weight: torch.Tensor) -> None:
            state_update(compiled_metric, p, t, sample_weight=sample_weight)

    torch._dynamo.reset()
    counter = CompileCounter()
    compiled = torch.compile(update, backend=counter, fullgraph=True)
    steps = 5
    for seed in range(steps):  # new data and weight values, same shapes
        p, t = _metric_data(case.data, 6, seed)
        w = _weights(seed, 6, dtype=torch.float64)
        compiled(p, t, sample_weight=w)
        eager_metric.update(p, t, sample_weight=w)
    if user_facing:
        assert compiled_metric.update_count == eager_metric.update_count == steps
    else:
        compiled_metric._update_count = steps  # the wrapper's bookkeeping, skipped above
    for a, b in zip(_flat(compiled_metric.compute()), _flat(eager_metric.compute()), strict=True):
        torch.testing.assert_close(a, b, equal_nan=True)
    assert counter.frame_count == (steps if recompiles else 1)


@pytest.mark.parametrize("name", sorted(CLASS_CASES))
def test_metric_update_fullgraph_without_recompiling_for_new_weight_values(name: str) -> None:
    _check_metric_updates(name, recompiles=name in GROWING_STATE)


@pytest.mark.parametrize("name", sorted(CLASS_CASES))
def test_compiled_metric_update_method_without_recompiling(name: str) -> None:
    # torch.compile(metric.update): the counting wrapper compiles too (issue 18).
    _check_metric_updates(name, recompiles=name in GROWING_STATE, user_facing=True)


@pytest.mark.parametrize("name", sorted(GROWING_STATE))
def test_binned_ranking_update_compiles_once(name: str) -> None:
    _check_metric_updates(name, recompiles=False, thresholds=11)


@pytest.mark.parametrize("name", sorted(GROWING_STATE))
def test_binned_ranking_update_method_compiles_once(name: str) -> None:
    _check_metric_updates(name, recompiles=False, user_facing=True, thresholds=11)


@pytest.mark.filterwarnings("ignore:accuracy is undefined")  # compute() before any update
@pytest.mark.parametrize("backend", ["eager", "aot_eager"])
def test_metric_update_inside_a_compiled_step_keeps_torchmetrics_bookkeeping(backend: str) -> None:
    """``metric.update`` called inside a larger compiled step, mixed with eager updates, a
    ``compute`` between steps (its cache is dropped by the next update), ``reset`` and the
    "compute before update" warning. ``aot_eager``: the count's in-place add on a buffer goes
    through AOTAutograd's functionalisation, as under Inductor."""
    compiled_metric = MC.Accuracy("multiclass", num_classes=3)
    eager_metric = MC.Accuracy("multiclass", num_classes=3)
    weight = torch.tensor([1.0, 2.0, 0.5])

    def step(x: torch.Tensor, t: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        logits = x @ weight.diag()
        compiled_metric.update(logits, t, sample_weight=w)
        return L.cross_entropy(logits, t, sample_weight=w)

    torch._dynamo.reset()
    counter = CompileCounterWithBackend(backend)
    compiled = torch.compile(step, backend=counter, fullgraph=True)
    with pytest.warns(UserWarning, match="called before the ``update``"):
        compiled_metric.compute()
    g = torch.Generator().manual_seed(0)
    for i in range(6):
        x, t = torch.randn(8, 3, generator=g), torch.randint(0, 3, (8,), generator=g)
        w = torch.rand(8, generator=g) + 0.1
        if i == 3:
            compiled_metric.update(x @ weight.diag(), t, sample_weight=w)  # eager, in between
        else:
            loss = compiled(x, t, w)
            torch.testing.assert_close(loss, L.cross_entropy(x @ weight.diag(), t, sample_weight=w))
        eager_metric.update(x @ weight.diag(), t, sample_weight=w)
        if i == 1:
            torch.testing.assert_close(compiled_metric.compute(), eager_metric.compute())
    assert counter.frame_count == 1
    assert compiled_metric.update_count == eager_metric.update_count == 6
    torch.testing.assert_close(compiled_metric.compute(), eager_metric.compute())
    compiled_metric.reset()
    assert compiled_metric.update_count == 0 and not compiled_metric.update_called
    with pytest.warns(UserWarning, match="called before the ``update``"):
        compiled_metric.compute()
    compiled(x, t, w)
    eager_metric.reset()
    eager_metric.update(x @ weight.diag(), t, sample_weight=w)
    assert compiled_metric.update_count == 1 and counter.frame_count == 1
    torch.testing.assert_close(compiled_metric.compute(), eager_metric.compute())


def test_compiled_update_count_survives_copies_dtype_and_forward() -> None:
    """The in-graph count is a non-persistent int64 buffer: not in ``state_dict``, kept by
    ``clone`` and pickling, still int64 after ``set_dtype``, and ``forward`` sees
    the count of the compiled updates."""
    metric = MC.Accuracy("multiclass", num_classes=3)
    torch._dynamo.reset()
    counter = CompileCounter()
    compiled = torch.compile(metric.update, backend=counter, fullgraph=True)
    g = torch.Generator().manual_seed(1)
    x, t = torch.randn(8, 3, generator=g), torch.randint(0, 3, (8,), generator=g)
    for _ in range(3):
        compiled(x, t, sample_weight=torch.rand(8, generator=g))
    assert counter.frame_count == 1
    assert "_compiled_update_count" not in metric.state_dict()
    assert metric.clone().update_count == 3
    assert pickle.loads(pickle.dumps(metric)).update_count == 3
    metric.set_dtype(torch.float32)
    assert metric._compiled_update_count.dtype == torch.int64
    compiled(x, t, sample_weight=torch.rand(8, generator=g))  # on float32 states
    metric(x, t)  # forward: an eager update, counted on top of the compiled ones
    assert metric.update_count == 5


def _collection(compute_groups: bool) -> Any:
    from torchmetrics import MetricCollection

    return MetricCollection(
        {
            "acc": MC.Accuracy("multiclass", num_classes=4),
            "f1": MC.F1Score("multiclass", num_classes=4, average="macro"),
            "bacc": MC.BalancedAccuracy("multiclass", num_classes=4),
        },
        compute_groups=compute_groups,
    )


@pytest.mark.parametrize("compute_groups", [False, True])
def test_metric_collection_update_compiles_once(compute_groups: bool) -> None:
    """``torch.compile(collection.update, fullgraph=True)`` on a torchmetrics
    ``MetricCollection`` of weightwise metrics: one graph for every step and the eager values
    and counts. With compute groups (torchmetrics' default) the first update, which compares
    the members' states to form the groups (a data-dependent ``allclose``), runs eagerly; the
    group's count that torchmetrics copies to the other members after each update is read
    without a fold while tracing (``CompilableMetric._update_count``), so nothing recompiles."""
    g = torch.Generator().manual_seed(0)
    batches = [
        (torch.randn(16, 4, generator=g), torch.randint(0, 4, (16,), generator=g)) for _ in range(6)
    ]
    weights = [torch.rand(16, generator=g) for _ in batches]
    eager = _collection(compute_groups)
    for (x, t), w in zip(batches, weights, strict=True):
        eager.update(x, t, sample_weight=w)
    compiled_col = _collection(compute_groups)
    first = 1 if compute_groups else 0
    for (x, t), w in zip(batches[:first], weights[:first], strict=True):
        compiled_col.update(x, t, sample_weight=w)
    torch._dynamo.reset()
    counter = CompileCounter()
    compiled = torch.compile(compiled_col.update, backend=counter, fullgraph=True)
    for (x, t), w in zip(batches[first:], weights[first:], strict=True):
        compiled(x, t, sample_weight=w)
    assert counter.frame_count == 1
    got, want = compiled_col.compute(), eager.compute()
    assert set(got) == set(want) == {"acc", "f1", "bacc"}
    for key in want:
        torch.testing.assert_close(got[key], want[key])
    for key, metric in compiled_col.items(keep_base=True):
        assert metric.update_count == len(batches), key


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


# ---- the custom autograd Functions trace too ----------------------------------------------------
#
# With the default settings a traced call takes the plain composition where one exists (the
# compiler fuses it; the fused CE/BCE and the Dice sums' Function save memory in eager mode);
# forced, or called directly, the Functions themselves trace into one graph with their backward.


def _fused_cases() -> dict[str, Any]:
    from weightwise.losses import binary_cross_entropy, cross_entropy
    from weightwise.losses._dense_sums import _SoftmaxHardSums

    g = torch.Generator().manual_seed(5)
    y = torch.randint(0, 4, (6, 5, 5), generator=g)
    t = (torch.rand(6, 4, generator=g) > 0.5).float()
    w = torch.rand(6, generator=g)

    def dice_sums(x: torch.Tensor) -> torch.Tensor:
        inter, big_p, _ = _SoftmaxHardSums.apply(x, y.reshape(6, 25), None, False, None, None)
        return (inter * torch.arange(1.0, 5.0)).sum() + (big_p**2).sum()

    return {
        "fused_cross_entropy": (
            lambda x: cross_entropy(x, y, sample_weight=w, label_smoothing=0.1, fused=True),
            torch.randn(6, 4, 5, 5, generator=g),
        ),
        "fused_binary_cross_entropy": (
            lambda x: binary_cross_entropy(x, t, sample_weight=w, pos_weight=2.0, fused=True),
            torch.randn(6, 4, generator=g),
        ),
        "softmax_hard_sums": (dice_sums, torch.randn(6, 4, 25, generator=g)),
    }


@pytest.mark.parametrize("name", ["fused_cross_entropy", "fused_binary_cross_entropy",
                                  "softmax_hard_sums"])  # fmt: skip
def test_custom_autograd_functions_trace_fullgraph(name: str) -> None:
    fn, x0 = _fused_cases()[name]
    torch._dynamo.reset()
    compiled = torch.compile(fn, fullgraph=True, backend="aot_eager")
    xs = [x0.clone().requires_grad_(True) for _ in range(2)]
    got, want = compiled(xs[0]), fn(xs[1])
    got.backward()
    want.backward()
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(xs[0].grad, xs[1].grad)
