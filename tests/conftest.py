"""Suite-wide settings and shared fixtures.

`make test` runs two pytest workers on a 2-core machine; two torch intra-op threads per worker
would oversubscribe the cores, and torch's thread pool then waits on descheduled threads (tiny
kernels become milliseconds). One thread per worker keeps the suite fast; it changes no result.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import pytest
import torch

import weightwise.losses

torch.set_num_threads(1)

# The suite has this one conftest.py: with --doctest-modules, a second one in a sub-directory
# can collide with it as the module "conftest". Shared fixtures live here; shared helpers in
# plain modules (ddp_util.py, weight_invariants.py, keras/keras_util.py).

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
