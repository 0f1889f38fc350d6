"""Input formatting and option checks shared by every metric (private; signatures are stable).

Every metric turns ``(preds, target, sample_weight)`` into *flat* tensors on the element grid
before it counts anything. The element grid is:

* ``task="binary"``: one element per entry of ``target`` (shape ``(N, d...)``); flat ``(E,)``.
* ``task="multiclass"``: one element per entry of ``target`` (shape ``(N, d...)``); scores
  ``(N, C, d...)`` are flattened to ``(E, C)`` (the class axis moved last), labels to ``(E,)``.
* ``task="multilabel"``: one element per (sample, label, d...) entry of ``target`` (shape
  ``(N, L, d...)``); flattened to ``(E, L)`` with the label axis last.

``sample_weight`` follows the shape rules of ``docs/semantics.md`` (strict left-aligned
broadcasting, see :func:`weightwise.reduction.broadcast_weight`): a scalar, ``(N,)``, a
per-pixel ``(N, d...)`` map, per-(sample, label) ``(N, L)`` (multi-label) or the full grid. It
comes back as float64 on the flat grid (``None`` means unit weights). Elements whose target
equals ``ignore_index`` get weight 0 and a valid placeholder target (0), so that zero weight
equals removal.

Scores (``docs/semantics.md``, "Metrics and validation"): binary and multi-label scores are
probabilities in ``[0, 1]`` unless ``from_logits=True`` (sigmoid). Multi-class scores may be any
reals for argmax metrics; ranking/probabilistic metrics ask for probabilities (rows summing to 1
within 1e-4 for float32/float64, within :func:`row_sum_tolerance` of the dtype for half
precision) with ``require_probabilities=True``, or ``from_logits=True`` (softmax). A score
outside ``[0, 1]`` without ``from_logits`` is a ``ValueError`` (never guessed per batch). The
threshold is strict: a score is a positive prediction when ``score > threshold``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from ..._checks import as_tensor, assert_async, format_index, value_check_mode
from ...reduction import broadcast_weight

__all__ = [
    "AVERAGES",
    "NORMS",
    "OVO_AVERAGES",
    "TASKS",
    "Formatted",
    "Task",
    "as_tensor",
    "check_average",
    "check_beta",
    "check_calibration_args",
    "check_k",
    "check_kappa_weights",
    "check_multi_class",
    "check_probabilities",
    "check_ranking_average",
    "check_task",
    "check_threshold",
    "check_top_k",
    "check_zero_division",
    "fast_multiclass_labels",
    "flat_weight",
    "format_labels",
    "format_scores",
    "infer_task",
    "num_outputs",
    "resolve_task",
    "row_sum_tolerance",
    "weight_or_ones",
]

Task = Literal["binary", "multiclass", "multilabel"]
TASKS: tuple[str, ...] = ("binary", "multiclass", "multilabel")
#: The ``average`` values of the confusion-matrix and one-vs-rest ranking metrics.
AVERAGES: tuple[str, ...] = ("micro", "macro", "weighted", "none")
#: The ``average`` values of one-vs-one ROC AUC.
OVO_AVERAGES: tuple[str, ...] = ("macro", "weighted")
#: The ``norm`` values of the calibration error.
NORMS: tuple[str, ...] = ("l1", "l2", "max")


@dataclass(frozen=True)
class Formatted:
    """Flat inputs on the element grid.

    Attributes:
        preds: binary ``(E,)``; multiclass ``(E,)`` int64 labels or ``(E, C)`` scores;
            multilabel ``(E, L)``. Labels are int64 (0/1 or class indices); scores keep the
            input's floating dtype and are probabilities after ``from_logits``.
        target: int64, ``(E,)`` (binary, multiclass) or ``(E, L)`` (multilabel).
        weight: float64 with ``target``'s shape, or ``None`` for unit weights.
        num_classes: 1 for binary (the positive class), ``C`` or ``L``.
        task: the task.
    """

    preds: torch.Tensor
    target: torch.Tensor
    weight: torch.Tensor | None
    num_classes: int
    task: str


def weight_or_ones(f: Formatted) -> torch.Tensor:
    """``f.weight``, or float64 ones of the target's flat shape when it is ``None``."""
    if f.weight is not None:
        return f.weight
    return torch.ones(f.target.shape, dtype=torch.float64, device=f.target.device)


