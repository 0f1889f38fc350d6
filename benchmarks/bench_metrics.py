"""Weighted metrics: time against scikit-learn (one shot) and torchmetrics (streaming).

Confusion-matrix part (issue 5):

* ``confmat C=10`` / ``confmat C=1000``: ``weightwise.metrics.functional.confusion_matrix`` with
  ``sample_weight`` on 10^7 class labels (torch tensors sharing the NumPy buffers) against
  ``sklearn.metrics.confusion_matrix(labels=range(C), sample_weight=...)``. Goal: <= 0.2x.
* ``stream <Metric>``: 1,000 ``update`` calls of 1,000 samples (scores ``(1000, 10)``) plus one
  ``compute``, weighted ``weightwise.metrics.<Metric>`` against torchmetrics' *unweighted*
  metric of the same name (its default argument validation on, as ours). Goal: <= 1.2x.
  ``stream <Metric> (checks off)``: the same with ``weightwise.set_checks(False)`` (our value
  checks skipped; torchmetrics' validation still on), for information.

Both sides of a case are interleaved round by round (the machine is shared and noisy), and the
table shows medians and the ratio ours / reference. The two sides' values are checked equal
(the unweighted torchmetrics value against ours with unit weights).

Run: .venv/bin/python benchmarks/bench_metrics.py [--repeats 5] [--quick] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def _time(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _interleave(variants: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in variants}
    for fn in variants.values():  # warm-up
        fn()
    for r in range(repeats):
        order = list(variants.items())
        if r % 2:
            order.reverse()
        for name, fn in order:
            times[name].append(_time(fn))
    return {k: statistics.median(v) for k, v in times.items()}


def bench_confmat(n: int, c: int, repeats: int) -> tuple[str, float, float]:
    from sklearn.metrics import confusion_matrix as sk_cm

    from weightwise.metrics.functional import confusion_matrix

    rng = np.random.default_rng(0)
    y = rng.integers(0, c, n)
    p = np.where(rng.random(n) < 0.6, y, rng.integers(0, c, n))
    w = rng.random(n)
    yt, pt, wt = torch.from_numpy(y), torch.from_numpy(p), torch.from_numpy(w)
    labels = np.arange(c)
    ours = confusion_matrix(pt, yt, sample_weight=wt, task="multiclass", num_classes=c)
    ref = sk_cm(y, p, labels=labels, sample_weight=w)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-9, atol=1e-6)
    med = _interleave(
        {
            "ours": lambda: confusion_matrix(
                pt, yt, sample_weight=wt, task="multiclass", num_classes=c
            ),
            "ref": lambda: sk_cm(y, p, labels=labels, sample_weight=w),
        },
        repeats,
    )
    return f"confmat C={c} N={n:.0e} vs sklearn", med["ours"], med["ref"]


def bench_stream(
    name: str, batches: int, repeats: int, checks: bool = True
) -> tuple[str, float, float]:
    import torchmetrics

    import weightwise
    from weightwise import metrics as M

    c, bs = 10, 1000
    g = torch.Generator().manual_seed(0)
    data = [
        (torch.randn(bs, c, generator=g), torch.randint(0, c, (bs,), generator=g))
        for _ in range(batches)
    ]
    weights = [torch.rand(bs, generator=g, dtype=torch.float64) for _ in range(batches)]
    ones = torch.ones(bs, dtype=torch.float64)
    ours_cls = getattr(M, name)
    tm_cls = getattr(torchmetrics, name)
    avg = "micro" if name == "Accuracy" else "macro"

    def run(metric: Any, weighted: list[torch.Tensor] | None) -> Any:
        metric.reset()
        for i, (x, y) in enumerate(data):
            if weighted is None:
                metric.update(x, y)
            else:
                metric.update(x, y, weighted[i])
        return metric.compute()

    ours = ours_cls("multiclass", num_classes=c, average=avg)
    ref = tm_cls(task="multiclass", num_classes=c, average=avg)
    check = float(run(ours, [ones] * batches))
    assert abs(check - float(run(ref, None))) < 1e-5, name
    previous = weightwise.checks_enabled()
    weightwise.set_checks(checks)
    try:
        med = _interleave(
            {"ours": lambda: run(ours, weights), "ref": lambda: run(ref, None)}, repeats
        )
    finally:
        weightwise.set_checks(previous)
    label = f"stream {name} {batches}x{bs} vs torchmetrics (unweighted)"
    return label + ("" if checks else " (checks off)"), med["ours"], med["ref"]


# --- ranking metrics (AUROC, AveragePrecision, binned memory) -------------------------------
# The ranking engineer adds their cases here (or in benchmarks/bench_metrics_ranking.py):
# append functions returning (label, ours_seconds, reference_seconds) to RANKING_CASES.
RANKING_CASES: list[Callable[[bool, int], tuple[str, float, float]]] = []
# ---------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="small sizes, 2 repeats (smoke run)")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = 2 if args.quick else args.repeats
    n = 10**6 if args.quick else 10**7
    batches = 100 if args.quick else 1000
    rows = [bench_confmat(n, 10, repeats), bench_confmat(n, 1000, repeats)]
    for name in ("Accuracy", "F1Score", "Precision", "JaccardIndex"):
        rows.append(bench_stream(name, batches, repeats))
    for name in ("Accuracy", "F1Score", "Precision", "JaccardIndex"):
        rows.append(bench_stream(name, batches, repeats, checks=False))
    for case in RANKING_CASES:
        rows.append(case(args.quick, repeats))
    goals = {"confmat": 0.2, "stream": 1.2}
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, repeats {repeats}")
    print(f"{'case':<75} {'ours s':>9} {'ref s':>9} {'ratio':>7} {'goal':>6}")
    for label, ours, ref in rows:
        goal = next((f"<={g}" for k, g in goals.items() if label.startswith(k)), "")
        print(f"{label:<75} {ours:>9.4f} {ref:>9.4f} {ours / ref:>7.3f} {goal:>6}")


if __name__ == "__main__":
    main()
