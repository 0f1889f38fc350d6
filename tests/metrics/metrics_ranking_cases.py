"""Shared cases for the ranking/probabilistic metric tests (imported, not collected).

Each case names a functional twin with its options and the stateful class built with the
same options, and draws inputs with ties, zero weights and absent classes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from weightwise.metrics import (
    AUROC,
    AveragePrecision,
    BrierScore,
    CalibrationError,
    LogLoss,
    PrecisionAtK,
    RecallAtK,
)
from weightwise.metrics.functional import (
    auroc,
    average_precision,
    brier_score,
    calibration_error,
    log_loss,
    precision_at_k,
    recall_at_k,
)

GRID = np.array([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0])
ROWS3 = np.array(
    [
        [0.5, 0.3, 0.2],
        [0.2, 0.5, 0.3],
        [0.3, 0.2, 0.5],
        [0.25, 0.25, 0.5],
        [0.5, 0.25, 0.25],
        [0.0, 0.0, 1.0],
        [1.0, 0.0, 0.0],
    ]
)
ROW_GRID = [0.0, 0.2, 0.25, 0.3, 0.5, 1.0]  # every value ROWS3 holds


def make_inputs(kind: str, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = np.random.default_rng(seed)
    if kind == "binary":
        return torch.tensor(g.choice(GRID, n)), torch.tensor(g.integers(0, 2, n))
    if kind == "multiclass":
        return torch.tensor(ROWS3[g.integers(0, len(ROWS3), n)]), torch.tensor(g.integers(0, 3, n))
    return torch.tensor(g.choice(GRID, (n, 3))), torch.tensor(g.integers(0, 2, (n, 3)))


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # input kind: binary, multiclass, multilabel
    fn: Callable[..., torch.Tensor]
    cls: type
    fn_kwargs: dict[str, Any] = field(default_factory=dict)
    cls_args: tuple[Any, ...] = ()
    cls_kwargs: dict[str, Any] = field(default_factory=dict)

    def functional(self, p: torch.Tensor, t: torch.Tensor, w: Any = None) -> torch.Tensor:
        return self.fn(p, t, sample_weight=w, **self.fn_kwargs)

    def stateful(self) -> Any:
        return self.cls(*self.cls_args, **self.cls_kwargs)

    def __repr__(self) -> str:
        return self.name


def _ranking(name, kind, fn, cls, **kw):
    task = kind
    extra = {"num_classes": 3} if kind == "multiclass" else {}
    extra |= {"num_labels": 3} if kind == "multilabel" else {}
    return Case(name, kind, fn, cls, {"task": task, **extra, **kw}, (task,), {**extra, **kw})


CASES: list[Case] = [
    _ranking("auroc-binary", "binary", auroc, AUROC),
    _ranking("auroc-binary-binned", "binary", auroc, AUROC, thresholds=21),
    _ranking("auroc-ovr-macro", "multiclass", auroc, AUROC),
    _ranking(
        "auroc-ovr-weighted-binned",
        "multiclass",
        auroc,
        AUROC,
        average="weighted",
        thresholds=ROW_GRID,
    ),
    _ranking("auroc-ovr-micro", "multiclass", auroc, AUROC, average="micro"),
    _ranking("auroc-ovo-macro", "multiclass", auroc, AUROC, multi_class="ovo"),
    _ranking(
        "auroc-ovo-weighted", "multiclass", auroc, AUROC, multi_class="ovo", average="weighted"
    ),
    _ranking(
        "auroc-ovo-binned", "multiclass", auroc, AUROC, multi_class="ovo", thresholds=ROW_GRID
    ),
    _ranking("auroc-multilabel-none", "multilabel", auroc, AUROC, average="none"),
    _ranking("auroc-multilabel-binned", "multilabel", auroc, AUROC, thresholds=21),
    _ranking("ap-binary", "binary", average_precision, AveragePrecision),
    _ranking("ap-binary-binned", "binary", average_precision, AveragePrecision, thresholds=21),
    _ranking(
        "ap-ovr-weighted", "multiclass", average_precision, AveragePrecision, average="weighted"
    ),
    _ranking(
        "ap-multilabel-micro", "multilabel", average_precision, AveragePrecision, average="micro"
    ),
    _ranking("logloss-binary", "binary", log_loss, LogLoss),
    _ranking("logloss-multiclass", "multiclass", log_loss, LogLoss),
    _ranking("brier-binary", "binary", brier_score, BrierScore),
    _ranking("brier-multilabel", "multilabel", brier_score, BrierScore),
    _ranking("calibration-l1", "binary", calibration_error, CalibrationError, n_bins=4),
    _ranking(
        "calibration-l2-multiclass", "multiclass", calibration_error, CalibrationError, norm="l2"
    ),
    _ranking("calibration-max", "binary", calibration_error, CalibrationError, norm="max"),
    Case("precision-at-2", "multilabel", precision_at_k, PrecisionAtK, {"k": 2}, (2,)),
    Case("recall-at-2", "multilabel", recall_at_k, RecallAtK, {"k": 2}, (2,)),
]


GLOBAL_N = 37


def global_data(kind: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The dataset every DDP rank shards: inputs with ties and zero weights."""
    p, t = make_inputs(kind, GLOBAL_N, 123)
    w = torch.tensor(np.random.default_rng(7).choice([0.0, 0.5, 1.0, 2.5], GLOBAL_N))
    return p, t, w


def shard(
    p: torch.Tensor, t: torch.Tensor, w: torch.Tensor, rank: int, world: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rank ``rank``'s uneven share, padded to the largest share with weight-0 duplicates of
    its first rows (what a distributed evaluation sampler does)."""
    bounds = [0, 22, GLOBAL_N] if world == 2 else [0, GLOBAL_N]
    lo, hi = bounds[rank], bounds[rank + 1]
    size = max(b - a for a, b in itertools.pairwise(bounds))
    pad = size - (hi - lo)
    idx = torch.cat([torch.arange(lo, hi), torch.arange(lo, lo + pad)])
    wr = w[idx].clone()
    if pad:
        wr[-pad:] = 0.0
    return p[idx], t[idx], wr
