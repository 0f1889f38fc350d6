"""Shared pieces of the Keras losses: weight broadcasting, value checks and the reductions.

The rules (weight shapes, each reduction's denominator, class-weight dicts) are those of
:mod:`weightwise._contract`, shared with the torch side; this module only computes them with
``keras.ops``.

Everything here is written with ``keras.ops`` so that it runs on every Keras 3 backend. Value
checks (finite and non-negative weights, targets in range, probabilities in ``[0, 1]``) run only
while :func:`weightwise.set_checks` is on *and* the tensors are concrete: inside a traced
function (JAX ``jit``, a TensorFlow graph) the values are unknown and the checks are skipped.
Shape checks always run on the static shapes. A dimension that is unknown while tracing (the
batch axis of a TensorFlow graph built from a ``tf.data.Dataset`` is ``None``) is taken to match
and is read at run time with ``keras.ops.shape``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import keras
from keras import ops

from .._checks import checks_enabled, format_index
from .._contract import (
    check_reduction,
    class_weight_table,
    class_weight_vector,
    denominator_kind,
    weight_view_shape,
)

__all__ = [
    "broadcast_weight",
    "check_reduction",
    "class_vector",
    "dims",
    "numel",
    "reduce",
    "shape_of",
    "validate_class_weight",
]


def shape_of(x: Any) -> tuple[Any, ...]:
    """The static shape: ``int`` per known dimension, ``None`` where it is unknown (traced)."""
    return tuple(None if d is None else int(d) for d in x.shape)


def dims(x: Any) -> tuple[Any, ...]:
    """The shape to compute with: ``int`` where known, a scalar tensor where not (TensorFlow)."""
    return tuple(ops.shape(x))


def numel(x: Any) -> Any:
    """The number of elements: a Python int when the shape is static, else a scalar tensor."""
    static = shape_of(x)
    if None not in static:
        return math.prod(static)
    total: Any = 1
    for d in dims(x):
        total = total * d
    return total


# Unknown dimensions stand in as distinct negative sizes for the contract's (static) shape rules.
_UNKNOWN = -1_000_000_000


def _known(shape: Sequence[Any], other: Sequence[Any]) -> tuple[int, ...]:
    """``shape`` with each ``None`` replaced by ``other``'s size there when known (a traced
    dimension is taken to match), else by a placeholder unique to its position."""
    out = []
    for i, d in enumerate(shape):
        if d is not None:
            out.append(int(d))
        elif i < len(other) and other[i] is not None and other[i] != 1:  # no size-1 broadcast
            out.append(int(other[i]))
        else:
            out.append(_UNKNOWN - i)
    return tuple(out)


def _unknown_as_none(message: str) -> str:
    return re.sub(r"-100000\d{4}", "None", message)


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
    grid: tuple[Any, ...],
    *,
    dtype: str,
    name: str = "sample_weight",
    class_axis: bool = False,
    dynamic: tuple[Any, ...] | None = None,
) -> Any:
    """Broadcast a weight onto a channels-last element grid by left-aligned broadcasting.

    The rules are those of :func:`weightwise.reduction.broadcast_weight`: a scalar, or a leading
    prefix of the grid with exact sizes; no size-1 broadcasting. With ``class_axis=True`` the
    grid is ``(N, d..., C)`` with the label axis *last* (Keras' channels-last layout), and four
    shapes are accepted: ``(N,)``, ``(N, C)`` per sample and label, ``(N, d...)`` per pixel and
    the full grid. When ``(N, C)`` and ``(N, d...)`` coincide the weight is refused.

    ``grid`` is the static grid (``None`` for a dimension unknown while tracing); ``dynamic``
    gives its sizes at run time (:func:`dims` of a tensor on the grid) and is needed only when
    ``grid`` has an unknown dimension.
    """
    w = ops.cast(ops.convert_to_tensor(weight), dtype)
    check_finite_nonnegative(w, name)
    wshape = shape_of(w)
    if None not in grid and None not in wshape:
        view = weight_view_shape(wshape, grid, name=name, class_axis=class_axis, label_axis=-1)
        return ops.broadcast_to(ops.reshape(w, view), grid)
    if dynamic is None:
        raise ValueError(f"the element grid {grid} has an unknown dimension; pass its sizes")
    g = _known(grid, wshape)
    try:
        view = weight_view_shape(
            _known(wshape, g), g, name=name, class_axis=class_axis, label_axis=-1
        )
    except ValueError as err:
        raise ValueError(_unknown_as_none(str(err))) from None
    # Each entry of the view is 1 (an inserted axis) or the grid's size there.
    target = tuple(1 if v == 1 else dynamic[i] for i, v in enumerate(view))
    return ops.broadcast_to(ops.reshape(w, target), tuple(dynamic))


def validate_class_weight(class_weight: Any, name: str = "class_weight") -> Any:
    """Check a ``{class: weight}`` dict or a per-class sequence at construction time.

    Returns a dict with ``int`` keys and ``float`` values, or a float64 NumPy vector.
    """
    if class_weight is None:
        return None
    raw = class_weight if isinstance(class_weight, (Mapping, Sequence)) else to_numpy(class_weight)
    values, defined = class_weight_vector(raw)
    if isinstance(class_weight, Mapping):
        return {int(k): float(values[k]) for k in np.flatnonzero(defined)}
    return values


def class_vector(
    class_weight: Any, num_classes: int, *, name: str = "class_weight", per: str = "class"
) -> np.ndarray:
    """A validated class weight as a float32 ``(C,)`` vector.

    A dict must give every class in ``[0, C)`` a weight, as the estimators and the dense maps
    require (no silent default).
    """
    return class_weight_table(class_weight, num_classes, name=name, per=per).astype(np.float32)


def reduce(values: Any, omega: Any, count: Any, reduction: str) -> Any:
    """The reductions of :mod:`weightwise.reduction` on already-weighted values ``ω·L``.

    ``omega`` is ``ω`` on the grid (``None`` for unit weights); ``count`` is ``N``, the number
    of counted (non-ignored) elements, a Python int or a scalar tensor. A zero denominator
    gives exactly 0 (the numerator is then 0 too), never NaN.
    """
    if reduction == "none":
        return values
    total = ops.sum(values)
    kind = denominator_kind(reduction, weighted=omega is not None)
    if kind == "one":
        return total
    if kind == "count":
        denom = count
    elif kind == "weight_sum":
        denom = ops.sum(omega)
    else:  # nonzero
        denom = ops.sum(ops.cast(ops.not_equal(omega, 0), total.dtype))
    denom = ops.cast(denom, total.dtype)
    # A zero denominator means every ω·L is 0: divide by 1 (exactly 0, never NaN).
    safe = ops.where(denom > 0, denom, ops.ones_like(denom))
    return total / safe


def floatx() -> str:
    return str(keras.config.floatx())
