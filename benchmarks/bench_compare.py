"""`weightwise compare`: wall time of the default run, and the per-epoch overhead of weighted
training against unweighted training.

1. The default run (`weightwise compare` on the built-in digits-LT, all strategies) is timed
   end to end in a fresh process (`--skip-default` skips it).
2. One epoch of the default model and batch size on the digits-LT training split is timed with
   plain `F.cross_entropy` and with `weightwise.losses.cross_entropy` carrying class and sample
   weights, with value checks on and off (`compare` validates its data once, then trains with
   checks off); the epochs alternate so that load drift hits all alike. Goal: at most 5%
   overhead.
3. A whole `compare` epoch (training plus the per-epoch validation record) of the class-weighted
   strategy `balanced` against the unweighted `none`, both as `compare` runs them (test-set
   evaluation included, divided by the epochs).
4. The statistics' cost: the default run in process (11 strategies, 30 epochs, 2000 paired
   bootstrap resamples on validation and on test), with the time spent in the decision
   (bootstrap + Holm) as a share of the run; with `--seeds 3` too.
5. The same share on the multi-label and segmentation demos (`digits_multilabel`, 30 epochs;
   `digits_seg`, 10 epochs at batch 16), whose bootstraps resample rows and images
   (`--skip-tasks` skips them).

Run: .venv/bin/python benchmarks/bench_compare.py [--repeats 30] [--skip-default] [--skip-tasks]
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
    parser.add_argument("--skip-tasks", action="store_true")
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F

    from weightwise.cli._compare_data import load_builtin
    from weightwise.comparison._engine import CompareConfig, build_model
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
    kinds = ("plain", "composition", "ww-unweighted", "weighted")
    models = {k: build_model(X.shape[1], data.num_classes, cfg) for k in kinds}
    # (the "checks off" rows train the "weighted" model too: same work, value checks skipped)
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
            elif kind == "ww-unweighted":
                loss = cross_entropy(logits, y[idx])
            elif kind == "composition":
                loss = (
                    F.cross_entropy(logits, y[idx], weight=cw, reduction="none") * s[idx]
                ).mean()
            else:
                loss = cross_entropy(logits, y[idx], sample_weight=s[idx], class_weight=cw)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return time.perf_counter() - t0

    import weightwise

    times: dict[str, list[float]] = {
        "plain": [],
        "composition": [],
        "ww-unweighted": [],
        "weighted": [],
        "weighted, checks off": [],
    }
    for r in range(args.repeats + 3):
        for kind in times:
            weightwise.set_checks(kind != "weighted, checks off")
            t = epoch(kind if kind in kinds else "weighted")
            if r >= 3:
                times[kind].append(t)
    weightwise.set_checks(True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"one epoch, {len(y)} samples, batch {cfg.batch_size}, MLP {cfg.hidden}, 1 thread, "
        f"median of {args.repeats}:"
    )
    print(f"  unweighted F.cross_entropy : {med['plain'] * 1e3:8.2f} ms")
    labels = {
        "composition": "hand (F.ce(none)*s).mean()",
        "ww-unweighted": "weightwise CE, no weights",
        "weighted": "weightwise weighted CE",
        "weighted, checks off": "same, value checks off",
    }
    for kind in ("composition", "ww-unweighted", "weighted", "weighted, checks off"):
        print(
            f"  {labels[kind]:<27}: {med[kind] * 1e3:8.2f} ms "
            f"({100 * (med[kind] / med['plain'] - 1):+.1f} %)"
        )
    print("  goal: at most +5%; `compare` trains with value checks off after validating its data")

    # 3. A whole `compare` epoch (training + the per-epoch validation record), class-weighted
    #    strategy against the unweighted one, both as `compare` runs them.
    from weightwise.comparison._engine import run_compare

    per: dict[str, list[float]] = {"none": [], "balanced": []}
    epochs = 10
    for r in range(max(3, args.repeats // 5) + 1):
        for name in per:
            cfg_s = CompareConfig(strategies=(name,), epochs=epochs)
            t0 = time.perf_counter()
            run_compare(data, cfg_s)
            if r:
                per[name].append((time.perf_counter() - t0) / epochs)
    m = {k: statistics.median(v) for k, v in per.items()}
    print(f"one `compare` epoch incl. validation, median of {len(per['none'])} runs:")
    print(f"  none (unweighted CE)       : {m['none'] * 1e3:8.2f} ms")
    print(
        f"  balanced (class-weighted)  : {m['balanced'] * 1e3:8.2f} ms "
        f"({100 * (m['balanced'] / m['none'] - 1):+.1f} %)"
    )

    # 4. The bootstrap's share of a default run.
    import weightwise.comparison._decide as decide_module

    spent: list[float] = []
    real_decide = decide_module.decide

    def timed(*a, **kw):
        t0 = time.perf_counter()
        try:
            return real_decide(*a, **kw)
        finally:
            spent.append(time.perf_counter() - t0)

    decide_module.decide = timed
    try:
        for seeds in (1, 3):
            spent.clear()
            t0 = time.perf_counter()
            run_compare(data, CompareConfig(seeds=seeds))
            total = time.perf_counter() - t0
            print(
                f"default run, {seeds} seed(s), in process: {total:.1f} s; decision (2000 paired "
                f"bootstrap resamples on val and on test, Holm): {spent[0] * 1e3:.0f} ms = "
                f"{100 * spent[0] / total:.1f} % of the run"
            )
    finally:
        decide_module.decide = real_decide

    # 5. The bootstrap's share of the multi-label and segmentation demos.
    if args.skip_tasks:
        return
    import dataclasses

    from weightwise.cli._compare_data import load_builtin
    from weightwise.comparison._api import parse_task_strategies
    from weightwise.comparison._tasks import TASK_METRICS, run_task_compare

    real_scores = decide_module.decide_scores

    def timed_scores(*a, **kw):
        t0 = time.perf_counter()
        try:
            return real_scores(*a, **kw)
        finally:
            spent.append(time.perf_counter() - t0)

    decide_module.decide_scores = timed_scores
    try:
        for name, epochs, batch in (("digits_multilabel", 30, 64), ("digits_seg", 10, 16)):
            task_data = load_builtin(name, imbalance_ratio=None, seed=0)
            cfg = dataclasses.replace(
                CompareConfig(),
                strategies=parse_task_strategies(None, task_data.task),
                epochs=epochs,
                batch_size=batch,
                rank_by=TASK_METRICS[task_data.task][0],
                task=task_data.task,
            )
            spent.clear()
            t0 = time.perf_counter()
            res = run_task_compare(task_data, cfg)
            total = time.perf_counter() - t0
            print(
                f"{name}: {len(res['strategies'])} runs in {total:.1f} s; decision (2000 paired "
                f"bootstrap resamples of {'rows' if task_data.task == 'multilabel' else 'images'}"
                f" on val and test, Holm): {spent[0] * 1e3:.0f} ms = "
                f"{100 * spent[0] / total:.1f} % of the run"
            )
    finally:
        decide_module.decide_scores = real_scores


if __name__ == "__main__":
    main()
