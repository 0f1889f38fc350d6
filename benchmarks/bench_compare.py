"""`weightwise compare`: wall time of the default run, and the per-epoch overhead of weighted
training against unweighted training.

1. The default run (`weightwise compare` on the built-in digits-LT, all strategies) is timed
   end to end in a fresh process (`--skip-default` skips it).
2. One epoch of the default model and batch size on the digits-LT training split is timed with
   plain `F.cross_entropy` and with `weightwise.losses.cross_entropy` carrying class and sample
   weights; the epochs alternate so that load drift hits both alike. Goal: at most 5% overhead.

Run: .venv/bin/python benchmarks/bench_compare.py [--repeats 30] [--skip-default]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--skip-default", action="store_true")
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F

    from weightwise.cli._compare import CompareConfig, build_model
    from weightwise.cli._compare_data import load_builtin
    from weightwise.losses import cross_entropy
    from weightwise.weights import class_weights

    if not args.skip_default:
        exe = Path(sys.executable).with_name("weightwise")
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            subprocess.run([str(exe), "compare", "--out", out], check=True, capture_output=True)
            wall = time.perf_counter() - t0
        print(
            f"default `weightwise compare` (11 strategies, 30 epochs): {wall:.1f} s wall "
            "(goal: at most 90 s)"
        )

    torch.set_num_threads(1)  # as `compare` runs
    data = load_builtin("digits_lt", imbalance_ratio=None, seed=0)
    cfg = CompareConfig()
    X, y = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
    cw = torch.as_tensor(class_weights(data.y_train), dtype=torch.float32)
    s = torch.rand(len(y)) + 0.5
    torch.manual_seed(0)
    models = {k: build_model(X.shape[1], data.num_classes, cfg) for k in ("plain", "weighted")}
    opts = {k: torch.optim.Adam(m.parameters(), lr=cfg.lr) for k, m in models.items()}

    def epoch(kind: str) -> float:
        model, opt = models[kind], opts[kind]
        perm = torch.randperm(len(y))
        t0 = time.perf_counter()
        for i in range(0, len(y), cfg.batch_size):
            idx = perm[i : i + cfg.batch_size]
            logits = model(X[idx])
            if kind == "plain":
                loss = F.cross_entropy(logits, y[idx])
            else:
                loss = cross_entropy(logits, y[idx], sample_weight=s[idx], class_weight=cw)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return time.perf_counter() - t0

    times: dict[str, list[float]] = {"plain": [], "weighted": []}
    for r in range(args.repeats + 3):
        for kind in times:
            t = epoch(kind)
            if r >= 3:
                times[kind].append(t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"one epoch, {len(y)} samples, batch {cfg.batch_size}, MLP {cfg.hidden}, 1 thread, "
        f"median of {args.repeats}:"
    )
    print(f"  unweighted F.cross_entropy : {med['plain'] * 1e3:8.2f} ms")
    print(f"  weightwise weighted CE     : {med['weighted'] * 1e3:8.2f} ms")
    print(
        f"  overhead                   : {100 * (med['weighted'] / med['plain'] - 1):+7.1f} % "
        "(goal: at most +5%)"
    )


if __name__ == "__main__":
    main()
