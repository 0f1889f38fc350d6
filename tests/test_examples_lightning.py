"""examples/lightning_ddp.py runs on 2 CPU processes and logs weighted metrics that equal the
1-process values (Lightning is a test-only dependency: the test skips without it)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip(
    "lightning", reason="lightning is not installed (pip install 'weightwise[dev]')"
)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "lightning_ddp.py"


def test_lightning_ddp_example(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for var in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "NODE_RANK"):
        env.pop(var, None)
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE), "--out", str(tmp_path / "out")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert report["world_size"] == 2
    logged, oracle = report["logged"], report["one_process"]
    for name in ("val/weighted_balanced_accuracy", "val/weighted_accuracy",
                 "val/balanced_accuracy", "val/accuracy"):  # fmt: skip
        # Synced metric states with weight-0 padding: the 1-process value, to float64 rounding.
        assert logged[name] == pytest.approx(oracle[name], abs=1e-12), name
    assert logged["val/weighted_balanced_accuracy"] != logged["val/balanced_accuracy"]
    # The weighted metric reached the logger (CSVLogger's file).
    with open(report["csv_log"], newline="") as f:
        rows = list(csv.DictReader(f))
    values = [
        r["val/weighted_balanced_accuracy"] for r in rows if r["val/weighted_balanced_accuracy"]
    ]
    assert len(values) == 1 and float(values[0]) == pytest.approx(
        logged["val/weighted_balanced_accuracy"], abs=1e-6
    )
