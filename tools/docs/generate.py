"""Generate the documentation's build-time content into docs/_generated/ (git-ignored).

* ``cli/*.txt``: the help of ``weightwise``, ``weightwise compare`` and ``weightwise inspect``;
* ``compare/``: a short ``weightwise compare`` run on the built-in demo (its PNG figures,
  ``results.json``, ``report.html``) and ``compare/summary.md``, the ranked table and the verdict
  that docs/strategies.md includes.

Run by ``make docs`` before ``mkdocs build`` (and by the MkDocs hook when a file is missing):

    python tools/docs/generate.py [--if-missing] [--epochs 10]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "_generated"
#: The files the pages include: the build fails (strict) when one is missing.
EXPECTED = [
    "cli/weightwise.txt",
    "cli/compare.txt",
    "cli/inspect.txt",
    "compare/summary.md",
    "compare/forest.png",
    "compare/curves.png",
    "compare/recall_vs_frequency.png",
    "compare/reliability.png",
    "compare/confusion_matrices.png",
]
EPOCHS = 10


def _env() -> dict[str, str]:
    env = dict(os.environ, COLUMNS="100", NO_COLOR="1", TERM="dumb", KERAS_BACKEND="torch")
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else src
    return env


def _weightwise(*args: str) -> str:
    cmd = [sys.executable, "-m", "weightwise", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def cli_help() -> None:
    (OUT / "cli").mkdir(parents=True, exist_ok=True)
    for name, args in [("weightwise", []), ("compare", ["compare"]), ("inspect", ["inspect"])]:
        text = _weightwise(*args, "--help")
        (OUT / "cli" / f"{name}.txt").write_text(text.rstrip() + "\n")


def _num(x: Any) -> str:
    return "nan" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def _delta(d: dict[str, Any]) -> str:
    lo, hi = d["ci95"]
    star = " *" if d.get("significant") else ""
    return f"{d['diff']:+.3f} [{lo:+.3f}, {hi:+.3f}]{star}"


def summary(results: dict[str, Any], seconds: float) -> str:
    """The ranked table and the verdict of a ``results.json``, as Markdown."""
    ds, cfg, strategies = results["dataset"], results["config"], results["strategies"]
    metric = results["selection"]["metric"]
    lines = [
        f"Built-in `{ds['source']}`: {ds['num_classes']} classes, {ds['num_train']} training "
        f"images with class counts {', '.join(map(str, ds['train_counts']))} (imbalance ratio "
        f"{ds['imbalance_ratio']:.0f}); {ds['num_val']} validation and {ds['num_test']} test "
        f"images, balanced. `{cfg['model']}` model, {cfg['epochs']} epochs, seed {cfg['seed']}; "
        f"the run took {seconds:.0f} s on the machine that built this page.",
        "",
        f"| # | strategy | val {metric.replace('_', ' ')} | val Δ vs none [CI] | "
        "test bal. acc. | test rare recall | test log loss | test ECE |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for rank, name in enumerate(results["ranking"], 1):
        s = strategies[name]
        val, test = s["val"], s["test"]
        vs = s.get("vs_none", {}).get("val")
        delta = _delta(vs) if vs and name != "none" else "(reference)"
        lines.append(
            f"| {rank} | `{name}` | {_num(val[metric])} | "
            f"{delta} | {_num(test['balanced_accuracy'])} | "
            f"{_num(test['rare_recall'])} | {_num(test['log_loss'])} | "
            f"{_num(test['calibration_error'])} |"
        )
    lines += [
        "",
        "`*`: ahead of `none` on validation after the Holm correction.",
        "",
        f"**Verdict.** {results['recommendation']['verdict']}",
    ]
    return "\n".join(lines) + "\n"


def compare(epochs: int) -> None:
    out = OUT / "compare"
    if out.exists():
        shutil.rmtree(out)
    start = time.perf_counter()
    _weightwise("compare", "--epochs", str(epochs), "--seed", "0", "--out", str(out))
    seconds = time.perf_counter() - start
    results = json.loads((out / "results.json").read_text())
    (out / "summary.md").write_text(summary(results, seconds))


def missing() -> list[str]:
    return [p for p in EXPECTED if not (OUT / p).is_file()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--if-missing", action="store_true", help="only when a file is missing")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args(argv)
    if args.if_missing and not missing():
        return 0
    start = time.perf_counter()
    cli_help()
    compare(args.epochs)
    if missing():
        raise SystemExit(f"not generated: {', '.join(missing())}")
    print(f"docs/_generated: written in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
