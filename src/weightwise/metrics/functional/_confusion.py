"""Functional confusion-matrix metrics and the classification report (pure functions).

Each function formats its inputs with :mod:`._inputs`, accumulates the weighted statistics with
:mod:`._stat_scores` and computes the value with the same ``*_from_stats`` function that the
stateful metric's ``compute`` calls. ``task=None`` infers the task and ``num_classes`` /
``num_labels`` default to what the inputs show (one rule: :func:`._inputs.resolve_task`).
``sample_weight`` is keyword-only (a positional one still works for one release, with a
``FutureWarning``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import torch

from . import _stat_scores as sc
from ._inputs import (
    AVERAGES,
    Formatted,
    check_average,
    check_beta,
    check_kappa_weights,
    check_top_k,
    check_zero_division,
    fast_multiclass_labels,
    format_labels,
    format_scores,
    resolve_task,
)
from ._keyword import keyword_sample_weight

__all__ = [
    "accuracy",
    "balanced_accuracy",
    "classification_report",
    "cohen_kappa",
    "confusion_matrix",
    "dice_score",
    "f1_score",
    "fbeta_score",
    "geometric_mean",
    "jaccard_index",
    "matthews_corrcoef",
    "precision",
    "recall",
    "specificity",
]


# ----------------------------------------------------------------------------------------------
# update steps (shared with the stateful metrics)
# ----------------------------------------------------------------------------------------------


def stats_update(
    preds: Any,
    target: Any,
    sample_weight: Any,
    *,
    task: str,
    num_classes: int | None,
    num_labels: int | None,
    threshold: float,
    from_logits: bool,
    ignore_index: int | None,
    top_k: int = 1,
) -> torch.Tensor:
    """Format the inputs and return the weighted ``[tp, fp, fn, tn]`` ``(4, K)``."""
    if top_k > 1:
        f = format_scores(
            preds,
            target,
            sample_weight,
            task=task,
            num_classes=num_classes,
            ignore_index=ignore_index,
            require_probabilities=False,
        )
        return sc.stat_scores_topk(f, top_k)
    f = labels_update(
        preds,
        target,
        sample_weight,
        task=task,
        num_classes=num_classes,
        num_labels=num_labels,
        threshold=threshold,
        from_logits=from_logits,
        ignore_index=ignore_index,
    )
    return sc.stat_scores_update(f)


def multiclass_confmat_update(
    preds: Any,
    target: Any,
    sample_weight: Any,
    *,
    num_classes: int,
    ignore_index: int | None,
) -> torch.Tensor:
    """One batch's weighted multiclass confusion matrix ``(C, C)`` float64 (rows: target).

    The common case (see :func:`._inputs.fast_multiclass_labels`) skips the generic formatting;
    both paths feed the same labels and weights to one ``bincount`` of ``target·C + pred``.
    """
    fast = (
        fast_multiclass_labels(preds, target, sample_weight, num_classes)
        if ignore_index is None
        else None
    )
    if fast is None:
        f = format_labels(
            preds,
            target,
            sample_weight,
            task="multiclass",
            num_classes=num_classes,
            ignore_index=ignore_index,
        )
        fast = f.preds, f.target, f.weight
    p, t, w = fast
    k = num_classes
    cm = torch.bincount(torch.add(p, t, alpha=k), weights=w, minlength=k * k)
    return cm.to(torch.float64).reshape(k, k)


def labels_update(
    preds: Any,
    target: Any,
    sample_weight: Any,
    *,
    task: str,
    num_classes: int | None,
    num_labels: int | None,
    threshold: float,
    from_logits: bool,
    ignore_index: int | None,
) -> Formatted:
    """Format the inputs as hard labels (see :func:`._inputs.format_labels`)."""
    return format_labels(
        preds,
        target,
        sample_weight,
        task=task,
        num_classes=num_classes,
        num_labels=num_labels,
        threshold=threshold,
        from_logits=from_logits,
        ignore_index=ignore_index,
    )


def report_update(
    preds: Any,
    target: Any,
    sample_weight: Any,
    *,
    task: str,
    num_classes: int | None,
    num_labels: int | None,
    threshold: float,
    from_logits: bool,
    ignore_index: int | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The report's state of one batch: stat scores ``(4, K)`` and counts ``(2, K)``.

    The binary task reports both classes (``K = 2``), as scikit-learn does.
    """
    f = labels_update(
        preds,
        target,
        sample_weight,
        task=task,
        num_classes=num_classes,
        num_labels=num_labels,
        threshold=threshold,
        from_logits=from_logits,
        ignore_index=ignore_index,
    )
    if task == "binary":
        f = Formatted(f.preds, f.target, f.weight, 2, "multiclass")
    return sc.stat_scores_update(f), sc.support_counts_update(f)


def _stats(
    preds: Any,
    target: Any,
    sample_weight: Any,
    task: str | None,
    num_classes: int | None,
    num_labels: int | None,
    threshold: float,
    from_logits: bool,
    ignore_index: int | None,
    top_k: int = 1,
) -> tuple[torch.Tensor, str]:
    """Resolve the task, then one batch's stat scores; returns ``(stats, task)``."""
    task, num_classes, num_labels = resolve_task(preds, target, task, num_classes, num_labels)
    check_top_k(top_k, task, num_classes)
    stats = stats_update(
        preds,
        target,
        sample_weight,
        task=task,
        num_classes=num_classes,
        num_labels=num_labels,
        threshold=threshold,
        from_logits=from_logits,
        ignore_index=ignore_index,
        top_k=top_k,
    )
    return stats, task


