"""Stateful probabilistic metrics: thin torchmetrics ``Metric`` subclasses.

:class:`LogLoss`, :class:`BrierScore` and :class:`CalibrationError` keep float64 sums
(``dist_reduce_fx="sum"``): a sum of per-sample terms, so streaming over uneven batches equals
one call on the concatenation, and weight-0 padding from a distributed evaluation sampler
changes nothing. ``update`` and ``compute`` call the steps of the functional twins in
:mod:`weightwise.metrics.functional`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from ._base import TaskMetric
from .functional import _probabilistic as prob
from .functional._inputs import check_calibration_args

__all__ = ["BrierScore", "CalibrationError", "LogLoss"]

_F64 = torch.float64


class _Probabilistic(TaskMetric):
    """Shared state handling for :class:`LogLoss` and :class:`BrierScore`: ``[Σ w·L, Σ w]``."""

    higher_is_better: bool | None = False
    #: The functional update step, ``(task, preds, target, weight) -> [Σ w·L, Σ w]``.
    _update: prob.LossUpdate
    #: The metric's name in the zero-weight warning.
    _what: ClassVar[str]
    total: Tensor

    def __init__(
        self,
        task: str,
        *,
        num_classes: int | None = None,
        num_labels: int | None = None,
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
        self.add_state("total", default=torch.zeros(2, dtype=_F64), dist_reduce_fx="sum")

    def update(self, preds: Any, target: Any, sample_weight: Any = None) -> None:
        """Add one batch's weighted sums."""
        p, t, w = prob.format_probabilistic(preds, target, sample_weight, **self._format_options())
        self.total += type(self)._update(self.task, p, t, w).to(self.total.device)

    def compute(self) -> Tensor:
        """``Σ w·L / Σ w`` (``nan`` with a warning when no weight was seen)."""
        return prob.loss_ratio(self.total, self._what)


class LogLoss(_Probabilistic):
    """Weighted log loss, streaming; equals ``sklearn.metrics.log_loss(sample_weight=...)``.

    Clips probabilities at ``finfo(preds.dtype).eps`` and does not renormalise rows. See
    :func:`weightwise.metrics.functional.log_loss`. **Class-only weights do change it.**

    Args:
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (scored per element).
        num_classes: number of classes (multiclass, required).
        num_labels: number of labels (multilabel, required).
        from_logits: apply a sigmoid (binary, multilabel) or softmax (multiclass) first.
        ignore_index: target value whose elements are left out (weight 0).
        kwargs: passed to :class:`torchmetrics.Metric`.

    Example:
        >>> import torch
        >>> m = LogLoss("binary")
        >>> m.update(torch.tensor([0.9, 0.2]), torch.tensor([1, 0]))
        >>> m.compute()
        tensor(0.1643, dtype=torch.float64)
    """

    _update = staticmethod(prob.log_loss_update)
    _what = "log loss"


class BrierScore(_Probabilistic):
    """Weighted Brier score, streaming; equals ``sklearn.metrics.brier_score_loss``.

    Binary ``(p − t)²``; multiclass ``Σ_c (p_c − [y = c])²`` (scikit-learn's
    ``scale_by_half=False``). **Class-only weights do change it.** Arguments as
    :class:`LogLoss`.

    Example:
        >>> import torch
        >>> m = BrierScore("binary")
        >>> m.update(torch.tensor([0.9, 0.2]), torch.tensor([1, 0]))
        >>> m.compute()
        tensor(0.0250, dtype=torch.float64)
    """

    _update = staticmethod(prob.brier_score_update)
    _what = "Brier score"


class CalibrationError(TaskMetric):
    """Weighted calibration error (ECE for ``norm="l1"``), streaming.

    Keeps per-bin float64 sums ``[Σ w, Σ w·confidence, Σ w·accuracy]`` of ``n_bins``
    equal-width bins. See :func:`weightwise.metrics.functional.calibration_error`.
    **Class-only weights do change it.**

    Args:
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (scored per element).
        num_classes: number of classes (multiclass, required).
        num_labels: number of labels (multilabel, required).
        n_bins: number of bins (default 15, as torchmetrics).
        norm: ``"l1"``, ``"l2"`` or ``"max"``.
        from_logits: apply a sigmoid or softmax first.
        ignore_index: target value whose elements are left out (weight 0).
        kwargs: passed to :class:`torchmetrics.Metric`.

    Example:
        >>> import torch
        >>> m = CalibrationError("binary", n_bins=10)
        >>> m.update(torch.tensor([0.9, 0.2]), torch.tensor([1, 0]))
        >>> m.compute()
        tensor(0.1500, dtype=torch.float64)
    """

    higher_is_better: bool | None = False
    bins: Tensor

    def __init__(
        self,
        task: str,
        *,
        num_classes: int | None = None,
        num_labels: int | None = None,
        n_bins: int = 15,
        norm: str = "l1",
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
        self.n_bins, self.norm = check_calibration_args(n_bins, norm)
        self.add_state(
            "bins", default=torch.zeros(self.n_bins, 3, dtype=_F64), dist_reduce_fx="sum"
        )

    def update(self, preds: Any, target: Any, sample_weight: Any = None) -> None:
        """Add one batch's per-bin sums."""
        p, t, w = prob.format_probabilistic(preds, target, sample_weight, **self._format_options())
        self.bins += prob.calibration_update(self.task, p, t, w, n_bins=self.n_bins).to(
            self.bins.device
        )

    def compute(self) -> Tensor:
        """The calibration error over everything seen since the last reset."""
        return prob.calibration_compute(self.bins, norm=self.norm)
