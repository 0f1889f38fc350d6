"""Input handling shared by the losses: weight vectors, per-label alignment, binary targets."""

from __future__ import annotations

from typing import Any

import torch

from .._checks import (
    DTypeError,
    as_tensor,
    check_class_vector,
    check_finite_nonnegative,
    check_float_logits,
    check_not_meta,
    check_unit_interval,
)

__all__ = ["align_per_label", "check_binary_pair"]


def align_per_label(x: Any, logits: torch.Tensor, *, name: str) -> torch.Tensor:
    """A scalar, or a ``(C,)`` vector aligned with dim 1 of ``(N, C, d...)`` (finite, ``>= 0``).

    PyTorch's ``pos_weight`` aligns with the last dim instead (pytorch#27936).
    """
    t = as_tensor(x, like=logits, name=name)
    if t.dim() == 0:
        check_finite_nonnegative(t, name)
        return t
    if logits.dim() < 2:
        if t.numel() == 1 and t.dim() == 1:
            check_finite_nonnegative(t, name)
            return t.reshape(())
        raise ValueError(
            f"{name} must be a scalar for logits of shape {tuple(logits.shape)} (no label "
            f"axis); got shape {tuple(t.shape)}"
        )
    check_class_vector(t, logits.shape[1], name=name, per="label (dim 1 of logits)")
    shape = [1] * logits.dim()
    shape[1] = logits.shape[1]
    return t.reshape(shape)


def check_binary_pair(logits: Any, target: Any) -> torch.Tensor:
    """Validate binary / multi-label logits and targets; return the target as the logits' dtype.

    ``logits``: a floating tensor with at least one dim; ``target``: the same shape, real, in
    ``[0, 1]`` (soft targets allowed). A wrong dtype raises :class:`DTypeError`.
    """
    check_float_logits(logits)
    if logits.dim() < 1:
        raise ValueError("logits must have at least one dimension (N, ...); got a scalar")
    t = target if isinstance(target, torch.Tensor) else torch.as_tensor(target)
    if t.is_complex():
        raise DTypeError(f"target must be real; got dtype {t.dtype}")
    if tuple(t.shape) != tuple(logits.shape):
        raise ValueError(
            f"target must have the logits' shape {tuple(logits.shape)}; got {tuple(t.shape)}"
        )
    check_not_meta(t, "target", logits)
    t = t.to(device=logits.device, dtype=logits.dtype)
    check_unit_interval(t, "target")
    return t
