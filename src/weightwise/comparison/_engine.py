"""The engine of `weightwise compare`: train one model per weighting strategy on the same data,
from the same initialisation and seeds, measure each one on validation and test, rank on
validation and decide against ``none`` by a paired bootstrap.

Pure functions. :func:`weightwise.comparison.compare` and the ``weightwise compare`` command
are thin front ends of :func:`run_compare`; see docs/compare.md.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from weightwise.cli._distributed import DistContext

__all__ = [
    "DEFAULT_STRATEGIES",
    "EPOCH_RULE",
    "SCHEMA_VERSION",
    "STRATEGIES",
    "CompareConfig",
    "CompareData",
    "build_model",
    "parse_hidden",
    "parse_strategies",
    "rank_strategies",
    "run_compare",
]

#: Version of the ``results.json`` schema (docs/compare.md).
SCHEMA_VERSION = 3
#: The checkpoint each strategy is judged by: the model after the last epoch.
EPOCH_RULE = "last"
#: A class with fewer test (or validation) rows than this is named in a warning.
TINY_CLASS = 5
#: Above this many classes, per-class arrays are summarised in ``results.json`` and the
#: confusion matrix is not recorded (its size grows as C²).
MAX_PER_CLASS = 100

STRATEGIES: dict[str, str] = {
    "none": "plain cross-entropy",
    "balanced": "cross-entropy, balanced class weights n/(K·n_c)",
    "inverse_sqrt": "cross-entropy, class weights 1/sqrt(n_c)",
    "effective": "cross-entropy, effective-number class weights (Cui et al. 2019, β=0.999)",
    "focal": "softmax focal loss, γ=2 (Lin et al. 2017)",
    "cb_focal": "focal loss with effective-number class weights (Cui et al. 2019)",
    "resample": "class-balanced sampler (uniform over classes), plain cross-entropy",
    "sqrt_resample": "square-root sampler (class ∝ sqrt(n_c)), plain cross-entropy",
    "logit_adjusted": "logit-adjusted cross-entropy, τ=1 (Menon et al. 2021)",
    "posthoc_adjusted": "plain cross-entropy, logits adjusted by −log prior at inference",
    "ldam_drw": "LDAM margins with deferred re-weighting (Cao et al. 2019)",
    "pos_weight": "binary only: positive class weighted n_neg/n_pos, as BCE's pos_weight",
}
DEFAULT_STRATEGIES: tuple[str, ...] = tuple(s for s in STRATEGIES if s != "pos_weight")
#: The binary task's strategies; each also gets a "<strategy>+threshold" variant.
BINARY_STRATEGIES: tuple[str, ...] = (
    "none",
    "balanced",
    "pos_weight",
    "focal",
    "resample",
    "logit_adjusted",
)

#: Metrics of the test table, named as in ``weightwise.metrics.functional`` where one exists.
TEST_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "f1_score",
    "rare_recall",
    "worst_class_recall",
    "log_loss",
    "calibration_error",
    "auroc",
)
HIGHER_IS_BETTER = {
    "accuracy": True,
    "balanced_accuracy": True,
    "f1_score": True,
    "rare_recall": True,
    "worst_class_recall": True,
    "log_loss": False,
    "calibration_error": False,
    "auroc": True,
    "expected_cost": False,
    "precision": True,
    "recall": True,
    "average_precision": True,
    "macro_f1": True,
    "micro_f1": True,
    "precision_at_k": True,
    "macro_average_precision": True,
    "subset_accuracy": True,
    "miou": True,
    "mean_dice": True,
    "pixel_accuracy": True,
    "pixel_balanced_accuracy": True,
}


@dataclass(frozen=True, eq=False)
class CompareData:
    """Prepared data: float32 inputs of any shape ``(N, ...)`` (arrays or tensors), int64 labels
    in ``[0, C)``, optional weights. ``X_test``/``y_test`` are ``None`` without a test set."""

    X_train: Any
    y_train: np.ndarray
    X_val: Any
    y_val: np.ndarray
    X_test: Any
    y_test: np.ndarray | None
    class_names: tuple[str, ...]
    w_train: np.ndarray | None = None
    w_val: np.ndarray | None = None
    w_test: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def counts(self) -> np.ndarray:
        return np.bincount(self.y_train, minlength=self.num_classes).astype(np.int64)


@dataclass(frozen=True)
class CompareConfig:
    """How every strategy is trained and judged.

    ``seed`` seeds the init and batch order of the first repeat; ``seeds`` repeats over
    ``seed, seed + 1, …``. ``model_factory`` (a zero-argument callable returning a fresh
    ``nn.Module``) replaces the built-in ``model`` (``"mlp"``/``"linear"``);
    ``optimizer_factory`` (``params -> Optimizer``) replaces Adam(lr).
    """

    strategies: tuple[str, ...] = DEFAULT_STRATEGIES
    epochs: int = 30
    seed: int = 0
    batch_size: int = 64
    lr: float = 3e-3
    model: str = "mlp"
    hidden: tuple[int, ...] = (128,)
    rank_by: str = "balanced_accuracy"
    cost_matrix: np.ndarray | None = None
    seeds: int = 1
    n_boot: int = 2000
    alpha: float = 0.05
    model_factory: Callable[[], nn.Module] | None = None
    optimizer_factory: Callable[[Any], torch.optim.Optimizer] | None = None
    optimizer_name: str = "adam"
    device: str | None = None
    task: str = "multiclass"


def build_model(in_features: int, num_classes: int, cfg: CompareConfig) -> nn.Module:
    """An MLP (ReLU hidden layers) or, with ``model="linear"``, logistic regression; or
    ``cfg.model_factory()`` when given."""
    if cfg.model_factory is not None:
        built = cfg.model_factory()
        if not isinstance(built, nn.Module):
            raise TypeError(
                f"model must be a zero-argument callable returning an nn.Module; it returned "
                f"{type(built).__name__}"
            )
        return built
    if cfg.model == "linear":
        return nn.Linear(in_features, num_classes)
    layers: list[nn.Module] = []
    width = in_features
    for h in cfg.hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None, int], torch.Tensor]


LDAM_SCALE = 30.0


def _strategy_parts(
    name: str,
    counts: np.ndarray,
    cfg: CompareConfig,
    *,
    sync: bool = False,
    device: torch.device | None = None,
) -> tuple[LossFn, float | None, np.ndarray]:
    """The loss, the sampler's class power (``None``: plain shuffling) and the implied prior.

    ``sync=True`` gives the loss of a DDP rank (DECISIONS §1): ``W · Σ_local ω·L / D_global``.

    LDAM trains ``scale · logits`` (Cao et al.'s ``s = 30``); its scores are scaled alike at
    evaluation (see :func:`_eval_logits`).

    The implied training prior ``π_c ∝ n_c · κ_c`` is what the trained model's probabilities
    reflect: ``κ_c`` is the class weight, or the sampling ratio of a re-sampler; a logit-adjusted
    model is already balanced (uniform ``π``). Prior correction divides by it.
    """
    from weightwise.losses import (
        cross_entropy,
        focal_loss,
        ldam_loss,
        logit_adjusted_cross_entropy,
    )
    from weightwise.schedules import DeferredReweighting
    from weightwise.weights import class_weights

    n = counts.astype(np.float64)
    prior = n / n.sum()
    uniform = np.full_like(prior, 1.0 / len(prior))

    def cw_of(scheme: str) -> torch.Tensor:
        w = class_weights(counts=counts, scheme=scheme)
        return torch.as_tensor(w, dtype=torch.float32, device=device)

    def ce(cw: torch.Tensor | None) -> LossFn:
        return lambda x, y, s, e: cross_entropy(x, y, sample_weight=s, class_weight=cw, sync=sync)

    if name in ("none", "posthoc_adjusted"):
        return ce(None), None, prior if name == "none" else uniform
    if name in ("balanced", "inverse_sqrt", "effective"):
        cw = cw_of(name)
        return ce(cw), None, _normalise(prior * cw.double().numpy())
    if name == "focal":
        return (
            (lambda x, y, s, e: focal_loss(x, y, gamma=2.0, sample_weight=s, sync=sync)),
            None,
            prior,
        )
    if name == "cb_focal":
        cw = cw_of("effective")
        return (
            lambda x, y, s, e: focal_loss(
                x, y, gamma=2.0, sample_weight=s, class_weight=cw, sync=sync
            ),
            None,
            _normalise(prior * cw.double().numpy()),
        )
    if name == "pos_weight":
        if len(counts) != 2:
            raise ValueError("strategy 'pos_weight' is for binary targets (2 classes)")
        pw = torch.tensor([1.0, float(n[0] / n[1])], dtype=torch.float32, device=device)
        return ce(pw), None, _normalise(prior * pw.double().cpu().numpy())
    if name == "resample":
        return ce(None), 0.0, uniform
    if name == "sqrt_resample":
        return ce(None), 0.5, _normalise(np.sqrt(n))
    if name == "logit_adjusted":
        return (
            lambda x, y, s, e: logit_adjusted_cross_entropy(
                x, y, counts=counts, sample_weight=s, sync=sync
            ),
            None,
            uniform,
        )
    if name == "ldam_drw":
        switch = max(1, round(0.8 * cfg.epochs))
        drw = DeferredReweighting(counts, switch_epoch=switch, beta=0.999)

        def ldam(x: torch.Tensor, y: torch.Tensor, s: torch.Tensor | None, e: int) -> torch.Tensor:
            cw = torch.as_tensor(drw.class_weight(e), dtype=torch.float32, device=device)
            return ldam_loss(
                x, y, counts=counts, sample_weight=s, class_weight=cw, scale=LDAM_SCALE, sync=sync
            )

        cw_final = np.asarray(drw.class_weight(switch), dtype=np.float64)
        return ldam, None, _normalise(prior * cw_final)
    raise ValueError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")


def _normalise(p: np.ndarray) -> np.ndarray:
    return p / p.sum()


def _batches(
    n: int, labels: np.ndarray, power: float | None, cfg: CompareConfig, epoch: int, seed: int
) -> list[np.ndarray]:
    """The epoch's global batches: positions ``k·B … (k+1)·B − 1`` of one global order."""
    if power is None:
        g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        order = torch.randperm(n, generator=g).numpy()
    else:
        from weightwise.data import ClassBalancedSampler

        # The global draw on every rank (rank 0 of 1); a DDP rank shards each global batch.
        sampler = ClassBalancedSampler(
            labels, power=power, num_samples=n, seed=seed, rank=0, world_size=1
        )
        sampler.set_epoch(epoch)
        order = np.fromiter(iter(sampler), dtype=np.int64, count=n)
    return [order[i : i + cfg.batch_size] for i in range(0, n, cfg.batch_size)]


#: Rows per forward pass at evaluation.
EVAL_CHUNK = 4096


@torch.no_grad()
def _logits(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """``model(X)`` in evaluation mode, by chunks of rows, on the CPU."""
    model.eval()
    out = torch.cat([model(X[i : i + EVAL_CHUNK]).cpu() for i in range(0, len(X), EVAL_CHUNK)])
    model.train()
    return out


def _eval_logits(name: str, raw: torch.Tensor, prior: np.ndarray) -> torch.Tensor:
    """The scores a strategy predicts with: LDAM's are scaled as in training (its margin is
    not applied at inference); post-hoc adjustment subtracts ``log π``."""
    from weightwise.decision import posthoc_logit_adjust

    if name == "ldam_drw":
        return raw * LDAM_SCALE
    if name == "posthoc_adjusted":
        return posthoc_logit_adjust(raw, prior=prior)
    return raw


@torch.no_grad()
def _chunked_train_ce(
    name: str, model: nn.Module, X: torch.Tensor, y: torch.Tensor, prior: np.ndarray
) -> float:
    """The unweighted mean cross-entropy of the evaluation scores, by chunks of rows."""
    from weightwise.losses import cross_entropy

    model.eval()
    total = 0.0
    for i in range(0, len(X), EVAL_CHUNK):
        z = _eval_logits(name, model(X[i : i + EVAL_CHUNK]).cpu(), prior)
        total += float(cross_entropy(z, y[i : i + EVAL_CHUNK], reduction="sum"))
    model.train()
    return total / max(len(X), 1)


def _ce_value(logits: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None) -> float:
    from weightwise.losses import cross_entropy

    return float(cross_entropy(logits, y, sample_weight=w, reduction="weighted_mean"))


def evaluate_probs(
    probs: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor | None,
    counts: np.ndarray,
    cost_matrix: np.ndarray | None = None,
) -> dict[str, float]:
    """The test table's metrics for class probabilities ``(N, C)``."""
    import warnings

    from weightwise.metrics import functional as M

    c = probs.shape[1]
    kw: dict[str, Any] = {"task": "multiclass", "num_classes": c}
    pred = probs.argmax(dim=1)
    recall = M.recall(pred, y, sample_weight=w, average="none", **kw).double().numpy()
    support = np.bincount(y.numpy(), minlength=c) > 0
    rare = np.argsort(counts, kind="stable")[: max(1, math.ceil(c / 3))]
    rare = rare[support[rare]]
    out = {
        "accuracy": float(M.accuracy(pred, y, sample_weight=w, **kw)),
        "balanced_accuracy": float(M.balanced_accuracy(pred, y, sample_weight=w, **kw)),
        "f1_score": float(M.f1_score(pred, y, sample_weight=w, average="macro", **kw)),
        "rare_recall": float(recall[rare].mean()) if rare.size else float("nan"),
        "worst_class_recall": float(recall[support].min()),
        "log_loss": float(M.log_loss(probs, y, sample_weight=w, **kw)),
        "calibration_error": float(M.calibration_error(probs, y, sample_weight=w, **kw)),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a class absent from the test set: skipped, as documented
        out["auroc"] = float(
            M.auroc(probs, y, sample_weight=w, average="macro", multi_class="ovr", **kw)
        )
    if cost_matrix is not None:
        from weightwise.decision import bayes_decision

        decided = torch.as_tensor(bayes_decision(probs.numpy(), cost_matrix))
        costs = torch.as_tensor(cost_matrix)[y, decided]
        ww = torch.ones_like(costs) if w is None else w.double()
        out["expected_cost"] = float((costs * ww).sum() / ww.sum())
    out["per_class_recall"] = [float(r) for r in recall]  # type: ignore[assignment]
    return out


def _confusion(pred: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None, c: int) -> list:
    from weightwise.metrics import functional as M

    cm = M.confusion_matrix(pred, y, sample_weight=w, task="multiclass", num_classes=c)
    return [[float(v) for v in row] for row in cm.double().tolist()]


def _reliability(
    probs: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None, bins: int = 10
) -> dict[str, list[float]]:
    conf, pred = probs.max(dim=1)
    correct = (pred == y).double()
    ww = torch.ones_like(correct) if w is None else w.double()
    idx = torch.clamp((conf.double() * bins).long(), max=bins - 1)
    mass = torch.zeros(bins, dtype=torch.float64).index_add_(0, idx, ww)
    acc = torch.zeros(bins, dtype=torch.float64).index_add_(0, idx, ww * correct)
    cf = torch.zeros(bins, dtype=torch.float64).index_add_(0, idx, ww * conf.double())
    safe = torch.where(mass > 0, mass, torch.ones_like(mass))
    count = torch.zeros(bins, dtype=torch.float64).index_add_(0, idx, torch.ones_like(ww))
    return {
        "count": [int(v) for v in count.tolist()],
        "mass": (mass / ww.sum()).tolist(),
        "accuracy": (acc / safe).tolist(),
        "confidence": (cf / safe).tolist(),
    }


def _tensor(x: Any, dtype: torch.dtype | None = None) -> torch.Tensor:
    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))
    return t if dtype is None else t.to(dtype)


@dataclass
class _Run:
    """One strategy under one seed: its ``results.json`` record and its final probabilities."""

    record: dict[str, Any]
    val_probs: np.ndarray | None
    test_probs: np.ndarray | None
    #: The bootstrap's per-example statistics by split, once computed (see :func:`_compact`).
    stats: dict[str, Any] = field(default_factory=dict)


def run_strategy(
    name: str,
    data: CompareData,
    cfg: CompareConfig,
    init_state: dict[str, torch.Tensor],
    *,
    seed: int | None = None,
    on_epoch: Callable[[int], None] | None = None,
    dist: DistContext | None = None,
) -> _Run:
    """Train one strategy from ``init_state`` and evaluate the last-epoch model.

    ``seed`` (default ``cfg.seed``) fixes the batch order. With ``dist`` (a ``torchrun``
    rank), the model is wrapped in DistributedDataParallel, each rank trains on its share of
    every global batch with ``sync=True`` losses, and the evaluation scores are computed on
    evaluation shares and gathered; every value recorded is the global one, as one process
    computes it (to float tolerance).
    """
    from weightwise.decision import prior_correction
    from weightwise.metrics import functional as M

    seed = cfg.seed if seed is None else seed
    counts = data.counts
    loss_fn, power, implied_prior = _strategy_parts(name, counts, cfg)
    torch.manual_seed(seed)
    model = build_model(_in_features(data.X_train), data.num_classes, cfg)
    model.load_state_dict(copy.deepcopy(init_state))
    if dist is not None:
        device = dist.device
    else:
        device = torch.device(cfg.device) if cfg.device is not None else torch.device("cpu")
    model.to(device)
    net: nn.Module = model
    train_loss_fn = loss_fn
    logits_of: Callable[[nn.Module, torch.Tensor], torch.Tensor] = _logits
    if dist is not None:
        from torch.nn.parallel import DistributedDataParallel

        ids = [dist.local_rank] if device.type == "cuda" else None
        net = DistributedDataParallel(model, device_ids=ids)
        train_loss_fn = _strategy_parts(name, counts, cfg, sync=True, device=device)[0]
        logits_of = lambda m, X: dist.gather_logits(m, X).cpu()  # noqa: E731
    if dist is None and device.type != "cpu":  # class weights where the logits are
        train_loss_fn = _strategy_parts(name, counts, cfg, device=device)[0]
    if cfg.optimizer_factory is not None:
        opt = cfg.optimizer_factory(model.parameters())
    else:
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)

    Xtr, ytr = _tensor(data.X_train, torch.float32), torch.from_numpy(data.y_train)
    Xva, yva = _tensor(data.X_val, torch.float32), torch.from_numpy(data.y_val)
    wtr = None if data.w_train is None else _tensor(data.w_train, torch.float32)
    wva = None if data.w_val is None else _tensor(data.w_val, torch.float32)
    prior = counts / counts.sum()
    # Training tensors on the device; logits come back to the CPU for evaluation.
    Xtr_d, ytr_d, Xva_d = (t.to(device) for t in (Xtr, ytr, Xva))
    wtr_d = None if wtr is None else wtr.to(device)
    loss_cpu = _strategy_parts(name, counts, cfg)[0] if device.type != "cpu" else loss_fn

    history: list[dict[str, Any]] = []
    kw: dict[str, Any] = {"task": "multiclass", "num_classes": data.num_classes}
    for epoch in range(cfg.epochs):
        batch_losses: list[float] = []
        batch_sizes: list[int] = []
        for idx_np in _batches(len(ytr), data.y_train, power, cfg, epoch, seed):
            local = idx_np if dist is None else np.ascontiguousarray(dist.shard(idx_np))
            idx = torch.from_numpy(local).to(device)
            s = None if wtr_d is None else wtr_d[idx]
            loss = train_loss_fn(net(Xtr_d[idx]), ytr_d[idx], s, epoch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            batch_losses.append(loss.item())
            batch_sizes.append(len(idx_np))
        if dist is not None:  # a rank's synced loss is not the global one; their mean is
            batch_losses = dist.mean_over_ranks(batch_losses)
        total, seen = 0.0, 0
        for value, size in zip(batch_losses, batch_sizes, strict=True):
            total += value * size
            seen += size
        with torch.no_grad():
            if dist is None:  # by chunks: no (N_train, C) logits held at once
                train_ce = _chunked_train_ce(name, model, Xtr_d, ytr, prior)
            else:
                train_ce = _ce_value(_eval_logits(name, logits_of(model, Xtr_d), prior), ytr, None)
            raw_va = logits_of(model, Xva_d)
            lva = _eval_logits(name, raw_va, prior)
            row: dict[str, Any] = {
                "epoch": epoch + 1,
                "train_loss": total / max(seen, 1),
                "train_ce_unweighted": train_ce,
                "val_loss_unweighted": _ce_value(lva, yva, None),
                "val_loss_as_trained": float(loss_cpu(raw_va, yva, wva, epoch)),
                "val_balanced_accuracy": float(M.balanced_accuracy(lva.argmax(1), yva, **kw)),
                "val_accuracy": float(M.accuracy(lva.argmax(1), yva, **kw)),
            }
            if wva is not None:
                row["val_loss_weighted"] = _ce_value(lva, yva, wva)
                row["val_weighted_balanced_accuracy"] = float(
                    M.balanced_accuracy(lva.argmax(1), yva, sample_weight=wva, **kw)
                )
                row["val_weighted_accuracy"] = float(
                    M.accuracy(lva.argmax(1), yva, sample_weight=wva, **kw)
                )
        history.append(row)
        if on_epoch is not None:
            on_epoch(epoch)

    # The selection checkpoint is the last epoch's model (EPOCH_RULE).
    val_probs = torch.softmax(lva.double(), dim=1)
    val = _evaluate(val_probs, yva, wva, counts, cfg)
    val.pop("per_class_recall")
    val["epoch"] = cfg.epochs
    record: dict[str, Any] = {"description": STRATEGIES[name], "val": val}

    # Diagnostics (per-class recall, confusion, reliability) on test, or on validation.
    if data.X_test is not None and data.y_test is not None:
        yte = torch.from_numpy(data.y_test)
        wte = None if data.w_test is None else _tensor(data.w_test, torch.float32)
        Xte_d = _tensor(data.X_test, torch.float32).to(device)
        probs = torch.softmax(_eval_logits(name, logits_of(model, Xte_d), prior).double(), dim=1)
        target_prior = np.full(data.num_classes, 1.0 / data.num_classes)
        corrected = torch.as_tensor(
            prior_correction(probs.numpy(), train_prior=implied_prior, target_prior=target_prior)
        )
        test = _evaluate(probs, yte, wte, counts, cfg)
        test_pc = _evaluate(corrected, yte, wte, counts, cfg)
        per_class = test.pop("per_class_recall")
        test_pc.pop("per_class_recall")
        record["test"] = test
        record["test_prior_corrected"] = test_pc
        if cfg.task == "binary":
            from ._tasks import _pr_curve

            record["pr_curve"] = _pr_curve(
                probs[:, 1:].numpy(), data.y_test[:, None], None if wte is None else wte.numpy()
            )
        diag_probs, diag_y, diag_w = probs, yte, wte
    else:
        per_class = evaluate_probs(val_probs, yva, wva, counts)["per_class_recall"]
        diag_probs, diag_y, diag_w = val_probs, yva, wva
    record["per_class_recall"] = per_class
    record["implied_train_prior"] = [float(p) for p in implied_prior]
    record["confusion_matrix"] = (
        _confusion(diag_probs.argmax(1), diag_y, diag_w, data.num_classes)
        if data.num_classes <= MAX_PER_CLASS
        else None
    )
    record["reliability"] = _reliability(diag_probs, diag_y, diag_w)
    record["history"] = history
    return _Run(
        record,
        val_probs.numpy(),
        None if record.get("test") is None else diag_probs.numpy(),
    )


def _evaluate(
    probs: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor | None,
    counts: np.ndarray,
    cfg: CompareConfig,
) -> dict[str, Any]:
    """:func:`evaluate_probs`, with the positive-class metrics for a binary task."""
    out: dict[str, Any] = evaluate_probs(probs, y, w, counts, cfg.cost_matrix)
    if cfg.task == "binary":
        from ._binary import binary_metrics

        per_class = out.pop("per_class_recall")
        out.update(
            binary_metrics(
                probs[:, 1].numpy(), y.numpy(), None if w is None else w.double().numpy(), 0.5
            )
        )
        out["per_class_recall"] = per_class
    return out


def _threshold_variant(name: str, base: _Run, data: CompareData, cfg: CompareConfig) -> _Run:
    """``"<name>+threshold"``: the base model deciding ``p > t``, ``t`` tuned on validation."""
    from ._binary import DECISION_METRICS, binary_metrics, cross_fitted_predictions, tune_threshold

    wva = data.w_val
    assert base.val_probs is not None
    p_val = base.val_probs[:, 1]
    t = tune_threshold(p_val, data.y_val, wva, cfg.rank_by)
    pred_val, halves = cross_fitted_predictions(p_val, data.y_val, wva, cfg.rank_by, seed=cfg.seed)
    rec = copy.deepcopy(base.record)
    rec["description"] = f"{STRATEGIES[name]}; decision threshold tuned on validation"
    rec["threshold"] = t
    rec["val_thresholds_cross_fitted"] = halves
    val_dec = binary_metrics(pred_val.astype(np.float64), data.y_val, wva, 0.5)
    for key in DECISION_METRICS:
        rec["val"][key] = val_dec[key]
    onehot_val = np.eye(2)[pred_val]
    test_dec_probs = None
    if base.test_probs is not None and data.y_test is not None:
        p_te = base.test_probs[:, 1]
        test_dec = binary_metrics(p_te, data.y_test, data.w_test, t)
        for key in DECISION_METRICS:
            rec["test"][key] = test_dec[key]
        pred_te = (p_te > t).astype(np.int64)
        y_d = torch.from_numpy(data.y_test)
        w_d = None if data.w_test is None else torch.as_tensor(data.w_test)
        test_dec_probs = np.eye(2)[pred_te]
        rec["per_class_recall"] = [
            test_dec["recall"] if c == 1 else 2 * test_dec["balanced_accuracy"] - test_dec["recall"]
            for c in (0, 1)
        ]
        rec["confusion_matrix"] = _confusion(torch.from_numpy(pred_te), y_d, w_d, 2)
        rec.pop("test_prior_corrected", None)
    return _Run(rec, onehot_val, test_dec_probs)


def _compact(run: _Run, data: CompareData, cfg: CompareConfig) -> _Run:
    """Above ``MAX_PER_CLASS`` classes, replace a run's (N, C) probabilities by the bootstrap's
    per-example statistics (O(N) memory), so that C = 5000 does not hold 2·S·N·C floats."""
    if data.num_classes <= MAX_PER_CLASS:
        return run
    from ._decide import rare_classes, run_stats

    rare = rare_classes(data.counts)
    run.stats["val"] = run_stats(run, "val", data.y_val, data.w_val, cfg, rare)
    if run.test_probs is not None and data.y_test is not None:
        run.stats["test"] = run_stats(run, "test", data.y_test, data.w_test, cfg, rare)
    run.val_probs = run.test_probs = None
    return run


def _in_features(X: Any) -> int:
    return int(np.prod(tuple(X.shape[1:]))) if len(X.shape) > 1 else 1


def run_compare(
    data: CompareData,
    cfg: CompareConfig,
    *,
    on_epoch: Callable[[str, int], None] | None = None,
    dist: DistContext | None = None,
) -> dict[str, Any]:
    """Run every strategy of ``cfg`` on ``data`` and return the ``results.json`` object.

    Every strategy starts from the same initial weights (drawn once per seed) and sees the
    same epochs, batch size and optimiser; the same seed gives the same numbers. ``dist``
    (from ``torchrun``) trains each strategy on ``W`` ranks; ``cfg.batch_size`` stays the
    *global* batch size, so the result equals the 1-process one to float tolerance.
    ``on_epoch(name, k)`` is called after the ``k``-th epoch (counted over all seeds).
    """
    unknown = [s for s in cfg.strategies if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategy {unknown[0]!r}; choose from {', '.join(STRATEGIES)}")
    from ._stats import BOOTSTRAP_METRICS

    if cfg.rank_by not in BOOTSTRAP_METRICS:
        raise ValueError(
            f"rank_by must be one of {', '.join(BOOTSTRAP_METRICS)}; got {cfg.rank_by!r}"
        )
    threads = torch.get_num_threads()
    # Small models: one thread is faster than waking a pool for each tiny matmul, and the
    # numbers do not depend on how many cores the machine has. A user's model keeps the pool.
    if cfg.model_factory is None:
        torch.set_num_threads(1)
    # The data were validated once when they were prepared (labels in range, weights finite and
    # non-negative), so the per-batch value checks are switched off in the hot loop, as
    # `weightwise.set_checks` intends; shape checks still run.
    from weightwise import no_checks

    try:
        with no_checks():
            return _run_all(data, cfg, on_epoch, dist)
    finally:
        torch.set_num_threads(threads)


def _mean_std(records: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, float]]:
    mean: dict[str, Any] = {}
    std: dict[str, float] = {}
    for key, v0 in records[0].items():
        if isinstance(v0, float):
            vals = np.array([r[key] for r in records], dtype=np.float64)
            mean[key] = float(vals.mean())
            std[key] = float(vals.std(ddof=1)) if len(vals) > 1 else 0.0
        else:
            mean[key] = v0
    return mean, std


def _config_json(cfg: CompareConfig, model_name: str, world_size: int = 1) -> dict[str, Any]:
    """The ``"config"`` block of ``results.json`` (shared by every task's results)."""
    return {
        "strategies": list(cfg.strategies),
        "epochs": cfg.epochs,
        "seed": cfg.seed,
        "seeds": cfg.seeds,
        "batch_size": cfg.batch_size,
        "lr": cfg.lr,
        "optimizer": cfg.optimizer_name,
        "model": model_name,
        "hidden": list(cfg.hidden) if model_name == "mlp" else [],
        "rank_by": cfg.rank_by,
        "n_boot": cfg.n_boot,
        "alpha": cfg.alpha,
        "world_size": world_size,
    }


def _run_all(
    data: CompareData,
    cfg: CompareConfig,
    on_epoch: Callable[[str, int], None] | None,
    dist: DistContext | None = None,
) -> dict[str, Any]:
    from ._binary import THRESHOLD_METRICS
    from ._decide import decide

    seeds = [cfg.seed + k for k in range(cfg.seeds)]
    variants = cfg.task == "binary" and cfg.rank_by in THRESHOLD_METRICS
    runs: dict[str, list[_Run]] = {}
    for name in cfg.strategies:
        runs[name] = []
        if variants:
            runs[f"{name}+threshold"] = []
    for k, seed in enumerate(seeds):
        torch.manual_seed(seed)
        model0 = build_model(_in_features(data.X_train), data.num_classes, cfg)
        init_state = copy.deepcopy(model0.state_dict())
        del model0
        for name in cfg.strategies:
            cb = None
            if on_epoch is not None:
                cb = lambda e, n=name, k=k: on_epoch(n, k * cfg.epochs + e)  # noqa: E731
            run = run_strategy(name, data, cfg, init_state, seed=seed, on_epoch=cb, dist=dist)
            if variants:
                runs[f"{name}+threshold"].append(_threshold_variant(name, run, data, cfg))
            runs[name].append(_compact(run, data, cfg))

    has_test = data.X_test is not None and data.y_test is not None
    strategies: dict[str, Any] = {}
    for name, rs in runs.items():
        record = rs[0].record
        if len(rs) > 1:
            per_seed = {
                "seeds": seeds,
                "val": [r.record["val"][cfg.rank_by] for r in rs],
                **({"test": [r.record["test"][cfg.rank_by] for r in rs]} if has_test else {}),
            }
            record["val"], record["val_std"] = _mean_std([r.record["val"] for r in rs])
            if has_test:
                record["test"], record["test_std"] = _mean_std([r.record["test"] for r in rs])
                if "test_prior_corrected" in record:
                    record["test_prior_corrected"] = _mean_std(
                        [r.record["test_prior_corrected"] for r in rs]
                    )[0]
            record["per_class_recall"] = np.mean(
                [r.record["per_class_recall"] for r in rs], axis=0
            ).tolist()
            record["per_seed"] = per_seed
        strategies[name] = record
    if data.num_classes > MAX_PER_CLASS:
        for record in strategies.values():
            record["per_class_recall"] = _summarise(record["per_class_recall"], data.class_names)
            record["implied_train_prior"] = None
    ranking = rank_strategies(strategies, cfg.rank_by)
    decision = decide(data, cfg, runs, ranking)
    for name, extra in decision["per_strategy"].items():
        strategies[name].update(extra)
    counts = data.counts
    model_name = "custom" if cfg.model_factory is not None else cfg.model
    results: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "task": cfg.task,
        "dataset": {
            **data.info,
            "num_classes": data.num_classes,
            "class_names": list(data.class_names),
            "train_counts": [int(v) for v in counts],
            "num_train": len(data.y_train),
            "num_val": len(data.y_val),
            "num_test": 0 if data.y_test is None else len(data.y_test),
            "imbalance_ratio": float(counts.max() / max(int(counts.min()), 1)),
            "sample_weights": data.w_train is not None,
        },
        "config": _config_json(cfg, model_name, 1 if dist is None else dist.world_size),
        "selection": {"metric": cfg.rank_by, "split": "val", "epoch_rule": EPOCH_RULE},
        "ranking": ranking,
        "recommendation": decision["recommendation"],
        "warnings": decision["warnings"],
        "strategies": strategies,
    }
    if data.y_test is not None:
        results["dataset"]["test_counts"] = [
            int(v) for v in np.bincount(data.y_test, minlength=data.num_classes)
        ]
    return results


