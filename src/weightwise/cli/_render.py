"""Rich tables for the CLI's reports."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ._inspect import InspectReport

__all__ = ["render_inspect"]

#: Column headers that would otherwise widen the scheme tables past 80 characters.
_SHORT_HEADERS = {
    "inverse_sqrt": "inverse\nsqrt",
    "median_frequency": "median\nfrequency",
    "effective": "effective",
}


def _num(value: float, digits: int = 4) -> str:
    return f"{value:.{digits}g}"


def _pct(value: float) -> str:
    return f"{100.0 * value:.1f}%"


def render_inspect(report: InspectReport, *, title: str, console: Console) -> None:
    """Print ``report`` as four tables: summary, classes, class weights, loss shares.

    Args:
        report: what :func:`~weightwise.cli._inspect.inspect_labels` computed.
        title: one line naming the data, printed first.
        console: where to print.
    """
    weighted = report.weighted_counts is not None
    console.print(Text(title, style="bold"))

    summary = Table(title="Summary", show_header=False, title_justify="left")
    summary.add_column("quantity")
    summary.add_column("value", justify="right")
    summary.add_row("samples N", str(report.num_samples))
    summary.add_row("classes K", str(report.num_classes))
    summary.add_row("imbalance ratio (max / min count)", _num(report.imbalance_ratio))
    if weighted:
        summary.add_row("sum of sample weights", _num(report.sample_weight_sum, 6))
        summary.add_row("Kish ESS of the sample weights", _num(report.effective_sample_size, 6))
        summary.add_row(
            "Kish ESS of balanced × sample weights",
            _num(report.balanced_effective_sample_size, 6),
        )
    else:
        summary.add_row("Kish ESS (unit weights)", _num(report.effective_sample_size, 6))
        summary.add_row(
            "Kish ESS with balanced weights", _num(report.balanced_effective_sample_size, 6)
        )
    console.print(summary)

    classes = Table(title="Classes", title_justify="left")
    classes.add_column("label", justify="right")
    classes.add_column("name")
    classes.add_column("count", justify="right")
    if report.weighted_counts is not None:
        classes.add_column("Σ sample weight", justify="right")
    classes.add_column("share of N", justify="right")
    for c, name in enumerate(report.class_names):
        row: list[str | Text] = [str(c), Text(name), str(int(report.counts[c]))]
        if report.weighted_counts is not None:
            row.append(_num(float(report.weighted_counts[c]), 6))
        row.append(_pct(float(report.counts[c]) / report.num_samples))
        classes.add_row(*row)
    console.print(classes)

    weights = Table(
        title='Class weights w_c (normalize="samples": Σ n_c·w_c = N)',
        title_justify="left",
        caption=f"effective: β = {report.beta:g}; Kish ESS = (Σω)² / Σω² with ω_i = s_i·w_(y_i)",
        caption_justify="left",
    )
    shares = Table(
        title="Share of the total loss weight" + (", sample weights included" if weighted else ""),
        title_justify="left",
    )
    for table in (weights, shares):
        table.add_column("name")
        for scheme in report.schemes:
            table.add_column(_SHORT_HEADERS.get(scheme.name, scheme.name), justify="right")
    for c, name in enumerate(report.class_names):
        weights.add_row(Text(name), *(_num(float(s.class_weights[c])) for s in report.schemes))
        shares.add_row(Text(name), *(_pct(float(s.loss_share[c])) for s in report.schemes))
    weights.add_section()
    weights.add_row(
        Text("Kish ESS", style="italic"),
        *(_num(s.effective_sample_size, 5) for s in report.schemes),
    )
    console.print(weights)
    console.print(shares)
