"""Every public loss and metric obeys the weight invariants (scikit-learn's ``test_common`` style).

The registries below are driven by the packages' ``__all__``: a loss or metric added to
``weightwise.losses``, ``weightwise.nn``, ``weightwise.metrics`` or
``weightwise.metrics.functional`` without a case here fails
``test_every_public_name_has_a_case``, so nothing new can skip the invariants. Each case builds a
small fixed data set of ``n`` rows and computes the loss (or metric) on a subset of rows with
per-row sample weights; the checks are those of ``tests/weight_invariants.py`` (the table of
``docs/semantics.md``):

| reduction | unit = none | integer = repetition | zero = removal | scale-free |
| --- | --- | --- | --- | --- |
| mean | ✓ | ✗ | ✗ | ✗ |
| weighted_mean | ✓ | ✓ | ✓ | ✓ |
| nonzero_mean | ✓ | ✗ | ✓ | ✗ |
| sum | ✓ | ✓ | ✓ | ✗ |

Metrics: unit = none, integer = repetition and zero = removal always; scaling every weight
leaves ratio metrics unchanged. ``test_an_unweighted_loss_fails_the_checks`` shows the checks
catch a loss that ignores its weights.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings

import weightwise.losses as L
import weightwise.metrics as MC
import weightwise.metrics.functional as MF
import weightwise.nn as NN
from weight_invariants import (
    cases,
    integer_equals_repetition,
    unit_equals_none,
    weighted_mean_scale_free,
    zero_equals_removal,
)

os.environ.setdefault("KERAS_BACKEND", "torch")

C = 3  # classes (or labels)
HW = (3, 4)  # dense spatial size
COUNTS = [30.0, 12.0, 3.0]

# ---- data makers: (n, seed) -> (inputs, target), float64 ------------------------------------


def _multiclass(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, C, generator=g, dtype=torch.float64), torch.randint(
        0, C, (n,), generator=g
    )


def _multilabel(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, C, generator=g, dtype=torch.float64)
    return x, (torch.rand(n, C, generator=g) > 0.5).to(torch.float64)


def _any_of(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, C, generator=g, dtype=torch.float64)
    sets = torch.rand(n, C, generator=g) > 0.5
    sets[torch.arange(n), torch.randint(0, C, (n,), generator=g)] = True  # never empty
    return x, sets


def _dense(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, C, *HW, generator=g, dtype=torch.float64)
    return x, torch.randint(0, C, (n, *HW), generator=g)


def _dense_binary(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, *HW, generator=g, dtype=torch.float64)
    return x, (torch.rand(n, *HW, generator=g) > 0.5).to(torch.float64)


def _tokens(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` sequences of 5 tokens over a vocabulary of 7; label -100 pads some row ends."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, 5, 7, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 7, (n, 5), generator=g)
    labels[:, 4][torch.rand(n, generator=g) > 0.5] = -100
    return logits, labels


_LM_HEAD = torch.randn(7, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def _hidden(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 4, generator=g, dtype=torch.float64), torch.randint(
        0, 7, (n,), generator=g
    )


def _linear_ce(h: torch.Tensor, t: torch.Tensor, **kw: Any) -> torch.Tensor:
    return L.linear_cross_entropy(h, _LM_HEAD, t, **kw)


def _causal_lm(x: torch.Tensor, t: torch.Tensor, *, sample_weight: Any, **kw: Any) -> torch.Tensor:
    # Rows are sequences: the per-row weight is the sequence weight.
    return L.causal_lm_loss(x, t, sequence_weight=sample_weight, **kw)


# ---- losses ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LossCase:
    data: Callable[[int, int], tuple[torch.Tensor, torch.Tensor]]
    options: Mapping[str, Any] = field(default_factory=dict)
    #: "sample": any non-negative per-row weight; "mask": 0/1 weights only (Lovász).
    weights: str = "sample"
    #: how to call the loss when it is not ``fn(x, target, sample_weight=, reduction=)``
    call: Callable[..., torch.Tensor] | None = None


LOSS_CASES: dict[str, LossCase] = {
    "cross_entropy": LossCase(_multiclass, {"class_weight": torch.tensor([1.0, 2.0, 0.5])}),
    "binary_cross_entropy": LossCase(_multilabel, {"pos_weight": torch.tensor([2.0, 1.0, 3.0])}),
    "focal_loss": LossCase(_multiclass, {"gamma": 2.0, "alpha": torch.tensor([0.5, 1.0, 2.0])}),
    "binary_focal_loss": LossCase(_multilabel, {"gamma": 1.5}),
    "logit_adjusted_cross_entropy": LossCase(_multiclass, {"counts": COUNTS, "tau": 1.0}),
    "balanced_softmax_cross_entropy": LossCase(_multiclass, {"counts": COUNTS}),
    "ldam_loss": LossCase(_multiclass, {"counts": COUNTS, "scale": 5.0}),
    "any_of_cross_entropy": LossCase(_any_of, {"mode": "max"}),
    "asymmetric_loss": LossCase(_multilabel, {"gamma_neg": 2.0, "clip": 0.05}),
    "dice_loss": LossCase(_dense, {"class_weight": torch.tensor([1.0, 2.0, 1.0])}),
    "tversky_loss": LossCase(_dense, {"alpha": 0.3, "beta": 0.7}),
    "focal_tversky_loss": LossCase(_dense),
    "generalized_dice_loss": LossCase(_dense),
    "lovasz_softmax_loss": LossCase(_dense, {"per_image": True}, weights="mask"),
    "lovasz_hinge_loss": LossCase(_dense_binary, weights="mask"),
    "linear_cross_entropy": LossCase(_hidden, {"label_smoothing": 0.1}, call=_linear_ce),
    "causal_lm_loss": LossCase(_tokens, {"z_loss": 1e-3}, call=_causal_lm),
}
#: Public names of ``weightwise.losses`` that are not losses, with the reason.
LOSS_EXEMPT = {
    "ldam_margins": "returns LDAM's per-class margins, not a loss",
    "causal_lm_weight": "returns the element weights of causal_lm_loss (tested with it)",
}

#: nn twins: the functional case they mirror (same options, passed to the constructor).
NN_CASES: dict[str, str] = {
    "CrossEntropyLoss": "cross_entropy",
    "BCEWithLogitsLoss": "binary_cross_entropy",
    "FocalLoss": "focal_loss",
    "BinaryFocalLoss": "binary_focal_loss",
    "LogitAdjustedCrossEntropyLoss": "logit_adjusted_cross_entropy",
    "BalancedSoftmaxLoss": "balanced_softmax_cross_entropy",
    "LDAMLoss": "ldam_loss",
    "AnyOfCrossEntropyLoss": "any_of_cross_entropy",
    "AsymmetricLoss": "asymmetric_loss",
    "DiceLoss": "dice_loss",
    "TverskyLoss": "tversky_loss",
    "FocalTverskyLoss": "focal_tversky_loss",
    "GeneralizedDiceLoss": "generalized_dice_loss",
    "LovaszSoftmaxLoss": "lovasz_softmax_loss",
    "LovaszHingeLoss": "lovasz_hinge_loss",
    "CompoundLoss": "dice_loss",  # built as CompoundLoss.dice_ce(): Dice + CE, both weighted
    "CausalLMLoss": "causal_lm_loss",  # rows are sequences: the row weight is sequence_weight
}

LossFn = Callable[..., torch.Tensor]


def nn_weight_keyword(name: str) -> str:
    """The forward keyword that takes the registry's per-row weight: ``sample_weight``, or
    ``sequence_weight`` for the causal-LM loss (its rows are sequences)."""
    return "sequence_weight" if name == "CausalLMLoss" else "sample_weight"


def _nn_loss(name: str, options: Mapping[str, Any]) -> LossFn:
    def fn(x: torch.Tensor, t: torch.Tensor, *, sample_weight: Any, reduction: str) -> torch.Tensor:
        if name == "CompoundLoss":
            module = NN.CompoundLoss.dice_ce(reduction=reduction, **options)
        else:
            module = getattr(NN, name)(reduction=reduction, **options)
        out: torch.Tensor = module(x, t, **{nn_weight_keyword(name): sample_weight})
        return out

    return fn


def _on_rows(fn: LossFn, case: LossCase, n: int, seed: int) -> Callable[..., torch.Tensor]:
    x, t = case.data(n, seed)

    def loss(rows: torch.Tensor, w: torch.Tensor | None, reduction: str) -> torch.Tensor:
        return fn(x[rows], t[rows], sample_weight=w, reduction=reduction)

    return loss


def check_loss_invariants(
    fn: LossFn, case: LossCase, n: int, seed: int, ints: list[int], scale: float
) -> None:
    """Every invariant of the table for one drawn example (raises AssertionError on failure)."""
    loss = _on_rows(fn, case, n, seed)
    unit_equals_none(loss, n)
    mask = [int(k > 0) for k in ints]
    if case.weights == "mask":
        zero_equals_removal(loss, torch.ones(n, dtype=torch.float64), mask)
        return
    integer_equals_repetition(loss, ints)
    w = torch.tensor([0.25 + k for k in ints], dtype=torch.float64)
    zero_equals_removal(loss, w, mask)
    weighted_mean_scale_free(loss, w, scale)


scales = st.sampled_from([0.125, 3.0, 1e3])
_settings = settings(max_examples=12, deadline=None)


@pytest.mark.parametrize("name", sorted(LOSS_CASES))
@_settings
@given(example=cases, scale=scales)
def test_loss_weight_invariants(name: str, example: tuple[int, int, list[int]], scale: float):
    n, seed, ints = example
    case = LOSS_CASES[name]
    fn = functools.partial(case.call or getattr(L, name), **case.options)
    check_loss_invariants(fn, case, n, seed, ints, scale)


@pytest.mark.parametrize("name", sorted(NN_CASES))
@_settings
@given(example=cases, scale=scales)
def test_nn_weight_invariants(name: str, example: tuple[int, int, list[int]], scale: float):
    n, seed, ints = example
    case = LOSS_CASES[NN_CASES[name]]
    options = dict(case.options)
    if name == "CompoundLoss":
        options = {"class_weight": options["class_weight"]}
    check_loss_invariants(_nn_loss(name, options), case, n, seed, ints, scale)


def test_an_unweighted_loss_fails_the_checks() -> None:
    """A loss that drops its ``sample_weight`` cannot pass: the registry test would catch it."""

    def unweighted(x: torch.Tensor, t: torch.Tensor, *, sample_weight: Any, reduction: str):
        out = F.cross_entropy(x, t, reduction="none")
        return out if reduction == "none" else (out.sum() if reduction == "sum" else out.mean())

    with pytest.raises(AssertionError):
        check_loss_invariants(unweighted, LossCase(_multiclass), 4, 0, [2, 1, 0, 3], 3.0)
    # ... while the same example passes for the real loss.
    check_loss_invariants(L.cross_entropy, LossCase(_multiclass), 4, 0, [2, 1, 0, 3], 3.0)


# ---- metrics -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricCase:
    data: str  # "multiclass" (probabilities (n, C)), "binary" or "multilabel"
    options: Mapping[str, Any] = field(default_factory=dict)
    ratio: bool = True  # scale-free in the weights
    #: result entries that are unweighted by definition (row counts shown beside the weighted
    #: ones), left out of the comparison
    unweighted_keys: frozenset[str] = frozenset()


_MC = {"task": "multiclass", "num_classes": C}
METRIC_CASES: dict[str, MetricCase] = {
    "accuracy": MetricCase("multiclass", _MC),
    "balanced_accuracy": MetricCase("multiclass", _MC),
    "precision": MetricCase("multiclass", _MC),
    "recall": MetricCase("multiclass", _MC),
    "f1_score": MetricCase("multiclass", _MC),
    "fbeta_score": MetricCase("multiclass", {**_MC, "beta": 2.0}),
    "specificity": MetricCase("multiclass", _MC),
    "jaccard_index": MetricCase("multiclass", _MC),
    "dice_score": MetricCase("multiclass", _MC),
    "matthews_corrcoef": MetricCase("multiclass", _MC),
    "cohen_kappa": MetricCase("multiclass", {**_MC, "weights": "quadratic"}),
    "geometric_mean": MetricCase("multiclass", _MC),
    "confusion_matrix": MetricCase("multiclass", _MC, ratio=False),
    "classification_report": MetricCase(
        "multiclass", _MC, ratio=False, unweighted_keys=frozenset({"support", "predicted"})
    ),
    "auroc": MetricCase("multiclass", _MC),
    "average_precision": MetricCase("binary", {"task": "binary"}),
    "log_loss": MetricCase("multiclass", _MC),
    "brier_score": MetricCase("multiclass", _MC),
    "calibration_error": MetricCase("binary", {"task": "binary", "n_bins": 5}),
    "precision_at_k": MetricCase("multilabel", {"k": 2, "num_labels": C}),
    "recall_at_k": MetricCase("multilabel", {"k": 2, "num_labels": C}),
}
#: Stateful classes: the functional case they mirror.
CLASS_CASES: dict[str, str] = {
    "Accuracy": "accuracy",
    "BalancedAccuracy": "balanced_accuracy",
    "Precision": "precision",
    "Recall": "recall",
    "F1Score": "f1_score",
    "FBetaScore": "fbeta_score",
    "Specificity": "specificity",
    "JaccardIndex": "jaccard_index",
    "DiceScore": "dice_score",
    "MatthewsCorrCoef": "matthews_corrcoef",
    "CohenKappa": "cohen_kappa",
    "GeometricMean": "geometric_mean",
    "ConfusionMatrix": "confusion_matrix",
    "ClassificationReport": "classification_report",
    "AUROC": "auroc",
    "AveragePrecision": "average_precision",
    "LogLoss": "log_loss",
    "BrierScore": "brier_score",
    "CalibrationError": "calibration_error",
    "PrecisionAtK": "precision_at_k",
    "RecallAtK": "recall_at_k",
}
#: Public names of ``weightwise.metrics`` that are not metrics, with the reason.
METRIC_EXEMPT = {
    "evaluate": "runs registered metrics (each covered here); tested against scikit-learn",
    "register_metric": "registration helper, not a metric",
    "report_table": "formats a classification report, no weights",
    "functional": "the functional subpackage (its names are covered)",
}


def _metric_data(kind: str, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    if kind == "binary":
        return torch.rand(n, generator=g, dtype=torch.float64), torch.randint(
            0, 2, (n,), generator=g
        )
    if kind == "multilabel":
        scores = torch.rand(n, C, generator=g, dtype=torch.float64)
        return scores, torch.randint(0, 2, (n, C), generator=g)
    probs = torch.softmax(torch.randn(n, C, generator=g, dtype=torch.float64), dim=1)
    return probs, torch.randint(0, C, (n,), generator=g)


def _flat(value: Any, skip: frozenset[str] = frozenset()) -> torch.Tensor:
    """Every number of a metric's result (tensor, float, nested dict) as one float64 vector."""
    if isinstance(value, Mapping):
        parts = [_flat(value[k], skip) for k in sorted(value, key=str) if k not in skip]
        return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.float64)
    if isinstance(value, (list, tuple)):
        return torch.cat([_flat(v) for v in value]) if value else torch.zeros(0)
    if isinstance(value, str):
        return torch.zeros(0, dtype=torch.float64)
    return torch.as_tensor(value, dtype=torch.float64).reshape(-1)


MetricFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], Any]


def _class_metric(name: str, options: Mapping[str, Any]) -> MetricFn:
    cls = getattr(MC, name)

    def fn(p: torch.Tensor, t: torch.Tensor, w: torch.Tensor | None) -> Any:
        opts = dict(options)
        if name in ("PrecisionAtK", "RecallAtK"):
            metric = cls(opts.pop("k"), **opts)
        else:
            metric = cls(opts.pop("task"), **opts)
        metric.update(p, t, sample_weight=w)
        return metric.compute()

    return fn


def _functional_metric(name: str, options: Mapping[str, Any]) -> MetricFn:
    def fn(p: torch.Tensor, t: torch.Tensor, w: torch.Tensor | None) -> Any:
        return getattr(MF, name)(p, t, sample_weight=w, **options)

    return fn


def check_metric_invariants(
    fn: MetricFn, case: MetricCase, n: int, seed: int, ints: list[int], scale: float
) -> None:
    p, t = _metric_data(case.data, n, seed)

    def same(a: Any, b: Any) -> None:
        skip = case.unweighted_keys
        torch.testing.assert_close(
            _flat(a, skip), _flat(b, skip), rtol=1e-6, atol=1e-9, equal_nan=True
        )

    rows = torch.arange(n)
    same(fn(p, t, torch.ones(n, dtype=torch.float64)), fn(p, t, None))
    reps = torch.tensor(ints, dtype=torch.float64)
    if reps.sum() == 0:
        reps[0] = 1.0
    idx = torch.repeat_interleave(rows, reps.long())
    same(fn(p, t, reps), fn(p[idx], t[idx], None))
    w = torch.tensor([0.25 + k for k in ints], dtype=torch.float64)
    keep = reps > 0
    same(fn(p, t, torch.where(keep, w, torch.zeros_like(w))), fn(p[keep], t[keep], w[keep]))
    if case.ratio:
        same(fn(p, t, w * scale), fn(p, t, w))