def _summarise(values: Sequence[float], names: Sequence[str], k: int = 10) -> dict[str, Any]:
    """Quantiles of a per-class array and its ``k`` lowest classes (NaN: class absent)."""
    v = np.asarray(values, dtype=np.float64)
    ok = ~np.isnan(v)
    q = np.quantile(v[ok], [0, 0.25, 0.5, 0.75, 1]).tolist() if ok.any() else [math.nan] * 5
    lowest = [int(i) for i in np.argsort(np.where(ok, v, np.inf), kind="stable")[:k] if ok[i]]
    return {
        "summarised": f"{len(v)} classes (more than {MAX_PER_CLASS}): quantiles and lowest {k}",
        "mean": float(v[ok].mean()) if ok.any() else math.nan,
        "quantiles": dict(zip(("min", "q25", "median", "q75", "max"), q, strict=True)),
        "lowest": [{"class": str(names[i]), "value": float(v[i])} for i in lowest],
    }


def rank_strategies(strategies: dict[str, Any], metric: str) -> list[str]:
    """Strategy names, best first, by ``metric`` on the *validation* set (ties: given order)."""
    sign = -1.0 if HIGHER_IS_BETTER.get(metric, True) else 1.0

    def key(item: tuple[int, str]) -> tuple[float, int]:
        i, name = item
        v = strategies[name]["val"].get(metric, float("nan"))
        return (sign * v if not math.isnan(v) else math.inf, i)

    return [name for _, name in sorted(enumerate(strategies), key=key)]


