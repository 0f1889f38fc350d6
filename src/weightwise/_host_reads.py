"""Count the host reads a function dispatches (ATen level): a debugging aid used by the tests
and ``benchmarks/bench_compile.py`` to show that a training step never waits on the device.

A host read is an op whose result the host must wait for: a scalar read (``item``,
``bool(tensor)``: ``_local_scalar_dense``) or an op with a data-dependent output shape
(``nonzero``, boolean-mask indexing, ``masked_select``, ``unique``). On an accelerator each one is
a device-to-host synchronisation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["HOST_READS", "count_host_reads"]

HOST_READS = frozenset(
    {"_local_scalar_dense", "item", "nonzero", "masked_select", "unique", "_unique", "_unique2"}
)


def count_host_reads(fn: Callable[[], Any]) -> list[str]:
    """The host-reading ATen ops ``fn()`` dispatches, in order."""
    seen: list[str] = []

    class _Count(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            name = func.__name__.split(".")[0]
            if name in HOST_READS:
                seen.append(name)
            return func(*args, **(kwargs or {}))

    with _Count():
        fn()
    return seen
