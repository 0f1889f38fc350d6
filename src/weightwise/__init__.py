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


# --- weightwise.compare / weightwise.Comparison (issue 15): lazy, so that `import weightwise`
# does not import pandas, matplotlib or scikit-learn (PEP 562).
def __getattr__(name: str) -> object:
    if name in ("compare", "Comparison"):
        from . import comparison

        return getattr(comparison, name)
    raise AttributeError(f"module 'weightwise' has no attribute {name!r}")


# --- end weightwise.compare

__all__ = [
    "Comparison",
    "__version__",
    "broadcast_weight",
    "checks_enabled",
    "class_weights",
    "compare",
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
