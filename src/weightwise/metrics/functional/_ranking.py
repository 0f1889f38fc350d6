"""Weighted ROC AUC, average precision and precision/recall at ``k`` (pure functions).

The curves themselves (exact and binned, one-vs-one matrices) are built in :mod:`._curves`;
this module turns formatted inputs into rows (one binary ranking problem each), scores each row
and averages. Formatted inputs (see :mod:`._inputs`) are

* binary: scores ``(M,)``, targets ``(M,)`` in {0, 1}, weights ``(M,)``;
* multiclass: scores ``(M, C)``, class indices ``(M,)``, weights ``(M,)``;
* multilabel: scores ``(M, L)``, targets ``(M, L)`` in {0, 1}, weights ``(M, L)``.

One-vs-one AUROC (Hand & Till 2001, weighted) scores the pair ``{a, b}`` as
``(A(a|b) + A(b|a)) / 2`` (see :mod:`._curves` for ``A``). ``sample_weight`` is keyword-only in
the public functions (a positional one still works for one release, with a ``FutureWarning``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from . import _curves as cv
from ._inputs import (
    as_tensor,
    check_k,
    check_multi_class,
    check_ranking_average,
    flat_weight,
    format_scores,
    resolve_task,
    weight_or_ones,
)
from ._keyword import keyword_sample_weight

__all__ = [
    "AVERAGE_PRECISION",
    "ROC_AUC",
    "RankingScore",
    "auroc",
    "average_precision",
    "precision_at_k",
    "recall_at_k",
]

_F64 = torch.float64


@dataclass(frozen=True)
class RankingScore:
    """What a ranking metric computes from a row's curve: its name (for warnings) and the
    function ``(tp, fp) -> value`` along the last dim."""

    name: str
    from_curve: Callable[[Tensor, Tensor], Tensor]


ROC_AUC = RankingScore("ROC AUC", cv.auroc_from_curve)
AVERAGE_PRECISION = RankingScore("average precision", cv.ap_from_curve)


# ----------------------------------------------------------------------------------------------
# rows of a task
# ----------------------------------------------------------------------------------------------


def _rows(
    task: str,
    preds: Tensor,
    target: Tensor,
    weight: Tensor,
    num_classes: int | None,
    *,
    micro: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """``(scores, positive, weight)`` as ``(R, M)`` rows, one per ranking problem."""
    if task == "binary":
        return preds.reshape(1, -1), target.reshape(1, -1).bool(), weight.reshape(1, -1)
    if task == "multiclass":
        assert num_classes is not None
        classes = torch.arange(num_classes, device=target.device).unsqueeze(1)
        pos = target.unsqueeze(0) == classes  # (C, M)
        scores = preds.T
        w = weight.unsqueeze(0).expand(num_classes, -1)
    else:  # multilabel
        scores, pos, w = preds.T, target.T.bool(), weight.T
    if micro:
        return scores.reshape(1, -1), pos.reshape(1, -1), w.reshape(1, -1)
    return scores, pos, w


def _row_support(positive: Tensor, weight: Tensor) -> Tensor:
    zero = torch.zeros((), dtype=_F64, device=weight.device)
    return torch.where(positive, weight.to(_F64), zero).sum(-1)


# ----------------------------------------------------------------------------------------------
# averaging
# ----------------------------------------------------------------------------------------------


def _average(
    values: Tensor,
    support: Tensor,
    average: str | None,
    *,
    metric: str,
    unit: str = "class",
) -> Tensor:
    """Average per-row values, skipping undefined (NaN) rows with a warning.

    ``support`` weighs rows for ``average="weighted"``. ``"none"`` returns the per-row values,
    NaN where undefined (also with a warning).
    """
    undefined = torch.isnan(values)
    if bool(undefined.any()):
        idx = torch.nonzero(undefined).reshape(-1).tolist()
        if bool(undefined.all()):
            warnings.warn(
                f"{metric} is undefined for every {unit} (no weighted positives or, for ROC AUC, "
                f"no weighted negatives); returning nan",
                UserWarning,
                stacklevel=3,
            )
        elif average != "none" and values.numel() > 1:
            warnings.warn(
                f"{metric} is undefined for {unit} {idx} (no weighted positives or, for ROC AUC, "
                f"no weighted negatives); left out of the {average} average",
                UserWarning,
                stacklevel=3,
            )
        elif average == "none":
            warnings.warn(
                f"{metric} is undefined for {unit} {idx}; their entries are nan",
                UserWarning,
                stacklevel=3,
            )
    if average in ("none", None) or values.numel() == 1:
        return values if average in ("none", None) else values.reshape(())
    if bool(undefined.all()):
        return torch.tensor(float("nan"), dtype=_F64, device=values.device)
    keep = ~undefined
    if average == "weighted":
        s = support[keep].to(_F64)
        total = s.sum()
        if not bool(total > 0):
            return torch.tensor(float("nan"), dtype=_F64, device=values.device)
        return (values[keep] * s).sum() / total
    return values[keep].mean()


# ----------------------------------------------------------------------------------------------
# AUROC and AP: exact and binned
# ----------------------------------------------------------------------------------------------


def _per_row_exact(
    scores: Tensor, positive: Tensor, weight: Tensor, *, score: RankingScore
) -> Tensor:
    out = []
    for r in range(scores.shape[0]):
        tp, fp = cv.exact_curve(scores[r], positive[r], weight[r])
        out.append(score.from_curve(tp, fp))
    if not out:
        return torch.zeros(0, dtype=_F64, device=scores.device)
    return torch.stack(out)


def _unit(task: str) -> str:
    return {"multilabel": "label", "multiclass": "class"}.get(task, "input")


def _ranking_exact(
    score: RankingScore,
    task: str,
    preds: Tensor,
    target: Tensor,
    weight: Tensor,
    *,
    num_classes: int | None,
    average: str | None,
) -> Tensor:
    """Exact AUROC (one-vs-rest for multiclass) or AP from formatted inputs."""
    micro = average == "micro" and task != "binary"
    scores, pos, w = _rows(task, preds, target, weight, num_classes, micro=micro)
    values = _per_row_exact(scores, pos, w, score=score)
    support = _row_support(pos, w) if average == "weighted" else values
    return _average(
        values, support, "macro" if micro else average, metric=score.name, unit=_unit(task)
    )


def _ranking_hist(
    task: str,
    preds: Tensor,
    target: Tensor,
    weight: Tensor,
    thresholds: Tensor,
    *,
    num_classes: int | None,
) -> Tensor:
    """The binned state of one batch: ``(R, K+1, 2)`` rows of (negative, positive) weight."""
    scores, pos, w = _rows(task, preds, target, weight, num_classes, micro=False)
    return cv.binned_hist(scores, pos, w, thresholds)


def _ranking_binned(score: RankingScore, task: str, hist: Tensor, *, average: str | None) -> Tensor:
    """Binned AUROC (one-vs-rest) or AP from the accumulated histogram ``(R, K+1, 2)``."""
    micro = average == "micro" and task != "binary"
    if micro:
        hist = hist.sum(0, keepdim=True)
    values = score.from_curve(*cv.binned_curve(hist))
    support = hist[..., 1].sum(-1)
    return _average(
        values, support, "macro" if micro else average, metric=score.name, unit=_unit(task)
    )


# ----------------------------------------------------------------------------------------------
# one-vs-one (Hand & Till)
# ----------------------------------------------------------------------------------------------


def _ovo_average(raw: Tensor, class_weight_sum: Tensor, average: str | None) -> Tensor:
    """Hand & Till average over class pairs of ``(A(a|b) + A(b|a)) / 2``.

    ``macro``: plain mean over the defined pairs; ``weighted``: pair ``{a, b}`` weighs
    ``W_a + W_b``. A pair is undefined when either class has no weight: it is left out with a
    warning, and the result is NaN (with a warning) when no pair is defined.
    """
    c = raw.shape[0]
    wsum = class_weight_sum.to(_F64)
    denom = wsum.unsqueeze(1) * wsum.unsqueeze(0)
    defined = denom > 0
    a_given_b = torch.where(defined, raw / torch.where(defined, denom, 1.0), float("nan"))
    pair = (a_given_b + a_given_b.T) / 2
    eye = torch.eye(c, dtype=torch.bool, device=raw.device)
    pair = torch.where(eye, float("nan"), pair)
    iu = torch.triu_indices(c, c, offset=1, device=raw.device)
    values = pair[iu[0], iu[1]]
    support = wsum[iu[0]] + wsum[iu[1]]
    undefined = torch.isnan(values)
    if values.numel() == 0 or bool(undefined.all()):
        warnings.warn(
            "one-vs-one ROC AUC is undefined for every class pair (fewer than two classes have "
            "weight); returning nan",
            UserWarning,
            stacklevel=3,
        )
        return torch.tensor(float("nan"), dtype=_F64, device=raw.device)
    if bool(undefined.any()):
        bad = [(int(a), int(b)) for a, b in zip(iu[0][undefined], iu[1][undefined], strict=True)]
        warnings.warn(
            f"one-vs-one ROC AUC is undefined for class pairs {bad} (a class without weight); "
            f"left out of the {average} average",
            UserWarning,
            stacklevel=3,
        )
    keep = ~undefined
    v = values[keep].clamp(max=1.0)
    if average == "weighted":
        s = support[keep]
        return (v * s).sum() / s.sum()
    return v.mean()


def _ovo_class_weight(target: Tensor, weight: Tensor, num_classes: int) -> Tensor:
    return torch.bincount(target, weights=weight.to(_F64), minlength=num_classes)[:num_classes]


# ----------------------------------------------------------------------------------------------
# input handling shared by the functional and stateful metrics
# ----------------------------------------------------------------------------------------------


def format_ranking(
    preds: Any,
    target: Any,
    sample_weight: Any,
    *,
    task: str,
    num_classes: int | None,
    num_labels: int | None,
    from_logits: bool,
    ignore_index: int | None,
    exact: bool = False,
) -> tuple[Tensor, Tensor, Tensor, int]:
    """Scores, targets and float64 weights (ones when none) on the flat grid, and ``C``/``L``.

    With ``exact`` and ``from_logits``, binary and multilabel logits are kept as they are: the
    sigmoid is monotone, so the ranking is the same, and saturated probabilities (``σ(20)`` and
    ``σ(30)`` are both 1.0 in float32) cannot create false ties.
    """
    raw = exact and from_logits and task != "multiclass"
    f = format_scores(
        preds,
        target,
        sample_weight,
        task=task,
        num_classes=num_classes,
        num_labels=num_labels,
        from_logits=from_logits and not raw,
        ignore_index=ignore_index,
        require_probabilities=not raw,
    )
    return f.preds, f.target, weight_or_ones(f), f.num_classes


def ranking_state_shape(
    task: str, num_outputs: int, thresholds: Tensor, multi_class: str
) -> tuple[int, ...]:
    """Shape of the binned state: ``(R, K+1, 2)``, or ``(C, K+1, C)`` for one-vs-one."""
    nbins = thresholds.numel() + 1
    if multi_class == "ovo":
        return (num_outputs, nbins, num_outputs)
    return (1 if task == "binary" else num_outputs, nbins, 2)


def ranking_hist_update(
    task: str,
    preds: Tensor,
    target: Tensor,
    weight: Tensor,
    thresholds: Tensor,
    *,
    num_outputs: int,
    multi_class: str,
) -> Tensor:
    """One batch's binned state (see :func:`ranking_state_shape`)."""
    if multi_class == "ovo":
        return cv.ovo_hist(preds, target, weight, num_outputs, thresholds)
    return _ranking_hist(task, preds, target, weight, thresholds, num_classes=num_outputs)


