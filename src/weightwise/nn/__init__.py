"""``torch.nn.Module`` losses: weights fixed at construction, ``sample_weight`` in ``forward``."""

from __future__ import annotations

from ._classification import BCEWithLogitsLoss, CrossEntropyLoss

__all__ = ["BCEWithLogitsLoss", "CrossEntropyLoss"]
