"""Weighted ranking statistics: exact and binned ROC AUC and average precision (pure functions).

Every function here works on already-formatted tensors (see :mod:`weightwise.metrics._inputs`):

* binary: scores ``(M,)``, targets ``(M,)`` in {0, 1}, weights ``(M,)``;
* multiclass: scores ``(M, C)``, class indices ``(M,)``, weights ``(M,)``;
* multilabel: scores ``(M, L)``, targets ``(M, L)`` in {0, 1}, weights ``(M, L)``.

**Curves.** A *row* is one binary ranking problem (the binary task, one class against the rest,
one label, or the micro-averaged flattening). Its curve is the pair of cumulative weighted
true-positive and false-positive sums ``(tp, fp)`` at each *distinct* threshold, scores taken in
decreasing order, with a leading 0. Samples with equal scores form one tie group and enter
together, exactly as scikit-learn's ``_binary_clf_curve`` does, so ROC AUC is the trapezoid
under the weighted ROC curve (a tie between a positive and a negative counts one half) and
average precision is scikit-learn's step-wise sum ``Σ_k (R_k − R_{k−1})·P_k``.

**Exact vs binned.** The exact path sorts the scores once with :func:`torch.sort` and takes
cumulative sums; the binned path (``thresholds=K``) keeps a float64 histogram of weighted
positives and negatives per score bin, so its memory does not grow with the data. A bin is a tie
group: scores lying on the threshold grid give exactly the exact value.

**One-vs-one** (Hand & Till 2001, weighted): ``A(a|b)`` is the weighted probability that a sample
of class ``a`` scores higher on column ``a`` than a sample of class ``b`` (ties count one half),

    A(a|b) = Σ_{i∈a} Σ_{j∈b} w_i·w_j·([s_ia > s_ja] + ½[s_ia = s_ja]) / (W_a·W_b),

and the pair ``{a, b}`` scores ``(A(a|b) + A(b|a)) / 2``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from ._inputs import as_tensor, check_average, check_task, flat_weight, format_scores, infer_task

__all__ = ["auroc", "average_precision", "precision_at_k", "recall_at_k"]

_F64 = torch.float64


# ----------------------------------------------------------------------------------------------
# thresholds and histograms
# ----------------------------------------------------------------------------------------------


def _thresholds(thresholds: int | Sequence[float] | Tensor, *, name: str = "thresholds") -> Tensor:
    """The threshold grid as a float64 tensor: ``K`` evenly spaced values ``k/(K−1)`` in
    ``[0, 1]`` for an int ``K`` (exactly ``numpy.arange(K) / (K − 1)``), or the given increasing
    values."""
    if isinstance(thresholds, bool):
        raise ValueError(
            f"{name} must be an int >= 2 or an increasing sequence; got {thresholds!r}"
        )
    if isinstance(thresholds, int):
        if thresholds < 2:
            raise ValueError(
                f"{name} must be an int >= 2 or an increasing sequence; got {thresholds}"
            )
        return torch.arange(thresholds, dtype=_F64) / (thresholds - 1)
    t = torch.as_tensor(thresholds, dtype=_F64).detach().cpu()
    if t.dim() != 1 or t.numel() < 1:
        raise ValueError(f"{name} must be 1-D and non-empty; got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        pos = int(torch.nonzero(~torch.isfinite(t))[0, 0])
        raise ValueError(f"{name} must be finite; got {t[pos].item()!r} at index {pos}")
    if t.numel() > 1:
        steps = t[1:] - t[:-1]
        if not bool((steps > 0).all()):
            pos = int(torch.nonzero(steps <= 0)[0, 0]) + 1
            raise ValueError(
                f"{name} must be strictly increasing; got {t[pos].item()!r} at index {pos} after "
                f"{t[pos - 1].item()!r}"
            )
    return t


def _bin_index(scores: Tensor, thresholds: Tensor) -> Tensor:
    """Bin of each score: the number of thresholds ``<= score``, in ``[0, K]``.

    Bin ``k >= 1`` holds the scores in ``[t_{k−1}, t_k)`` (the last one ``[t_{K−1}, ∞)``), bin 0
    the scores below ``t_0``. Comparisons use the scores' dtype, so a float32 score equal to
    ``float32(t_k)`` lands in the bin of ``t_k``.
    """
    t = thresholds.to(device=scores.device, dtype=scores.dtype)
    return torch.bucketize(scores, t, right=True)


def _binned_hist(scores: Tensor, positive: Tensor, weight: Tensor, thresholds: Tensor) -> Tensor:
    """Histogram ``(R, K+1, 2)`` of weighted negatives ``[..., 0]`` and positives ``[..., 1]``.

    ``scores``, ``positive`` (bool) and ``weight`` are ``(R, M)``: one row per ranking problem.
    """
    rows, m = scores.shape
    nbins = thresholds.numel() + 1
    if m == 0:
        return torch.zeros(rows, nbins, 2, dtype=_F64, device=scores.device)
    bins = _bin_index(scores.contiguous(), thresholds)
    row = torch.arange(rows, device=scores.device).unsqueeze(1)
    flat = (row * nbins + bins) * 2 + positive.long()
    out = torch.bincount(
        flat.reshape(-1), weights=weight.reshape(-1).to(_F64), minlength=rows * nbins * 2
    )
    return out.reshape(rows, nbins, 2)


def _ovo_hist(
    scores: Tensor, target: Tensor, weight: Tensor, num_classes: int, thresholds: Tensor
) -> Tensor:
    """Histogram ``(C, K+1, C)``: ``[a, k, b]`` is the weight of class-``b`` samples whose
    column-``a`` score falls in bin ``k``."""
    m, c = scores.shape
    nbins = thresholds.numel() + 1
    if m == 0:
        return torch.zeros(c, nbins, num_classes, dtype=_F64, device=scores.device)
    bins = _bin_index(scores, thresholds)  # (M, C)
    col = torch.arange(c, device=scores.device).unsqueeze(0)
    flat = (col * nbins + bins) * num_classes + target.unsqueeze(1)
    w = weight.to(_F64).unsqueeze(1).expand(m, c)
    out = torch.bincount(flat.reshape(-1), weights=w.reshape(-1), minlength=c * nbins * num_classes)
    return out.reshape(c, nbins, num_classes)


# ----------------------------------------------------------------------------------------------
# curves
# ----------------------------------------------------------------------------------------------


def _descending_keys(scores: Tensor) -> Tensor:
    """Integer keys whose ascending order is the scores' descending order; equal keys iff equal
    scores (``-0.0`` and ``+0.0`` are one score).

    Sorting a float's bit pattern as an integer is several times faster on CPU than sorting the
    float (PyTorch radix-sorts integer keys). For IEEE floats the bit pattern read as a signed
    integer is already ordered for non-negative values; flipping the magnitude bits of negative
    values (and shifting them up by one, so that ``-0.0`` meets ``+0.0``) orders them too.
    """
    if scores.dtype not in (torch.float32, torch.float64):
        scores = scores.to(torch.float32)
    if scores.dtype == torch.float64:
        bits = scores.view(torch.int64)
        mask, shift = torch.iinfo(torch.int64).max, 63
    else:
        bits = scores.view(torch.int32)
        mask, shift = torch.iinfo(torch.int32).max, 31
    if scores.numel() and bool(scores.min() >= 0):
        # the common case (validated probabilities): only -0.0 has a negative bit pattern
        return bits.clamp_min(0).bitwise_not_()
    sign = bits >> shift  # -1 for negative values, 0 otherwise
    key = (sign & mask) ^ bits
    key -= sign
    return key.bitwise_not_()


def _exact_curve(scores: Tensor, positive: Tensor, weight: Tensor) -> tuple[Tensor, Tensor]:
    """Cumulative weighted ``(tp, fp)`` at each distinct threshold, decreasing, leading 0.

    One sort, one cumulative sum, tie groups collapsed to their last element.
    """
    keys, order = torch.sort(_descending_keys(scores))
    w = torch.index_select(weight, 0, order)
    pos = torch.index_select(positive, 0, order)
    zero_w = torch.zeros((), dtype=w.dtype, device=w.device)
    tp = torch.cumsum(torch.where(pos, w, zero_w), 0, dtype=_F64)
    total = torch.cumsum(w, 0, dtype=_F64)
    n = keys.numel()
    ends = torch.empty(n, dtype=torch.bool, device=keys.device)
    if n:
        ends[-1] = True
        torch.ne(keys[1:], keys[:-1], out=ends[:-1])
    idx = torch.nonzero(ends).reshape(-1)
    zero = torch.zeros(1, dtype=_F64, device=keys.device)
    tp_end = tp.index_select(0, idx)
    fp_end = total.index_select(0, idx) - tp_end
    return torch.cat([zero, tp_end]), torch.cat([zero, fp_end])


def _binned_curve(hist: Tensor) -> tuple[Tensor, Tensor]:
    """Curves ``(R, K+2)`` from a histogram ``(R, K+1, 2)``: every bin is one tie group."""
    desc = torch.flip(hist, dims=(1,))
    cum = torch.cumsum(desc, dim=1)
    zero = torch.zeros(hist.shape[0], 1, dtype=_F64, device=hist.device)
    return torch.cat([zero, cum[..., 1]], 1), torch.cat([zero, cum[..., 0]], 1)


def _auroc_from_curve(tp: Tensor, fp: Tensor) -> Tensor:
    """Trapezoid under the weighted ROC curve along the last dim; NaN when undefined (no
    weighted positives or no weighted negatives)."""
    p = tp[..., -1]
    q = fp[..., -1]
    area = ((fp[..., 1:] - fp[..., :-1]) * (tp[..., 1:] + tp[..., :-1])).sum(-1) / 2
    defined = (p > 0) & (q > 0)
    denom = torch.where(defined, p * q, torch.ones_like(p))
    out = torch.where(defined, area / denom, torch.full_like(p, float("nan")))
    return out.clamp(max=1.0)


def _ap_from_curve(tp: Tensor, fp: Tensor) -> Tensor:
    """scikit-learn's step-wise average precision along the last dim; NaN without weighted
    positives."""
    p = tp[..., -1]
    dtp = tp[..., 1:] - tp[..., :-1]
    ps = tp[..., 1:] + fp[..., 1:]
    precision = torch.where(ps > 0, tp[..., 1:] / torch.where(ps > 0, ps, 1.0), 0.0)
    total = (dtp * precision).sum(-1)
    defined = p > 0
    denom = torch.where(defined, p, torch.ones_like(p))
    out = torch.where(defined, total / denom, torch.full_like(p, float("nan")))
    return out.clamp(min=0.0, max=1.0)


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


def _per_row_exact(scores: Tensor, positive: Tensor, weight: Tensor, *, kind: str) -> Tensor:
    fn = _auroc_from_curve if kind == "auroc" else _ap_from_curve
    out = []
    for r in range(scores.shape[0]):
        tp, fp = _exact_curve(scores[r], positive[r], weight[r])
        out.append(fn(tp, fp))
    if not out:
        return torch.zeros(0, dtype=_F64, device=scores.device)
    return torch.stack(out)


def _per_row_binned(hist: Tensor, *, kind: str) -> Tensor:
    tp, fp = _binned_curve(hist)
    return _auroc_from_curve(tp, fp) if kind == "auroc" else _ap_from_curve(tp, fp)


def _name(kind: str) -> str:
    return "ROC AUC" if kind == "auroc" else "average precision"


def _unit(task: str) -> str:
    return {"multilabel": "label", "multiclass": "class"}.get(task, "input")


def _ranking_exact(
    kind: str,
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
    values = _per_row_exact(scores, pos, w, kind=kind)
    support = _row_support(pos, w) if average == "weighted" else values
    return _average(
        values, support, "macro" if micro else average, metric=_name(kind), unit=_unit(task)
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
    return _binned_hist(scores, pos, w, thresholds)


def _ranking_binned(kind: str, task: str, hist: Tensor, *, average: str | None) -> Tensor:
    """Binned AUROC (one-vs-rest) or AP from the accumulated histogram ``(R, K+1, 2)``."""
    micro = average == "micro" and task != "binary"
    if micro:
        hist = hist.sum(0, keepdim=True)
    values = _per_row_binned(hist, kind=kind)
    support = hist[..., 1].sum(-1)
    return _average(
        values, support, "macro" if micro else average, metric=_name(kind), unit=_unit(task)
    )


# ----------------------------------------------------------------------------------------------
# one-vs-one (Hand & Till)
# ----------------------------------------------------------------------------------------------


def _ovo_matrix_from_groups(tp_a: Tensor, counts: Tensor) -> Tensor:
    """``Σ_j w_j·(prev_a + end_a)/2`` per class ``b`` from tie groups in decreasing order.

    ``tp_a``: ``(G,)`` weight of class ``a`` in each group; ``counts``: ``(G, C)`` weight of every
    class in each group. Returns ``(C,)``: the unnormalised ``W_a·W_b·A(a|b)``.
    """
    end = torch.cumsum(tp_a, 0)
    prev = end - tp_a
    return ((prev + end) / 2) @ counts


def _ovo_exact_matrix(preds: Tensor, target: Tensor, weight: Tensor, num_classes: int) -> Tensor:
    """``A[a, b] = A(a|b)·W_a·W_b`` (unnormalised) from exact scores."""
    c = num_classes
    m = preds.shape[0]
    w64 = weight.to(_F64)
    out = torch.zeros(c, c, dtype=_F64, device=preds.device)
    if m == 0:
        return out
    for a in range(c):
        s, order = torch.sort(preds[:, a], descending=True)
        y = target[order]
        w = w64[order]
        starts = torch.ones(m, dtype=torch.bool, device=s.device)
        if m > 1:
            torch.ne(s[1:], s[:-1], out=starts[1:])
        gid = torch.cumsum(starts.long(), 0) - 1
        g = int(gid[-1]) + 1
        counts = torch.zeros(g * c, dtype=_F64, device=s.device)
        counts.index_add_(0, gid * c + y, w)
        counts = counts.reshape(g, c)
        out[a] = _ovo_matrix_from_groups(counts[:, a], counts)
    return out


def _ovo_binned_matrix(hist: Tensor) -> Tensor:
    """``A[a, b] = A(a|b)·W_a·W_b`` (unnormalised) from the histogram ``(C, K+1, C)``."""
    desc = torch.flip(hist, dims=(1,))  # (C, B, C), bins in decreasing score order
    c = hist.shape[0]
    idx = torch.arange(c, device=hist.device)
    tp_a = desc[idx, :, idx]  # (C, B): weight of class a in bins of column a
    end = torch.cumsum(tp_a, 1)
    prev = end - tp_a
    return torch.einsum("ab,abc->ac", (prev + end) / 2, desc)


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

RANKING_AVERAGES: tuple[str, ...] = ("micro", "macro", "weighted", "none")
OVO_AVERAGES: tuple[str, ...] = ("macro", "weighted")


def _resolve(
    preds: Any,
    target: Any,
    task: str | None,
    num_classes: int | None,
    num_labels: int | None,
) -> tuple[str, int | None, int | None]:
    """Fill in ``task``, ``num_classes`` and ``num_labels`` from the shapes when not given."""
    if task is None:
        task = infer_task(preds, target)
    check_task(task)
    p = as_tensor(preds, name="preds")
    if task == "multiclass" and num_classes is None and p.dim() >= 2:
        num_classes = int(p.shape[1])
    if task == "multilabel" and num_labels is None and p.dim() >= 2:
        num_labels = int(p.shape[1])
    return task, num_classes, num_labels


def _check_multi_class(multi_class: str, task: str) -> str:
    if multi_class not in ("ovr", "ovo"):
        raise ValueError(f"multi_class must be 'ovr' or 'ovo'; got {multi_class!r}")
    if multi_class == "ovo" and task != "multiclass":
        raise ValueError(f"multi_class='ovo' needs task='multiclass'; got task={task!r}")
    return multi_class


def _check_ranking_average(average: str | None, task: str, multi_class: str) -> str:
    if task == "binary":
        return "macro"
    if multi_class == "ovo":
        return check_average(average, OVO_AVERAGES)
    return check_average(average, RANKING_AVERAGES)


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
    weight = f.weight
    if weight is None:
        weight = torch.ones(f.target.shape, dtype=_F64, device=f.target.device)
    return f.preds, f.target, weight, f.num_classes


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
        return _ovo_hist(preds, target, weight, num_outputs, thresholds)
    return _ranking_hist(task, preds, target, weight, thresholds, num_classes=num_outputs)


def ranking_exact_compute(
    kind: str,
    task: str,
    preds: Tensor,
    target: Tensor,
    weight: Tensor,
    *,
    num_outputs: int,
    average: str,
    multi_class: str = "ovr",
) -> Tensor:
    """Exact AUROC (``kind="auroc"``) or AP (``"ap"``) from formatted, concatenated inputs."""
    if multi_class == "ovo":
        raw = _ovo_exact_matrix(preds, target, weight, num_outputs)
        return _ovo_average(raw, _ovo_class_weight(target, weight, num_outputs), average)
    return _ranking_exact(
        kind, task, preds, target, weight, num_classes=num_outputs, average=average
    )


def ranking_binned_compute(
    kind: str, task: str, hist: Tensor, *, average: str, multi_class: str = "ovr"
) -> Tensor:
    """Binned AUROC or AP from an accumulated histogram."""
    if multi_class == "ovo":
        return _ovo_average(_ovo_binned_matrix(hist), hist[0].sum(0), average)
    return _ranking_binned(kind, task, hist, average=average)


def _ranking(
    kind: str,
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
    task, num_classes, num_labels = _resolve(preds, target, task, num_classes, num_labels)
    mc = _check_multi_class(multi_class, task)
    avg = _check_ranking_average(average, task, mc)
    grid = None if thresholds is None else _thresholds(thresholds)
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
            kind, task, p, t, w, num_outputs=c, average=avg, multi_class=mc
        )
    hist = ranking_hist_update(task, p, t, w, grid, num_outputs=c, multi_class=mc)
    return ranking_binned_compute(kind, task, hist, average=avg, multi_class=mc)


def auroc(
    preds: Any,
    target: Any,
    sample_weight: Any = None,
    *,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    average: str | None = "macro",
    multi_class: str = "ovr",
    thresholds: int | Sequence[float] | Tensor | None = None,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> Tensor:
    """Weighted area under the ROC curve; equals ``sklearn.metrics.roc_auc_score``.

    Ties between a positive and a negative count one half, as in scikit-learn. ``task``:

    * ``"binary"``: ``preds`` are probabilities of the positive class, ``(N, d...)``;
    * ``"multiclass"``: ``preds`` are probabilities ``(N, C, d...)`` (rows summing to 1, or
      logits with ``from_logits=True``). ``multi_class="ovr"`` (default) scores each class
      against the rest with ``average="macro"`` (default), ``"weighted"`` (by each class's
      weighted support ``Σ_{y=c} w``), ``"micro"`` (all (sample, class) pairs as one binary
      problem) or ``"none"``. ``multi_class="ovo"`` is Hand & Till's one-vs-one AUROC with
      sample weights, which scikit-learn refuses: for classes ``a, b``,
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
    classes of different weights, and it changes ``"weighted"`` averages.

    Args:
        preds: scores (see above).
        target: 0/1 targets (binary, multilabel) or class indices (multiclass).
        sample_weight: ``None``, a scalar, ``(N,)``, a per-pixel map ``(N, d...)``, ``(N, L)``
            per sample and label (multilabel) or the full grid; finite and non-negative.
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (inferred from shapes when
            ``None``).
        num_classes: number of classes (multiclass; default ``preds.shape[1]``).
        num_labels: number of labels (multilabel; default ``preds.shape[1]``).
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
        ...       torch.tensor([1.0, 1.0, 2.0, 1.0]), task="binary")
        tensor(0.6667, dtype=torch.float64)
    """
    return _ranking(
        "auroc", preds, target, sample_weight, task=task, num_classes=num_classes,
        num_labels=num_labels, average=average, multi_class=multi_class,
        thresholds=thresholds, from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip


def average_precision(
    preds: Any,
    target: Any,
    sample_weight: Any = None,
    *,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    average: str | None = "macro",
    thresholds: int | Sequence[float] | Tensor | None = None,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> Tensor:
    """Weighted average precision; equals ``sklearn.metrics.average_precision_score``.

    ``AP = Σ_k (R_k − R_{k−1}) · P_k`` over the distinct thresholds in decreasing order, with
    weighted recall ``R_k`` and precision ``P_k``; tied scores enter together (scikit-learn's
    step-wise, uninterpolated definition). Multiclass is one-vs-rest with ``average="macro"``,
    ``"weighted"`` (by weighted support), ``"micro"`` or ``"none"``; multilabel is per label.

    A class or label with no weighted positives has no AP: it is left out of the average with
    a warning (``nan`` with a warning when none is defined). scikit-learn returns 0 for it.

    **Class-only weights do change AP**: precision compares the weight of positives against
    the weight of negatives, so re-weighting classes moves every precision value.

    Arguments are those of :func:`auroc` (without ``multi_class``).

    Example:
        >>> import torch
        >>> average_precision(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]),
        ...                   task="binary")
        tensor(0.8333, dtype=torch.float64)
    """
    return _ranking(
        "ap", preds, target, sample_weight, task=task, num_classes=num_classes,
        num_labels=num_labels, average=average, multi_class="ovr", thresholds=thresholds,
        from_logits=from_logits, ignore_index=ignore_index,
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------
# multi-label ranking at k
# ----------------------------------------------------------------------------------------------


def check_k(k: int, num_labels: int | None = None) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer; got {k!r}")
    if num_labels is not None and k > num_labels:
        raise ValueError(f"k must be <= num_labels={num_labels}; got {k}")
    return k


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
    p = as_tensor(preds, name="preds")
    if num_labels is None and p.dim() >= 2:
        num_labels = int(p.shape[1])
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


def at_k_compute(state: Tensor, *, which: str) -> Tensor:
    num, den = (state[0], state[1]) if which == "precision" else (state[2], state[3])
    if not bool(den > 0):
        warnings.warn(
            f"{which} at k is undefined: no row with weight"
            + (" and a positive label" if which == "recall" else "")
            + "; returning nan",
            UserWarning,
            stacklevel=3,
        )
        return torch.tensor(float("nan"), dtype=_F64, device=state.device)
    return num / den


def _at_k(
    which: str,
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
    return at_k_compute(at_k_update(p, t, w, k=k), which=which)


def precision_at_k(
    preds: Any,
    target: Any,
    sample_weight: Any = None,
    *,
    k: int,
    num_labels: int | None = None,
    from_logits: bool = False,
) -> Tensor:
    """Weighted multi-label precision at ``k``: ``Σ_n w_n·hits_n / k / Σ_n w_n``.

    ``preds`` and ``target`` are ``(N, L)`` (or dense ``(N, L, d...)``, one row per pixel);
    ``hits_n`` counts the true labels among row ``n``'s ``k`` highest scores (ties to the lower
    label index). ``sample_weight`` weights rows: ``(N,)`` or a per-pixel map, never per
    label. Class-only weights have no meaning here (a row holds many labels). Zero total weight
    gives ``nan`` with a warning.

    Example:
        >>> import torch
        >>> precision_at_k(torch.tensor([[0.9, 0.1, 0.5], [0.2, 0.7, 0.6]]),
        ...                torch.tensor([[1, 0, 0], [1, 1, 0]]), k=2)
        tensor(0.5000, dtype=torch.float64)
    """
    return _at_k(
        "precision", preds, target, sample_weight, k=k, num_labels=num_labels,
        from_logits=from_logits,
    )  # fmt: skip


def recall_at_k(
    preds: Any,
    target: Any,
    sample_weight: Any = None,
    *,
    k: int,
    num_labels: int | None = None,
    from_logits: bool = False,
) -> Tensor:
    """Weighted multi-label recall at ``k``: ``Σ_n w_n·hits_n / |Y_n| / Σ_n w_n`` over the rows
    with at least one true label (a row without positives has no recall and is left out, so
    it changes nothing). Otherwise as :func:`precision_at_k`.

    Example:
        >>> import torch
        >>> recall_at_k(torch.tensor([[0.9, 0.1, 0.5], [0.2, 0.7, 0.6]]),
        ...             torch.tensor([[1, 0, 0], [1, 1, 0]]), k=2)
        tensor(0.7500, dtype=torch.float64)
    """
    return _at_k(
        "recall", preds, target, sample_weight, k=k, num_labels=num_labels,
        from_logits=from_logits,
    )  # fmt: skip
