"""Forward+backward time and peak memory of weightwise's focal losses against the compositions.

Cases (float32, gamma=2):
  * ``binary``: ``binary_focal_loss(x, t, alpha=0.25)`` against torchvision's
    ``sigmoid_focal_loss`` formula written out as torchvision writes it (sigmoid,
    BCE-with-logits, ``p_t``, ``(1 - p_t) ** gamma``, ``alpha_t``), then ``.mean()``;
    x of shape N x C = 65536 x 1000, multi-label 0/1 targets.
  * ``softmax``: ``focal_loss(x, y)`` against the naive composition
    ``-(1 - p_y) ** gamma * log p_y`` via ``log_softmax`` and ``gather``, then ``.mean()``;
    at N x C = 65536 x 1000.
  * ``dense``: the same softmax pair at (8, 21, 256, 256) with (8, 256, 256) targets.

Method:
  * Every case runs in a fresh child process (``python bench_focal.py --child ...``).
  * **Time**: one child per case times both variants, taking turns (round-robin repeats, two
    warm-up rounds, each round starting with the other variant), so drift in the machine's load
    hits them alike (``_timing.round_robin``); at least ``--repeats`` rounds and about
    ``--seconds`` (1) of timing per variant, three times that when loaded (up to 100 rounds
    for fast cases). It reports the median forward+backward seconds, the median of the
    per-round time ratios (``_timing.paired_ratio``: robust to a load's modes), and
    the largest differences of the loss values and of the gradients between the two variants.
  * **Peak memory**: one fresh child per (case, variant). It builds the inputs, reads
    ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (the process's peak resident set size so
    far), runs forward+backward once, and reads it again: the growth is the peak extra memory
    of forward+backward (it includes ``x.grad``, the same for both variants). ``tracemalloc``
    does not see torch's allocations, which is why RSS is used. Large tensors are ``mmap``-ed
    by the C allocator and handed back on free, so the inputs' construction does not hide
    later peaks.
  * Ratios are ours / composition; the issue's goal is <= 0.6 for time and <= 0.5 for memory.
  * **Loaded** (issue 18): the timing child runs a second time while ``benchmarks/_load.py``
    keeps one busy-loop process per core running; goal: loaded ratio <= 1.10 in every case
    (on a contended CPU the losses take the plain composition; ``--no-load`` skips it).
  * Threads: ``--threads N`` sets torch's intra-op threads in the children. Our losses work in
    cache-sized blocks, so they run more (smaller) parallel regions than the compositions; on an
    oversubscribed machine every region's thread barrier can wait for a descheduled thread
    (several ms each), which penalises them far more than the few large ops of the
    compositions. ``--threads 1`` compares the arithmetic per core without that effect; check
    the machine's load (``uptime``) before trusting multi-threaded figures.
  * Allocator: the timing children run with glibc's mmap threshold fixed (``_malloc.py``;
    ``--default-malloc`` keeps the dynamic one, whose run-to-run swings hide small ratios).

Run:
  .venv/bin/python benchmarks/bench_focal.py            # the issue's sizes
  .venv/bin/python benchmarks/bench_focal.py --quick    # small sizes, few repeats (smoke run)
  .venv/bin/python benchmarks/bench_focal.py --threads 1
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
from collections.abc import Callable

import torch
import torch.nn.functional as F

from weightwise.losses import binary_focal_loss, focal_loss

GAMMA = 2.0
ALPHA = 0.25

FULL = {"binary": (65536, 1000), "softmax": (65536, 1000), "dense": (8, 21, 256, 256)}
QUICK = {"binary": (4096, 100), "softmax": (4096, 100), "dense": (2, 21, 32, 32)}


def torchvision_sigmoid_focal(
    inputs: torch.Tensor, targets: torch.Tensor, alpha: float, gamma: float
) -> torch.Tensor:
    """torchvision.ops.sigmoid_focal_loss, written out as torchvision writes it."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return loss.mean()


def naive_softmax_focal(logits: torch.Tensor, target: torch.Tensor, gamma: float) -> torch.Tensor:
    logp = F.log_softmax(logits, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
    return (-((1 - logp.exp()) ** gamma) * logp).mean()


def _inputs(
    case: str, shape: tuple[int, ...]
) -> tuple[torch.Tensor, torch.Tensor, dict[str, Callable[[torch.Tensor], torch.Tensor]]]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=gen).requires_grad_(True)
    if case == "binary":
        t = (torch.rand(shape, generator=gen) < 0.05).float()

        def ours_b(z: torch.Tensor) -> torch.Tensor:
            return binary_focal_loss(z, t, gamma=GAMMA, alpha=ALPHA)

        def comp_b(z: torch.Tensor) -> torch.Tensor:
            return torchvision_sigmoid_focal(z, t, ALPHA, GAMMA)

        return x, t, {"ours": ours_b, "composition": comp_b}
    y = torch.randint(0, shape[1], (shape[0], *shape[2:]), generator=gen)

    def ours_s(z: torch.Tensor) -> torch.Tensor:
        return focal_loss(z, y, gamma=GAMMA)

    def comp_s(z: torch.Tensor) -> torch.Tensor:
        return naive_softmax_focal(z, y, GAMMA)

    return x, y, {"ours": ours_s, "composition": comp_s}


