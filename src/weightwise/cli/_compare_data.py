"""Data for `weightwise compare`: built-in long-tailed sets and users' tables, prepared as
float32 features (numeric standardised, categorical one-hot) with int64 labels and weights."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from weightwise.comparison._engine import CompareData
from weightwise.comparison._tasks import TaskData
from weightwise.datasets import DataError

__all__ = ["BUILTIN_DATASETS", "load_builtin", "load_user_data", "load_user_multilabel"]

BUILTIN_DATASETS = (
    "digits_lt",
    "fashion_mnist_lt",
    "breast_cancer",
    "digits_multilabel",
    "digits_seg",
)
#: A text column with more distinct values than this is refused rather than one-hot encoded.
MAX_CATEGORIES = 50


def load_builtin(name: str, *, imbalance_ratio: float | None, seed: int) -> CompareData | TaskData:
    """A built-in set: digits-LT / Fashion-MNIST-LT (LT training split, balanced validation
    and test), breast_cancer (binary), digits_multilabel, digits_seg (docs/compare.md)."""
    from weightwise.datasets import load_digits_lt
    from weightwise.datasets._fashion import fashion_mnist_available, load_fashion_mnist_lt

    if name in ("digits_multilabel", "digits_seg"):
        return _digits_task(name, imbalance_ratio, seed)
    if name == "breast_cancer":
        return _breast_cancer(seed)
    if name == "digits_lt":
        ratio = 50.0 if imbalance_ratio is None else imbalance_ratio
        lt = load_digits_lt(imbalance_ratio=ratio, seed=seed)
    elif name == "fashion_mnist_lt":
        if not fashion_mnist_available():
            raise DataError(
                "the fashion_mnist_lt dataset needs Debian's package: "
                "sudo apt-get install dataset-fashion-mnist"
            )
        ratio = 100.0 if imbalance_ratio is None else imbalance_ratio
        lt = load_fashion_mnist_lt(imbalance_ratio=ratio, seed=seed)
    else:
        raise DataError(f"unknown dataset {name!r}; choose from {', '.join(BUILTIN_DATASETS)}")
    return CompareData(
        X_train=lt.X_train,
        y_train=lt.y_train,
        X_val=lt.X_val,
        y_val=lt.y_val,
        X_test=lt.X_test,
        y_test=lt.y_test,
        class_names=tuple(lt.class_names),
        info={"source": name, "imbalance_ratio_requested": ratio, "split_seed": seed},
    )


def _digits_task(name: str, imbalance_ratio: float | None, seed: int) -> TaskData:
    import torch

    from weightwise.datasets._digits_tasks import load_digits_multilabel, load_digits_segmentation

    if name == "digits_multilabel":
        ratio = 20.0 if imbalance_ratio is None else imbalance_ratio
        d = load_digits_multilabel(imbalance_ratio=ratio, seed=seed)
        task = "multilabel"
    else:
        ratio = 10.0 if imbalance_ratio is None else imbalance_ratio
        d = load_digits_segmentation(imbalance_ratio=ratio, seed=seed)
        task = "segmentation"
    ydtype = torch.float32 if task == "multilabel" else torch.int64
    t = lambda a, dt=torch.float32: torch.from_numpy(a).to(dt)  # noqa: E731
    return TaskData(
        task=task,
        X_train=t(d.X_train), Y_train=t(d.Y_train, ydtype),
        X_val=t(d.X_val), Y_val=t(d.Y_val, ydtype),
        X_test=t(d.X_test), Y_test=t(d.Y_test, ydtype),
        names=d.names,
        ignore_index=d.ignore_index,
        info={"source": name, "imbalance_ratio_requested": ratio, "split_seed": seed},
    )  # fmt: skip


Where = Callable[[int], str]


def _file_where(path: Path, rows: np.ndarray) -> Where:
    """Formats a position in a split as the row of the file it came from."""
    csv = any(s.lower() in (".csv", ".tsv") for s in path.suffixes)

    def where(i: int) -> str:
        r = int(rows[i])
        return f"row {r} (line {r + 2}) of {path}" if csv else f"row {r} of {path}"

    return where


#: A numeric target with more distinct values than this share of its rows looks like regression.
REGRESSION_UNIQUE_SHARE = 0.5


def _refuse_regression_target(names: list[str], n: int, target: str, path: Path) -> None:
    def is_number(v: str) -> bool:
        try:
            float(v)
        except ValueError:
            return False
        return True

    k = len(names)
    if k >= 10 and k > REGRESSION_UNIQUE_SHARE * n and all(is_number(v) for v in names):
        raise DataError(
            f"target column {target!r} of {path} looks like a regression target: {k} distinct "
            f"numbers in {n} rows ({100 * k / n:.0f}% unique); compare compares classification "
            "weightings. Bin it into classes first (e.g. pandas.cut), or, if these are class "
            "ids, write them as text labels"
        )


def _breast_cancer(seed: int) -> CompareData:
    """scikit-learn's Wisconsin breast-cancer table (569 rows, 30 features; 212 malignant,
    357 benign: 1 : 1.7), split stratified 60/20/20 by ``seed``, features standardised with
    the training split's mean and deviation. The binary demo; malignant is positive."""
    from sklearn.datasets import load_breast_cancer

    from weightwise.data import stratified_split

    bunch = load_breast_cancer()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)  # 0 malignant, 1 benign
    parts = stratified_split(y, fractions=(0.6, 0.2, 0.2), seed=seed)
    mu, sd = X[parts[0]].mean(axis=0), X[parts[0]].std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    Xs = [((X[idx] - mu) / sd).astype(np.float32) for idx in parts]
    return CompareData(
        X_train=Xs[0],
        y_train=y[parts[0]],
        X_val=Xs[1],
        y_val=y[parts[1]],
        X_test=Xs[2],
        y_test=y[parts[2]],
        class_names=tuple(str(n) for n in bunch.target_names),
        info={"source": "breast_cancer", "split": f"stratified 60/20/20 (seed {seed})"},
    )


