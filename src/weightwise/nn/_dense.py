"""``nn.Module`` twins of the dense (segmentation) losses, and :class:`CompoundLoss`.

Weights fixed at construction (``class_weight``) are buffers: they follow ``.to(device)`` and
land in ``state_dict``. ``sample_weight`` (per sample or a per-pixel map) goes to ``forward``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..losses._dense import (
    dice_loss,
    focal_tversky_loss,
    generalized_dice_loss,
    tversky_loss,
)
from ..losses._dice_ce import dice_ce
from ..losses._lovasz import lovasz_hinge_loss, lovasz_softmax_loss
from ..reduction import Reduction, SyncArg
from ._base import FunctionalLoss
from ._classification import BCEWithLogitsLoss, CrossEntropyLoss

__all__ = [
    "CompoundLoss",
    "DiceLoss",
    "FocalTverskyLoss",
    "GeneralizedDiceLoss",
    "LovaszHingeLoss",
    "LovaszSoftmaxLoss",
    "TverskyLoss",
]


class _DenseLoss(FunctionalLoss):
    """A :class:`FunctionalLoss` with a class-weight buffer; the loss's other keywords (``sync``
    among them) are kept in :attr:`options`."""

    class_weight: torch.Tensor | None

    def __init__(self, *, class_weight: Any = None, reduction: Reduction = "mean", **options: Any):
        super().__init__(
            reduction=reduction, sync=options.get("sync", False), class_weight=class_weight
        )
        self.options = options

    def _keywords(self) -> dict[str, Any]:
        return {"class_weight": self.class_weight, "reduction": self.reduction, **self.options}

    def extra_repr(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items() if k != "sync")
        return f"reduction={self.reduction!r}" + (f", {opts}" if opts else "")


class DiceLoss(_DenseLoss):
    """Module form of :func:`weightwise.losses.dice_loss`.

    Example:
        >>> import torch
        >>> loss_fn = DiceLoss(class_weight=torch.tensor([0.2, 1.0, 1.0]), ignore_index=255)
        >>> loss = loss_fn(torch.randn(2, 3, 8, 8), torch.randint(0, 3, (2, 8, 8)))
    """

    _fn = staticmethod(dice_loss)

    def __init__(
        self,
        *,
        mode: str = "multiclass",
        class_weight: Any = None,
        ignore_index: int | None = None,
        smooth: float = 1e-5,
        squared: bool = False,
        pooling: str = "sample",
        include_background: bool = True,
        empty: str = "skip",
        reduction: Reduction = "mean",
        sync: SyncArg = False,
    ) -> None:
        super().__init__(
            class_weight=class_weight,
            reduction=reduction,
            mode=mode,
            ignore_index=ignore_index,
            smooth=smooth,
            squared=squared,
            pooling=pooling,
            include_background=include_background,
            empty=empty,
            sync=sync,
        )


class TverskyLoss(_DenseLoss):
    """Module form of :func:`weightwise.losses.tversky_loss`.

    Example:
        >>> import torch
        >>> loss_fn = TverskyLoss(alpha=0.3, beta=0.7)
        >>> loss = loss_fn(torch.randn(2, 3, 8, 8), torch.randint(0, 3, (2, 8, 8)))
    """

    _fn = staticmethod(tversky_loss)

    def __init__(
        self,
        *,
        mode: str = "multiclass",
        alpha: float = 0.5,
        beta: float = 0.5,
        class_weight: Any = None,
        ignore_index: int | None = None,
        smooth: float = 1e-5,
        pooling: str = "sample",
        include_background: bool = True,
        empty: str = "skip",
        reduction: Reduction = "mean",
        sync: SyncArg = False,
    ) -> None:
        super().__init__(
            class_weight=class_weight,
            reduction=reduction,
            mode=mode,
            alpha=alpha,
            beta=beta,
            ignore_index=ignore_index,
            smooth=smooth,
            pooling=pooling,
            include_background=include_background,
            empty=empty,
            sync=sync,
        )


class FocalTverskyLoss(_DenseLoss):
    """Module form of :func:`weightwise.losses.focal_tversky_loss`.

    Example:
        >>> import torch
        >>> loss_fn = FocalTverskyLoss()   # alpha=0.3, beta=0.7, gamma=4/3
        >>> loss = loss_fn(torch.randn(2, 3, 8, 8), torch.randint(0, 3, (2, 8, 8)))
    """

    _fn = staticmethod(focal_tversky_loss)

    def __init__(
        self,
        *,
        mode: str = "multiclass",
        alpha: float = 0.3,
        beta: float = 0.7,
        gamma: float = 4.0 / 3.0,
        class_weight: Any = None,
        ignore_index: int | None = None,
        smooth: float = 1e-5,
        pooling: str = "sample",
        include_background: bool = True,
        empty: str = "skip",
        reduction: Reduction = "mean",
        sync: SyncArg = False,
    ) -> None:
        super().__init__(
            class_weight=class_weight,
            reduction=reduction,
            mode=mode,
            alpha=alpha,
            beta=beta,
            gamma=gamma,
            ignore_index=ignore_index,
            smooth=smooth,
            pooling=pooling,
            include_background=include_background,
            empty=empty,
            sync=sync,
        )


class GeneralizedDiceLoss(_DenseLoss):
    """Module form of :func:`weightwise.losses.generalized_dice_loss`.

    Example:
        >>> import torch
        >>> loss_fn = GeneralizedDiceLoss(weight_type="square")
        >>> loss = loss_fn(torch.randn(2, 3, 8, 8), torch.randint(0, 3, (2, 8, 8)))
    """

    _fn = staticmethod(generalized_dice_loss)

    def __init__(
        self,
        *,
        mode: str = "multiclass",
        weight_type: str = "square",
        class_weight: Any = None,
        ignore_index: int | None = None,
        smooth: float = 1e-5,
        pooling: str = "sample",
        include_background: bool = True,
        reduction: Reduction = "mean",
        sync: SyncArg = False,
    ) -> None:
        super().__init__(
            class_weight=class_weight,
            reduction=reduction,
            mode=mode,
            weight_type=weight_type,
            ignore_index=ignore_index,
            smooth=smooth,
            pooling=pooling,
            include_background=include_background,
            sync=sync,
        )


class LovaszSoftmaxLoss(_DenseLoss):
    """Module form of :func:`weightwise.losses.lovasz_softmax_loss`.

    Example:
        >>> import torch
        >>> loss_fn = LovaszSoftmaxLoss(ignore_index=255)
        >>> loss = loss_fn(torch.randn(2, 3, 8, 8), torch.randint(0, 3, (2, 8, 8)))
    """

    _fn = staticmethod(lovasz_softmax_loss)

    def __init__(
        self,
        *,
        classes: str | Sequence[int] = "present",
        per_image: bool = False,
        class_weight: Any = None,
        ignore_index: int | None = None,
        reduction: Reduction = "mean",
        sync: SyncArg = False,
    ) -> None:
        super().__init__(
            class_weight=class_weight,
            reduction=reduction,
            classes=classes,
            per_image=per_image,
            ignore_index=ignore_index,
            sync=sync,
        )


class LovaszHingeLoss(FunctionalLoss):
    """Module form of :func:`weightwise.losses.lovasz_hinge_loss`.

    Example:
        >>> import torch
        >>> loss_fn = LovaszHingeLoss()
        >>> loss = loss_fn(torch.randn(2, 1, 8, 8), torch.randint(0, 2, (2, 8, 8)))
    """

    _fn = staticmethod(lovasz_hinge_loss)
    _options = ("per_image", "ignore_index", "reduction", "sync")

    def __init__(
        self,
        *,
        per_image: bool = True,
        ignore_index: int | None = None,
        reduction: Reduction = "mean",
        sync: SyncArg = False,
    ) -> None:
        super().__init__(reduction=reduction, sync=sync)
        self.per_image = per_image
        self.ignore_index = ignore_index

    def extra_repr(self) -> str:
        return f"per_image={self.per_image}, reduction={self.reduction!r}"


class CompoundLoss(nn.Module):
    """A weighted sum of losses, ``Σ_k λ_k · loss_k(logits, target, sample_weight)``.

    Every term receives the same ``logits``, ``target`` and ``sample_weight`` (a per-sample or
    per-pixel weight thus weights each term under the term's own rule); class weights, ignore
    index and reduction are set per term at construction. The last values of the terms
    (detached) are kept in :attr:`last_terms` for logging.

    Args:
        terms: a ``{name: module}`` mapping, or a sequence of modules (named ``"0"``, ``"1"``, …).
            Each module is called as ``module(logits, target, sample_weight=...)``; every loss
            module of :mod:`weightwise.nn` fits.
        weights: the lambdas ``λ_k``, a mapping by name or a sequence in order; default 1 each.

    Use :meth:`dice_ce` and :meth:`dice_bce` for the two common compounds.

    Example:
        >>> import torch
        >>> from weightwise.nn import CrossEntropyLoss, DiceLoss
        >>> loss_fn = CompoundLoss({"dice": DiceLoss(), "ce": CrossEntropyLoss()},
        ...                        weights={"dice": 1.0, "ce": 0.5})
        >>> loss = loss_fn(torch.randn(2, 3, 8, 8), torch.randint(0, 3, (2, 8, 8)))
        >>> sorted(loss_fn.last_terms)
        ['ce', 'dice']
    """

    def __init__(
        self,
        terms: Mapping[str, nn.Module] | Sequence[nn.Module],
        *,
        weights: Mapping[str, float] | Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        named = (
            dict(terms) if isinstance(terms, Mapping) else {str(i): m for i, m in enumerate(terms)}
        )
        if not named:
            raise ValueError("terms must hold at least one loss module; got none")
        for name, module in named.items():
            if not isinstance(module, nn.Module):
                raise ValueError(
                    f"terms[{name!r}] must be a torch.nn.Module; got {type(module).__name__}"
                )
        self.terms = nn.ModuleDict(named)
        if weights is None:
            lam = dict.fromkeys(named, 1.0)
        elif isinstance(weights, Mapping):
            unknown = sorted(set(weights) - set(named))
            if unknown:
                raise ValueError(
                    f"weights names terms {unknown} that are not in terms {sorted(named)}"
                )
            lam = {k: float(weights.get(k, 1.0)) for k in named}
        else:
            ws = list(weights)
            if len(ws) != len(named):
                raise ValueError(
                    f"weights must have one lambda per term ({len(named)}); got {len(ws)}"
                )
            lam = {k: float(v) for k, v in zip(named, ws, strict=True)}
        for k, v in lam.items():
            if not (v >= 0 and v < float("inf")):
                raise ValueError(f"weights[{k!r}] must be finite and non-negative; got {v!r}")
        self.weights = lam
        self.last_terms: dict[str, torch.Tensor] = {}

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, sample_weight: Any = None
    ) -> torch.Tensor:
        values = self._fast_dice_ce(logits, target, sample_weight)
        total: torch.Tensor | None = None
        last: dict[str, torch.Tensor] = {}
        for name, module in self.terms.items():
            if values is not None:
                value = values[name]
            else:
                value = module(logits, target, sample_weight=sample_weight)
            last[name] = value.detach()
            part = self.weights[name] * value
            total = part if total is None else total + part
        self.last_terms = last
        assert total is not None
        return total

    def _fast_dice_ce(
        self, logits: Any, target: Any, sample_weight: Any
    ) -> dict[str, torch.Tensor] | None:
        """Dice + cross-entropy in one pass (one softmax, one target check), when it applies.

        Applies to a multi-class :class:`DiceLoss` and a :class:`CrossEntropyLoss` without label
        smoothing (see ``weightwise.losses._dice_ce``); the values and gradients are
        those of the two modules called one after the other.
        """
        if len(self.terms) != 2:
            return None
        dice = [(k, m) for k, m in self.terms.items() if type(m) is DiceLoss]
        ce = [(k, m) for k, m in self.terms.items() if type(m) is CrossEntropyLoss]
        if len(dice) != 1 or len(ce) != 1:
            return None
        (dice_name, dice_mod), (ce_name, ce_mod) = dice[0], ce[0]
        if ce_mod.label_smoothing != 0:
            return None
        for m in (dice_mod, ce_mod):
            if m._forward_hooks or m._forward_pre_hooks:
                return None  # the modules' own calls run their hooks
        out = dice_ce(
            logits,
            target,
            sample_weight=sample_weight,
            dice_class_weight=dice_mod.class_weight,
            dice_reduction=dice_mod.reduction,
            dice_options=dict(dice_mod.options),
            ce_class_weight=ce_mod.class_weight,
            ce_ignore_index=ce_mod.ignore_index,
            ce_reduction=ce_mod.reduction,
            ce_sync=ce_mod.sync,
        )
        if out is None:
            return None
        return {dice_name: out[0], ce_name: out[1]}

    @classmethod
    def dice_ce(
        cls,
        *,
        class_weight: Any = None,
        ignore_index: int | None = None,
        dice_weight: float = 1.0,
        ce_weight: float = 1.0,
        reduction: Reduction = "mean",
        **dice_options: Any,
    ) -> CompoundLoss:
        """Multi-class Dice plus cross-entropy, sharing ``class_weight`` and ``ignore_index``.

        ``dice_options`` go to :class:`DiceLoss` (``pooling``, ``empty``, ``smooth``, ...).
        """
        return cls(
            {
                "dice": DiceLoss(
                    class_weight=class_weight,
                    ignore_index=ignore_index,
                    reduction=reduction,
                    **dice_options,
                ),
                "ce": CrossEntropyLoss(
                    class_weight=class_weight, ignore_index=ignore_index, reduction=reduction
                ),
            },
            weights={"dice": dice_weight, "ce": ce_weight},
        )

    @classmethod
    def dice_bce(
        cls,
        *,
        mode: str = "binary",
        pos_weight: Any = None,
        neg_weight: Any = None,
        dice_weight: float = 1.0,
        bce_weight: float = 1.0,
        reduction: Reduction = "mean",
        **dice_options: Any,
    ) -> CompoundLoss:
        """Binary or multi-label Dice plus binary cross-entropy (``dice_loss + bce``).

        The target must have the logits' shape (BCE needs it), e.g. ``(N, 1, H, W)`` floats.
        """
        return cls(
            {
                "dice": DiceLoss(mode=mode, reduction=reduction, **dice_options),
                "bce": BCEWithLogitsLoss(
                    pos_weight=pos_weight, neg_weight=neg_weight, reduction=reduction
                ),
            },
            weights={"dice": dice_weight, "bce": bce_weight},
        )

    def extra_repr(self) -> str:
        return f"weights={self.weights!r}"
