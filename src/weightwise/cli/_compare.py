"""`weightwise compare`: train one model per weighting strategy on the same data, from the same
initialisation and seed, and measure each one.

Pure functions. The typer layer in ``_app.py`` parses options and prints; ``_report.py`` writes
the HTML report and figures.
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
    from ._distributed import DistContext

__all__ = [
    "DEFAULT_STRATEGIES",
    "STRATEGIES",
    "CompareConfig",
    "CompareData",
    "run_compare",
]

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
}
DEFAULT_STRATEGIES: tuple[str, ...] = tuple(STRATEGIES)

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
}


@dataclass(frozen=True, eq=False)
class CompareData:
    """Prepared arrays: float32 features, int64 labels in ``[0, C)``, optional weights."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
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
    strategies: tuple[str, ...] = DEFAULT_STRATEGIES
    epochs: int = 30
    seed: int = 0
    batch_size: int = 64
    lr: float = 3e-3
    model: str = "mlp"
    hidden: tuple[int, ...] = (128,)
    rank_by: str = "balanced_accuracy"
    cost_matrix: np.ndarray | None = None


def build_model(in_features: int, num_classes: int, cfg: CompareConfig) -> nn.Module:
    """An MLP (ReLU hidden layers) or, with ``model="linear"``, logistic regression."""
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
    name: str, counts: np.ndarray, cfg: CompareConfig, *, sync: bool = False
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
        return torch.as_tensor(class_weights(counts=counts, scheme=scheme), dtype=torch.float32)

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
            cw = torch.as_tensor(drw.class_weight(e), dtype=torch.float32)
            return ldam_loss(
                x, y, counts=counts, sample_weight=s, class_weight=cw, scale=LDAM_SCALE, sync=sync
            )

        cw_final = np.asarray(drw.class_weight(switch), dtype=np.float64)
        return ldam, None, _normalise(prior * cw_final)
    raise ValueError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")


def _normalise(p: np.ndarray) -> np.ndarray:
    return p / p.sum()


def _batches(
    n: int, labels: np.ndarray, power: float | None, cfg: CompareConfig, epoch: int
) -> list[np.ndarray]:
    """The epoch's global batches: positions ``k·B … (k+1)·B − 1`` of one global order."""
    if power is None:
        g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
        order = torch.randperm(n, generator=g).numpy()
    else:
        from weightwise.data import ClassBalancedSampler

        # The global draw on every rank (rank 0 of 1); a DDP rank shards each global batch.
        sampler = ClassBalancedSampler(
            labels, power=power, num_samples=n, seed=cfg.seed, rank=0, world_size=1
        )
        sampler.set_epoch(epoch)
        order = np.fromiter(iter(sampler), dtype=np.int64, count=n)
    return [order[i : i + cfg.batch_size] for i in range(0, n, cfg.batch_size)]


