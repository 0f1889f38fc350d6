"""weightwise._checks: wrong types raise DTypeError (a TypeError that is also a ValueError)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from weightwise._checks import (
    DTypeError,
    as_tensor,
    check_nonnegative_int,
    check_positive_int,
    check_real,
)
from weightwise.weights import class_weight_map, recency


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: check_positive_int(2.5, "epochs"), "epochs must be a positive integer; got 2.5"),
        (lambda: check_positive_int(True, "k"), "k must be a positive integer; got True"),
        (lambda: check_nonnegative_int("3", "seed"), "seed must be a non-negative integer"),
        (lambda: check_real("x", "beta"), "beta must be a real number; got 'x'"),
        (lambda: as_tensor(["a", "b"], name="preds"), "preds must be numeric; got an array"),
        (lambda: as_tensor(np.array([1j]), name="w"), "w must be real; got dtype complex128"),
        (
            lambda: as_tensor(torch.tensor([1j]), name="w", like=torch.zeros(1)),
            "w must be real; got dtype torch.complex64",
        ),
        (lambda: class_weight_map(np.array([["a"]]), [1.0]), "mask must hold integer class"),
        (
            lambda: recency(np.array(["a"]), half_life=1.0),
            "timestamps must be numbers or datetimes",
        ),
    ],
)
def test_wrong_types_raise_a_type_error_that_is_also_a_value_error(call, message) -> None:
    with pytest.raises(TypeError, match=message) as info:
        call()
    assert isinstance(info.value, ValueError) and isinstance(info.value, DTypeError)


def test_wrong_values_stay_value_errors() -> None:
    with pytest.raises(ValueError, match="epochs must be a positive integer; got 0") as info:
        check_positive_int(0, "epochs")
    assert not isinstance(info.value, TypeError)


def test_as_tensor_converts_straight_to_the_target_dtype() -> None:
    # A Python float64 weight must not be rounded through float32 on its way to float64.
    x = 0.1 + 1e-12
    t = as_tensor([x], name="w", like=torch.zeros(1, dtype=torch.float64))
    assert t.dtype == torch.float64 and t.item() == x


# ---- check modes -------------------------------------------------------------------------------


def test_modes_switch_restore_and_refuse_unknown_names() -> None:
    import weightwise

    assert weightwise.get_checks() == "auto"
    with weightwise.checks("async"):
        assert weightwise.get_checks() == "async"
        with weightwise.no_checks():
            assert weightwise.get_checks() == "off" and not weightwise.checks_enabled()
        assert weightwise.get_checks() == "async"
    assert weightwise.get_checks() == "auto"
    weightwise.set_checks(False)
    assert weightwise.get_checks() == "off"
    weightwise.set_checks(True)
    assert weightwise.get_checks() == "auto"
    with pytest.raises(ValueError, match="mode must be one of 'auto', 'eager', 'async', 'off'"):
        weightwise.set_checks("lazy")  # type: ignore[arg-type]
    assert weightwise.get_checks() == "auto"


def test_auto_is_eager_on_cpu_and_async_raises_a_runtime_error_naming_the_argument() -> None:
    import weightwise
    from weightwise.losses import cross_entropy

    logits, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    bad = torch.tensor([1.0, -1.0, 1.0, 1.0])
    with pytest.raises(
        ValueError, match=r"sample_weight must be finite and non-negative; got -1.0"
    ):
        cross_entropy(logits, y, sample_weight=bad)
    with weightwise.checks("async"), pytest.raises(RuntimeError, match="sample_weight must be"):
        cross_entropy(logits, y, sample_weight=bad)
    with (
        weightwise.checks("async"),
        pytest.raises(RuntimeError, match=r"target must be in \[0, 3\)"),
    ):
        cross_entropy(logits, torch.tensor([0, 1, 5, 0]))
    with weightwise.checks("off"):
        cross_entropy(logits, y, sample_weight=bad)  # not checked: the caller asked for speed


def test_async_mode_reads_nothing_from_the_device() -> None:
    """In "async" mode the _checks value checks issue no scalar read (ATen level)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    import weightwise
    from weightwise._checks import check_finite_nonnegative, check_in_range, check_soft_target

    reads = {"_local_scalar_dense", "nonzero", "masked_select", "unique", "_unique2"}

    class CountReads(TorchDispatchMode):
        count = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.__name__.split(".")[0] in reads:
                CountReads.count += 1
            return func(*args, **(kwargs or {}))

    w, t = torch.rand(5, 3), torch.randint(0, 3, (5,))
    soft = torch.softmax(torch.randn(5, 3), dim=1)
    with weightwise.checks("async"), CountReads():
        check_finite_nonnegative(w, "sample_weight")
        check_in_range(t, 3, ignore_index=-100)
        check_soft_target(soft)
    assert CountReads.count == 0
    with weightwise.checks("eager"), CountReads():  # the same checks read the device eagerly
        check_finite_nonnegative(w, "sample_weight")
    assert CountReads.count > 0


