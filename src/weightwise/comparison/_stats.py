"""Paired bootstrap of metric differences, vectorised over resamples, with Holm's correction.

A resample draws ``N`` evaluation examples with replacement (the same draw for every strategy:
the comparison is *paired*) and, with ``K > 1`` seeds, ``K`` seeds with replacement (again the
same for every strategy). A metric is recomputed on each resample from per-example statistics
by one matrix product, ``R @ S``, where ``R`` (B, N) holds how often each example was drawn;
the percentile interval of the differences is Efron & Tibshirani's (1993, ch. 13) and the
p-value is the two-sided bootstrap p-value ``2·min(P*(d ≤ 0), P*(d ≥ 0))``. Holm's (1979)
step-down procedure controls the family-wise error over the strategies compared to ``none``.
See docs/compare.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Above this many classes the per-example class columns are stored sparse (one entry a row).
SPARSE_ABOVE = 32

__all__ = [
    "BOOTSTRAP_METRICS",
    "ExampleStats",
    "bootstrap_scores",
    "example_stats",
    "holm",
    "interval",
    "p_value",
    "resample_counts",
    "resampled_metric",
]

#: Metrics the bootstrap recomputes per resample (the selection metric must be one of them).
BOOTSTRAP_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "f1_score",
    "rare_recall",
    "worst_class_recall",
    "log_loss",
    "expected_cost",
    "precision",
    "recall",
)


@dataclass(frozen=True)
class ExampleStats:
    """Per-example columns from which a resample's metric is one matrix product away.

    ``true_w`` (N, C): ``w_i·[y_i = c]``; ``hit_w``: ``w_i·[y_i = c]·[ŷ_i = c]``; ``pred_w``:
    ``w_i·[ŷ_i = c]``; ``w`` (N,): sample weights; ``value`` (N,): ``w_i·loss_i`` for the
    per-example metrics (log loss, expected cost), else ``None``.
    """

    true_w: Any
    hit_w: Any
    pred_w: Any
    w: np.ndarray
    value: np.ndarray | None
    rare: np.ndarray
    positive: int | None = None


def example_stats(
    probs: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None,
    *,
    metric: str,
    rare: np.ndarray,
    cost_matrix: np.ndarray | None = None,
    positive: int | None = None,
) -> ExampleStats:
    """The :class:`ExampleStats` of class probabilities ``probs`` (N, C) for labels ``y`` (N,).

    Predictions are ``argmax`` (the Bayes decision under ``cost_matrix`` for
    ``metric="expected_cost"``). With ``positive`` (a binary task), ``f1_score``,
    ``precision`` and ``recall`` are that class's.
    """
    n, c = probs.shape
    ww = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    value = None
    if metric == "expected_cost":
        if cost_matrix is None:
            raise ValueError("metric 'expected_cost' needs a cost matrix")
        from weightwise.decision import bayes_decision

        pred = np.asarray(bayes_decision(probs, cost_matrix))
        value = ww * np.asarray(cost_matrix, dtype=np.float64)[y, pred]
    else:
        pred = probs.argmax(axis=1)
    if metric == "log_loss":
        eps = np.finfo(probs.dtype).eps
        value = -ww * np.log(np.clip(probs[np.arange(n), y], eps, 1 - eps))
    rows = np.arange(n)
    hit = ww * (pred == y)
    if c > SPARSE_ABOVE:
        from scipy import sparse

        def onehot(cols: np.ndarray, vals: np.ndarray) -> Any:
            return sparse.csr_matrix((vals, (rows, cols)), shape=(n, c))

    else:

        def onehot(cols: np.ndarray, vals: np.ndarray) -> Any:
            m = np.zeros((n, c))
            m[rows, cols] = vals
            return m

    rare_idx = np.asarray(rare, dtype=np.int64)
    return ExampleStats(
        onehot(y, ww), onehot(y, hit), onehot(pred, ww), ww, value, rare_idx, positive
    )


def _mm(R: np.ndarray, M: Any) -> np.ndarray:
    """``R @ M`` for a dense or sparse ``M`` (N, C), as a dense (B, C) array."""
    if isinstance(M, np.ndarray):
        return R @ M
    return np.asarray(M.T @ R.T).T


def resampled_metric(metric: str, st: ExampleStats, R: np.ndarray) -> np.ndarray:
    """``metric`` on each resample: ``R`` (B, N) holds example multiplicities; returns (B,).

    With ``R`` all ones it is the metric of the whole sample, as
    ``weightwise.metrics.functional`` computes it (classes absent from a resample are skipped
    by the per-class averages, as scikit-learn skips them).

    Example:
        >>> import numpy as np
        >>> p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
        >>> st = example_stats(p, np.array([0, 1, 1]), None, metric="balanced_accuracy",
        ...                    rare=np.array([1]))
        >>> resampled_metric("balanced_accuracy", st, np.ones((1, 3))).tolist()
        [0.75]
    """
    if metric in ("log_loss", "expected_cost"):
        assert st.value is not None
        return (R @ st.value) / (R @ st.w)
    if metric == "accuracy":
        hit_rows = np.asarray(st.hit_w.sum(axis=1)).reshape(-1)
        return (R @ hit_rows) / (R @ st.w)
    hits = _mm(R, st.hit_w)
    support = _mm(R, st.true_w)
    with np.errstate(invalid="ignore", divide="ignore"):
        if st.positive is not None and metric in ("f1_score", "precision", "recall"):
            k = st.positive
            tp = hits[:, k]
            if metric == "recall":
                denom = support[:, k]
            elif metric == "precision":
                denom = _mm(R, st.pred_w)[:, k]
            else:
                tp, denom = 2 * tp, support[:, k] + _mm(R, st.pred_w)[:, k]
            return np.where(denom > 0, tp / np.where(denom > 0, denom, 1), 0.0)
        if metric == "f1_score":
            denom = support + _mm(R, st.pred_w)
            f1 = np.where(denom > 0, 2 * hits / np.where(denom > 0, denom, 1), np.nan)
            return _nanmean(f1)
        recall = np.where(support > 0, hits / np.where(support > 0, support, 1), np.nan)
    if metric == "balanced_accuracy":
        return _nanmean(recall)
    if metric == "rare_recall":
        return _nanmean(recall[:, st.rare])
    if metric == "worst_class_recall":
        masked = np.where(np.isnan(recall), np.inf, recall)
        out = masked.min(axis=1)
        return np.where(np.isinf(out), np.nan, out)
    raise ValueError(f"the bootstrap does not support metric {metric!r}")


def _nanmean(a: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(a)
    n = ok.sum(axis=1)
    s = np.where(ok, a, 0.0).sum(axis=1)
    return np.where(n > 0, s / np.where(n > 0, n, 1), np.nan)


def resample_counts(n: int, b: int, rng: np.random.Generator) -> np.ndarray:
    """``b`` bootstrap draws of ``n`` examples as multiplicities, (b, n) float64."""
    idx = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
    return np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(np.float64)


def bootstrap_scores(
    score: Callable[[int, int, np.ndarray], np.ndarray],
    *,
    num_strategies: int,
    num_seeds: int,
    num_examples: int,
    n_boot: int,
    seed: int,
    chunk: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """Point scores (S,) and paired bootstrap scores (S, n_boot) of every strategy.

    ``score(s, k, R)`` is strategy ``s``'s metric under seed ``k`` on the resamples ``R``
    (b, N). A resample draws examples and seeds with replacement, the same for every strategy;
    its score is the mean over the drawn seeds. The point score is the mean over seeds on the
    whole sample.
    """
    rng = np.random.default_rng(seed)
    S, K = num_strategies, num_seeds
    ones = np.ones((1, num_examples))
    with _one_blas_thread():
        point = np.array([np.mean([score(s, k, ones)[0] for k in range(K)]) for s in range(S)])
        boot = np.empty((S, n_boot))
        for start in range(0, n_boot, chunk):
            b = min(chunk, n_boot - start)
            R = resample_counts(num_examples, b, rng)
            if K > 1:
                draws = rng.integers(0, K, size=(b, K))
                Q = np.stack([(draws == k).sum(axis=1) for k in range(K)], axis=1) / K  # (b, K)
            else:
                Q = np.ones((b, 1))
            for s in range(S):
                per_seed = np.stack([score(s, k, R) for k in range(K)], axis=1)  # (b, K)
                boot[s, start : start + b] = (Q * per_seed).sum(axis=1)
    return point, boot


def _one_blas_thread() -> Any:
    """Small ``R @ S`` products run fastest on one BLAS thread (a pool's wake-ups cost ~10×
    the product on a busy machine); ``threadpoolctl`` (a scikit-learn dependency) sets it."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - without scikit-learn
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def p_value(d: np.ndarray) -> float:
    """Two-sided bootstrap p-value of ``d`` (B,) against 0: ``min(1, 2·min(P(d≤0), P(d≥0)))``
    with the ``(1 + count)/(B + 1)`` correction (Davison & Hinkley 1997, §4.4)."""
    d = d[~np.isnan(d)]
    if d.size == 0:
        return 1.0
    lo = (1 + np.count_nonzero(d <= 0)) / (d.size + 1)
    hi = (1 + np.count_nonzero(d >= 0)) / (d.size + 1)
    return float(min(1.0, 2 * min(lo, hi)))


