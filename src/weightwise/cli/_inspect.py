"""The numbers behind ``weightwise inspect``: class counts, imbalance and every scheme's weights.

Pure functions of the labels and sample weights; rendering lives in :mod:`._render`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["InspectReport", "SchemeSummary", "inspect_labels", "inspect_schemes"]

#: Shown when :mod:`weightwise.weights` does not publish ``SCHEMES``.
_FALLBACK_SCHEMES = ("balanced", "inverse", "inverse_sqrt", "effective", "median_frequency", "none")
#: ``power`` with its default exponent 1 repeats ``inverse``; ``inspect`` leaves it out.
_SKIPPED_SCHEMES = frozenset({"power"})


def inspect_schemes() -> tuple[str, ...]:
    """The class-weight schemes ``inspect`` reports, in the estimator's order.

    ``weightwise.weights.SCHEMES`` without ``power`` (which, at its default exponent 1, equals
    ``inverse``), or the six schemes of DESIGN.md if the estimator module publishes no list.
    """
    from weightwise import weights

    published = getattr(weights, "SCHEMES", None)
    names = tuple(str(s) for s in published) if published else _FALLBACK_SCHEMES
    return tuple(s for s in names if s not in _SKIPPED_SCHEMES)


@dataclass(frozen=True, eq=False)
class SchemeSummary:
    """One scheme's class weights and what they do to the loss.

    Attributes:
        name: the scheme, as passed to ``class_weights(scheme=...)``.
        class_weights: ``(K,)`` float64, normalised to ``Σ_c n_c·w_c = N`` (plain counts).
        loss_share: ``(K,)`` fraction of the total loss weight each class carries,
            ``Σ_{i: y_i = c} s_i·w_c / Σ_i s_i·w_{y_i}``; sums to 1.
        effective_sample_size: Kish ESS ``(Σ ω)² / Σ ω²`` of the per-sample weights
            ``ω_i = s_i·w_{y_i}``.
    """

    name: str
    class_weights: np.ndarray
    loss_share: np.ndarray
    effective_sample_size: float


@dataclass(frozen=True, eq=False)
class InspectReport:
    """Everything ``weightwise inspect`` shows.

    Attributes:
        class_names: ``K`` names; ``class_names[c]`` labels class ``c``.
        counts: ``(K,)`` int64 number of samples per class.
        weighted_counts: ``(K,)`` float64 ``Σ_{i: y_i = c} s_i``, or ``None`` without sample
            weights.
        imbalance_ratio: ``max(counts) / min(counts)`` over the plain counts.
        sample_weight_sum: ``Σ s_i`` (``N`` for unit weights).
        effective_sample_size: Kish ESS of the sample weights (``N`` for unit weights).
        schemes: one :class:`SchemeSummary` per scheme.
        balanced_effective_sample_size: Kish ESS of ``s_i·w_{y_i}`` under ``balanced``.
        beta: the ``β`` the ``effective`` scheme used.
    """

    class_names: tuple[str, ...]
    counts: np.ndarray
    weighted_counts: np.ndarray | None
    imbalance_ratio: float
    sample_weight_sum: float
    effective_sample_size: float
    schemes: tuple[SchemeSummary, ...]
    balanced_effective_sample_size: float
    beta: float

    @property
    def num_samples(self) -> int:
        """``N``, the number of samples (rows)."""
        return int(self.counts.sum())

    @property
    def num_classes(self) -> int:
        """``K``, the number of classes."""
        return len(self.class_names)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (lists and Python scalars only) of the report.

        Example:
            >>> import json, numpy as np
            >>> report = inspect_labels(np.array([0, 0, 0, 1]), class_names=["a", "b"])
            >>> json.loads(json.dumps(report.to_dict()))["counts"]
            [3, 1]
        """
        weighted = None if self.weighted_counts is None else self.weighted_counts.tolist()
        return {
            "num_samples": self.num_samples,
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "counts": self.counts.tolist(),
            "weighted_counts": weighted,
            "imbalance_ratio": self.imbalance_ratio,
            "sample_weight_sum": self.sample_weight_sum,
            "effective_sample_size": self.effective_sample_size,
            "balanced_effective_sample_size": self.balanced_effective_sample_size,
            "normalize": "samples",
            "beta": self.beta,
            "schemes": {
                s.name: {
                    "class_weights": s.class_weights.tolist(),
                    "loss_share": s.loss_share.tolist(),
                    "effective_sample_size": s.effective_sample_size,
                }
                for s in self.schemes
            },
        }


