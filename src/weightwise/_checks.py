"""Input validation with scikit-learn-style messages, in one place.

Every message names the argument, the position and the offending value, e.g.
``sample_weight must be finite and non-negative; got -1.0 at index 3``.

Checks come in two kinds:

* **shape checks** always run: they read only metadata and never synchronise a device;
* **value checks** (finite, sign, range, soft-target sums) read tensor values, which forces a
  host/device synchronisation on GPU. :func:`set_checks` turns these off globally for hot loops.

The module has four parts: the switch (:func:`set_checks`), scalar arguments
(:func:`check_choice`, :func:`check_positive_int`, ...), the one converter from array-likes
(:func:`to_numpy`, :func:`as_tensor`, :func:`as_float64_array`), and value checks on arrays
(:func:`check_finite_nonnegative`, :func:`check_in_range`, ...). A wrong *type* or *dtype* raises
:class:`DTypeError`, a ``TypeError`` that is also a ``ValueError`` (so code written against
weightwise 0.1, which raised ``ValueError``, keeps working); a wrong *value* raises
``ValueError``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Literal, cast

import numpy as np
import torch

__all__ = [
    "CHECK_MODES",
    "CheckMode",
    "ClassTarget",
    "DTypeError",
    "as_float64_array",
    "as_tensor",
    "assert_async",
    "check_choice",
    "check_class_logits",
    "check_class_vector",
    "check_finite_nonnegative",
    "check_float_logits",
    "check_in_range",
    "check_nonnegative_int",
    "check_nonnegative_real",
    "check_not_meta",
    "check_positive_int",
    "check_positive_vector",
    "check_real",
    "check_soft_target",
    "check_unit_interval",
    "checks",
    "checks_enabled",
    "class_vector_like",
    "format_index",
    "get_checks",
    "no_checks",
    "positive_class_tensor",
    "prepare_class_target",
    "set_checks",
    "to_numpy",
    "value_check_mode",
]


class DTypeError(TypeError, ValueError):
    """A wrong type or dtype (``TypeError``; also a ``ValueError`` for code written for 0.1)."""


#: The check modes (see :func:`set_checks`).
CHECK_MODES: tuple[str, ...] = ("auto", "eager", "async", "off")
CheckMode = Literal["auto", "eager", "async", "off"]
_MODE: CheckMode = "auto"


def set_checks(mode: CheckMode | bool) -> None:
    """Choose how value checks run, globally.

    Value checks (finite and non-negative weights, targets in range, soft targets summing to 1)
    read tensor values. Shape checks read only metadata and always run. The modes:

    * ``"eager"``: check at once and raise a ``ValueError`` naming the argument, the position
      and the value. Reading the values is a device-to-host synchronisation on an accelerator.
    * ``"async"``: the same conditions as device-side assertions (``torch._assert_async``): no
      host read; a bad value raises a ``RuntimeError`` naming the argument at the next
      synchronisation point, and inside ``torch.compile`` graphs without a graph break.
    * ``"off"``: no value checks.
    * ``"auto"`` (the default): ``"eager"`` for CPU tensors; ``"async"`` for tensors on an
      accelerator and whenever the call is traced by ``torch.compile``.

    ``True`` and ``False`` are accepted for ``"auto"`` and ``"off"`` (weightwise 0.1's switch).
    See ``docs/performance.md`` for what each mode costs.

    Example:
        >>> import weightwise
        >>> weightwise.set_checks("off")     # a hot loop on validated data
        >>> weightwise.get_checks()
        'off'
        >>> weightwise.set_checks("auto")
    """
    global _MODE
    if mode is True:
        mode = "auto"
    elif mode is False:
        mode = "off"
    if not isinstance(mode, str) or mode not in CHECK_MODES:
        allowed = ", ".join(repr(m) for m in CHECK_MODES)
        raise ValueError(f"mode must be one of {allowed}; got {mode!r}")
    _MODE = cast(CheckMode, mode)


def get_checks() -> CheckMode:
    """The current check mode: ``"auto"``, ``"eager"``, ``"async"`` or ``"off"``."""
    return _MODE


def checks_enabled() -> bool:
    """Whether value checks run at all (the mode is not ``"off"``; see :func:`set_checks`)."""
    return _MODE != "off"


@contextmanager
def checks(mode: CheckMode | bool) -> Iterator[None]:
    """Context manager: the check ``mode`` inside its block, the previous one after it.

    Example:
        >>> import weightwise
        >>> with weightwise.checks("async"):
        ...     weightwise.get_checks()
        'async'
    """
    previous = _MODE
    set_checks(mode)
    try:
        yield
    finally:
        set_checks(previous)


def no_checks() -> AbstractContextManager[None]:
    """Context manager that turns value checks off inside its block (``checks("off")``)."""
    return checks("off")


def _is_compiling() -> bool:
    compiler = getattr(torch, "compiler", None)
    return bool(compiler is not None and compiler.is_compiling())


def value_check_mode(x: torch.Tensor | np.ndarray | None = None) -> str:
    """How a value check on ``x`` runs now: ``"eager"``, ``"async"`` or ``"off"``.

    ``"auto"`` resolves by ``x``'s device and by whether ``torch.compile`` is tracing. Meta
    tensors have no values: their checks are off.
    """
    if _MODE == "off":
        return "off"
    if isinstance(x, torch.Tensor) and x.device.type == "meta":
        return "off"
    if _MODE != "auto":
        return _MODE
    if _is_compiling():
        return "async"
    if isinstance(x, torch.Tensor) and x.device.type != "cpu":
        return "async"
    return "eager"


def assert_async(ok: torch.Tensor, message: str) -> None:
    """Raise ``message`` where ``ok`` (a boolean 0-d tensor) is false, without a host read."""
    torch._assert_async(ok, message)


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


# Above this many elements a torch reduction runs on several intra-op threads (ATen's grain
# size), and so ends in a thread barrier; see _eager_bounds.
_TORCH_GRAIN = 32768
# The dtypes a large CPU tensor is checked in by NumPy, each with the unsigned integer type of
# its width (for _bits_below).
_UNSIGNED_VIEW: dict[torch.dtype, Any] = {
    torch.float32: np.uint32,
    torch.float64: np.uint64,
    torch.int64: np.uint64,
    torch.int32: np.uint32,
    torch.int16: np.uint16,
    torch.int8: np.uint8,
    torch.uint8: np.uint8,
}


def _large_cpu_array(x: torch.Tensor) -> np.ndarray | None:
    """A zero-copy NumPy view of a CPU tensor above ``_TORCH_GRAIN`` elements in one of the
    dtypes of ``_UNSIGNED_VIEW``, else ``None`` (see :func:`_eager_bounds` for why)."""
    if x.device.type == "cpu" and x.numel() > _TORCH_GRAIN and x.dtype in _UNSIGNED_VIEW:
        return x.detach().resolve_conj().resolve_neg().numpy()
    return None


def _eager_bounds(x: torch.Tensor) -> tuple[Any, Any]:
    """``(min, max)`` of a non-empty tensor for an eager check, as Python numbers (two scalar
    reads, free on the CPU; one transfer from an accelerator); a NaN propagates into both, so
    every comparison with it is false.

    A large CPU tensor is reduced by NumPy, single-threaded, on a zero-copy view: a torch
    reduction of it is a parallel region whose barrier, on a CPU that other processes keep
    busy (DataLoader workers), waits a scheduler time slice for a descheduled thread, and a
    loss's checks would then cost as much as its arithmetic. Otherwise one ``aminmax``. The
    bounds are compared in Python: the tensor comparisons and ``bool()`` of their conjunction
    cost 6-14 us more a check.
    """
    arr = _large_cpu_array(x)
    if arr is not None:
        return arr.min().item(), arr.max().item()
    lo, hi = torch.aminmax(x.detach())
    if x.device.type != "cpu":  # an accelerator: one transfer (one synchronisation), not two
        both: list[Any] = torch.stack((lo, hi)).tolist()
        return both[0], both[1]
    return lo.item(), hi.item()


def _bits_below(x: torch.Tensor, bound: float | int) -> bool | None:
    """Whether every element of a large CPU tensor lies in ``[0, bound)`` (integers) or in
    ``[+0.0, bound)`` (floats; ``bound`` a non-negative float or ``inf``), by one NumPy pass;
    ``None`` where that pass does not apply (small tensors, accelerators, other dtypes: use
    :func:`_eager_bounds`).

    The elements are read as unsigned integers of their width. In that order a negative number
    (sign bit set) reads above every non-negative one, and a float NaN above ``+inf`` above
    every finite float, so one comparison of the maximum tests both ends: a single-threaded
    pass instead of a min and a max (65536 elements: 9-15 us against 42-66 us). ``False`` can
    be a false alarm (``-0.0`` reads as negative): the caller's elementwise check decides.
    """
    arr = _large_cpu_array(x)
    if arr is None:
        return None
    unsigned = _UNSIGNED_VIEW[x.dtype]
    if x.is_floating_point():
        fdtype = np.float32 if x.dtype == torch.float32 else np.float64
        limit = int(np.array(bound, dtype=fdtype).view(unsigned))
    else:
        # A negative value of a narrow dtype reads as at most 2^bits - 1: cap the bound at the
        # dtype's largest value + 1, above which only negative values read.
        info = torch.iinfo(x.dtype)
        limit = int(min(bound, info.max + 1))
    return int(arr.view(unsigned).max()) < limit


def check_finite_nonnegative(
    x: torch.Tensor | np.ndarray, name: str, *, force: bool = False
) -> None:
    """Raise ``ValueError`` when ``x`` holds a NaN, an inf or a negative value.

    Skipped when value checks are off, unless ``force`` is true (estimators, which run once on
    the host, always check eagerly). In ``"async"`` mode the condition becomes a device-side
    assertion (see :func:`set_checks`).
    """
    mode = "eager" if force else value_check_mode(x)
    if mode == "off":
        return
    bad: torch.Tensor | np.ndarray
    if isinstance(x, torch.Tensor):
        if x.numel() == 0:
            return
        if mode == "async":
            ok = torch.isfinite(x).all() & (x >= 0).all() if x.is_floating_point() else x.min() >= 0
            assert_async(ok, f"{name} must be finite and non-negative")
            return
        # Fast path: one pass over the bits of a large CPU tensor, else the bounds and one
        # host read (a NaN propagates into both, so `lo >= 0` fails; +inf makes `hi`
        # infinite); the elementwise mask is only built to report the first bad position.
        fast = _bits_below(x, float("inf"))
        if fast is None:
            lo, hi = _eager_bounds(x)
            fast = lo >= 0 and hi < float("inf")
        if fast:
            return
        bad = ~torch.isfinite(x) | (x < 0) if x.is_floating_point() else x < 0
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
    mode = value_check_mode(target)
    if mode == "off" or target.numel() == 0:
        return
    allowed = f"[0, {num_classes})" + (
        f" or ignore_index={ignore_index}" if ignore_index is not None else ""
    )
    if mode == "async":
        out = (target < 0) | (target >= num_classes)
        if ignore_index is not None:
            out &= target != ignore_index
        assert_async(~out.any(), f"{name} must be in {allowed}")
        return
    fast = _bits_below(target, num_classes)
    if fast is None:
        lo, hi = _eager_bounds(target)
        fast = lo >= 0 and hi < num_classes
    if fast:
        return
    bad = (target < 0) | (target >= num_classes)
    if ignore_index is not None:
        bad &= target != ignore_index
    pos = _first_bad(bad)
    if pos is not None:
        raise ValueError(
            f"{name} must be in {allowed}; got {_value_at(target, pos)!r} at "
            f"{format_index(pos, tuple(target.shape))}"
        )


def check_soft_target(target: torch.Tensor, *, class_dim: int = 1, name: str = "target") -> None:
    """Soft targets: non-negative, and each distribution sums to 1 within 1e-4."""
    mode = value_check_mode(target)
    if mode == "off":
        return
    check_finite_nonnegative(target, name)
    sums = target.sum(dim=class_dim)
    if mode == "async":
        assert_async(
            ((sums - 1).abs() <= 1e-4).all(),
            f"{name} holds probabilities (soft targets) that must sum to 1 along dim {class_dim}",
        )
        return
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


# ---- scalar arguments ---------------------------------------------------------------------


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``; otherwise a ``ValueError`` naming both."""
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")
    return value


def _as_int(value: Any, name: str, what: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise DTypeError(f"{name} must be {what}; got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise DTypeError(f"{name} must be {what}; got {value!r}") from None


def check_positive_int(value: Any, name: str) -> int:
    """An integer ``>= 1`` (``bool`` refused), else a ``ValueError`` naming ``name``."""
    out = _as_int(value, name, "a positive integer")
    if out < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return out


def check_nonnegative_int(value: Any, name: str) -> int:
    """An integer ``>= 0`` (``bool`` refused), else a ``ValueError`` naming ``name``."""
    out = _as_int(value, name, "a non-negative integer")
    if out < 0:
        raise ValueError(f"{name} must be a non-negative integer; got {value!r}")
    return out


def check_real(value: Any, name: str) -> float:
    """A real Python/NumPy scalar as ``float`` (``bool`` and non-numbers refused)."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise DTypeError(f"{name} must be a real number; got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DTypeError(f"{name} must be a real number; got {value!r}") from None


def check_nonnegative_real(value: Any, name: str, *, positive: bool = False) -> float:
    """A finite real number ``>= 0`` (``> 0`` with ``positive=True``), e.g. a focal ``gamma``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        rel = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite number {rel}; got {value!r}")
    return v


# ---- the converter ---------------------------------------------------------------------------


def to_numpy(x: Any) -> np.ndarray:
    """A NumPy view of lists, NumPy, torch tensors or pandas objects (dtype kept)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if hasattr(x, "to_numpy"):
        x = x.to_numpy()
    return np.asarray(x)


def check_not_meta(x: torch.Tensor, name: str, like: torch.Tensor) -> None:
    """A ``ValueError`` naming ``name`` when ``x`` is a meta tensor (shape only, no data) that
    would have to move to ``like``'s real device (PyTorch's own error names no argument)."""
    if x.device.type == "meta" and like.device.type != "meta":
        raise ValueError(
            f"{name} is a meta tensor (shape only, no data) but the input it goes with is on "
            f"{like.device}; put both on the meta device, or give {name} real values"
        )


def as_tensor(x: Any, *, name: str, like: torch.Tensor | None = None) -> torch.Tensor:
    """Any array-like (tensor, NumPy, pandas, list, number) as a real tensor.

    Without ``like`` the dtype is kept (no copy where possible). With ``like`` the result takes
    its floating dtype and device, and Python numbers and lists convert straight to that dtype:
    going through torch's default float32 first would round a float64 weight. Non-numeric and
    complex input raise :class:`DTypeError` naming ``name``.
    """
    if isinstance(x, torch.Tensor):
        t = x
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        # A Python number (a focal alpha, say): straight to a tensor, which torch.compile can
        # trace (NumPy arrays it cannot).
        kept = torch.float64 if isinstance(x, float) else torch.int64  # NumPy's dtypes
        t = torch.tensor(x, dtype=kept if like is None else like.dtype)
    else:
        if hasattr(x, "to_numpy"):
            x = x.to_numpy()
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as err:  # pragma: no cover - exotic inputs
            raise DTypeError(f"{name} must be array-like; got {type(x).__name__}: {err}") from None
        if arr.dtype.kind == "c":
            raise DTypeError(f"{name} must be real; got dtype {arr.dtype}")
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise DTypeError(f"{name} must be numeric; got an array of dtype {arr.dtype}")
        if like is not None:
            t = torch.as_tensor(arr, dtype=like.dtype)
        else:
            t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.is_complex():
        raise DTypeError(f"{name} must be real; got dtype {t.dtype}")
    if like is not None:
        check_not_meta(t, name, like)
        t = t.to(device=like.device, dtype=like.dtype)
    return t


def as_float64_array(x: Any, name: str) -> np.ndarray:
    """Convert lists, NumPy, torch or pandas input to a float64 NumPy array.

    Floating tensors are converted to float64 by torch first: NumPy has no bfloat16.
    """
    if isinstance(x, torch.Tensor):
        x = x.detach()
        if x.is_floating_point():
            x = x.to(torch.float64)
        x = x.cpu().numpy()
    elif hasattr(x, "to_numpy"):
        x = x.to_numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DTypeError(f"{name} must be numeric; got {type(x).__name__}: {err}") from None
    return arr


def check_positive_vector(x: Any, name: str, *, num_classes: int | None = None) -> np.ndarray:
    """A ``(C,)`` vector of finite, strictly positive numbers (class counts or a prior)."""
    arr = as_float64_array(x, name)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty vector of shape (C,); got shape {arr.shape}")
    if num_classes is not None and arr.shape[0] != num_classes:
        raise ValueError(
            f"{name} must have shape ({num_classes},), one value per class; got shape {arr.shape}"
        )
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        why = " (every class needs at least one sample)" if name == "counts" else ""
        raise ValueError(
            f"{name} must be finite and positive{why}; got {arr[pos].item()!r} at index {pos}"
        )
    return arr


def _python_numbers(x: Any) -> list[float] | None:
    """``x`` as a list of floats when it is a flat list/tuple of Python reals, else ``None``."""
    if not isinstance(x, (list, tuple)):
        return None
    out: list[float] = []
    for v in x:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return None
        out.append(float(v))
    return out


def positive_class_tensor(
    x: Any, name: str, *, num_classes: int, like: torch.Tensor
) -> torch.Tensor:
    """A ``(C,)`` vector of finite, strictly positive numbers (class counts or a prior) as a
    float64 tensor on ``like``'s device (float32 where the device has no float64).

    The traceable twin of :func:`check_positive_vector`. A flat list of Python numbers is
    checked in Python, at once, in every mode but ``"off"`` (under ``torch.compile`` that
    happens once, while tracing: the numbers are constants of the graph). Other array-likes
    (NumPy, pandas) are checked with NumPy outside ``torch.compile``. A tensor's values are
    checked by the current mode (:func:`set_checks`): ``"eager"`` raises a ``ValueError``
    naming the position, ``"async"`` asserts on the device, without a host read.

    Example:
        >>> positive_class_tensor([30, 12, 3], "counts", num_classes=3, like=torch.zeros(1))
        tensor([30., 12.,  3.], dtype=torch.float64)
    """
    why = " (every class needs at least one sample)" if name == "counts" else ""
    dtype = torch.float32 if like.device.type == "mps" else torch.float64
    numbers = _python_numbers(x)
    if numbers is not None:
        if len(numbers) != num_classes:
            raise ValueError(
                f"{name} must have shape ({num_classes},), one value per class; got shape "
                f"({len(numbers)},)"
            )
        if checks_enabled():
            for i, v in enumerate(numbers):
                if not (math.isfinite(v) and v > 0):
                    raise ValueError(
                        f"{name} must be finite and positive{why}; got {v!r} at index {i}"
                    )
        return torch.tensor(numbers, dtype=dtype, device=like.device)
    if not isinstance(x, torch.Tensor):
        if _is_compiling():
            t = torch.as_tensor(x, dtype=torch.float64)
        else:
            arr = check_positive_vector(x, name, num_classes=num_classes)
            return torch.as_tensor(arr, dtype=dtype, device=like.device)
    else:
        t = x
    if t.dim() != 1 or t.shape[0] != num_classes:
        raise ValueError(
            f"{name} must have shape ({num_classes},), one value per class; got shape "
            f"{tuple(t.shape)}"
        )
    if t.is_complex() or not (t.is_floating_point() or t.dtype in _INTEGER_DTYPES):
        raise DTypeError(f"{name} must be real numbers; got dtype {t.dtype}")
    check_not_meta(t, name, like)
    t = t.to(device=like.device, dtype=dtype)
    mode = value_check_mode(t)
    if mode == "async":
        assert_async((torch.isfinite(t) & (t > 0)).all(), f"{name} must be finite and positive")
    elif mode == "eager":
        pos = _first_bad(~torch.isfinite(t) | (t <= 0))
        if pos is not None:
            raise ValueError(
                f"{name} must be finite and positive{why}; got {_value_at(t, pos)!r} at index {pos}"
            )
    return t


_INTEGER_DTYPES = frozenset({torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64})


def check_unit_interval(x: torch.Tensor, name: str) -> None:
    """Values in ``[0, 1]`` (a value check: one ``aminmax``; the mask only to report)."""
    mode = value_check_mode(x)
    if mode == "off" or x.numel() == 0:
        return
    if mode == "async":
        assert_async(((x >= 0) & (x <= 1)).all(), f"{name} must be in [0, 1]")
        return
    lo, hi = _eager_bounds(x)  # a NaN propagates into both ends
    if lo >= 0 and hi <= 1:
        return
    bad = ~torch.isfinite(x) | (x < 0) | (x > 1)
    if bool(bad.any()):
        pos = int(torch.nonzero(bad.reshape(-1))[0, 0])
        where = "" if x.dim() == 0 else f" at {format_index(pos, tuple(x.shape))}"
        raise ValueError(f"{name} must be in [0, 1]; got {x.reshape(-1)[pos].item()!r}{where}")


# ---- classification targets ----------------------------------------------------------------


def check_float_logits(logits: Any) -> torch.Tensor:
    """``logits`` as given, if it is a floating-point tensor; else a :class:`DTypeError`."""
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise DTypeError(
            f"logits must be a floating-point tensor; got {getattr(logits, 'dtype', type(logits))}"
        )
    return logits


def check_class_logits(logits: Any) -> torch.Tensor:
    """Floating-point logits with a class axis at dim 1: ``(N, C)`` or ``(N, C, d1, ...)``."""
    check_float_logits(logits)
    if logits.dim() < 2:
        raise ValueError(
            f"logits must have shape (N, C) or (N, C, d1, ...); got shape {tuple(logits.shape)}"
        )
    return logits


class ClassTarget:
    """A validated class target for ``(N, C, d...)`` logits (see :func:`prepare_class_target`).

    Attributes:
        target: hard targets: ``int64`` class indices ``(N, d...)`` on the logits' device, with
            ``ignore_index`` elements kept as they are; soft targets: probabilities in the
            logits' dtype, of the logits' shape.
        safe: hard targets with the ignored elements set to class 0 (safe to index or gather
            with); soft targets: ``target`` itself.
        valid: ``(N, d...)`` boolean, ``False`` on ignored elements; ``None`` when no element
            can be ignored (``ignore_index=None``, soft targets).
        soft: whether the target holds probabilities.
        grid: the element grid ``(N, d...)``.
        num_classes: ``C``.
    """

    __slots__ = ("grid", "num_classes", "safe", "soft", "target", "valid")

    def __init__(
        self,
        target: torch.Tensor,
        safe: torch.Tensor,
        valid: torch.Tensor | None,
        *,
        soft: bool,
        grid: tuple[int, ...],
        num_classes: int,
    ) -> None:
        self.target = target
        self.safe = safe
        self.valid = valid
        self.soft = soft
        self.grid = grid
        self.num_classes = num_classes

    @property
    def count(self) -> int | torch.Tensor:
        """The number of elements not ignored (a tensor when ``valid`` is set: no sync)."""
        if self.valid is not None:
            return self.valid.sum()
        return math.prod(self.grid)


def prepare_class_target(
    logits: Any,
    target: Any,
    *,
    ignore_index: int | None,
    allow_soft: bool = True,
    loss_name: str | None = None,
    check_range: bool = True,
) -> ClassTarget:
    """Validate the logits and the class target of a softmax-style loss, in one place.

    ``logits``: a floating-point tensor ``(N, C)`` or ``(N, C, d1, ...)``. ``target``: integer
    class indices ``(N, d1, ...)`` in ``[0, C)`` (or ``ignore_index``), or, with ``allow_soft``,
    probabilities of the logits' shape (floating dtype; non-negative, summing to 1 over dim 1;
    not combinable with ``ignore_index``). ``loss_name`` names the loss in the error for a soft
    target where none is allowed. ``check_range=False`` leaves the range check (a value check)
    to a loss called later on the same target.

    A wrong dtype raises :class:`DTypeError`; a wrong shape or value ``ValueError``.
    """
    check_class_logits(logits)
    shape = tuple(logits.shape)
    num_classes = shape[1]
    grid = (shape[0], *shape[2:])
    if not isinstance(target, torch.Tensor):
        target = torch.as_tensor(target, device=logits.device)
    check_not_meta(target, "target", logits)
    tshape = tuple(target.shape)
    if allow_soft and target.is_floating_point():
        if tshape != shape:
            raise ValueError(
                f"soft target must have the logits' shape {shape}; got {tshape} "
                "(class indices need an integer dtype)"
            )
        if ignore_index is not None:
            raise ValueError(
                "ignore_index cannot be used with soft targets (probabilities); set the "
                "sample_weight of the elements to leave out to 0 instead"
            )
        soft = target.to(device=logits.device, dtype=logits.dtype)
        check_soft_target(soft, class_dim=1)
        return ClassTarget(soft, soft, None, soft=True, grid=grid, num_classes=num_classes)
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        why = "" if loss_name is None else f" (soft targets are not supported by the {loss_name})"
        raise DTypeError(f"target must hold integer class indices{why}; got dtype {target.dtype}")
    if tshape != grid:
        alt = f" (class indices) or {shape} (probabilities)" if allow_soft else ""
        raise ValueError(
            f"target must have shape {grid}{alt} for logits of shape {shape}; got {tshape}"
        )
    hard = target.to(device=logits.device, dtype=torch.long)
    if check_range:
        check_in_range(hard, num_classes, name="target", ignore_index=ignore_index)
    if ignore_index is None:
        return ClassTarget(hard, hard, None, soft=False, grid=grid, num_classes=num_classes)
    valid = hard != ignore_index
    safe = torch.where(valid, hard, torch.zeros_like(hard))
    return ClassTarget(hard, safe, valid, soft=False, grid=grid, num_classes=num_classes)


def class_vector_like(
    x: Any, logits: torch.Tensor, *, name: str = "class_weight"
) -> torch.Tensor | None:
    """``None``, or a per-class vector ``(C,)`` for the logits' class axis, in their dtype and
    on their device (finite, ``>= 0``)."""
    if x is None:
        return None
    return check_class_vector(as_tensor(x, like=logits, name=name), logits.shape[1], name=name)
