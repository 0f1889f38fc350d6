"""Functional weighted losses. Every loss takes ``sample_weight`` and ``reduction=`` with the
meanings of :mod:`weightwise.reduction`."""

from __future__ import annotations

from ._classification import binary_cross_entropy, cross_entropy

__all__ = ["binary_cross_entropy", "cross_entropy"]
