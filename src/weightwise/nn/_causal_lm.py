"""``nn.Module`` twin of the causal language-model loss: the class weight fixed at construction
is a buffer (it follows ``.to(device)`` and lands in ``state_dict``); token and sequence weights
and the window denominator are passed to ``forward``."""

from __future__ import annotations

from typing import Any

import torch

from ..losses._causal_lm import causal_lm_loss
from ..reduction import Reduction, SyncArg
from ._base import FunctionalLoss

__all__ = ["CausalLMLoss"]


class CausalLMLoss(FunctionalLoss):
    """Module form of :func:`weightwise.losses.causal_lm_loss` (the shift included).

    ``forward(logits, labels, token_weight=None, *, sequence_weight=None, denominator=None,
    hidden=None, lm_head=None, lm_head_bias=None)``: ``logits`` ``(B, T, V)`` and ``labels``
    ``(B, T)``; or ``logits=None`` with ``hidden`` ``(B, T, H)`` and ``lm_head`` ``(V, H)``
    (e.g. ``model.lm_head.weight``), which never materialises the logits
    (:func:`weightwise.losses.linear_cross_entropy`). ``token_weight`` ``(B, T)`` is aligned
    with ``labels``; ``sequence_weight`` is ``(B,)``; ``denominator`` is a
    gradient-accumulation window's (:func:`weightwise.reduction.window_denominator` of
    :func:`weightwise.losses.causal_lm_weight`; ``docs/scaling.md``).

    Example:
        >>> import torch
        >>> loss_fn = CausalLMLoss(z_loss=1e-4)
        >>> logits = torch.randn(2, 5, 11)
        >>> labels = torch.tensor([[1, 2, 3, 4, 5], [6, 7, 8, -100, -100]])
        >>> loss = loss_fn(logits, labels, sequence_weight=torch.tensor([1.0, 2.0]))
        >>> loss.shape
        torch.Size([])
    """

    _fn = staticmethod(causal_lm_loss)
    _options = (
        "class_weight",
        "ignore_index",
        "label_smoothing",
        "z_loss",
        "reduction",
        "sync",
        "per_sequence",
        "chunk_size",
    )

    class_weight: torch.Tensor | None

    def __init__(
        self,
        *,
        class_weight: Any = None,
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
        z_loss: float = 0.0,
        reduction: Reduction = "weighted_mean",
        sync: SyncArg = False,
        per_sequence: bool = False,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__(reduction=reduction, sync=sync, class_weight=class_weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.z_loss = z_loss
        self.per_sequence = per_sequence
        self.chunk_size = chunk_size

    def forward(
        self,
        logits: torch.Tensor | None,
        labels: torch.Tensor,
        token_weight: Any = None,
        *,
        sequence_weight: Any = None,
        denominator: Any = None,
        hidden: torch.Tensor | None = None,
        lm_head: torch.Tensor | None = None,
        lm_head_bias: torch.Tensor | None = None,
    ) -> torch.Tensor:
        out: torch.Tensor = causal_lm_loss(
            logits,
            labels,
            hidden=hidden,
            lm_head=lm_head,
            lm_head_bias=lm_head_bias,
            token_weight=token_weight,
            sequence_weight=sequence_weight,
            denominator=denominator,
            **self._keywords(),
        )
        return out

    def extra_repr(self) -> str:
        return (
            f"reduction={self.reduction!r}, ignore_index={self.ignore_index}, "
            f"per_sequence={self.per_sequence}"
        )