# ---- no host reads in "async" mode: every public loss, forward and backward ---------------------

from weightwise._host_reads import count_host_reads as _count_host_reads  # noqa: E402

#: Losses that still read the device in "async" mode for a structural reason (none today).
SYNCING_LOSSES: dict[str, str] = {}


def _loss_names() -> list[object]:
    from test_common import LOSS_CASES

    return [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=SYNCING_LOSSES[n]))
        if n in SYNCING_LOSSES
        else n
        for n in sorted(LOSS_CASES)
    ]


def test_the_host_read_test_covers_every_public_loss() -> None:
    import weightwise.losses as L
    from test_common import LOSS_CASES, LOSS_EXEMPT

    assert set(L.__all__) == set(LOSS_CASES) | set(LOSS_EXEMPT)


@pytest.mark.parametrize("name", _loss_names())
def test_every_loss_reads_nothing_from_the_device_in_async_mode(name: str) -> None:
    import weightwise
    import weightwise.losses as L
    from test_common import LOSS_CASES

    case = LOSS_CASES[name]
    x, t = case.data(6, 0)
    x = x.clone().requires_grad_(True)
    g = torch.Generator().manual_seed(1)
    w = (
        torch.rand(6, generator=g, dtype=torch.float64)
        if case.weights == "sample"
        else torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0, 1.0], dtype=torch.float64)
    )

    def step() -> None:
        (case.call or getattr(L, name))(x, t, sample_weight=w, **case.options).backward()

    with weightwise.checks("async"):
        assert _count_host_reads(step) == []
    assert x.grad is not None and bool(torch.isfinite(x.grad).all())
    # The counter sees reads: the same step in "eager" mode reads the device.
    x.grad = None
    with weightwise.checks("eager"):
        assert _count_host_reads(step) != []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda L: L.any_of_cross_entropy(
                torch.randn(2, 3), torch.tensor([[1, 2, 0], [1, 0, 0]])
            ),
            "target_sets must be boolean",
        ),
        (
            lambda L: L.any_of_cross_entropy(
                torch.randn(2, 3), torch.tensor([[True, False, False], [False, False, False]])
            ),
            "target_sets must allow at least one class for every element",
        ),
        (
            lambda L: L.lovasz_softmax_loss(
                torch.randn(2, 3, 2, 2),
                torch.zeros(2, 2, 2, dtype=torch.long),
                sample_weight=torch.tensor([1.0, 0.5]),
            ),
            "sample_weight of a Lovász loss must be a 0/1 mask",
        ),
        (
            lambda L: L.lovasz_hinge_loss(torch.randn(2, 2, 2), torch.full((2, 2, 2), 2.0)),
            r"target must be in \[0, 1\]",
        ),
    ],
)
def test_async_loss_checks_raise_naming_the_argument(call, message) -> None:
    import weightwise
    import weightwise.losses as L

    with weightwise.checks("async"), pytest.raises(RuntimeError, match=message):
        call(L)
    with weightwise.checks("eager"), pytest.raises(ValueError, match=message):
        call(L)
    with weightwise.checks("off"):
        call(L)  # not checked


#: Metric classes whose ``update`` still reads the device in "async" mode (none today).
SYNCING_METRICS: dict[str, str] = {}


def _metric_names() -> list[object]:
    from test_common import CLASS_CASES

    return [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=SYNCING_METRICS[n]))
        if n in SYNCING_METRICS
        else n
        for n in sorted(CLASS_CASES)
    ]


@pytest.mark.parametrize("name", _metric_names())
def test_every_metric_update_reads_nothing_from_the_device_in_async_mode(name: str) -> None:
    import weightwise
    import weightwise.metrics as MC
    from test_common import CLASS_CASES, METRIC_CASES, _metric_data

    case = METRIC_CASES[CLASS_CASES[name]]
    p, t = _metric_data(case.data, 8, 0)
    w = torch.rand(8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)

    def make():
        opts = dict(case.options)
        first = opts.pop("k") if name in ("PrecisionAtK", "RecallAtK") else opts.pop("task")
        return getattr(MC, name)(first, **opts)

    metric, eager = make(), make()
    with weightwise.checks("async"):
        assert _count_host_reads(lambda: metric.update(p, t, sample_weight=w)) == []
    # The async update accumulates what an eager one does (which reads the device).
    with weightwise.checks("eager"):
        assert _count_host_reads(lambda: eager.update(p, t, sample_weight=w)) != []
    torch.testing.assert_close(
        _flat_result(metric.compute()), _flat_result(eager.compute()), equal_nan=True
    )


