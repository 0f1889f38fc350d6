"""``nn.Module`` twins of the imbalance-aware losses (:mod:`weightwise.losses`).

Per-class vectors fixed at construction (``alpha``, ``class_weight``, ``pos_weight``,
``neg_weight``, ``counts``, ``prior``) are registered as buffers: they follow ``.to(device)``
and land in ``state_dict``. ``sample_weight`` is passed to ``forward``.
"""

from __future__ import annotations

from typing import Any

import torch

from .._checks import check_nonnegative_real, check_positive_vector
from ..losses._focal import binary_focal_loss, focal_loss
from ..losses._imbalance import (
    any_of_cross_entropy,
    asymmetric_loss,
    check_any_of_mode,
    ldam_loss,
    logit_adjusted_cross_entropy,
)
from ..reduction import Reduction, SyncArg
from ._base import FunctionalLoss, as_buffer

__all__ = [
    "AnyOfCrossEntropyLoss",
    "AsymmetricLoss",
    "BalancedSoftmaxLoss",
    "BinaryFocalLoss",
    "FocalLoss",
    "LDAMLoss",
    "LogitAdjustedCrossEntropyLoss",
]


def _positive_buffer(x: Any, name: str) -> torch.Tensor:
    return torch.as_tensor(check_positive_vector(x, name), dtype=torch.float64)


class FocalLoss(FunctionalLoss):
    """Module form of :func:`weightwise.losses.focal_loss`.

    Example:
        >>> import torch
        >>> loss_fn = FocalLoss(gamma=2.0, alpha=torch.tensor([0.25, 0.75]))
        >>> loss = loss_fn(torch.randn(3, 2), torch.tensor([0, 1, 1]))
    """

    _fn = staticmethod(focal_loss)
    _options = (
        "gamma",
        "alpha",
        "class_weight",
        "ignore_index",
        "reduction",
        "sync",
    )

    alpha: torch.Tensor | None
    class_weight: torch.Tensor | None

    def __init__(
        self,
        *,
        gamma: float = 2.0,
        alpha: Any = None,
        class_weight: Any = None,
        ignore_index: int | None = None,
        reduction: Reduction = "mean",
        sync: SyncArg = False,
    ) -> None:
        super().__init__(reduction=reduction, sync=sync, alpha=alpha, class_weight=class_weight)
        self.gamma = check_nonnegative_real(gamma, "gamma")
        if alpha is not None and torch.as_tensor(alpha).dim() == 0:
            raise ValueError(
                f"alpha must be None or a per-class vector of shape (C,); got the scalar "
                f"{alpha!r}. A scalar alpha is ambiguous for the softmax focal loss"
            )
        self.ignore_index = ignore_index

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, reduction={self.reduction!r}"


class BinaryFocalLoss(FunctionalLoss):
    """Module form of :func:`weightwise.losses.binary_focal_loss`.

    Example:
        >>> import torch
        >>> loss_fn = BinaryFocalLoss(gamma=2.0, alpha=0.25)
        >>> loss = loss_fn(torch.randn(4, 3), (torch.rand(4, 3) > 0.5).float())
    """

    _fn = staticmethod(binary_focal_loss)
    _options = (
        "gamma",
        "alpha",
        "pos_weight",
        "neg_weight",
        "reduction",
        "sync",
    )

    alpha: torch.Tensor | None
    pos_weight: torch.Tensor | None
    neg_weight: torch.Tensor | None

    def __init__(
        self,
        *,
        gamma: float = 2.0,
        alpha: Any = 0.25,
        pos_weight: Any = None,
        neg_weight: Any = None,
        reduction: Reduction = "mean",
        sync: SyncArg = False,
    ) -> None:
        super().__init__(
            reduction=reduction,
            sync=sync,
            alpha=alpha,
            pos_weight=pos_weight,
            neg_weight=neg_weight,
        )
        self.gamma = check_nonnegative_real(gamma, "gamma")

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, reduction={self.reduction!r}"


class AnyOfCrossEntropyLoss(FunctionalLoss):
    """Module form of :func:`weightwise.losses.any_of_cross_entropy`.

    Example:
        >>> import torch
        >>> loss_fn = AnyOfCrossEntropyLoss(mode="max")
        >>> sets = torch.tensor([[True, True, False], [False, False, True]])
        >>> loss = loss_fn(torch.randn(2, 3), sets)
    """

    _fn = staticmethod(any_of_cross_entropy)
    _options = (
        "mode",
        "reduction",
        "sync",
    )

    def __init__(
        self, *, mode: str = "marginal", reduction: Reduction = "mean", sync: SyncArg = False
    ):
        super().__init__(reduction=reduction, sync=sync)
        self.mode = check_any_of_mode(mode)

    def forward(
        self, logits: torch.Tensor, target_sets: torch.Tensor, sample_weight: Any = None
    ) -> torch.Tensor:
        return super().forward(logits, target_sets, sample_weight)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, reduction={self.reduction!r}"


