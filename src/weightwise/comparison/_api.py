"""``weightwise.compare``: the Python front end of the strategy comparison."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ._engine import (
    HIGHER_IS_BETTER,
    CompareConfig,
    CompareData,
    as_binary,
    parse_strategies,
    run_compare,
)

__all__ = ["Comparison", "compare"]

TASKS = ("binary", "multiclass", "multilabel", "segmentation")
SUPPORTED_TASKS = TASKS


class Comparison:
    """The outcome of :func:`compare`: per-strategy results, ranking and recommendation.

    ``results`` is the ``results.json`` object (docs/compare.md gives its schema).

    Example:
        >>> cmp = compare(train, val, test)  # doctest: +SKIP
        >>> cmp.recommendation["strategy"], cmp.ranking[:3]  # doctest: +SKIP
    """

    def __init__(self, results: dict[str, Any]) -> None:
        self.results = results

    @property
    def ranking(self) -> list[str]:
        """Strategy names, best first, by the validation score of the selection metric."""
        return list(self.results["ranking"])

    @property
    def recommendation(self) -> dict[str, Any]:
        """``{"strategy", "metric", "val": {...}, "vs_none": {...}, "verdict"}``."""
        return dict(self.results["recommendation"])

    @property
    def strategies(self) -> dict[str, Any]:
        return dict(self.results["strategies"])

    def table(self) -> Any:
        """A pandas DataFrame, one row per strategy in ranking order: the validation score of
        the selection metric, its difference to ``none`` (interval, significance) and the test
        scores with the test difference to ``none``."""
        import pandas as pd

        metric = self.results["selection"]["metric"]
        rows = []
        for rank, name in enumerate(self.ranking, 1):
            st = self.results["strategies"][name]
            row: dict[str, Any] = {
                "rank": rank,
                "strategy": name,
                f"val_{metric}": st["val"][metric],
            }
            vs = st.get("vs_none", {})
            if "val" in vs:
                row["val_diff_vs_none"] = vs["val"]["diff"]
                row["val_ci_low"], row["val_ci_high"] = vs["val"]["ci95"]
                row["val_significant"] = vs["val"]["significant"]
            for key, value in st.get("test", {}).items():
                row[f"test_{key}"] = value
            if "test" in vs:
                row["test_diff_vs_none"] = vs["test"]["diff"]
                row["test_ci_low"], row["test_ci_high"] = vs["test"]["ci95"]
            rows.append(row)
        return pd.DataFrame(rows).set_index("strategy")

    def to_json(self, path: str | Path | None = None) -> str:
        """The ``results.json`` text; written to ``path`` when given."""
        text = json.dumps(self.results, indent=2, sort_keys=False, allow_nan=True)
        if path is not None:
            Path(path).write_text(text)
        return text

    def report(self, path: str | Path) -> Path:
        """Write the self-contained HTML report (figures embedded) to ``path``."""
        from weightwise.cli._report import render_report

        path = Path(path)
        with tempfile.TemporaryDirectory() as tmp:
            path.write_text(render_report(self.results, Path(tmp)), encoding="utf-8")
        return path

    def save(self, out: str | Path) -> dict[str, Path]:
        """Write ``results.json``, ``report.html`` and the PNG figures into the folder ``out``."""
        from weightwise.cli._report import write_outputs

        return write_outputs(self.results, Path(out))

    def __repr__(self) -> str:
        rec = self.results["recommendation"]
        return f"Comparison(ranking={self.ranking!r}, recommendation={rec['strategy']!r})"


def _materialise(split: Any, what: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``(X, y, w)`` tensors of a Dataset yielding ``(x, y)``/``(x, y, w)`` or of a tuple."""
    if isinstance(split, tuple | list) and len(split) in (2, 3):
        parts = [torch.as_tensor(np.asarray(p)) if not isinstance(p, torch.Tensor) else p
                 for p in split]  # fmt: skip
    elif hasattr(split, "__getitem__") and hasattr(split, "__len__"):
        from torch.utils.data import default_collate

        n = len(split)
        if n == 0:
            raise ValueError(f"{what} is empty")
        items = [split[i] for i in range(n)]
        lens = {len(it) for it in items}
        if lens - {2, 3} or len(lens) > 1:
            raise ValueError(
                f"{what} must yield (x, y) or (x, y, w) tuples; item 0 has {len(items[0])} parts"
            )
        parts = list(default_collate(items))
    else:
        raise TypeError(
            f"{what} must be a torch Dataset of (x, y[, w]) or a tuple (X, y[, w]); "
            f"got {type(split).__name__}"
        )
    X, y = parts[0], parts[1]
    w = parts[2] if len(parts) == 3 else None
    if len(X) != len(y) or (w is not None and len(w) != len(y)):
        raise ValueError(
            f"{what}: X, y{', w' if w is not None else ''} have different lengths "
            f"({len(X)}, {len(y)}{', ' + str(len(w)) if w is not None else ''})"
        )
    if w is not None:
        w = w.double().reshape(-1)
        bad = torch.nonzero(~torch.isfinite(w) | (w < 0))
        if bad.numel():
            i = int(bad[0, 0])
            raise ValueError(
                f"{what}: sample weights must be finite and non-negative; got {float(w[i])} at "
                f"index {i}"
            )
    return X, y, w