def _maxrss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # Linux reports KiB


def child_time(case: str, shape: tuple[int, ...], repeats: int, seconds: float) -> dict[str, float]:
    from _timing import paired_ratio, round_robin

    x, _, fns = _inputs(case, shape)

    def run(name: str) -> None:
        x.grad = None
        fns[name](x).backward()

    times = round_robin(run, list(fns), repeats=repeats, seconds=seconds)
    out: dict[str, float] = {f"time_{k}": statistics.median(v) for k, v in times.items()}
    out["ratio"] = paired_ratio(times, "ours", "composition")
    vals, grads = {}, {}
    for name, fn in fns.items():
        x.grad = None
        loss = fn(x)
        loss.backward()
        vals[name] = loss.item()
        grads[name] = x.grad
        x.grad = None
    out["value_diff"] = abs(vals["ours"] - vals["composition"])
    out["value"] = vals["composition"]
    diff = (grads["ours"] - grads["composition"]).abs().max().item()
    out["grad_diff"] = diff
    out["grad_scale"] = grads["composition"].abs().max().item()
    return out


def child_memory(case: str, shape: tuple[int, ...], variant: str) -> dict[str, float]:
    x, _, fns = _inputs(case, shape)
    fn = fns[variant]
    before = _maxrss_bytes()
    fn(x).backward()
    after = _maxrss_bytes()
    return {"peak_growth": float(after - before), "input_bytes": float(x.numel() * 4)}


def _run_child(
    args: list[str],
    threads: int | None,
    env: dict[str, str] | None = None,
    seconds: float = 1.0,
) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--seconds", str(seconds), "--child", *args]
    if threads is not None:
        cmd[2:2] = ["--threads", str(threads)]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(res.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description="focal loss benchmark")
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--cases", default="binary,softmax,dense")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads in the children (default: torch's)"
    )
    parser.add_argument("--no-load", action="store_true", help="skip the loaded timing")
    parser.add_argument(
        "--seconds",
        type=float,
        default=1.0,
        help="timing per variant and case, quiet (loaded: 3x, its calls are slower and noisier)",
    )
    parser.add_argument(
        "--default-malloc",
        action="store_true",
        help="time with glibc's dynamic mmap threshold (timings then vary from run to run)",
    )
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    if args.child:
        kind, case, shape_s, extra = args.child
        shape = tuple(int(s) for s in shape_s.split("x"))
        if kind == "time":
            result = child_time(case, shape, int(extra), args.seconds)
        else:
            result = child_memory(case, shape, extra)
        print(json.dumps(result))
        return

    sizes = QUICK if args.quick else FULL
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 7)
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, float32, "
        f"gamma={GAMMA}, {'quick' if args.quick else 'full'} sizes, {repeats} repeats, "
        f"every case in a fresh process"
    )
    import os

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _load import busy_cores
    from _malloc import describe
    from _malloc import env as malloc_env

    env = malloc_env(args.default_malloc)
    print(describe(env) + " (timing children)")
    print(f"load average now {os.getloadavg()[0]:.2f}")
    header = (
        f"{'case':<8} {'shape':<18} {'ours s':>8} {'comp s':>8} {'time x':>7} "
        f"{'loaded':>7} {'ours MiB':>9} {'comp MiB':>9} {'mem x':>6} {'|dval|':>9} {'|dgrad|':>9}"
    )
    print(header)
    worst = 0.0
    for case in args.cases.split(","):
        shape = sizes[case]
        shape_s = "x".join(map(str, shape))
        t = _run_child(["time", case, shape_s, str(repeats)], args.threads, env, args.seconds)
        if args.no_load:
            loaded = float("nan")
        else:
            with busy_cores():
                tl = _run_child(
                    ["time", case, shape_s, str(repeats)], args.threads, env, 3 * args.seconds
                )
            loaded = tl["ratio"]
            worst = max(worst, loaded)
        m_ours = _run_child(["memory", case, shape_s, "ours"], args.threads)
        m_comp = _run_child(["memory", case, shape_s, "composition"], args.threads)
        mib = 1024.0**2
        print(
            f"{case:<8} {shape_s:<18} {t['time_ours']:8.3f} {t['time_composition']:8.3f} "
            f"{t['ratio']:7.2f} {loaded:7.2f} "
            f"{m_ours['peak_growth'] / mib:9.1f} {m_comp['peak_growth'] / mib:9.1f} "
            f"{m_ours['peak_growth'] / max(m_comp['peak_growth'], 1.0):6.2f} "
            f"{t['value_diff']:9.2e} {t['grad_diff'] / max(t['grad_scale'], 1e-30):9.2e}"
        )
    if not args.no_load:
        print(f"worst loaded time ratio: {worst:.2f}x (goal <= 1.10x)")
    first = sizes[args.cases.split(",")[0]]
    print(
        "time x / mem x: ours / composition (goal <= 0.6 / <= 0.5); |dval|: absolute value "
        "difference; |dgrad|: largest gradient difference relative to the largest gradient. "
        f"One input tensor of the first case is {4 * _numel(first) / 1024**2:.0f} MiB."
    )


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


if __name__ == "__main__":
    main()
