"""A training step with weightwise losses against the hand composition, compiled and eager.

Steps (forward, backward, ``Adam.step``), float32 on CPU:

* ``ce``: an MLP 784 -> 256 -> 10 on a batch of 256, weighted cross-entropy:
  ``weightwise.losses.cross_entropy(z, y, sample_weight=w)`` against
  ``(F.cross_entropy(z, y, reduction="none") * w).mean()``;
* ``focal``: the same MLP, ``focal_loss(z, y, gamma=2, sample_weight=w)`` against
  ``(-(1 - p_y)**2 · log p_y · w).mean()``;
* ``dice+ce``: a 1x1-convolution head 16 -> 4 classes on (8, 16, 64, 64) feature maps,
  ``dice_loss(z, y) + cross_entropy(z, y, sample_weight=w)`` against a hand-written soft Dice
  (per sample, mean over the present classes) plus the weighted CE composition.

Each pair runs eager and under ``torch.compile(fullgraph=True)`` (inductor) on the forward and
the loss, whose backward AOTAutograd compiles too; the optimizer step stays eager (dynamo does
not trace ``Optimizer.zero_grad``). One warm-up compile, then new weight values every step, so
a recompilation would show; the two steps of a pair take turns, so that drift in the machine's
load hits both alike (``_timing.round_robin``, each round starting with the other side).
Reported: the median step time over at least ``--repeats`` steps and about ``--seconds`` (2) of
timing per side, the ratio weightwise / composition as the median of the per-round ratios
(goals: compiled <= 1.05x, eager <= 1.10x), and the host reads per
step of weightwise's eager step in the default ("auto", eager on CPU) and "async" modes,
counted at the ATen level (``weightwise._host_reads``): 0 in "async" means the step would not
synchronise an accelerator.

Allocator. With glibc's default, dynamic mmap threshold, whether a step's buffers of a few
hundred KB come from the heap or from fresh pages (page faults at every step) depends on the
history of the process: the same step measured 1.7 ms in one run and 4.2 ms in the next, and
the ratios moved by 0.1-0.2. The script therefore re-executes itself with the threshold fixed
(``MALLOC_MMAP_THRESHOLD_`` = 32 MiB, ``MALLOC_TRIM_THRESHOLD_`` = 256 MiB), the same for both
sides; ``--default-malloc`` keeps the dynamic one.

Run: .venv/bin/python benchmarks/bench_compile.py [--repeats 20] [--cases ce,focal,dice+ce]
     [--default-malloc]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

import weightwise
from weightwise.losses import cross_entropy, dice_loss, focal_loss

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from weightwise._host_reads import count_host_reads

LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def _hand_focal(z: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    logp = F.log_softmax(z, dim=1).gather(1, y[:, None]).squeeze(1)
    return (-((1 - logp.exp()) ** 2) * logp * w).mean()


def _hand_dice_ce(z: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    p = torch.softmax(z, dim=1)
    onehot = F.one_hot(y, z.shape[1]).movedim(-1, 1).to(p.dtype)
    dims = tuple(range(2, z.dim()))
    inter = (p * onehot).sum(dims)
    card = p.sum(dims) + onehot.sum(dims)
    score = (2 * inter + 1e-5) / (card + 1e-5)
    present = onehot.sum(dims) > 0
    dice = ((1 - score) * present).sum(1) / present.sum(1).clamp(min=1)
    ce = (F.cross_entropy(z, y, reduction="none") * w[:, None, None]).mean()
    return dice.mean() + ce


CASES: dict[str, tuple[LossFn, LossFn]] = {
    "ce": (
        lambda z, y, w: cross_entropy(z, y, sample_weight=w),
        lambda z, y, w: (F.cross_entropy(z, y, reduction="none") * w).mean(),
    ),
    "focal": (lambda z, y, w: focal_loss(z, y, gamma=2.0, sample_weight=w), _hand_focal),
    "dice+ce": (
        lambda z, y, w: dice_loss(z, y) + cross_entropy(z, y, sample_weight=w),
        _hand_dice_ce,
    ),
}


#: Samples per batch (the sample weight's length) of each case's input.
BATCH = {"ce": 256, "focal": 256, "dice+ce": 8}


def _setup(case: str) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    if case == "dice+ce":
        model: nn.Module = nn.Conv2d(16, 4, kernel_size=1)
        x = torch.randn(8, 16, 64, 64, generator=g)
        y = torch.randint(0, 4, (8, 64, 64), generator=g)
    else:
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
        x = torch.randn(256, 784, generator=g)
        y = torch.randint(0, 10, (256,), generator=g)
    return model, x, y


def _timed_pair(
    case: str, losses: tuple[LossFn, LossFn], *, compiled: bool, repeats: int, seconds: float
) -> tuple[float, float, float]:
    """Median step times of the two losses and the median of their per-round ratios, their steps
    taking turns (``_timing.round_robin``: drift in the machine's load hits both alike), each
    on its own copy of the model and optimizer."""
    steps = []
    for loss_fn in losses:
        model, x, y = _setup(case)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def forward_loss(
            w: torch.Tensor,
            model: nn.Module = model,
            x: torch.Tensor = x,
            y: torch.Tensor = y,
            loss_fn: LossFn = loss_fn,
        ) -> torch.Tensor:
            return loss_fn(model(x), y, w)

        fwd = torch.compile(forward_loss, fullgraph=True) if compiled else forward_loss

        def run(
            w: torch.Tensor,
            fwd: Callable[[torch.Tensor], torch.Tensor] = fwd,
            opt: torch.optim.Optimizer = opt,
        ) -> None:
            opt.zero_grad(set_to_none=True)
            fwd(w).backward()  # through the compiled backward graph when compiled
            opt.step()

        steps.append(run)
    from _timing import paired_ratio, round_robin

    g = torch.Generator().manual_seed(1)
    # New weight values at every step (a recompilation on values would show), the same
    # sequence for both sides.
    weights = [torch.rand(BATCH[case], generator=g) + 0.1 for _ in range(16)]
    calls = [0, 0]

    def step(name: str) -> None:
        k = int(name)
        steps[k](weights[calls[k] % len(weights)])
        calls[k] += 1

    # The two warm-up rounds include the compile.
    times = round_robin(step, ["0", "1"], repeats=repeats, seconds=seconds, max_rounds=2000)
    med = statistics.median
    return med(times["0"]), med(times["1"]), paired_ratio(times, "0", "1")


def _host_reads(case: str, loss_fn: LossFn, mode: str) -> int:
    model, x, y = _setup(case)
    w = torch.rand(x.shape[0]) + 0.1

    def step() -> None:
        loss_fn(model(x), y, w).backward()

    with weightwise.checks(mode):  # type: ignore[arg-type]
        return len(count_host_reads(step))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument(
        "--seconds", type=float, default=2.0, help="timing per side and (case, mode)"
    )
    parser.add_argument(
        "--default-malloc",
        action="store_true",
        help="keep glibc's dynamic mmap threshold (timings then vary from run to run)",
    )
    args = parser.parse_args()
    from _malloc import describe, is_fixed
    from _malloc import env as malloc_env

    if not (args.default_malloc or is_fixed(os.environ)) and sys.platform == "linux":
        os.execve(sys.executable, [sys.executable, *sys.argv], malloc_env(False))
    print(describe(os.environ))
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, medians over "
        f">= {args.repeats} steps and about {args.seconds:g} s per side (ratio: median of the "
        f"per-round ratios); load average now {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'case':<9}{'mode':<10}{'weightwise':>12}{'hand':>10}{'ratio':>8}"
        f"{'goal':>7}{'reads auto':>12}{'reads async':>12}"
    )
    for case in args.cases.split(","):
        ours, hand = CASES[case]
        reads = (_host_reads(case, ours, "auto"), _host_reads(case, ours, "async"))
        for compiled, goal in ((False, 1.10), (True, 1.05)):
            t_ours, t_hand, ratio = _timed_pair(
                case, (ours, hand), compiled=compiled, repeats=args.repeats, seconds=args.seconds
            )
            print(
                f"{case:<9}{'compiled' if compiled else 'eager':<10}{t_ours * 1e3:>10.2f}ms"
                f"{t_hand * 1e3:>8.2f}ms{ratio:>7.2f}x{goal:>6.2f}x"
                f"{reads[0]:>12}{reads[1]:>12}"
            )


if __name__ == "__main__":
    main()
