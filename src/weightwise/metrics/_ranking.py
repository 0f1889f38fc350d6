"""Stateful ranking metrics: thin torchmetrics ``Metric`` subclasses.

* Exact :class:`AUROC` and :class:`AveragePrecision` keep every score, target and weight as list
  states with ``dist_reduce_fx="cat"``: merging batches or DDP ranks is concatenation, and
  ``compute`` runs the functional twin's private steps on the concatenation.
* Binned ones (``thresholds=K``) keep a float64 histogram with ``dist_reduce_fx="sum"``, whose
  size does not grow with the data.
* :class:`PrecisionAtK` and :class:`RecallAtK` keep float64 sums (``dist_reduce_fx="sum"``).

Every state is a sum or a concatenation of per-sample terms, so streaming over uneven batches
equals one call on the concatenation, and weight-0 padding from a distributed evaluation
sampler changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor
from torchmetrics.utilities.data import dim_zero_cat

from ._base import CompilableMetric, TaskMetric
from .functional import _curves as cv
from .functional import _ranking as rk
from .functional._inputs import (
    check_k,
    check_multi_class,
    check_ranking_average,
)

__all__ = ["AUROC", "AveragePrecision", "PrecisionAtK", "RecallAtK"]

_F64 = torch.float64


class _Ranking(TaskMetric):
    """Shared state handling for :class:`AUROC` and :class:`AveragePrecision`."""

    higher_is_better: bool | None = True
    #: What ``compute`` scores (the functional twin's :class:`~._ranking.RankingScore`).
    _score: ClassVar[rk.RankingScore]

    preds: list[Tensor]
    target: list[Tensor]
    weight: list[Tensor]
    hist: Tensor

    def __init__(
        self,
        task: str,
        *,
        num_classes: int | None = None,
        num_labels: int | None = None,
        average: str | None = "macro",
        multi_class: str = "ovr",
        thresholds: int | Sequence[float] | Tensor | None = None,
        from_logits: bool = False,
        ignore_index: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._set_task(
            task,
            num_classes=num_classes,
            num_labels=num_labels,
            from_logits=from_logits,
            ignore_index=ignore_index,
        )
        self.multi_class = check_multi_class(multi_class, task)
        self.average = check_ranking_average(average, task, self.multi_class)
        self.grid = None if thresholds is None else cv.threshold_grid(thresholds)
        if self.grid is None:
            self.add_state("preds", default=[], dist_reduce_fx="cat")
            self.add_state("target", default=[], dist_reduce_fx="cat")
            self.add_state("weight", default=[], dist_reduce_fx="cat")
        else:
            shape = rk.ranking_state_shape(task, self.num_outputs, self.grid, self.multi_class)
            self.add_state("hist", default=torch.zeros(shape, dtype=_F64), dist_reduce_fx="sum")

    def update(self, preds: Any, target: Any, sample_weight: Any = None) -> None:
        """Keep one batch's scores, targets and weights (exact) or add its histogram (binned)."""
        p, t, w, c = rk.format_ranking(
            preds, target, sample_weight, **self._format_options(), exact=self.grid is None
        )
        if self.grid is None:
            self.preds.append(p.detach())
            self.target.append(t)
            self.weight.append(w)
        else:
            h = rk.ranking_hist_update(
                self.task, p, t, w, self.grid, num_outputs=c, multi_class=self.multi_class
            )
            self.hist += h.to(self.hist.device)

    def _cat(self) -> tuple[Tensor, Tensor, Tensor]:
        if isinstance(self.preds, list) and not self.preds:
            cols = () if self.task == "binary" else (self.num_outputs,)
            empty_t = (0,) if self.task != "multilabel" else (0, self.num_outputs)
            return (
                torch.zeros((0, *cols), device=self.device),
                torch.zeros(empty_t, dtype=torch.long, device=self.device),
                torch.zeros(empty_t, dtype=_F64, device=self.device),
            )
        return dim_zero_cat(self.preds), dim_zero_cat(self.target), dim_zero_cat(self.weight)

    def compute(self) -> Tensor:
        """The exact or binned value over everything seen since the last reset."""
        if self.grid is None:
            p, t, w = self._cat()
            return rk.ranking_exact_compute(
                self._score,
                self.task,
                p,
                t,
                w,
                num_outputs=self.num_outputs,
                average=self.average,
                multi_class=self.multi_class,
            )
        return rk.ranking_binned_compute(
            self._score, self.task, self.hist, average=self.average, multi_class=self.multi_class
        )


