"""Stateful confusion-matrix metrics: thin torchmetrics ``Metric`` subclasses.

Each metric keeps float64 sums (the weighted ``[tp, fp, fn, tn]`` per class, or the full
confusion matrix) with ``dist_reduce_fx="sum"``, so merging batches and synchronising DDP ranks
is exact addition, and weight-0 padding from a distributed evaluation sampler changes nothing.
``compute`` calls the same ``*_from_stats`` function as the functional twin in
:mod:`weightwise.metrics.functional` (each class names it in ``_from_stats``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import torch

from ._base import LabelMetric
from .functional import _stat_scores as cf
from .functional._confusion import (
    labels_update,
    multiclass_confmat_update,
    report_from_stats,
    report_update,
    stats_update,
)
from .functional._inputs import (
    AVERAGES,
    check_average,
    check_beta,
    check_kappa_weights,
    check_top_k,
    check_zero_division,
)

__all__ = [
    "Accuracy",
    "BalancedAccuracy",
    "ClassificationReport",
    "CohenKappa",
    "ConfusionMatrix",
    "DiceScore",
    "F1Score",
    "FBetaScore",
    "GeometricMean",
    "JaccardIndex",
    "MatthewsCorrCoef",
    "Precision",
    "Recall",
    "Specificity",
]


#: Sentinel: ``average`` not given (``None`` itself means ``"none"``, per class).
_DEFAULT: Any = object()


class _StatScores(LabelMetric):
    """Base: accumulates the weighted ``[tp, fp, fn, tn]`` ``(4, K)`` in float64.

    Multiclass metrics with at most ``CONFMAT_MAX_CLASSES`` (64) classes and ``top_k=1`` keep
    the weighted ``(C, C)`` confusion matrix instead (state ``confmat``; one ``bincount`` per
    update) and derive ``[tp, fp, fn, tn]`` from it in ``compute``; the others keep ``stats``.

    Args:
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"``.
        num_classes: number of classes (multiclass).
        num_labels: number of labels (multilabel).
        threshold: binary/multilabel scores ``> threshold`` are positive (strict).
        from_logits: apply a sigmoid to binary/multilabel scores first.
        ignore_index: target value whose elements are left out (weight 0).
        kwargs: passed to :class:`torchmetrics.Metric` (``process_group``, ``sync_on_compute``...).

    ``update(preds, target, sample_weight=None)``: ``preds`` are binary/multilabel
    probabilities or 0/1 labels of the target's shape, or multiclass labels ``(N, d...)`` /
    scores ``(N, C, d...)``; ``sample_weight`` is ``None``, a scalar, ``(N,)``, a per-pixel map
    ``(N, d...)``, ``(N, L)`` per sample and label, or the full grid.
    """

    higher_is_better: bool | None = True
    stats: torch.Tensor
    confmat: torch.Tensor

    def __init__(
        self,
        task: str,
        *,
        num_classes: int | None = None,
        num_labels: int | None = None,
        threshold: float = 0.5,
        from_logits: bool = False,
        ignore_index: int | None = None,
        top_k: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        k = self._set_labels(
            task,
            num_classes=num_classes,
            num_labels=num_labels,
            threshold=threshold,
            from_logits=from_logits,
            ignore_index=ignore_index,
        )
        self.top_k = check_top_k(top_k, task, num_classes)
        self._use_confmat = (
            self.task == "multiclass" and self.top_k == 1 and k <= cf.CONFMAT_MAX_CLASSES
        )
        if self._use_confmat:
            self.add_state(
                "confmat", default=torch.zeros(k, k, dtype=torch.float64), dist_reduce_fx="sum"
            )
        else:
            self.add_state(
                "stats", default=torch.zeros(4, k, dtype=torch.float64), dist_reduce_fx="sum"
            )

    def _stat_scores(self) -> torch.Tensor:
        """The accumulated ``[tp, fp, fn, tn]`` ``(4, K)``."""
        if self._use_confmat:
            return cf.stat_scores_from_confmat(self.confmat)
        return self.stats

    def update(self, preds: Any, target: Any, sample_weight: Any = None) -> None:
        """Add one batch's weighted counts."""
        if self._use_confmat:
            cm = multiclass_confmat_update(
                preds,
                target,
                sample_weight,
                num_classes=self.num_outputs,
                ignore_index=self.ignore_index,
            )
            self.confmat.add_(cm.to(self.confmat.device))  # in place, as += (no __setattr__)
            return
        stats = stats_update(
            preds, target, sample_weight, **self._format_options(), top_k=self.top_k
        )
        self.stats += stats.to(self.stats.device)