def parse_strategies(text: str | Sequence[str] | None, task: str = "multiclass") -> tuple[str, ...]:
    """``"none,balanced"`` (or a sequence of names) -> a tuple; ``None`` or ``"all"`` -> every
    strategy of the ``task``."""
    if text is None or (isinstance(text, str) and text.strip() in ("", "all")):
        return BINARY_STRATEGIES if task == "binary" else DEFAULT_STRATEGIES
    parts = text.split(",") if isinstance(text, str) else list(text)
    names = tuple(str(s).strip() for s in parts if str(s).strip())
    for s in names:
        if s not in STRATEGIES:
            raise ValueError(f"unknown strategy {s!r}; choose from {', '.join(STRATEGIES)}")
    if not names:
        raise ValueError("strategies is empty; name at least one, e.g. 'none,balanced'")
    if len(set(names)) != len(names):
        raise ValueError("--strategies lists a strategy twice")
    if "pos_weight" in names and task != "binary":
        raise ValueError("strategy 'pos_weight' is for binary targets (2 classes)")
    return names


def as_binary(data: CompareData, positive: str | None) -> CompareData:
    """Order a 2-class problem so that the positive class is index 1.

    ``positive`` names it (a class name); default: the rarer training class (ties: the second).
    """
    import dataclasses

    names = list(data.class_names)
    if positive is None:
        counts = data.counts
        pos = 0 if counts[0] < counts[1] else 1
    elif positive in names:
        pos = names.index(positive)
    else:
        raise ValueError(
            f"positive class {positive!r} is not a class of the target; classes: "
            + ", ".join(repr(n) for n in names)
        )
    info = {**data.info, "positive_class": names[pos]}
    if pos == 1:
        return dataclasses.replace(data, info=info)
    return dataclasses.replace(
        data,
        y_train=(1 - data.y_train).astype(np.int64),
        y_val=(1 - data.y_val).astype(np.int64),
        y_test=None if data.y_test is None else (1 - data.y_test).astype(np.int64),
        class_names=(names[1], names[0]),
        info=info,
    )


def parse_hidden(text: str) -> tuple[int, ...]:
    """``"128,64"`` -> ``(128, 64)``."""
    try:
        sizes = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(
            f"--hidden must be comma-separated positive integers; got {text!r}"
        ) from None
    if not sizes or any(s <= 0 for s in sizes):
        raise ValueError(f"--hidden must be comma-separated positive integers; got {text!r}")
    return sizes