class AUROC(_Ranking):
    """Weighted ROC AUC, streaming; equals ``sklearn.metrics.roc_auc_score(sample_weight=...)``.

    See :func:`weightwise.metrics.functional.auroc` for the definitions (binary; multiclass
    one-vs-rest with ``average`` ``"macro"``, ``"weighted"``, ``"micro"`` or ``"none"``;
    weighted one-vs-one after Hand & Till with ``multi_class="ovo"``; multilabel per label),
    undefined classes (left out with a warning) and binning.

    **Class-only weights** do not change the binary AUROC, a one-vs-one pair or the one-vs-one
    macro average; they do change one-vs-rest values whose "rest" mixes classes of different
    weight, and ``"weighted"`` averages.

    Exact (``thresholds=None``, the default): keeps every score, target and weight; states are
    lists merged by concatenation. Binned (``thresholds=K`` or a sequence): a float64 histogram
    of ``(K+1)`` bins per class (``(C, K+1, C)`` for one-vs-one), merged by addition; scores on
    the threshold grid give exactly the exact value.

    Args:
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"``.
        num_classes: number of classes (multiclass, required).
        num_labels: number of labels (multilabel, required).
        average: averaging over classes or labels (ignored for binary).
        multi_class: ``"ovr"`` (default) or ``"ovo"`` (multiclass).
        thresholds: ``None`` (exact), an int ``K`` or an increasing sequence (binned).
        from_logits: apply a sigmoid (binary, multilabel) or softmax (multiclass) first.
        ignore_index: target value whose elements are left out (weight 0).
        kwargs: passed to :class:`torchmetrics.Metric`.

    ``update(preds, target, sample_weight=None)`` takes the functional twin's inputs.

    Example:
        >>> import torch
        >>> m = AUROC("binary")
        >>> m.update(torch.tensor([0.1, 0.4]), torch.tensor([0, 0]))
        >>> m.update(torch.tensor([0.35, 0.8]), torch.tensor([1, 1]), torch.tensor([2.0, 1.0]))
        >>> m.compute()
        tensor(0.6667, dtype=torch.float64)
    """

    _score = rk.ROC_AUC


class AveragePrecision(_Ranking):
    """Weighted average precision, streaming; equals
    ``sklearn.metrics.average_precision_score(sample_weight=...)``.

    Step-wise ``Σ_k (R_k − R_{k−1})·P_k`` with ties entering together, as scikit-learn. Classes
    or labels without weighted positives are left out of the average with a warning.
    **Class-only weights do change AP.** Exact or binned as :class:`AUROC`; arguments are
    those of :class:`AUROC` without ``multi_class``.

    Example:
        >>> import torch
        >>> m = AveragePrecision("binary")
        >>> m.update(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]))
        >>> m.compute()
        tensor(0.8333, dtype=torch.float64)
    """

    _score = rk.AVERAGE_PRECISION

    def __init__(
        self,
        task: str,
        *,
        num_classes: int | None = None,
        num_labels: int | None = None,
        average: str | None = "macro",
        thresholds: int | Sequence[float] | Tensor | None = None,
        from_logits: bool = False,
        ignore_index: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            task,
            num_classes=num_classes,
            num_labels=num_labels,
            average=average,
            multi_class="ovr",
            thresholds=thresholds,
            from_logits=from_logits,
            ignore_index=ignore_index,
            **kwargs,
        )


class _AtK(CompilableMetric):
    """Shared state for :class:`PrecisionAtK` and :class:`RecallAtK`."""

    is_differentiable = False
    higher_is_better: bool | None = True
    full_state_update = False
    #: The functional ``compute`` step, state ``(4,)`` -> value.
    _compute: Callable[[Tensor], Tensor]
    total: Tensor

    def __init__(
        self,
        k: int,
        *,
        num_labels: int | None = None,
        from_logits: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.k = check_k(k, num_labels)
        self.num_labels = num_labels
        self.from_logits = bool(from_logits)
        self.add_state("total", default=torch.zeros(4, dtype=_F64), dist_reduce_fx="sum")

    def update(self, preds: Any, target: Any, sample_weight: Any = None) -> None:
        """Add one batch's weighted sums."""
        p, t, w = rk.format_at_k(
            preds, target, sample_weight, num_labels=self.num_labels, from_logits=self.from_logits
        )
        check_k(self.k, p.shape[1])
        self.total += rk.at_k_update(p, t, w, k=self.k).to(self.total.device)

    def compute(self) -> Tensor:
        """The weighted mean over rows seen since the last reset."""
        return type(self)._compute(self.total)


class PrecisionAtK(_AtK):
    """Weighted multi-label precision at ``k``, streaming.

    See :func:`weightwise.metrics.functional.precision_at_k`: ``Σ_n w_n·hits_n / k / Σ_n w_n``,
    the top ``k`` labels by score with ties to the lower label index; ``sample_weight`` weights
    rows (``(N,)`` or a per-pixel map).

    Args:
        k: number of top-scored labels per row.
        num_labels: number of labels (checked against the inputs when given).
        from_logits: apply a sigmoid first (does not change the ranking).
        kwargs: passed to :class:`torchmetrics.Metric`.

    Example:
        >>> import torch
        >>> m = PrecisionAtK(2)
        >>> m.update(torch.tensor([[0.9, 0.1, 0.5], [0.2, 0.7, 0.6]]),
        ...          torch.tensor([[1, 0, 0], [1, 1, 0]]))
        >>> m.compute()
        tensor(0.5000, dtype=torch.float64)
    """

    _compute = staticmethod(rk.precision_at_k_compute)


class RecallAtK(_AtK):
    """Weighted multi-label recall at ``k``, streaming: ``Σ_n w_n·hits_n / |Y_n| / Σ_n w_n`` over
    rows with at least one true label. See :class:`PrecisionAtK`.

    Example:
        >>> import torch
        >>> m = RecallAtK(2)
        >>> m.update(torch.tensor([[0.9, 0.1, 0.5], [0.2, 0.7, 0.6]]),
        ...          torch.tensor([[1, 0, 0], [1, 1, 0]]))
        >>> m.compute()
        tensor(0.7500, dtype=torch.float64)
    """

    _compute = staticmethod(rk.recall_at_k_compute)
