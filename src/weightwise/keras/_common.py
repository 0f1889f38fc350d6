"""Shared pieces of the Keras losses: weight broadcasting, value checks and the reductions.

Everything here is written with ``keras.ops`` so that it runs on every Keras 3 backend. Value
checks (finite and non-negative weights, targets in range, probabilities in ``[0, 1]``) run only
while :func:`weightwise.set_checks` is on *and* the tensors are concrete: inside a traced
function (JAX ``jit``, a TensorFlow graph) the values are unknown and the checks are skipped.
Shape checks always run, since Keras shapes are static.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import keras
from keras import ops

from .._checks import checks_enabled, format_index
from ..reduction import REDUCTIONS

__all__ = [
    "broadcast_weight",
    "check_reduction",
    "class_vector",
    "reduce",
    "validate_class_weight",
]


def check_reduction(reduction: Any) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"reduction must be one of {', '.join(map(repr, REDUCTIONS))}; got {reduction!r}"
        )
    return str(reduction)


def shape_of(x: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in x.shape)


def to_numpy(x: Any) -> np.ndarray:
    """A concrete tensor's values (raises for a traced one)."""
    if hasattr(x, "detach"):  # torch: skip Keras' generic path, which warns per call
        return np.asarray(x.detach().cpu().numpy())
    return np.asarray(ops.convert_to_numpy(x))


def _concrete_flag(flag: Any) -> bool | None:
    """``bool(flag)`` for a concrete tensor; ``None`` when it is traced (values unknown)."""
    try:
        return bool(to_numpy(flag).any())
    except Exception:
        return None


def check_values(x: Any, bad: Any, message: str) -> None:
    """Raise ``ValueError(message + value and position)`` where the boolean mask ``bad`` holds.

    Skipped while value checks are off or when ``x`` is traced.
    """
    if not checks_enabled():
        return
    if _concrete_flag(ops.any(bad)) is not True:
        return
    arr = to_numpy(x)
    mask = to_numpy(bad).reshape(-1)
    pos = int(np.flatnonzero(mask)[0])
    raise ValueError(
        f"{message}; got {arr.reshape(-1)[pos].item()!r} at {format_index(pos, arr.shape)}"
    )


def check_finite_nonnegative(x: Any, name: str) -> None:
    x = ops.convert_to_tensor(x)
    check_values(
        x,
        ops.logical_not(ops.isfinite(x)) | (x < 0),
        f"{name} must be finite and non-negative",
    )


def broadcast_weight(
    weight: Any,
    grid: tuple[int, ...],
    *,
    dtype: str,
    name: str = "sample_weight",
    class_axis: bool = False,
) -> Any:
    """Broadcast a weight onto a channels-last element grid by left-aligned broadcasting.

    The rules are those of :func:`weightwise.reduction.broadcast_weight`: a scalar, or a leading
    prefix of the grid with exact sizes; no size-1 broadcasting. With ``class_axis=True`` the
    grid is ``(N, d..., C)`` with the label axis *last* (Keras' channels-last layout), and four
    shapes are accepted: ``(N,)``, ``(N, C)`` per sample and label, ``(N, d...)`` per pixel and
    the full grid. When ``(N, C)`` and ``(N, d...)`` coincide the weight is refused.
    """
    w = ops.cast(ops.convert_to_tensor(weight), dtype)
    check_finite_nonnegative(w, name)
    wshape = shape_of(w)
    nd = len(grid)
    if not wshape:
        return ops.broadcast_to(w, grid)
    if class_axis and nd >= 3:
        n, c, spatial = grid[0], grid[-1], grid[1:-1]
        per_label = (n, c)
        per_pixel = (n, *spatial)
        if wshape == per_label and wshape == per_pixel:
            raise ValueError(
                f"{name} of shape {wshape} is ambiguous against the element grid {grid}: it "
                f"could weight each (sample, label) pair or each pixel; pass the full grid "
                f"{grid} instead"
            )
        if wshape == per_label:
            return ops.broadcast_to(ops.reshape(w, (n,) + (1,) * (nd - 2) + (c,)), grid)
        if wshape in ((n,), per_pixel, grid):
            return ops.broadcast_to(ops.reshape(w, wshape + (1,) * (nd - len(wshape))), grid)
        raise ValueError(
            f"{name} of shape {wshape} does not fit the element grid {grid}: expected a "
            f"scalar, ({n},) per sample, {per_label} per sample and label, {per_pixel} per "
            f"pixel, or the full grid {grid}"
        )
    if len(wshape) <= nd and wshape == grid[: len(wshape)]:
        return ops.broadcast_to(ops.reshape(w, wshape + (1,) * (nd - len(wshape))), grid)
    expected = f"({grid[0]},)" if nd else "a scalar"
    raise ValueError(
        f"{name} of shape {wshape} does not fit the element grid {grid}: a weight must be a "
        f"scalar or match the leading dimensions of the grid exactly (e.g. {expected}); there "
        f"is no size-1 broadcasting"
    )


