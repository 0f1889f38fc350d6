"""weightwise: sample weights and class weights for PyTorch, done right.

One stated rule (the *weighting contract*, see :mod:`weightwise.reduction` and
``docs/semantics.md``) for how a weight enters every loss, metric, sampler and distributed
reduction.

``import weightwise`` loads the core only (torch and NumPy): the contract, the losses and the
weight estimators. Every other subpackage (``metrics``, ``data``, ``datasets``, ``keras``,
``cli``, ...) is an attribute that is imported on first use (PEP 562), so
``weightwise.metrics.F1Score`` works after a plain ``import weightwise``.

Example:
    >>> import torch, weightwise
    >>> from weightwise.losses import cross_entropy
    >>> y = torch.tensor([0, 0, 0, 1])
    >>> cw = torch.as_tensor(weightwise.class_weights(y))   # balanced, mean sample weight 1
    >>> logits = torch.zeros(4, 2, requires_grad=True)
    >>> loss = cross_entropy(logits, y, class_weight=cw)    # Σ ω·L / N
    >>> round(loss.item(), 4)
    0.6931
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import losses, reduction, weights
from ._checks import checks, checks_enabled, get_checks, no_checks, set_checks
from .losses._fused import fused_enabled, set_fused
from .reduction import broadcast_weight, reduce_loss
from .weights import class_weights

if TYPE_CHECKING:  # the lazy subpackages, for type checkers and IDEs
    from . import cli, comparison, data, datasets, decision, keras, metrics, nn, schedules
    from .comparison import Comparison, compare

__version__ = "0.1.0"

#: Subpackages imported on first attribute access (``weightwise.metrics``).
_LAZY_SUBMODULES = frozenset(
    {"cli", "comparison", "data", "datasets", "decision", "keras", "metrics", "nn", "schedules"}
)

#: Names imported on first access: ``weightwise.compare`` and ``weightwise.Comparison`` live in
#: :mod:`weightwise.comparison`, which needs pandas, matplotlib and scikit-learn.
_LAZY_ATTRIBUTES = {"compare": "comparison", "Comparison": "comparison"}

__all__ = [
    "Comparison",
    "__version__",
    "broadcast_weight",
    "checks",
    "checks_enabled",
    "class_weights",
    "cli",
    "compare",
    "comparison",
    "data",
    "datasets",
    "decision",
    "fused_enabled",
    "get_checks",
    "keras",
    "losses",
    "metrics",
    "nn",
    "no_checks",
    "reduce_loss",
    "reduction",
    "schedules",
    "set_checks",
    "set_fused",
    "weights",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module  # later look-ups skip this hook
        return module
    if name in _LAZY_ATTRIBUTES:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY_ATTRIBUTES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY_SUBMODULES | set(_LAZY_ATTRIBUTES))
