"""Import cost: what ``import weightwise`` (and each subpackage) adds to ``import torch``.

Each case runs in a fresh interpreter that first imports torch (and NumPy), then the case's
statement, timing only the statement with ``time.perf_counter``; the table shows the median
over ``--repeats`` processes, and which heavy libraries the statement pulled in. Goals
(issue 14): ``import weightwise`` + ``weightwise.losses`` adds <= 0.15 s to ``import torch``;
``import weightwise.metrics.functional`` does not import torchmetrics.

Run: .venv/bin/python benchmarks/bench_import.py [--repeats 7] [--src DIR]
(``--src`` puts another checkout's ``src`` first on the path, to measure "before" and "after"
in one run.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CASES = {
    "import torch (reference, total)": None,
    "import weightwise; weightwise.losses": "import weightwise; weightwise.losses",
    "import weightwise.metrics.functional": "import weightwise.metrics.functional",
    "import weightwise.metrics": "import weightwise.metrics",
    "import weightwise.data": "import weightwise.data",
}
HEAVY = ("torchmetrics", "scipy", "matplotlib", "pandas", "sklearn", "keras", "transformers")

_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import numpy, torch
t1 = time.perf_counter()
stmt = sys.argv[1]
if stmt:
    exec(stmt)
t2 = time.perf_counter()
print(json.dumps({"torch": t1 - t0, "added": t2 - t1,
                  "heavy": [m for m in sys.argv[2:] if m in sys.modules]}))
"""


def run(stmt: str | None, src: str | None) -> dict[str, object]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, stmt or "", *HEAVY],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--src", default=None, help="a checkout's src/ to put first on the path")
    args = parser.parse_args()
    print(f"{'statement':<40} {'median s':>9}  heavy modules imported")
    for label, stmt in CASES.items():
        runs = [run(stmt, args.src) for _ in range(args.repeats)]
        key = "torch" if stmt is None else "added"
        med = statistics.median(float(r[key]) for r in runs)  # type: ignore[arg-type]
        heavy = ", ".join(runs[0]["heavy"]) if stmt else ""  # type: ignore[arg-type]
        print(f"{label:<40} {med:9.3f}  {heavy or '-'}")


if __name__ == "__main__":
    main()
