"""Read a user's CSV or Parquet table into features, encoded labels and sample weights."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DataError", "Table", "encode_labels", "load_table"]

_CSV_SUFFIXES = {".csv": ",", ".tsv": "\t"}
_PARQUET_SUFFIXES = (".parquet", ".pq")
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zip", ".xz", ".zst")
_MAX_LISTED_COLUMNS = 20


class DataError(ValueError):
    """A problem with the user's data file, explained in one line.

    The message names the file, column, row and value involved, so the CLI can print it as is.
    """


class Table(NamedTuple):
    """What :func:`load_table` returns; unpacks as a 4-tuple.

    Attributes:
        features: ``(n, d)`` DataFrame of every column except the target and the weight column,
            with a fresh ``RangeIndex``.
        labels: ``(n,)`` int64 class indices in ``[0, K)``.
        class_names: ``K`` names; ``class_names[k]`` is the original label encoded as ``k``.
        sample_weight: ``(n,)`` float64 weights, or ``None`` without a weight column.
    """

    features: pd.DataFrame
    labels: np.ndarray
    class_names: list[str]
    sample_weight: np.ndarray | None


def load_table(
    path: str | Path,
    *,
    target: str,
    weight_column: str | None = None,
) -> Table:
    """Read a CSV, TSV or Parquet file and encode its target column as class indices.

    The format follows the suffix: ``.csv`` / ``.tsv`` (optionally compressed, e.g.
    ``.csv.gz``) or ``.parquet`` / ``.pq``.

    Label encoding:

    - string (or mixed) labels: the distinct values in sorted order become ``0..K-1``;
    - integer labels (and floats that are all whole numbers, and booleans): the sorted distinct
      values become ``0..K-1`` and their names are ``str(value)``, so labels ``{3, 7, 10}``
      become ``0, 1, 2`` named ``"3", "7", "10"``.

    Rows are counted from 0 with the header excluded; for CSV files the message also gives the
    line number in the file.

    Args:
        path: the file to read.
        target: name of the label column.
        weight_column: name of a column of non-negative, finite sample weights, or ``None``.

    Returns:
        A :class:`Table` ``(features, labels, class_names, sample_weight)``.

    Raises:
        DataError: the file is missing or has an unsupported suffix or cannot be parsed; a
            column is unknown (the message lists the available ones); the target is empty or
            NaN in some row, is fractional, or holds a single class; the weight column is
            non-numeric, NaN, infinite or negative in some row, or sums to zero.

    Example:
        >>> features, y, names, w = load_table("train.csv", target="species")  # doctest: +SKIP
        >>> names                                                              # doctest: +SKIP
        ['adelie', 'chinstrap', 'gentoo']
    """
    path = Path(path)
    frame, kind = _read(path)
    if len(frame) == 0:
        raise DataError(f"{path} has no data rows")
    columns = [str(c) for c in frame.columns]
    _require_column(target, columns, path, role="target")
    if weight_column is not None:
        _require_column(weight_column, columns, path, role="weight")
        if weight_column == target:
            raise DataError(f"the weight column and the target are the same column {target!r}")

    where = _Where(kind)
    labels, class_names = encode_labels(frame[target], column=target, where=where)
    if len(class_names) < 2:
        raise DataError(
            f"target column {target!r} has only one class ({class_names[0]!r}); "
            "class weights need at least two"
        )
    sample_weight = None
    if weight_column is not None:
        sample_weight = _parse_weights(frame[weight_column], column=weight_column, where=where)

    dropped = [target] if weight_column is None else [target, weight_column]
    features = frame.drop(columns=dropped).reset_index(drop=True)
    return Table(features, labels, class_names, sample_weight)


class _Where:
    """Formats a row position for messages: ``row 3`` or ``row 3 (line 5 of the file)``."""

    def __init__(self, kind: Literal["csv", "parquet"]) -> None:
        self.kind = kind

    def __call__(self, position: int) -> str:
        if self.kind == "csv":
            return f"row {position} (line {position + 2} of the file)"
        return f"row {position}"


def _read(path: Path) -> tuple[pd.DataFrame, Literal["csv", "parquet"]]:
    import pandas as pd

    if not path.exists():
        raise DataError(f"file not found: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a directory, not a data file")

    suffixes = [s.lower() for s in path.suffixes]
    last = suffixes[-1] if suffixes else ""
    if last in _COMPRESSION_SUFFIXES and len(suffixes) >= 2:
        last = suffixes[-2]
    try:
        if last in _CSV_SUFFIXES:
            header = pd.read_csv(path, sep=_CSV_SUFFIXES[last], header=None, nrows=1)
            _refuse_duplicates([str(v) for v in header.iloc[0].tolist()], path)
            return pd.read_csv(path, sep=_CSV_SUFFIXES[last]), "csv"
        if last in _PARQUET_SUFFIXES:
            _check_parquet_schema(path)
            return pd.read_parquet(path), "parquet"
    except DataError:
        raise
    except ImportError as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty") from None
    except Exception as exc:  # parser errors of pandas and pyarrow have no common base class
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read {path}: {first_line}") from exc
    shown = "".join(path.suffixes) or "(no suffix)"
    raise DataError(f"unsupported file type {shown!r} for {path}; use .csv, .tsv, .parquet or .pq")


def _refuse_duplicates(names: list[str], path: Path) -> None:
    """A repeated column name is an error (pandas would rename the copy ``name.1``)."""
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise DataError(
                f"{path} has the column name {name!r} twice (columns {seen[name]} and {i}, "
                "counted from 0); rename one so that no column is silently renamed"
            )
        seen[name] = i


def _check_parquet_schema(path: Path) -> None:
    """Refuse duplicate names and nested (list, struct, map) Parquet columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    _refuse_duplicates([str(n) for n in schema.names], path)
    for field in schema:
        if pa.types.is_nested(field.type):
            raise DataError(
                f"column {field.name!r} of {path} is a nested Parquet column ({field.type}); "
                "only flat columns are read: flatten it, or for a multi-label target give "
                "one 0/1 column per label"
            )