def check_task(task: str) -> str:
    """Return ``task`` or raise ``ValueError`` naming the accepted tasks."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(map(repr, TASKS))}; got {task!r}")
    return task


def num_outputs(task: str, num_classes: int | None, num_labels: int | None) -> int:
    """The number of per-class counters: 1 (binary), ``num_classes`` or ``num_labels``."""
    check_task(task)
    if task == "binary":
        return 1
    name, value = (
        ("num_classes", num_classes) if task == "multiclass" else ("num_labels", num_labels)
    )
    if value is None or isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a positive integer for task={task!r}; got {value!r}")
    if int(value) < (2 if task == "multiclass" else 1):
        raise ValueError(
            f"{name} must be >= {2 if task == 'multiclass' else 1} for task={task!r}; got {value!r}"
        )
    return int(value)


def check_threshold(threshold: float) -> float:
    """A decision threshold in ``[0, 1]`` (strict ``score > threshold`` is positive)."""
    t = float(threshold)
    if not (0.0 <= t <= 1.0):
        raise ValueError(f"threshold must be in [0, 1]; got {threshold!r}")
    return t


def check_zero_division(zero_division: float) -> float:
    """``zero_division`` must be 0.0, 1.0 or NaN (scikit-learn's accepted values)."""
    z = float(zero_division)
    if not (z in (0.0, 1.0) or np.isnan(z)):
        raise ValueError(f"zero_division must be 0.0, 1.0 or nan; got {zero_division!r}")
    return z


def check_average(average: str | None, allowed: tuple[str, ...]) -> str:
    """Return ``average`` (``None`` means ``"none"``) or raise naming the accepted values."""
    avg = "none" if average is None else average
    if avg not in allowed:
        raise ValueError(f"average must be one of {', '.join(map(repr, allowed))}; got {average!r}")
    return avg


def check_beta(beta: float) -> float:
    """``beta`` must be a finite positive number."""
    b = float(beta)
    if not (b > 0 and b != float("inf")):
        raise ValueError(f"beta must be a finite positive number; got {beta!r}")
    return b


def check_top_k(top_k: int, task: str, num_classes: int | None) -> int:
    """``top_k`` is a positive integer, above 1 only for multiclass and at most ``C``."""
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k must be a positive integer; got {top_k!r}")
    if top_k > 1 and task != "multiclass":
        raise ValueError(f"top_k > 1 needs task='multiclass'; got top_k={top_k}, task={task!r}")
    if top_k > 1 and num_classes is not None and top_k > num_classes:
        raise ValueError(f"top_k must be <= num_classes={num_classes}; got {top_k}")
    return top_k


def check_kappa_weights(weights: str | None) -> str | None:
    """Cohen's kappa disagreement weights: ``None``, ``"linear"`` or ``"quadratic"``."""
    if weights not in (None, "linear", "quadratic"):
        raise ValueError(f"weights must be None, 'linear' or 'quadratic'; got {weights!r}")
    return weights


def check_k(k: int, num_labels: int | None = None) -> int:
    """``k`` of precision/recall at ``k``: a positive integer, at most ``num_labels``."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer; got {k!r}")
    if num_labels is not None and k > num_labels:
        raise ValueError(f"k must be <= num_labels={num_labels}; got {k}")
    return k


def check_calibration_args(n_bins: int, norm: str) -> tuple[int, str]:
    """``n_bins`` a positive integer, ``norm`` one of :data:`NORMS`."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got {n_bins!r}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(map(repr, NORMS))}; got {norm!r}")
    return n_bins, norm


def check_multi_class(multi_class: str, task: str) -> str:
    """``"ovr"`` or ``"ovo"``; one-vs-one needs the multiclass task."""
    if multi_class not in ("ovr", "ovo"):
        raise ValueError(f"multi_class must be 'ovr' or 'ovo'; got {multi_class!r}")
    if multi_class == "ovo" and task != "multiclass":
        raise ValueError(f"multi_class='ovo' needs task='multiclass'; got task={task!r}")
    return multi_class


def check_ranking_average(average: str | None, task: str, multi_class: str) -> str:
    """The ranking metrics' ``average`` (``"macro"`` for the binary task, which ignores it)."""
    if task == "binary":
        return "macro"
    if multi_class == "ovo":
        return check_average(average, OVO_AVERAGES)
    return check_average(average, AVERAGES)


