"""Time and peak memory of one epoch of ``weightwise.data.WeightedSampler`` against the anchors.

Benchmark terms (DECISIONS §7): the time covers building the sampler and drawing the whole epoch
(``num_samples = n``, with replacement) as an index tensor; the memory is the peak RSS growth
over that work, the user's weights excluded, divided by ``n``.

Variants:
  * ``weightwise``: ``WeightedSampler(w, seed=0).draw()``;
  * ``randperm``: ``torch.randperm(n)``, the floor for any sampler;
  * ``torch-WRS``: ``torch.utils.data.WeightedRandomSampler(w, n)``, drawn as its ``__iter__``
    draws (``torch.multinomial(weights, n, True)``), before the ``.tolist()``. torch refuses more
    than 2^24 categories; the row then says so.

Every measurement runs in a fresh Python process: the child builds ``w`` (float64, uniform on
[0, 1)), reads its RSS (``/proc/self/statm``) as the baseline, runs the variant once and reports
``ru_maxrss - baseline`` (``resource.getrusage``), which is the peak growth of that first run.
Variants are interleaved round by round (the machine is shared and noisy), and the table shows
the median time over rounds and the ratios to ``randperm``.

Goals (issue 6): at most 3x ``randperm`` at 10^8, at most 16 bytes of peak memory per item, and
no slower than ``WeightedRandomSampler`` at 2^24.

Run: .venv/bin/python benchmarks/bench_samplers.py [--rounds 5] [--quick] [--skip-1e8]
The 10^8 case (800 MB of weights per child) runs once, last.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

VARIANTS = ("weightwise", "randperm", "torch-WRS")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _child(n: int, variant: str, threads: int) -> dict[str, object]:
    import torch

    torch.set_num_threads(threads)
    from torch.utils.data import WeightedRandomSampler

    from weightwise.data import WeightedSampler

    w = torch.rand(n, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    base = _rss_bytes()
    t0 = time.perf_counter()
    try:
        if variant == "weightwise":
            idx = WeightedSampler(w, seed=0).draw()
        elif variant == "randperm":
            idx = torch.randperm(n)
        else:
            s = WeightedRandomSampler(w, n, replacement=True)
            idx = torch.multinomial(s.weights, s.num_samples, s.replacement)
    except RuntimeError as err:
        return {"error": str(err).splitlines()[0][:60]}
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    assert idx.shape == (n,)
    return {"time": elapsed, "bytes_per_item": max(peak - base, 0) / n}


def _run_child(n: int, variant: str, threads: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(n), variant, "--threads", str(threads)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _measure(n: int, rounds: int, threads: int) -> dict[str, dict[str, object]]:
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    mem: dict[str, list[float]] = {v: [] for v in VARIANTS}
    errors: dict[str, str] = {}
    for r in range(rounds):
        order = VARIANTS if r % 2 == 0 else VARIANTS[::-1]
        for v in order:
            if v in errors:
                continue
            res = _run_child(n, v, threads)
            if "error" in res:
                errors[v] = str(res["error"])
                continue
            times[v].append(float(res["time"]))  # type: ignore[arg-type]
            mem[v].append(float(res["bytes_per_item"]))  # type: ignore[arg-type]
    return {
        v: (
            {"error": errors[v]}
            if v in errors
            else {"time": statistics.median(times[v]), "bytes": statistics.median(mem[v])}
        )
        for v in VARIANTS
    }


def _row(label: str, res: dict[str, dict[str, object]]) -> None:
    floor = float(res["randperm"]["time"])  # type: ignore[arg-type]
    wrs = res["torch-WRS"]
    for v in VARIANTS:
        r = res[v]
        if "error" in r:
            print(f"{label:>10}  {v:<11} {'refused: ' + str(r['error']):<54}")
            continue
        t, b = float(r["time"]), float(r["bytes"])  # type: ignore[arg-type]
        vs_wrs = "" if "error" in wrs else f"{t / float(wrs['time']):9.2f}x"  # type: ignore[arg-type]
        print(f"{label:>10}  {v:<11} {t:10.3f} s {t / floor:10.2f}x {vs_wrs:>10} {b:12.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch threads in each child")
    ap.add_argument("--quick", action="store_true", help="small sizes, 2 rounds (smoke run)")
    ap.add_argument("--skip-1e8", action="store_true", help="leave out the 10^8 case")
    ap.add_argument("--child", nargs=2, metavar=("N", "VARIANT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(int(args.child[0]), args.child[1], args.threads)))
        return
    if args.quick:
        sizes = [("10^5", 10**5, 2), ("2^20", 2**20, 2)]
    else:
        sizes = [("10^6", 10**6, args.rounds), ("2^24", 2**24, args.rounds)]
        if not args.skip_1e8:
            sizes.append(("10^8", 10**8, 1))  # 800 MB of weights per child: once, last
    print(f"torch threads per child: {args.threads}; time = build + draw one epoch (median)")
    header = f"{'n':>10}  {'variant':<11} {'time':>12} {'/randperm':>11} {'/torch-WRS':>10} "
    print(header + f"{'peak B/item':>12}")
    for label, n, rounds in sizes:
        _row(label, _measure(n, rounds, args.threads))


if __name__ == "__main__":
    main()