def _averaged(
    from_stats: sc.AveragedFromStats,
    preds: Any,
    target: Any,
    sample_weight: Any,
    *,
    task: str | None,
    num_classes: int | None,
    num_labels: int | None,
    threshold: float,
    average: str | None,
    zero_division: float,
    from_logits: bool,
    ignore_index: int | None,
    top_k: int = 1,
    averages: tuple[str, ...] = AVERAGES,
) -> torch.Tensor:
    """Check the options, count, and apply ``from_stats`` (a ``*_from_stats`` function)."""
    avg = check_average(average, averages)
    zd = check_zero_division(zero_division)
    stats, task = _stats(
        preds, target, sample_weight, task, num_classes, num_labels, threshold, from_logits,
        ignore_index, top_k,
    )  # fmt: skip
    return from_stats(stats, task=task, average=avg, zero_division=zd)


# ----------------------------------------------------------------------------------------------
# averaged ratios
# ----------------------------------------------------------------------------------------------


@keyword_sample_weight
def precision(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    average: str | None = "macro",
    zero_division: float = 0.0,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted precision ``Σw·[pred = c, y = c] / Σw·[pred = c]``, i.e. ``tp / (tp + fp)``.

    Equals ``sklearn.metrics.precision_score(y, pred, sample_weight=w, average=...)``. Weights
    that depend only on the class **do** change precision (they rescale ``fp`` of one class
    against ``tp`` of another). Stateful twin: :class:`weightwise.metrics.Precision`.

    Args:
        preds: binary/multilabel probabilities in ``[0, 1]`` (or 0/1 labels) of the target's
            shape; multiclass class labels ``(N, d...)`` or scores ``(N, C, d...)`` (argmax,
            ties to the lower index).
        target: 0/1 ``(N, d...)`` (binary), class indices ``(N, d...)`` (multiclass) or 0/1
            ``(N, L, d...)`` (multilabel).
        sample_weight: keyword-only; ``None``, a scalar, ``(N,)``, a per-pixel map
            ``(N, d...)``, ``(N, L)`` per sample and label (multilabel) or the full grid;
            finite and non-negative.
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (inferred when ``None``).
        num_classes: ``C`` (multiclass; inferred from the scores' class axis or the largest
            label when ``None``).
        num_labels: ``L`` (multilabel; ``target.shape[1]`` when ``None``).
        threshold: binary/multilabel scores ``> threshold`` are positive (strict).
        average: ``"micro"``, ``"macro"``, ``"weighted"`` (by weighted support ``tp + fn``)
            or ``"none"``/``None`` (per class); ignored by the binary task, which scores the
            positive class. A class enters ``macro``/``weighted`` only when its weighted
            ``tp + fp + fn > 0``.
        zero_division: the value of a ratio with a zero denominator (0.0, 1.0 or NaN; NaN
            leaves the class out of the average).
        from_logits: apply a sigmoid to binary/multilabel scores first.
        ignore_index: target value whose elements are left out (weight 0).

    Returns:
        A float64 scalar, or ``(K,)`` per-class values for ``average="none"``.

    Example:
        >>> import torch
        >>> precision(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]),
        ...           sample_weight=torch.tensor([1.0, 1.0, 2.0, 0.5]))
        tensor(0.7778, dtype=torch.float64)
    """
    return _averaged(
        sc.precision_from_stats, preds, target, sample_weight, task=task,
        num_classes=num_classes, num_labels=num_labels, threshold=threshold, average=average,
        zero_division=zero_division, from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip


@keyword_sample_weight
def recall(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    average: str | None = "macro",
    zero_division: float = 0.0,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted recall ``Σw·[pred = c, y = c] / Σw·[y = c]``, i.e. ``tp / (tp + fn)``.

    Equals ``sklearn.metrics.recall_score(y, pred, sample_weight=w, average=...)``. Class-only
    weights do not change per-class or macro recall (each class's recall uses only that
    class's samples), but they do change ``micro`` and ``weighted`` averages. Stateful twin:
    :class:`weightwise.metrics.Recall`.

    Args:
        preds: binary/multilabel probabilities in ``[0, 1]`` (or 0/1 labels) of the target's
            shape; multiclass class labels ``(N, d...)`` or scores ``(N, C, d...)`` (argmax,
            ties to the lower index).
        target: 0/1 ``(N, d...)`` (binary), class indices ``(N, d...)`` (multiclass) or 0/1
            ``(N, L, d...)`` (multilabel).
        sample_weight: keyword-only; ``None``, a scalar, ``(N,)``, a per-pixel map
            ``(N, d...)``, ``(N, L)`` per sample and label (multilabel) or the full grid;
            finite and non-negative.
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (inferred when ``None``).
        num_classes: ``C`` (multiclass; inferred when ``None``).
        num_labels: ``L`` (multilabel; ``target.shape[1]`` when ``None``).
        threshold: binary/multilabel scores ``> threshold`` are positive (strict).
        average: ``"micro"``, ``"macro"``, ``"weighted"`` or ``"none"``/``None``; ignored by
            the binary task.
        zero_division: the value of a ratio with a zero denominator (0.0, 1.0 or NaN).
        from_logits: apply a sigmoid to binary/multilabel scores first.
        ignore_index: target value whose elements are left out (weight 0).

    Returns:
        A float64 scalar, or ``(K,)`` per-class values for ``average="none"``.

    Example:
        >>> import torch
        >>> recall(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]),
        ...        sample_weight=torch.tensor([1.0, 1.0, 2.0, 0.5]), average="none")
        tensor([1.0000, 1.0000, 0.2000], dtype=torch.float64)
    """
    return _averaged(
        sc.recall_from_stats, preds, target, sample_weight, task=task, num_classes=num_classes,
        num_labels=num_labels, threshold=threshold, average=average,
        zero_division=zero_division, from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip


@keyword_sample_weight
def specificity(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    average: str | None = "macro",
    zero_division: float = 0.0,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted specificity ``tn / (tn + fp)`` per class, one-vs-rest, with the weighted
    ``tn = Σw − tp − fp − fn``.

    scikit-learn has no specificity function; per class it is ``cm[0, 0] / cm[0].sum()`` of
    ``sklearn.metrics.multilabel_confusion_matrix(y, pred, sample_weight=w)``. Class-only
    weights change multiclass specificity (``tn`` of a class mixes the other classes'
    weights); binary specificity is unchanged by them. Stateful twin:
    :class:`weightwise.metrics.Specificity`.

    Args:
        preds: binary/multilabel probabilities in ``[0, 1]`` (or 0/1 labels) of the target's
            shape; multiclass class labels ``(N, d...)`` or scores ``(N, C, d...)``.
        target: 0/1 ``(N, d...)`` (binary), class indices ``(N, d...)`` (multiclass) or 0/1
            ``(N, L, d...)`` (multilabel).
        sample_weight: keyword-only; ``None``, a scalar, ``(N,)``, a per-pixel map
            ``(N, d...)``, ``(N, L)`` per sample and label (multilabel) or the full grid;
            finite and non-negative.
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (inferred when ``None``).
        num_classes: ``C`` (multiclass; inferred when ``None``).
        num_labels: ``L`` (multilabel; ``target.shape[1]`` when ``None``).
        threshold: binary/multilabel scores ``> threshold`` are positive (strict).
        average: ``"micro"``, ``"macro"``, ``"weighted"`` or ``"none"``/``None``; ignored by
            the binary task.
        zero_division: the value of a ratio with a zero denominator (0.0, 1.0 or NaN).
        from_logits: apply a sigmoid to binary/multilabel scores first.
        ignore_index: target value whose elements are left out (weight 0).

    Returns:
        A float64 scalar, or ``(K,)`` per-class values for ``average="none"``.

    Example:
        >>> import torch
        >>> specificity(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]),
        ...             sample_weight=torch.tensor([1.0, 1.0, 2.0, 0.5]))
        tensor(0.8095, dtype=torch.float64)
    """
    return _averaged(
        sc.specificity_from_stats, preds, target, sample_weight, task=task,
        num_classes=num_classes, num_labels=num_labels, threshold=threshold, average=average,
        zero_division=zero_division, from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip


@keyword_sample_weight
def jaccard_index(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    average: str | None = "macro",
    zero_division: float = 0.0,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted Jaccard index (IoU) ``tp / (tp + fp + fn)``, pooled over the evaluation set.

    Equals ``sklearn.metrics.jaccard_score(y, pred, sample_weight=w, average=...)``; per-pixel
    weight maps weight each pixel's count. Class-only weights change it. Stateful twin:
    :class:`weightwise.metrics.JaccardIndex`.

    Args:
        preds: binary/multilabel probabilities in ``[0, 1]`` (or 0/1 labels) of the target's
            shape; multiclass class labels ``(N, d...)`` or scores ``(N, C, d...)``.
        target: 0/1 ``(N, d...)`` (binary), class indices ``(N, d...)`` (multiclass) or 0/1
            ``(N, L, d...)`` (multilabel).
        sample_weight: keyword-only; ``None``, a scalar, ``(N,)``, a per-pixel map
            ``(N, d...)``, ``(N, L)`` per sample and label (multilabel) or the full grid;
            finite and non-negative.
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (inferred when ``None``).
        num_classes: ``C`` (multiclass; inferred when ``None``).
        num_labels: ``L`` (multilabel; ``target.shape[1]`` when ``None``).
        threshold: binary/multilabel scores ``> threshold`` are positive (strict).
        average: ``"micro"``, ``"macro"``, ``"weighted"`` or ``"none"``/``None``; ignored by
            the binary task.
        zero_division: the value of a ratio with a zero denominator (0.0, 1.0 or NaN).
        from_logits: apply a sigmoid to binary/multilabel scores first.
        ignore_index: target value whose elements are left out (weight 0).

    Returns:
        A float64 scalar, or ``(K,)`` per-class values for ``average="none"``.

    Example:
        >>> import torch
        >>> jaccard_index(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]),
        ...               sample_weight=torch.tensor([1.0, 1.0, 2.0, 0.5]))
        tensor(0.5111, dtype=torch.float64)
    """
    return _averaged(
        sc.jaccard_from_stats, preds, target, sample_weight, task=task,
        num_classes=num_classes, num_labels=num_labels, threshold=threshold, average=average,
        zero_division=zero_division, from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip


@keyword_sample_weight
def fbeta_score(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    beta: float,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    average: str | None = "macro",
    zero_division: float = 0.0,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted F-beta ``(1+β²)·tp / ((1+β²)·tp + β²·fn + fp)``.

    Equals ``sklearn.metrics.fbeta_score(y, pred, beta=beta, sample_weight=w, average=...)``
    (0 when ``tp = 0`` but ``fp + fn > 0``; ``zero_division`` only when ``tp = fp = fn = 0``).
    Class-only weights change it. Stateful twin: :class:`weightwise.metrics.FBetaScore`.

    Args:
        preds: binary/multilabel probabilities in ``[0, 1]`` (or 0/1 labels) of the target's
            shape; multiclass class labels ``(N, d...)`` or scores ``(N, C, d...)``.
        target: 0/1 ``(N, d...)`` (binary), class indices ``(N, d...)`` (multiclass) or 0/1
            ``(N, L, d...)`` (multilabel).
        sample_weight: keyword-only; ``None``, a scalar, ``(N,)``, a per-pixel map
            ``(N, d...)``, ``(N, L)`` per sample and label (multilabel) or the full grid;
            finite and non-negative.
        beta: the weight of recall against precision (finite, positive; required).
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (inferred when ``None``).
        num_classes: ``C`` (multiclass; inferred when ``None``).
        num_labels: ``L`` (multilabel; ``target.shape[1]`` when ``None``).
        threshold: binary/multilabel scores ``> threshold`` are positive (strict).
        average: ``"micro"``, ``"macro"``, ``"weighted"`` or ``"none"``/``None``; ignored by
            the binary task.
        zero_division: the value when ``tp = fp = fn = 0`` (0.0, 1.0 or NaN).
        from_logits: apply a sigmoid to binary/multilabel scores first.
        ignore_index: target value whose elements are left out (weight 0).

    Returns:
        A float64 scalar, or ``(K,)`` per-class values for ``average="none"``.

    Example:
        >>> import torch
        >>> fbeta_score(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]), beta=0.5,
        ...             sample_weight=torch.tensor([1.0, 1.0, 2.0, 0.5]))
        tensor(0.6467, dtype=torch.float64)
    """
    return _averaged(
        functools.partial(sc.fbeta_from_stats, beta=check_beta(beta)), preds, target,
        sample_weight, task=task, num_classes=num_classes, num_labels=num_labels,
        threshold=threshold, average=average, zero_division=zero_division,
        from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip


@keyword_sample_weight
def f1_score(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    average: str | None = "macro",
    zero_division: float = 0.0,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted F1 ``2·tp / (2·tp + fn + fp)`` (F-beta with ``β = 1``).

    Equals ``sklearn.metrics.f1_score(y, pred, sample_weight=w, average=...)``. Class-only
    weights change it. Stateful twin: :class:`weightwise.metrics.F1Score`.

    Args:
        preds: binary/multilabel probabilities in ``[0, 1]`` (or 0/1 labels) of the target's
            shape; multiclass class labels ``(N, d...)`` or scores ``(N, C, d...)``.
        target: 0/1 ``(N, d...)`` (binary), class indices ``(N, d...)`` (multiclass) or 0/1
            ``(N, L, d...)`` (multilabel).
        sample_weight: keyword-only; ``None``, a scalar, ``(N,)``, a per-pixel map
            ``(N, d...)``, ``(N, L)`` per sample and label (multilabel) or the full grid;
            finite and non-negative.
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (inferred when ``None``).
        num_classes: ``C`` (multiclass; inferred when ``None``).
        num_labels: ``L`` (multilabel; ``target.shape[1]`` when ``None``).
        threshold: binary/multilabel scores ``> threshold`` are positive (strict).
        average: ``"micro"``, ``"macro"``, ``"weighted"`` or ``"none"``/``None``; ignored by
            the binary task.
        zero_division: the value when ``tp = fp = fn = 0`` (0.0, 1.0 or NaN).
        from_logits: apply a sigmoid to binary/multilabel scores first.
        ignore_index: target value whose elements are left out (weight 0).

    Returns:
        A float64 scalar, or ``(K,)`` per-class values for ``average="none"``.

    Example:
        >>> import torch
        >>> f1_score(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]),
        ...          sample_weight=torch.tensor([1.0, 1.0, 2.0, 0.5]))
        tensor(0.6111, dtype=torch.float64)
    """
    return _averaged(
        sc.f1_from_stats, preds, target, sample_weight, task=task, num_classes=num_classes,
        num_labels=num_labels, threshold=threshold, average=average,
        zero_division=zero_division, from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip


@keyword_sample_weight
def dice_score(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    average: str | None = "macro",
    zero_division: float = 0.0,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted Dice ``2·tp / (2·tp + fp + fn)`` over the whole evaluation set (pooled counts).

    Numerically F1, so it equals ``sklearn.metrics.f1_score(y, pred, sample_weight=w)`` on the
    flattened pixels; per-pixel weight maps ``(N, d...)`` weight each pixel's count (Dice
    1945; Sørensen 1948). Class-only weights change it. Stateful twin:
    :class:`weightwise.metrics.DiceScore`.

    Args:
        preds: binary/multilabel probabilities in ``[0, 1]`` (or 0/1 labels) of the target's
            shape; multiclass class labels ``(N, d...)`` or scores ``(N, C, d...)``.
        target: 0/1 ``(N, d...)`` (binary), class indices ``(N, d...)`` (multiclass) or 0/1
            ``(N, L, d...)`` (multilabel).
        sample_weight: keyword-only; ``None``, a scalar, ``(N,)``, a per-pixel map
            ``(N, d...)``, ``(N, L)`` per sample and label (multilabel) or the full grid;
            finite and non-negative.
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (inferred when ``None``).
        num_classes: ``C`` (multiclass; inferred when ``None``).
        num_labels: ``L`` (multilabel; ``target.shape[1]`` when ``None``).
        threshold: binary/multilabel scores ``> threshold`` are positive (strict).
        average: ``"micro"``, ``"macro"``, ``"weighted"`` or ``"none"``/``None``; ignored by
            the binary task.
        zero_division: the value when ``tp = fp = fn = 0`` (0.0, 1.0 or NaN).
        from_logits: apply a sigmoid to binary/multilabel scores first.
        ignore_index: target value whose elements are left out (weight 0).

    Returns:
        A float64 scalar, or ``(K,)`` per-class values for ``average="none"``.

    Example:
        >>> import torch
        >>> mask = torch.tensor([[[0.9, 0.2], [0.7, 0.1]]])  # (N=1, H=2, W=2) probabilities
        >>> dice_score(mask, torch.tensor([[[1, 0], [0, 0]]]), task="binary",
        ...            sample_weight=torch.tensor([[[1.0, 1.0], [3.0, 1.0]]]))
        tensor(0.4000, dtype=torch.float64)
    """
    return _averaged(
        sc.f1_from_stats, preds, target, sample_weight, task=task, num_classes=num_classes,
        num_labels=num_labels, threshold=threshold, average=average,
        zero_division=zero_division, from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip


@keyword_sample_weight
def accuracy(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    average: str | None = "micro",
    top_k: int = 1,
    zero_division: float = 0.0,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted accuracy ``Σw·[pred = y] / Σw`` (``micro``, the default).

    ``micro`` equals ``sklearn.metrics.accuracy_score(y, pred, sample_weight=w)``
    (torchmetrics defaults to ``macro``). Multiclass ``macro``/``weighted``/``none`` are
    per-class recalls. ``top_k > 1`` (multiclass scores) counts a hit when the target is among
    the ``k`` best scores, ties to the lower class index; micro then equals
    ``sklearn.metrics.top_k_accuracy_score``. Multilabel accuracy is per (sample, label) pair
    (``1 −`` Hamming loss), not scikit-learn's subset accuracy. Class-only weights change
    micro accuracy but not per-class accuracy. Stateful twin:
    :class:`weightwise.metrics.Accuracy`.

    Args:
        preds: binary/multilabel probabilities in ``[0, 1]`` (or 0/1 labels) of the target's
            shape; multiclass class labels ``(N, d...)`` or scores ``(N, C, d...)``.
        target: 0/1 ``(N, d...)`` (binary), class indices ``(N, d...)`` (multiclass) or 0/1
            ``(N, L, d...)`` (multilabel).
        sample_weight: keyword-only; ``None``, a scalar, ``(N,)``, a per-pixel map
            ``(N, d...)``, ``(N, L)`` per sample and label (multilabel) or the full grid;
            finite and non-negative.
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (inferred when ``None``).
        num_classes: ``C`` (multiclass; inferred when ``None``).
        num_labels: ``L`` (multilabel; ``target.shape[1]`` when ``None``).
        threshold: binary/multilabel scores ``> threshold`` are positive (strict).
        average: ``"micro"`` (default), ``"macro"``, ``"weighted"`` or ``"none"``/``None``;
            ignored by the binary task.
        top_k: hits among the ``k`` best scores (multiclass scores ``(N, C, d...)`` only).
        zero_division: the value of a ratio with a zero denominator (0.0, 1.0 or NaN).
        from_logits: apply a sigmoid to binary/multilabel scores first.
        ignore_index: target value whose elements are left out (weight 0).

    Returns:
        A float64 scalar, or ``(K,)`` per-class values for ``average="none"``.

    Example:
        >>> import torch
        >>> accuracy(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]),
        ...          sample_weight=torch.tensor([1.0, 1.0, 2.0, 0.5]))
        tensor(0.5556, dtype=torch.float64)
    """
    return _averaged(
        sc.accuracy_from_stats, preds, target, sample_weight, task=task,
        num_classes=num_classes, num_labels=num_labels, threshold=threshold, average=average,
        zero_division=zero_division, from_logits=from_logits, ignore_index=ignore_index,
        top_k=top_k,
    )  # fmt: skip


@keyword_sample_weight
def balanced_accuracy(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    task: str | None = None,
    num_classes: int | None = None,
    threshold: float = 0.5,
    zero_division: float = 0.0,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted balanced accuracy: ``mean_c tp_c / (tp_c + fn_c)`` over the classes with
    positive weighted support ``tp_c + fn_c``. Binary or multiclass.

    Equals ``sklearn.metrics.balanced_accuracy_score(y, pred, sample_weight=w)``. Weights that
    depend only on the class do **not** change it. Stateful twin:
    :class:`weightwise.metrics.BalancedAccuracy`.

    Args:
        preds: binary probabilities in ``[0, 1]`` (or 0/1 labels) of the target's shape;
            multiclass class labels ``(N, d...)`` or scores ``(N, C, d...)``.
        target: 0/1 ``(N, d...)`` (binary) or class indices ``(N, d...)`` (multiclass).
        sample_weight: keyword-only; ``None``, a scalar, ``(N,)``, a per-pixel map
            ``(N, d...)`` or the full grid; finite and non-negative.
        task: ``"binary"`` or ``"multiclass"`` (inferred when ``None``).
        num_classes: ``C`` (multiclass; inferred when ``None``).
        threshold: binary scores ``> threshold`` are positive (strict).
        zero_division: the value when no class has weighted support (0.0, 1.0 or NaN).
        from_logits: apply a sigmoid to binary scores first.
        ignore_index: target value whose elements are left out (weight 0).

    Returns:
        A float64 scalar.

    Example:
        >>> import torch
        >>> balanced_accuracy(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]),
        ...                   sample_weight=torch.tensor([1.0, 1.0, 2.0, 0.5]))
        tensor(0.7333, dtype=torch.float64)
    """
    zd = check_zero_division(zero_division)
    stats, task = _stats(
        preds, target, sample_weight, task, num_classes, None, threshold, from_logits,
        ignore_index,
    )  # fmt: skip
    return sc.balanced_accuracy_from_stats(stats, task=task, zero_division=zd)


@keyword_sample_weight
def geometric_mean(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    task: str | None = None,
    num_classes: int | None = None,
    threshold: float = 0.5,
    average: str | None = "multiclass",
    zero_division: float = 0.0,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted geometric mean of sensitivity and specificity (Kubat & Matwin 1997).

    As imbalanced-learn's ``geometric_mean_score(y, pred, sample_weight=w, average=...)``
    defines it, with the weighted ``TN = Σw − TP − FP − FN``: ``average="multiclass"`` (the
    default) is ``(Π_c recall_c)^(1/K)`` over the ``K`` present classes (0 when one recall is
    0); ``"micro"``, ``"macro"``, ``"weighted"`` are ``sqrt(sensitivity·specificity)`` with both
    averaged first; ``"none"`` is per class; the binary task is ``sqrt(TPR·TNR)``. Class-only
    weights do not change the ``"multiclass"`` value or a binary value; they change the other
    averages. Stateful twin: :class:`weightwise.metrics.GeometricMean`.

    Args:
        preds: binary probabilities in ``[0, 1]`` (or 0/1 labels) of the target's shape;
            multiclass class labels ``(N, d...)`` or scores ``(N, C, d...)``.
        target: 0/1 ``(N, d...)`` (binary) or class indices ``(N, d...)`` (multiclass).
        sample_weight: keyword-only; ``None``, a scalar, ``(N,)``, a per-pixel map
            ``(N, d...)`` or the full grid; finite and non-negative.
        task: ``"binary"`` or ``"multiclass"`` (inferred when ``None``).
        num_classes: ``C`` (multiclass; inferred when ``None``).
        threshold: binary scores ``> threshold`` are positive (strict).
        average: ``"multiclass"`` (default), ``"micro"``, ``"macro"``, ``"weighted"`` or
            ``"none"``/``None``; ignored by the binary task.
        zero_division: the value of a ratio with a zero denominator (0.0, 1.0 or NaN).
        from_logits: apply a sigmoid to binary scores first.
        ignore_index: target value whose elements are left out (weight 0).

    Returns:
        A float64 scalar, or ``(C,)`` per-class values for ``average="none"``.

    Example:
        >>> import torch
        >>> geometric_mean(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]),
        ...                sample_weight=torch.tensor([1.0, 1.0, 2.0, 0.5]))
        tensor(0.5848, dtype=torch.float64)
    """
    return _averaged(
        sc.geometric_mean_from_stats, preds, target, sample_weight, task=task,
        num_classes=num_classes, num_labels=None, threshold=threshold, average=average,
        zero_division=zero_division, from_logits=from_logits, ignore_index=ignore_index,
        averages=(*AVERAGES, "multiclass"),
    )  # fmt: skip


