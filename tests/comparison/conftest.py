"""Shared fixtures of the comparison tests."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import pytest

import weightwise.losses

LossCalls = list[tuple[str, dict[str, Any]]]


@pytest.fixture
def spy_losses(monkeypatch: pytest.MonkeyPatch) -> Callable[[Sequence[str]], LossCalls]:
    """``spy_losses(names)`` wraps those ``weightwise.losses`` functions (the calls go through
    unchanged) and returns the list that each training call (logits that require grad) is
    appended to, as ``(name, every bound argument with its default)``."""

    def install(names: Sequence[str]) -> LossCalls:
        calls: LossCalls = []
        for name in names:
            real = getattr(weightwise.losses, name)

            def spy(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
                bound = inspect.signature(_real).bind(*args, **kwargs)
                bound.apply_defaults()
                if bound.arguments[next(iter(bound.arguments))].requires_grad:  # training calls
                    calls.append((_name, dict(bound.arguments)))
                return _real(*args, **kwargs)

            monkeypatch.setattr(weightwise.losses, name, spy)
        return calls

    return install
