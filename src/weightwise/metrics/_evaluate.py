"""``evaluate``: several metrics in one call, weighted and unweighted side by side."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from .functional._inputs import resolve_task
from .functional._keyword import keyword_sample_weight

__all__ = ["evaluate", "register_metric"]

_CUSTOM: dict[str, Callable[..., Any]] = {}

_DEFAULTS: dict[str, tuple[str, ...]] = {
    "binary": (
        "accuracy", "balanced_accuracy", "precision", "recall", "f1_score", "matthews_corrcoef",
    ),
    "multiclass": (
        "accuracy", "balanced_accuracy", "precision", "recall", "f1_score", "matthews_corrcoef",
    ),
    "multilabel": ("accuracy", "precision", "recall", "f1_score"),
}  # fmt: skip


def register_metric(name: str, fn: Callable[..., Any]) -> None:
    """Make ``fn(preds, target, *, sample_weight=None, **options)`` available to
    :func:`evaluate` as ``name``. Every public function of :mod:`weightwise.metrics.functional`
    is available by its name without registering. A ``fn`` without a ``sample_weight``
    parameter gets the weight as its third positional argument."""
    if not callable(fn):
        raise ValueError(f"fn must be callable; got {type(fn).__name__}")
    _CUSTOM[str(name)] = fn


def _lookup(name: str) -> Callable[..., Any]:
    if name in _CUSTOM:
        return _CUSTOM[name]
    from . import functional

    if name in functional.__all__:
        fn: Callable[..., Any] = getattr(functional, name)
        return fn
    known = sorted({*functional.__all__, *_CUSTOM})
    raise ValueError(f"metrics holds an unknown metric name {name!r}; known: {', '.join(known)}")


def _accepts(fn: Callable[..., Any]) -> tuple[set[str], bool]:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return set(), True
    names = {p.name for p in params}
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    return names, var_kw


def _to_python(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.item() if value.dim() == 0 else value.tolist()
    return value


@keyword_sample_weight
def evaluate(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    metrics: Sequence[str] | Mapping[str, Callable[..., Any]] | None = None,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    **options: Any,
) -> dict[str, dict[str, Any]]:
    """Compute several metrics on one evaluation set.

    Args:
        preds: as for every metric in :mod:`weightwise.metrics.functional`.
        target: as for every metric in :mod:`weightwise.metrics.functional`.
        sample_weight: keyword-only (a positional one still works for one release, with a
            ``FutureWarning``); as for every metric in :mod:`weightwise.metrics.functional`.
        metrics: metric names (any public function of :mod:`weightwise.metrics.functional`,
            or a name given to :func:`register_metric`), or a mapping from a display name to a
            callable ``fn(preds, target, *, sample_weight, **options)`` (or
            ``fn(preds, target, w, **options)`` when it has no ``sample_weight`` parameter).
            ``None`` picks accuracy, balanced accuracy, precision, recall, F1 and MCC
            (multilabel: accuracy, precision, recall, F1).
        task: inferred from the inputs when ``None``.
        num_classes: inferred from the inputs when ``None`` (see
            :func:`weightwise.metrics.functional.accuracy`).
        num_labels: inferred from the inputs when ``None``.
        options: keyword options (``average=``, ``threshold=``, ``from_logits=``...) passed to
            each metric whose signature accepts them; the others do not see them.

    Returns:
        ``{"unweighted": {name: value}}``, and with ``sample_weight`` also
        ``{"weighted": {name: value}}`` (the weighted value first), so a report can show both
        side by side. Scalars come back as floats, per-class values as lists.

    Example:
        >>> import torch
        >>> from weightwise.metrics import evaluate
        >>> p, y = torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2])
        >>> w = torch.tensor([1.0, 1.0, 2.0, 0.0])
        >>> out = evaluate(p, y, sample_weight=w, metrics=["accuracy"])
        >>> out["weighted"]["accuracy"], out["unweighted"]["accuracy"]
        (0.5, 0.75)
    """
    task, num_classes, num_labels = resolve_task(preds, target, task, num_classes, num_labels)
    if metrics is None:
        chosen: dict[str, Callable[..., Any]] = {m: _lookup(m) for m in _DEFAULTS[task]}
    elif isinstance(metrics, Mapping):
        chosen = dict(metrics)
    elif isinstance(metrics, str):
        chosen = {metrics: _lookup(metrics)}
    else:
        chosen = {m: _lookup(m) for m in metrics}
    common = {"task": task, "num_classes": num_classes, "num_labels": num_labels, **options}
    runs: list[tuple[str, Any]] = []
    if sample_weight is not None:
        runs.append(("weighted", sample_weight))
    runs.append(("unweighted", None))
    out: dict[str, dict[str, Any]] = {}
    for label, weight in runs:
        values: dict[str, Any] = {}
        for name, fn in chosen.items():
            accepted, var_kw = _accepts(fn)
            kwargs = {k: v for k, v in common.items() if var_kw or k in accepted}
            if "sample_weight" in accepted:
                result = fn(preds, target, sample_weight=weight, **kwargs)
            else:
                result = fn(preds, target, weight, **kwargs)
            values[name] = _to_python(result)
        out[label] = values
    return out