def _flat_result(value):
    from test_common import _flat

    return _flat(value)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda MF: MF.log_loss(
                torch.tensor([[0.5, 0.6]]), torch.tensor([0]), task="multiclass"
            ),
            "preds must hold probabilities that sum to 1 along dim 1",
        ),
        (
            lambda MF: MF.auroc(torch.tensor([0.5, 1.5]), torch.tensor([0, 1]), task="binary"),
            r"preds must be probabilities in \[0, 1\]",
        ),
        (
            lambda MF: MF.auroc(torch.tensor([0.5, 0.2]), torch.tensor([0, 2]), task="binary"),
            "target must be 0 or 1",
        ),
        (
            lambda MF: MF.accuracy(
                torch.tensor([0, 1]), torch.tensor([0, 3]), task="multiclass", num_classes=3
            ),
            r"target must be in \[0, 3\)",
        ),
        (
            lambda MF: MF.accuracy(
                torch.tensor([[0.2, 0.8], [0.9, 0.1]]),
                torch.tensor([0, 1]),
                task="multiclass",
                num_classes=2,
                sample_weight=torch.tensor([1.0, -1.0]),
            ),
            "sample_weight must be finite and non-negative",
        ),
    ],
)
def test_async_metric_checks_raise_naming_the_argument(call, message) -> None:
    import weightwise
    import weightwise.metrics.functional as MF

    with weightwise.checks("async"), pytest.raises(RuntimeError, match=message):
        call(MF)
    with weightwise.checks("eager"), pytest.raises(ValueError, match=message):
        call(MF)


def _nn_names() -> list[str]:
    from test_common import NN_CASES

    return sorted(NN_CASES)


@pytest.mark.parametrize("name", _nn_names())
def test_every_nn_loss_reads_nothing_from_the_device_in_async_mode(name: str) -> None:
    import weightwise
    from test_common import LOSS_CASES, NN_CASES, _nn_loss

    case = LOSS_CASES[NN_CASES[name]]
    options = dict(case.options)
    if name == "CompoundLoss":
        options = {"class_weight": options["class_weight"]}
    x, t = case.data(6, 0)
    x = x.clone().requires_grad_(True)
    w = torch.ones(6, dtype=torch.float64)

    def step() -> None:
        _nn_loss(name, options)(x, t, sample_weight=w, reduction="mean").backward()

    with weightwise.checks("async"):
        assert _count_host_reads(step) == []


@pytest.mark.parametrize("name", ["cross_entropy", "binary_cross_entropy"])
def test_the_fused_paths_read_nothing_in_async_mode(name: str) -> None:
    import weightwise
    import weightwise.losses as L

    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 100, generator=g, requires_grad=True)
    if name == "cross_entropy":
        t = torch.randint(0, 100, (512,), generator=g)
    else:
        t = (torch.rand(512, 100, generator=g) > 0.8).float()
    w = torch.rand(512, generator=g)

    def step() -> None:
        getattr(L, name)(x, t, sample_weight=w, fused=True).backward()

    with weightwise.checks("async"):
        assert _count_host_reads(step) == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", _loss_names())
def test_every_loss_syncs_nothing_on_cuda(name: str) -> None:
    """Under ``torch.cuda.set_sync_debug_mode("error")`` any device-to-host sync raises."""
    import weightwise.losses as L
    from test_common import LOSS_CASES

    case = LOSS_CASES[name]
    x, t = case.data(6, 0)
    x = x.cuda().requires_grad_(True)
    t = t.cuda()
    options = {k: v.cuda() if isinstance(v, torch.Tensor) else v for k, v in case.options.items()}
    w = torch.ones(6, dtype=torch.float64, device="cuda")
    fn = case.call or getattr(L, name)
    fn(x, t, sample_weight=w, **options).backward()  # warm-up: lazy CUDA init may sync
    torch.cuda.synchronize()
    x.grad = None
    previous = torch.cuda.get_sync_debug_mode()
    torch.cuda.set_sync_debug_mode("error")
    try:
        fn(x, t, sample_weight=w, **options).backward()  # default mode: "async" on CUDA
    finally:
        torch.cuda.set_sync_debug_mode(previous)
    torch.cuda.synchronize()
    assert x.grad is not None


