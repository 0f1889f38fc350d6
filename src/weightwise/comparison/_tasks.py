"""Multi-label and segmentation tasks of `weightwise compare`.

The same protocol as the single-label engine (:mod:`._engine`): one model per strategy, the same
initial weights and batches for every strategy, the last-epoch checkpoint scored on validation,
the ranking and the recommendation made on validation by a paired bootstrap (Holm-corrected),
the test set reporting. What differs is the loss, the metrics and the per-example statistics
the bootstrap resamples:

- *multi-label* (targets ``(N, L)`` of 0/1): binary cross-entropy and its weightings; a
  ``"<strategy>+threshold"`` variant decides label ``l`` positive when ``p_l > t_l`` with
  ``t_l`` tuned on validation for label ``l``'s F1 (cross-fitted on validation, as in the binary
  task). Metrics: micro/macro F1, macro average precision, precision@k. A resample draws rows.
- *segmentation* (targets ``(N, H, W)`` of class indices, ``ignore_index`` pixels left out,
  optional per-pixel weight maps): pixel losses and set losses. Metrics: mIoU, per-class IoU and
  Dice, pixel accuracy and balanced pixel accuracy. A resample draws *images* (pixels of one
  image are not independent), so the per-image intersection and union sums are resampled.

See docs/compare.md.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "MULTILABEL_STRATEGIES",
    "SEGMENTATION_STRATEGIES",
    "TaskData",
    "build_small_fcn",
    "multilabel_stats",
    "run_task_compare",
    "segmentation_stats",
    "task_strategies",
]

MULTILABEL_STRATEGIES: dict[str, str] = {
    "none": "binary cross-entropy per label",
    "pos_weight": "binary cross-entropy, per-label pos_weight N/(2P) and neg_weight N/(2(N−P)) "
    "estimated on train (weightwise.weights.multilabel_weights, 'balanced')",
    "focal": "binary focal loss, γ=2, α=0.25 (Lin et al. 2017)",
    "asl": "asymmetric loss, γ+=0, γ−=4, probability margin 0.05 (Ridnik et al. 2021)",
}
SEGMENTATION_STRATEGIES: dict[str, str] = {
    "none": "pixel cross-entropy",
    "median_frequency": "pixel cross-entropy, median-frequency class weights "
    "(Eigen & Fergus 2015; weightwise.weights.pixel_class_weights)",
    "focal": "softmax focal loss per pixel, γ=2 (Lin et al. 2017)",
    "dice": "soft Dice loss per image over all classes (Milletari et al. 2016)",
    "dice_ce": "soft Dice loss + pixel cross-entropy (their sum)",
    "focal_tversky": "focal Tversky loss, α=0.3, β=0.7, γ=4/3 (Abraham & Khan 2019)",
    "lovasz": "Lovász-softmax loss (Berman et al. 2018)",
}
#: Selection metrics each task's bootstrap supports (the first is the default).
TASK_METRICS = {
    "multilabel": ("macro_f1", "micro_f1", "precision_at_k"),
    "segmentation": ("miou", "mean_dice", "pixel_balanced_accuracy", "pixel_accuracy"),
}
#: Multi-label selection metrics for which a threshold-tuned variant is added.
THRESHOLD_METRICS = ("macro_f1", "micro_f1")
#: Per-class arrays longer than this are summarised (as in the single-label engine).
MAX_PER_CLASS = 100
#: Segmentation: test images whose image, mask and predictions are kept for the report.
NUM_EXAMPLES = 4
MAX_EXAMPLE_PIXELS = 64 * 64


def task_strategies(task: str) -> dict[str, str]:
    """The strategies of a multi-label or segmentation task, name -> description."""
    if task == "multilabel":
        return MULTILABEL_STRATEGIES
    if task == "segmentation":
        return SEGMENTATION_STRATEGIES
    raise ValueError(f"no strategy table for task {task!r}")


@dataclass(frozen=True, eq=False)
class TaskData:
    """Prepared multi-label or segmentation data (tensors, held in memory).

    Multi-label: ``X`` ``(N, ...)`` float32, ``Y`` ``(N, L)`` float32 of 0/1, ``w`` ``(N,)``.
    Segmentation: ``X`` ``(N, C_in, H, W)`` float32, ``Y`` ``(N, H, W)`` int64 class indices
    in ``[0, C)`` or ``ignore_index``, ``w`` ``(N,)`` or a per-pixel map ``(N, H, W)``.
    ``names`` are the label (class) names. ``X_test``/``Y_test`` are ``None`` without a test set.
    """

    task: str
    X_train: torch.Tensor
    Y_train: torch.Tensor
    X_val: torch.Tensor
    Y_val: torch.Tensor
    X_test: torch.Tensor | None
    Y_test: torch.Tensor | None
    names: tuple[str, ...]
    w_train: torch.Tensor | None = None
    w_val: torch.Tensor | None = None
    w_test: torch.Tensor | None = None
    ignore_index: int | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def counts(self, split: str = "train") -> np.ndarray:
        """Positives per label (multi-label) or labelled pixels per class (segmentation)."""
        Y = {"train": self.Y_train, "val": self.Y_val, "test": self.Y_test}[split]
        assert Y is not None
        if self.task == "multilabel":
            return Y.sum(dim=0).to(torch.int64).numpy()
        y = Y.reshape(-1)
        if self.ignore_index is not None:
            y = y[y != self.ignore_index]
        return torch.bincount(y, minlength=self.num_classes).numpy().astype(np.int64)


def build_small_fcn(in_channels: int, num_classes: int, width: int = 8) -> nn.Module:
    """The default segmentation model: a fully convolutional net of four 3×3 convolutions
    (dilations 1, 2, 4, 8: a 31-pixel receptive field at full resolution), ReLU, then a 1×1
    classifier; ``(B, C_in, H, W) -> (B, C, H, W)`` logits."""
    layers: list[nn.Module] = []
    c = in_channels
    for d in (1, 2, 4, 8):
        layers += [nn.Conv2d(c, width, 3, padding=d, dilation=d), nn.ReLU()]
        c = width
    layers.append(nn.Conv2d(width, num_classes, 1))
    return nn.Sequential(*layers)


LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor]


def _loss_fn(name: str, data: TaskData, device: torch.device) -> LossFn:
    """The training loss of strategy ``name`` (the library's losses, looked up at call time)."""
    import weightwise.losses as L

    if data.task == "multilabel":
        if name == "none":
            return lambda x, y, s: L.binary_cross_entropy(x, y, sample_weight=s)
        if name == "pos_weight":
            from weightwise.weights import multilabel_weights

            pw, nw = multilabel_weights(data.Y_train.numpy(), scheme="balanced")
            pos = torch.as_tensor(pw, dtype=torch.float32, device=device)
            neg = torch.as_tensor(nw, dtype=torch.float32, device=device)
            return lambda x, y, s: L.binary_cross_entropy(
                x, y, sample_weight=s, pos_weight=pos, neg_weight=neg
            )
        if name == "focal":
            return lambda x, y, s: L.binary_focal_loss(x, y, gamma=2.0, alpha=0.25,
                                                       sample_weight=s)  # fmt: skip
        if name == "asl":
            return lambda x, y, s: L.asymmetric_loss(
                x, y, gamma_pos=0.0, gamma_neg=4.0, clip=0.05, sample_weight=s
            )
    else:
        ii = data.ignore_index
        if name == "none":
            return lambda x, y, s: L.cross_entropy(x, y, sample_weight=s, ignore_index=ii)
        if name == "median_frequency":
            from weightwise.weights import pixel_class_weights

            cw_np = pixel_class_weights(
                data.Y_train.numpy(), num_classes=data.num_classes, ignore_index=ii,
                absent="zero",
            )  # fmt: skip
            cw = torch.as_tensor(cw_np, dtype=torch.float32, device=device)
            return lambda x, y, s: L.cross_entropy(
                x, y, sample_weight=s, class_weight=cw, ignore_index=ii
            )
        if name == "focal":
            return lambda x, y, s: L.focal_loss(x, y, gamma=2.0, sample_weight=s, ignore_index=ii)
        if name == "dice":
            return lambda x, y, s: L.dice_loss(x, y, sample_weight=s, ignore_index=ii)
        if name == "dice_ce":
            return lambda x, y, s: (
                L.dice_loss(x, y, sample_weight=s, ignore_index=ii)
                + (L.cross_entropy(x, y, sample_weight=s, ignore_index=ii))
            )
        if name == "focal_tversky":
            return lambda x, y, s: L.focal_tversky_loss(
                x, y, alpha=0.3, beta=0.7, gamma=4.0 / 3.0, sample_weight=s, ignore_index=ii
            )
        if name == "lovasz":
            return lambda x, y, s: L.lovasz_softmax_loss(x, y, sample_weight=s, ignore_index=ii)
    raise ValueError(
        f"unknown {data.task} strategy {name!r}; choose from "
        + ", ".join(task_strategies(data.task))
    )


def _plain_loss(data: TaskData) -> LossFn:
    """The unweighted loss every strategy's validation curve is also measured with."""
    import weightwise.losses as L

    if data.task == "multilabel":
        return lambda x, y, s: L.binary_cross_entropy(x, y, sample_weight=s)
    return lambda x, y, s: L.cross_entropy(x, y, sample_weight=s, ignore_index=data.ignore_index)


# ----------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class _Stats:
    """Per-example sums from which each resample's metrics are matrix products ``R @ S``."""

    task: str
    a: np.ndarray  # multilabel: tp (N, L); segmentation: intersection (N, C)
    b: np.ndarray  # multilabel: fp (N, L); segmentation: true pixels (N, C)
    c: np.ndarray  # multilabel: fn (N, L); segmentation: predicted pixels (N, C)
    w: np.ndarray  # (N,) row weights (multilabel) or valid pixel weight per image
    hits_at_k: np.ndarray | None = None  # multilabel: w_n · hits_n / k  (N,)


def multilabel_stats(
    probs: np.ndarray, pred: np.ndarray, Y: np.ndarray, w: np.ndarray | None, k: int
) -> _Stats:
    """Per-row ``tp``, ``fp``, ``fn`` (weighted) of the decisions ``pred`` (N, L), and the
    precision@k numerators of the scores ``probs``."""
    ww = np.ones(len(Y)) if w is None else np.asarray(w, dtype=np.float64)
    Yb, Pb = Y.astype(bool), pred.astype(bool)
    tp = ww[:, None] * (Yb & Pb)
    fp = ww[:, None] * (~Yb & Pb)
    fn = ww[:, None] * (Yb & ~Pb)
    # Top-k by score, ties to the lower label index (as weightwise.metrics.precision_at_k).
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    hits = np.take_along_axis(Yb, order, axis=1).sum(axis=1)
    return _Stats("multilabel", tp, fp, fn, ww, ww * hits / k)


def segmentation_stats(
    pred: np.ndarray, y: np.ndarray, w: np.ndarray | None, num_classes: int,
    ignore_index: int | None,
) -> _Stats:  # fmt: skip
    """Per-image weighted intersection, true and predicted pixel sums per class, (N, C) each."""
    n = len(y)
    yf = y.reshape(n, -1)
    pf = pred.reshape(n, -1)
    if w is None:
        wf = np.ones(yf.shape)
    else:
        wa = np.asarray(w, dtype=np.float64)
        if wa.shape != y.shape:  # one weight per image
            wa = np.broadcast_to(wa.reshape(n, *([1] * (y.ndim - 1))), y.shape)
        wf = wa.reshape(n, -1)
    valid = np.ones(yf.shape, bool) if ignore_index is None else yf != ignore_index
    rows = np.broadcast_to(np.arange(n)[:, None], yf.shape)
    c = num_classes

    def per(cls: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return np.bincount((rows * c + cls)[valid], weights[valid], minlength=n * c).reshape(n, c)

    yv = np.where(valid, yf, 0)
    inter = per(yv, wf * (yf == pf))
    true = per(yv, wf)
    predicted = per(np.clip(pf, 0, c - 1), wf)
    return _Stats("segmentation", inter, true, predicted, (wf * valid).sum(axis=1))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _nanmean(a: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(a)
    n = ok.sum(axis=-1)
    s = np.where(ok, a, 0.0).sum(axis=-1)
    return np.where(n > 0, s / np.where(n > 0, n, 1), np.nan)


def stats_metric(metric: str, st: _Stats, R: np.ndarray) -> np.ndarray:
    """``metric`` on each resample ``R`` (B, N) of example multiplicities; (B,).

    Per-class averages leave out a class whose denominator is 0 on the resample (no true and
    no predicted element), as ``weightwise.metrics.functional`` does.
    """
    A, B, C = np.split(R @ np.concatenate([st.a, st.b, st.c], axis=1), 3, axis=1)
    if st.task == "multilabel":
        if metric == "micro_f1":
            tp, fp, fn = A.sum(1), B.sum(1), C.sum(1)
            return _ratio(2 * tp, 2 * tp + fp + fn)
        if metric == "macro_f1":
            return _nanmean(_ratio(2 * A, 2 * A + B + C))
        if metric == "precision_at_k":
            assert st.hits_at_k is not None
            return _ratio(R @ st.hits_at_k, R @ st.w)
    else:
        if metric == "miou":
            return _nanmean(_ratio(A, B + C - A))
        if metric == "mean_dice":
            return _nanmean(_ratio(2 * A, B + C))
        if metric == "pixel_balanced_accuracy":
            return _nanmean(_ratio(A, B))
        if metric == "pixel_accuracy":
            return _ratio(A.sum(1), B.sum(1))
    raise ValueError(f"the bootstrap does not support metric {metric!r} for {st.task}")


# ------------------------------------------------------------------------------ evaluation


def _scores(
    data: TaskData,
    logits: torch.Tensor,
    Y: torch.Tensor,
    w: torch.Tensor | None,
    thresholds: np.ndarray | None,
    k: int,
    pred: np.ndarray | None = None,
) -> tuple[dict[str, Any], _Stats, np.ndarray]:
    """Metrics, bootstrap statistics and hard predictions of one split.

    Multi-label: ``thresholds`` (L,) (default 0.5), or ``pred`` given directly.
    """
    from weightwise.metrics import functional as M

    w_np = None if w is None else w.double().numpy()
    out: dict[str, Any] = {}
    if data.task == "multilabel":
        probs = torch.sigmoid(logits.double())
        p_np = probs.numpy()
        t = np.full(probs.shape[1], 0.5) if thresholds is None else thresholds
        hard = (p_np > t).astype(np.int64) if pred is None else pred
        st = multilabel_stats(p_np, hard, Y.numpy(), w_np, k)
        ones = np.ones((1, len(Y)))
        out["macro_f1"] = float(stats_metric("macro_f1", st, ones)[0])
        out["micro_f1"] = float(stats_metric("micro_f1", st, ones)[0])
        out["precision_at_k"] = float(stats_metric("precision_at_k", st, ones)[0])
        kw: dict[str, Any] = {"task": "multilabel", "num_labels": probs.shape[1]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a label without positives has no AP: skipped
            ap = M.average_precision(probs, Y, sample_weight=w, average="none", **kw)
            out["macro_average_precision"] = float(
                M.average_precision(probs, Y, sample_weight=w, average="macro", **kw)
            )
        out["subset_accuracy"] = float(np.average((hard == Y.numpy()).all(axis=1), weights=w_np))
        out["per_class"] = {
            "f1": _ratio(2 * st.a.sum(0), 2 * st.a.sum(0) + st.b.sum(0) + st.c.sum(0)).tolist(),
            "average_precision": [float(v) for v in ap.double().tolist()],
        }
        return out, st, hard
    hard = logits.argmax(dim=1).numpy()
    st = segmentation_stats(hard, Y.numpy(), w_np, data.num_classes, data.ignore_index)
    ones = np.ones((1, len(Y)))
    for m in TASK_METRICS["segmentation"]:
        out[m] = float(stats_metric(m, st, ones)[0])
    inter, true, predicted = st.a.sum(0), st.b.sum(0), st.c.sum(0)
    out["per_class"] = {
        "iou": _ratio(inter, true + predicted - inter).tolist(),
        "dice": _ratio(2 * inter, true + predicted).tolist(),
    }
    return out, st, hard


def _pr_curve(probs: np.ndarray, Y: np.ndarray, w: np.ndarray | None, points: int = 101) -> dict:
    """The micro-averaged precision-recall curve (every (row, label) one element), at up to
    ``points`` recall levels: precision is the best precision at recall ≥ each level."""
    ww = np.ones(Y.shape) if w is None else np.broadcast_to(np.asarray(w)[:, None], Y.shape)
    s, y, wt = probs.ravel(), Y.ravel().astype(bool), np.asarray(ww, dtype=np.float64).ravel()
    order = np.argsort(-s, kind="stable")
    tp = np.cumsum(wt[order] * y[order])
    fp = np.cumsum(wt[order] * ~y[order])
    pos = tp[-1] if len(tp) else 0.0
    if pos <= 0:
        return {"recall": [], "precision": []}
    recall = tp / pos
    precision = tp / np.maximum(tp + fp, 1e-300)
    levels = np.linspace(0, 1, points)
    best = np.maximum.accumulate(precision[::-1])[::-1]
    idx = np.minimum(np.searchsorted(recall, levels, side="left"), len(recall) - 1)
    return {"recall": levels.tolist(), "precision": best[idx].tolist()}


def _tune_thresholds(p: np.ndarray, Y: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Per-label thresholds maximising that label's F1 (``best_threshold``); 0.5 for a label
    whose rows hold only one value."""
    from weightwise.decision import best_threshold

    t = np.full(Y.shape[1], 0.5)
    for j in range(Y.shape[1]):
        if 0 < Y[:, j].sum() < len(Y):
            t[j] = float(best_threshold(p[:, j], Y[:, j], metric="f1", sample_weight=w))
    return t


def _cross_fitted(
    p: np.ndarray, Y: np.ndarray, w: np.ndarray | None, seed: int
) -> tuple[np.ndarray, list[list[float]]]:
    """Validation decisions with 2-fold cross-fitted per-label thresholds (rows halved at
    random, seeded): each half decided with the thresholds tuned on the other."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(Y), dtype=np.int64)
    fold[rng.permutation(len(Y))[1::2]] = 1
    pred = np.zeros(Y.shape, dtype=np.int64)
    halves = []
    for k in (0, 1):
        tune = fold != k
        t = _tune_thresholds(p[tune], Y[tune], None if w is None else w[tune])
        halves.append([float(v) for v in t])
        pred[fold == k] = p[fold == k] > t
    return pred, halves


# ------------------------------------------------------------------------------- training


@dataclass
class _TaskRun:
    record: dict[str, Any]
    val_stats: _Stats
    test_stats: _Stats | None
    val_logits: torch.Tensor
    test_logits: torch.Tensor | None


def _build(data: TaskData, cfg: Any) -> nn.Module:
    from ._engine import build_model

    if cfg.model_factory is not None or data.task == "multilabel":
        in_features = int(np.prod(tuple(data.X_train.shape[1:])))
        return build_model(in_features, data.num_classes, cfg)
    return build_small_fcn(int(data.X_train.shape[1]), data.num_classes)


def _train(
    name: str,
    data: TaskData,
    cfg: Any,
    init_state: dict[str, torch.Tensor],
    seed: int,
    k: int,
    on_epoch: Callable[[int], None] | None,
) -> _TaskRun:
    from ._engine import _logits

    device = torch.device(cfg.device) if cfg.device is not None else torch.device("cpu")
    loss_fn = _loss_fn(name, data, device)
    loss_cpu = _loss_fn(name, data, torch.device("cpu")) if device.type != "cpu" else loss_fn
    plain = _plain_loss(data)
    torch.manual_seed(seed)
    model = _build(data, cfg)
    model.load_state_dict(copy.deepcopy(init_state))
    model.to(device)
    if cfg.optimizer_factory is not None:
        opt = cfg.optimizer_factory(model.parameters())
    else:
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    flat = data.task == "multilabel" and cfg.model_factory is None

    def inputs(X: torch.Tensor) -> torch.Tensor:
        return X.reshape(len(X), -1) if flat else X

    Xtr = inputs(data.X_train).to(device)
    Ytr = data.Y_train.to(device)
    wtr = None if data.w_train is None else data.w_train.to(device)
    Xva = inputs(data.X_val).to(device)
    metric = cfg.rank_by
    n = len(data.Y_train)
    history: list[dict[str, Any]] = []
    for epoch in range(cfg.epochs):
        g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        order = torch.randperm(n, generator=g)
        total = 0.0
        for i in range(0, n, cfg.batch_size):
            idx = order[i : i + cfg.batch_size].to(device)
            s = None if wtr is None else wtr[idx]
            loss = loss_fn(model(Xtr[idx]), Ytr[idx], s)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        with torch.no_grad():
            lva = _logits(model, Xva)
            scores, _, _ = _scores(data, lva, data.Y_val, data.w_val, None, k)
            row = {
                "epoch": epoch + 1,
                "train_loss": total / n,
                "val_loss_unweighted": float(plain(lva, data.Y_val, None)),
                "val_loss_as_trained": float(loss_cpu(lva, data.Y_val, data.w_val)),
                f"val_{metric}": scores[metric],
            }
            if data.w_val is not None:
                row["val_loss_weighted"] = float(plain(lva, data.Y_val, data.w_val))
        history.append(row)
        if on_epoch is not None:
            on_epoch(epoch)

    val, val_stats, _ = _scores(data, lva, data.Y_val, data.w_val, None, k)
    record: dict[str, Any] = {"description": task_strategies(data.task)[name]}
    val_pc = val.pop("per_class")
    record["val"] = {**val, "epoch": cfg.epochs}
    test_stats = None
    lte = None
    if data.X_test is not None and data.Y_test is not None:
        lte = _logits(model, inputs(data.X_test).to(device))
        test, test_stats, hard = _scores(data, lte, data.Y_test, data.w_test, None, k)
        record["per_class"] = test.pop("per_class")
        record["test"] = test
        if data.task == "multilabel":
            w_np = None if data.w_test is None else data.w_test.double().numpy()
            record["pr_curve"] = _pr_curve(
                torch.sigmoid(lte.double()).numpy(), data.Y_test.numpy(), w_np
            )
        else:
            record["examples_pred"] = _examples(hard)
    else:
        record["per_class"] = val_pc
    record["history"] = history
    return _TaskRun(record, val_stats, test_stats, lva, lte)


def _examples(hard: np.ndarray) -> list[Any] | None:
    if hard[0].size > MAX_EXAMPLE_PIXELS:
        return None
    return hard[:NUM_EXAMPLES].astype(int).tolist()


def _threshold_variant(name: str, base: _TaskRun, data: TaskData, cfg: Any, k: int) -> _TaskRun:
    """``"<name>+threshold"``: per-label thresholds tuned on validation (cross-fitted there)."""
    w_val = None if data.w_val is None else data.w_val.double().numpy()
    p_val = torch.sigmoid(base.val_logits.double()).numpy()
    Yv = data.Y_val.numpy()
    t = _tune_thresholds(p_val, Yv, w_val)
    pred_val, halves = _cross_fitted(p_val, Yv, w_val, cfg.seed)
    rec = copy.deepcopy(base.record)
    rec["description"] = f"{task_strategies(data.task)[name]}; per-label thresholds tuned on " \
        "validation"  # fmt: skip
    rec["thresholds"] = [float(v) for v in t]
    rec["val_thresholds_cross_fitted"] = halves
    val, val_stats, _ = _scores(data, base.val_logits, data.Y_val, data.w_val, None, k, pred_val)
    val.pop("per_class")
    rec["val"] = {**val, "epoch": cfg.epochs}
    test_stats = None
    if base.test_logits is not None and data.Y_test is not None:
        test, test_stats, _ = _scores(data, base.test_logits, data.Y_test, data.w_test, t, k)
        rec["per_class"] = test.pop("per_class")
        rec["test"] = test
    return _TaskRun(rec, val_stats, test_stats, base.val_logits, base.test_logits)


def _summarise_per_class(record: dict[str, Any], names: Sequence[str]) -> None:
    from ._engine import _summarise

    record["per_class"] = {
        key: _summarise(values, names) for key, values in record["per_class"].items()
    }


def run_task_compare(
    data: TaskData,
    cfg: Any,
    *,
    on_epoch: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Run every strategy of ``cfg`` (a :class:`~._engine.CompareConfig`) on a multi-label or
    segmentation ``data`` and return the ``results.json`` object."""
    from ._decide import decide_scores, tie_warning
    from ._engine import EPOCH_RULE, SCHEMA_VERSION, _config_json, _mean_std, rank_strategies
    from ._stats import bootstrap_scores

    table = task_strategies(data.task)
    unknown = [s for s in cfg.strategies if s not in table]
    if unknown:
        raise ValueError(
            f"unknown {data.task} strategy {unknown[0]!r}; choose from {', '.join(table)}"
        )
    if cfg.rank_by not in TASK_METRICS[data.task]:
        raise ValueError(
            f"rank_by must be one of {', '.join(TASK_METRICS[data.task])} for {data.task}; "
            f"got {cfg.rank_by!r}"
        )
    if data.task == "multilabel":
        card = float(data.Y_train.sum(dim=1).double().mean())
        k = max(1, min(data.num_classes, round(card)))
    else:
        k = 1
    variants = data.task == "multilabel" and cfg.rank_by in THRESHOLD_METRICS
    seeds = [cfg.seed + j for j in range(cfg.seeds)]
    threads = torch.get_num_threads()
    if cfg.model_factory is None:
        torch.set_num_threads(1)
    from weightwise import no_checks

    runs: dict[str, list[_TaskRun]] = {}
    try:
        with no_checks():
            for name in cfg.strategies:
                runs[name] = []
                if variants:
                    runs[f"{name}+threshold"] = []
            for j, seed in enumerate(seeds):
                torch.manual_seed(seed)
                init_state = copy.deepcopy(_build(data, cfg).state_dict())
                for name in cfg.strategies:
                    cb = None
                    if on_epoch is not None:
                        cb = lambda e, n=name, j=j: on_epoch(n, j * cfg.epochs + e)  # noqa: E731
                    run = _train(name, data, cfg, init_state, seed, k, cb)
                    runs[name].append(run)
                    if variants:
                        runs[f"{name}+threshold"].append(
                            _threshold_variant(name, run, data, cfg, k)
                        )
    finally:
        torch.set_num_threads(threads)

    has_test = data.Y_test is not None
    strategies: dict[str, Any] = {}
    for name, rs in runs.items():
        record = rs[0].record
        if len(rs) > 1:
            per_seed: dict[str, Any] = {
                "seeds": seeds,
                "val": [r.record["val"][cfg.rank_by] for r in rs],
            }
            record["val"], record["val_std"] = _mean_std([r.record["val"] for r in rs])
            if has_test:
                per_seed["test"] = [r.record["test"][cfg.rank_by] for r in rs]
                record["test"], record["test_std"] = _mean_std([r.record["test"] for r in rs])
            record["per_class"] = {
                key: np.mean([r.record["per_class"][key] for r in rs], axis=0).tolist()
                for key in record["per_class"]
            }
            record["per_seed"] = per_seed
        if data.num_classes > MAX_PER_CLASS:
            _summarise_per_class(record, data.names)
        strategies[name] = record

    metric = cfg.rank_by
    names = list(runs)
    ranking = rank_strategies(strategies, metric)
    val_means = {n: float(np.mean([r.record["val"][metric] for r in runs[n]])) for n in names}
    warn = tie_warning(names, ranking, val_means, metric)
    for split in ("val", "test"):
        if split == "test" and not has_test:
            continue
        c = data.counts(split)
        tiny = [data.names[i] for i in np.flatnonzero(c < 5)]
        if tiny:
            shown = ", ".join(repr(t) for t in tiny[:10]) + (" …" if len(tiny) > 10 else "")
            what = "positive rows" if data.task == "multilabel" else "pixels"
            warn.append(
                f"{len(tiny)} {'label' if data.task == 'multilabel' else 'class'}(es) have fewer "
                f"than 5 {'validation' if split == 'val' else 'test'} {what} ({shown}): their "
                "scores, and intervals that rest on them, are noisy"
            )

    def boot(split: str) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
        def go() -> tuple[np.ndarray, np.ndarray]:
            stats = [
                [r.val_stats if split == "val" else r.test_stats for r in runs[n]] for n in names
            ]
            num = len(data.Y_val if split == "val" else data.Y_test)  # type: ignore[arg-type]
            return bootstrap_scores(
                lambda s, j, R: stats_metric(metric, stats[s][j], R),  # type: ignore[arg-type]
                num_strategies=len(names),
                num_seeds=cfg.seeds,
                num_examples=num,
                n_boot=cfg.n_boot,
                seed=cfg.seed + (0 if split == "val" else 1),
            )

        return go

    decision = decide_scores(
        names,
        ranking,
        metric=metric,
        higher_is_better=True,
        alpha=cfg.alpha,
        val_means=val_means,
        boot_val=boot("val"),
        boot_test=boot("test") if has_test else None,
        warnings=warn,
    )
    for name, extra in decision["per_strategy"].items():
        strategies[name].update(extra)

    counts = data.counts("train")
    examples = None
    if data.task == "segmentation" and has_test:
        assert data.X_test is not None and data.Y_test is not None
        preds = {n: strategies[n].pop("examples_pred", None) for n in names}
        if all(p is not None for p in preds.values()):
            img = data.X_test[:NUM_EXAMPLES]
            examples = {
                "image": img.mean(dim=1).double().round(decimals=4).tolist(),
                "mask": data.Y_test[:NUM_EXAMPLES].tolist(),
                "prediction": preds,
            }
    model_name = "custom" if cfg.model_factory is not None else (
        "small_fcn" if data.task == "segmentation" else cfg.model
    )  # fmt: skip
    dataset: dict[str, Any] = {
        **data.info,
        "num_classes": data.num_classes,
        "class_names": list(data.names),
        "train_counts": [int(v) for v in counts],
        "count_unit": "positive rows" if data.task == "multilabel" else "labelled pixels",
        "num_train": len(data.Y_train),
        "num_val": len(data.Y_val),
        "num_test": 0 if data.Y_test is None else len(data.Y_test),
        "imbalance_ratio": float(counts.max() / max(int(counts.min()), 1)),
        "sample_weights": data.w_train is not None,
    }
    if data.task == "multilabel":
        dataset["label_cardinality"] = float(data.Y_train.sum(dim=1).double().mean())
    else:
        dataset["ignore_index"] = data.ignore_index
        dataset["image_shape"] = list(data.X_train.shape[1:])
    if has_test:
        dataset["test_counts"] = [int(v) for v in data.counts("test")]
    results: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "task": data.task,
        "dataset": dataset,
        "config": _config_json(cfg, model_name),
        "selection": {"metric": metric, "split": "val", "epoch_rule": EPOCH_RULE},
        "ranking": ranking,
        "recommendation": decision["recommendation"],
        "warnings": decision["warnings"],
        "strategies": strategies,
    }
    if data.task == "multilabel":
        results["config"]["precision_at_k"] = k
        results["config"]["threshold_variants"] = variants
    if examples is not None:
        results["examples"] = examples
    return results
