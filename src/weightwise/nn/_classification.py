"""``nn.Module`` twins of the classification losses: weights fixed at construction are
registered as buffers (they follow ``.to(device)`` and land in ``state_dict``), and
``sample_weight`` is passed to ``forward``."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..losses._classification import binary_cross_entropy, cross_entropy
from ..reduction import SyncArg, _check_reduction

__all__ = ["BCEWithLogitsLoss", "CrossEntropyLoss"]


def _buffer(x: Any) -> torch.Tensor | None:
    if x is None:
        return None
    t = x.detach().clone() if isinstance(x, torch.Tensor) else torch.as_tensor(x)
    return t.to(torch.get_default_dtype()) if not t.is_floating_point() else t


class CrossEntropyLoss(nn.Module):
    """Module form of :func:`weightwise.losses.cross_entropy`.

    Example:
        >>> import torch
        >>> loss_fn = CrossEntropyLoss(class_weight=torch.tensor([1.0, 4.0]),
        ...                            reduction="weighted_mean")
        >>> loss = loss_fn(torch.randn(3, 2), torch.tensor([0, 1, 1]),
        ...                sample_weight=torch.tensor([1.0, 0.5, 2.0]))
    """

    class_weight: torch.Tensor | None

    def __init__(
        self,
        *,
        class_weight: Any = None,
        ignore_index: int | None = None,
        label_smoothing: float = 0.0,
        reduction: str = "mean",
        sync: SyncArg = False,
    ) -> None:
        super().__init__()
        _check_reduction(reduction)
        self.register_buffer("class_weight", _buffer(class_weight))
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.reduction = reduction
        self.sync = sync

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, sample_weight: Any = None
    ) -> torch.Tensor:
        return cross_entropy(
            logits,
            target,
            sample_weight=sample_weight,
            class_weight=self.class_weight,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            reduction=self.reduction,
            sync=self.sync,
        )

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, ignore_index={self.ignore_index}"


class BCEWithLogitsLoss(nn.Module):
    """Module form of :func:`weightwise.losses.binary_cross_entropy`.

    Example:
        >>> import torch
        >>> loss_fn = BCEWithLogitsLoss(pos_weight=torch.tensor([2.0, 1.0, 5.0]))
        >>> loss = loss_fn(torch.randn(4, 3), (torch.rand(4, 3) > 0.5).float())
    """

    pos_weight: torch.Tensor | None
    neg_weight: torch.Tensor | None

    def __init__(
        self,
        *,
        pos_weight: Any = None,
        neg_weight: Any = None,
        reduction: str = "mean",
        sync: SyncArg = False,
    ) -> None:
        super().__init__()
        _check_reduction(reduction)
        self.register_buffer("pos_weight", _buffer(pos_weight))
        self.register_buffer("neg_weight", _buffer(neg_weight))
        self.reduction = reduction
        self.sync = sync

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, sample_weight: Any = None
    ) -> torch.Tensor:
        return binary_cross_entropy(
            logits,
            target,
            sample_weight=sample_weight,
            pos_weight=self.pos_weight,
            neg_weight=self.neg_weight,
            reduction=self.reduction,
            sync=self.sync,
        )

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"