def _largest_label(x: torch.Tensor) -> int:
    """The largest finite value of a label tensor as an int (0 when there is none)."""
    if x.is_floating_point():
        x = x[torch.isfinite(x)]
    return int(x.max()) if x.numel() else 0


def resolve_task(
    preds: Any,
    target: Any,
    task: str | None,
    num_classes: int | None,
    num_labels: int | None,
) -> tuple[str, int | None, int | None]:
    """Fill in ``task``, ``num_classes`` and ``num_labels`` that a functional metric was not given.

    The one rule for every functional metric and :func:`weightwise.metrics.evaluate` (the
    stateful metrics take them in their constructor and never guess):

    * ``task``: as given, else :func:`infer_task`; then checked (``ValueError`` naming the
      tasks).
    * ``num_classes`` (multiclass only, when ``None``): ``preds.shape[1]`` when ``preds``
      carries a class axis of scores (one more dimension than ``target``); otherwise ``preds``
      holds class labels and ``C`` is ``1 +`` the largest label in ``target`` and ``preds``,
      at least 2. (A score metric given labels then raises naming the score shape it needs.)
    * ``num_labels`` (multilabel only, when ``None``): ``target.shape[1]``, or
      ``preds.shape[1]`` when only ``preds`` has a second dimension; else left ``None`` (the
      formatter raises).

    A value given explicitly is never replaced; the formatters check it against the inputs.
    """
    if task is None:
        task = infer_task(preds, target)
    check_task(task)
    if task == "multiclass" and num_classes is None:
        p, t = as_tensor(preds, name="preds"), as_tensor(target, name="target")
        if p.dim() == t.dim() + 1:
            num_classes = int(p.shape[1])
        else:
            hi = _largest_label(t)
            if not p.is_floating_point():
                hi = max(hi, _largest_label(p))
            num_classes = max(hi + 1, 2)
    if task == "multilabel" and num_labels is None:
        p, t = as_tensor(preds, name="preds"), as_tensor(target, name="target")
        if t.dim() >= 2:
            num_labels = int(t.shape[1])
        elif p.dim() >= 2:
            num_labels = int(p.shape[1])
    return task, num_classes, num_labels


def infer_task(preds: Any, target: Any) -> str:
    """Guess the task from shapes and dtypes (used by :func:`weightwise.metrics.evaluate`).

    * ``preds`` with one more dimension than ``target``: ``"multiclass"`` (scores).
    * same shape, 1-D: ``"binary"`` when every target is 0 or 1 and ``preds`` are floating
      scores or 0/1 labels, otherwise ``"multiclass"`` (labels).
    * same shape, 2-D: ``"multilabel"``.

    Anything else raises ``ValueError`` asking for ``task=``.
    """
    p, t = as_tensor(preds, name="preds"), as_tensor(target, name="target")
    if p.dim() == t.dim() + 1:
        return "multiclass"
    if p.shape == t.shape and p.dim() == 1:
        if t.numel() == 0:
            return "binary"
        binary_t = bool(((t == 0) | (t == 1)).all())
        binary_p = p.is_floating_point() or bool(((p == 0) | (p == 1)).all())
        return "binary" if binary_t and binary_p else "multiclass"
    if p.shape == t.shape and p.dim() == 2:
        return "multilabel"
    raise ValueError(
        f"cannot infer the task from preds of shape {tuple(p.shape)} and target of shape "
        f"{tuple(t.shape)}; pass task='binary', 'multiclass' or 'multilabel'"
    )


def row_sum_tolerance(dtype: torch.dtype) -> float:
    """How far a row of probabilities in ``dtype`` may sum from 1: ``max(1e-4, 8 * eps)``.

    Rounding each probability to ``dtype`` moves it by at most ``eps / 2`` of itself, so a row
    that summed to 1 before rounding sums to 1 within ``eps / 2`` after it (whatever ``C``; the
    sum is taken in float64). ``8 * eps`` also leaves room for a softmax or a division computed
    in that dtype. float32 and float64 keep the 1e-4 of scikit-learn's ``log_loss``; float16
    gets about 7.8e-3 and bfloat16 0.0625.
    """
    eps = torch.finfo(dtype).eps if dtype.is_floating_point else 0.0
    return max(1e-4, 8.0 * eps)


