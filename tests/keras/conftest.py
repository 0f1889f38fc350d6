"""Shared by the Keras suites (every backend): one torch intra-op thread per test module.

The helpers the modules share (``to_np``) are in ``keras_util.py``: pytest does not mean
``conftest.py`` to be imported, and ``tests/conftest.py`` is also a module named ``conftest``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    """Tiny models and tensors: intra-op threads only spin against the other test workers."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