#: Separators that make a text label look like a set of labels (a multi-label target).
LABEL_SEPARATORS = ("|", ";", ",")


def _refuse_delimited_labels(names: list[str], labels: np.ndarray, target: str, path: Path) -> None:
    """A target such as ``"0|even"`` is multi-label: refuse it without ``--label-sep`` rather
    than treat every combination as a class."""
    counts = np.bincount(labels, minlength=len(names))
    for sep in LABEL_SEPARATORS:
        has = np.array([sep in n for n in names])
        if counts[has].sum() > 0.5 * counts.sum():
            example = names[int(np.flatnonzero(has)[0])]
            raise DataError(
                f"target column {target!r} of {path} holds delimited labels such as "
                f"{example!r}: that is a multi-label target; pass --label-sep {sep!r} to compare "
                "it as one (or give one class per row)"
            )


def _encode_features(
    frames: list[Any], *, impute: str | None, names: list[Where]
) -> list[np.ndarray]:
    """Standardise numeric columns and one-hot text columns, fitted on ``frames[0]`` (train)."""
    import pandas as pd

    train = frames[0]
    out_cols: list[list[np.ndarray]] = [[] for _ in frames]
    for col in train.columns:
        series = [f[col] for f in frames]
        is_bool = pd.api.types.is_bool_dtype(train[col])
        numeric = pd.api.types.is_numeric_dtype(train[col]) and not is_bool
        if numeric:
            values = [
                np.array(pd.to_numeric(s, errors="coerce"), dtype=np.float64, copy=True)
                for s in series
            ]
            fill = float(np.nanmedian(values[0])) if np.isfinite(values[0]).any() else 0.0
            for part, (v, where) in enumerate(zip(values, names, strict=True)):
                bad = np.flatnonzero(~np.isfinite(v))
                if bad.size:
                    if impute != "median":
                        raise DataError(
                            f"feature column {col!r} has a missing or non-finite value in "
                            f"{where(int(bad[0]))}; pass --impute median or clean the file"
                        )
                    v[bad] = fill
                values[part] = v
            mu, sd = values[0].mean(), values[0].std()
            sd = sd if sd > 0 else 1.0
            for part, v in enumerate(values):
                out_cols[part].append(((v - mu) / sd)[:, None])
            continue
        texts = [s.astype("object") for s in series]
        for part, (t, where) in enumerate(zip(texts, names, strict=True)):
            missing = np.flatnonzero(t.isna().to_numpy())
            if missing.size:
                if impute != "median":
                    raise DataError(
                        f"feature column {col!r} has a missing value in {where(int(missing[0]))}"
                        "; pass --impute median (the most frequent value for a text column) or "
                        "clean the file"
                    )
                mode = texts[0].dropna().astype(str).mode()
                texts[part] = t.fillna(mode.iloc[0] if len(mode) else "")
        levels = sorted(set(texts[0].astype(str)))
        if len(levels) > MAX_CATEGORIES:
            raise DataError(
                f"feature column {col!r} is not numeric and has {len(levels)} distinct values "
                f"(more than {MAX_CATEGORIES}), so it cannot be one-hot encoded; drop it or "
                "encode it yourself"
            )
        for part, t in enumerate(texts):
            strs = t.astype(str).to_numpy()
            onehot = np.stack([(strs == lv).astype(np.float64) for lv in levels], axis=1)
            out_cols[part].append(onehot)
    if not out_cols[0]:
        raise DataError("the table has no feature columns besides the target and weights")
    return [np.concatenate(cols, axis=1).astype(np.float32) for cols in out_cols]