class LogitAdjustedCrossEntropyLoss(FunctionalLoss):
    """Module form of :func:`weightwise.losses.logit_adjusted_cross_entropy`.

    Give exactly one of ``prior`` and ``counts`` (kept as a float64 buffer).

    Example:
        >>> import torch
        >>> loss_fn = LogitAdjustedCrossEntropyLoss(counts=[100, 10, 1], tau=1.0)
        >>> loss = loss_fn(torch.randn(3, 3), torch.tensor([0, 1, 2]))
    """

    _fn = staticmethod(logit_adjusted_cross_entropy)
    _options = (
        "prior",
        "counts",
        "tau",
        "class_weight",
        "ignore_index",
        "label_smoothing",
        "reduction",
        "sync",
    )

    prior: torch.Tensor | None
    counts: torch.Tensor | None
    class_weight: torch.Tensor | None

    def __init__(
        self,
        *,
        prior: Any = None,
        counts: Any = None,
        tau: float = 1.0,
        class_weight: Any = None,
        ignore_index: int | None = None,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
        sync: SyncArg = False,
    ) -> None:
        super().__init__(reduction=reduction, sync=sync, class_weight=class_weight)
        if (prior is None) == (counts is None):
            raise ValueError(
                "give exactly one of prior and counts; got "
                + ("both" if prior is not None else "neither")
            )
        self.register_buffer("prior", None if prior is None else _positive_buffer(prior, "prior"))
        self.register_buffer(
            "counts", None if counts is None else _positive_buffer(counts, "counts")
        )
        self.tau = check_nonnegative_real(tau, "tau")
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def extra_repr(self) -> str:
        return f"tau={self.tau}, reduction={self.reduction!r}"


class BalancedSoftmaxLoss(LogitAdjustedCrossEntropyLoss):
    """Module form of :func:`weightwise.losses.balanced_softmax_cross_entropy`.

    Example:
        >>> import torch
        >>> loss_fn = BalancedSoftmaxLoss(counts=[100, 10, 1])
        >>> loss = loss_fn(torch.randn(3, 3), torch.tensor([0, 1, 2]))
    """

    def __init__(
        self,
        *,
        counts: Any,
        class_weight: Any = None,
        ignore_index: int | None = None,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
        sync: SyncArg = False,
    ) -> None:
        super().__init__(
            counts=counts,
            tau=1.0,
            class_weight=class_weight,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            reduction=reduction,
            sync=sync,
        )


class LDAMLoss(FunctionalLoss):
    """Module form of :func:`weightwise.losses.ldam_loss`.

    For LDAM-DRW, update the class weights at the start of each epoch::

        drw = weightwise.schedules.DeferredReweighting(counts, switch_epoch=160)
        loss_fn = LDAMLoss(counts=counts, reduction="weighted_mean")   # Cao et al.'s reduction
        for epoch in range(200):
            loss_fn.set_class_weight(drw.class_weight(epoch))
            ...

    Example:
        >>> import torch
        >>> loss_fn = LDAMLoss(counts=[100, 10, 1])
        >>> loss = loss_fn(torch.randn(3, 3), torch.tensor([0, 1, 2]))
    """

    _fn = staticmethod(ldam_loss)
    _options = (
        "counts",
        "max_margin",
        "scale",
        "class_weight",
        "ignore_index",
        "reduction",
        "sync",
    )

    counts: torch.Tensor
    class_weight: torch.Tensor | None

    def __init__(
        self,
        *,
        counts: Any,
        max_margin: float = 0.5,
        scale: float = 30.0,
        class_weight: Any = None,
        ignore_index: int | None = None,
        reduction: Reduction = "mean",
        sync: SyncArg = False,
    ) -> None:
        super().__init__(reduction=reduction, sync=sync, class_weight=class_weight)
        self.register_buffer("counts", _positive_buffer(counts, "counts"))
        self.max_margin = check_nonnegative_real(max_margin, "max_margin")
        self.scale = float(scale)
        if not self.scale > 0 or self.scale == float("inf"):
            raise ValueError(f"scale must be a finite number > 0; got {scale!r}")
        self.ignore_index = ignore_index

    def set_class_weight(self, class_weight: Any) -> None:
        """Replace the class weights (e.g. from a :class:`DeferredReweighting` schedule)."""
        buf = as_buffer(class_weight)
        self.class_weight = None if buf is None else buf.to(self.counts.device)

    def extra_repr(self) -> str:
        return f"max_margin={self.max_margin}, scale={self.scale}, reduction={self.reduction!r}"


class AsymmetricLoss(FunctionalLoss):
    """Module form of :func:`weightwise.losses.asymmetric_loss`.

    Example:
        >>> import torch
        >>> loss_fn = AsymmetricLoss(gamma_neg=4.0, clip=0.05)
        >>> loss = loss_fn(torch.randn(4, 3), (torch.rand(4, 3) > 0.7).float())
    """

    _fn = staticmethod(asymmetric_loss)
    _options = (
        "gamma_pos",
        "gamma_neg",
        "clip",
        "detach_focal",
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
        gamma_pos: float = 0.0,
        gamma_neg: float = 4.0,
        clip: float = 0.05,
        detach_focal: bool = False,
        pos_weight: Any = None,
        neg_weight: Any = None,
        reduction: Reduction = "mean",
        sync: SyncArg = False,
    ) -> None:
        super().__init__(
            reduction=reduction, sync=sync, pos_weight=pos_weight, neg_weight=neg_weight
        )
        self.gamma_pos = check_nonnegative_real(gamma_pos, "gamma_pos")
        self.gamma_neg = check_nonnegative_real(gamma_neg, "gamma_neg")
        self.clip = float(clip)
        if not 0.0 <= self.clip <= 1.0:
            raise ValueError(f"clip must be in [0, 1]; got {clip!r}")
        self.detach_focal = detach_focal

    def extra_repr(self) -> str:
        return (
            f"gamma_pos={self.gamma_pos}, gamma_neg={self.gamma_neg}, clip={self.clip}, "
            f"reduction={self.reduction!r}"
        )