def interval(d: np.ndarray, level: float = 0.95) -> list[float]:
    """The percentile interval of ``d`` (B,) at ``level``."""
    d = d[~np.isnan(d)]
    if d.size == 0:
        return [math.nan, math.nan]
    a = (1 - level) / 2
    lo, hi = np.quantile(d, [a, 1 - a])
    return [float(lo), float(hi)]


def holm(p: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down adjusted p-values and each hypothesis's step level ``α``-divisor.

    Returns ``(p_adjusted, divisor)``: hypothesis ``i`` at step ``j`` (0-based, by ascending
    p) is tested at ``α / (m − j)``; ``p̃_(j) = max_{i ≤ j} min(1, (m − i)·p_(i))``. Tied
    p-values share the first of their steps, so both outputs permute with the inputs.

    Example:
        >>> adj, div = holm([0.01, 0.04, 0.03])
        >>> [round(v, 2) for v in adj.tolist()], div.tolist()
        ([0.03, 0.06, 0.06], [3, 1, 2])
    """
    p_arr = np.asarray(p, dtype=np.float64)
    m = p_arr.size
    order = np.argsort(p_arr, kind="stable")
    ranked = p_arr[order]
    scaled = np.minimum(1.0, (m - np.arange(m)) * ranked)
    adj = np.empty(m)
    adj[order] = np.maximum.accumulate(scaled)
    # Tied p-values pass or fail the step-down together, at the step of the first of them (the
    # one their shared p̃ comes from): the input order of a tie must not choose their levels.
    div = np.empty(m, dtype=np.int64)
    div[order] = m - np.searchsorted(ranked, ranked, side="left")
    return adj, div
