"""``nn.Module`` twins of the classification losses: weights fixed at construction are
registered as buffers (they follow ``.to(device)`` and land in ``state_dict``), and
``sample_weight`` is passed to ``forward``."""

from __future__ import annotations

from typing import Any

import torch

from ..losses._classification import binary_cross_entropy, cross_entropy
from ..reduction import Reduction, SyncArg
from ._base import WindowLoss

__all__ = ["BCEWithLogitsLoss", "CrossEntropyLoss"]


class CrossEntropyLoss(WindowLoss):
    """Module form of :func:`weightwise.losses.cross_entropy`.

    Example:
        >>> import torch
        >>> loss_fn = CrossEntropyLoss(class_weight=torch.tensor([1.0, 4.0]),
        ...                            reduction="weighted_mean")
        >>> loss = loss_fn(torch.randn(3, 2), torch.tensor([0, 1, 1]),
        ...                sample_weight=torch.tensor([1.0, 0.5, 2.0]))
    """

    _fn = staticmethod(cross_entropy)
    _options = (
        "class_weight",
        "ignore_index",
        "label_smoothing",
        "reduction",
        "sync",
    )

    class_weight: torch.Tensor | None

    def __init__(
        self,
        *,
        class_weight: Any = None,
        ignore_index: int | None = None,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
        sync: SyncArg = False,
    ) -> None:
        super().__init__(reduction=reduction, sync=sync, class_weight=class_weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, ignore_index={self.ignore_index}"


class BCEWithLogitsLoss(WindowLoss):
    """Module form of :func:`weightwise.losses.binary_cross_entropy`.

    Example:
        >>> import torch
        >>> loss_fn = BCEWithLogitsLoss(pos_weight=torch.tensor([2.0, 1.0, 5.0]))
        >>> loss = loss_fn(torch.randn(4, 3), (torch.rand(4, 3) > 0.5).float())
    """

    _fn = staticmethod(binary_cross_entropy)
    _options = (
        "pos_weight",
        "neg_weight",
        "reduction",
        "sync",
    )

    pos_weight: torch.Tensor | None
    neg_weight: torch.Tensor | None

    def __init__(
        self,
        *,
        pos_weight: Any = None,
        neg_weight: Any = None,
        reduction: Reduction = "mean",
        sync: SyncArg = False,
    ) -> None:
        super().__init__(
            reduction=reduction, sync=sync, pos_weight=pos_weight, neg_weight=neg_weight
        )

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"
