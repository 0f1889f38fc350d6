"""Input helpers shared by the class-weight estimators and the sample-weight builders.

Every message names the argument, the position and the offending value, in the style of
:mod:`weightwise._checks`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import (
    as_float64_array,
    check_choice,
    check_finite_nonnegative,
    check_positive_int,
    check_real,
    format_index,
    to_numpy,
)

__all__ = [
    "as_label_array",
    "as_weight_array",
    "check_choice",
    "check_positive_int",
    "check_real",
    "to_numpy",
]


def _first(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def _is_integral(v: Any) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return True
    if isinstance(v, (int, np.integer)):
        return True
    if isinstance(v, (float, np.floating)):
        return math.isfinite(v) and float(v).is_integer()
    return False


def as_label_array(y: Any, name: str, *, num_classes: int | None = None) -> np.ndarray:
    """Integer class indices as an ``int64`` array of ``y``'s shape.

    Accepts integer or boolean arrays, and float arrays whose values are whole numbers. Values
    must be ``>= 0``, and ``< num_classes`` when it is given. The error names ``name``, the
    position and the value, e.g. ``y must hold integer class indices in [0, 3); got 5 at
    index 7``.
    """
    arr = to_numpy(y)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be an array of class indices; got the scalar {arr.item()!r}")
    expect = (
        f"integer class indices in [0, {num_classes})"
        if num_classes is not None
        else "integer class indices >= 0"
    )
    kind = arr.dtype.kind
    if kind == "b":
        arr = arr.astype(np.int64)
    elif kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.floor(arr))
        pos = _first(bad)
        if pos is not None:
            raise ValueError(
                f"{name} must hold {expect}; got {arr.reshape(-1)[pos].item()!r} at "
                f"{format_index(pos, arr.shape)}"
            )
    elif kind not in "iu":
        # object / string arrays: find the first element that is not a whole number
        flat = arr.reshape(-1)
        for pos, v in enumerate(flat):
            if not _is_integral(v):
                hint = (
                    " (encode string labels as integers first, e.g. with np.unique(..., "
                    "return_inverse=True))"
                    if isinstance(v, (str, bytes))
                    else ""
                )
                raise ValueError(
                    f"{name} must hold {expect}; got {v!r} at {format_index(pos, arr.shape)}{hint}"
                )
        arr = np.array([int(v) for v in flat], dtype=object).reshape(arr.shape)
    bad = arr < 0
    if num_classes is not None:
        bad = bad | (arr >= num_classes)
    pos = _first(np.asarray(bad, dtype=bool))
    if pos is not None:
        raise ValueError(
            f"{name} must hold {expect}; got {_py(arr.reshape(-1)[pos])!r} at "
            f"{format_index(pos, arr.shape)}"
        )
    return arr.astype(np.int64)


def _py(v: Any) -> Any:
    """A plain Python scalar, so messages read ``5`` rather than ``np.int64(5)``."""
    return v.item() if isinstance(v, np.generic) else v


def as_weight_array(x: Any, name: str) -> np.ndarray:
    """Finite, non-negative weights as a float64 array (a fresh copy)."""
    arr = np.array(as_float64_array(x, name), dtype=np.float64, copy=True)
    check_finite_nonnegative(arr, name, force=True)
    return arr