def _require_column(name: str, columns: list[str], path: Path, *, role: str) -> None:
    if name in columns:
        return
    listed = ", ".join(repr(c) for c in columns[:_MAX_LISTED_COLUMNS])
    if len(columns) > _MAX_LISTED_COLUMNS:
        listed += f", … ({len(columns) - _MAX_LISTED_COLUMNS} more)"
    hint = difflib.get_close_matches(name, columns, n=1)
    suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
    raise DataError(
        f"{role} column {name!r} not found in {path}; available columns: {listed}{suggestion}"
    )


def encode_labels(
    values: pd.Series,
    *,
    column: str = "target",
    where: Callable[[int], str] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Encode a label column as class indices ``0..K-1`` in sorted order of the labels.

    Strings are sorted as strings (``"10" < "9"``); integers, whole-number floats and
    booleans are sorted as numbers and named ``str(value)``. A column that mixes numbers and
    strings is treated as strings.

    Args:
        values: ``(n,)`` labels.
        column: the column's name, for messages.
        where: formats a 0-based row position for messages (default ``"row {i}"``).

    Returns:
        ``(labels, class_names)``: ``(n,)`` int64 indices and the ``K`` names.

    Raises:
        DataError: a label is missing (NaN, None or an empty string) or fractional.

    Example:
        >>> import pandas as pd
        >>> encode_labels(pd.Series(["dog", "cat", "dog"]))
        (array([1, 0, 1]), ['cat', 'dog'])
    """
    import pandas as pd

    describe = where if where is not None else (lambda i: f"row {i}")
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    missing = values.isna().to_numpy()
    dtype = values.dtype
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if not numeric and not pd.api.types.is_bool_dtype(dtype):
        blank = values.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
        missing = missing | blank
    if missing.any():
        pos = int(np.flatnonzero(missing)[0])
        raise DataError(f"target column {column!r} is empty (NaN or blank) in {describe(pos)}")

    array: np.ndarray
    if pd.api.types.is_bool_dtype(dtype):
        array = values.to_numpy(dtype=bool)
    elif numeric:
        raw = values.to_numpy(dtype=np.float64)
        if not _is_integral(raw):
            bad = ~np.isfinite(raw) | (raw != np.round(raw))
            pos = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"target column {column!r} has the non-integer value {raw[pos]:g} in "
                f"{describe(pos)}; class labels must be integers or strings"
            )
        array = values.to_numpy(dtype=np.int64)
    else:
        objects = values.to_numpy(dtype=object)
        if all(_is_int(v) for v in objects):
            array = objects.astype(np.int64)
        else:
            array = np.array([str(v) for v in objects], dtype=object)

    uniques, inverse = np.unique(array, return_inverse=True)
    names = [str(v) for v in uniques.tolist()]
    return inverse.reshape(-1).astype(np.int64), names


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_integral(values: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def _parse_weights(series: pd.Series, *, column: str, where: _Where) -> np.ndarray:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series.dtype):
        raise DataError(f"weight column {column!r} holds booleans; weights must be numbers")
    numeric = pd.to_numeric(series, errors="coerce")
    bad_text = numeric.isna() & series.notna()
    if bad_text.any():
        pos = int(np.flatnonzero(bad_text.to_numpy())[0])
        raise DataError(
            f"weight column {column!r} has a non-numeric value {series.iloc[pos]!r} in {where(pos)}"
        )
    values = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
    checks = (
        (np.isnan(values), "is NaN (empty)"),
        (np.isinf(values), "has a non-finite value {value}"),
        (values < 0, "has a negative value {value}"),
    )
    for mask, text in checks:
        if mask.any():
            pos = int(np.flatnonzero(mask)[0])
            detail = text.format(value=values[pos])
            raise DataError(f"weight column {column!r} {detail} in {where(pos)}")
    if values.sum() == 0:
        raise DataError(f"weight column {column!r} is zero in every row")
    return values
