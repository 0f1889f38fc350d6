"""The ``weightwise`` command: a typer app with one subcommand per task.

This layer parses options, calls the pure functions in the private modules next to it, and
turns a user's mistake into one ``error: …`` line on stderr with exit code 2.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

try:  # recent typer releases vendor click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer depends on click
    from click.exceptions import ClickException  # type: ignore[no-redef,assignment,unused-ignore]

from weightwise.datasets import DataError

__all__ = ["UserError", "app", "main"]

#: Exit status for a user's mistake (bad option, bad data), as click uses for usage errors.
USAGE_EXIT_CODE = 2


class UserError(Exception):
    """A mistake in how the command was called; its message is shown as ``error: <message>``."""


def error_line(message: str) -> str:
    """``message`` as the one ``error: …`` line the command prints for a user's mistake."""
    line = " ".join(str(message).split())
    return f"error: {line}\n"


def _fail(message: str) -> None:
    from ._distributed import is_quiet_rank

    if not is_quiet_rank():  # under torchrun, rank 0 alone says it; every rank exits 2
        sys.stderr.write(error_line(message))
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


@app.command("compare")
def compare_command(
    *,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="CSV or Parquet file. Without it, a built-in dataset.",
            show_default=False,
        ),
    ] = None,
    target: Annotated[str | None, typer.Option("--target", help="Label column of --data.")] = None,
    weight_column: Annotated[
        str | None, typer.Option("--weight-column", help="Column with sample weights.")
    ] = None,
    time_column: Annotated[
        str | None,
        typer.Option("--time-column", help="Date column: recency weights (needs --half-life)."),
    ] = None,
    half_life: Annotated[
        float | None, typer.Option("--half-life", help="Half-life of recency weights, in days.")
    ] = None,
    val_data: Annotated[
        Path | None, typer.Option("--val-data", help="Your own validation file.")
    ] = None,
    test_data: Annotated[
        Path | None, typer.Option("--test-data", help="Your own test file.")
    ] = None,
    impute: Annotated[
        str | None, typer.Option("--impute", help="'median': fill missing feature values.")
    ] = None,
    dataset: Annotated[
        str,
        typer.Option("--dataset", help="Built-in data: digits_lt or fashion_mnist_lt."),
    ] = "digits_lt",
    imbalance_ratio: Annotated[
        float | None,
        typer.Option(
            "--imbalance-ratio",
            help="Built-in data: head/tail ratio [50 / 100].",
            show_default=False,
        ),
    ] = None,
    strategies: Annotated[
        str, typer.Option("--strategies", help="Comma-separated strategies, or 'all'.")
    ] = "all",
    epochs: Annotated[int, typer.Option("--epochs", help="Training epochs.")] = 30,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the split, init and batches.")] = 0,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 64,
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate.")] = 3e-3,
    model: Annotated[str, typer.Option("--model", help="'mlp' or 'linear'.")] = "mlp",
    hidden: Annotated[str, typer.Option("--hidden", help="MLP widths, e.g. 128,64.")] = "128",
    cost_matrix: Annotated[
        Path | None,
        typer.Option(
            "--cost-matrix",
            help="CSV C×C (rows: truth, columns: decision); ranks "
            "strategies by expected cost of the Bayes decision.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Output folder [./weightwise-runs/<timestamp>].", show_default=False
        ),
    ] = None,
) -> None:
    """Train the same model with every weighting strategy and compare them on your data.

    Writes results.json, report.html and PNG figures into --out, and prints a ranked table.

    Under ``torchrun --nproc-per-node W -m weightwise compare …`` every strategy trains with
    DistributedDataParallel: each rank takes its share of the same global batches, losses use
    ``sync=True``, and evaluation is sharded and gathered; rank 0 alone prints and writes.
    """
    from . import _distributed

    def prepare() -> _CompareJob:
        return _prepare_compare(
            data=data,
            target=target,
            weight_column=weight_column,
            time_column=time_column,
            half_life=half_life,
            val_data=val_data,
            test_data=test_data,
            impute=impute,
            dataset=dataset,
            imbalance_ratio=imbalance_ratio,
            strategies=strategies,
            epochs=epochs,
            seed=seed,
            batch_size=batch_size,
            lr=lr,
            model=model,
            hidden=hidden,
            cost_matrix=cost_matrix,
            out=out,
        )

    ctx = _distributed.init_from_env()
    if ctx is None:
        _run_compare_job(prepare(), None)
        return
    with _distributed.session(ctx):
        job = ctx.agree(prepare)
        _run_compare_job(job, ctx)


@dataclass(frozen=True)
class _CompareJob:
    prepared: Any
    cfg: Any
    out_dir: Path


