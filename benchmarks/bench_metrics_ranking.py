"""Exact weighted binary AUROC against scikit-learn, and binned against exact state memory.

1. Time: ``weightwise.metrics.functional.auroc(preds, target, sample_weight=w,
   task="binary")`` (input validation included) against ``sklearn.metrics.roc_auc_score(y, s,
   sample_weight=w)`` on the same float32 scores (rounded to 4 decimals, so ties occur), 0/1
   targets and float64 weights, at 10^6 and 10^7 samples. The two are timed alternately, one
   warm-up call each, and the median of ``--repeats`` calls is reported with the ratio
   ours/sklearn. Goal (issue 5): at most 0.25x.
2. Memory: the states of a streaming ``AUROC`` after the same samples arrive in batches of
   10^5: exact (every score, target and weight kept) against binned (``thresholds=1000``, a
   fixed float64 histogram), with both values.

On a machine shared with other busy processes, PyTorch's multi-threaded kernels slow down far
more than scikit-learn's single-threaded code; ``--threads 1`` compares like with like.

Run: .venv/bin/python benchmarks/bench_metrics_ranking.py [--repeats 5] [--quick] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from weightwise.metrics import AUROC
from weightwise.metrics.functional import auroc


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    y = (g.random(n) < 0.3).astype(np.int64)
    s = np.clip(g.normal(0.4 + 0.2 * y, 0.2), 0, 1).round(4).astype(np.float32)
    w = g.random(n) * 2
    return s, y, w


def _time_pair(
    ours: Callable[[], float], ref: Callable[[], float], repeats: int
) -> tuple[float, float, float, float]:
    v_ours, v_ref = ours(), ref()  # warm-up, and the values
    t_ours, t_ref = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ours()
        t_ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ref()
        t_ref.append(time.perf_counter() - t0)
    return statistics.median(t_ours), statistics.median(t_ref), v_ours, v_ref


def bench_time(sizes: list[int], repeats: int) -> None:
    print("exact weighted binary AUROC (median seconds)")
    print(f"{'n':>12} {'weightwise':>11} {'sklearn':>9} {'ratio':>7} {'|diff|':>9}")
    for n in sizes:
        s, y, w = _data(n)
        st, yt, wt = torch.from_numpy(s), torch.from_numpy(y), torch.from_numpy(w)
        ours, ref, v_ours, v_ref = _time_pair(
            lambda st=st, yt=yt, wt=wt: auroc(st, yt, sample_weight=wt, task="binary").item(),
            lambda s=s, y=y, w=w: float(roc_auc_score(y, s, sample_weight=w)),
            repeats,
        )
        print(f"{n:>12,} {ours:>11.4f} {ref:>9.4f} {ours / ref:>6.3f}x {abs(v_ours - v_ref):>9.1e}")


def _state_bytes(metric: AUROC) -> int:
    total = 0
    for name in metric._defaults:
        value = getattr(metric, name)
        tensors = value if isinstance(value, list) else [value]
        total += sum(t.numel() * t.element_size() for t in tensors)
    return total


def bench_memory(n: int, batch: int = 100_000) -> None:
    s, y, w = _data(n, seed=1)
    exact, binned = AUROC("binary"), AUROC("binary", thresholds=1000)
    for lo in range(0, n, batch):
        args = (
            torch.from_numpy(s[lo : lo + batch]),
            torch.from_numpy(y[lo : lo + batch]),
            torch.from_numpy(w[lo : lo + batch]),
        )
        exact.update(*args)
        binned.update(*args)
    e, b = _state_bytes(exact), _state_bytes(binned)
    ve, vb = exact.compute().item(), binned.compute().item()
    print(f"\nstreaming AUROC state after {n:,} samples (batches of {batch:,})")
    print(f"{'variant':>18} {'state bytes':>14} {'value':>10}")
    print(f"{'exact':>18} {e:>14,} {ve:>10.6f}")
    print(f"{'binned K=1000':>18} {b:>14,} {vb:>10.6f}")
    print(f"binned / exact memory: {b / e:.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="10^5 and 10^6 samples, 3 repeats")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch intra-op threads (default: torch's); scikit-learn's AUROC is single-threaded",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = [10**5, 10**6] if args.quick else [10**6, 10**7]
    repeats = 3 if args.quick else args.repeats
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    bench_time(sizes, repeats)
    bench_memory(sizes[-1])


if __name__ == "__main__":
    main()