def infer_task(y: torch.Tensor) -> str:
    """``"binary"``/``"multiclass"`` for integer labels (N,); ``"multilabel"`` for a 0/1
    matrix (N, L); ``"segmentation"`` for integer maps (N, H, W); an error otherwise.

    Example:
        >>> import torch
        >>> infer_task(torch.tensor([0, 1, 1])), infer_task(torch.tensor([[0, 1], [1, 1]]))
        ('binary', 'multilabel')
    """
    if y.is_floating_point():
        finite = torch.isfinite(y).all()
        if not finite or not torch.equal(y, y.round()):
            raise ValueError(
                "the target holds non-integer values: it looks like a regression target, which "
                "compare does not serve (it compares classification weightings)"
            )
    if y.ndim == 1:
        return "binary" if len(torch.unique(y)) == 2 else "multiclass"
    if y.ndim == 2:
        extra = torch.unique(y)
        extra = extra[(extra != 0) & (extra != 1)]
        if extra.numel():
            raise ValueError(
                f"a 2-D target (N, L) is read as multi-label and must hold 0/1; it holds "
                f"{extra[0].item()!r}. For segmentation give masks (N, H, W)"
            )
        return "multilabel"
    if y.ndim == 3:
        return "segmentation"
    raise ValueError(
        f"targets of shape {tuple(y.shape)} are not served: give labels (N,), a 0/1 matrix "
        "(N, L) or masks (N, H, W)"
    )


