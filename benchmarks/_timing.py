"""Round-robin timing of several variants in one process, for the loss benchmarks.

Each round times every variant once, starting with the next one in turn (no variant always
runs first, right after the others), so drift in the machine's load hits them alike. The first
two rounds are warm-up. From the second round's cost the number of rounds is set so that each
variant gets about ``seconds`` of timing (at least ``repeats`` rounds, at most ``max_rounds``):
more rounds for fast cases, whose loaded medians are the noisiest.

The ratio of two variants is the median of their per-round ratios (``paired_ratio``): the two
calls of a round ran a few milliseconds apart, under the same phase of any competing load. Under
a load the times are spread over modes (a call that waited a scheduler slice at a barrier, or
several), and a ratio of two medians then swings by ±15% between runs for identical code, as
each variant's median falls in one mode or another; the median of paired ratios does not.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

__all__ = ["paired_ratio", "round_robin"]

_WARMUP = 2


def round_robin(
    run: Callable[[str], None],
    names: Sequence[str],
    *,
    repeats: int,
    seconds: float = 1.0,
    max_rounds: int = 100,
) -> dict[str, list[float]]:
    """Seconds of ``run(name)`` (one forward+backward) per variant, warm-up rounds left out."""
    times: dict[str, list[float]] = {name: [] for name in names}
    rounds, i = repeats + _WARMUP, 0
    while i < rounds:
        spent = 0.0
        k = i % len(names)
        for name in list(names[k:]) + list(names[:k]):
            t0 = time.perf_counter()
            run(name)
            dt = time.perf_counter() - t0
            spent += dt
            if i >= _WARMUP:
                times[name].append(dt)
        if i == _WARMUP - 1:
            per_variant = max(spent / len(names), 1e-4)
            rounds = _WARMUP + max(repeats, min(max_rounds, int(seconds / per_variant)))
        i += 1
    return times


def paired_ratio(times: dict[str, list[float]], name: str, reference: str) -> float:
    """Median over rounds of ``times[name][i] / times[reference][i]``."""
    pairs = zip(times[name], times[reference], strict=True)
    return statistics.median(a / b for a, b in pairs)