class _Averaged(_StatScores):
    """Base of the averaged metrics: ``compute`` applies the class's ``_from_stats``."""

    #: The functional ``compute`` step, ``(stats, *, task, average, zero_division) -> value``.
    _from_stats: cf.AveragedFromStats
    _default_average = "macro"
    _averages = AVERAGES

    def __init__(
        self,
        task: str,
        *,
        num_classes: int | None = None,
        num_labels: int | None = None,
        threshold: float = 0.5,
        average: Any = _DEFAULT,
        zero_division: float = 0.0,
        from_logits: bool = False,
        ignore_index: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            task,
            num_classes=num_classes,
            num_labels=num_labels,
            threshold=threshold,
            from_logits=from_logits,
            ignore_index=ignore_index,
            **kwargs,
        )
        # None means "none" (per class), as in the functional twins; leaving the argument out
        # gives the metric's default.
        avg = self._default_average if average is _DEFAULT else average
        self.average = check_average(avg, self._averages)
        self.zero_division = check_zero_division(zero_division)

    def _compute_step(self) -> cf.AveragedFromStats:
        return type(self)._from_stats

    def compute(self) -> torch.Tensor:
        """The metric over everything seen since the last reset."""
        return self._compute_step()(
            self._stat_scores(),
            task=self.task,
            average=self.average,
            zero_division=self.zero_division,
        )


class Precision(_Averaged):
    """Weighted precision ``tp / (tp + fp)`` (``average`` defaults to ``"macro"``; pass
    ``"none"`` for per-class values). Equals ``sklearn.metrics.precision_score``.

    Weights that depend only on the class **change** precision. Twin:
    :func:`weightwise.metrics.functional.precision`.
    """

    _from_stats = staticmethod(cf.precision_from_stats)


class Recall(_Averaged):
    """Weighted recall ``tp / (tp + fn)``. Equals ``sklearn.metrics.recall_score``.

    Class-only weights do not change per-class or macro recall; they change micro and weighted
    averages. Twin: :func:`weightwise.metrics.functional.recall`.
    """

    _from_stats = staticmethod(cf.recall_from_stats)


class Specificity(_Averaged):
    """Weighted specificity ``tn / (tn + fp)`` per class, one-vs-rest.

    Class-only weights change multiclass specificity (not binary). Twin:
    :func:`weightwise.metrics.functional.specificity`.
    """

    _from_stats = staticmethod(cf.specificity_from_stats)


class JaccardIndex(_Averaged):
    """Weighted Jaccard index / IoU ``tp / (tp + fp + fn)``, pooled over the evaluation set;
    per-pixel weight maps weight each pixel. Equals ``sklearn.metrics.jaccard_score``.

    Class-only weights change it. Twin: :func:`weightwise.metrics.functional.jaccard_index`.
    """

    _from_stats = staticmethod(cf.jaccard_from_stats)


class DiceScore(_Averaged):
    """Weighted Dice ``2tp / (2tp + fp + fn)``, pooled over the evaluation set (numerically
    F1); per-pixel weight maps weight each pixel.

    Class-only weights change it. Twin: :func:`weightwise.metrics.functional.dice_score`.
    """

    _from_stats = staticmethod(cf.f1_from_stats)


class F1Score(_Averaged):
    """Weighted F1. Equals ``sklearn.metrics.f1_score``.

    Class-only weights change it. Twin: :func:`weightwise.metrics.functional.f1_score`.
    """

    _from_stats = staticmethod(cf.f1_from_stats)


class FBetaScore(_Averaged):
    """Weighted F-beta ``(1+β²)tp / ((1+β²)tp + β²fn + fp)``. Equals
    ``sklearn.metrics.fbeta_score``. ``beta`` is keyword-only and required.

    Class-only weights change it. Twin: :func:`weightwise.metrics.functional.fbeta_score`.
    """

    def __init__(self, task: str, *, beta: float, **kwargs: Any) -> None:
        super().__init__(task, **kwargs)
        self.beta = check_beta(beta)

    def _compute_step(self) -> cf.AveragedFromStats:
        return functools.partial(cf.fbeta_from_stats, beta=self.beta)


