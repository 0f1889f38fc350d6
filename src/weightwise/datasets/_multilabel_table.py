"""Multi-label targets from a table: one delimited column, or several 0/1 columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._tabular import DataError, _parse_weights, _read, _require_column, _Where

__all__ = ["MultilabelTable", "load_multilabel_table"]


@dataclass(frozen=True, eq=False)
class MultilabelTable:
    """``features`` (a DataFrame without the target and weight columns), ``Y`` ``(n, L)`` int64
    0/1, the ``L`` ``label_names`` and optional ``sample_weight`` ``(n,)``."""

    features: Any
    Y: np.ndarray
    label_names: list[str]
    sample_weight: np.ndarray | None


def load_multilabel_table(
    path: str | Path,
    *,
    targets: Sequence[str],
    label_sep: str | None = None,
    weight_column: str | None = None,
    label_names: Sequence[str] | None = None,
) -> MultilabelTable:
    """Read a CSV / Parquet file whose target is a set of labels per row.

    Either ``label_sep`` is given and ``targets`` names one column of delimited labels
    (``"cat|dog"``; an empty cell is the empty set; labels are stripped of spaces; names are
    sorted), or ``targets`` names two or more columns of 0/1 (or booleans), one per label, in
    that order. ``label_names`` fixes the labels (a validation or test file must use the
    training file's): a label outside them is an error.

    Raises:
        DataError: a missing column, a value other than 0/1 in a label column (naming column,
            row and value), a label unknown to ``label_names``, or bad weights.

    Example:
        >>> t = load_multilabel_table("tags.csv", targets=["tags"], label_sep="|")  # doctest: +SKIP
        >>> t.label_names, t.Y[:2]  # doctest: +SKIP
        (['cat', 'dog'], array([[1, 1], [0, 1]]))
    """
    import pandas as pd

    path = Path(path)
    frame, kind = _read(path)
    if len(frame) == 0:
        raise DataError(f"{path} has no data rows")
    columns = [str(c) for c in frame.columns]
    for t in targets:
        _require_column(t, columns, path, role="target")
    if weight_column is not None:
        _require_column(weight_column, columns, path, role="weight")
        if weight_column in targets:
            raise DataError(f"the weight column {weight_column!r} is also a target column")
    where = _Where(kind)
    if label_sep is not None:
        if len(targets) != 1:
            raise DataError("--label-sep reads one target column of delimited labels; got "
                            f"{len(targets)} columns")  # fmt: skip
        col = frame[targets[0]]
        sets: list[set[str]] = []
        for v in col.tolist():
            if v is None or (isinstance(v, float) and np.isnan(v)):
                sets.append(set())
                continue
            sets.append({p.strip() for p in str(v).split(label_sep) if p.strip()})
        names = sorted(set().union(*sets)) if label_names is None else list(label_names)
        index = {n: i for i, n in enumerate(names)}
        Y = np.zeros((len(frame), len(names)), dtype=np.int64)
        for r, labs in enumerate(sets):
            for lab in labs:
                if lab not in index:
                    raise DataError(
                        f"label {lab!r} in {where(r)} of {path} is not a label of the training file"
                    )
                Y[r, index[lab]] = 1
    else:
        if len(targets) < 2:
            raise DataError(
                "a multi-label target needs two or more 0/1 columns (--target a,b,c) or one "
                "delimited column with --label-sep"
            )
        names = list(targets)
        Y = np.zeros((len(frame), len(names)), dtype=np.int64)
        for j, t in enumerate(targets):
            series = frame[t]
            if pd.api.types.is_bool_dtype(series.dtype):
                Y[:, j] = series.to_numpy(dtype=bool)
                continue
            v = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            bad = np.flatnonzero(~np.isin(v, (0.0, 1.0)))
            if bad.size:
                r = int(bad[0])
                value = series.iloc[r]
                value = value.item() if hasattr(value, "item") else value
                raise DataError(
                    f"label column {t!r} of {path} must hold 0/1; it holds {value!r} in {where(r)}"
                )
            Y[:, j] = v.astype(np.int64)
    weights = None
    if weight_column is not None:
        weights = _parse_weights(frame[weight_column], column=weight_column, where=where)
    dropped = list(targets) + ([weight_column] if weight_column else [])
    features = frame.drop(columns=dropped).reset_index(drop=True)
    return MultilabelTable(features, Y, names, weights)
