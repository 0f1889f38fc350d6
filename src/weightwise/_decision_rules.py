"""Prior correction, temperature scaling, thresholds and Bayes decisions (re-exported by
:mod:`weightwise.decision`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._checks import as_float64_array, check_finite_nonnegative, format_index

__all__ = ["bayes_decision", "best_threshold", "fit_temperature", "prior_correction"]


def _prior(x: Any, name: str, num_classes: int) -> np.ndarray:
    p = as_float64_array(x, name)
    if p.shape != (num_classes,):
        raise ValueError(f"{name} must have shape ({num_classes},); got {p.shape}")
    bad = np.flatnonzero(~np.isfinite(p) | (p <= 0))
    if bad.size:
        raise ValueError(
            f"{name} must be finite and positive; got {float(p[bad[0]])!r} at index {int(bad[0])}"
        )
    return p / p.sum()


def prior_correction(probs: Any, *, train_prior: Any, target_prior: Any) -> np.ndarray:
    r"""Move class probabilities from the training prior to a target prior (Bayes' rule).

    ``p'_c ∝ p_c · target_prior_c / train_prior_c``, renormalised per row (Saerens et al.
    2002). A model trained on data whose classes appear with prior ``π`` (after re-weighting or
    re-sampling, ``π_c ∝ n_c · κ_c``) estimates ``p(y | x)`` under ``π``; this returns the
    estimate under the target prior, e.g. uniform for a balanced test set. Priors may be raw
    counts: each is normalised to sum 1.

    Args:
        probs: ``(N, C)`` probabilities (rows sum to 1).
        train_prior: ``(C,)``, finite and positive.
        target_prior: ``(C,)``, finite and positive.

    Returns:
        ``(N, C)`` float64 NumPy array.

    Example:
        >>> prior_correction([[0.5, 0.5]], train_prior=[0.8, 0.2], target_prior=[0.5, 0.5])
        array([[0.2, 0.8]])
    """
    p = as_float64_array(probs, "probs")
    if p.ndim != 2:
        raise ValueError(f"probs must have shape (N, C); got {p.shape}")
    check_finite_nonnegative(p, "probs", force=True)
    ratio = _prior(target_prior, "target_prior", p.shape[1]) / _prior(
        train_prior, "train_prior", p.shape[1]
    )
    q = p * ratio
    s = q.sum(axis=1, keepdims=True)
    # A row of zeros stays zeros rather than becoming NaN.
    return q / np.where(s > 0, s, 1.0)


def fit_temperature(
    logits: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    max_iter: int = 100,
) -> float:
    r"""Temperature scaling (Guo et al. 2017) fitted by minimising the weighted NLL.

    Finds ``T > 0`` minimising ``Σ_i w_i · CE(logits_i / T, y_i) / Σ_i w_i``, the weighted
    mean of :func:`weightwise.losses.cross_entropy`, by L-BFGS on ``log T`` (so ``T`` stays
    positive). Divide the logits by the result before the softmax.

    Args:
        logits: ``(N, C)`` validation logits.
        target: ``(N,)`` class indices.
        sample_weight: ``(N,)`` validation weights, or ``None``.
        max_iter: L-BFGS iterations.

    Returns:
        The temperature ``T`` as a float.

    Example:
        >>> import torch
        >>> t = fit_temperature(torch.randn(50, 3) * 5, torch.randint(0, 3, (50,)))
    """
    from .losses import cross_entropy

    x = torch.as_tensor(np.asarray(logits) if not isinstance(logits, torch.Tensor) else logits)
    x = x.detach().to(torch.float64)
    y = torch.as_tensor(target).long()
    w = None if sample_weight is None else torch.as_tensor(sample_weight, dtype=torch.float64)
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.5, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = cross_entropy(
            x / log_t.exp(), y, sample_weight=w, reduction="weighted_mean", fused=False
        )
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.detach().exp())


def best_threshold(
    scores: Any,
    target: Any,
    *,
    metric: str = "f1",
    beta: float = 1.0,
    sample_weight: Any = None,
) -> float:
    r"""The decision threshold of a binary scorer that maximises a weighted metric.

    A sample is predicted positive when ``score > threshold`` (strict, as every weightwise
    metric). Every distinct score is a candidate, plus one below the minimum (everything
    positive); the first best is returned.

    Args:
        scores: ``(N,)`` scores, higher meaning more likely positive.
        target: ``(N,)`` 0/1 labels.
        metric: ``"f1"``, ``"fbeta"`` (with ``beta``), ``"balanced_accuracy"`` or
            ``"accuracy"``.
        beta: ``β`` of ``"fbeta"``.
        sample_weight: ``(N,)`` weights, or ``None``.

    Example:
        >>> best_threshold([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
        0.1
    """
    s = as_float64_array(scores, "scores").reshape(-1)
    t = as_float64_array(target, "target").reshape(-1)
    if t.shape != s.shape:
        raise ValueError(f"target must have the shape of scores {s.shape}; got {t.shape}")
    bad = np.flatnonzero((t != 0) & (t != 1))
    if bad.size:
        raise ValueError(
            f"target must hold 0/1 labels; got {float(t[bad[0]])!r} at index {int(bad[0])}"
        )
    w = (
        np.ones_like(s)
        if sample_weight is None
        else as_float64_array(sample_weight, "sample_weight")
    )
    if w.shape != s.shape:
        raise ValueError(f"sample_weight must have shape {s.shape}; got {w.shape}")
    check_finite_nonnegative(w, "sample_weight", force=True)
    if metric not in ("f1", "fbeta", "balanced_accuracy", "accuracy"):
        raise ValueError(
            f"metric must be one of 'f1', 'fbeta', 'balanced_accuracy', 'accuracy'; got {metric!r}"
        )
    order = np.argsort(-s, kind="stable")
    s_sorted, t_sorted, w_sorted = s[order], t[order], w[order]
    tp = np.cumsum(w_sorted * t_sorted)
    fp = np.cumsum(w_sorted * (1 - t_sorted))
    last = np.r_[np.flatnonzero(np.diff(s_sorted)), len(s_sorted) - 1]  # end of each tie group
    tp, fp = tp[last], fp[last]
    # Candidate thresholds: just below each distinct score -> predicted positive: score >= it.
    pos, neg = tp[-1], fp[-1]
    fn, tn = pos - tp, neg - fp
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric in ("f1", "fbeta"):
            b2 = 1.0 if metric == "f1" else beta * beta
            denom = (1 + b2) * tp + b2 * fn + fp
            value = np.where(denom > 0, (1 + b2) * tp / np.where(denom > 0, denom, 1), 0.0)
        elif metric == "accuracy":
            value = (tp + tn) / max(pos + neg, np.finfo(float).tiny)
        else:
            tpr = tp / pos if pos > 0 else np.zeros_like(tp)
            tnr = tn / neg if neg > 0 else np.zeros_like(tn)
            value = 0.5 * (tpr + tnr)
    k = int(np.argmax(value))
    distinct = s_sorted[last]
    # The threshold is the next lower distinct score (strict >), or below the minimum.
    if k + 1 < len(distinct):
        return float(distinct[k + 1])
    return float(np.nextafter(distinct[-1], -np.inf))


def bayes_decision(probs: Any, cost_matrix: Any) -> np.ndarray:
    r"""The decision of least expected cost: ``argmin_k Σ_j p_j · cost[j, k]``.

    ``cost_matrix[j, k]`` is the cost of deciding ``k`` when the true class is ``j`` (rows:
    truth, columns: decision), finite and non-negative.

    Returns:
        ``(N,)`` int64 decisions.

    Example:
        >>> bayes_decision([[0.7, 0.3]], [[0, 1], [5, 0]])  # missing class 1 costs 5
        array([1])
    """
    p = as_float64_array(probs, "probs")
    if p.ndim != 2:
        raise ValueError(f"probs must have shape (N, C); got {p.shape}")
    c = as_float64_array(cost_matrix, "cost_matrix")
    if c.shape != (p.shape[1], p.shape[1]):
        raise ValueError(
            f"cost_matrix must have shape ({p.shape[1]}, {p.shape[1]}) for {p.shape[1]} "
            f"classes; got {c.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(c) | (c < 0))
    if bad.size:
        raise ValueError(
            f"cost_matrix must be finite and non-negative; got {float(c.reshape(-1)[bad[0]])!r} at "
            f"{format_index(int(bad[0]), c.shape)}"
        )
    return np.asarray(np.argmin(p @ c, axis=1), dtype=np.int64)