def compare(
    train: Any,
    val: Any,
    test: Any = None,
    *,
    model: Callable[[], nn.Module] | None = None,
    task: str | None = None,
    strategies: Sequence[str] | str | None = None,
    epochs: int = 30,
    batch_size: int = 64,
    lr: float = 3e-3,
    optimizer: Callable[[Any], torch.optim.Optimizer] | None = None,
    seeds: int = 1,
    seed: int = 0,
    device: str | torch.device | None = None,
    hidden: Sequence[int] = (128,),
    rank_by: str | None = None,
    cost_matrix: Any = None,
    n_boot: int = 2000,
    class_names: Sequence[str] | None = None,
    positive_class: Any = None,
    ignore_index: int | None = None,
    dataset_info: Mapping[str, Any] | None = None,
    on_epoch: Callable[[str, int], None] | None = None,
) -> Comparison:
    """Train the same model once per weighting strategy and compare them, chosen on validation.

    Every strategy starts from the same initial weights (``model()`` is built once per seed and
    its state copied into every strategy's fresh ``model()``) and sees the same batches,
    epochs and optimiser. Strategies are ranked by the validation score of ``rank_by`` after
    the last epoch; the top one is recommended over ``none`` only when a paired bootstrap over
    validation examples (and seeds), Holm-corrected over the strategies, shows it ahead. The
    test set, when given, reports each strategy's difference to ``none`` with a 95% interval.

    Args:
        train, val, test: torch ``Dataset`` s yielding ``(x, y)`` or ``(x, y, w)`` (``w`` a
            non-negative sample weight), or tuples ``(X, y)`` / ``(X, y, w)`` of arrays or
            tensors; ``y`` holds integer class labels (N,), a 0/1 label matrix (N, L) or
            masks (N, H, W). They are held in memory.
        model: zero-argument callable returning a fresh ``nn.Module`` mapping a batch of ``x``
            to logits ``(B, C)`` (``(B, L)`` multi-label, ``(B, C, H, W)`` segmentation);
            ``None``: the built-in MLP (``hidden`` widths; ``()`` for a linear model) on
            flattened features, or for segmentation a small fully convolutional net.
        task: ``"binary"`` (labels (N,) of 2 classes), ``"multiclass"``, ``"multilabel"``
            (a 0/1 matrix (N, L)) or ``"segmentation"`` (integer masks (N, H, W) for images
            (N, C_in, H, W)), inferred from ``y``; any other target is an error. A binary or
            multi-label task adds a ``"<strategy>+threshold"`` variant per strategy
            (per-label thresholds for multi-label). Each task has its own strategies and
            metrics (docs/compare.md).
        ignore_index: segmentation only: the mask value of unlabelled pixels. Segmentation
            weights may be per image (N,) or per-pixel maps (N, H, W).
        positive_class: binary only: the class name (``str`` of the label, or of
            ``class_names``) that is positive; default the rarer training class.
        strategies: names (see ``weightwise.comparison.STRATEGIES``); default all.
        epochs, batch_size, lr: training budget; ``optimizer`` (``params -> Optimizer``)
            replaces Adam(lr).
        seeds: repeat every strategy over seeds ``seed, seed + 1, …`` (init and batch order).
        device: where to train (default CPU).
        rank_by: selection metric (default ``balanced_accuracy``; ``expected_cost`` with
            ``cost_matrix``, a (C, C) array, rows truth, columns decision; ``macro_f1`` for
            multi-label, ``miou`` for segmentation).
        n_boot: bootstrap resamples.
        class_names, dataset_info: recorded in ``results.json["dataset"]``.
        on_epoch: progress callback ``(strategy, epochs_done_minus_one)``.

    Returns:
        A :class:`Comparison`.

    Example:
        >>> import numpy as np, weightwise
        >>> rng = np.random.default_rng(0)
        >>> def split(n):
        ...     y = (rng.random(n) < 0.3).astype(np.int64)
        ...     return rng.normal(size=(n, 4)).astype(np.float32) + y[:, None], y
        >>> cmp = weightwise.compare(split(200), split(100), split(100), epochs=2,
        ...                          strategies=["none", "balanced"], n_boot=200)
        >>> sorted(cmp.ranking)  # a binary task: each strategy and its tuned threshold
        ['balanced', 'balanced+threshold', 'none', 'none+threshold']
    """
    Xtr, ytr, wtr = _materialise(train, "train")
    Xva, yva, wva = _materialise(val, "val")
    te = None if test is None else _materialise(test, "test")

    inferred = infer_task(ytr)
    if task is None:
        task = inferred
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    single = ("binary", "multiclass")
    if (task in single) != (inferred in single) or (task not in single and task != inferred):
        raise ValueError(
            f"task={task!r} does not fit targets of shape {tuple(ytr.shape)} (they read as "
            f"{inferred!r}): labels (N,) are binary/multiclass, a 0/1 matrix (N, L) multilabel, "
            "masks (N, H, W) segmentation"
        )
    if task == "binary" and inferred != "binary":
        raise ValueError(
            f"task='binary' needs a target with exactly 2 classes; train has "
            f"{len(torch.unique(ytr))}"
        )
    if task in ("multilabel", "segmentation"):
        return _compare_task(
            task, (Xtr, ytr, wtr), (Xva, yva, wva), te,
            model=model, strategies=strategies, epochs=epochs, batch_size=batch_size, lr=lr,
            optimizer=optimizer, seeds=seeds, seed=seed, device=device, hidden=hidden,
            rank_by=rank_by, n_boot=n_boot, class_names=class_names,
            ignore_index=ignore_index, dataset_info=dataset_info, on_epoch=on_epoch,
            positive_class=positive_class, cost_matrix=cost_matrix,
        )  # fmt: skip
    if ignore_index is not None:
        raise ValueError("ignore_index is for segmentation masks (N, H, W)")
    labels = [ytr, yva] + ([te[1]] if te is not None else [])
    for t, what in zip(labels, ("train", "val", "test"), strict=False):
        if t.ndim != 1:
            raise ValueError(f"{what} labels must have shape (N,); got {tuple(t.shape)}")
    values = np.unique(ytr.numpy())
    for t, what in zip(labels[1:], ("val", "test"), strict=False):
        extra = np.setdiff1d(np.unique(t.numpy()), values)
        if extra.size:
            raise ValueError(f"{what} has label {extra[0].item()!r}, absent from train")
    if len(values) < 2:
        raise ValueError(f"train holds a single class ({values[0].item()!r}); nothing to compare")
    remap = lambda t: np.searchsorted(values, t.numpy()).astype(np.int64)  # noqa: E731
    if class_names is None:
        names = tuple(str(v.item() if hasattr(v, "item") else v) for v in values)
    else:
        names = tuple(str(c) for c in class_names)
        if len(names) != len(values):
            raise ValueError(
                f"class_names has {len(names)} names for {len(values)} classes in train"
            )

    def feats(X: torch.Tensor) -> torch.Tensor:
        X = X.float()
        return X.reshape(len(X), -1) if model is None and X.ndim != 2 else X

    w = lambda t: None if t is None else t.numpy().astype(np.float32)  # noqa: E731
    data = CompareData(
        X_train=feats(Xtr),
        y_train=remap(ytr),
        X_val=feats(Xva),
        y_val=remap(yva),
        X_test=None if te is None else feats(te[0]),
        y_test=None if te is None else remap(te[1]),
        class_names=names,
        w_train=w(wtr),
        w_val=w(wva) if wtr is not None or wva is not None else None,
        w_test=None if te is None else w(te[2]),
        info=dict(dataset_info) if dataset_info is not None else {"source": "python"},
    )
    if task == "binary":
        data = as_binary(data, None if positive_class is None else str(positive_class))
    elif positive_class is not None:
        raise ValueError("positive_class is for binary targets (2 classes)")
    if any(x is not None for x in (data.w_train, data.w_val, data.w_test)):
        ones = lambda y: np.ones(len(y), np.float32)  # noqa: E731
        data = _with_weights(data, ones)
    _check_training(epochs=epochs, batch_size=batch_size, seeds=seeds, n_boot=n_boot, lr=lr)
    costs = None if cost_matrix is None else np.asarray(cost_matrix, dtype=np.float64)
    if costs is not None and costs.shape != (len(names), len(names)):
        raise ValueError(f"cost_matrix must be {len(names)}×{len(names)}; got {costs.shape}")
    metric = rank_by or ("expected_cost" if costs is not None else "balanced_accuracy")
    if metric not in HIGHER_IS_BETTER:
        raise ValueError(f"rank_by must be one of {', '.join(HIGHER_IS_BETTER)}; got {metric!r}")
    counts = data.counts
    if (counts == 0).any():
        raise ValueError(f"class {names[int(np.flatnonzero(counts == 0)[0])]!r} has no train row")
    widths = tuple(int(h) for h in hidden)  # checked before the strategies, as it always was
    cfg = _config(
        parse_strategies(strategies, task), metric, task, cost_matrix=costs,
        epochs=epochs, seed=seed, batch_size=batch_size, lr=lr, hidden=widths, seeds=seeds,
        n_boot=n_boot, model=model, optimizer=optimizer, device=device,
    )  # fmt: skip
    return Comparison(run_compare(data, cfg, on_epoch=on_epoch))