def check_probabilities(x: torch.Tensor, name: str = "preds", *, rows: bool = False) -> None:
    """Scores must lie in ``[0, 1]`` (and, with ``rows``, sum to 1 along dim 1).

    The row sums are taken in float64 and may differ from 1 by :func:`row_sum_tolerance` of
    ``x``'s dtype (1e-4 for float32/float64; more for float16 and bfloat16). A value check: it
    follows the check mode of :func:`weightwise.set_checks` (``"async"``: a device-side
    assertion, no host read; ``"off"``: skipped).
    """
    mode = value_check_mode(x)
    if mode == "off" or x.numel() == 0:
        return
    xd = x.detach()
    tol = row_sum_tolerance(x.dtype)
    if mode == "async":
        assert_async(((xd >= 0) & (xd <= 1)).all(), f"{name} must be probabilities in [0, 1]")
        if rows:
            sums = xd.sum(dim=1, dtype=torch.float64)
            assert_async(
                ((sums - 1).abs() <= tol).all(),
                f"{name} must hold probabilities that sum to 1 along dim 1",
            )
        return
    lo, hi = torch.aminmax(xd)
    if not (bool(lo >= 0) and bool(hi <= 1)):  # also catches NaN
        bad = ~((x >= 0) & (x <= 1))
        pos = int(torch.nonzero(bad.reshape(-1))[0, 0])
        raise ValueError(
            f"{name} must be probabilities in [0, 1] (pass from_logits=True for logits); got "
            f"{x.reshape(-1)[pos].item()!r} at {format_index(pos, tuple(x.shape))}"
        )
    if rows:
        sums = xd.sum(dim=1, dtype=torch.float64)
        err = (sums - 1).abs()
        bad = err > tol
        if bool(bad.any()):
            pos = int(torch.nonzero(bad.reshape(-1))[0, 0])
            off = float(err.reshape(-1)[pos])
            # Scores in [0, 1] whose rows are nearly normalised are probabilities with a
            # rounding or normalisation error, not logits: the hint then says to renormalise.
            hint = (
                "renormalise the rows, e.g. preds / preds.sum(dim=1, keepdim=True)"
                if off <= 0.05
                else "pass from_logits=True for logits"
            )
            raise ValueError(
                f"{name} must hold probabilities that sum to 1 along dim 1 within {tol:.3g} "
                f"for dtype {str(x.dtype).replace('torch.', '')} ({hint}); got a sum of "
                f"{sums.reshape(-1)[pos].item()!r} at {format_index(pos, tuple(sums.shape))}"
            )


def _check_binary_values(x: torch.Tensor, name: str) -> None:
    mode = value_check_mode(x)
    if mode == "off" or x.numel() == 0:
        return
    if mode == "async":
        assert_async(((x == 0) | (x == 1)).all(), f"{name} must be 0 or 1")
        return
    bad = (x != 0) & (x != 1)
    if bool(bad.any()):
        pos = int(torch.nonzero(bad.reshape(-1))[0, 0])
        raise ValueError(
            f"{name} must be 0 or 1; got {x.reshape(-1)[pos].item()!r} at "
            f"{format_index(pos, tuple(x.shape))}"
        )


def _check_class_range(
    x: torch.Tensor, num_classes: int, name: str, ignore_index: int | None = None
) -> None:
    mode = value_check_mode(x)
    if mode == "off" or x.numel() == 0:
        return
    allowed = f"[0, {num_classes})"
    if ignore_index is not None:
        allowed += f" or ignore_index={ignore_index}"
    if mode == "async":
        out = (x < 0) | (x >= num_classes)
        if ignore_index is not None:
            out &= x != ignore_index
        assert_async(~out.any(), f"{name} must be in {allowed}")
        return
    lo, hi = torch.aminmax(x)
    if int(lo) >= 0 and int(hi) < num_classes:
        return
    bad = (x < 0) | (x >= num_classes)
    if ignore_index is not None:
        bad &= x != ignore_index
    if bool(bad.any()):
        pos = int(torch.nonzero(bad.reshape(-1))[0, 0])
        raise ValueError(
            f"{name} must be in {allowed}; got {x.reshape(-1)[pos].item()!r} at "
            f"{format_index(pos, tuple(x.shape))}"
        )


