"""Dense losses: weightwise's dice_loss and dice + CE against a naive composition.

The naive composition is what a user writes by hand: ``softmax``, ``one_hot(target)`` permuted
to ``(N, C, H, W)``, elementwise products and sums over the spatial axes, then the Dice ratio;
for dice + CE, ``F.cross_entropy`` is added. Our dice + CE is ``CompoundLoss.dice_ce``, whose
fast path shares one softmax and one target check between the two terms. Both sides compute
the same value (checked).

Time: forward + backward of one call, median over ``--repeats`` rounds. The variants are timed
round-robin (one repeat of each in turn) so that load drift on a shared machine hits them
alike. Ratios are ours / naive.

Memory: each case runs once in a **fresh child process** (``python bench_dense.py --child
CASE``): the child builds its inputs, reads ``resource.getrusage(RUSAGE_SELF).ru_maxrss``,
runs forward + backward once, and reads it again. The growth of the peak resident set size is
the memory the loss needed beyond its inputs (on Linux ``ru_maxrss`` is in KiB). A fresh
process per case keeps one case's peak from hiding another's. Because importing torch peaks
above the steady state, the child first resets the kernel's high-water mark (``echo 5 >
/proc/self/clear_refs``) and reads the resettable ``VmHWM`` of ``/proc/self/status``, the same
counter as ``ru_maxrss``; without ``/proc`` it falls back to ``ru_maxrss``.

Usage::

    python benchmarks/bench_dense.py            # (8, 4, 256, 256), 15 repeats
    python benchmarks/bench_dense.py --quick    # small sizes, few repeats (smoke run)

Goal (issue 4): at most 0.8x the time and 0.7x the memory of the naive composition.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from weightwise.losses import dice_loss
from weightwise.nn import CompoundLoss

CASES = ("dice_ours", "dice_naive", "dicece_ours", "dicece_naive")


def naive_dice(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1e-5) -> torch.Tensor:
    prob = torch.softmax(logits, dim=1)
    onehot = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).to(logits.dtype)
    dims = (2, 3)
    inter = (prob * onehot).sum(dims)
    card = prob.sum(dims) + onehot.sum(dims)
    dice = (2 * inter + smooth) / (card + smooth)
    return (1 - dice).mean()


def _fns() -> dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]:
    # empty="zero": an empty class counts with loss 1, as the naive mean does (with
    # smooth = 1e-5 an empty class's naive Dice is about 0 as well), so the values agree.
    # dice + CE is CompoundLoss.dice_ce, whose fast path shares the softmax and the target check.
    dice_ce = CompoundLoss.dice_ce(empty="zero")
    return {
        "dice_ours": lambda x, y: dice_loss(x, y, empty="zero"),
        "dice_naive": naive_dice,
        "dicece_ours": dice_ce,
        "dicece_naive": lambda x, y: naive_dice(x, y) + F.cross_entropy(x, y),
    }


def _inputs(shape: tuple[int, ...], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    n, c, h, w = shape
    logits = torch.randn(n, c, h, w, generator=g)
    target = torch.randint(0, c, (n, h, w), generator=g)
    return logits, target


def _run_once(fn: Callable, logits: torch.Tensor, target: torch.Tensor) -> float:
    x = logits.detach().requires_grad_(True)
    t0 = time.perf_counter()
    loss = fn(x, target)
    loss.backward()
    return time.perf_counter() - t0


def _reset_peak() -> None:
    # Importing torch peaks above the steady state; on Linux, writing 5 to clear_refs resets
    # the high-water mark to the current RSS so that the work below can raise it again.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _hwm_kib() -> int:
    """VmHWM (peak RSS, resettable) where /proc exists, else ru_maxrss (KiB on Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def child(case: str, shape: tuple[int, ...]) -> None:
    logits, target = _inputs(shape)
    fn = _fns()[case]
    _run_once(fn, logits[:1, :, :8, :8], target[:1, :8, :8])  # load kernels before measuring
    _reset_peak()
    before = _hwm_kib()
    _run_once(fn, logits, target)
    after = _hwm_kib()
    print(json.dumps({"case": case, "peak_kib": after - before}))


def peak_memory(case: str, shape: tuple[int, ...]) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--child", case, "--shape", *map(str, shape)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["peak_kib"]) / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--shape", type=int, nargs=4, default=None)
    parser.add_argument("--child", choices=CASES, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    shape = (
        tuple(args.shape) if args.shape else ((2, 4, 64, 64) if args.quick else (8, 4, 256, 256))
    )
    if args.child:
        child(args.child, shape)
        return
    repeats = args.repeats or (3 if args.quick else 15)
    logits, target = _inputs(shape)
    fns = _fns()
    for a, b in [("dice_ours", "dice_naive"), ("dicece_ours", "dicece_naive")]:
        va, vb = fns[a](logits, target).item(), fns[b](logits, target).item()
        assert abs(va - vb) <= 1e-4 * max(1.0, abs(vb)), (a, va, b, vb)
    for name in CASES:  # warm-up
        _run_once(fns[name], logits, target)
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(repeats):
        for name in CASES:  # round-robin
            times[name].append(_run_once(fns[name], logits, target))
    med = {name: statistics.median(v) for name, v in times.items()}
    mem = {name: peak_memory(name, shape) for name in CASES}
    print(
        f"shape {shape}, {repeats} repeats, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print(f"{'case':<14}{'median ms':>12}{'peak MiB':>12}")
    for name in CASES:
        print(f"{name:<14}{med[name] * 1e3:>12.2f}{mem[name]:>12.1f}")
    for ours, naive in [("dice_ours", "dice_naive"), ("dicece_ours", "dicece_naive")]:
        tr = med[ours] / med[naive]
        mr = mem[ours] / mem[naive] if mem[naive] > 0 else float("nan")
        print(f"{ours} / {naive}: time {tr:.2f}x (goal <= 0.8x), memory {mr:.2f}x (goal <= 0.7x)")


if __name__ == "__main__":
    main()