def _check_training(*, epochs: int, batch_size: int, seeds: int, n_boot: int, lr: float) -> None:
    """Refuse a count below 1 or a learning rate that is not a positive number."""
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("seeds", seeds),
                        ("n_boot", n_boot)):  # fmt: skip
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number; got {lr!r}")


def _config(
    strategies: tuple[str, ...],
    rank_by: str,
    task: str,
    *,
    cost_matrix: np.ndarray | None = None,
    epochs: int,
    seed: int,
    batch_size: int,
    lr: float,
    hidden: Sequence[int],
    seeds: int,
    n_boot: int,
    model: Callable[[], nn.Module] | None,
    optimizer: Callable[[Any], torch.optim.Optimizer] | None,
    device: str | torch.device | None,
) -> CompareConfig:
    """The :class:`CompareConfig` of :func:`compare`'s arguments (every task)."""
    widths = tuple(int(h) for h in hidden)
    return CompareConfig(
        strategies=strategies,
        epochs=epochs,
        seed=seed,
        batch_size=batch_size,
        lr=lr,
        model="mlp" if widths else "linear",
        hidden=widths if widths else (128,),
        rank_by=rank_by,
        cost_matrix=cost_matrix,
        seeds=seeds,
        n_boot=n_boot,
        model_factory=model,
        optimizer_factory=optimizer,
        optimizer_name="adam" if optimizer is None else "custom",
        device=None if device is None else str(device),
        task=task,
    )