@keyword_sample_weight
def matthews_corrcoef(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted Matthews correlation coefficient (Matthews 1975; Gorodkin 2004 for ``C > 2``).

    With the weighted confusion matrix's class sums ``t_c`` (true), ``p_c`` (predicted), the
    trace ``s`` and the total ``n``: ``(s·n − Σ t_c p_c) / sqrt((n² − Σ p_c²)(n² − Σ t_c²))``,
    0 when undefined. Equals ``sklearn.metrics.matthews_corrcoef(y, pred, sample_weight=w)``.
    Multilabel: all (sample, label) pairs as one binary problem. Class-only weights change
    it. Stateful twin: :class:`weightwise.metrics.MatthewsCorrCoef`.

    Args:
        preds: binary/multilabel probabilities in ``[0, 1]`` (or 0/1 labels) of the target's
            shape; multiclass class labels ``(N, d...)`` or scores ``(N, C, d...)``.
        target: 0/1 ``(N, d...)`` (binary), class indices ``(N, d...)`` (multiclass) or 0/1
            ``(N, L, d...)`` (multilabel).
        sample_weight: keyword-only; ``None``, a scalar, ``(N,)``, a per-pixel map
            ``(N, d...)``, ``(N, L)`` per sample and label (multilabel) or the full grid;
            finite and non-negative.
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (inferred when ``None``).
        num_classes: ``C`` (multiclass; inferred when ``None``).
        num_labels: ``L`` (multilabel; ``target.shape[1]`` when ``None``).
        threshold: binary/multilabel scores ``> threshold`` are positive (strict).
        from_logits: apply a sigmoid to binary/multilabel scores first.
        ignore_index: target value whose elements are left out (weight 0).

    Returns:
        A float64 scalar in ``[-1, 1]``.

    Example:
        >>> import torch
        >>> matthews_corrcoef(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]),
        ...                   sample_weight=torch.tensor([1.0, 1.0, 2.0, 0.5]))
        tensor(0.5477, dtype=torch.float64)
    """
    stats, task = _stats(
        preds, target, sample_weight, task, num_classes, num_labels, threshold, from_logits,
        ignore_index,
    )  # fmt: skip
    return sc.matthews_from_stats(stats, task=task)


@keyword_sample_weight
def cohen_kappa(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    task: str | None = None,
    num_classes: int | None = None,
    weights: str | None = None,
    threshold: float = 0.5,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted Cohen's kappa (Cohen 1960) ``1 − Σ v_ij·O_ij / Σ v_ij·E_ij``.

    ``O`` is the weighted confusion matrix, ``E`` the outer product of its row and column sums
    over the total, ``v`` the disagreement weights. Equals
    ``sklearn.metrics.cohen_kappa_score(y, pred, labels=range(C), weights=..., sample_weight=w)``
    (NaN when undefined). Binary or multiclass. Class-only sample weights change it. Stateful
    twin: :class:`weightwise.metrics.CohenKappa`.

    Args:
        preds: binary probabilities in ``[0, 1]`` (or 0/1 labels) of the target's shape;
            multiclass class labels ``(N, d...)`` or scores ``(N, C, d...)``.
        target: 0/1 ``(N, d...)`` (binary) or class indices ``(N, d...)`` (multiclass).
        sample_weight: keyword-only; ``None``, a scalar, ``(N,)``, a per-pixel map
            ``(N, d...)`` or the full grid; finite and non-negative.
        task: ``"binary"`` or ``"multiclass"`` (inferred when ``None``).
        num_classes: ``C`` (multiclass; inferred when ``None``).
        weights: disagreement weights ``v``: ``None`` (``[i ≠ j]``), ``"linear"`` (``|i − j|``)
            or ``"quadratic"`` (``(i − j)²``) in class-index distance.
        threshold: binary scores ``> threshold`` are positive (strict).
        from_logits: apply a sigmoid to binary scores first.
        ignore_index: target value whose elements are left out (weight 0).

    Returns:
        A float64 scalar.

    Example:
        >>> import torch
        >>> cohen_kappa(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]),
        ...             sample_weight=torch.tensor([1.0, 1.0, 2.0, 0.5]))
        tensor(0.4000, dtype=torch.float64)
    """
    check_kappa_weights(weights)
    task, num_classes, _ = resolve_task(preds, target, task, num_classes, None)
    if task == "multilabel":
        raise ValueError(
            f"cohen_kappa is defined for task='binary' or 'multiclass' only; got task={task!r}"
        )
    f = labels_update(
        preds, target, sample_weight, task=task, num_classes=num_classes, num_labels=None,
        threshold=threshold, from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip
    return sc.cohen_kappa_from_matrix(sc.confusion_matrix_update(f), weights=weights)


@keyword_sample_weight
def confusion_matrix(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    normalize: str | None = None,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted confusion matrix ``M[i, j] = Σw·[y = i, pred = j]`` (float64; rows are
    targets, columns predictions).

    Equals ``sklearn.metrics.confusion_matrix(y, pred, labels=range(C), sample_weight=w)``;
    multilabel equals ``multilabel_confusion_matrix`` (``[[tn, fp], [fn, tp]]`` per label).
    Class-only weights rescale rows; ``normalize="true"`` is unchanged by them. Stateful twin:
    :class:`weightwise.metrics.ConfusionMatrix`.

    Args:
        preds: binary/multilabel probabilities in ``[0, 1]`` (or 0/1 labels) of the target's
            shape; multiclass class labels ``(N, d...)`` or scores ``(N, C, d...)``.
        target: 0/1 ``(N, d...)`` (binary), class indices ``(N, d...)`` (multiclass) or 0/1
            ``(N, L, d...)`` (multilabel).
        sample_weight: keyword-only; ``None``, a scalar, ``(N,)``, a per-pixel map
            ``(N, d...)``, ``(N, L)`` per sample and label (multilabel) or the full grid;
            finite and non-negative.
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (inferred when ``None``).
        num_classes: ``C`` (multiclass; inferred when ``None``).
        num_labels: ``L`` (multilabel; ``target.shape[1]`` when ``None``).
        threshold: binary/multilabel scores ``> threshold`` are positive (strict).
        normalize: ``None``, ``"true"`` (rows sum to 1), ``"pred"`` (columns) or ``"all"``; an
            empty row or column gives 0.
        from_logits: apply a sigmoid to binary/multilabel scores first.
        ignore_index: target value whose elements are left out (weight 0).

    Returns:
        ``(2, 2)`` binary, ``(C, C)`` multiclass or ``(L, 2, 2)`` multilabel, float64.

    Example:
        >>> import torch
        >>> confusion_matrix(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]),
        ...                  sample_weight=torch.tensor([1.0, 1.0, 2.0, 0.5]))
        tensor([[1.0000, 0.0000, 0.0000],
                [0.0000, 1.0000, 0.0000],
                [0.0000, 2.0000, 0.5000]], dtype=torch.float64)
    """
    sc.normalize_matrix(torch.zeros(1, 1), normalize)  # validate early
    task, num_classes, num_labels = resolve_task(preds, target, task, num_classes, num_labels)
    f = labels_update(
        preds, target, sample_weight, task=task, num_classes=num_classes, num_labels=num_labels,
        threshold=threshold, from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip
    return sc.normalize_matrix(sc.confusion_matrix_update(f), normalize)


# ----------------------------------------------------------------------------------------------
# classification report
# ----------------------------------------------------------------------------------------------


def report_from_stats(
    stats: torch.Tensor,
    counts: torch.Tensor,
    *,
    task: str,
    zero_division: float,
    target_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Build the report dict from :func:`report_update`'s state (shared by
    :class:`weightwise.metrics.ClassificationReport` and :func:`classification_report`)."""
    kind = "multilabel" if task == "multilabel" else "multiclass"
    kw: dict[str, Any] = {"task": kind, "zero_division": zero_division}
    prec = sc.precision_from_stats(stats, average="none", **kw)
    rec = sc.recall_from_stats(stats, average="none", **kw)
    f1 = sc.f1_from_stats(stats, average="none", **kw)
    tp, fp, fn, _ = stats
    k = stats.shape[1]
    names = list(target_names) if target_names is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise ValueError(f"target_names must have {k} names; got {len(names)}")
    out: dict[str, Any] = {}
    for i, name in enumerate(names):
        out[name] = {
            "precision": float(prec[i]),
            "recall": float(rec[i]),
            "f1-score": float(f1[i]),
            "support": int(counts[0, i]),
            "weighted_support": float(tp[i] + fn[i]),
            "predicted": int(counts[1, i]),
            "weighted_predicted": float(tp[i] + fp[i]),
        }
    inc = sc.included(stats, kind)
    total = {
        "support": int(counts[0][inc].sum()),
        "weighted_support": float((tp + fn)[inc].sum()),
        "predicted": int(counts[1][inc].sum()),
        "weighted_predicted": float((tp + fp)[inc].sum()),
    }
    if kind == "multiclass":
        out["accuracy"] = float(sc.accuracy_from_stats(stats, average="micro", **kw))
    averages = ("macro", "weighted") if kind == "multiclass" else ("micro", "macro", "weighted")
    for avg in averages:
        out[f"{avg} avg"] = {
            "precision": float(sc.precision_from_stats(stats, average=avg, **kw)),
            "recall": float(sc.recall_from_stats(stats, average=avg, **kw)),
            "f1-score": float(sc.f1_from_stats(stats, average=avg, **kw)),
            **total,
        }
    return out


