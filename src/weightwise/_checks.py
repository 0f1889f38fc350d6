"""Input validation with scikit-learn-style messages, in one place.

Every message names the argument, the position and the offending value, e.g.
``sample_weight must be finite and non-negative; got -1.0 at index 3``.

Checks come in two kinds:

* **shape checks** always run: they read only metadata and never synchronise a device;
* **value checks** (finite, sign, range, soft-target sums) read tensor values, which forces a
  host/device synchronisation on GPU. :func:`set_checks` turns these off globally for hot loops.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

__all__ = [
    "as_float64_array",
    "check_class_vector",
    "check_finite_nonnegative",
    "check_in_range",
    "check_soft_target",
    "checks_enabled",
    "format_index",
    "no_checks",
    "set_checks",
]

_CHECKS_ENABLED = True


def set_checks(enabled: bool) -> None:
    """Turn the value checks on or off globally.

    Value checks (finite and non-negative weights, targets in range, soft targets summing to 1)
    read tensor values and therefore force a device synchronisation on GPU. Shape checks always
    run. Checks are on by default.

    Example:
        >>> import weightwise
        >>> weightwise.set_checks(False)  # hot training loop on GPU
        >>> weightwise.set_checks(True)
    """
    global _CHECKS_ENABLED
    _CHECKS_ENABLED = bool(enabled)


def checks_enabled() -> bool:
    """Whether value checks are on (see :func:`set_checks`)."""
    return _CHECKS_ENABLED


@contextmanager
def no_checks() -> Iterator[None]:
    """Context manager that turns value checks off inside its block."""
    previous = _CHECKS_ENABLED
    set_checks(False)
    try:
        yield
    finally:
        set_checks(previous)


def format_index(flat_index: int, shape: Sequence[int]) -> str:
    """``index 3`` for 1-D inputs, ``index (1, 2)`` for N-D inputs."""
    if len(shape) <= 1:
        return f"index {flat_index}"
    idx = np.unravel_index(flat_index, tuple(shape))
    return "index (" + ", ".join(str(int(i)) for i in idx) + ")"


def _first_bad(mask: torch.Tensor | np.ndarray) -> int | None:
    if isinstance(mask, torch.Tensor):
        flat = mask.reshape(-1)
        if not bool(flat.any()):
            return None
        return int(torch.nonzero(flat)[0, 0])
    flat_np = np.asarray(mask).reshape(-1)
    hits = np.flatnonzero(flat_np)
    return int(hits[0]) if hits.size else None


def _value_at(x: torch.Tensor | np.ndarray, flat_index: int) -> Any:
    if isinstance(x, torch.Tensor):
        return x.reshape(-1)[flat_index].item()
    return np.asarray(x).reshape(-1)[flat_index].item()


def check_finite_nonnegative(
    x: torch.Tensor | np.ndarray, name: str, *, force: bool = False
) -> None:
    """Raise ``ValueError`` when ``x`` holds a NaN, an inf or a negative value.

    Skipped when value checks are off, unless ``force`` is true (estimators, which run once on
    the host, always check).
    """
    if not (force or _CHECKS_ENABLED):
        return
    bad: torch.Tensor | np.ndarray
    if isinstance(x, torch.Tensor):
        if x.numel() == 0:
            return
        # Fast path: one aminmax and one host sync (a NaN propagates into both, so `lo >= 0`
        # fails; +inf makes `hi` infinite); the elementwise mask is only built to report the
        # first bad position.
        if x.is_floating_point():
            lo, hi = torch.aminmax(x)
            if bool((lo >= 0) & (hi < float("inf"))):
                return
            bad = ~torch.isfinite(x) | (x < 0)
        else:
            if bool(x.min() >= 0):
                return
            bad = x < 0
    else:
        arr = np.asarray(x)
        bad = ~np.isfinite(arr) | (arr < 0) if arr.dtype.kind == "f" else arr < 0
    pos = _first_bad(bad)
    if pos is not None:
        raise ValueError(
            f"{name} must be finite and non-negative; got {_value_at(x, pos)!r} at "
            f"{format_index(pos, tuple(x.shape))}"
        )


def check_in_range(
    target: torch.Tensor,
    num_classes: int,
    *,
    name: str = "target",
    ignore_index: int | None = None,
) -> None:
    """Raise ``ValueError`` when an integer target lies outside ``[0, num_classes)``.

    Elements equal to ``ignore_index`` are allowed.
    """
    if not _CHECKS_ENABLED:
        return
    if target.numel() == 0:
        return
    lo, hi = torch.aminmax(target)
    if bool((lo >= 0) & (hi < num_classes)):
        return
    bad = (target < 0) | (target >= num_classes)
    if ignore_index is not None:
        bad &= target != ignore_index
    pos = _first_bad(bad)
    if pos is not None:
        allowed = f"[0, {num_classes})"
        if ignore_index is not None:
            allowed += f" or ignore_index={ignore_index}"
        raise ValueError(
            f"{name} must be in {allowed}; got {_value_at(target, pos)!r} at "
            f"{format_index(pos, tuple(target.shape))}"
        )


def check_soft_target(target: torch.Tensor, *, class_dim: int = 1, name: str = "target") -> None:
    """Soft targets: non-negative, and each distribution sums to 1 within 1e-4."""
    if not _CHECKS_ENABLED:
        return
    check_finite_nonnegative(target, name)
    sums = target.sum(dim=class_dim)
    bad = (sums - 1).abs() > 1e-4
    pos = _first_bad(bad)
    if pos is not None:
        raise ValueError(
            f"{name} holds probabilities (soft targets) that must sum to 1 along dim "
            f"{class_dim}; got a sum of {_value_at(sums, pos)!r} at "
            f"{format_index(pos, tuple(sums.shape))}"
        )


def check_class_vector(
    x: torch.Tensor,
    num_classes: int,
    *,
    name: str,
    per: str = "class",
) -> torch.Tensor:
    """A per-class vector: shape ``(C,)`` with finite, non-negative values."""
    if x.dim() != 1 or x.shape[0] != num_classes:
        raise ValueError(
            f"{name} must have shape ({num_classes},), one value per {per}; "
            f"got shape {tuple(x.shape)}"
        )
    check_finite_nonnegative(x, name)
    return x


def as_float64_array(x: Any, name: str) -> np.ndarray:
    """Convert lists, NumPy, torch or pandas input to a float64 NumPy array."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    elif hasattr(x, "to_numpy"):
        x = x.to_numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric; got {type(x).__name__}: {err}") from None
    return arr