def test_language_model_losses_read_nothing_in_async_mode() -> None:
    """causal_lm_loss (logits, fused-logits, hidden + lm_head and per-sequence paths, with
    every weight), causal_lm_weight + window_denominator, linear_cross_entropy with every
    option, and nn.CausalLMLoss: no host read in "async" mode, forward and backward."""
    import weightwise
    import weightwise.losses as L
    from weightwise.losses import _causal_lm
    from weightwise.nn import CausalLMLoss
    from weightwise.reduction import window_denominator

    g = torch.Generator().manual_seed(0)
    b, t, v, h = 2, 5, 7, 4
    labels = torch.randint(0, v, (b, t), generator=g)
    labels[1, 3:] = -100
    tw = torch.rand(b, t, generator=g, dtype=torch.float64)
    q = torch.tensor([1.0, 2.0], dtype=torch.float64)
    cw = torch.rand(v, generator=g, dtype=torch.float64) + 0.1
    logits = torch.randn(b, t, v, generator=g, dtype=torch.float64, requires_grad=True)
    hidden = torch.randn(b, t, h, generator=g, dtype=torch.float64, requires_grad=True)
    head = torch.randn(v, h, generator=g, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(v, generator=g, dtype=torch.float64, requires_grad=True)
    big = torch.randn(2, 40, 300, generator=g, requires_grad=True)  # large enough to fuse
    big_labels = torch.randint(0, 300, (2, 40), generator=g)
    weights = dict(token_weight=tw, sequence_weight=q, class_weight=cw)

    def steps() -> None:
        for cwt in (None, cw):
            d = window_denominator(
                [_causal_lm.causal_lm_weight(labels, token_weight=tw, class_weight=cwt)]
            )
            L.causal_lm_loss(logits, labels, token_weight=tw, class_weight=cwt, denominator=d)
        L.causal_lm_loss(logits, labels, label_smoothing=0.1, z_loss=1e-3, **weights).backward()
        L.causal_lm_loss(logits, labels, per_sequence=True, **weights).backward()
        L.causal_lm_loss(
            None, labels, hidden=hidden, lm_head=head, lm_head_bias=bias, z_loss=1e-3, **weights
        ).backward()
        L.causal_lm_loss(big, big_labels, reduction="mean").backward()
        L.linear_cross_entropy(
            hidden.reshape(-1, h),
            head,
            labels.reshape(-1),
            bias=bias,
            sample_weight=tw.reshape(-1),
            class_weight=cw,
            ignore_index=-100,
            label_smoothing=0.2,
            z_loss=1e-2,
            reduction="nonzero_mean",
            chunk_size=3,
        ).backward()
        CausalLMLoss(class_weight=cw)(logits, labels, tw, sequence_weight=q).backward()

    with weightwise.checks("async"):
        assert _count_host_reads(steps) == []
    with weightwise.checks("eager"):  # the counter sees the eager checks' reads
        assert _count_host_reads(steps) != []


# ---- eager checks of large CPU tensors (reduced by NumPy, single-threaded) ---------------------

import weightwise  # noqa: E402
from weightwise._checks import (  # noqa: E402
    check_finite_nonnegative,
    check_in_range,
    check_unit_interval,
)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    ("bad", "shown"), [(-1.0, "-1.0"), (float("nan"), "nan"), (float("inf"), "inf")]
)
def test_large_weight_bad_value_named_with_its_position(dtype, bad, shown) -> None:
    w = torch.rand(300, 400, dtype=dtype)  # 120000 elements: above torch's parallel grain
    w[123, 45] = bad
    with weightwise.checks("eager"):
        with pytest.raises(ValueError, match=rf"got {shown} at index \(123, 45\)"):
            check_finite_nonnegative(w, "sample_weight")
        # a transposed (strided) view and a tensor that requires grad
        with pytest.raises(ValueError, match=rf"got {shown} at index \(45, 123\)"):
            check_finite_nonnegative(w.t(), "sample_weight")
        with pytest.raises(ValueError, match=rf"got {shown} at index \(123, 45\)"):
            check_finite_nonnegative(w.clone().requires_grad_(), "sample_weight")
        check_finite_nonnegative(torch.rand(300, 400, dtype=dtype), "sample_weight")


@pytest.mark.parametrize("bad", [-1, 7, -100])
def test_large_target_out_of_range_named_with_its_position(bad) -> None:
    t = torch.randint(0, 7, (70000,))
    check_in_range(t, 7)
    t[69999] = bad
    with weightwise.checks("eager"), pytest.raises(ValueError, match=rf"got {bad} at index 69999"):
        check_in_range(t, 7)
    if bad == -100:
        check_in_range(t, 7, ignore_index=-100)  # allowed
    t32 = t.to(torch.int32)
    with weightwise.checks("eager"), pytest.raises(ValueError, match=rf"got {bad} at index 69999"):
        check_in_range(t32, 7)


def test_large_unit_interval_bad_value_named() -> None:
    p = torch.rand(50000)
    check_unit_interval(p, "alpha")
    p[4] = 1.5
    with weightwise.checks("eager"), pytest.raises(ValueError, match=r"got 1.5 at index 4"):
        check_unit_interval(p, "alpha")
