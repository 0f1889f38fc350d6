"""The options every task-based ``Metric`` class shares (private; imports torchmetrics)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torchmetrics import Metric

from .functional._inputs import check_task, check_threshold, num_outputs

__all__ = ["CompilableMetric", "LabelMetric", "TaskMetric"]


class CompilableMetric(Metric):
    """A torchmetrics ``Metric`` whose ``update`` compiles once.

    torchmetrics wraps ``update`` in a function that counts the calls in a Python int,
    ``self._update_count += 1``. Dynamo specialises on integer attributes of a module, so
    ``torch.compile(metric.update)`` would recompile at every step. Traced by dynamo
    (``torch.compiler.is_compiling()``), our wrapper counts in a 0-d int64 buffer instead
    (``add_(1)`` in the graph) and marks the count pending; ``_update_count`` is a property that
    folds the pending count into the Python int the first time it is read in eager code (one
    host read, at ``compute`` or ``update_count``), so torchmetrics' bookkeeping (``update_called``,
    the "compute before update" warning, ``forward``, ``reset``) is unchanged. Eager calls go
    through torchmetrics' own wrapper.
    """

    _compiled_update_count: torch.Tensor

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Not a state: not synchronised, not in ``state_dict``; follows ``.to(device)``.
        self.register_buffer(
            "_compiled_update_count", torch.zeros((), dtype=torch.int64), persistent=False
        )

    @property
    def _update_count(self) -> int:
        d = self.__dict__
        if torch.compiler.is_compiling():
            # Read while tracing (torchmetrics' MetricCollection copies a compute group's count
            # into its other members after each update): no fold, which would read the device
            # and change the host int that dynamo guards on at every step; the host count, plus
            # one for the pending updates, is a lower bound that keeps "updated" true.
            pending_now = bool(d.get("_update_count_pending", False))
            return int(d.get("_update_count_host", 0)) + int(pending_now)
        if d.get("_update_count_pending", False):
            pending = self._compiled_update_count
            d["_update_count_host"] += int(pending)  # the one host read
            pending.zero_()
            d["_update_count_pending"] = False
        return int(d.get("_update_count_host", 0))

    @_update_count.setter
    def _update_count(self, value: int) -> None:
        d = self.__dict__
        if d.get("_update_count_pending", False):  # reset() or forward(): drop the pending count
            self._compiled_update_count.zero_()
            d["_update_count_pending"] = False
        d["_update_count_host"] = value

    def _apply(self, fn: Callable, exclude_state: Sequence[str] = "") -> Any:
        this = super()._apply(fn, exclude_state)
        count = this.__dict__["_buffers"].get("_compiled_update_count")
        if count is not None and count.dtype != torch.int64:  # set_dtype() casts every buffer
            this._compiled_update_count = count.long()
        return this

    def _wrap_update(self, update: Callable) -> Callable:
        eager = super()._wrap_update(update)

        @functools.wraps(update)
        def wrapped_func(*args: Any, **kwargs: Any) -> None:
            if not torch.compiler.is_compiling():
                eager(*args, **kwargs)
                return
            self._computed = None
            self._compiled_update_count.add_(1)
            self._update_count_pending = True
            with torch.set_grad_enabled(self._enable_grad):
                update(*args, **kwargs)
            if self.compute_on_cpu:
                self._move_list_states_to_cpu()

        return wrapped_func


class TaskMetric(CompilableMetric):
    """Base of the stateful metrics: keeps and checks ``task``, ``num_classes``,
    ``num_labels``, ``from_logits`` and ``ignore_index``, and hands them to the functional
    update steps as :meth:`_format_options`."""

    is_differentiable = False
    full_state_update = False

    def _set_task(
        self,
        task: str,
        *,
        num_classes: int | None,
        num_labels: int | None,
        from_logits: bool,
        ignore_index: int | None,
    ) -> int:
        """Check and keep the shared options; return the number of outputs (1, ``C`` or ``L``)."""
        self.task = check_task(task)
        self.num_outputs = num_outputs(task, num_classes, num_labels)
        self.num_classes = num_classes
        self.num_labels = num_labels
        self.from_logits = bool(from_logits)
        self.ignore_index = ignore_index
        return self.num_outputs

    def _format_options(self) -> dict[str, Any]:
        """The keywords of the functional formatting steps."""
        return {
            "task": self.task,
            "num_classes": self.num_classes,
            "num_labels": self.num_labels,
            "from_logits": self.from_logits,
            "ignore_index": self.ignore_index,
        }


class LabelMetric(TaskMetric):
    """A :class:`TaskMetric` on hard labels: also keeps the decision ``threshold``."""

    def _set_labels(
        self,
        task: str,
        *,
        num_classes: int | None,
        num_labels: int | None,
        threshold: float,
        from_logits: bool,
        ignore_index: int | None,
    ) -> int:
        """:meth:`_set_task`, then the threshold; return the number of outputs."""
        k = self._set_task(
            task,
            num_classes=num_classes,
            num_labels=num_labels,
            from_logits=from_logits,
            ignore_index=ignore_index,
        )
        self.threshold = check_threshold(threshold)
        return k

    def _format_options(self) -> dict[str, Any]:
        return {**super()._format_options(), "threshold": self.threshold}