def validate_class_weight(class_weight: Any, name: str = "class_weight") -> Any:
    """Check a ``{class: weight}`` dict or a per-class sequence at construction time.

    Returns a dict with ``int`` keys and ``float`` values, or a float64 NumPy vector.
    """
    if class_weight is None:
        return None
    if isinstance(class_weight, Mapping):
        from ..weights._common import class_weight_vector

        values, defined = class_weight_vector(class_weight)
        return {int(k): float(values[k]) for k in np.flatnonzero(defined)}
    raw = class_weight if isinstance(class_weight, Sequence) else to_numpy(class_weight)
    arr = np.asarray(raw, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a dict or a vector (C,); got shape {arr.shape}")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be finite and non-negative; got {arr[pos]!r} at index {pos}")
    return arr


def class_vector(
    class_weight: Any, num_classes: int, *, name: str = "class_weight", per: str = "class"
) -> np.ndarray:
    """A validated class weight as a float32 ``(C,)`` vector.

    A dict must give every class in ``[0, C)`` a weight, as the estimators and the dense maps
    require (no silent default).
    """
    if isinstance(class_weight, dict):
        missing = [k for k in range(num_classes) if k not in class_weight]
        if missing:
            raise ValueError(
                f"{name} has no entry for {per} {missing[0]} (the predictions have "
                f"{num_classes} {per}es); give every {per} a weight"
            )
        vec = np.ones(num_classes, dtype=np.float32)
        for key, value in class_weight.items():
            if key >= num_classes:
                raise ValueError(
                    f"{name} has a class outside [0, {num_classes}): {key} (the predictions "
                    f"have {num_classes} {per}es)"
                    if per == "class"
                    else f"{name} has a {per} outside [0, {num_classes}): {key}"
                )
            vec[key] = value
        return vec
    arr = np.asarray(class_weight, dtype=np.float32)
    if arr.shape != (num_classes,):
        raise ValueError(
            f"{name} must have shape ({num_classes},), one value per {per}; got shape {arr.shape}"
        )
    return arr


def reduce(values: Any, omega: Any, count: Any, reduction: str) -> Any:
    """The reductions of :mod:`weightwise.reduction` on already-weighted values ``ω·L``.

    ``omega`` is ``ω`` on the grid (``None`` for unit weights); ``count`` is ``N``, the number
    of counted (non-ignored) elements, a Python int or a scalar tensor. A zero denominator
    gives exactly 0 (the numerator is then 0 too), never NaN.
    """
    if reduction == "none":
        return values
    total = ops.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean" or omega is None:
        denom = count
    elif reduction == "weighted_mean":
        denom = ops.sum(omega)
    else:  # nonzero_mean
        denom = ops.sum(ops.cast(ops.not_equal(omega, 0), total.dtype))
    denom = ops.cast(denom, total.dtype)
    safe = ops.where(denom > 0, denom, ops.ones_like(denom))
    return total / safe


def floatx() -> str:
    return str(keras.config.floatx())
