"""Integrations with other libraries, imported only on request (``import weightwise`` imports
none of them): ``weightwise.integrations.transformers`` (Hugging Face ``Trainer``)."""

from __future__ import annotations

__all__: list[str] = []
