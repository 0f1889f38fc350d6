"""Decisions after training: correcting the scores of a model trained on imbalanced data.

This module is meant to grow (prior correction, temperature scaling, thresholds, cost-sensitive
decisions). Each function is pure and takes ``torch`` tensors or NumPy arrays, returning the
same type.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import torch

from ._decision_rules import bayes_decision, best_threshold, fit_temperature, prior_correction

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
    from ._checks import check_nonnegative_real, check_positive_vector

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
