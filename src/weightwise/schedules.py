"""Training schedules for class weights.

:class:`DeferredReweighting` is the deferred re-weighting (DRW) of Cao et al. (2019): train
with unit class weights first, then switch to class-balanced weights, so that representations
are learnt on the natural distribution and only the decision boundary is re-balanced.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["DeferredReweighting"]


class DeferredReweighting:
    r"""Deferred re-weighting: unit class weights before ``switch_epoch``, class-balanced after.

    ``class_weight(epoch)`` returns, for 0-based epochs,

    * ``epoch < switch_epoch``: all ones;
    * ``epoch >= switch_epoch``: the effective-number weights of Cui et al. (2019),
      ``w_c ∝ (1 - β) / (1 - β^{n_c})``, normalised to mean 1 over the classes
      (``weightwise.class_weights(counts=counts, scheme="effective", beta=beta,
      normalize="classes")``), as in Cao et al.'s code.

    Pass the result as ``class_weight=`` to any loss, e.g. :func:`weightwise.losses.ldam_loss`
    (LDAM-DRW). Cao et al. reduce with ``F.cross_entropy(weight=...)``, our
    ``reduction="weighted_mean"``; under our default ``"mean"`` the weights' scale matters, so
    the switch also changes the loss's scale.

    Args:
        counts: ``(C,)`` training class counts, finite and strictly positive.
        switch_epoch: the first re-weighted epoch (``>= 0``).
        beta: ``β`` in ``[0, 1)``.

    Reference:
        K. Cao, C. Wei, A. Gaidon, N. Arechiga, T. Ma. *Learning Imbalanced Datasets with
        Label-Distribution-Aware Margin Loss.* NeurIPS 2019.

    Example:
        >>> drw = DeferredReweighting([500, 50, 5], switch_epoch=160)
        >>> drw.class_weight(0)
        array([1., 1., 1.])
        >>> w = drw.class_weight(160)   # class-balanced, mean 1
    """

    def __init__(self, counts: Any, *, switch_epoch: int, beta: float = 0.9999) -> None:
        from ._checks import check_positive_vector

        self.counts = check_positive_vector(counts, "counts")
        if isinstance(switch_epoch, bool) or not isinstance(switch_epoch, (int, np.integer)):
            raise ValueError(f"switch_epoch must be an integer >= 0; got {switch_epoch!r}")
        if switch_epoch < 0:
            raise ValueError(f"switch_epoch must be an integer >= 0; got {switch_epoch!r}")
        try:
            beta_f = float(beta)
        except (TypeError, ValueError):
            raise ValueError(f"beta must be a number in [0, 1); got {beta!r}") from None
        if not 0.0 <= beta_f < 1.0:
            raise ValueError(f"beta must be in [0, 1); got {beta!r}")
        self.switch_epoch = int(switch_epoch)
        self.beta = beta_f
        from .weights import class_weights

        self._balanced = class_weights(
            counts=self.counts, scheme="effective", beta=self.beta, normalize="classes"
        )

    @property
    def num_classes(self) -> int:
        return int(self.counts.shape[0])

    def class_weight(self, epoch: int) -> np.ndarray:
        """The ``(C,)`` class weights (NumPy ``float64``) for the 0-based ``epoch``."""
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"epoch must be an integer >= 0; got {epoch!r}")
        if epoch < self.switch_epoch:
            return np.ones(self.num_classes, dtype=np.float64)
        return self._balanced.copy()

    __call__ = class_weight

    def __repr__(self) -> str:
        return (
            f"DeferredReweighting(num_classes={self.num_classes}, "
            f"switch_epoch={self.switch_epoch}, beta={self.beta})"
        )
