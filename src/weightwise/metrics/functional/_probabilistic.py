"""Weighted probabilistic metrics: log loss, Brier score and calibration error (pure functions).

Each metric is a ratio of float64 sums, so a batch's state is a small vector and merging
batches or DDP ranks is addition. The functional metrics here and the stateful ones in
:mod:`weightwise.metrics._probabilistic` call the same ``*_update`` and ``*_compute`` steps.
``sample_weight`` is keyword-only (a positional one still works for one release, with a
``FutureWarning``).

Inputs follow ``docs/semantics.md``: probabilities (binary/multilabel ``(N, d...)`` in ``[0, 1]``,
multiclass ``(N, C, d...)`` rows summing to 1), or logits with ``from_logits=True``. Multilabel
inputs are scored elementwise: every (sample, label) pair is one binary prediction.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ._inputs import check_calibration_args, format_scores, resolve_task, weight_or_ones
from ._keyword import keyword_sample_weight

__all__ = ["brier_score", "calibration_error", "log_loss"]

_F64 = torch.float64

#: A loss metric's update step: ``(task, preds, target, weight) -> [Σ w·L, Σ w]``.
LossUpdate = Callable[[str, Tensor, Tensor, Tensor], Tensor]


def format_probabilistic(
    preds: Any,
    target: Any,
    sample_weight: Any,
    *,
    task: str,
    num_classes: int | None,
    num_labels: int | None,
    from_logits: bool,
    ignore_index: int | None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Flat scores, targets and float64 weights (ones when none); multilabel flattened to
    elements."""
    f = format_scores(
        preds,
        target,
        sample_weight,
        task=task,
        num_classes=num_classes,
        num_labels=num_labels,
        from_logits=from_logits,
        ignore_index=ignore_index,
    )
    w = weight_or_ones(f)
    if task == "multilabel":
        return f.preds.reshape(-1), f.target.reshape(-1), w.reshape(-1)
    return f.preds, f.target, w


def loss_ratio(total: Tensor, what: str) -> Tensor:
    """``Σ w·L / Σ w``; ``nan`` with a warning when the total weight is 0."""
    if not bool(total[1] > 0):
        warnings.warn(
            f"{what} is undefined: the total sample weight is 0; returning nan",
            UserWarning,
            stacklevel=3,
        )
        return torch.tensor(float("nan"), dtype=_F64, device=total.device)
    return total[0] / total[1]


# ----------------------------------------------------------------------------------------------
# log loss and Brier score
# ----------------------------------------------------------------------------------------------