def _as_int_labels(x: torch.Tensor, name: str) -> torch.Tensor:
    """Integer/bool labels as int64; integral floating labels are accepted too."""
    if x.dtype == torch.bool:
        return x.long()
    if x.is_floating_point():
        mode = value_check_mode(x)
        if mode == "async" and x.numel():
            assert_async((x == torch.round(x)).all(), f"{name} must hold integer class labels")
        elif mode == "eager" and x.numel() and not bool((x == torch.round(x)).all()):
            bad = x != torch.round(x)
            pos = int(torch.nonzero(bad.reshape(-1))[0, 0])
            raise ValueError(
                f"{name} must hold integer class labels; got {x.reshape(-1)[pos].item()!r} at "
                f"{format_index(pos, tuple(x.shape))}"
            )
        return x.long()
    if x.is_complex():
        raise ValueError(f"{name} must be real; got dtype {x.dtype}")
    return x.long()


def flat_weight(
    sample_weight: Any,
    grid_shape: tuple[int, ...],
    *,
    class_axis: bool = False,
    device: torch.device | None = None,
    name: str = "sample_weight",
) -> torch.Tensor | None:
    """Broadcast ``sample_weight`` onto ``grid_shape`` and flatten it like the inputs.

    ``grid_shape`` is the target's shape. With ``class_axis=True`` (multi-label) dim 1 is the
    label axis: the weight is broadcast with :func:`broadcast_weight`'s four shapes and returned
    as ``(E, L)`` with the label axis last; otherwise it is returned as ``(E,)``. The result is
    float64 on ``device``; ``None`` stays ``None``. Finite/non-negative values are checked
    (a value check) with messages naming ``name``.
    """
    if sample_weight is None:
        return None
    like = torch.empty(0, dtype=torch.float64, device=device)
    w = sample_weight
    if not isinstance(w, (int, float)):
        w = as_tensor(w, name=name)
        if w.dtype == torch.bool:
            w = w.double()
    full = broadcast_weight(w, grid_shape, name=name, class_axis=class_axis, like=like)
    if class_axis and len(grid_shape) >= 2:
        return full.movedim(1, -1).reshape(-1, grid_shape[1])
    return full.reshape(-1)


def _prepare(preds: Any, target: Any, task: str) -> tuple[torch.Tensor, torch.Tensor]:
    check_task(task)
    p = as_tensor(preds, name="preds")
    t = as_tensor(target, name="target")
    if p.device != t.device:
        raise ValueError(f"preds and target must be on one device; got {p.device} and {t.device}")
    return p, t


