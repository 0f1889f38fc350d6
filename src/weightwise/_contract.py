"""The weighting contract's rules, backend-neutral: written once, used by torch and Keras.

This module is pure Python and NumPy. It decides *what* to compute; :mod:`weightwise.reduction`
(torch) and :mod:`weightwise.keras` (``keras.ops``, every backend) compute it with their own
tensors. A rule and its error message therefore exist once. The rules (see
``docs/semantics.md`` for the worked example):

* **Weight shapes** (:func:`weight_view_shape`): a weight is a scalar or a leading prefix of the
  element grid with exact sizes; there is no size-1 broadcasting, so ``(N, 1)`` against ``(N,)``
  is refused rather than turned into ``(N, N)``. A grid with a class or label axis accepts
  ``(N,)``, ``(N, C)`` per sample and label, ``(N, d…)`` per pixel and the full grid; when the
  last two coincide the weight is ambiguous and refused.
* **Reductions** (:func:`denominator_kind`): ``loss = Σ ω·L / D`` with ``D`` = 1 (``"sum"``),
  the count ``N`` of counted elements (``"mean"``, and every mean without weights), ``Σ ω``
  (``"weighted_mean"``) or ``#{ω ≠ 0}`` (``"nonzero_mean"``); a denominator the caller gives
  (a whole accumulation window's) replaces ``D`` for every mean. A zero ``D`` is replaced by 1: the
  numerator is then 0 as well, so the loss is exactly 0 with zero gradient, never NaN.
* **Class-weight dicts** (:func:`class_weight_vector`, :func:`class_weight_table`): Keras'
  ``{class: weight}`` form, integer keys ``>= 0``, finite non-negative values; a class the
  predictions have but the dict lacks is an error, never a silent weight of 1.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

__all__ = [
    "REDUCTIONS",
    "DenominatorKind",
    "Reduction",
    "check_reduction",
    "class_weight_table",
    "class_weight_vector",
    "denominator_kind",
    "weight_view_shape",
]

Reduction = Literal["mean", "weighted_mean", "nonzero_mean", "sum", "none"]
REDUCTIONS: tuple[str, ...] = ("mean", "weighted_mean", "nonzero_mean", "sum", "none")

#: What a reduction divides by: ``"one"`` (sum), ``"count"`` (N), ``"weight_sum"`` (Σ ω),
#: ``"nonzero"`` (#{ω ≠ 0}) or ``"given"`` (a caller's denominator).
DenominatorKind = Literal["one", "count", "weight_sum", "nonzero", "given"]


def check_reduction(reduction: Any) -> str:
    """Return ``reduction`` if it is one of :data:`REDUCTIONS`, else a ``ValueError``."""
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"reduction must be one of {', '.join(map(repr, REDUCTIONS))}; got {reduction!r}"
        )
    return str(reduction)


def denominator_kind(reduction: str, *, weighted: bool, given: bool = False) -> DenominatorKind:
    """The denominator ``D`` of ``loss = Σ ω·L / D`` for a reduction other than ``"none"``.

    Args:
        reduction: one of :data:`REDUCTIONS` except ``"none"``.
        weighted: whether element weights ``ω`` exist (``False``: unit weights, every mean is
            ``Σ L / N``).
        given: whether the caller passes its own denominator (a whole gradient-accumulation
            window's, say); it replaces ``D`` for every mean.

    Example:
        >>> denominator_kind("weighted_mean", weighted=True)
        'weight_sum'
        >>> denominator_kind("nonzero_mean", weighted=False)
        'count'
    """
    check_reduction(reduction)
    if reduction == "none":
        raise ValueError("reduction='none' has no reduction factor")
    if reduction == "sum":
        return "one"
    if given:  # a caller's denominator (e.g. a whole accumulation window's) replaces D
        return "given"
    if reduction == "mean":
        return "count"
    if not weighted:
        return "count"
    return "weight_sum" if reduction == "weighted_mean" else "nonzero"


def weight_view_shape(
    wshape: Sequence[int],
    grid: Sequence[int],
    *,
    name: str = "sample_weight",
    class_axis: bool = False,
    label_axis: int = 1,
) -> tuple[int, ...]:
    """The shape to reshape a weight of shape ``wshape`` to before expanding it onto ``grid``.

    The result has ``len(grid)`` dims, each equal to the grid's or 1 (a scalar gives ``()``).

    Args:
        wshape: the weight's shape.
        grid: the element grid's shape.
        name: the argument's name, for error messages.
        class_axis: whether the grid has a class or label axis (four shapes accepted, see the
            module docstring); only for grids of 3 or more dims.
        label_axis: where that axis is: 1 for torch's ``(N, C, d…)``, -1 for Keras'
            channels-last ``(N, d…, C)``.

    Raises:
        ValueError: naming both shapes when the weight does not fit the grid.

    Example:
        >>> weight_view_shape((2,), (2, 3, 4))
        (2, 1, 1)
        >>> weight_view_shape((2, 4, 5), (2, 3, 4, 5), class_axis=True)
        (2, 1, 4, 5)
    """
    wshape = tuple(int(s) for s in wshape)
    shape = tuple(int(s) for s in grid)
    nd = len(shape)
    if not wshape:
        return ()
    if wshape == shape:  # the full grid: nothing to broadcast
        return wshape
    if class_axis and nd >= 3:
        axis = label_axis % nd
        n, c = shape[0], shape[axis]
        spatial = tuple(s for i, s in enumerate(shape) if i not in (0, axis))
        per_label = (n, c)
        per_pixel = (n, *spatial)
        if wshape == per_label and wshape == per_pixel:
            raise ValueError(
                f"{name} of shape {wshape} is ambiguous against the element grid {shape}: it "
                f"could weight each (sample, label) pair or each pixel; pass the full grid "
                f"{shape} instead"
            )
        if wshape == (n,):
            return (n,) + (1,) * (nd - 1)
        if wshape == per_label:
            return tuple(n if i == 0 else c if i == axis else 1 for i in range(nd))
        if wshape == per_pixel:
            return tuple(1 if i == axis else s for i, s in enumerate(shape))
        raise ValueError(
            f"{name} of shape {wshape} does not fit the element grid {shape}: expected a "
            f"scalar, ({n},) per sample, {per_label} per sample and label, {per_pixel} per "
            f"pixel, or the full grid {shape}"
        )
    if len(wshape) <= nd and wshape == shape[: len(wshape)]:
        return wshape + (1,) * (nd - len(wshape))
    expected = f"({shape[0]},)" if nd else "a scalar"
    raise ValueError(
        f"{name} of shape {wshape} does not fit the element grid {shape}: a weight must be a "
        f"scalar or match the leading dimensions of the grid exactly (e.g. {expected}); there "
        f"is no size-1 broadcasting"
    )


def class_weight_vector(class_weight: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(values, defined)``: a float64 vector and which classes have a weight.

    ``class_weight`` is a ``(C,)`` array-like (every class defined) or a ``{class: weight}``
    dict (Keras' ``class_weight``): integer keys ``>= 0``, finite non-negative values. The one
    parser of both forms, shared by the estimators, the dense maps and the Keras adapter.

    Example:
        >>> values, defined = class_weight_vector({0: 1.0, 2: 3.0})
        >>> values.tolist(), defined.tolist()
        ([1.0, 0.0, 3.0], [True, False, True])
    """
    from ._checks import as_float64_array, check_finite_nonnegative, check_real

    if isinstance(class_weight, Mapping):
        items: dict[int, float] = {}
        for key, value in class_weight.items():
            if isinstance(key, (bool, np.bool_)):
                raise ValueError(f"class_weight keys must be integer classes; got {key!r}")
            try:
                k = operator.index(key)
            except TypeError:
                raise ValueError(
                    f"class_weight keys must be integer classes; got {key!r}"
                ) from None
            if k < 0:
                raise ValueError(f"class_weight keys must be classes >= 0; got {k!r}")
            v = check_real(value, f"class_weight[{k}]")
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(
                    f"class_weight must be finite and non-negative; got {value!r} for class {k}"
                )
            items[k] = v
        size = max(items) + 1 if items else 0
        values = np.zeros(size)
        defined = np.zeros(size, dtype=bool)
        for k, v in items.items():
            values[k] = v
            defined[k] = True
        return values, defined
    values = np.array(as_float64_array(class_weight, "class_weight"), dtype=np.float64, copy=True)
    check_finite_nonnegative(values, "class_weight", force=True)
    if values.ndim != 1:
        raise ValueError(
            f"class_weight must be a (C,) vector or a {{class: weight}} dict; got shape "
            f"{values.shape}"
        )
    return values, np.ones(values.shape, dtype=bool)


def class_weight_table(
    class_weight: Any, num_classes: int, *, name: str = "class_weight", per: str = "class"
) -> np.ndarray:
    """A class weight for exactly ``num_classes`` classes, as a float64 ``(C,)`` vector.

    A dict must give every class in ``[0, C)`` a weight and no class outside it; a vector must
    have shape ``(C,)``.

    Example:
        >>> class_weight_table({0: 1.0, 1: 4.0}, 2).tolist()
        [1.0, 4.0]
    """
    if isinstance(class_weight, Mapping):
        values, defined = class_weight_vector(class_weight)
        missing = [k for k in range(num_classes) if k >= values.size or not defined[k]]
        if missing:
            raise ValueError(
                f"{name} has no entry for {per} {missing[0]} (the predictions have "
                f"{num_classes} {per}es); give every {per} a weight"
            )
        if values.size > num_classes:
            extra = int(np.flatnonzero(defined[num_classes:])[0]) + num_classes
            raise ValueError(
                f"{name} has a class outside [0, {num_classes}): {extra} (the predictions "
                f"have {num_classes} {per}es)"
                if per == "class"
                else f"{name} has a {per} outside [0, {num_classes}): {extra}"
            )
        return values
    arr = np.asarray(class_weight, dtype=np.float64)
    if arr.shape != (num_classes,):
        raise ValueError(
            f"{name} must have shape ({num_classes},), one value per {per}; got shape {arr.shape}"
        )
    return arr
