"""Forward+backward time and peak memory of the fused weighted linear cross-entropy against
the composition that materialises the logits.

Anchor (issue 19): ``(F.cross_entropy(F.linear(h, W), y, reduction="none") * w).mean()``,
with ``h`` ``(N, H)`` and ``W`` ``(V, H)`` requiring grad and ``w`` a per-token weight.
Against it: ``weightwise.losses.linear_cross_entropy(h, W, y, sample_weight=w)`` (the same
value, ``reduction="mean"``), default chunk size.

Every (case, variant) runs in a fresh Python process. In the child the inputs are built, the
resident set size is read as the baseline, one forward+backward runs and the peak RSS growth
(``ru_maxrss`` minus the baseline) is what the loss needed beyond its inputs, ``W.grad`` and
``h.grad`` included. Then ``--repeats`` more passes are timed; the median is reported.
On a CUDA device (``--device cuda``) memory is ``torch.cuda.max_memory_allocated`` growth.

Goals (issue 19): peak memory at most 0.2x the composition's, time at most 1.1x.

The fused implementations of the anchor, Cut Cross-Entropy (``cut-cross-entropy``:
``linear_cross_entropy(h, W, y, reduction="none")``) and Liger-Kernel (``liger-kernel``:
``LigerFusedLinearCrossEntropyLoss(reduction="none")(W, h, y)``), run as the variants ``cce`` and
``liger``, per-token losses times ``w`` then ``.mean()`` as the composition. Both are Triton
kernels (Triton is a hard dependency of both; neither has a CPU path): they run only with
``--device cuda``, and each one that cannot run is skipped with its reason on one line
("not installed", "needs CUDA (Triton kernels)", or the import error).

Loaded (``--load``): every child runs while ``benchmarks/_load.py`` keeps one busy-loop process
per core running, the competing CPU load of DataLoader workers; the ratios are then loaded
against loaded. The children run with glibc's mmap threshold fixed (``_malloc.py``;
``--default-malloc`` keeps the dynamic one).

Run: .venv/bin/python benchmarks/bench_linear_ce.py [--repeats 3] [--quick] [--dtypes ...]
     [--load] [--default-malloc]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time

# N, H, V
CASES = {"V=32768": (8192, 1024, 32768), "V=131072": (8192, 1024, 131072)}
QUICK = {"V=4096": (1024, 256, 4096), "V=16384": (1024, 256, 16384)}
VARIANTS = ("weightwise", "composition", "cce", "liger")
#: The anchors' fused implementations: variant -> (distribution, module to import).
ANCHORS = {
    "cce": ("cut-cross-entropy", "cut_cross_entropy"),
    "liger": ("liger-kernel", "liger_kernel.transformers"),
}


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _anchor_skip_reason(variant: str, device: str) -> str | None:
    """Why anchor ``variant`` cannot run here (``None``: it can)."""
    import importlib
    import importlib.util

    dist, module = ANCHORS[variant]
    if importlib.util.find_spec(module.split(".")[0]) is None:
        return f"not installed (pip install {dist})"
    if not device.startswith("cuda"):
        return f"needs CUDA (Triton kernels); --device is {device}"
    import torch

    if not torch.cuda.is_available():
        return "needs CUDA (Triton kernels); torch.cuda.is_available() is False"
    try:
        importlib.import_module(module)
    except Exception as e:  # e.g. no triton, or a triton that does not match torch
        return f"import failed: {type(e).__name__}: {e}"
    return None


def _child(shape: tuple[int, int, int], dtype_s: str, variant: str, repeats: int, device: str):
    import torch
    import torch.nn.functional as F

    from weightwise.losses import linear_cross_entropy

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype_s]
    torch.manual_seed(0)
    n, h_dim, v = shape
    h = (torch.randn(n, h_dim, device=device) * 0.5).to(dtype).requires_grad_()
    w = (torch.randn(v, h_dim, device=device) / h_dim**0.5).to(dtype).requires_grad_()
    y = torch.randint(0, v, (n,), device=device)
    s = torch.rand(n, device=device) * 2

    if variant == "weightwise":

        def fn():
            return linear_cross_entropy(h, w, y, sample_weight=s)

    elif variant == "cce":
        from cut_cross_entropy import linear_cross_entropy as cce_linear_cross_entropy

        def fn():
            per = cce_linear_cross_entropy(h, w, y, reduction="none")
            return (per * s.to(per.dtype)).mean()

    elif variant == "liger":
        from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss

        liger = LigerFusedLinearCrossEntropyLoss(reduction="none")

        def fn():
            per = liger(w, h, y)  # (lin_weight, input, target)
            return (per * s.to(per.dtype)).mean()

    else:

        def fn():
            per = F.cross_entropy(F.linear(h, w), y, reduction="none")
            return (per * s.to(per.dtype)).mean()

    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = _rss_bytes()
    loss = fn()
    loss.backward()
    if cuda:
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    value = float(loss)
    del loss
    times = []
    for _ in range(repeats):
        h.grad = None
        w.grad = None
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn().backward()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return {"time": statistics.median(times), "mem": max(0, peak - base), "value": value}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--big-repeats",
        type=int,
        default=1,
        help="repeats for the fp32 composition at V=131072 (tens of GiB-seconds on a CPU)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--dtypes", default="fp32,bf16")
    parser.add_argument("--cases", default=None, help="comma-separated case names")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--load", action="store_true", help="time under one busy process per core")
    parser.add_argument(
        "--default-malloc",
        action="store_true",
        help="time with glibc's dynamic mmap threshold (timings then vary from run to run)",
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        shape_s, dtype_s, variant, device = args.child
        shape = tuple(int(v) for v in shape_s.split("x"))
        print(json.dumps(_child(shape, dtype_s, variant, args.repeats, device)))  # type: ignore[arg-type]
        return

    import torch

    cases = QUICK if args.quick else CASES
    if args.cases:
        cases = {k: v for k, v in cases.items() if k in args.cases.split(",")}
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _load import busy_cores
    from _malloc import describe
    from _malloc import env as malloc_env

    env = malloc_env(args.default_malloc)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, "
        f"median of {args.repeats}, one fresh process per (case, dtype, variant), "
        f"{'loaded (one busy process per core)' if args.load else 'quiet'}; {describe(env)}"
    )
    variants = args.variants.split(",")
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown --variants {','.join(unknown)}; choose from {','.join(VARIANTS)}")
    for variant in [v for v in variants if v in ANCHORS]:
        reason = _anchor_skip_reason(variant, args.device)
        if reason is not None:
            print(f"skip {variant} ({ANCHORS[variant][0]}): {reason}")
            variants.remove(variant)
    print(f"{'case':<12}{'dtype':<6}{'variant':<13}{'time':>10}{'peak mem':>11}{'t/comp':>8}"
          f"{'m/comp':>8}")  # fmt: skip
    for name, shape in cases.items():
        for dtype_s in args.dtypes.split(","):
            res = {}
            for variant in variants:
                reps = args.repeats
                big = shape[2] * shape[0] >= 8192 * 131072 and dtype_s == "fp32"
                if big and variant == "composition":
                    reps = min(reps, args.big_repeats)
                with busy_cores() if args.load else contextlib.nullcontext():
                    out = subprocess.run(
                        [sys.executable, __file__, "--repeats", str(reps), "--child",
                         "x".join(map(str, shape)), dtype_s, variant, args.device],
                        capture_output=True, text=True, env=env,
                    )  # fmt: skip
                if out.returncode != 0:
                    res[variant] = None
                    tail = (out.stderr or out.stdout).strip().splitlines()[-1:]
                    print(f"{name:<12}{dtype_s:<6}{variant:<13} failed (out of memory?): {tail}")
                    continue
                res[variant] = json.loads(out.stdout.strip().splitlines()[-1])
                if big and variant == "composition" and reps < args.repeats:
                    print(
                        f"{name:<12}{dtype_s:<6}note: the fp32 composition holds several "
                        f"{shape[0]}x{shape[2]} float32 tensors "
                        f"({shape[0] * shape[2] * 4 / 2**30:.0f} GiB each); timed {reps}x only"
                    )
            comp = res.get("composition")
            for variant in VARIANTS:
                r = res.get(variant)
                if r is None:
                    continue
                tr = f"{r['time'] / comp['time']:>7.2f}x" if comp else f"{'-':>8}"
                mr = f"{r['mem'] / max(comp['mem'], 1):>7.2f}x" if comp else f"{'-':>8}"
                print(
                    f"{name:<12}{dtype_s:<6}{variant:<13}{r['time']:>9.2f}s"
                    f"{r['mem'] / 2**20:>9.0f}MB{tr}{mr}",
                    flush=True,
                )
            tol = 1e-4 if dtype_s == "fp32" else 2e-2
            if comp and res.get("weightwise"):
                rel = abs(res["weightwise"]["value"] - comp["value"]) / abs(comp["value"])
                assert rel < tol, f"{name} {dtype_s}: {res['weightwise']['value']} != {comp}"
            for anchor in [a for a in ANCHORS if comp and res.get(a)]:
                rel = abs(res[anchor]["value"] - comp["value"]) / abs(comp["value"])
                if rel >= tol:  # theirs, not ours: reported, not asserted
                    print(
                        f"{name:<12}{dtype_s:<6}note: {anchor} loss {res[anchor]['value']} "
                        f"differs from the composition's {comp['value']} by {rel:.1e}"
                    )


if __name__ == "__main__":
    main()