@keyword_sample_weight
def classification_report(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    zero_division: float = 0.0,
    from_logits: bool = False,
    ignore_index: int | None = None,
    target_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Per-class precision, recall, F1 and supports, plus accuracy and averages, in one call.

    The keys of ``sklearn.metrics.classification_report(y, pred, sample_weight=w,
    output_dict=True)``, whose ``support`` is our ``weighted_support`` (``Σw`` of the class);
    ``support`` here counts the samples of positive weight, ``predicted`` and
    ``weighted_predicted`` the predictions. Multiclass adds ``"accuracy"``, multilabel
    ``"micro avg"``; both add ``"macro avg"`` and ``"weighted avg"``. The binary task reports
    both classes. Class-only weights change the weighted columns and averages, not per-class
    recall. Stateful twin: :class:`weightwise.metrics.ClassificationReport`;
    :func:`weightwise.metrics.report_table` renders the dict.

    Args:
        preds: binary/multilabel probabilities in ``[0, 1]`` (or 0/1 labels) of the target's
            shape; multiclass class labels ``(N, d...)`` or scores ``(N, C, d...)``.
        target: 0/1 ``(N, d...)`` (binary), class indices ``(N, d...)`` (multiclass) or 0/1
            ``(N, L, d...)`` (multilabel).
        sample_weight: keyword-only; ``None``, a scalar, ``(N,)``, a per-pixel map
            ``(N, d...)``, ``(N, L)`` per sample and label (multilabel) or the full grid;
            finite and non-negative.
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (inferred when ``None``).
        num_classes: ``C`` (multiclass; inferred when ``None``).
        num_labels: ``L`` (multilabel; ``target.shape[1]`` when ``None``).
        threshold: binary/multilabel scores ``> threshold`` are positive (strict).
        zero_division: the value of a ratio with a zero denominator (0.0, 1.0 or NaN).
        from_logits: apply a sigmoid to binary/multilabel scores first.
        ignore_index: target value whose elements are left out (weight 0).
        target_names: one display name per class or label (default ``"0"``, ``"1"``...).

    Returns:
        ``{name: {"precision", "recall", "f1-score", "support", "weighted_support",
        "predicted", "weighted_predicted"}, ...}`` with floats and ints.

    Example:
        >>> import torch
        >>> report = classification_report(
        ...     torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]),
        ...     sample_weight=torch.tensor([1.0, 1.0, 2.0, 0.5]))
        >>> round(report["macro avg"]["f1-score"], 4), report["2"]["weighted_support"]
        (0.6111, 2.5)
    """
    task, num_classes, num_labels = resolve_task(preds, target, task, num_classes, num_labels)
    stats, counts = report_update(
        preds,
        target,
        sample_weight,
        task=task,
        num_classes=num_classes,
        num_labels=num_labels,
        threshold=threshold,
        from_logits=from_logits,
        ignore_index=ignore_index,
    )
    return report_from_stats(
        stats,
        counts,
        task=task,
        zero_division=check_zero_division(zero_division),
        target_names=target_names,
    )