class Accuracy(_Averaged):
    """Weighted accuracy; ``average="micro"`` by default, as ``sklearn.metrics.accuracy_score``
    (torchmetrics defaults to ``"macro"``).

    ``top_k > 1`` (multiclass scores ``(N, C, ...)``) counts a hit when the target is among
    the ``k`` highest scores, ties to the lower class index. Multiclass macro/weighted/none are
    per-class recalls; multilabel accuracy is per (sample, label) pair.

    Class-only weights change micro accuracy, not per-class accuracy. Twin:
    :func:`weightwise.metrics.functional.accuracy`.
    """

    _from_stats = staticmethod(cf.accuracy_from_stats)
    _default_average = "micro"

    def __init__(self, task: str, *, top_k: int = 1, **kwargs: Any) -> None:
        average = kwargs.pop("average", _DEFAULT)
        zero_division = kwargs.pop("zero_division", 0.0)
        _StatScores.__init__(self, task, top_k=top_k, **kwargs)
        self.average = check_average(
            self._default_average if average is _DEFAULT else average, self._averages
        )
        self.zero_division = check_zero_division(zero_division)


class GeometricMean(_Averaged):
    """Weighted geometric mean of sensitivity and specificity as imbalanced-learn's
    ``geometric_mean_score`` defines it, with ``TN = Σw − TP − FP − FN``. ``average`` defaults
    to ``"multiclass"`` (geometric mean of the present classes' recalls); ``"micro"``,
    ``"macro"``, ``"weighted"`` average sensitivity and specificity first. Binary or multiclass.

    Class-only weights do not change the ``"multiclass"`` or binary value. Twin:
    :func:`weightwise.metrics.functional.geometric_mean`.
    """

    _from_stats = staticmethod(cf.geometric_mean_from_stats)
    _default_average = "multiclass"
    _averages = (*AVERAGES, "multiclass")

    def __init__(self, task: str, **kwargs: Any) -> None:
        if task == "multilabel":
            raise ValueError(
                f"GeometricMean supports task='binary' or 'multiclass' only; got task={task!r}"
            )
        super().__init__(task, **kwargs)


class BalancedAccuracy(_StatScores):
    """Weighted balanced accuracy: the mean recall over the classes with positive weighted
    support (scikit-learn's ``balanced_accuracy_score``). Binary or multiclass.

    Weights that depend only on the class do **not** change it. Twin:
    :func:`weightwise.metrics.functional.balanced_accuracy`.
    """

    def __init__(self, task: str, *, zero_division: float = 0.0, **kwargs: Any) -> None:
        if task == "multilabel":
            raise ValueError(
                f"BalancedAccuracy supports task='binary' or 'multiclass' only; got task={task!r}"
            )
        super().__init__(task, **kwargs)
        self.zero_division = check_zero_division(zero_division)

    def compute(self) -> torch.Tensor:
        """The metric over everything seen since the last reset."""
        return cf.balanced_accuracy_from_stats(
            self._stat_scores(), task=self.task, zero_division=self.zero_division
        )


class MatthewsCorrCoef(_StatScores):
    """Weighted Matthews correlation coefficient (``sklearn.metrics.matthews_corrcoef``; 0
    when undefined). Multilabel: every (sample, label) pair as one binary problem.

    Class-only weights change it. Twin: :func:`weightwise.metrics.functional.matthews_corrcoef`.
    """

    def compute(self) -> torch.Tensor:
        """The metric over everything seen since the last reset."""
        return cf.matthews_from_stats(self._stat_scores(), task=self.task)