def log_loss_update(task: str, preds: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    """``[Σ w·L, Σ w]`` in float64 for one batch of formatted inputs.

    Probabilities are clipped to ``[eps, 1 − eps]`` with ``eps = finfo(preds.dtype).eps`` and
    rows are not renormalised (scikit-learn >= 1.5). Binary: the negative class's probability
    ``1 − p`` is formed in the input dtype and clipped on its own, as scikit-learn does;
    float16 and bfloat16 probabilities (which NumPy and scikit-learn do not take) are converted
    to float64 first, so ``1 − p`` is exact, and clipped with their own dtype's ``eps``.
    """
    eps = torch.finfo(preds.dtype).eps
    if preds.dtype in (torch.float16, torch.bfloat16):
        preds = preds.to(_F64)
    if task == "multiclass":
        p = preds.gather(1, target.unsqueeze(1)).squeeze(1)
        loss = -torch.log(p.clamp(eps, 1 - eps).to(_F64))
    else:
        pos = torch.log(preds.clamp(eps, 1 - eps).to(_F64))
        neg = torch.log((1 - preds).clamp(eps, 1 - eps).to(_F64))
        loss = -torch.where(target.bool(), pos, neg)
    w = weight.to(_F64)
    return torch.stack([(w * loss).sum(), w.sum()])


def brier_score_update(task: str, preds: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    """``[Σ w·B, Σ w]`` in float64: binary ``B = (p − t)²``; multiclass
    ``B = Σ_c (p_c − [t = c])²`` (range ``[0, 2]``)."""
    p = preds.to(_F64)
    if task == "multiclass":
        # A comparison, not F.one_hot: one_hot reads the target's range on the host.
        classes = torch.arange(p.shape[1], device=target.device)
        onehot = (target.unsqueeze(1) == classes).to(_F64)
        score = ((p - onehot) ** 2).sum(1)
    else:
        score = (p - target.to(_F64)) ** 2
    w = weight.to(_F64)
    return torch.stack([(w * score).sum(), w.sum()])


def _loss_metric(
    update: LossUpdate,
    what: str,
    preds: Any,
    target: Any,
    sample_weight: Any,
    *,
    task: str | None,
    num_classes: int | None,
    num_labels: int | None,
    from_logits: bool,
    ignore_index: int | None,
) -> Tensor:
    task, num_classes, num_labels = resolve_task(preds, target, task, num_classes, num_labels)
    p, t, w = format_probabilistic(
        preds,
        target,
        sample_weight,
        task=task,
        num_classes=num_classes,
        num_labels=num_labels,
        from_logits=from_logits,
        ignore_index=ignore_index,
    )
    return loss_ratio(update(task, p, t, w), what)


@keyword_sample_weight
def log_loss(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> Tensor:
    """Weighted log loss ``Σ w·(−log p_y) / Σ w``; equals
    ``sklearn.metrics.log_loss(y, probs, sample_weight=w)``.

    Probabilities are clipped to ``[eps, 1 − eps]``, ``eps = finfo(preds.dtype).eps``, and rows
    are not renormalised (scikit-learn >= 1.5). Binary ``preds`` are the positive class's
    probability; multiclass ``preds`` are ``(N, C, d...)``; multilabel inputs are scored per
    (sample, label) element. With ``from_logits=True`` a sigmoid or softmax is applied first
    (then the same clipping).

    **Class-only weights do change log loss** (it is a weighted mean over samples of different
    classes). A total weight of 0 gives ``nan`` with a warning. Stateful twin:
    :class:`weightwise.metrics.LogLoss`.

    Args:
        preds: probabilities (or logits with ``from_logits``): binary ``(N, d...)`` of the
            positive class, multiclass ``(N, C, d...)`` (rows summing to 1), multilabel
            ``(N, L, d...)``.
        target: 0/1 ``(N, d...)`` (binary), class indices ``(N, d...)`` (multiclass) or 0/1
            ``(N, L, d...)`` (multilabel).
        sample_weight: keyword-only; ``None``, a scalar, ``(N,)``, a per-pixel map
            ``(N, d...)``, ``(N, L)`` per sample and label (multilabel) or the full grid;
            finite and non-negative.
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (inferred when ``None``).
        num_classes: number of classes (multiclass; default ``preds.shape[1]``).
        num_labels: number of labels (multilabel; default ``target.shape[1]``).
        from_logits: apply a sigmoid (binary, multilabel) or softmax (multiclass) first.
        ignore_index: target value whose elements are left out (weight 0).

    Returns:
        A float64 scalar.

    Example:
        >>> import torch
        >>> log_loss(torch.tensor([0.9, 0.2]), torch.tensor([1, 0]), task="binary")
        tensor(0.1643, dtype=torch.float64)
        >>> probs = torch.tensor([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6]])
        >>> log_loss(probs, torch.tensor([0, 1, 2]), sample_weight=torch.tensor([1.0, 1.0, 2.0]))
        tensor(0.5179, dtype=torch.float64)
    """
    return _loss_metric(
        log_loss_update, "log loss", preds, target, sample_weight, task=task,
        num_classes=num_classes, num_labels=num_labels, from_logits=from_logits,
        ignore_index=ignore_index,
    )  # fmt: skip


@keyword_sample_weight
def brier_score(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> Tensor:
    """Weighted Brier score (Brier 1950) ``Σ w·B / Σ w``; equals
    ``sklearn.metrics.brier_score_loss(y, probs, sample_weight=w)``.

    Binary (and each multilabel element): ``B = (p − t)²``. Multiclass:
    ``B = Σ_c (p_c − [y = c])²``, range ``[0, 2]`` (scikit-learn's ``scale_by_half=False``).
    **Class-only weights do change it.** A total weight of 0 gives ``nan`` with a warning.
    Stateful twin: :class:`weightwise.metrics.BrierScore`.

    Args:
        preds: probabilities (or logits with ``from_logits``): binary ``(N, d...)`` of the
            positive class, multiclass ``(N, C, d...)`` (rows summing to 1), multilabel
            ``(N, L, d...)``.
        target: 0/1 ``(N, d...)`` (binary), class indices ``(N, d...)`` (multiclass) or 0/1
            ``(N, L, d...)`` (multilabel).
        sample_weight: keyword-only; ``None``, a scalar, ``(N,)``, a per-pixel map
            ``(N, d...)``, ``(N, L)`` per sample and label (multilabel) or the full grid;
            finite and non-negative.
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (inferred when ``None``).
        num_classes: number of classes (multiclass; default ``preds.shape[1]``).
        num_labels: number of labels (multilabel; default ``target.shape[1]``).
        from_logits: apply a sigmoid (binary, multilabel) or softmax (multiclass) first.
        ignore_index: target value whose elements are left out (weight 0).

    Returns:
        A float64 scalar.

    Example:
        >>> import torch
        >>> brier_score(torch.tensor([0.9, 0.2]), torch.tensor([1, 0]), task="binary")
        tensor(0.0250, dtype=torch.float64)
    """
    return _loss_metric(
        brier_score_update, "Brier score", preds, target, sample_weight, task=task,
        num_classes=num_classes, num_labels=num_labels, from_logits=from_logits,
        ignore_index=ignore_index,
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------
# calibration error
# ----------------------------------------------------------------------------------------------


def calibration_update(
    task: str, preds: Tensor, target: Tensor, weight: Tensor, *, n_bins: int
) -> Tensor:
    """Per-bin float64 sums ``(n_bins, 3)``: ``[Σ w, Σ w·confidence, Σ w·accuracy]``.

    Binary/multilabel: confidence ``p``, accuracy ``t``. Multiclass: confidence ``max_c p_c``,
    accuracy ``[argmax_c p_c = y]`` (ties to the lower class). Bin ``k`` holds confidences in
    ``[k/n, (k+1)/n)``; the last bin also holds 1.
    """
    if task == "multiclass":
        conf, pred = preds.max(dim=1)
        acc = (pred == target).to(_F64)
    else:
        conf, acc = preds, target.to(_F64)
    conf = conf.to(_F64)
    edges = torch.arange(1, n_bins, dtype=_F64, device=conf.device) / n_bins
    bins = torch.bucketize(conf, edges, right=True)
    w = weight.to(_F64)
    out = torch.zeros(n_bins, 3, dtype=_F64, device=conf.device)
    out.index_add_(0, bins, torch.stack([w, w * conf, w * acc], 1))
    return out


def calibration_compute(state: Tensor, *, norm: str) -> Tensor:
    """Weighted expected (``l1``), root-mean-square (``l2``) or maximum (``max``) calibration
    error from the per-bin sums."""
    total = state[:, 0].sum()
    if not bool(total > 0):
        warnings.warn(
            "calibration error is undefined: the total sample weight is 0; returning nan",
            UserWarning,
            stacklevel=3,
        )
        return torch.tensor(float("nan"), dtype=_F64, device=state.device)
    wb = state[:, 0]
    filled = wb > 0
    safe = torch.where(filled, wb, torch.ones_like(wb))
    gap = (state[:, 2] - state[:, 1]) / safe  # acc_b − conf_b, 0 for empty bins
    if norm == "l1":
        return (wb * gap.abs()).sum() / total
    if norm == "l2":
        return torch.sqrt((wb * gap**2).sum() / total)
    return gap.abs()[filled].max()


@keyword_sample_weight
def calibration_error(
    preds: Any,
    target: Any,
    *,
    sample_weight: Any = None,
    task: str | None = None,
    num_classes: int | None = None,
    num_labels: int | None = None,
    n_bins: int = 15,
    norm: str = "l1",
    from_logits: bool = False,
    ignore_index: int | None = None,
) -> Tensor:
    """Weighted calibration error over ``n_bins`` equal-width confidence bins.

    With ``W_b``, ``conf_b`` and ``acc_b`` the weight, weighted mean confidence and weighted
    accuracy of bin ``b`` and ``W = Σ_b W_b``:

    * ``norm="l1"`` (expected calibration error): ``Σ_b (W_b / W)·|acc_b − conf_b|``;
    * ``norm="l2"``: ``sqrt(Σ_b (W_b / W)·(acc_b − conf_b)²)``;
    * ``norm="max"``: ``max_b |acc_b − conf_b|`` over bins with weight.

    Binary (and each multilabel element): confidence is ``p`` and accuracy the 0/1 target, as
    torchmetrics' binary calibration error. Multiclass: confidence is the top probability and
    accuracy whether its class (ties to the lower index) is the target. Bin ``k`` holds
    ``[k/n, (k+1)/n)``, the last bin ``[(n−1)/n, 1]``. With unit weights it equals
    torchmetrics' ``calibration_error`` (scikit-learn has none; Naeini et al. 2015 define
    ECE). **Class-only weights do change it.** A total weight of 0 gives ``nan`` with a
    warning. Stateful twin: :class:`weightwise.metrics.CalibrationError`.

    Args:
        preds: probabilities (or logits with ``from_logits``): binary ``(N, d...)`` of the
            positive class, multiclass ``(N, C, d...)`` (rows summing to 1), multilabel
            ``(N, L, d...)``.
        target: 0/1 ``(N, d...)`` (binary), class indices ``(N, d...)`` (multiclass) or 0/1
            ``(N, L, d...)`` (multilabel).
        sample_weight: keyword-only; ``None``, a scalar, ``(N,)``, a per-pixel map
            ``(N, d...)``, ``(N, L)`` per sample and label (multilabel) or the full grid;
            finite and non-negative.
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (inferred when ``None``).
        num_classes: number of classes (multiclass; default ``preds.shape[1]``).
        num_labels: number of labels (multilabel; default ``target.shape[1]``).
        n_bins: number of equal-width bins (positive; default 15, as torchmetrics).
        norm: ``"l1"``, ``"l2"`` or ``"max"``.
        from_logits: apply a sigmoid (binary, multilabel) or softmax (multiclass) first.
        ignore_index: target value whose elements are left out (weight 0).

    Returns:
        A float64 scalar.

    Example:
        >>> import torch
        >>> calibration_error(torch.tensor([0.9, 0.2]), torch.tensor([1, 0]), task="binary")
        tensor(0.1500, dtype=torch.float64)
    """
    n_bins, norm = check_calibration_args(n_bins, norm)
    task, num_classes, num_labels = resolve_task(preds, target, task, num_classes, num_labels)
    p, t, w = format_probabilistic(
        preds,
        target,
        sample_weight,
        task=task,
        num_classes=num_classes,
        num_labels=num_labels,
        from_logits=from_logits,
        ignore_index=ignore_index,
    )
    return calibration_compute(calibration_update(task, p, t, w, n_bins=n_bins), norm=norm)
