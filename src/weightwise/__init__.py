"""weightwise: sample weights and class weights for PyTorch, done right.

One stated rule (the *weighting contract*, see :mod:`weightwise.reduction`) for how a weight
enters every loss, metric, sampler and distributed reduction.

Example:
    >>> import torch, weightwise
    >>> from weightwise.losses import cross_entropy
    >>> y = torch.tensor([0, 0, 0, 1])
    >>> cw = torch.as_tensor(weightwise.class_weights(y))   # balanced, mean sample weight 1
    >>> logits = torch.zeros(4, 2, requires_grad=True)
    >>> loss = cross_entropy(logits, y, class_weight=cw)    # Σ ω·L / N
"""

from __future__ import annotations

from . import data, decision, losses, nn, reduction, schedules, weights
from ._checks import checks_enabled, no_checks, set_checks
from .losses._fused import fused_enabled, set_fused
from .reduction import broadcast_weight, reduce_loss
from .weights import class_weights

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "broadcast_weight",
    "checks_enabled",
    "class_weights",
    "data",
    "decision",
    "fused_enabled",
    "losses",
    "nn",
    "no_checks",
    "reduce_loss",
    "reduction",
    "schedules",
    "set_checks",
    "set_fused",
    "weights",
]
