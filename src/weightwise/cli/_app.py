"""The ``weightwise`` command: a typer app with one subcommand per task.

This layer parses options, calls the pure functions in the private modules next to it, and
turns a user's mistake into one ``error: …`` line on stderr with exit code 2.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

try:  # recent typer releases vendor click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer depends on click
    from click.exceptions import ClickException  # type: ignore[no-redef]

from weightwise.datasets import DataError

__all__ = ["UserError", "app", "main"]

#: Exit status for a user's mistake (bad option, bad data), as click uses for usage errors.
USAGE_EXIT_CODE = 2


class UserError(Exception):
    """A mistake in how the command was called; its message is shown as ``error: <message>``."""


def _fail(message: str) -> None:
    line = " ".join(str(message).split())
    sys.stderr.write(f"error: {line}\n")
    sys.stderr.flush()
    sys.exit(USAGE_EXIT_CODE)


class _Group(TyperGroup):
    """A typer group whose errors are one line on stderr instead of a usage panel."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(
                args=args,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except ClickException as exc:
            _fail(exc.format_message())
        except (DataError, UserError) as exc:
            _fail(str(exc))
        except typer.Abort:
            sys.stderr.write("Aborted!\n")
            sys.exit(1)
        if not standalone_mode:
            return result
        # In non-standalone mode click returns the code of a ``typer.Exit`` (help, --version).
        sys.exit(result if isinstance(result, int) else 0)


app = typer.Typer(
    cls=_Group,
    name="weightwise",
    help="Sample weights and class weights, done right: inspect your labels and weights.",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback(invoke_without_command=True)
def _root(ctx: typer.Context) -> None:
    """Sample weights and class weights, done right: inspect your labels and weights."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


@app.command("inspect")
def inspect_command(
    *,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="CSV, TSV or Parquet file to inspect. Without it, the built-in digits-LT "
            "training split is used.",
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", help="Label column of --data (required with --data)."),
    ] = None,
    weight_column: Annotated[
        str | None,
        typer.Option("--weight-column", help="Column of --data with non-negative sample weights."),
    ] = None,
    imbalance_ratio: Annotated[
        float | None,
        typer.Option(
            "--imbalance-ratio",
            help="Built-in data only: head / tail class size, >= 1.  [default: 10]",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Built-in data only: seed of the split.  [default: 0]",
            show_default=False,
        ),
    ] = None,
    beta: Annotated[
        float,
        typer.Option("--beta", help="β of the 'effective' scheme, in [0, 1)."),
    ] = 0.999,
    json_output: Annotated[
        bool,
        typer.Option("--json", help="Print one JSON object on stdout instead of tables."),
    ] = False,
) -> None:
    """Show class counts, imbalance, effective sample size and every scheme's class weights.

    Class weights are computed from the plain class counts with normalize="samples"
    (Σ n_c·w_c = N). A --weight-column multiplies in as sample weights: each class's share of
    the loss is Σ_{y_i=c} s_i·w_c / Σ_i s_i·w_(y_i).
    """
    from weightwise.datasets import load_digits_lt, load_table

    from ._inspect import inspect_labels

    if not (0.0 <= beta < 1.0):
        raise UserError(f"--beta must be in [0, 1), got {beta:g}")

    source: dict[str, Any]
    if data is None:
        if target is not None or weight_column is not None:
            raise UserError("--target and --weight-column need --data PATH (a CSV or Parquet file)")
        ratio = 10.0 if imbalance_ratio is None else imbalance_ratio
        split_seed = 0 if seed is None else seed
        if not math.isfinite(ratio) or ratio < 1.0:
            raise UserError(f"--imbalance-ratio must be a finite number >= 1, got {ratio:g}")
        if split_seed < 0:
            raise UserError(f"--seed must be >= 0, got {split_seed}")
        lt = load_digits_lt(imbalance_ratio=ratio, seed=split_seed)
        labels, class_names, sample_weight = lt.y_train, list(lt.class_names), None
        source = {"source": "digits_lt", "split": "train", "imbalance_ratio": ratio}
        source["seed"] = split_seed
        title = f"digits-LT training split (imbalance ratio {ratio:g}, seed {split_seed})"
    else:
        if target is None:
            raise UserError("--data needs --target COLUMN, the name of the label column")
        if imbalance_ratio is not None or seed is not None:
            raise UserError("--imbalance-ratio and --seed apply to the built-in data, not --data")
        table = load_table(data, target=target, weight_column=weight_column)
        labels, class_names, sample_weight = table.labels, table.class_names, table.sample_weight
        source = {"source": "file", "path": str(data), "target": target}
        source["weight_column"] = weight_column
        title = f"{data}: target {target!r}" + (
            f", sample weights from {weight_column!r}" if weight_column else ""
        )

    report = inspect_labels(labels, class_names=class_names, sample_weight=sample_weight, beta=beta)
    if json_output:
        typer.echo(json.dumps({"data": source, **report.to_dict()}, indent=2))
        return

    from rich.console import Console

    from ._render import render_inspect

    render_inspect(report, title=title, console=Console())


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``weightwise`` console script.

    Args:
        argv: arguments without the program name; default ``sys.argv[1:]``.

    Example:
        >>> main(["inspect", "--json"])  # doctest: +SKIP
    """
    app(args=None if argv is None else list(argv), prog_name="weightwise")
