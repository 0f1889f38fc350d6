"""Sample-weight builders: one weight per sample, from class weights, time or uncertainty.

Builders return **raw** weights as NumPy ``float64`` arrays of the input's shape; they never
normalise (only the class-weight estimators do). Combine them by multiplication, then
:func:`clip` and :func:`normalize` if wanted, and check the result with
:func:`effective_sample_size`::

    w = from_class_weights(y, class_weights(y)) * recency(t, half_life=30.0)
    w = normalize(clip(w, max_ratio=20.0))
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._checks import DTypeError, as_float64_array, check_choice, format_index
from .._contract import class_weight_vector
from ._common import as_label_array, as_weight_array, check_real, to_numpy

__all__ = [
    "clip",
    "effective_sample_size",
    "from_class_weights",
    "inverse_variance",
    "normalize",
    "recency",
]


def from_class_weights(y: Any, class_weight: Any) -> np.ndarray:
    """Per-sample weights from per-class weights: ``w[i] = class_weight[y[i]]``.

    The sample-weight counterpart of a class weight, so that
    ``from_class_weights(y, class_weights(y))`` is scikit-learn's
    ``compute_sample_weight("balanced", y)``.

    Args:
        y: integer class labels, any shape (lists, NumPy, torch or pandas).
        class_weight: a ``(C,)`` array (then ``y`` must lie in ``[0, C)``), or a
            ``{class: weight}`` dict such as a Keras ``class_weight``. Every class in ``y`` must
            have an entry: unlike scikit-learn, a missing class is an error rather than weight
            1. Weights must be finite and non-negative.

    Returns:
        A NumPy ``float64`` array of ``y``'s shape.

    Example:
        >>> from_class_weights([0, 1, 1, 2], [1.0, 0.5, 3.0])
        array([1. , 0.5, 0.5, 3. ])
        >>> from_class_weights([0, 1, 1], {0: 2.0, 1: 1.0})
        array([2., 1., 1.])
    """
    if isinstance(class_weight, Mapping):
        values, defined = class_weight_vector(class_weight)
        labels = as_label_array(y, "y")
        flat = labels.reshape(-1)
        ok = (flat >= 0) & (flat < values.size)
        ok[ok] = defined[flat[ok]]
        if not ok.all():
            pos = int(np.flatnonzero(~ok)[0])
            keys = np.flatnonzero(defined).tolist()
            raise ValueError(
                f"class_weight has no entry for class {int(flat[pos])} (y at "
                f"{format_index(pos, labels.shape)}); its keys are {keys[:10]}"
                + (" ..." if len(keys) > 10 else "")
            )
        return values[flat].reshape(labels.shape)
    cw = as_weight_array(class_weight, "class_weight")
    if cw.ndim != 1:
        raise ValueError(
            f"class_weight must be a (C,) array or a {{class: weight}} dict; got shape {cw.shape}"
        )
    labels = as_label_array(y, "y", num_classes=cw.shape[0])
    return cw[labels].astype(np.float64)


# --- recency --------------------------------------------------------------------------------


def _naive_utc(value: _dt.datetime) -> _dt.datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(_dt.timezone.utc).replace(tzinfo=None)


def _time_array(x: Any) -> np.ndarray:
    """Timestamps as a numeric or ``datetime64`` array (tz-aware values converted to UTC)."""
    dt_accessor = getattr(x, "dt", None)  # pandas Series of datetimes
    if dt_accessor is not None and getattr(dt_accessor, "tz", None) is not None:
        x = dt_accessor.tz_convert(None)
    elif getattr(x, "tz", None) is not None and hasattr(x, "tz_convert"):  # DatetimeIndex
        x = x.tz_convert(None)
    arr = to_numpy(x)
    if arr.dtype.kind == "O":
        flat = arr.reshape(-1)
        if flat.size and all(isinstance(v, (_dt.datetime, np.datetime64)) for v in flat):
            conv = [_naive_utc(v) if isinstance(v, _dt.datetime) else v for v in flat]
            arr = np.array(conv, dtype="datetime64[us]").reshape(arr.shape)
        else:
            arr = as_float64_array(arr, "timestamps")
    return arr


def _time_scalar(x: Any) -> Any:
    """``now`` as a ``datetime64`` or a Python number."""
    if hasattr(x, "to_datetime64"):  # pandas Timestamp (tz-aware ones convert to UTC)
        return x.to_datetime64()
    if isinstance(x, _dt.datetime):
        return np.datetime64(_naive_utc(x), "us")
    if isinstance(x, (_dt.date, np.datetime64)):
        return np.datetime64(x)
    arr = to_numpy(x)
    if arr.ndim != 0:
        raise ValueError(f"now must be a single timestamp; got shape {arr.shape}")
    if arr.dtype.kind == "M":
        return arr[()]
    if arr.dtype.kind in "iu":
        return int(arr)
    return check_real(arr.item(), "now")


def _seconds(x: Any) -> float | None:
    """A timedelta-like ``half_life`` in seconds, or ``None`` for a plain number."""
    if hasattr(x, "to_timedelta64"):  # pandas Timedelta
        x = x.to_timedelta64()
    if isinstance(x, _dt.timedelta):
        return x.total_seconds()
    if isinstance(x, np.timedelta64):
        if np.isnat(x):
            return float("nan")
        return float(x / np.timedelta64(1, "s"))
    return None


#: Units of a numeric ``half_life`` with datetime timestamps (NumPy's timedelta64 codes).
RECENCY_UNITS: tuple[str, ...] = ("W", "D", "h", "m", "s", "ms", "us", "ns")
_UNIT_SECONDS = {"W": 604800.0, "D": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_UNIT_SECONDS.update({"ms": 1e-3, "us": 1e-6, "ns": 1e-9})


def recency(
    timestamps: Any, *, half_life: Any, now: Any = None, unit: str | None = None
) -> np.ndarray:
    """Exponential recency weights with a half-life: ``w = 0.5 ** ((now - t) / half_life)``.

    A sample at ``now`` gets weight 1, one ``half_life`` older gets 0.5, two get 0.25. Useful
    when the data drift and recent samples speak more for the deployment distribution.

    Timestamps are either **numbers** (epoch seconds, days, step indices: any unit, with
    ``half_life`` and ``now`` in the same unit) or **datetimes** (NumPy ``datetime64``, pandas
    ``Series`` / ``DatetimeIndex`` of datetimes, Python ``datetime`` objects). With datetimes,
    ``half_life`` is a NumPy / pandas / Python ``datetime.timedelta``, or a plain number in
    ``unit`` (``"W"``, ``"D"``, ``"h"``, ``"m"``, ``"s"``, ``"ms"``, ``"us"``, ``"ns"``;
    default **seconds**: pass ``unit="D"`` for a half-life in days, as the CLI's
    ``--half-life``), and ``now`` a datetime; time-zone-aware values are converted to UTC and
    then compared as naive UTC times, so naive inputs are taken to be UTC as well. ``unit``
    applies only to a numeric ``half_life`` with datetime timestamps (numbers carry their own
    unit), and anything else with it is a ``ValueError``.

    Args:
        timestamps: the time of each sample, ``(N,)`` (a scalar is taken as one sample; 2-D
            and higher are a ``ValueError``: one timestamp per sample).
        half_life: the age at which the weight halves; must be positive and finite.
        unit: the unit of a numeric ``half_life`` with datetime timestamps (``None``:
            seconds).
        now: the reference time (age 0). ``None`` means the latest timestamp, so the newest
            sample gets weight 1. A timestamp after ``now`` is an error.

    Returns:
        A NumPy ``float64`` array of the shape of ``timestamps``, values in ``(0, 1]``.

    Example:
        >>> recency([0.0, 10.0, 20.0], half_life=10.0)
        array([0.25, 0.5 , 1.  ])
        >>> import numpy as np
        >>> t = np.array(["2024-01-01", "2024-01-08"], dtype="datetime64[D]")
        >>> recency(t, half_life=np.timedelta64(7, "D"))
        array([0.5, 1. ])
        >>> recency(t, half_life=7, unit="D")
        array([0.5, 1. ])
    """
    arr = _time_array(timestamps)
    is_time = arr.dtype.kind == "M"
    if not is_time and arr.dtype.kind not in "iuf":
        first = arr.reshape(-1)[0].item() if arr.size else None
        raise DTypeError(
            f"timestamps must be numbers or datetimes; got dtype {arr.dtype} (first value "
            f"{first!r})"
        )
    if arr.ndim > 1:
        raise ValueError(f"timestamps must be 1-D, one time per sample; got shape {arr.shape}")
    if unit is not None:
        check_choice(unit, "unit", RECENCY_UNITS)
        if not is_time:
            raise ValueError(
                f"unit={unit!r} applies to datetime timestamps only; numeric timestamps carry "
                "their own unit (give half_life in it)"
            )
        if _seconds(half_life) is not None:
            raise ValueError(
                f"unit={unit!r} applies to a numeric half_life; got the timedelta {half_life!r}"
            )
    # half-life, in the unit of the timestamps (seconds for datetimes)
    hl_seconds = _seconds(half_life)
    if hl_seconds is None and unit is not None:
        per = _UNIT_SECONDS[unit]
        hl_seconds = check_real(half_life, "half_life") * per
    if hl_seconds is not None:
        if not is_time:
            raise ValueError(
                f"half_life is a timedelta ({half_life!r}) but timestamps are numbers; pass "
                f"half_life as a number in the unit of the timestamps"
            )
        hl = hl_seconds
    else:
        hl = check_real(half_life, "half_life")
    if not (np.isfinite(hl) and hl > 0):
        raise ValueError(f"half_life must be positive and finite; got {half_life!r}")

    flat = arr.reshape(-1)
    if is_time:
        bad = np.flatnonzero(np.isnat(flat))
        if bad.size:
            raise ValueError(
                f"timestamps must be valid datetimes; got NaT at "
                f"{format_index(int(bad[0]), arr.shape)}"
            )
    elif arr.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(flat))
        if bad.size:
            raise ValueError(
                f"timestamps must be finite; got {flat[bad[0]].item()!r} at "
                f"{format_index(int(bad[0]), arr.shape)}"
            )
    if flat.size == 0:
        return np.zeros(arr.shape)

    if now is None:
        ref = flat.max()
    else:
        ref = _time_scalar(now)
        if is_time != isinstance(ref, np.datetime64):
            kind = "datetimes" if is_time else "numbers"
            raise ValueError(f"now must be of the same kind as timestamps ({kind}); got {now!r}")
        if is_time and np.isnat(ref):
            raise ValueError(f"now must be a valid datetime; got {now!r}")
        if not is_time and not np.isfinite(float(ref)):
            raise ValueError(f"now must be finite; got {now!r}")

    age: np.ndarray
    if is_time:
        age = (ref - flat) / np.timedelta64(1, "s")
        late_mask = age < 0
    elif arr.dtype.kind in "iu" and isinstance(ref, (int, np.integer)):
        # integer ages are exact, so a timestamp one tick after now is caught
        exact = np.int64(ref) - flat.astype(np.int64)
        late_mask = exact < 0
        age = exact.astype(np.float64)
    else:
        age = float(ref) - flat.astype(np.float64)
        late_mask = age < 0
    late = np.flatnonzero(late_mask)
    if late.size:
        i = int(late[0])
        shown = flat[i] if is_time else flat[i].item()
        raise ValueError(
            f"timestamps must not be later than now={ref!s}; got {shown!s} at "
            f"{format_index(i, arr.shape)}"
        )
    return np.exp2(-age / hl).reshape(arr.shape)


# --- uncertainty ----------------------------------------------------------------------------


def inverse_variance(std: Any) -> np.ndarray:
    """Inverse-variance weights from measurement uncertainty: ``w = 1 / std**2``.

    With targets measured with known standard deviations, weighting squared errors by
    ``1 / σ²`` gives the maximum-likelihood (weighted least-squares) fit under Gaussian noise.

    Args:
        std: the standard deviation ``σ`` of each target, any shape; must be finite and
            positive.

    Returns:
        A NumPy ``float64`` array of the shape of ``std``.

    Example:
        >>> inverse_variance([0.5, 1.0, 2.0])
        array([4.  , 1.  , 0.25])
    """
    arr = as_float64_array(std, "std")
    flat = arr.reshape(-1)
    bad = np.flatnonzero(~np.isfinite(flat) | (flat <= 0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"std must be finite and positive; got {flat[i].item()!r} at "
            f"{format_index(i, arr.shape)}"
        )
    with np.errstate(over="ignore", divide="ignore", under="ignore"):
        w = 1.0 / (arr * arr)
    inf = np.flatnonzero(~np.isfinite(w.reshape(-1)))
    if inf.size:
        i = int(inf[0])
        raise ValueError(
            f"std is too small for a finite float64 weight 1/std**2; got {flat[i].item()!r} at "
            f"{format_index(i, arr.shape)}"
        )
    return w


# --- post-processing ------------------------------------------------------------------------


def clip(weights: Any, *, max_ratio: float) -> np.ndarray:
    """Cap weights at ``max_ratio`` times the smallest non-zero weight.

    ``w_i ← min(w_i, max_ratio · min_{j: w_j > 0} w_j)``. Zero weights stay zero and nothing is
    renormalised: call :func:`normalize` afterwards for a mean of 1. Clipping bounds the
    variance that a few huge weights (rare classes, tiny ``σ``) add to a weighted loss, at the
    price of some bias; :func:`effective_sample_size` shows what is gained.

    Args:
        weights: finite, non-negative weights, any shape.
        max_ratio: the largest allowed ratio to the smallest non-zero weight, ``>= 1``
            (``inf`` leaves the weights unchanged).

    Returns:
        A NumPy ``float64`` array of the shape of ``weights``. All-zero weights come back
        unchanged.

    Example:
        >>> clip([0.0, 1.0, 2.0, 50.0], max_ratio=10.0)
        array([ 0.,  1.,  2., 10.])
    """
    ratio = check_real(max_ratio, "max_ratio")
    if not ratio >= 1.0:
        raise ValueError(f"max_ratio must be >= 1; got {max_ratio!r}")
    arr = as_weight_array(weights, "weights")
    positive = arr[arr > 0]
    if positive.size == 0:
        return arr
    cap = ratio * positive.min()
    return np.minimum(arr, cap)


def normalize(weights: Any) -> np.ndarray:
    """Rescale weights so that their mean over **all** elements is 1 (``Σ w = N``).

    Zero weights stay zero and count in ``N``. This is the scale under which
    ``reduction="mean"`` (``Σ ω·L / N``) keeps a loss on its unweighted scale.

    Args:
        weights: finite, non-negative weights, any shape, not all zero.

    Returns:
        A NumPy ``float64`` array of the shape of ``weights``.

    Example:
        >>> normalize([0.0, 2.0, 4.0])  # the zero counts in N = 3
        array([0., 1., 2.])
        >>> normalize([2.0, 6.0])
        array([0.5, 1.5])
    """
    arr = as_weight_array(weights, "weights")
    if arr.size == 0:
        raise ValueError("weights must hold at least one weight to normalise; got an empty array")
    top = arr.max()
    if not top > 0:
        raise ValueError(f"weights must not all be zero to normalise; got {arr.size} zeros")
    scaled = arr / top  # avoids overflow in the sum for huge weights
    return scaled * (arr.size / scaled.sum())


def effective_sample_size(weights: Any) -> float:
    """Kish's effective sample size ``(Σ w)² / Σ w²``.

    The number of equally weighted samples that would give a weighted mean the same variance.
    It equals ``N`` for equal weights and 1 when a single weight is non-zero, and is invariant
    to scaling the weights. A value far below ``N`` warns that a few samples dominate the
    weighted loss (consider :func:`clip`).

    Args:
        weights: finite, non-negative weights, any shape.

    Returns:
        A Python ``float`` in ``[1, N]``; ``0.0`` for empty or all-zero weights.

    References:
        L. Kish. *Survey Sampling.* Wiley, 1965.

    Example:
        >>> effective_sample_size([1.0, 1.0, 1.0, 1.0])
        4.0
        >>> effective_sample_size([1.0, 0.0, 0.0])
        1.0
    """
    arr = as_weight_array(weights, "weights")
    if arr.size == 0:
        return 0.0
    top = arr.max()
    if not top > 0:
        return 0.0
    u = arr / top
    return float(u.sum() ** 2 / np.square(u).sum())
