"""A competing CPU load for the benchmarks: one busy-loop process per core, started and stopped.

``with busy_cores():`` starts ``os.cpu_count()`` (or ``n``) processes that spin in a Python loop
until the block ends, then stops each of them by its own pid (and waits for it). The
benchmarks time the same code quiet and under this load, in one run, so a path that degrades
when the CPU is shared (DataLoader workers make that the normal case) shows in the ratios.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["busy_cores", "cores"]

_SPIN = "while True:\n    pass\n"


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextmanager
def busy_cores(n: int | None = None) -> Iterator[int]:
    """Keep ``n`` (default: every core) busy-loop processes running inside the block."""
    count = cores() if n is None else n
    procs = [subprocess.Popen([sys.executable, "-c", _SPIN]) for _ in range(count)]
    try:
        time.sleep(0.5)  # let them reach the loop
        yield count
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
