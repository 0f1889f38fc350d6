"""Weighted losses for Hugging Face ``transformers.Trainer``: class, sample, token and sequence
weights, with the exact denominator of a gradient-accumulation window.

Usage (``docs/transformers.md``)::

    loss = WeightedLoss(task="sequence_classification", class_weight=cw)
    trainer = Trainer(
        model=model,
        args=TrainingArguments(..., remove_unused_columns=False),
        train_dataset=ds,                      # rows with a "sample_weight" column
        data_collator=loss.collator(),         # keeps the weights, pads token weights with 0
        compute_loss_func=loss,
        compute_metrics=loss.compute_metrics,  # weighted and unweighted evaluation loss
    )

How the weights travel. ``Trainer`` passes ``compute_loss_func(outputs, labels,
num_items_in_batch)`` only the model's outputs and the ``labels`` entry of the batch, and calls
the model with every other entry. :class:`WeightedCollator` therefore moves the weight columns
out of the model's inputs into ``labels``, a :class:`WeightedLabels` mapping (``"labels"``,
``"sample_weight"`` / ``"token_weight"`` / ``"sequence_weight"``, and ``"element_weight"``, the
element weight ``ω`` of the loss). ``Trainer`` moves mappings to the device like tensors.

The window denominator. Before the first micro-batch of an optimiser step, ``Trainer`` computes
``num_items_in_batch`` over the whole accumulation window as ``Σ labels.ne(-100).sum()`` (over
``labels[..., 1:]`` for causal LMs), sums it over processes when
``average_tokens_across_devices`` is on (the default), and multiplies the loss by the number
of processes. :class:`WeightedLabels` answers ``.ne(-100)`` with ``ω`` (shifted for causal LMs),
so ``num_items_in_batch`` is exactly
:func:`weightwise.reduction.window_denominator` of the window, across devices; the loss divides
by it. A step of ``K`` micro-batches on ``W`` devices then has the gradient of one batch of
``K·W`` micro-batches, weighted. This relies on ``Trainer``'s counting (checked with the
installed version by ``tests/integrations``).

Trainer removes dataset columns that the model's ``forward`` does not take, before the
collator sees them; pass ``TrainingArguments(remove_unused_columns=False)`` (the collator
raises a clear error when a weight column it was told to expect is missing).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from .._contract import class_weight_vector
from ..losses import causal_lm_loss, cross_entropy
from ..reduction import REDUCTIONS, Reduction

__all__ = ["WeightedCollator", "WeightedLabels", "WeightedLoss"]

TASKS = ("sequence_classification", "causal_lm")
_IGNORE = -100


class _Shifted:
    """``labels[..., 1:]`` of :class:`WeightedLabels`: answers ``.ne(x)`` with ``ω[:, 1:]``."""

    def __init__(self, omega: torch.Tensor) -> None:
        self._omega = omega

    def ne(self, other: Any) -> torch.Tensor:
        return self._omega


class WeightedLabels(dict[str, Any]):
    """The ``labels`` entry of a weighted batch: a mapping of tensors.

    Keys: ``"labels"`` (the targets), ``"element_weight"`` (``ω`` aligned with the labels:
    ``s·class_weight[y]`` per example, or ``token_weight·sequence_weight·class_weight[y]`` per
    token; 0 where ignored; a 0/1 mask for ``reduction="mean"``), and the weight columns that
    were present (``"sample_weight"``, ``"token_weight"``, ``"sequence_weight"``).

    For ``Trainer``'s count of the accumulation window, ``.ne(-100)`` returns ``ω`` and
    ``[..., 1:]`` (the causal shift) a view whose ``.ne`` returns ``ω[:, 1:]``, so
    ``Σ labels.ne(-100).sum()`` is the window's weighted denominator.
    """

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return dict.__getitem__(self, key)
        omega = dict.__getitem__(self, "element_weight")
        if key == (Ellipsis, slice(1, None, None)):
            return _Shifted(omega[:, 1:])
        raise TypeError(f"WeightedLabels supports string keys and [..., 1:]; got {key!r}")

    def ne(self, other: Any) -> torch.Tensor:
        omega: torch.Tensor = dict.__getitem__(self, "element_weight")
        return omega


def _logits_of(outputs: Any) -> torch.Tensor:
    if isinstance(outputs, Mapping):
        logits = outputs["logits"]
    elif hasattr(outputs, "logits"):
        logits = outputs.logits
    else:
        logits = outputs[0]
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"the model outputs must hold a logits tensor; got {type(logits)}")
    return logits


class WeightedLoss:
    r"""A ``compute_loss_func`` for ``transformers.Trainer`` with class, sample and token weights.

    * ``task="sequence_classification"``: ``logits`` ``(B, C)``; the loss is
      :func:`weightwise.losses.cross_entropy` with ``class_weight`` and the batch's
      ``sample_weight`` column ``(B,)``;
    * ``task="causal_lm"``: ``logits`` ``(B, T, V)``; the loss is
      :func:`weightwise.losses.causal_lm_loss` (the shift included) with ``class_weight``
      ``(V,)`` and the batch's ``token_weight`` ``(B, T)`` (aligned with the labels) and
      ``sequence_weight`` ``(B,)`` columns.

    Labels equal to -100 are ignored. The denominator is that of the whole accumulation window
    and of all devices (``Trainer``'s ``num_items_in_batch``, which the batches of
    :meth:`collator` make the window's ``Σ ω``; see the module docstring). Without it (a batch
    that did not come through the collator) each batch uses its own denominator, which is
    exact only without gradient accumulation; a warning says so once.

    Evaluation (``torch.no_grad``): the same weighted loss by default; with
    ``eval_weighted=False`` the unweighted mean. :meth:`compute_metrics` reports both.

    Args:
        task: ``"sequence_classification"`` or ``"causal_lm"``.
        class_weight: ``(C,)`` / ``(V,)`` per-class weight, or ``None``.
        reduction: ``"weighted_mean"`` (default, ``Σ ω·L / Σ ω``), ``"mean"`` (``Σ ω·L / N``),
            ``"nonzero_mean"`` or ``"sum"``.
        label_smoothing: ``ε`` in ``[0, 1]``.
        z_loss: ``ζ·logsumexp²`` per token (causal LM only).
        eval_weighted: whether the evaluation loss is weighted.

    Example:
        >>> import torch
        >>> loss_fn = WeightedLoss(task="sequence_classification",
        ...                        class_weight=torch.tensor([1.0, 3.0]))
        >>> labels = WeightedLabels(labels=torch.tensor([0, 1]),
        ...                         sample_weight=torch.tensor([1.0, 0.5]),
        ...                         element_weight=torch.tensor([1.0, 1.5]))
        >>> window = labels.ne(-100).sum()        # what Trainer computes over the window
        >>> loss = loss_fn({"logits": torch.randn(2, 2)}, labels, num_items_in_batch=window)
    """

    def __init__(
        self,
        *,
        task: str = "sequence_classification",
        class_weight: Any = None,
        reduction: Reduction = "weighted_mean",
        label_smoothing: float = 0.0,
        z_loss: float = 0.0,
        eval_weighted: bool = True,
    ) -> None:
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(map(repr, TASKS))}; got {task!r}")
        if reduction not in REDUCTIONS or reduction == "none":
            allowed = ", ".join(repr(r) for r in REDUCTIONS if r != "none")
            raise ValueError(f"reduction must be one of {allowed}; got {reduction!r}")
        if z_loss and task != "causal_lm":
            raise ValueError("z_loss is for task='causal_lm' only")
        self.task = task
        self.class_weight = None if class_weight is None else _class_weight_tensor(class_weight)
        self.reduction = reduction
        self.label_smoothing = float(label_smoothing)
        self.z_loss = float(z_loss)
        self.eval_weighted = bool(eval_weighted)
        self._warned = False

    # ---- the loss ---------------------------------------------------------------------------

    def __call__(
        self, outputs: Any, labels: Any, num_items_in_batch: Any = None, **_: Any
    ) -> torch.Tensor:
        logits = _logits_of(outputs)
        weights: Mapping[str, Any] = {}
        if isinstance(labels, Mapping):
            weights = labels
            y = labels["labels"]
        else:
            y = labels
        if y is None:
            raise ValueError("WeightedLoss needs labels (the batch has no 'labels' entry)")
        training = torch.is_grad_enabled()
        weighted = training or self.eval_weighted
        denominator = None
        if weighted and "element_weight" in weights and num_items_in_batch is not None:
            denominator = torch.as_tensor(num_items_in_batch, device=logits.device)
            if denominator.dim() > 0:  # DataParallel's per-GPU copies
                denominator = denominator.reshape(-1)[0]
        elif weighted and training and not self._warned and self.reduction != "sum":
            self._warned = True
            warnings.warn(
                "WeightedLoss got no window denominator (num_items_in_batch is None or the "
                "batch did not come through WeightedLoss.collator()): each batch divides by "
                "its own denominator, which is exact only without gradient accumulation",
                stacklevel=2,
            )
        return self._loss(logits, y, weights if weighted else {}, denominator, weighted)

    def _loss(
        self,
        logits: torch.Tensor,
        y: torch.Tensor,
        weights: Mapping[str, Any],
        denominator: torch.Tensor | None,
        weighted: bool,
    ) -> torch.Tensor:
        cw = None
        if weighted and self.class_weight is not None:
            cw = self.class_weight.to(device=logits.device, dtype=logits.dtype)
        reduction = self.reduction if weighted else "mean"
        if self.task == "sequence_classification":
            if logits.dim() != 2:
                raise ValueError(
                    f"sequence_classification expects logits (B, C); got {tuple(logits.shape)}"
                )
            s = weights.get("sample_weight")
            return cross_entropy(
                logits,
                y.reshape(-1),
                sample_weight=None if s is None else s.reshape(-1),
                class_weight=cw,
                ignore_index=_IGNORE,
                label_smoothing=self.label_smoothing,
                reduction=reduction,
                denominator=denominator,
            )
        return causal_lm_loss(
            logits,
            y,
            token_weight=weights.get("token_weight"),
            sequence_weight=weights.get("sequence_weight"),
            class_weight=cw,
            ignore_index=_IGNORE,
            label_smoothing=self.label_smoothing,
            z_loss=self.z_loss,
            reduction=reduction,
            denominator=denominator,
        )

    # ---- data ------------------------------------------------------------------------------

    def element_weight(self, labels: torch.Tensor, weights: Mapping[str, Any]) -> torch.Tensor:
        """``ω`` aligned with ``labels`` (``(B,)`` or ``(B, T)``), 0 where ignored; a 0/1 mask
        for ``reduction="mean"``, ``ω ≠ 0`` for ``"nonzero_mean"``."""
        valid = labels != _IGNORE
        omega = valid.to(torch.float64)
        if self.reduction != "mean":
            if self.class_weight is not None:
                omega = omega * self.class_weight[torch.where(valid, labels, 0)]
            for key in ("sample_weight", "token_weight"):
                if weights.get(key) is not None:
                    omega = omega * weights[key].to(torch.float64)
            q = weights.get("sequence_weight")
            if q is not None:
                omega = omega * q.to(torch.float64).reshape(-1, *([1] * (labels.dim() - 1)))
            if self.reduction == "nonzero_mean":
                omega = (omega != 0).to(torch.float64)
        return omega

    def collator(self, base: Any = None, **kwargs: Any) -> WeightedCollator:
        """A :class:`WeightedCollator` for this loss (``base`` collates the model's inputs)."""
        return WeightedCollator(self, base, **kwargs)

    # ---- evaluation ------------------------------------------------------------------------

    def compute_metrics(self, eval_pred: Any) -> dict[str, float]:
        """A ``compute_metrics`` for ``Trainer``: the weighted and unweighted loss over the
        whole evaluation set (``eval_weighted_loss``, ``eval_unweighted_loss`` once
        ``Trainer`` adds its prefix), computed from the gathered logits and labels."""
        predictions = eval_pred.predictions
        if isinstance(predictions, tuple):
            predictions = predictions[0]
        logits = torch.as_tensor(np.asarray(predictions), dtype=torch.float64)
        label_ids = eval_pred.label_ids
        if isinstance(label_ids, Mapping):
            y = torch.as_tensor(np.asarray(label_ids["labels"])).long()
            weights = {
                k: _unpad(torch.as_tensor(np.asarray(v), dtype=torch.float64))
                for k, v in label_ids.items()
                if k in ("sample_weight", "token_weight", "sequence_weight")
            }
        else:
            y = torch.as_tensor(np.asarray(label_ids)).long()
            weights = {}
        with torch.no_grad():
            w = self._loss(logits, y, weights, None, True)
            u = self._loss(logits, y, {}, None, False)
        return {"weighted_loss": float(w), "unweighted_loss": float(u)}


class WeightedCollator:
    """Collate a batch for :class:`WeightedLoss`: the model's inputs as ``base`` collates them,
    and ``labels`` a :class:`WeightedLabels` with the weights.

    Each feature is a mapping. The weight keys (``"sample_weight"`` per example; for causal LM
    ``"token_weight"`` per token, a sequence aligned with ``input_ids``/``labels``, and
    ``"sequence_weight"``) are taken out before ``base`` sees the features. Token weights are
    padded with 0 to the batch's sequence length, on ``padding_side``.

    ``base``: any collator (``DataCollatorWithPadding(tokenizer)``, ...). By default the
    features are padded here: ``input_ids`` with ``pad_token_id``, ``attention_mask`` with 0,
    ``labels`` with -100 (for causal LM, ``labels`` default to ``input_ids``, padding ignored).

    ``require``: weight keys that every feature must have (default: those of the first
    feature); a missing one is an error that names ``remove_unused_columns=False``.
    """

    def __init__(
        self,
        loss: WeightedLoss,
        base: Any = None,
        *,
        pad_token_id: int = 0,
        padding_side: str = "right",
        require: Sequence[str] | None = None,
    ) -> None:
        if padding_side not in ("right", "left"):
            raise ValueError(f"padding_side must be 'right' or 'left'; got {padding_side!r}")
        self.loss = loss
        self.base = base
        self.pad_token_id = int(pad_token_id)
        self.padding_side = padding_side
        self.require = None if require is None else tuple(require)

    def _keys(self) -> tuple[str, ...]:
        if self.loss.task == "causal_lm":
            return ("token_weight", "sequence_weight")
        return ("sample_weight",)

    def _pad(
        self, seqs: list[Any], value: float | int, length: int, dtype: torch.dtype
    ) -> torch.Tensor:
        out = torch.full((len(seqs), length), value, dtype=dtype)
        for i, s in enumerate(seqs):
            t = torch.as_tensor(np.asarray(s), dtype=dtype).reshape(-1)
            if t.numel() > length:
                raise ValueError(
                    f"feature {i} has {t.numel()} token weights but the batch has {length} "
                    f"positions"
                )
            if self.padding_side == "right":
                out[i, : t.numel()] = t
            else:
                out[i, length - t.numel() :] = t
        return out

    def _default_collate(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        if self.loss.task == "sequence_classification" and "input_ids" not in features[0]:
            from transformers import default_data_collator

            out: dict[str, torch.Tensor] = default_data_collator(features)
            return out
        length = max(len(f["input_ids"]) for f in features)
        ids = self._pad([f["input_ids"] for f in features], self.pad_token_id, length, torch.long)
        mask = self._pad([[1] * len(f["input_ids"]) for f in features], 0, length, torch.long)
        batch = {"input_ids": ids, "attention_mask": mask}
        if self.loss.task == "causal_lm":
            src = [f.get("labels", f["input_ids"]) for f in features]
            batch["labels"] = self._pad(src, _IGNORE, length, torch.long)
        else:
            key = "labels" if "labels" in features[0] else "label"
            batch["labels"] = torch.as_tensor([f[key] for f in features]).long()
        return batch

    def __call__(self, features: list[Mapping[str, Any]]) -> dict[str, Any]:
        if not features:
            raise ValueError("WeightedCollator got an empty list of features")
        keys = self._keys()
        required = (
            self.require if self.require is not None else [k for k in keys if k in features[0]]
        )
        stripped: list[dict[str, Any]] = []
        taken: dict[str, list[Any]] = {k: [] for k in keys}
        for i, f in enumerate(features):
            f = dict(f)
            for k in required:
                if k not in f:
                    raise ValueError(
                        f"feature {i} has no {k!r} column; Trainer drops the columns that the "
                        f"model's forward does not take: pass "
                        f"TrainingArguments(remove_unused_columns=False)"
                    )
            for k in keys:
                if k in f:
                    taken[k].append(f.pop(k))
            stripped.append(f)
        batch = dict(
            self.base(stripped) if self.base is not None else self._default_collate(stripped)
        )
        if "labels" not in batch:
            raise ValueError("the collated batch has no 'labels' entry")
        y = batch["labels"]
        if not isinstance(y, torch.Tensor):
            y = torch.as_tensor(y)
        weights: dict[str, torch.Tensor] = {}
        for k in keys:
            vals = taken[k]
            if not vals:
                continue
            if len(vals) != len(features):
                raise ValueError(f"{k!r} is present in some features and missing in others")
            if k == "token_weight":
                weights[k] = self._pad(vals, 0.0, y.shape[1], torch.float32)
            else:
                weights[k] = torch.as_tensor(np.asarray(vals, dtype=np.float64)).float()
        omega = self.loss.element_weight(y, weights)
        batch["labels"] = WeightedLabels(labels=y, element_weight=omega, **weights)
        return batch


def _class_weight_tensor(class_weight: Any) -> torch.Tensor:
    """A ``(C,)`` vector or a ``{class: weight}`` dict covering ``0..C-1``, as float64."""
    values, defined = class_weight_vector(class_weight)
    if not defined.all():
        missing = int(np.flatnonzero(~defined)[0])
        raise ValueError(
            f"class_weight has no entry for class {missing}; give every class a weight"
        )
    return torch.from_numpy(values)


def _unpad(w: torch.Tensor) -> torch.Tensor:
    """Trainer pads the gathered evaluation arrays with -100: those entries weigh 0. Any other
    negative value stays, so the loss's weight check still reports it."""
    return torch.where(w == -100, torch.zeros_like(w), w)
