"""The options every task-based ``Metric`` class shares (private; imports torchmetrics)."""

from __future__ import annotations

from typing import Any

from torchmetrics import Metric

from .functional._inputs import check_task, check_threshold, num_outputs

__all__ = ["LabelMetric", "TaskMetric"]


class TaskMetric(Metric):
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