def ranking_exact_compute(
    score: RankingScore,
    task: str,
    preds: Tensor,
    target: Tensor,
    weight: Tensor,
    *,
    num_outputs: int,
    average: str,
    multi_class: str = "ovr",
) -> Tensor:
    """Exact ``score`` (:data:`ROC_AUC` or :data:`AVERAGE_PRECISION`) from formatted,
    concatenated inputs; ``multi_class="ovo"`` is one-vs-one ROC AUC."""
    if multi_class == "ovo":
        raw = cv.ovo_exact_matrix(preds, target, weight, num_outputs)
        return _ovo_average(raw, _ovo_class_weight(target, weight, num_outputs), average)
    return _ranking_exact(
        score, task, preds, target, weight, num_classes=num_outputs, average=average
    )


def ranking_binned_compute(
    score: RankingScore, task: str, hist: Tensor, *, average: str, multi_class: str = "ovr"
) -> Tensor:
    """Binned ``score`` from an accumulated histogram (see :func:`ranking_state_shape`)."""
    if multi_class == "ovo":
        return _ovo_average(cv.ovo_binned_matrix(hist), hist[0].sum(0), average)
    return _ranking_binned(score, task, hist, average=average)


def _ranking(
    score: RankingScore,
    preds: Any,
    target: Any,
    sample_weight: Any,
    *,
    task: str | None,
    num_classes: int | None,
    num_labels: int | None,
    average: str | None,
    multi_class: str,
    thresholds: int | Sequence[float] | Tensor | None,
    from_logits: bool,
    ignore_index: int | None,
) -> Tensor:
    task, num_classes, num_labels = resolve_task(preds, target, task, num_classes, num_labels)
    mc = check_multi_class(multi_class, task)
    avg = check_ranking_average(average, task, mc)
    grid = None if thresholds is None else cv.threshold_grid(thresholds)
    p, t, w, c = format_ranking(
        preds,
        target,
        sample_weight,
        task=task,
        num_classes=num_classes,
        num_labels=num_labels,
        from_logits=from_logits,
        ignore_index=ignore_index,
        exact=grid is None,
    )
    if grid is None:
        return ranking_exact_compute(
            score, task, p, t, w, num_outputs=c, average=avg, multi_class=mc
        )
    hist = ranking_hist_update(task, p, t, w, grid, num_outputs=c, multi_class=mc)
    return ranking_binned_compute(score, task, hist, average=avg, multi_class=mc)


