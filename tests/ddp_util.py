"""Run the ranks of a 2-process gloo test as subprocesses, robustly (shared by the DDP tests).

Each worker script is called as ``python WORKER RANK WORLD PORT OUT_DIR`` and saves its results
under ``OUT_DIR``. The port is chosen free just before the launch, but another process can take
it in between, so a failed launch is retried once with a new port. A rank that hangs is killed at
the timeout, so a broken test fails instead of leaving processes behind.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _launch(worker: Path, out: Path, world: int, timeout: float) -> list[str]:
    port = str(free_port())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(worker.parent), *sys.path])}
    procs = [
        subprocess.Popen(
            [sys.executable, str(worker), str(r), str(world), port, str(out)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for r in range(world)
    ]
    failures = []
    for p in procs:
        try:
            output, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            output, _ = p.communicate()
            failures.append(f"rank timed out after {timeout} s:\n{output.decode()}")
            continue
        if p.returncode != 0:
            failures.append(output.decode())
    return failures


def run_ddp_workers(worker: Path, out: Path, *, world: int = 2, timeout: float = 300) -> None:
    """Run ``world`` ranks of ``worker``; raise ``AssertionError`` with their output on failure."""
    failures = _launch(worker, out, world, timeout)
    if failures:  # one retry: the free port can be taken by another process in between
        failures = _launch(worker, out, world, timeout)
    assert not failures, "\n".join(failures)