def inspect_labels(
    labels: np.ndarray,
    *,
    class_names: list[str] | tuple[str, ...],
    sample_weight: np.ndarray | None = None,
    schemes: tuple[str, ...] | None = None,
    beta: float = 0.999,
) -> InspectReport:
    """Summarise a labelled sample: counts, imbalance, ESS and every scheme's class weights.

    Class weights come from the plain counts
    (``class_weights(counts=n, scheme=..., normalize="samples")``), so ``Σ_c n_c·w_c = N``
    for every scheme. A user's sample weights ``s`` multiply in: sample ``i`` carries
    ``ω_i = s_i·w_{y_i}`` in the loss, class ``c``'s share of the total loss weight is
    ``Σ_{i: y_i = c} ω_i / Σ_i ω_i``, and the ESS of each scheme is the Kish ESS of ``ω``.

    Args:
        labels: ``(N,)`` integer class indices in ``[0, K)``, ``K = len(class_names)``; every
            class must occur.
        class_names: ``K`` names.
        sample_weight: ``(N,)`` non-negative finite weights, or ``None`` for unit weights.
        schemes: the schemes to report; default :func:`inspect_schemes`.
        beta: ``β`` of the ``effective`` scheme.

    Returns:
        An :class:`InspectReport`.

    Example:
        >>> import numpy as np
        >>> report = inspect_labels(np.array([0, 0, 0, 1]), class_names=["a", "b"])
        >>> report.imbalance_ratio
        3.0
    """
    from weightwise.weights import class_weights, effective_sample_size

    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    num_classes = len(class_names)
    counts = np.bincount(y, minlength=num_classes).astype(np.int64)
    if counts.size != num_classes:
        raise ValueError(
            f"labels reach {counts.size - 1}, but only {num_classes} classes are named"
        )
    s = np.ones(y.shape, dtype=np.float64) if sample_weight is None else np.asarray(sample_weight)
    s = s.astype(np.float64).reshape(-1)
    if s.shape != y.shape:
        raise ValueError(f"sample_weight has shape {s.shape}, labels have shape {y.shape}")

    def summarize(name: str) -> SchemeSummary:
        w = np.asarray(
            class_weights(counts=counts, scheme=name, beta=beta, normalize="samples"),
            dtype=np.float64,
        )
        per_sample = s * w[y]
        mass = np.bincount(y, weights=per_sample, minlength=num_classes)
        total = float(mass.sum())
        share = mass / total if total > 0 else np.zeros(num_classes)
        return SchemeSummary(name, w, share, float(effective_sample_size(per_sample)))

    names = inspect_schemes() if schemes is None else tuple(schemes)
    summaries = tuple(summarize(name) for name in names)
    balanced = next((x for x in summaries if x.name == "balanced"), None) or summarize("balanced")
    return InspectReport(
        class_names=tuple(class_names),
        counts=counts,
        weighted_counts=(
            None
            if sample_weight is None
            else np.bincount(y, weights=s, minlength=num_classes).astype(np.float64)
        ),
        imbalance_ratio=float(counts.max() / counts.min()) if counts.min() > 0 else float("inf"),
        sample_weight_sum=float(s.sum()),
        effective_sample_size=float(effective_sample_size(s)),
        schemes=summaries,
        balanced_effective_sample_size=balanced.effective_sample_size,
        beta=float(beta),
    )