@keyword_sample_weight
def auroc(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    average: str | None = "macro",
    multi_class: str = "ovr",
    thresholds: int | Sequence[float] | Tensor | None = None,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> Tensor:
    """Weighted area under the ROC curve; equals
    ``sklearn.metrics.roc_auc_score(y, scores, sample_weight=w, average=..., multi_class=...)``.

    The trapezoid under the weighted ROC curve ``(FPR, TPR)`` over the distinct thresholds;
    equivalently ``Σ_{i pos} Σ_{j neg} w_i·w_j·([s_i > s_j] + ½[s_i = s_j]) / (W_pos·W_neg)``, so
    ties between a positive and a negative count one half, as in scikit-learn. ``task``:

    * ``"binary"``: ``preds`` are probabilities of the positive class, ``(N, d...)``;
    * ``"multiclass"``: ``preds`` are probabilities ``(N, C, d...)`` (rows summing to 1, or
      logits with ``from_logits=True``). ``multi_class="ovr"`` (default) scores each class
      against the rest with ``average="macro"`` (default), ``"weighted"`` (by each class's
      weighted support ``Σ_{y=c} w``), ``"micro"`` (all (sample, class) pairs as one binary
      problem) or ``"none"``. ``multi_class="ovo"`` is Hand & Till's (2001) one-vs-one AUROC
      with sample weights, which scikit-learn refuses: for classes ``a, b``,
      ``A(a|b) = Σ_{i∈a} Σ_{j∈b} w_i w_j ([s_ia > s_ja] + ½[s_ia = s_ja]) / (W_a W_b)`` on the
      raw column scores, the pair scores ``(A(a|b) + A(b|a)) / 2``, and the average over pairs
      is ``"macro"`` (plain mean) or ``"weighted"`` (pair ``{a, b}`` weighs ``W_a + W_b``). With
      unit weights it equals ``roc_auc_score(multi_class="ovo")``;
    * ``"multilabel"``: ``preds`` and ``target`` ``(N, L, d...)``; one AUROC per label.

    A class (label, pair) with no weighted positives or no weighted negatives has no AUROC: it
    is left out of the average with a warning, and the result is ``nan`` (with a warning) when
    nothing is defined. torchmetrics averages in a 0 instead.

    **Class-only weights.** A weight that depends only on the class leaves the binary AUROC,
    each one-vs-one pair and the one-vs-one macro average unchanged (it rescales all positives
    and all negatives by constants). It does change one-vs-rest values when the "rest" mixes
    classes of different weights, and it changes ``"weighted"`` averages. Stateful twin:
    :class:`weightwise.metrics.AUROC`.

    Args:
        preds: scores (see above): ``(N, d...)`` binary, ``(N, C, d...)`` multiclass,
            ``(N, L, d...)`` multilabel.
        target: 0/1 targets ``(N, d...)`` (binary), class indices ``(N, d...)`` (multiclass)
            or 0/1 ``(N, L, d...)`` (multilabel).
        sample_weight: keyword-only; ``None``, a scalar, ``(N,)``, a per-pixel map
            ``(N, d...)``, ``(N, L)`` per sample and label (multilabel) or the full grid;
            finite and non-negative.
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (inferred from shapes when
            ``None``).
        num_classes: number of classes (multiclass; default ``preds.shape[1]``).
        num_labels: number of labels (multilabel; default ``target.shape[1]``).
        average: see above; ignored for binary.
        multi_class: ``"ovr"`` or ``"ovo"`` (multiclass only).
        thresholds: ``None`` for the exact value (keeps every score), or ``K`` (``K`` evenly
            spaced thresholds ``k/(K−1)`` in ``[0, 1]``) or an increasing sequence for a binned
            value in fixed memory: the scores in ``[t_k, t_{k+1})`` are treated as tied. Scores
            that lie on the grid give exactly the exact value.
        from_logits: apply a sigmoid (binary, multilabel) or a softmax (multiclass) first.
            The exact binary/multilabel value ranks the logits themselves (the same order),
            so probabilities that saturate to 1.0 in float32 do not tie.
        ignore_index: target value whose elements are left out (weight 0).

    Returns:
        A float64 scalar, or per-class values for ``average="none"``.

    Example:
        >>> import torch
        >>> auroc(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]),
        ...       sample_weight=torch.tensor([1.0, 1.0, 2.0, 1.0]), task="binary")
        tensor(0.6667, dtype=torch.float64)
    """
    return _ranking(
        ROC_AUC, preds, target, sample_weight, task=task, num_classes=num_classes,
        num_labels=num_labels, average=average, multi_class=multi_class,
        thresholds=thresholds, from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip


@keyword_sample_weight
def average_precision(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    average: str | None = "macro",
    thresholds: int | Sequence[float] | Tensor | None = None,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> Tensor:
    """Weighted average precision; equals
    ``sklearn.metrics.average_precision_score(y, scores, sample_weight=w, average=...)``.

    ``AP = Σ_k (R_k − R_{k−1}) · P_k`` over the distinct thresholds in decreasing order, with
    weighted recall ``R_k`` and precision ``P_k``; tied scores enter together (scikit-learn's
    step-wise, uninterpolated definition). Multiclass is one-vs-rest with ``average="macro"``,
    ``"weighted"`` (by weighted support), ``"micro"`` or ``"none"``; multilabel is per label.

    A class or label with no weighted positives has no AP: it is left out of the average with
    a warning (``nan`` with a warning when none is defined). scikit-learn returns 0 for it.

    **Class-only weights do change AP**: precision compares the weight of positives against
    the weight of negatives, so re-weighting classes moves every precision value. Stateful
    twin: :class:`weightwise.metrics.AveragePrecision`.

    Args:
        preds: scores: ``(N, d...)`` binary, ``(N, C, d...)`` multiclass probabilities (or
            logits with ``from_logits``), ``(N, L, d...)`` multilabel.
        target: 0/1 targets ``(N, d...)`` (binary), class indices ``(N, d...)`` (multiclass)
            or 0/1 ``(N, L, d...)`` (multilabel).
        sample_weight: keyword-only; ``None``, a scalar, ``(N,)``, a per-pixel map
            ``(N, d...)``, ``(N, L)`` per sample and label (multilabel) or the full grid;
            finite and non-negative.
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (inferred from shapes when
            ``None``).
        num_classes: number of classes (multiclass; default ``preds.shape[1]``).
        num_labels: number of labels (multilabel; default ``target.shape[1]``).
        average: ``"macro"``, ``"weighted"``, ``"micro"`` or ``"none"``; ignored for binary.
        thresholds: ``None`` (exact), an int ``K`` or an increasing sequence (binned, as
            :func:`auroc`).
        from_logits: apply a sigmoid (binary, multilabel) or a softmax (multiclass) first.
        ignore_index: target value whose elements are left out (weight 0).

    Returns:
        A float64 scalar, or per-class values for ``average="none"``.

    Example:
        >>> import torch
        >>> average_precision(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]),
        ...                   task="binary")
        tensor(0.8333, dtype=torch.float64)
    """
    return _ranking(
        AVERAGE_PRECISION, preds, target, sample_weight, task=task, num_classes=num_classes,
        num_labels=num_labels, average=average, multi_class="ovr", thresholds=thresholds,
        from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------
# multi-label ranking at k
# ----------------------------------------------------------------------------------------------


def format_at_k(
    preds: Any,
    target: Any,
    sample_weight: Any,
    *,
    num_labels: int | None,
    from_logits: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """Multilabel scores and targets ``(E, L)`` and one float64 weight per row ``(E,)``.

    The weight is per sample (or per pixel for dense ``(N, L, d...)`` inputs): ``(N,)`` or
    ``(N, d...)``, never per label.
    """
    _, _, num_labels = resolve_task(preds, target, "multilabel", None, num_labels)
    f = format_scores(
        preds, target, None, task="multilabel", num_labels=num_labels, from_logits=from_logits
    )
    t = as_tensor(target, name="target")
    row_grid = (int(t.shape[0]), *(int(s) for s in t.shape[2:]))
    w = flat_weight(sample_weight, row_grid, device=f.target.device)
    if w is None:
        w = torch.ones(f.target.shape[0], dtype=_F64, device=f.target.device)
    return f.preds, f.target, w


def at_k_update(preds: Tensor, target: Tensor, weight: Tensor, *, k: int) -> Tensor:
    """``[Σ w·P@k, Σ w, Σ w·R@k, Σ_{rows with positives} w]`` in float64.

    The top ``k`` labels of a row are taken by decreasing score, ties to the lower label index.
    ``P@k = hits / k``; ``R@k = hits / #positives`` for rows with at least one positive.
    """
    _, order = torch.sort(preds, dim=1, descending=True, stable=True)
    hits = target.gather(1, order[:, :k]).to(_F64).sum(1)
    npos = target.to(_F64).sum(1)
    has_pos = npos > 0
    w = weight.to(_F64)
    recall = torch.where(has_pos, hits / torch.where(has_pos, npos, 1.0), 0.0)
    return torch.stack([(w * hits / k).sum(), w.sum(), (w * recall).sum(), w[has_pos].sum()])


def _undefined_ratio(num: Tensor, den: Tensor, why: str) -> Tensor:
    """``num / den``; ``nan`` with a warning (``why``) when ``den`` is not positive."""
    if not bool(den > 0):
        warnings.warn(why + "; returning nan", UserWarning, stacklevel=4)
        return torch.tensor(float("nan"), dtype=_F64, device=den.device)
    return num / den


def precision_at_k_compute(state: Tensor) -> Tensor:
    """``Σ w·P@k / Σ w`` from :func:`at_k_update`'s state."""
    return _undefined_ratio(state[0], state[1], "precision at k is undefined: no row with weight")


def recall_at_k_compute(state: Tensor) -> Tensor:
    """``Σ w·R@k / Σ_{rows with positives} w`` from :func:`at_k_update`'s state."""
    return _undefined_ratio(
        state[2], state[3], "recall at k is undefined: no row with weight and a positive label"
    )


def _at_k(
    compute: Callable[[Tensor], Tensor],
    preds: Any,
    target: Any,
    sample_weight: Any,
    *,
    k: int,
    num_labels: int | None,
    from_logits: bool,
) -> Tensor:
    p, t, w = format_at_k(
        preds, target, sample_weight, num_labels=num_labels, from_logits=from_logits
    )
    check_k(k, p.shape[1])
    return compute(at_k_update(p, t, w, k=k))


@keyword_sample_weight
def precision_at_k(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    k: int,
    num_labels: int | None = None,
    from_logits: bool = False,
) -> Tensor:
    """Weighted multi-label precision at ``k``: ``Σ_n w_n·hits_n / k / Σ_n w_n``.

    ``hits_n`` counts the true labels among row ``n``'s ``k`` highest scores (ties to the lower
    label index). With unit weights it is the mean precision at ``k`` of the ranking
    literature (Manning et al. 2008, §8.4); scikit-learn has no multi-label precision at ``k``.
    Class-only weights have no meaning here (a row holds many labels). Zero total weight gives
    ``nan`` with a warning. Stateful twin: :class:`weightwise.metrics.PrecisionAtK`.

    Args:
        preds: scores ``(N, L)`` (or dense ``(N, L, d...)``, one row per pixel); probabilities,
            or logits with ``from_logits``.
        target: 0/1 ``(N, L)`` (or ``(N, L, d...)``).
        sample_weight: keyword-only; ``None``, ``(N,)`` or a per-pixel map ``(N, d...)``: one
            weight per row, never per label; finite and non-negative.
        k: number of top-scored labels per row (``1 <= k <= L``).
        num_labels: ``L`` (checked against the inputs; ``target.shape[1]`` when ``None``).
        from_logits: apply a sigmoid first (does not change the ranking).

    Returns:
        A float64 scalar.

    Example:
        >>> import torch
        >>> precision_at_k(torch.tensor([[0.9, 0.1, 0.5], [0.2, 0.7, 0.6]]),
        ...                torch.tensor([[1, 0, 0], [1, 1, 0]]), k=2)
        tensor(0.5000, dtype=torch.float64)
    """
    return _at_k(
        precision_at_k_compute, preds, target, sample_weight, k=k, num_labels=num_labels,
        from_logits=from_logits,
    )  # fmt: skip


@keyword_sample_weight
def recall_at_k(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    k: int,
    num_labels: int | None = None,
    from_logits: bool = False,
) -> Tensor:
    """Weighted multi-label recall at ``k``: ``Σ_n w_n·hits_n / |Y_n| / Σ_n w_n`` over the rows
    with at least one true label (a row without positives has no recall and is left out, so
    it changes nothing).

    ``hits_n`` counts the true labels among row ``n``'s ``k`` highest scores (ties to the lower
    label index), ``|Y_n|`` the true labels of row ``n``. scikit-learn has no multi-label recall
    at ``k``. No row with weight and a positive label gives ``nan`` with a warning. Stateful
    twin: :class:`weightwise.metrics.RecallAtK`.

    Args:
        preds: scores ``(N, L)`` (or dense ``(N, L, d...)``, one row per pixel); probabilities,
            or logits with ``from_logits``.
        target: 0/1 ``(N, L)`` (or ``(N, L, d...)``).
        sample_weight: keyword-only; ``None``, ``(N,)`` or a per-pixel map ``(N, d...)``: one
            weight per row, never per label; finite and non-negative.
        k: number of top-scored labels per row (``1 <= k <= L``).
        num_labels: ``L`` (checked against the inputs; ``target.shape[1]`` when ``None``).
        from_logits: apply a sigmoid first (does not change the ranking).

    Returns:
        A float64 scalar.

    Example:
        >>> import torch
        >>> recall_at_k(torch.tensor([[0.9, 0.1, 0.5], [0.2, 0.7, 0.6]]),
        ...             torch.tensor([[1, 0, 0], [1, 1, 0]]), k=2)
        tensor(0.7500, dtype=torch.float64)
    """
    return _at_k(
        recall_at_k_compute, preds, target, sample_weight, k=k, num_labels=num_labels,
        from_logits=from_logits,
    )  # fmt: skip