class _MatrixMetric(LabelMetric):
    """Base of :class:`ConfusionMatrix` and :class:`CohenKappa`: the weighted matrix state."""

    matrix: torch.Tensor

    def __init__(
        self,
        task: str,
        *,
        num_classes: int | None = None,
        num_labels: int | None = None,
        threshold: float = 0.5,
        from_logits: bool = False,
        ignore_index: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        k = self._set_labels(
            task,
            num_classes=num_classes,
            num_labels=num_labels,
            threshold=threshold,
            from_logits=from_logits,
            ignore_index=ignore_index,
        )
        shape = (2, 2) if task == "binary" else (k, k) if task == "multiclass" else (k, 2, 2)
        self.add_state(
            "matrix", default=torch.zeros(shape, dtype=torch.float64), dist_reduce_fx="sum"
        )

    def update(self, preds: Any, target: Any, sample_weight: Any = None) -> None:
        """Add one batch's weighted confusion matrix."""
        if self.task == "multiclass":
            cm = multiclass_confmat_update(
                preds,
                target,
                sample_weight,
                num_classes=self.matrix.shape[0],
                ignore_index=self.ignore_index,
            )
            self.matrix += cm.to(self.matrix.device)
            return
        f = labels_update(preds, target, sample_weight, **self._format_options())
        self.matrix += cf.confusion_matrix_update(f).to(self.matrix.device)


class ConfusionMatrix(_MatrixMetric):
    """Weighted confusion matrix, float64, rows = target, columns = prediction:
    ``(2, 2)`` binary, ``(C, C)`` multiclass, ``(L, 2, 2)`` multilabel.

    ``normalize``: ``None``, ``"true"``, ``"pred"`` or ``"all"`` (scikit-learn's). Class-only
    weights rescale rows (``normalize="true"`` is unchanged by them). Twin:
    :func:`weightwise.metrics.functional.confusion_matrix`.
    """

    higher_is_better = None

    def __init__(self, task: str, *, normalize: str | None = None, **kwargs: Any) -> None:
        cf.normalize_matrix(torch.zeros(1, 1), normalize)
        super().__init__(task, **kwargs)
        self.normalize = normalize

    def compute(self) -> torch.Tensor:
        """The (normalised) matrix over everything seen since the last reset."""
        return cf.normalize_matrix(self.matrix, self.normalize)


class CohenKappa(_MatrixMetric):
    """Weighted Cohen's kappa (``sklearn.metrics.cohen_kappa_score(labels=range(C))``; NaN when
    undefined). ``weights``: disagreement weights ``None``, ``"linear"`` or ``"quadratic"`` in
    class-index distance. Binary or multiclass.

    Class-only sample weights change it. Twin: :func:`weightwise.metrics.functional.cohen_kappa`.
    """

    higher_is_better = True

    def __init__(self, task: str, *, weights: str | None = None, **kwargs: Any) -> None:
        if task == "multilabel":
            raise ValueError(
                f"CohenKappa supports task='binary' or 'multiclass' only; got task={task!r}"
            )
        self.weights = check_kappa_weights(weights)
        super().__init__(task, **kwargs)

    def compute(self) -> torch.Tensor:
        """The metric over everything seen since the last reset."""
        return cf.cohen_kappa_from_matrix(self.matrix, weights=self.weights)


class ClassificationReport(LabelMetric):
    """Per-class precision, recall, F1, support (count of positive-weight samples), weighted
    support, predicted count and weighted predicted count, plus accuracy (micro avg for
    multilabel), macro and weighted averages: the keys of scikit-learn's
    ``classification_report(output_dict=True)``, whose ``support`` is our
    ``weighted_support``.

    ``compute()`` returns the dict; :func:`weightwise.metrics.report_table` turns it into a
    rich table. The binary
    task reports both classes. Class-only weights change the weighted columns and averages,
    not per-class recall. Twin: :func:`weightwise.metrics.functional.classification_report`.
    """

    higher_is_better = None
    stats: torch.Tensor
    counts: torch.Tensor

    def __init__(
        self,
        task: str,
        *,
        num_classes: int | None = None,
        num_labels: int | None = None,
        threshold: float = 0.5,
        zero_division: float = 0.0,
        from_logits: bool = False,
        ignore_index: int | None = None,
        target_names: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        k = self._set_labels(
            task,
            num_classes=num_classes,
            num_labels=num_labels,
            threshold=threshold,
            from_logits=from_logits,
            ignore_index=ignore_index,
        )
        k = 2 if task == "binary" else k
        self.zero_division = check_zero_division(zero_division)
        self.target_names = list(target_names) if target_names is not None else None
        self.add_state("stats", torch.zeros(4, k, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("counts", torch.zeros(2, k, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, preds: Any, target: Any, sample_weight: Any = None) -> None:
        """Add one batch."""
        stats, counts = report_update(preds, target, sample_weight, **self._format_options())
        self.stats += stats.to(self.stats.device)
        self.counts += counts.to(self.counts.device)

    def compute(self) -> dict[str, Any]:
        """The report dict over everything seen since the last reset."""
        return report_from_stats(
            self.stats,
            self.counts,
            task=self.task,
            zero_division=self.zero_division,
            target_names=self.target_names,
        )