def _apply_ignore(
    target: torch.Tensor, weight: torch.Tensor | None, ignore_index: int | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    if ignore_index is None:
        return target, weight
    ignored = target == ignore_index
    keep = (~ignored).to(torch.float64)
    weight = keep if weight is None else weight * keep
    target = torch.where(ignored, torch.zeros_like(target), target)
    return target, weight


def _to_probs(scores: torch.Tensor, task: str, from_logits: bool) -> torch.Tensor:
    if not scores.is_floating_point():
        scores = scores.to(torch.get_default_dtype())
    if from_logits:
        return torch.softmax(scores, dim=1) if task == "multiclass" else torch.sigmoid(scores)
    return scores


def _check_shapes(p: torch.Tensor, t: torch.Tensor, task: str, n_out: int) -> bool:
    """Validate shapes; return True when ``preds`` carries a class axis of scores."""
    if task == "binary":
        if p.shape != t.shape:
            raise ValueError(
                f"preds and target must have the same shape for task='binary'; got "
                f"{tuple(p.shape)} and {tuple(t.shape)}"
            )
        return False
    if task == "multiclass":
        if p.shape == t.shape:
            return False
        expected = (t.shape[0], n_out, *t.shape[1:]) if t.dim() else None
        if expected is not None and tuple(p.shape) == expected:
            return True
        raise ValueError(
            f"for task='multiclass' preds must be class labels of the target's shape "
            f"{tuple(t.shape)} or scores of shape {expected}; got {tuple(p.shape)}"
        )
    if p.shape != t.shape or t.dim() < 2 or t.shape[1] != n_out:
        raise ValueError(
            f"for task='multilabel' preds and target must both have shape (N, {n_out}, ...); "
            f"got {tuple(p.shape)} and {tuple(t.shape)}"
        )
    return True


def _flatten_class(x: torch.Tensor) -> torch.Tensor:
    return x.movedim(1, -1).reshape(-1, x.shape[1])


def format_labels(
    preds: Any,
    target: Any,
    sample_weight: Any = None,
    *,
    task: str,
    num_classes: int | None = None,
    num_labels: int | None = None,
    threshold: float = 0.5,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> Formatted:
    """Hard predictions on the flat element grid, for confusion-matrix metrics.

    * binary: ``preds`` are probabilities ``(N, d...)`` (``> threshold`` is positive; a sigmoid
      first with ``from_logits``) or 0/1 labels (integer or bool); ``target`` is 0/1.
      Returns ``preds``/``target`` ``(E,)`` int64 0/1.
    * multiclass: ``preds`` are class indices of the target's shape, or scores
      ``(N, C, d...)`` (any reals; argmax with ties to the lower index). Returns ``(E,)``.
    * multilabel: ``preds`` ``(N, L, d...)`` probabilities or 0/1 labels, like binary.
      Returns ``(E, L)``.

    ``weight`` is float64 on the target's flat shape, or ``None``; ignored elements carry 0.
    """
    p, t = _prepare(preds, target, task)
    n_out = num_outputs(task, num_classes, num_labels)
    has_axis = _check_shapes(p, t, task, n_out)
    weight = flat_weight(
        sample_weight, tuple(t.shape), class_axis=task == "multilabel", device=t.device
    )
    if task == "multiclass":
        tl = _as_int_labels(t, "target")
        _check_class_range(tl, n_out, "target", ignore_index)
        if has_axis:
            pl = p.argmax(dim=1)
        else:
            if p.is_floating_point():
                raise ValueError(
                    "multiclass preds of the target's shape must be integer class labels; got "
                    f"dtype {p.dtype} (pass scores of shape (N, C, ...) instead)"
                )
            pl = _as_int_labels(p, "preds")
            _check_class_range(pl, n_out, "preds")
        tl, weight = _apply_ignore(tl.reshape(-1), weight, ignore_index)
        return Formatted(pl.reshape(-1), tl, weight, n_out, task)
    # binary / multilabel
    tl = _as_int_labels(t, "target")
    if ignore_index is not None:
        ignored = tl == ignore_index
        _check_binary_values(torch.where(ignored, torch.zeros_like(tl), tl), "target")
    else:
        _check_binary_values(tl, "target")
    if p.is_floating_point():
        probs = _to_probs(p, task, from_logits)
        if not from_logits:
            check_probabilities(probs, "preds")
        pl = (probs > check_threshold(threshold)).long()
    else:
        pl = _as_int_labels(p, "preds")
        _check_binary_values(pl, "preds")
    if task == "multilabel":
        pl, tl = _flatten_class(pl), _flatten_class(tl)
    else:
        pl, tl = pl.reshape(-1), tl.reshape(-1)
    tl, weight = _apply_ignore(tl, weight, ignore_index)
    return Formatted(pl, tl, weight, n_out, task)


_INT_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)


def fast_multiclass_labels(
    preds: Any, target: Any, sample_weight: Any, num_classes: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None] | None:
    """The common multiclass case without :func:`format_labels`' generic reshaping.

    Handles ``target`` a 1-D integer tensor ``(N,)``, ``preds`` floating scores ``(N, C)`` or
    integer labels ``(N,)`` on the same device, and ``sample_weight`` ``None`` or a 1-D floating
    tensor ``(N,)`` there (no ``ignore_index``). Returns ``(preds, target, weight)`` exactly as
    :func:`format_labels` would (int64 labels, float64 weight or ``None``), or ``None`` when the
    inputs are anything else *or fail a value check*: the caller then takes the generic path,
    which raises the usual error. The value checks are fused: one ``aminmax`` per label tensor
    and one ``min`` and one ``sum`` for the weight.
    """
    if not (isinstance(preds, torch.Tensor) and isinstance(target, torch.Tensor)):
        return None
    if target.dim() != 1 or target.dtype not in _INT_DTYPES or preds.device != target.device:
        return None
    n = target.shape[0]
    if n == 0:
        return None
    label_preds = preds.dim() == 1
    if label_preds:
        if preds.shape[0] != n or preds.dtype not in _INT_DTYPES:
            return None
    elif preds.shape != (n, num_classes) or not preds.is_floating_point():
        return None
    w = None
    if sample_weight is not None:
        if not (
            isinstance(sample_weight, torch.Tensor)
            and sample_weight.dim() == 1
            and sample_weight.shape[0] == n
            and sample_weight.is_floating_point()
            and sample_weight.device == target.device
        ):
            return None
        w = sample_weight.to(torch.float64)
    mode = value_check_mode(target)
    if mode == "async":
        # The generic path's checks, as device-side assertions (no host read).
        if w is not None:
            assert_async(
                torch.isfinite(w).all() & (w >= 0).all(),
                "sample_weight must be finite and non-negative",
            )
        _check_class_range(target, num_classes, "target")
        if label_preds:
            _check_class_range(preds, num_classes, "preds")
    elif mode == "eager":
        if w is not None and not (float(w.min()) >= 0 and math.isfinite(float(w.sum()))):
            return None
        lo, hi = torch.aminmax(target)
        if int(lo) < 0 or int(hi) >= num_classes:
            return None
        if label_preds:
            lo, hi = torch.aminmax(preds)
            if int(lo) < 0 or int(hi) >= num_classes:
                return None
    pl = preds.long() if label_preds else preds.argmax(dim=1)
    return pl, target.long(), w


def format_scores(
    preds: Any,
    target: Any,
    sample_weight: Any = None,
    *,
    task: str,
    num_classes: int | None = None,
    num_labels: int | None = None,
    from_logits: bool = False,
    ignore_index: int | None = None,
    require_probabilities: bool = True,
) -> Formatted:
    """Scores on the flat element grid, for ranking, probabilistic and top-k metrics.

    * binary: ``preds`` ``(N, d...)`` scores -> ``(E,)``; ``target`` 0/1 -> ``(E,)`` int64.
    * multiclass: ``preds`` ``(N, C, d...)`` -> ``(E, C)``; ``target`` ``(N, d...)`` -> ``(E,)``.
    * multilabel: ``preds`` and ``target`` ``(N, L, d...)`` -> ``(E, L)``.

    With ``from_logits`` a sigmoid (binary, multilabel) or softmax over dim 1 (multiclass) is
    applied. With ``require_probabilities`` (the default) the scores must lie in ``[0, 1]``,
    and multiclass rows must sum to 1 within :func:`row_sum_tolerance`; with
    ``require_probabilities=False`` and no ``from_logits`` raw scores pass through unchanged
    (e.g. top-k accuracy, ovo AUROC). Integer scores are converted to the default floating
    dtype; floating scores keep their dtype.
    """
    p, t = _prepare(preds, target, task)
    n_out = num_outputs(task, num_classes, num_labels)
    has_axis = _check_shapes(p, t, task, n_out)
    if task == "multiclass" and not has_axis:
        raise ValueError(
            f"this metric needs multiclass scores of shape {(t.shape[0], n_out, *t.shape[1:])}"
            f"; got preds of shape {tuple(p.shape)} (class labels carry no score)"
        )
    weight = flat_weight(
        sample_weight, tuple(t.shape), class_axis=task == "multilabel", device=t.device
    )
    tl = _as_int_labels(t, "target")
    if task == "multiclass":
        _check_class_range(tl, n_out, "target", ignore_index)
    elif ignore_index is not None:
        _check_binary_values(torch.where(tl == ignore_index, torch.zeros_like(tl), tl), "target")
    else:
        _check_binary_values(tl, "target")
    probs = _to_probs(p, task, from_logits)
    if require_probabilities and not from_logits:
        check_probabilities(probs, "preds", rows=task == "multiclass")
    if task == "binary":
        sp, tl = probs.reshape(-1), tl.reshape(-1)
    else:
        sp = _flatten_class(probs)
        tl = tl.reshape(-1) if task == "multiclass" else _flatten_class(tl)
    tl, weight = _apply_ignore(tl, weight, ignore_index)
    return Formatted(sp, tl, weight, n_out, task)
