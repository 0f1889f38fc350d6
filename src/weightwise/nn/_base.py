"""Shared plumbing of the loss modules: buffers for fixed weights, one generic ``forward``."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..reduction import Reduction, SyncArg, _check_reduction

__all__ = ["FunctionalLoss", "WindowLoss", "as_buffer"]


def as_buffer(x: Any) -> torch.Tensor | None:
    """A weight fixed at construction, as a tensor to register as a buffer (``None`` stays).

    Tensors are copied (integer ones become the default float dtype); Python numbers and lists
    become float64, so no precision is lost before the loss casts them to the logits' dtype.
    """
    if x is None:
        return None
    if isinstance(x, torch.Tensor):
        t = x.detach().clone()
        return t if t.is_floating_point() else t.to(torch.get_default_dtype())
    return torch.as_tensor(x, dtype=torch.float64)


class FunctionalLoss(nn.Module):
    """A module twin of a functional loss.

    Subclasses set ``_fn`` (the functional loss, as a ``staticmethod``) and ``_options`` (the
    names of the attributes and buffers passed to it as keywords); ``forward(logits, target,
    sample_weight=None)`` then calls ``_fn(logits, target, sample_weight=..., **options)``.

    ``__init__`` checks and stores ``reduction`` and ``sync`` and registers each keyword of
    ``buffers`` (a weight fixed at construction, or ``None``) as a buffer, so that it follows
    ``.to(device)`` and lands in ``state_dict``.
    """

    _fn: Any = None
    _options: tuple[str, ...] = ()

    def __init__(
        self, *, reduction: Reduction = "mean", sync: SyncArg = False, **buffers: Any
    ) -> None:
        super().__init__()
        _check_reduction(reduction)
        self.reduction = reduction
        self.sync = sync
        for name, value in buffers.items():
            self.register_buffer(name, as_buffer(value))

    def _keywords(self) -> dict[str, Any]:
        """The keywords ``forward`` passes to ``_fn``."""
        return {name: getattr(self, name) for name in self._options}

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, sample_weight: Any = None
    ) -> torch.Tensor:
        fn = type(self)._fn
        out: torch.Tensor = fn(logits, target, sample_weight=sample_weight, **self._keywords())
        return out


class WindowLoss(FunctionalLoss):
    """A :class:`FunctionalLoss` whose ``forward`` also takes ``denominator=``.

    ``denominator`` replaces the reduction's (a gradient-accumulation window's, from
    :func:`weightwise.reduction.window_denominator`; see ``docs/scaling.md``).
    """

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        sample_weight: Any = None,
        *,
        denominator: Any = None,
    ) -> torch.Tensor:
        fn = type(self)._fn
        out: torch.Tensor = fn(
            logits,
            target,
            sample_weight=sample_weight,
            denominator=denominator,
            **self._keywords(),
        )
        return out
