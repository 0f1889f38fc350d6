"""Weighted confusion-matrix statistics and the metrics computed from them (pure functions).

Two kinds of state, both float64 sums (so merging batches or DDP ranks is exact addition):

* **stat scores** ``(4, K)``: the weighted ``tp, fp, fn, tn`` of each of ``K`` one-vs-rest
  problems (``K = 1`` for the binary task's positive class, ``C`` classes, ``L`` labels);
* the **full confusion matrix** ``(C, C)`` (rows: target, columns: prediction), a weighted
  ``bincount`` of ``target·C + pred``; only :func:`confusion_matrix` and weighted kappa need it.

Rules (see ``docs/semantics.md``):

* A class (multiclass) or label (multilabel) enters a ``macro``/``weighted`` average only when
  its weighted ``tp + fp + fn > 0``. So zero weight equals removal. (scikit-learn averages a
  multilabel label that is never predicted nor true as ``zero_division``; pass ``labels=`` to
  it for the same value.)
* ``weighted`` averages weigh classes by weighted support ``tp + fn``.
* ``zero_division`` (0.0, 1.0 or NaN) replaces a ratio whose denominator is 0; with NaN, such a
  class is left out of the average (as scikit-learn's ``np.nan``).
* **Undefined metric**: with no data at all (an empty input, or every sample weight 0) the
  stat scores are all 0 and every metric computed from them returns NaN (per class for
  ``average="none"``) with a ``UserWarning``, as ``log_loss`` does; ``zero_division`` is for a
  0/0 ratio of one class among data, not for the absence of data.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Protocol

import torch

from ._inputs import Formatted, weight_or_ones

__all__ = [
    "CONFMAT_MAX_CLASSES",
    "AveragedFromStats",
    "accuracy_from_stats",
    "balanced_accuracy_from_stats",
    "binary_two_class",
    "cohen_kappa_from_matrix",
    "confusion_matrix_from_stats",
    "confusion_matrix_update",
    "f1_from_stats",
    "fbeta_from_stats",
    "geometric_mean_from_stats",
    "included",
    "jaccard_from_stats",
    "matthews_from_stats",
    "normalize_matrix",
    "precision_from_stats",
    "recall_from_stats",
    "specificity_from_stats",
    "stat_scores_from_confmat",
    "stat_scores_topk",
    "stat_scores_update",
    "support_counts_update",
    "undefined_if_empty",
]

Ratio = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]
]


class AveragedFromStats(Protocol):
    """The ``compute`` step of an averaged metric: ``(4, K)`` stat scores to its value."""

    def __call__(
        self, stats: torch.Tensor, /, *, task: str, average: str, zero_division: float
    ) -> torch.Tensor: ...


def _true_negatives(
    total: torch.Tensor, tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor
) -> torch.Tensor:
    """``Σw − tp − fp − fn``, with rounding noise (below ``1e-12·Σw``) set to exactly 0.

    The subtraction of float sums taken in different orders leaves ~1e-16 residues where the
    true value is 0; left alone they would turn an undefined ``tn / (tn + fp)`` into 1.
    """
    tn = total - tp - fp - fn
    return torch.where(tn > 1e-12 * total, tn, torch.zeros_like(tn))


#: Up to this many classes, multiclass stat scores come from one weighted ``bincount`` of
#: ``target·C + pred`` (a ``(C, C)`` matrix), and the stateful metrics keep that matrix.
CONFMAT_MAX_CLASSES = 64


def stat_scores_from_confmat(cm: torch.Tensor, total: torch.Tensor | None = None) -> torch.Tensor:
    """``[tp, fp, fn, tn]`` ``(4, C)`` from a weighted ``(C, C)`` confusion matrix.

    ``tp`` is the diagonal, ``fp``/``fn`` the off-diagonal column/row sums (exact: no
    subtraction), ``tn`` is ``total − tp − fp − fn`` with residues below ``1e-12·total`` set to 0;
    ``total`` (the summed weight) defaults to ``cm.sum()``.
    """
    k = cm.shape[0]
    tp = cm.diagonal()
    off = cm.masked_fill(torch.eye(k, dtype=torch.bool, device=cm.device), 0.0)
    fp, fn = off.sum(0), off.sum(1)
    return torch.stack(
        [tp, fp, fn, _true_negatives(cm.sum() if total is None else total, tp, fp, fn)]
    )


def stat_scores_update(f: Formatted) -> torch.Tensor:
    """Weighted ``[tp, fp, fn, tn]`` per class/label, shape ``(4, K)``, float64.

    ``f`` comes from :func:`format_labels`. No subtraction is used for ``tp, fp, fn`` (so a
    class with no positive weight has exactly zero counts); multiclass ``tn`` is
    ``Σw − tp − fp − fn`` (residues below ``1e-12·Σw`` are set to 0).
    """
    w = weight_or_ones(f)
    p, t = f.preds, f.target
    if f.task == "multiclass" and f.num_classes <= CONFMAT_MAX_CLASSES:
        # one weighted bincount of target·C + pred; off-diagonal sums are exact (no subtraction)
        k = f.num_classes
        cm = torch.bincount(t * k + p, weights=w, minlength=k * k).reshape(k, k)
        return stat_scores_from_confmat(cm, w.sum())
    if f.task == "multiclass":
        k = f.num_classes
        correct = p == t
        w_hit = torch.where(correct, w, torch.zeros((), dtype=w.dtype, device=w.device))
        w_miss = w - w_hit
        tp = torch.bincount(t, weights=w_hit, minlength=k)
        fp = torch.bincount(p, weights=w_miss, minlength=k)
        fn = torch.bincount(t, weights=w_miss, minlength=k)
        return torch.stack([tp, fp, fn, _true_negatives(w.sum(), tp, fp, fn)])
    pb, tb = p.bool(), t.bool()
    zero = torch.zeros((), dtype=w.dtype, device=w.device)
    tp = torch.where(pb & tb, w, zero).sum(0)
    fp = torch.where(pb & ~tb, w, zero).sum(0)
    fn = torch.where(~pb & tb, w, zero).sum(0)
    tn = torch.where(~pb & ~tb, w, zero).sum(0)
    out = torch.stack([tp, fp, fn, tn])
    return out.reshape(4, -1)


def stat_scores_topk(f: Formatted, top_k: int) -> torch.Tensor:
    """``[tp, fp, fn, tn]`` ``(4, C)`` for top-k predictions from multiclass scores ``(E, C)``.

    A sample is a hit iff ``#{s_j > s_y} + #{j < y: s_j = s_y} < k`` (ties to the lower class
    index): the top-k set is the first ``k`` indices of a stable descending sort. For class
    ``c``: ``tp`` is the weight of hits with target ``c``, ``fn`` of misses with target ``c``,
    ``fp`` of samples whose top-k set holds ``c`` but whose target is not ``c``.
    """
    scores, t = f.preds, f.target
    w = weight_or_ones(f)
    c = f.num_classes
    if top_k == 1:
        pred = scores.argmax(dim=1)
        return stat_scores_update(Formatted(pred, t, f.weight, c, "multiclass"))
    idx = torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :top_k]
    hit_mask = idx == t.unsqueeze(1)
    hit = hit_mask.any(dim=1)
    zero = torch.zeros((), dtype=w.dtype, device=w.device)
    tp = torch.bincount(t, weights=torch.where(hit, w, zero), minlength=c)
    fn = torch.bincount(t, weights=torch.where(hit, zero, w), minlength=c)
    w_rep = torch.where(hit_mask, zero, w.unsqueeze(1).expand_as(idx))
    fp = torch.bincount(idx.reshape(-1), weights=w_rep.reshape(-1), minlength=c)
    return torch.stack([tp, fp, fn, _true_negatives(w.sum(), tp, fp, fn)])


def support_counts_update(f: Formatted) -> torch.Tensor:
    """Unweighted counts ``[support, predicted]`` per class, ``(2, K)`` float64.

    Only elements of positive weight are counted (zero weight equals removal, so weight-0 DDP
    padding does not inflate the counts).
    """
    w = weight_or_ones(f)
    keep = (w > 0).to(torch.float64)
    if f.task == "multiclass":
        k = f.num_classes
        sup = torch.bincount(f.target, weights=keep, minlength=k)
        pred = torch.bincount(f.preds, weights=keep, minlength=k)
        return torch.stack([sup, pred])
    sup = (keep * f.target.to(torch.float64)).sum(0)
    pred = (keep * f.preds.to(torch.float64)).sum(0)
    return torch.stack([sup, pred]).reshape(2, -1)


def confusion_matrix_update(f: Formatted) -> torch.Tensor:
    """Weighted confusion matrix: ``(C, C)`` multiclass, ``(2, 2)`` binary, ``(L, 2, 2)``
    multilabel (rows: target, columns: prediction; ``[[tn, fp], [fn, tp]]`` per label)."""
    if f.task == "multilabel":
        return confusion_matrix_from_stats(stat_scores_update(f))
    k = 2 if f.task == "binary" else f.num_classes
    idx = f.target * k + f.preds
    cm = torch.bincount(idx, weights=f.weight, minlength=k * k)
    return cm.to(torch.float64).reshape(k, k)


def confusion_matrix_from_stats(stats: torch.Tensor) -> torch.Tensor:
    """``(K, 2, 2)`` one-vs-rest matrices ``[[tn, fp], [fn, tp]]`` from stat scores."""
    tp, fp, fn, tn = stats
    return torch.stack([torch.stack([tn, fp], -1), torch.stack([fn, tp], -1)], -2)


def normalize_matrix(cm: torch.Tensor, normalize: str | None) -> torch.Tensor:
    """scikit-learn's ``normalize``: ``"true"`` rows, ``"pred"`` columns, ``"all"``; a zero
    sum gives 0."""
    if normalize is None or normalize == "none":
        return cm
    if normalize == "true":
        s = cm.sum(-1, keepdim=True)
    elif normalize == "pred":
        s = cm.sum(-2, keepdim=True)
    elif normalize == "all":
        s = cm.sum((-2, -1), keepdim=True)
    else:
        raise ValueError(f"normalize must be None, 'true', 'pred' or 'all'; got {normalize!r}")
    return torch.where(s > 0, cm / torch.where(s > 0, s, torch.ones_like(s)), torch.zeros_like(cm))


def undefined_if_empty(
    stats: torch.Tensor, what: str, shape: tuple[int, ...] = ()
) -> torch.Tensor | None:
    """NaN (of ``shape``) with a ``UserWarning`` when ``stats`` hold no weight at all (an empty
    input or every sample weight 0); ``None`` otherwise. One host read (``compute`` may sync)."""
    if bool(stats.sum() > 0):
        return None
    warnings.warn(
        f"{what} is undefined: the total sample weight is 0 (no samples, or every weight is "
        "0); returning nan",
        UserWarning,
        stacklevel=4,
    )
    return torch.full(shape, float("nan"), dtype=torch.float64, device=stats.device)


def _divide(num: torch.Tensor, den: torch.Tensor, zero_division: float) -> torch.Tensor:
    safe = torch.where(den > 0, den, torch.ones_like(den))
    fill = torch.full_like(num, zero_division)
    return torch.where(den > 0, num / safe, fill)


def _nan_average(values: torch.Tensor, weights: torch.Tensor, zero_division: float) -> torch.Tensor:
    ok = (weights > 0) & ~torch.isnan(values)
    wsum = torch.where(ok, weights, torch.zeros_like(weights)).sum()
    if not bool(wsum > 0):
        if bool((weights > 0).any()):  # every included class is NaN (zero_division=nan)
            return torch.tensor(float("nan"), dtype=torch.float64, device=values.device)
        return torch.tensor(zero_division, dtype=torch.float64, device=values.device)
    vals = torch.where(ok, values, torch.zeros_like(values))
    return (vals * torch.where(ok, weights, torch.zeros_like(weights))).sum() / wsum


def included(stats: torch.Tensor, task: str) -> torch.Tensor:
    """Which classes enter a macro/weighted average (see the module docstring)."""
    tp, fp, fn, _ = stats
    return (tp + fp + fn) > 0


def score_from_stats(
    stats: torch.Tensor,
    ratio: Ratio,
    *,
    task: str,
    average: str,
    zero_division: float,
    what: str = "the metric",
) -> torch.Tensor:
    """Apply ``ratio(tp, fp, fn, tn) -> (num, den)`` and average as ``average`` says.

    The binary task scores the positive class (``average`` is ignored). No weight at all:
    NaN with a warning (:func:`undefined_if_empty`).
    """
    shape = (stats.shape[1],) if average == "none" and task != "binary" else ()
    nan = undefined_if_empty(stats, what, shape)
    if nan is not None:
        return nan
    tp, fp, fn, tn = stats
    if task == "binary":
        num, den = ratio(tp, fp, fn, tn)
        return _divide(num, den, zero_division)[0]
    if average == "micro":
        # Multiclass: summed over the classes that are present (only tn is affected, and tn
        # counts each sample once per absent class). Multilabel: over every label, since each
        # (sample, label) pair is one decision and a true negative is a correct one.
        s = stats.sum(1) if task == "multilabel" else (stats * included(stats, task)).sum(1)
        num, den = ratio(s[0], s[1], s[2], s[3])
        return _divide(num, den, zero_division)
    per = _divide(*ratio(tp, fp, fn, tn), zero_division)
    if average == "none":
        return per
    inc = included(stats, task).to(torch.float64)
    weights = inc if average == "macro" else inc * (tp + fn)
    return _nan_average(per, weights, zero_division)


def _precision(
    tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor, tn: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    return tp, tp + fp


def _recall(
    tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor, tn: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    return tp, tp + fn


def _specificity(
    tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor, tn: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    return tn, tn + fp


def _jaccard(
    tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor, tn: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    return tp, tp + fp + fn


def _binary_accuracy(
    tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor, tn: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    return tp + tn, tp + fp + fn + tn


def precision_from_stats(
    stats: torch.Tensor, *, task: str, average: str, zero_division: float
) -> torch.Tensor:
    """``tp / (tp + fp)``."""
    return score_from_stats(
        stats, _precision, task=task, average=average, zero_division=zero_division, what="precision"
    )


def recall_from_stats(
    stats: torch.Tensor, *, task: str, average: str, zero_division: float
) -> torch.Tensor:
    """``tp / (tp + fn)``."""
    return score_from_stats(
        stats, _recall, task=task, average=average, zero_division=zero_division, what="recall"
    )


def specificity_from_stats(
    stats: torch.Tensor, *, task: str, average: str, zero_division: float
) -> torch.Tensor:
    """``tn / (tn + fp)``."""
    return score_from_stats(
        stats,
        _specificity,
        task=task,
        average=average,
        zero_division=zero_division,
        what="specificity",
    )


def jaccard_from_stats(
    stats: torch.Tensor, *, task: str, average: str, zero_division: float
) -> torch.Tensor:
    """``tp / (tp + fp + fn)``."""
    return score_from_stats(
        stats,
        _jaccard,
        task=task,
        average=average,
        zero_division=zero_division,
        what="the Jaccard index",
    )


def fbeta_from_stats(
    stats: torch.Tensor, *, beta: float, task: str, average: str, zero_division: float
) -> torch.Tensor:
    """``(1+β²)·tp / ((1+β²)·tp + β²·fn + fp)`` (scikit-learn's form: 0 when ``tp = 0`` but
    ``fp + fn > 0``; ``zero_division`` only when ``tp = fp = fn = 0``)."""
    b2 = float(beta) ** 2

    def ratio(
        tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor, tn: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return (1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp

    return score_from_stats(
        stats, ratio, task=task, average=average, zero_division=zero_division, what="the F-score"
    )


def f1_from_stats(
    stats: torch.Tensor, *, task: str, average: str, zero_division: float
) -> torch.Tensor:
    """F1 (= Dice) ``2·tp / (2·tp + fn + fp)``: :func:`fbeta_from_stats` with ``β = 1``."""
    return fbeta_from_stats(
        stats, beta=1.0, task=task, average=average, zero_division=zero_division
    )


def accuracy_from_stats(
    stats: torch.Tensor, *, task: str, average: str, zero_division: float
) -> torch.Tensor:
    """Binary ``(tp+tn)/Σw``; multiclass per-class recall (micro: ``Σtp/Σw``); multilabel
    per-label ``(tp+tn)/Σw`` (micro: over all (sample, label) pairs, i.e. 1 − Hamming loss)."""
    ratio = _recall if task == "multiclass" else _binary_accuracy
    return score_from_stats(
        stats, ratio, task=task, average=average, zero_division=zero_division, what="accuracy"
    )


def binary_two_class(stats: torch.Tensor) -> torch.Tensor:
    """Expand binary ``(4, 1)`` stats into two one-vs-rest classes ``(4, 2)`` (0, then 1)."""
    tp, fp, fn, tn = stats[:, 0]
    neg = torch.stack([tn, fn, fp, tp])
    return torch.stack([neg, stats[:, 0]], dim=1)


def balanced_accuracy_from_stats(
    stats: torch.Tensor, *, task: str, zero_division: float
) -> torch.Tensor:
    """Mean recall over the classes with positive weighted support (scikit-learn's rule)."""
    if task == "multilabel":
        raise ValueError(
            f"balanced accuracy is defined for task='binary' or 'multiclass' only; "
            f"got task={task!r}"
        )
    nan = undefined_if_empty(stats, "balanced accuracy")
    if nan is not None:
        return nan
    if task == "binary":
        stats = binary_two_class(stats)
    tp, _, fn, _ = stats
    support = tp + fn
    rec = _divide(tp, support, zero_division)
    return _nan_average(rec, (support > 0).to(torch.float64), zero_division)


def matthews_from_stats(stats: torch.Tensor, *, task: str) -> torch.Tensor:
    """scikit-learn's multiclass MCC from the class sums; 0 when undefined. Multilabel: the
    MCC of all (sample, label) pairs as one binary problem (the labels' matrices summed)."""
    nan = undefined_if_empty(stats, "the Matthews correlation coefficient")
    if nan is not None:
        return nan
    if task == "multilabel":
        stats = stats.sum(1, keepdim=True)
    if task != "multiclass":
        stats = binary_two_class(stats)
    tp, fp, fn, _ = stats
    t_sum = tp + fn
    p_sum = tp + fp
    n = t_sum.sum()
    cov_ytyp = tp.sum() * n - (t_sum * p_sum).sum()
    cov_ypyp = n * n - (p_sum * p_sum).sum()
    cov_ytyt = n * n - (t_sum * t_sum).sum()
    prod = cov_ypyp * cov_ytyt
    if not bool(prod > 0):
        return torch.zeros((), dtype=torch.float64, device=stats.device)
    return cov_ytyp / torch.sqrt(prod)


def cohen_kappa_from_matrix(cm: torch.Tensor, *, weights: str | None) -> torch.Tensor:
    """scikit-learn's ``cohen_kappa_score`` from a ``(C, C)`` matrix; NaN when undefined.

    ``weights``: ``None`` (0/1 disagreement), ``"linear"`` (``|i−j|``) or ``"quadratic"``
    (``(i−j)²``), distances being differences of class indices.
    """
    c = cm.shape[0]
    total = cm.sum()
    nan = torch.tensor(float("nan"), dtype=torch.float64, device=cm.device)
    if not bool(total > 0):
        empty = undefined_if_empty(cm, "Cohen's kappa")
        return nan if empty is None else empty
    expected = torch.outer(cm.sum(1), cm.sum(0)) / total
    idx = torch.arange(c, device=cm.device, dtype=torch.float64)
    diff = idx.unsqueeze(1) - idx.unsqueeze(0)
    if weights is None:
        w_mat = (diff != 0).to(torch.float64)
    elif weights == "linear":
        w_mat = diff.abs()
    elif weights == "quadratic":
        w_mat = diff * diff
    else:
        raise ValueError(f"weights must be None, 'linear' or 'quadratic'; got {weights!r}")
    den = (w_mat * expected).sum()
    if not bool(den != 0):
        return nan
    return 1 - (w_mat * cm).sum() / den


def geometric_mean_from_stats(
    stats: torch.Tensor, *, task: str, average: str, zero_division: float
) -> torch.Tensor:
    """imbalanced-learn's ``geometric_mean_score`` with weighted ``TN = Σw − TP − FP − FN``.

    * ``"multiclass"``: the geometric mean of the recalls of the classes present (weighted
      ``tp + fp + fn > 0``); a zero recall gives 0.
    * ``"micro"``, ``"macro"``, ``"weighted"``: ``sqrt(sensitivity · specificity)`` with both
      averaged first (imbalanced-learn's order), over the present classes.
    * ``"none"``: ``sqrt(sensitivity_c · specificity_c)`` per class.
    * binary task: ``sqrt(TPR · TNR)`` of the positive class.
    """
    if task == "multilabel":
        raise ValueError(
            f"geometric mean is defined for task='binary' or 'multiclass' only; got task={task!r}"
        )
    shape = (stats.shape[1],) if average == "none" else ()
    nan = undefined_if_empty(stats, "the geometric mean", shape)
    if nan is not None:
        return nan
    if task == "binary":
        sen = recall_from_stats(stats, task=task, average="none", zero_division=zero_division)
        spe = specificity_from_stats(stats, task=task, average="none", zero_division=zero_division)
        return torch.sqrt(sen * spe)
    if average == "multiclass":
        tp, fp, fn, _ = stats
        inc = (tp + fp + fn) > 0
        if not bool(inc.any()):
            return torch.tensor(zero_division, dtype=torch.float64, device=stats.device)
        rec = _divide(tp, tp + fn, zero_division)[inc]
        if bool((rec == 0).any()):
            return torch.zeros((), dtype=torch.float64, device=stats.device)
        return torch.exp(torch.log(rec).mean())
    kw = {"task": task, "average": average, "zero_division": zero_division}
    sen = recall_from_stats(stats, **kw)  # type: ignore[arg-type]
    spe = specificity_from_stats(stats, **kw)  # type: ignore[arg-type]
    return torch.sqrt(sen * spe)
