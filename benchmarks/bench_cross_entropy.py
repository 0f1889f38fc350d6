"""Forward+backward time of weightwise.losses.cross_entropy against PyTorch, in one run.

Cases: N=65536 rows, C in {10, 1000}, float32, sample weights and class weights.
Anchors:
  * "composition": (F.cross_entropy(x, y, weight=cw, reduction="none") * s).mean()
  * "plain": unweighted F.cross_entropy(x, y)
Prints the median over repeats and the ratios ours / anchor. Goal (issue 2): within 1.10x of the
hand composition.

Run: .venv/bin/python benchmarks/bench_cross_entropy.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from weightwise.losses import cross_entropy


def _time_all(
    fns: dict[str, Callable[[], torch.Tensor]], x: torch.Tensor, repeats: int
) -> dict[str, float]:
    """Median fwd+bwd seconds per function; the functions take turns, so drift in the
    machine's load hits them alike."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for i in range(repeats + 2):
        for name, fn in fns.items():
            x.grad = None
            t0 = time.perf_counter()
            fn().backward()
            dt = time.perf_counter() - t0
            if i >= 2:  # two warm-up rounds
                times[name].append(dt)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--n", type=int, default=65536)
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, N={args.n}, float32")
    header = (
        f"{'C':>6} {'weightwise':>12} {'composition':>12} {'plain':>10} {'/comp':>7} {'/plain':>7}"
    )
    print(header)
    for c in (10, 1000):
        _run_case(c, args.n, args.repeats)


def _run_case(c: int, n: int, repeats: int) -> None:
    x = torch.randn(n, c, requires_grad=True)
    y = torch.randint(0, c, (n,))
    s = torch.rand(n) * 2
    cw = torch.rand(c) + 0.5

    def ours() -> torch.Tensor:
        return cross_entropy(x, y, sample_weight=s, class_weight=cw)

    def composition() -> torch.Tensor:
        return (F.cross_entropy(x, y, weight=cw, reduction="none") * s).mean()

    def plain() -> torch.Tensor:
        return F.cross_entropy(x, y)

    torch.testing.assert_close(ours(), composition())
    t = _time_all({"ours": ours, "comp": composition, "plain": plain}, x, repeats)
    t_ours, t_comp, t_plain = t["ours"], t["comp"], t["plain"]
    print(
        f"{c:>6} {t_ours * 1e3:>10.2f}ms {t_comp * 1e3:>10.2f}ms {t_plain * 1e3:>8.2f}ms "
        f"{t_ours / t_comp:>6.2f}x {t_ours / t_plain:>6.2f}x"
    )


if __name__ == "__main__":
    main()
