"""Pure weighted draws over arbitrarily many items (no 2^24 limit), block by block.

The weights are split into blocks of ``block`` consecutive items. Only per-block totals
(``ceil(n / block)`` float64 values) are kept; a block's float64 cumulative sum is built when the
block is drawn from, so the memory beyond the user's weights is one int64 per drawn item plus
``O(block)`` temporaries.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DEFAULT_BLOCK",
    "block_totals",
    "count_positive",
    "draw_with_replacement",
    "draw_without_replacement",
    "expected_coverage",
]

DEFAULT_BLOCK = 1 << 16


def block_totals(w: np.ndarray, *, block: int = DEFAULT_BLOCK, name: str = "weights") -> np.ndarray:
    """Validate ``w`` and return its per-block float64 sums, shape ``(ceil(n / block),)``.

    Raises ``ValueError`` on a NaN, an inf or a negative weight (naming its index and value),
    on an all-zero vector, and on a sum that overflows float64.

    Example:
        >>> block_totals(np.array([1.0, 2.0, 3.0]), block=2)
        array([3., 3.])
    """
    n = w.shape[0]
    k = -(-n // block)
    totals = np.empty(k, dtype=np.float64)
    for b in range(k):
        blk = w[b * block : (b + 1) * block]
        with np.errstate(over="ignore", invalid="ignore"):
            s = float(np.sum(blk, dtype=np.float64))
        if not (blk.min() >= 0 and np.isfinite(s)):
            _raise_bad(blk, b * block, name)
        totals[b] = s
    with np.errstate(over="ignore"):
        grand = float(np.sum(totals))
    if not np.isfinite(grand):
        raise ValueError(f"{name} sum to a value that overflows float64; rescale them")
    if grand <= 0:
        raise ValueError(f"{name} must not all be zero; got {n} zero weights")
    return totals


def _raise_bad(blk: np.ndarray, offset: int, name: str) -> None:
    bad = (~np.isfinite(blk) | (blk < 0)) if blk.dtype.kind == "f" else blk < 0
    hits = np.flatnonzero(bad)
    if hits.size:
        pos = int(hits[0])
        raise ValueError(
            f"{name} must be finite and non-negative; got {blk[pos].item()!r} at index "
            f"{offset + pos}"
        )
    raise ValueError(f"{name} sum to a value that overflows float64; rescale them")


def count_positive(w: np.ndarray, *, block: int = DEFAULT_BLOCK) -> int:
    """Number of strictly positive weights, counted block by block."""
    return int(sum(np.count_nonzero(w[a : a + block]) for a in range(0, w.shape[0], block)))


def draw_with_replacement(
    w: np.ndarray,
    totals: np.ndarray,
    num_samples: int,
    rng: np.random.Generator,
    *,
    block: int = DEFAULT_BLOCK,
) -> np.ndarray:
    """``num_samples`` i.i.d. indices with ``P(i) = w_i / Σ w``, as an int64 array.

    Algorithm (inverse CDF, block-sorted for cache locality):

    1. split ``num_samples`` over the blocks with one multinomial draw on the block totals;
    2. in block ``b`` with ``m_b`` draws: ``m_b`` sorted uniforms on ``[0, T_b)``, located in
       the block's float64 cumulative sum ``c`` with ``searchsorted(c, u, side="right")``
       (item ``j`` is hit iff ``c[j-1] <= u < c[j]``, so a zero weight is never drawn);
    3. one in-place Fisher–Yates shuffle of the whole array.

    Steps 1–2 draw the multiset of an i.i.d. sample (exactly, up to float64 rounding of the
    sums); step 3 gives it a uniformly random order, so the result is distributed as
    ``num_samples`` independent categorical draws. A block's draws are handled ``4·block`` at a
    time. Cost ``O(n + m log block)``; memory ``8·m`` bytes plus ``O(block)``.

    Example:
        >>> w = np.array([0.0, 1.0, 3.0])
        >>> rng = np.random.default_rng(0)
        >>> idx = draw_with_replacement(w, block_totals(w), 5, rng)
        >>> bool((idx >= 1).all())
        True
    """
    out = np.empty(num_samples, dtype=np.int64)
    if num_samples == 0:
        return out
    counts = rng.multinomial(num_samples, totals / totals.sum())
    off = 0
    for b in np.flatnonzero(counts):
        m = int(counts[b])
        lo = int(b) * block
        blk = w[lo : lo + block]
        c = np.cumsum(blk, dtype=np.float64)
        for start in range(0, m, 4 * block):  # a heavy block's draws, a piece at a time
            k = min(4 * block, m - start)
            u = rng.random(k)
            u *= c[-1]
            u.sort()
            idx = np.searchsorted(c, u, side="right")
            if idx[-1] >= blk.shape[0]:  # u rounded up to the block total: last positive item
                idx[idx >= blk.shape[0]] = int(np.flatnonzero(blk)[-1])
            idx += lo
            out[off : off + k] = idx
            off += k
    rng.shuffle(out)
    return out


def draw_without_replacement(
    w: np.ndarray,
    num_samples: int,
    rng: np.random.Generator,
    *,
    block: int = DEFAULT_BLOCK,
) -> np.ndarray:
    """The first ``num_samples`` items of a weighted random permutation, as int64.

    Efraimidis–Spirakis with exponential keys: item ``i`` gets ``k_i = E_i / w_i`` with
    ``E_i ~ Exp(1)`` (``inf`` for a zero weight), and items are taken in increasing key order
    (compared as ``log E_i − log w_i``, which stays finite for subnormal weights).
    Each next item is then drawn with probability proportional to its weight among the items not
    yet taken. ``num_samples`` must not exceed the number of positive weights.
    Cost ``O(n + m log m)`` (a partition, then a sort of the ``m`` smallest keys).

    Example:
        >>> w = np.array([1.0, 0.0, 5.0, 2.0])
        >>> idx = draw_without_replacement(w, 3, np.random.default_rng(0))
        >>> sorted(idx.tolist())
        [0, 2, 3]
    """
    n = w.shape[0]
    keys = np.empty(n, dtype=np.float64)
    with np.errstate(divide="ignore"):
        for a in range(0, n, block):
            blk = w[a : a + block]
            e = np.asarray(rng.standard_exponential(blk.shape[0]), dtype=np.float64)
            # log(E / w), so that a tiny positive weight keeps a finite key (E / w would
            # overflow to inf, the key reserved for zero weights)
            np.log(e, out=e)
            np.subtract(e, np.log(blk, dtype=np.float64), out=keys[a : a + blk.shape[0]])
    if num_samples == 0:
        return np.empty(0, dtype=np.int64)
    if num_samples < n:
        part = np.argpartition(keys, num_samples - 1)[:num_samples]
    else:
        part = np.arange(n, dtype=np.int64)
    order = np.argsort(keys[part], kind="stable")
    return part[order].astype(np.int64, copy=False)


def expected_coverage(
    w: np.ndarray,
    total: float,
    draws: int,
    *,
    block: int = DEFAULT_BLOCK,
) -> float:
    """Expected fraction of the ``n`` items drawn at least once in ``draws`` i.i.d. draws.

    Formula: ``(1/n) Σ_i [1 − (1 − p_i)^draws]`` with ``p_i = w_i / total``, evaluated as
    ``−expm1(draws · log1p(−p_i))`` for accuracy.

    Example:
        >>> expected_coverage(np.ones(2), 2.0, 1)
        0.5
    """
    n = w.shape[0]
    if draws <= 0:
        return 0.0
    acc = 0.0
    with np.errstate(divide="ignore"):
        for a in range(0, n, block):
            p = np.asarray(w[a : a + block], dtype=np.float64) / total
            acc += float(np.sum(-np.expm1(draws * np.log1p(-p))))
    return acc / n