def _recency(
    frame: Any, time_column: str, half_life_days: float, now: Any, where: Where
) -> tuple[np.ndarray, Any]:
    import pandas as pd

    from weightwise.weights import recency

    if time_column not in frame.columns:
        raise DataError(
            f"time column {time_column!r} not found; available columns: "
            + ", ".join(repr(c) for c in frame.columns)
        )
    t = pd.to_datetime(frame[time_column], errors="coerce", utc=True)
    bad = np.flatnonzero(t.isna().to_numpy())
    if bad.size:
        raise DataError(
            f"time column {time_column!r} has a missing or unparsable date in {where(int(bad[0]))}"
        )
    ref = t.max() if now is None else now
    try:
        w = recency(t, half_life=pd.Timedelta(days=half_life_days), now=ref)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    return np.asarray(w, dtype=np.float64), ref


def load_user_data(
    path: Path,
    *,
    target: str,
    weight_column: str | None,
    time_column: str | None,
    half_life_days: float | None,
    val_data: Path | None,
    test_data: Path | None,
    impute: str | None,
    seed: int,
) -> CompareData:
    """A user's CSV / Parquet table, split stratified 70/15/15 unless the user gave val/test."""
    from weightwise.datasets import load_table

    table = load_table(path, target=target, weight_column=weight_column)
    names = list(table.class_names)
    if len(names) < 2:
        raise DataError(f"the target column {target!r} holds a single class; nothing to compare")
    _refuse_regression_target(names, len(table.labels), target, path)
    _refuse_delimited_labels(names, table.labels, target, path)
    frames = [table.features]
    wheres: list[Where] = [_file_where(path, np.arange(len(table.labels)))]
    labels = [table.labels]
    weights = [table.sample_weight]
    info: dict[str, Any] = {"source": "file", "path": str(path), "target": target}
    if weight_column:
        info["weight_column"] = weight_column
    extra = [(val_data, "validation"), (test_data, "test")]
    for p, what in extra:
        if p is None:
            continue
        other = load_table(p, target=target, weight_column=weight_column)
        mapping = {n: i for i, n in enumerate(names)}
        unknown = [n for n in other.class_names if n not in mapping]
        if unknown:
            raise DataError(
                f"the {what} file {p} has class {unknown[0]!r}, absent from the training file"
            )
        remap = np.array([mapping[n] for n in other.class_names], dtype=np.int64)
        missing_cols = [c for c in frames[0].columns if c not in other.features.columns]
        if missing_cols:
            raise DataError(f"the {what} file {p} lacks feature column {missing_cols[0]!r}")
        frames.append(other.features[list(frames[0].columns)])
        wheres.append(_file_where(p, np.arange(len(other.labels))))
        labels.append(remap[other.labels])
        weights.append(other.sample_weight)

    # Split the training table when the user gave no validation / test file.
    if val_data is None or test_data is None:
        from weightwise.data import stratified_split

        val_f = 0.15 if val_data is None else 0.0
        test_f = 0.15 if test_data is None else 0.0
        want = (1.0 - val_f - test_f, val_f, test_f)
        need = sum(f > 0 for f in want)
        per_class = np.bincount(labels[0], minlength=len(names))
        few = np.flatnonzero(per_class < need)
        if few.size:
            c = int(few[0])
            shown = "/".join(f"{round(100 * f)}" for f in want if f > 0)
            raise DataError(
                f"class {names[c]!r} has {int(per_class[c])} row(s) in {path}; the stratified "
                f"{shown} split needs at least {need} per class (one for each split) — add "
                "rows, drop or merge the class, or pass --val-data and --test-data"
                + (f" ({few.size} classes are that small)" if few.size > 1 else "")
            )
        parts = stratified_split(labels[0], fractions=want, seed=seed)
        base_f, base_y, base_w = frames[0], labels[0], weights[0]
        split_f = [base_f.iloc[idx].reset_index(drop=True) for idx in parts]
        split_y = [base_y[idx] for idx in parts]
        split_w = [None if base_w is None else base_w[idx] for idx in parts]
        split_where = [_file_where(path, idx) for idx in parts]
        given = iter(zip(frames[1:], labels[1:], weights[1:], wheres[1:], strict=True))
        val = (
            (split_f[1], split_y[1], split_w[1], split_where[1])
            if val_data is None
            else next(given)
        )
        test = (
            (split_f[2], split_y[2], split_w[2], split_where[2])
            if test_data is None
            else next(given)
        )
        frames = [split_f[0], val[0], test[0]]
        labels = [split_y[0], val[1], test[1]]
        weights = [split_w[0], val[2], test[2]]
        wheres = [split_where[0], val[3], test[3]]
        info["split"] = f"stratified 70/15/15 (seed {seed})"
    else:
        info["split"] = "user files"

    if time_column is not None:
        if half_life_days is None or not half_life_days > 0:
            raise DataError("--time-column needs --half-life DAYS, a number > 0")
        rec = []
        now = None
        for part, f in enumerate(frames):
            w, ref = _recency(f, time_column, half_life_days, now if part else None, wheres[part])
            now = ref if part == 0 else now
            rec.append(w)
        weights = [r if w is None else r * w for r, w in zip(rec, weights, strict=True)]
        frames = [f.drop(columns=[time_column]) for f in frames]
        info["recency"] = {"time_column": time_column, "half_life_days": half_life_days}
    elif half_life_days is not None:
        raise DataError("--half-life needs --time-column COLUMN")

    X = _encode_features(frames, impute=impute, names=wheres)
    counts = np.bincount(labels[0], minlength=len(names))
    if (counts == 0).any():
        missing = names[int(np.flatnonzero(counts == 0)[0])]
        raise DataError(f"class {missing!r} has no sample in the training split")
    ws = [None if w is None else np.asarray(w, dtype=np.float32) for w in weights]
    if any(w is not None for w in ws):
        ws = [
            np.ones(len(y), np.float32) if w is None else w for w, y in zip(ws, labels, strict=True)
        ]
    return CompareData(
        X_train=X[0],
        y_train=np.asarray(labels[0], dtype=np.int64),
        X_val=X[1],
        y_val=np.asarray(labels[1], dtype=np.int64),
        X_test=X[2],
        y_test=np.asarray(labels[2], dtype=np.int64),
        class_names=tuple(names),
        w_train=ws[0],
        w_val=ws[1],
        w_test=ws[2],
        info=info,
    )