@pytest.mark.parametrize("name", sorted(METRIC_CASES))
@_settings
@given(example=cases, scale=scales)
def test_functional_metric_weight_invariants(name: str, example: Any, scale: float) -> None:
    n, seed, ints = example
    case = METRIC_CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined per-class values warn; equality still holds
        check_metric_invariants(_functional_metric(name, case.options), case, n, seed, ints, scale)


@pytest.mark.parametrize("name", sorted(CLASS_CASES))
@_settings
@given(example=cases, scale=scales)
def test_metric_class_weight_invariants(name: str, example: Any, scale: float) -> None:
    n, seed, ints = example
    case = METRIC_CASES[CLASS_CASES[name]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_metric_invariants(_class_metric(name, case.options), case, n, seed, ints, scale)


def test_an_unweighted_metric_fails_the_checks() -> None:
    def unweighted(p: torch.Tensor, t: torch.Tensor, w: torch.Tensor | None) -> Any:
        return MF.accuracy(p, t, task="multiclass", num_classes=C)

    with pytest.raises(AssertionError):
        for seed in range(5):  # some draw has a repeated or removed row that changes accuracy
            check_metric_invariants(
                unweighted, METRIC_CASES["accuracy"], 6, seed, [3, 0, 1, 2, 0, 1], 3.0
            )


# ---- the registries cover the public API ---------------------------------------------------


def test_every_public_name_has_a_case() -> None:
    assert set(L.__all__) == set(LOSS_CASES) | set(LOSS_EXEMPT)
    assert set(NN.__all__) == set(NN_CASES)
    assert set(MF.__all__) == set(METRIC_CASES)
    assert set(MC.__all__) == set(CLASS_CASES) | set(METRIC_EXEMPT)
    assert np.all([callable(getattr(L, n)) for n in LOSS_CASES])