def _with_weights(data: CompareData, ones: Callable[[np.ndarray], np.ndarray]) -> CompareData:
    """Every split weighted once one is (unit weights for the others)."""
    import dataclasses

    return dataclasses.replace(
        data,
        w_train=ones(data.y_train) if data.w_train is None else data.w_train,
        w_val=ones(data.y_val) if data.w_val is None else data.w_val,
        w_test=(
            None
            if data.y_test is None
            else (ones(data.y_test) if data.w_test is None else data.w_test)
        ),
    )


Split = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]


def _compare_task(
    task: str,
    train: Split,
    val: Split,
    test: Split | None,
    *,
    model: Callable[[], nn.Module] | None,
    strategies: Sequence[str] | str | None,
    epochs: int,
    batch_size: int,
    lr: float,
    optimizer: Callable[[Any], torch.optim.Optimizer] | None,
    seeds: int,
    seed: int,
    device: str | torch.device | None,
    hidden: Sequence[int],
    rank_by: str | None,
    n_boot: int,
    class_names: Sequence[str] | None,
    ignore_index: int | None,
    dataset_info: Mapping[str, Any] | None,
    on_epoch: Callable[[str, int], None] | None,
    positive_class: Any,
    cost_matrix: Any,
) -> Comparison:
    """Multi-label and segmentation: validate the splits and run :func:`run_task_compare`."""
    from ._tasks import TASK_METRICS, TaskData, run_task_compare

    if positive_class is not None:
        raise ValueError("positive_class is for binary targets (2 classes)")
    if cost_matrix is not None:
        raise ValueError(f"cost_matrix is for single-label targets, not {task}")
    if task == "multilabel" and ignore_index is not None:
        raise ValueError("ignore_index is for segmentation masks (N, H, W)")
    _check_training(epochs=epochs, batch_size=batch_size, seeds=seeds, n_boot=n_boot, lr=lr)
    splits = {"train": train, "val": val} | ({"test": test} if test is not None else {})
    y0 = train[1]
    if task == "multilabel":
        num = int(y0.shape[1])
        for what, (_, y, _) in splits.items():
            if y.ndim != 2 or y.shape[1] != num:
                raise ValueError(f"{what} labels must have shape (N, {num}); got {tuple(y.shape)}")
            infer_task(y)
    else:
        if model is None and train[0].ndim != 4:
            raise ValueError(
                f"segmentation inputs must be images (N, C_in, H, W) for the built-in model; "
                f"train has shape {tuple(train[0].shape)}"
            )
        valid = y0[y0 != ignore_index] if ignore_index is not None else y0
        if valid.numel() == 0:
            raise ValueError("train masks hold no labelled pixel")
        num = int(valid.max()) + 1
        if class_names is not None:
            num = max(num, len(class_names))
        for what, (_, y, _) in splits.items():
            if y.ndim != 3:
                raise ValueError(f"{what} masks must have shape (N, H, W); got {tuple(y.shape)}")
            vals = y[y != ignore_index] if ignore_index is not None else y.reshape(-1)
            bad = (vals < 0) | (vals >= num)
            if bad.any():
                raise ValueError(
                    f"{what} masks hold class {int(vals[bad][0])}, outside [0, {num}) "
                    f"(train's classes){'' if ignore_index is None else ' and not ignore_index'}"
                )
    names = (
        tuple(str(c) for c in class_names) if class_names is not None
        else tuple(str(c) for c in range(num))
    )  # fmt: skip
    if len(names) != num:
        raise ValueError(f"class_names has {len(names)} names for {num} labels/classes")

    def weight(w: torch.Tensor | None, y: torch.Tensor, what: str) -> torch.Tensor | None:
        if w is None:
            return None
        if task == "segmentation" and w.numel() == y.numel():
            return w.reshape(y.shape).float()  # a per-pixel weight map
        if w.numel() != len(y):
            raise ValueError(
                f"{what} sample weights must be (N,)"
                + (" or a per-pixel map (N, H, W)" if task == "segmentation" else "")
                + f"; got {w.numel()} values for {len(y)} rows"
            )
        return w.reshape(-1).float()

    ws = {k: weight(v[2], v[1], k) for k, v in splits.items()}
    if any(w is not None for w in ws.values()):  # every split weighted once one is
        for k, (_, y, _) in splits.items():
            if ws[k] is None:
                ws[k] = torch.ones(len(y))
    ydtype = torch.float32 if task == "multilabel" else torch.int64
    X = {k: v[0].float() for k, v in splits.items()}
    Y = {k: v[1].to(ydtype) for k, v in splits.items()}
    data = TaskData(
        task=task,
        X_train=X["train"], Y_train=Y["train"], X_val=X["val"], Y_val=Y["val"],
        X_test=X.get("test"), Y_test=Y.get("test"),
        names=names,
        w_train=ws["train"], w_val=ws["val"], w_test=ws.get("test"),
        ignore_index=ignore_index,
        info=dict(dataset_info) if dataset_info is not None else {"source": "python"},
    )  # fmt: skip
    metric = rank_by or TASK_METRICS[task][0]
    if metric not in TASK_METRICS[task]:
        raise ValueError(
            f"rank_by must be one of {', '.join(TASK_METRICS[task])} for {task}; got {metric!r}"
        )
    cfg = _config(
        parse_task_strategies(strategies, task), metric, task,
        epochs=epochs, seed=seed, batch_size=batch_size, lr=lr, hidden=hidden, seeds=seeds,
        n_boot=n_boot, model=model, optimizer=optimizer, device=device,
    )  # fmt: skip
    return Comparison(run_task_compare(data, cfg, on_epoch=on_epoch))


def parse_task_strategies(text: str | Sequence[str] | None, task: str) -> tuple[str, ...]:
    """Strategy names of a task (``"none,dice"``, a sequence, or ``None``/``"all"``: every one)."""
    from ._tasks import task_strategies

    table = task_strategies(task)
    if text is None or (isinstance(text, str) and text.strip() in ("", "all")):
        return tuple(table)
    parts = text.split(",") if isinstance(text, str) else list(text)
    names = tuple(str(s).strip() for s in parts if str(s).strip())
    for s in names:
        if s not in table:
            raise ValueError(f"unknown {task} strategy {s!r}; choose from {', '.join(table)}")
    if not names:
        raise ValueError("strategies is empty; name at least one, e.g. 'none,pos_weight'")
    if len(set(names)) != len(names):
        raise ValueError("strategies lists a strategy twice")
    return names