@torch.no_grad()
def _logits(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    model.eval()
    out = model(X)
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
    return {
        "mass": (mass / ww.sum()).tolist(),
        "accuracy": (acc / safe).tolist(),
        "confidence": (cf / safe).tolist(),
    }


def run_strategy(
    name: str,
    data: CompareData,
    cfg: CompareConfig,
    init_state: dict[str, torch.Tensor],
    *,
    on_epoch: Callable[[int], None] | None = None,
    dist: DistContext | None = None,
) -> dict[str, Any]:
    """Train one strategy and evaluate it; the result goes into ``results.json`` as is.

    With ``dist`` (a ``torchrun`` rank), the model is wrapped in DistributedDataParallel, each
    rank trains on its share of every global batch with ``sync=True`` losses, and the
    evaluation scores are computed on evaluation shares and gathered; every value recorded is
    the global one, as one process computes it (to float tolerance).
    """
    from weightwise.decision import prior_correction

    counts = data.counts
    loss_fn, power, implied_prior = _strategy_parts(name, counts, cfg)
    torch.manual_seed(cfg.seed)
    model = build_model(data.X_train.shape[1], data.num_classes, cfg)
    model.load_state_dict(copy.deepcopy(init_state))
    device = torch.device("cpu") if dist is None else dist.device
    net: nn.Module = model
    train_loss_fn = loss_fn
    logits_of: Callable[[nn.Module, torch.Tensor], torch.Tensor] = _logits
    if dist is not None:
        from torch.nn.parallel import DistributedDataParallel

        model.to(device)
        ids = [dist.local_rank] if device.type == "cuda" else None
        net = DistributedDataParallel(model, device_ids=ids)
        train_loss_fn = _strategy_parts(name, counts, cfg, sync=True)[0]
        logits_of = dist.gather_logits
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)

    Xtr, ytr = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
    Xva, yva = torch.from_numpy(data.X_val), torch.from_numpy(data.y_val)
    Xte, yte = torch.from_numpy(data.X_test), torch.from_numpy(data.y_test)
    wtr = None if data.w_train is None else torch.from_numpy(data.w_train).float()
    wva = None if data.w_val is None else torch.from_numpy(data.w_val).float()
    wte = None if data.w_test is None else torch.from_numpy(data.w_test).float()
    prior = counts / counts.sum()
    # Training tensors on the rank's device (the same tensors on CPU); evaluation stays on CPU.
    Xtr_d, ytr_d, Xva_d, Xte_d = (t.to(device) for t in (Xtr, ytr, Xva, Xte))
    wtr_d = None if wtr is None else wtr.to(device)

    history: list[dict[str, Any]] = []
    for epoch in range(cfg.epochs):
        batch_losses: list[float] = []
        batch_sizes: list[int] = []
        for idx_np in _batches(len(ytr), data.y_train, power, cfg, epoch):
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
            ltr = _eval_logits(name, logits_of(model, Xtr_d), prior)
            raw_va = logits_of(model, Xva_d)
            lva = _eval_logits(name, raw_va, prior)
            from weightwise.metrics import functional as M

            kw: dict[str, Any] = {"task": "multiclass", "num_classes": data.num_classes}
            row: dict[str, Any] = {
                "epoch": epoch + 1,
                "train_loss": total / max(seen, 1),
                "train_ce_unweighted": _ce_value(ltr, ytr, None),
                "val_loss_unweighted": _ce_value(lva, yva, None),
                "val_loss_as_trained": float(loss_fn(raw_va, yva, wva, epoch)),
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

    logits = _eval_logits(name, logits_of(model, Xte_d), prior)
    probs = torch.softmax(logits.double(), dim=1)
    target_prior = np.full(data.num_classes, 1.0 / data.num_classes)
    corrected = torch.as_tensor(
        prior_correction(probs.numpy(), train_prior=implied_prior, target_prior=target_prior)
    )
    test = evaluate_probs(probs, yte, wte, counts, cfg.cost_matrix)
    test_pc = evaluate_probs(corrected, yte, wte, counts, cfg.cost_matrix)
    per_class = test.pop("per_class_recall")
    test_pc.pop("per_class_recall")
    return {
        "description": STRATEGIES[name],
        "test": test,
        "test_prior_corrected": test_pc,
        "per_class_recall": per_class,
        "implied_train_prior": [float(p) for p in implied_prior],
        "confusion_matrix": _confusion(probs.argmax(1), yte, wte, data.num_classes),
        "reliability": _reliability(probs, yte, wte),
        "history": history,
    }


def run_compare(
    data: CompareData,
    cfg: CompareConfig,
    *,
    on_epoch: Callable[[str, int], None] | None = None,
    dist: DistContext | None = None,
) -> dict[str, Any]:
    """Run every strategy of ``cfg`` on ``data`` and return the ``results.json`` object.

    Every strategy starts from the same initial weights (drawn once from ``cfg.seed``) and
    sees the same epochs, batch size and optimiser; the same seed gives the same numbers.
    ``dist`` (from ``torchrun``) trains each strategy on ``W`` ranks; ``cfg.batch_size`` stays
    the *global* batch size, so the result equals the 1-process one to float tolerance.
    """
    unknown = [s for s in cfg.strategies if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategy {unknown[0]!r}; choose from {', '.join(STRATEGIES)}")
    threads = torch.get_num_threads()
    # Small models: one thread is faster than waking a pool for each tiny matmul, and the
    # numbers do not depend on how many cores the machine has.
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


def _run_all(
    data: CompareData,
    cfg: CompareConfig,
    on_epoch: Callable[[str, int], None] | None,
    dist: DistContext | None = None,
) -> dict[str, Any]:
    torch.manual_seed(cfg.seed)
    init_state = build_model(data.X_train.shape[1], data.num_classes, cfg).state_dict()
    strategies: dict[str, Any] = {}
    for name in cfg.strategies:
        cb = None if on_epoch is None else (lambda e, n=name: on_epoch(n, e))
        strategies[name] = run_strategy(name, data, cfg, init_state, on_epoch=cb, dist=dist)
    ranking = rank_strategies(strategies, cfg.rank_by)
    return {
        "schema_version": 1,
        "dataset": {
            **data.info,
            "num_classes": data.num_classes,
            "class_names": list(data.class_names),
            "train_counts": [int(v) for v in data.counts],
            "num_train": len(data.y_train),
            "num_val": len(data.y_val),
            "num_test": len(data.y_test),
            "imbalance_ratio": float(data.counts.max() / max(int(data.counts.min()), 1)),
            "sample_weights": data.w_train is not None,
        },
        "config": {
            "strategies": list(cfg.strategies),
            "epochs": cfg.epochs,
            "seed": cfg.seed,
            "batch_size": cfg.batch_size,
            "lr": cfg.lr,
            "optimizer": "adam",
            "model": cfg.model,
            "hidden": list(cfg.hidden) if cfg.model == "mlp" else [],
            "rank_by": cfg.rank_by,
            "world_size": 1 if dist is None else dist.world_size,
        },
        "ranking": ranking,
        "strategies": strategies,
    }


def rank_strategies(strategies: dict[str, Any], metric: str) -> list[str]:
    """Strategy names, best first, by ``metric`` on the test set (ties: the given order)."""
    sign = -1.0 if HIGHER_IS_BETTER.get(metric, True) else 1.0

    def key(item: tuple[int, str]) -> tuple[float, int]:
        i, name = item
        v = strategies[name]["test"].get(metric, float("nan"))
        return (sign * v if not math.isnan(v) else math.inf, i)

    return [name for _, name in sorted(enumerate(strategies), key=key)]


def parse_strategies(text: str | None) -> tuple[str, ...]:
    """``"none,balanced"`` -> a tuple; ``None`` or ``"all"`` -> every strategy."""
    if text is None or text.strip() in ("", "all"):
        return DEFAULT_STRATEGIES
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    for s in names:
        if s not in STRATEGIES:
            raise ValueError(f"unknown strategy {s!r}; choose from {', '.join(STRATEGIES)}")
    if len(set(names)) != len(names):
        raise ValueError("--strategies lists a strategy twice")
    return names


def parse_hidden(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(
            f"--hidden must be comma-separated positive integers; got {text!r}"
        ) from None
    if not sizes or any(s <= 0 for s in sizes):
        raise ValueError(f"--hidden must be comma-separated positive integers; got {text!r}")
    return sizes


def check_sequence_of_names(values: Sequence[str]) -> None:  # pragma: no cover - helper
    for v in values:
        if not isinstance(v, str):
            raise TypeError(v)
