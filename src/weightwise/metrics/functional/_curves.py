"""Weighted ROC and precision-recall curves, exact and binned (pure functions).

A *row* is one binary ranking problem (the binary task, one class against the rest, one label,
or the micro-averaged flattening). Its curve is the pair of cumulative weighted true-positive
and false-positive sums ``(tp, fp)`` at each *distinct* threshold, scores taken in decreasing
order, with a leading 0. Samples with equal scores form one tie group and enter together,
exactly as scikit-learn's ``_binary_clf_curve`` does, so ROC AUC is the trapezoid under the
weighted ROC curve (a tie between a positive and a negative counts one half) and average
precision is scikit-learn's step-wise sum ``Σ_k (R_k − R_{k−1})·P_k``.

**Exact vs binned.** The exact curve sorts the scores once with :func:`torch.sort` and takes
cumulative sums; the binned one (``thresholds=K``) comes from a float64 histogram of weighted
positives and negatives per score bin, whose memory does not grow with the data. A bin is a tie
group: scores lying on the threshold grid give exactly the exact value.

**One-vs-one** (Hand & Till 2001, weighted): :func:`ovo_exact_matrix` and
:func:`ovo_binned_matrix` return the unnormalised ``W_a·W_b·A(a|b)`` with

    A(a|b) = Σ_{i∈a} Σ_{j∈b} w_i·w_j·([s_ia > s_ja] + ½[s_ia = s_ja]) / (W_a·W_b).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = [
    "ap_from_curve",
    "auroc_from_curve",
    "bin_index",
    "binned_curve",
    "binned_hist",
    "descending_keys",
    "exact_curve",
    "ovo_binned_matrix",
    "ovo_exact_matrix",
    "ovo_hist",
    "threshold_grid",
]

_F64 = torch.float64

# ----------------------------------------------------------------------------------------------
# thresholds and histograms
# ----------------------------------------------------------------------------------------------


def threshold_grid(
    thresholds: int | Sequence[float] | Tensor, *, name: str = "thresholds"
) -> Tensor:
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


def bin_index(scores: Tensor, thresholds: Tensor) -> Tensor:
    """Bin of each score: the number of thresholds ``<= score``, in ``[0, K]``.

    Bin ``k >= 1`` holds the scores in ``[t_{k−1}, t_k)`` (the last one ``[t_{K−1}, ∞)``), bin 0
    the scores below ``t_0``. Comparisons use the scores' dtype, so a float32 score equal to
    ``float32(t_k)`` lands in the bin of ``t_k``.
    """
    t = thresholds.to(device=scores.device, dtype=scores.dtype)
    return torch.bucketize(scores, t, right=True)


def binned_hist(scores: Tensor, positive: Tensor, weight: Tensor, thresholds: Tensor) -> Tensor:
    """Histogram ``(R, K+1, 2)`` of weighted negatives ``[..., 0]`` and positives ``[..., 1]``.

    ``scores``, ``positive`` (bool) and ``weight`` are ``(R, M)``: one row per ranking problem.
    """
    rows, m = scores.shape
    nbins = thresholds.numel() + 1
    if m == 0:
        return torch.zeros(rows, nbins, 2, dtype=_F64, device=scores.device)
    bins = bin_index(scores.contiguous(), thresholds)
    row = torch.arange(rows, device=scores.device).unsqueeze(1)
    flat = (row * nbins + bins) * 2 + positive.long()
    out = torch.bincount(
        flat.reshape(-1), weights=weight.reshape(-1).to(_F64), minlength=rows * nbins * 2
    )
    return out.reshape(rows, nbins, 2)


def ovo_hist(
    scores: Tensor, target: Tensor, weight: Tensor, num_classes: int, thresholds: Tensor
) -> Tensor:
    """Histogram ``(C, K+1, C)``: ``[a, k, b]`` is the weight of class-``b`` samples whose
    column-``a`` score falls in bin ``k``."""
    m, c = scores.shape
    nbins = thresholds.numel() + 1
    if m == 0:
        return torch.zeros(c, nbins, num_classes, dtype=_F64, device=scores.device)
    bins = bin_index(scores, thresholds)  # (M, C)
    col = torch.arange(c, device=scores.device).unsqueeze(0)
    flat = (col * nbins + bins) * num_classes + target.unsqueeze(1)
    w = weight.to(_F64).unsqueeze(1).expand(m, c)
    out = torch.bincount(flat.reshape(-1), weights=w.reshape(-1), minlength=c * nbins * num_classes)
    return out.reshape(c, nbins, num_classes)


# ----------------------------------------------------------------------------------------------
# curves
# ----------------------------------------------------------------------------------------------


def descending_keys(scores: Tensor) -> Tensor:
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


def exact_curve(scores: Tensor, positive: Tensor, weight: Tensor) -> tuple[Tensor, Tensor]:
    """Cumulative weighted ``(tp, fp)`` at each distinct threshold, decreasing, leading 0.

    One sort, one cumulative sum, tie groups collapsed to their last element.
    """
    keys, order = torch.sort(descending_keys(scores))
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


def binned_curve(hist: Tensor) -> tuple[Tensor, Tensor]:
    """Curves ``(R, K+2)`` from a histogram ``(R, K+1, 2)``: every bin is one tie group."""
    desc = torch.flip(hist, dims=(1,))
    cum = torch.cumsum(desc, dim=1)
    zero = torch.zeros(hist.shape[0], 1, dtype=_F64, device=hist.device)
    return torch.cat([zero, cum[..., 1]], 1), torch.cat([zero, cum[..., 0]], 1)


def auroc_from_curve(tp: Tensor, fp: Tensor) -> Tensor:
    """Trapezoid under the weighted ROC curve along the last dim; NaN when undefined (no
    weighted positives or no weighted negatives)."""
    p = tp[..., -1]
    q = fp[..., -1]
    area = ((fp[..., 1:] - fp[..., :-1]) * (tp[..., 1:] + tp[..., :-1])).sum(-1) / 2
    defined = (p > 0) & (q > 0)
    denom = torch.where(defined, p * q, torch.ones_like(p))
    out = torch.where(defined, area / denom, torch.full_like(p, float("nan")))
    return out.clamp(max=1.0)


def ap_from_curve(tp: Tensor, fp: Tensor) -> Tensor:
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
# one-vs-one (Hand & Till) matrices
# ----------------------------------------------------------------------------------------------


def _ovo_matrix_from_groups(tp_a: Tensor, counts: Tensor) -> Tensor:
    """``Σ_j w_j·(prev_a + end_a)/2`` per class ``b`` from tie groups in decreasing order.

    ``tp_a``: ``(G,)`` weight of class ``a`` in each group; ``counts``: ``(G, C)`` weight of every
    class in each group. Returns ``(C,)``: the unnormalised ``W_a·W_b·A(a|b)``.
    """
    end = torch.cumsum(tp_a, 0)
    prev = end - tp_a
    return ((prev + end) / 2) @ counts


def ovo_exact_matrix(preds: Tensor, target: Tensor, weight: Tensor, num_classes: int) -> Tensor:
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


def ovo_binned_matrix(hist: Tensor) -> Tensor:
    """``A[a, b] = A(a|b)·W_a·W_b`` (unnormalised) from the histogram ``(C, K+1, C)``."""
    desc = torch.flip(hist, dims=(1,))  # (C, B, C), bins in decreasing score order
    c = hist.shape[0]
    idx = torch.arange(c, device=hist.device)
    tp_a = desc[idx, :, idx]  # (C, B): weight of class a in bins of column a
    end = torch.cumsum(tp_a, 1)
    prev = end - tp_a
    return torch.einsum("ab,abc->ac", (prev + end) / 2, desc)
