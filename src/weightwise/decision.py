"""Decisions after training: correcting the scores of a model trained on imbalanced data.

A model trained with class weights or on re-sampled data estimates probabilities under a shifted
class prior. These pure functions correct the scores and choose decisions:

=============================  ==========================================  ===================
function                       what                                        returns
=============================  ==========================================  ===================
:func:`posthoc_logit_adjust`   ``logits - τ·log π`` (Menon et al. 2021)    the input's type
:func:`prior_correction`       Bayes' rule to a target prior               NumPy float64
:func:`fit_temperature`        temperature scaling by weighted NLL         ``float``
:func:`best_threshold`         the threshold maximising a weighted metric  ``float``
:func:`bayes_decision`         least expected cost under a cost matrix     NumPy int64
=============================  ==========================================  ===================

Each takes ``torch`` tensors, NumPy arrays or lists. See ``docs/imbalance.md`` and
``docs/compare.md`` for when to use which.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import torch

from ._checks import (
    as_float64_array,
    check_finite_nonnegative,
    check_nonnegative_real,
    check_positive_vector,
)

__all__ = [
    "bayes_decision",
    "best_threshold",
    "fit_temperature",
    "posthoc_logit_adjust",
    "prior_correction",
]

ArrayT = TypeVar("ArrayT", torch.Tensor, np.ndarray)


def posthoc_logit_adjust(logits: ArrayT, *, prior: Any, tau: float = 1.0) -> ArrayT:
    r"""Post-hoc logit adjustment (Menon et al. 2021), for inference only.

    Returns ``logits - τ·log π`` with ``π`` the training class prior, subtracted along the
    class axis: dim 1 for ``(N, C)`` and dense ``(N, C, d...)`` scores, dim 0 for a single
    ``(C,)`` score vector. The arg-max of the result is the balanced-error-optimal decision for
    a model whose softmax estimates the training-distribution posterior. It is the inference-
    time twin of :func:`weightwise.losses.logit_adjusted_cross_entropy`; do not apply both to
    one model. A constant factor in ``π`` shifts every logit alike, so ``prior`` may be raw
    class counts.

    Args:
        logits: scores, a ``torch.Tensor`` (floating point) or a NumPy array.
        prior: ``(C,)`` class prior or counts, finite and strictly positive.
        tau: ``τ >= 0``; ``τ = 0`` returns the logits unchanged.

    Returns:
        The adjusted logits, of the input's type, shape and (floating) dtype.

    Raises:
        ValueError: a zero, negative or non-finite prior entry (named with its position), a
            prior whose length differs from the class axis, or ``tau < 0``.

    Reference:
        A. K. Menon, S. Jayasumana, A. S. Rawat, H. Jain, A. Veit, S. Kumar. *Long-tail
        learning via logit adjustment.* ICLR 2021.

    Example:
        >>> import torch
        >>> logits = torch.zeros(2, 3)
        >>> posthoc_logit_adjust(logits, prior=[0.5, 0.25, 0.25]).argmax(1)
        tensor([1, 1])
    """
    t = check_nonnegative_real(tau, "tau")
    ndim = int(np.ndim(logits)) if not isinstance(logits, torch.Tensor) else logits.dim()
    if ndim < 1:
        raise ValueError("logits must have a class axis: shape (C,), (N, C) or (N, C, d...)")
    axis = 0 if ndim == 1 else 1
    num_classes = int(logits.shape[axis])
    log_prior = np.log(check_positive_vector(prior, "prior", num_classes=num_classes))
    view = [1] * ndim
    view[axis] = num_classes
    shift = (t * log_prior).reshape(view)
    if isinstance(logits, torch.Tensor):
        x = logits if logits.is_floating_point() else logits.to(torch.get_default_dtype())
        return x - torch.as_tensor(shift, dtype=x.dtype, device=x.device)
    arr = np.asarray(logits)
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    return np.asarray(arr - shift.astype(arr.dtype), dtype=arr.dtype)


def _prior(x: Any, name: str, num_classes: int) -> np.ndarray:
    p = check_positive_vector(x, name, num_classes=num_classes)
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
        scores: ``(N,)`` scores, higher meaning more likely positive (any real dtype,
            bfloat16 and float16 included: they are converted to float64 first). ``N = 0``
            raises ``ValueError``.
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
    if s.size == 0:
        raise ValueError(
            "scores must hold at least one sample; got an empty array (no threshold can be "
            "chosen without data)"
        )
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
    check_finite_nonnegative(c, "cost_matrix", force=True)
    return np.asarray(np.argmin(p @ c, axis=1), dtype=np.int64)