def load_user_multilabel(
    path: Path,
    *,
    targets: list[str],
    label_sep: str | None,
    weight_column: str | None,
    val_data: Path | None,
    test_data: Path | None,
    impute: str | None,
    seed: int,
) -> TaskData:
    """A user's multi-label table (``--target a,b,c`` 0/1 columns or one ``--label-sep``
    column), split at random 70/15/15 (seeded) unless validation / test files are given."""
    import torch

    from weightwise.datasets._multilabel_table import load_multilabel_table

    table = load_multilabel_table(
        path, targets=targets, label_sep=label_sep, weight_column=weight_column
    )
    names = table.label_names
    frames, Ys, ws = [table.features], [table.Y], [table.sample_weight]
    wheres: list[Where] = [_file_where(path, np.arange(len(table.Y)))]
    info: dict[str, Any] = {"source": "file", "path": str(path), "target": ",".join(targets)}
    if label_sep is not None:
        info["label_sep"] = label_sep
    if weight_column:
        info["weight_column"] = weight_column
    for p, what in ((val_data, "validation"), (test_data, "test")):
        if p is None:
            continue
        other = load_multilabel_table(
            p, targets=targets, label_sep=label_sep, weight_column=weight_column,
            label_names=names,
        )  # fmt: skip
        missing_cols = [c for c in frames[0].columns if c not in other.features.columns]
        if missing_cols:
            raise DataError(f"the {what} file {p} lacks feature column {missing_cols[0]!r}")
        frames.append(other.features[list(frames[0].columns)])
        Ys.append(other.Y)
        ws.append(other.sample_weight)
        wheres.append(_file_where(p, np.arange(len(other.Y))))
    if val_data is None or test_data is None:
        n = len(table.Y)
        order = np.random.default_rng(seed).permutation(n)
        val_f = 0.15 if val_data is None else 0.0
        test_f = 0.15 if test_data is None else 0.0
        n_val, n_test = round(val_f * n), round(test_f * n)
        if (val_f and n_val < 1) or (test_f and n_test < 1) or n - n_val - n_test < 1:
            raise DataError(f"{path} has {n} rows: too few to split into train/validation/test")
        parts = [
            np.sort(order[n_val + n_test :]),
            np.sort(order[:n_val]),
            np.sort(order[n_val : n_val + n_test]),
        ]
        split = [
            (table.features.iloc[i].reset_index(drop=True), table.Y[i],
             None if table.sample_weight is None else table.sample_weight[i],
             _file_where(path, i))
            for i in parts
        ]  # fmt: skip
        given = iter(zip(frames[1:], Ys[1:], ws[1:], wheres[1:], strict=True))
        val = split[1] if val_data is None else next(given)
        test = split[2] if test_data is None else next(given)
        rows = [split[0], val, test]
        frames = [r[0] for r in rows]
        Ys = [r[1] for r in rows]
        ws = [r[2] for r in rows]
        wheres = [r[3] for r in rows]
        info["split"] = f"random 70/15/15 (seed {seed})"
    else:
        info["split"] = "user files"
    pos = Ys[0].sum(axis=0)
    if (pos == 0).any():
        lab = names[int(np.flatnonzero(pos == 0)[0])]
        raise DataError(
            f"label {lab!r} has no positive row in the training split; drop the label or add rows"
        )
    X = _encode_features(frames, impute=impute, names=wheres)
    wt = [None if w is None else torch.as_tensor(np.asarray(w, np.float32)) for w in ws]
    if any(w is not None for w in wt):
        wt = [torch.ones(len(y)) if w is None else w for w, y in zip(wt, Ys, strict=True)]
    f32 = lambda a: torch.from_numpy(np.ascontiguousarray(a)).float()  # noqa: E731
    return TaskData(
        task="multilabel",
        X_train=f32(X[0]), Y_train=f32(Ys[0]), X_val=f32(X[1]), Y_val=f32(Ys[1]),
        X_test=f32(X[2]), Y_test=f32(Ys[2]),
        names=tuple(names),
        w_train=wt[0], w_val=wt[1], w_test=wt[2],
        info=info,
    )  # fmt: skip
