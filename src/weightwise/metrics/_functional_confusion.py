"""Functional confusion-matrix metrics (the stateful metrics' twins, same private steps).

Each function formats its inputs with :mod:`._inputs`, accumulates the weighted statistics with
:mod:`._confusion` and computes the value with the same function the stateful metric's
``compute`` uses. ``task=None`` infers the task (see :func:`._inputs.infer_task`);
``num_classes``/``num_labels`` default to what the inputs show.
"""

from __future__ import annotations

from typing import Any

import torch

from . import _confusion as cf
from ._inputs import (
    Formatted,
    as_tensor,
    check_average,
    check_zero_division,
    fast_multiclass_labels,
    format_labels,
    format_scores,
    infer_task,
)

__all__ = [
    "accuracy",
    "balanced_accuracy",
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

AVERAGES: tuple[str, ...] = ("micro", "macro", "weighted", "none")


def resolve_task(
    preds: Any,
    target: Any,
    task: str | None,
    num_classes: int | None,
    num_labels: int | None,
) -> tuple[str, int | None, int | None]:
    """Fill in ``task``, ``num_classes`` and ``num_labels`` from the inputs when not given."""
    if task is None:
        task = infer_task(preds, target)
    if task == "multiclass" and num_classes is None:
        p, t = as_tensor(preds, name="preds"), as_tensor(target, name="target")
        if p.dim() == t.dim() + 1:
            num_classes = int(p.shape[1])
        else:
            hi = max(int(p.max()) if p.numel() else 0, int(t.max()) if t.numel() else 0)
            num_classes = max(hi + 1, 2)
    if task == "multilabel" and num_labels is None:
        t = as_tensor(target, name="target")
        num_labels = int(t.shape[1]) if t.dim() >= 2 else None
    return task, num_classes, num_labels


def check_top_k(top_k: int, task: str, num_classes: int | None) -> int:
    """``top_k`` is a positive integer, above 1 only for multiclass and at most ``C``."""
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k must be a positive integer; got {top_k!r}")
    if top_k > 1 and task != "multiclass":
        raise ValueError(f"top_k > 1 needs task='multiclass'; got top_k={top_k}, task={task!r}")
    if top_k > 1 and num_classes is not None and top_k > num_classes:
        raise ValueError(f"top_k must be <= num_classes={num_classes}; got {top_k}")
    return top_k


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
        return cf.stat_scores_topk(f, top_k)
    f = format_labels(
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
    return cf.stat_scores_update(f)


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


_COMMON_DOC = """
    Args:
        preds: binary/multilabel probabilities (or 0/1 labels) with the target's shape;
            multiclass class labels with the target's shape or scores ``(N, C, d...)``.
        target: 0/1 (binary, multilabel ``(N, L, d...)``) or class indices ``(N, d...)``.
        sample_weight: ``None``, a scalar, ``(N,)``, a per-pixel map ``(N, d...)``, ``(N, L)``
            per sample and label, or the full grid; finite and non-negative.
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (inferred when ``None``).
        num_classes, num_labels: class/label count (inferred when ``None``).
        threshold: binary/multilabel scores ``> threshold`` are positive (strict).
        average: ``"micro"``, ``"macro"``, ``"weighted"`` or ``"none"`` (per class); ignored
            by the binary task, which scores the positive class.
        zero_division: the value of a ratio with a zero denominator (0.0, 1.0 or NaN).
        from_logits: apply a sigmoid to binary/multilabel scores first.
        ignore_index: target value whose elements are left out (weight 0).
"""


def _simple(
    fn_name: str,
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
    beta: float = 1.0,
) -> torch.Tensor:
    avg = check_average(average, AVERAGES)
    zd = check_zero_division(zero_division)
    stats, task = _stats(
        preds, target, sample_weight, task, num_classes, num_labels, threshold, from_logits,
        ignore_index,
    )  # fmt: skip
    return compute_simple(fn_name, stats, task=task, average=avg, zero_division=zd, beta=beta)


def compute_simple(
    fn_name: str,
    stats: torch.Tensor,
    *,
    task: str,
    average: str,
    zero_division: float,
    beta: float = 1.0,
) -> torch.Tensor:
    """The ``compute`` step shared by the stateful metrics and their functional twins."""
    kw: dict[str, Any] = {"task": task, "average": average, "zero_division": zero_division}
    if fn_name == "precision":
        return cf.precision_from_stats(stats, **kw)
    if fn_name == "recall":
        return cf.recall_from_stats(stats, **kw)
    if fn_name == "specificity":
        return cf.specificity_from_stats(stats, **kw)
    if fn_name == "jaccard":
        return cf.jaccard_from_stats(stats, **kw)
    if fn_name == "fbeta":
        return cf.fbeta_from_stats(stats, beta=beta, **kw)
    if fn_name == "accuracy":
        return cf.accuracy_from_stats(stats, **kw)
    if fn_name == "geometric_mean":
        return cf.geometric_mean_from_stats(stats, **kw)
    raise AssertionError(fn_name)  # pragma: no cover


def check_beta(beta: float) -> float:
    """``beta`` must be a finite positive number."""
    b = float(beta)
    if not (b > 0 and b != float("inf")):
        raise ValueError(f"beta must be a finite positive number; got {beta!r}")
    return b


def precision(
    preds: Any,
    target: Any,
    sample_weight: Any = None,
    *,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    average: str | None = "macro",
    zero_division: float = 0.0,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted precision ``tp / (tp + fp)``; equals ``sklearn.metrics.precision_score``.

    Weights that depend only on the class **do** change precision (they rescale ``fp`` of one
    class against ``tp`` of another). See :class:`weightwise.metrics.Precision`.
    """
    return _simple(
        "precision", preds, target, sample_weight, task=task, num_classes=num_classes,
        num_labels=num_labels, threshold=threshold, average=average,
        zero_division=zero_division, from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip


def recall(
    preds: Any,
    target: Any,
    sample_weight: Any = None,
    *,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    average: str | None = "macro",
    zero_division: float = 0.0,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted recall ``tp / (tp + fn)``; equals ``sklearn.metrics.recall_score``.

    Class-only weights do not change per-class or macro recall (each class's recall uses only
    that class's samples), but they do change ``micro`` and ``weighted`` averages.
    """
    return _simple(
        "recall", preds, target, sample_weight, task=task, num_classes=num_classes,
        num_labels=num_labels, threshold=threshold, average=average,
        zero_division=zero_division, from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip


def specificity(
    preds: Any,
    target: Any,
    sample_weight: Any = None,
    *,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    average: str | None = "macro",
    zero_division: float = 0.0,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted specificity ``tn / (tn + fp)`` (one-vs-rest per class).

    Class-only weights change multiclass specificity (``tn`` of a class mixes the other
    classes' weights); binary specificity is unchanged by them.
    """
    return _simple(
        "specificity", preds, target, sample_weight, task=task, num_classes=num_classes,
        num_labels=num_labels, threshold=threshold, average=average,
        zero_division=zero_division, from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip


def jaccard_index(
    preds: Any,
    target: Any,
    sample_weight: Any = None,
    *,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    average: str | None = "macro",
    zero_division: float = 0.0,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted Jaccard index (IoU) ``tp / (tp + fp + fn)``; equals
    ``sklearn.metrics.jaccard_score``. Per-pixel weight maps weight each pixel's count.

    Class-only weights change it.
    """
    return _simple(
        "jaccard", preds, target, sample_weight, task=task, num_classes=num_classes,
        num_labels=num_labels, threshold=threshold, average=average,
        zero_division=zero_division, from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip


def fbeta_score(
    preds: Any,
    target: Any,
    sample_weight: Any = None,
    *,
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
    """Weighted F-beta ``(1+β²)tp / ((1+β²)tp + β²fn + fp)``; equals
    ``sklearn.metrics.fbeta_score``.

    Class-only weights change it.
    """
    return _simple(
        "fbeta", preds, target, sample_weight, task=task, num_classes=num_classes,
        num_labels=num_labels, threshold=threshold, average=average,
        zero_division=zero_division, from_logits=from_logits, ignore_index=ignore_index,
        beta=check_beta(beta),
    )  # fmt: skip


def f1_score(
    preds: Any,
    target: Any,
    sample_weight: Any = None,
    *,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    average: str | None = "macro",
    zero_division: float = 0.0,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted F1 ``2tp / (2tp + fn + fp)``; equals ``sklearn.metrics.f1_score``.

    Class-only weights change it.
    """
    return _simple(
        "fbeta", preds, target, sample_weight, task=task, num_classes=num_classes,
        num_labels=num_labels, threshold=threshold, average=average,
        zero_division=zero_division, from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip


def dice_score(
    preds: Any,
    target: Any,
    sample_weight: Any = None,
    *,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    average: str | None = "macro",
    zero_division: float = 0.0,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted Dice ``2tp / (2tp + fp + fn)`` over the whole evaluation set (pooled counts,
    per-pixel weight maps welcome). Numerically F1; class-only weights change it."""
    return _simple(
        "fbeta", preds, target, sample_weight, task=task, num_classes=num_classes,
        num_labels=num_labels, threshold=threshold, average=average,
        zero_division=zero_division, from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip


def accuracy(
    preds: Any,
    target: Any,
    sample_weight: Any = None,
    *,
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
    """Weighted accuracy, ``micro`` by default as ``sklearn.metrics.accuracy_score``
    (torchmetrics defaults to ``macro``).

    Multiclass ``macro``/``weighted``/``none`` are per-class recalls. ``top_k > 1``
    (multiclass scores) counts a hit when the target is among the ``k`` best scores, ties to
    the lower class index; micro equals ``sklearn.metrics.top_k_accuracy_score``. Multilabel
    accuracy is per (sample, label) pair (``1 −`` Hamming loss), not scikit-learn's subset
    accuracy. Class-only weights change micro accuracy but not per-class accuracy.
    """
    avg = check_average(average, AVERAGES)
    zd = check_zero_division(zero_division)
    stats, task = _stats(
        preds, target, sample_weight, task, num_classes, num_labels, threshold, from_logits,
        ignore_index, top_k,
    )  # fmt: skip
    return cf.accuracy_from_stats(stats, task=task, average=avg, zero_division=zd)


def balanced_accuracy(
    preds: Any,
    target: Any,
    sample_weight: Any = None,
    *,
    task: str | None = None,
    num_classes: int | None = None,
    threshold: float = 0.5,
    zero_division: float = 0.0,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted balanced accuracy: the mean recall over the classes with positive weighted
    support; equals ``sklearn.metrics.balanced_accuracy_score``. Binary or multiclass.

    Weights that depend only on the class do **not** change it.
    """
    zd = check_zero_division(zero_division)
    stats, task = _stats(
        preds, target, sample_weight, task, num_classes, None, threshold, from_logits,
        ignore_index,
    )  # fmt: skip
    return cf.balanced_accuracy_from_stats(stats, task=task, zero_division=zd)


def geometric_mean(
    preds: Any,
    target: Any,
    sample_weight: Any = None,
    *,
    task: str | None = None,
    num_classes: int | None = None,
    threshold: float = 0.5,
    average: str | None = "multiclass",
    zero_division: float = 0.0,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted geometric mean of sensitivity and specificity, as imbalanced-learn's
    ``geometric_mean_score`` defines it (default ``average="multiclass"``: the geometric mean
    of the present classes' recalls), with the weighted ``TN = Σw − TP − FP − FN``.

    Class-only weights do not change the ``"multiclass"`` value or a binary value; they change
    the other averages.
    """
    avg = check_average(average, (*AVERAGES, "multiclass"))
    zd = check_zero_division(zero_division)
    stats, task = _stats(
        preds, target, sample_weight, task, num_classes, None, threshold, from_logits,
        ignore_index,
    )  # fmt: skip
    return cf.geometric_mean_from_stats(stats, task=task, average=avg, zero_division=zd)


def matthews_corrcoef(
    preds: Any,
    target: Any,
    sample_weight: Any = None,
    *,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted Matthews correlation coefficient; equals ``sklearn.metrics.matthews_corrcoef``
    (0 when undefined). Multilabel: all (sample, label) pairs as one binary problem.

    Class-only weights change it.
    """
    stats, task = _stats(
        preds, target, sample_weight, task, num_classes, num_labels, threshold, from_logits,
        ignore_index,
    )  # fmt: skip
    return cf.matthews_from_stats(stats, task=task)


def check_kappa_weights(weights: str | None) -> str | None:
    """``None``, ``"linear"`` or ``"quadratic"``."""
    if weights not in (None, "linear", "quadratic"):
        raise ValueError(f"weights must be None, 'linear' or 'quadratic'; got {weights!r}")
    return weights


def cohen_kappa(
    preds: Any,
    target: Any,
    sample_weight: Any = None,
    *,
    task: str | None = None,
    num_classes: int | None = None,
    weights: str | None = None,
    threshold: float = 0.5,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted Cohen's kappa; equals ``sklearn.metrics.cohen_kappa_score(labels=range(C))``
    (NaN when undefined). ``weights`` (disagreement weights): ``None``, ``"linear"`` or
    ``"quadratic"`` in class-index distance; ``sample_weight`` weights samples.

    Class-only sample weights change it.
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
    return cf.cohen_kappa_from_matrix(cf.confusion_matrix_update(f), weights=weights)


def confusion_matrix(
    preds: Any,
    target: Any,
    sample_weight: Any = None,
    *,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    normalize: str | None = None,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Weighted confusion matrix (float64; rows are targets, columns predictions); equals
    ``sklearn.metrics.confusion_matrix(labels=range(C), sample_weight=...)``.

    Shapes: ``(2, 2)`` binary, ``(C, C)`` multiclass, ``(L, 2, 2)`` multilabel (``[[tn, fp],
    [fn, tp]]`` per label, as ``multilabel_confusion_matrix``). ``normalize``: ``None``,
    ``"true"`` (rows), ``"pred"`` (columns) or ``"all"``; an empty row/column gives 0.
    Class-only weights rescale rows; ``normalize="true"`` is unchanged by them.
    """
    cf.normalize_matrix(torch.zeros(1, 1), normalize)  # validate early
    task, num_classes, num_labels = resolve_task(preds, target, task, num_classes, num_labels)
    f = labels_update(
        preds, target, sample_weight, task=task, num_classes=num_classes, num_labels=num_labels,
        threshold=threshold, from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip
    return cf.normalize_matrix(cf.confusion_matrix_update(f), normalize)


precision.__doc__ = (precision.__doc__ or "") + _COMMON_DOC
recall.__doc__ = (recall.__doc__ or "") + _COMMON_DOC
specificity.__doc__ = (specificity.__doc__ or "") + _COMMON_DOC
jaccard_index.__doc__ = (jaccard_index.__doc__ or "") + _COMMON_DOC
fbeta_score.__doc__ = (fbeta_score.__doc__ or "") + _COMMON_DOC
f1_score.__doc__ = (f1_score.__doc__ or "") + _COMMON_DOC
dice_score.__doc__ = (dice_score.__doc__ or "") + _COMMON_DOC
accuracy.__doc__ = (accuracy.__doc__ or "") + _COMMON_DOC
