"""glibc allocator settings for the benchmarks' timing runs.

With glibc's default, dynamic mmap threshold, whether a loss's temporaries of a few hundred KB
to a few MB are reused from the heap or page-faulted afresh at every call depends on the
history of the process: the same training step took 1.7 ms in one run and 4.2 ms in the next,
and a fused/composition ratio read 0.4x in one process and 1.5x in another. Fixing the threshold
(both sides alike) makes a run repeatable; ``--default-malloc`` in each benchmark keeps glibc's
dynamic behaviour, which is what a user gets without tuning.
"""

from __future__ import annotations

import os
import sys

__all__ = ["FIXED", "describe", "env", "is_fixed"]

#: 32 MiB (glibc's largest dynamic threshold) and a trim threshold well above it.
FIXED = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "268435456"}


def env(default_malloc: bool) -> dict[str, str]:
    """The environment for a timing child: this one, with the threshold fixed on Linux."""
    out = dict(os.environ)
    if not default_malloc and sys.platform == "linux":
        out.update(FIXED)
    return out


def is_fixed(environ: dict[str, str] | os._Environ[str]) -> bool:
    """Whether ``environ`` fixes the threshold."""
    return all(environ.get(k) == v for k, v in FIXED.items())


def describe(environ: dict[str, str] | os._Environ[str]) -> str:
    return "malloc: " + (
        "mmap threshold fixed at 32 MiB" if is_fixed(environ) else "glibc's dynamic mmap threshold"
    )
