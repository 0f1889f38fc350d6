"""``report_table``: a classification report dict as a rich table (rich imported lazily)."""

from __future__ import annotations

from typing import Any

__all__ = ["report_table"]


def report_table(report: dict[str, Any], *, title: str | None = None, digits: int = 4) -> Any:
    """Render a report dict as a ``rich.table.Table`` (rich is imported here, lazily).

    Args:
        report: the dict of :func:`weightwise.metrics.functional.classification_report` or
            :meth:`weightwise.metrics.ClassificationReport.compute`.
        title: the table's title.
        digits: decimals of the float columns.

    Returns:
        A ``rich.table.Table`` with one row per class and average.

    Example:
        >>> import torch
        >>> from weightwise.metrics.functional import classification_report
        >>> table = report_table(classification_report(torch.tensor([0, 1]), torch.tensor([0, 0])))
        >>> table.row_count
        5
    """
    from rich.table import Table

    table = Table(title=title)
    cols = ["precision", "recall", "f1-score", "support", "weighted_support", "predicted"]
    table.add_column("class")
    for c in cols:
        table.add_column(c, justify="right")

    def fmt(v: Any) -> str:
        if isinstance(v, int):
            return str(v)
        return f"{v:.{digits}f}"

    for name, row in report.items():
        if isinstance(row, dict):
            table.add_row(name, *(fmt(row[c]) if c in row else "" for c in cols))
        else:
            table.add_row(name, "", "", fmt(row), "", "", "")
    return table