def _prepare_compare(
    *,
    data: Path | None,
    target: str | None,
    weight_column: str | None,
    time_column: str | None,
    half_life: float | None,
    val_data: Path | None,
    test_data: Path | None,
    impute: str | None,
    dataset: str,
    imbalance_ratio: float | None,
    strategies: str,
    epochs: int,
    seed: int,
    batch_size: int,
    lr: float,
    model: str,
    hidden: str,
    cost_matrix: Path | None,
    out: Path | None,
) -> _CompareJob:
    """Check the options and load the data: every user's mistake is raised here."""
    import time

    import numpy as np

    from ._compare import CompareConfig, parse_hidden, parse_strategies
    from ._compare_data import BUILTIN_DATASETS, load_builtin, load_user_data

    try:
        chosen = parse_strategies(strategies)
        widths = parse_hidden(hidden)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    for name, value in (("--epochs", epochs), ("--batch-size", batch_size)):
        if value < 1:
            raise UserError(f"{name} must be a positive integer, got {value}")
    if not (math.isfinite(lr) and lr > 0):
        raise UserError(f"--lr must be a positive number, got {lr:g}")
    if model not in ("mlp", "linear"):
        raise UserError(f"--model must be 'mlp' or 'linear', got {model!r}")
    if impute not in (None, "median"):
        raise UserError(f"--impute must be 'median', got {impute!r}")
    if seed < 0:
        raise UserError(f"--seed must be >= 0, got {seed}")

    if data is None:
        for flag, v in (
            ("--target", target),
            ("--weight-column", weight_column),
            ("--time-column", time_column),
            ("--val-data", val_data),
            ("--test-data", test_data),
        ):
            if v is not None:
                raise UserError(f"{flag} needs --data PATH (a CSV or Parquet file)")
        if dataset not in BUILTIN_DATASETS:
            raise UserError(
                f"unknown dataset {dataset!r}; choose from {', '.join(BUILTIN_DATASETS)}"
            )
        if imbalance_ratio is not None and not (
            math.isfinite(imbalance_ratio) and imbalance_ratio >= 1
        ):
            raise UserError(f"--imbalance-ratio must be a number >= 1, got {imbalance_ratio:g}")
        prepared = load_builtin(dataset, imbalance_ratio=imbalance_ratio, seed=seed)
    else:
        if target is None:
            raise UserError("--data needs --target COLUMN, the name of the label column")
        prepared = load_user_data(
            data,
            target=target,
            weight_column=weight_column,
            time_column=time_column,
            half_life_days=half_life,
            val_data=val_data,
            test_data=test_data,
            impute=impute,
            seed=seed,
        )

    costs = None
    rank_by = "balanced_accuracy"
    if cost_matrix is not None:
        if not cost_matrix.is_file():
            raise UserError(f"cost matrix file not found: {cost_matrix}")
        try:
            costs = np.loadtxt(cost_matrix, delimiter=",", dtype=np.float64, ndmin=2)
        except ValueError as exc:
            raise UserError(f"cannot read {cost_matrix} as a numeric CSV matrix: {exc}") from None
        c = prepared.num_classes
        if costs.shape != (c, c):
            raise UserError(f"--cost-matrix must be {c}×{c} for {c} classes; got {costs.shape}")
        if not np.isfinite(costs).all() or (costs < 0).any():
            raise UserError("--cost-matrix must hold finite, non-negative costs")
        rank_by = "expected_cost"

    cfg = CompareConfig(
        strategies=chosen,
        epochs=epochs,
        seed=seed,
        batch_size=batch_size,
        lr=lr,
        model=model,
        hidden=widths,
        rank_by=rank_by,
        cost_matrix=costs,
    )
    out_dir = out
    if out_dir is None:
        out_dir = Path("weightwise-runs") / time.strftime("%Y%m%d-%H%M%S")
    return _CompareJob(prepared=prepared, cfg=cfg, out_dir=out_dir)


def _run_compare_job(job: _CompareJob, ctx: Any) -> None:
    """Train, write the outputs and print the table (rank 0 alone under torchrun)."""
    import time

    from ._compare import STRATEGIES, run_compare

    prepared, cfg, out_dir = job.prepared, job.cfg, job.out_dir
    chosen, epochs, rank_by = cfg.strategies, cfg.epochs, cfg.rank_by
    costs = cfg.cost_matrix
    main_rank = ctx is None or ctx.is_main
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True, quiet=not main_rank)
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not main_rank,
    ) as progress:
        tasks = {n: progress.add_task(n, total=epochs) for n in chosen}
        results = run_compare(
            prepared,
            cfg,
            on_epoch=lambda n, e: progress.update(tasks[n], completed=e + 1),
            dist=ctx,
        )
    elapsed = time.perf_counter() - started

    from ._report import write_outputs

    if ctx is None:
        paths = write_outputs(results, out_dir)
    else:  # rank 0 writes; a failure there (a read-only --out) fails every rank alike
        paths = ctx.agree(lambda: write_outputs(results, out_dir) if ctx.is_main else {})
        if not ctx.is_main:
            return

    from rich.table import Table

    table = Table(title=f"weightwise compare — ranked by test {rank_by.replace('_', ' ')}")
    cols = [
        "balanced_accuracy",
        "f1_score",
        "rare_recall",
        "worst_class_recall",
        "log_loss",
        "calibration_error",
    ] + (["expected_cost"] if costs is not None else [])
    table.add_column("#", justify="right")
    table.add_column("strategy", no_wrap=True)
    short = {
        "balanced_accuracy": "bal. acc",
        "f1_score": "macro F1",
        "rare_recall": "rare rec.",
        "worst_class_recall": "worst rec.",
        "log_loss": "log loss",
        "calibration_error": "ECE",
        "expected_cost": "exp. cost",
    }
    for c_name in cols:
        table.add_column(short[c_name], justify="right", no_wrap=True)
    for i, n in enumerate(results["ranking"], 1):
        t = results["strategies"][n]["test"]
        table.add_row(str(i), n, *(f"{t[c_name]:.3f}" for c_name in cols))
    out_console = Console()
    if not out_console.is_terminal:  # piped or logged: rich would assume 80 columns
        out_console = Console(width=120)
    out_console.print(table)
    out_console.print(
        f"{len(chosen)} strategies ({', '.join(s for s in chosen if s in STRATEGIES)})"
        f" in {elapsed:.1f} s"
    )
    out_console.print(f"report: {paths['report']}")
    out_console.print(f"results: {paths['results']}")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``weightwise`` console script.

    Args:
        argv: arguments without the program name; default ``sys.argv[1:]``.

    Example:
        >>> main(["inspect", "--json"])  # doctest: +SKIP
    """
    app(args=None if argv is None else list(argv), prog_name="weightwise")
