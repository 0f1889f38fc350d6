"""Samplers: weighted (any length, DDP shares), class-balanced, balanced batches, DDP evaluation.

The samplers are thin ``torch.utils.data.Sampler`` classes over the pure draws in
:mod:`weightwise.data._draw`. Every one of them:

* is deterministic in ``(seed, epoch)``: ``set_epoch(e)`` pins the next iteration to epoch
  ``e``; an iteration without it advances an internal epoch counter, so Keras ``fit`` and plain
  loops get a fresh draw each epoch;
* under DDP (explicit ``rank`` / ``world_size``, or read from an initialised process group)
  gives each rank the interleaved positions ``rank, rank + W, …`` of one global draw, which every
  rank computes in full (``O(n)`` time per rank);
* reports its per-rank epoch length with ``len()``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import Sampler

from ..weights._common import as_label_array, check_real
from ._common import (
    as_weight_view,
    check_nonnegative_int,
    check_positive_int,
    make_rng,
    resolve_rank,
    share_length,
    share_positions,
)
from ._draw import (
    DEFAULT_BLOCK,
    block_totals,
    count_positive,
    draw_with_replacement,
    draw_without_replacement,
    expected_coverage,
)

__all__ = [
    "BalancedBatchSampler",
    "ClassBalancedSampler",
    "DistributedEvalSampler",
    "WeightedSampler",
]

_CHUNK = 1 << 16  # indices converted to Python ints at a time while iterating


class _EpochMixin:
    """``set_epoch`` / internal epoch counter shared by the samplers."""

    _epoch: int

    @property
    def epoch(self) -> int:
        """The epoch the next iteration will draw."""
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Pin the next iteration to ``epoch`` (a non-negative integer).

        Later iterations without ``set_epoch`` continue from ``epoch + 1``.
        """
        self._epoch = check_nonnegative_int(epoch, "epoch")

    def _next_epoch(self) -> int:
        e = self._epoch
        self._epoch = e + 1
        return e


def _yield_chunks(share_fn: Callable[[], np.ndarray]) -> Iterator[int]:
    share: np.ndarray = share_fn()
    for a in range(0, share.shape[0], _CHUNK):
        yield from share[a : a + _CHUNK].tolist()


class WeightedSampler(_EpochMixin, Sampler[int]):
    """Draw dataset indices with probability proportional to ``weights``, at any scale and
    sharded across DDP ranks.

    Unlike ``torch.utils.data.WeightedRandomSampler`` (``torch.multinomial``), there is no
    2^24-category limit, and there is a distributed form.

    Algorithm:
        * with replacement: inverse-CDF sampling, block by block: the draws are split over
          blocks of 65,536 items by one multinomial draw on the block totals, each block's
          sorted uniforms are located in its float64 cumulative sum with ``searchsorted``,
          and the epoch is shuffled once. ``P(i) = w_i / Σ w``; zero weights are never drawn.
        * without replacement: Efraimidis–Spirakis exponential keys ``E_i / w_i``, smallest
          first (a weighted random permutation), ``O(n + m log m)``.

    Shapes and sizes:
        ``weights``: ``(n,)``, any real dtype, NumPy, torch, list or pandas. It is read, not
        copied (a CUDA tensor is copied to the host): do not modify it while the sampler is
        in use. ``num_samples`` (``m``) is the *global* epoch size, default ``n``.
        ``len(sampler)`` is this rank's share, ``ceil(m / W)``, or ``floor(m / W)`` with
        ``drop_last``.

    DDP:
        Every rank computes the same global draw (``O(n)`` time, ``8`` bytes per drawn item)
        and takes the interleaved positions ``rank, rank + W, …``. With replacement the draw
        holds ``ceil(m / W)·W`` i.i.d. items, so padding is unbiased; with ``drop_last`` it
        holds ``m`` items and the last ``m mod W`` are dropped. Without replacement the draw
        is a weighted permutation prefix of ``m`` items, padded by wrapping around to its
        start as ``DistributedSampler`` does. The union of the ranks' shares is therefore
        exactly the single-process draw of ``len(sampler) · W`` items (``m`` when ``W``
        divides ``m``) for the same ``seed`` and epoch.

    Epochs:
        The same ``(seed, epoch)`` gives the same draw on every rank and platform (NumPy
        PCG64 seeded with ``(seed, epoch)``).

    Args:
        weights: non-negative finite weights, not all zero (checked at construction;
            a ``ValueError`` names the first bad index and value).
        num_samples: global number of draws per epoch; default ``len(weights)``. Without
            replacement it may not exceed the number of positive weights.
        replacement: draw with replacement (default) or a weighted permutation prefix.
        seed: non-negative integer seed.
        rank, world_size: this process's rank and the number of ranks; both ``None`` reads
            them from an initialised ``torch.distributed`` group, else ``0`` and ``1``.
        drop_last: drop the tail instead of padding when ``W`` does not divide ``m``.

    Example:
        >>> import torch
        >>> from weightwise.data import WeightedSampler
        >>> w = torch.tensor([0.0, 1.0, 3.0])
        >>> sampler = WeightedSampler(w, num_samples=4, seed=0)
        >>> idx = list(sampler)          # epoch 0
        >>> len(idx), 0 in idx
        (4, False)
        >>> sampler.set_epoch(0)
        >>> list(sampler) == idx         # same (seed, epoch), same draw
        True
    """

    def __init__(
        self,
        weights: Any,
        num_samples: int | None = None,
        *,
        replacement: bool = True,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        drop_last: bool = False,
    ) -> None:
        self._setup(
            as_weight_view(weights, "weights"),
            num_samples,
            replacement=replacement,
            seed=seed,
            rank=rank,
            world_size=world_size,
            drop_last=drop_last,
            name="weights",
        )

    def _setup(
        self,
        w: np.ndarray,
        num_samples: int | None,
        *,
        replacement: bool,
        seed: int,
        rank: int | None,
        world_size: int | None,
        drop_last: bool,
        name: str,
    ) -> None:
        self._w = w
        self._totals = block_totals(w, block=DEFAULT_BLOCK, name=name)
        self._total = float(self._totals.sum())
        n = int(w.shape[0])
        m = n if num_samples is None else check_positive_int(num_samples, "num_samples")
        self.replacement = bool(replacement)
        if not self.replacement:
            npos = count_positive(w)
            if m > npos:
                raise ValueError(
                    f"num_samples must not exceed the number of positive {name} ({npos}) when "
                    f"replacement=False; got {m}"
                )
        self.num_samples = m
        self.seed = check_nonnegative_int(seed, "seed")
        self.rank, self.world_size = resolve_rank(rank, world_size)
        self.drop_last = bool(drop_last)
        self._len = share_length(m, self.world_size, self.drop_last)
        self._epoch = 0

    def __len__(self) -> int:
        return self._len

    @property
    def draw_size(self) -> int:
        """Number of items in the global draw of one epoch (before wrap-around padding)."""
        if self.replacement and not self.drop_last:
            return self._len * self.world_size
        return self.num_samples

    def _global_draw(self, epoch: int) -> np.ndarray:
        rng = make_rng(self.seed, epoch)
        if self.replacement:
            return draw_with_replacement(self._w, self._totals, self.draw_size, rng)
        return draw_without_replacement(self._w, self.num_samples, rng)

    def _share(self, epoch: int) -> np.ndarray:
        g = self._global_draw(epoch)
        if self.world_size == 1 and self._len == g.shape[0]:
            return g
        return g[share_positions(self.rank, self.world_size, self._len, g.shape[0])]

    def draw(self, epoch: int | None = None) -> torch.Tensor:
        """This rank's indices for ``epoch`` as an int64 tensor ``(len(self),)``.

        ``epoch=None`` means the epoch the next iteration would use. The epoch counter is not
        advanced.
        """
        e = self._epoch if epoch is None else check_nonnegative_int(epoch, "epoch")
        return torch.from_numpy(self._share(e))

    def __iter__(self) -> Iterator[int]:
        epoch = self._next_epoch()
        return _yield_chunks(lambda: self._share(epoch))

    def expected_coverage(self) -> float:
        """Expected fraction of the ``n`` items that one epoch (all ranks together) draws at
        least once.

        With replacement: ``(1/n) Σ_i [1 − (1 − p_i)^D]``, ``p_i = w_i / Σ w``, ``D`` the
        number of drawn positions over all ranks. Without replacement: ``min(D, m) / n``.
        """
        n = self._w.shape[0]
        d = self._len * self.world_size
        if not self.replacement:
            return min(d, self.num_samples) / n
        return expected_coverage(self._w, self._total, d)


class ClassBalancedSampler(WeightedSampler):
    """Sample class ``c`` with probability ``∝ n_c^power``, uniformly within a class.

    ``power=0`` balances the classes, ``power=0.5`` is square-root sampling, ``power=1`` is
    plain instance sampling. It is a :class:`WeightedSampler` with item weights
    ``n_{y_i}^(power − 1)``, so it shares its epochs, DDP shares and ``num_samples`` rules;
    ``num_samples`` defaults to ``len(labels)``.

    Re-sampling discards information: at 99:1 balanced sampling most majority items are never
    seen in an epoch. :meth:`expected_coverage` reports the expected fraction of distinct items
    one epoch visits. Do not also put class weights on the loss: that balances twice.

    Args:
        labels: ``(n,)`` integer class indices ``>= 0``.
        power: finite real exponent ``q >= 0`` in ``P(class c) ∝ n_c^q`` (a negative ``q``
            would favour the rare classes over balance; it is a ``ValueError``).
        num_samples, replacement, seed, rank, world_size, drop_last: as for
            :class:`WeightedSampler`.

    Example:
        >>> import numpy as np
        >>> from weightwise.data import ClassBalancedSampler
        >>> y = np.array([0] * 99 + [1])
        >>> s = ClassBalancedSampler(y, power=0.0, seed=0)
        >>> s.class_probabilities.tolist()
        [0.5, 0.5]
        >>> round(s.expected_coverage(), 3)   # most majority items unseen in an epoch
        0.403
    """

    def __init__(
        self,
        labels: Any,
        *,
        power: float = 0.0,
        num_samples: int | None = None,
        replacement: bool = True,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        drop_last: bool = False,
    ) -> None:
        y = as_label_array(labels, "labels")
        if y.ndim != 1:
            raise ValueError(f"labels must be 1-D; got shape {y.shape}")
        if y.shape[0] == 0:
            raise ValueError("labels must not be empty")
        q = check_real(power, "power")
        if not math.isfinite(q):
            raise ValueError(f"power must be a finite real number; got {power!r}")
        if q < 0:
            raise ValueError(
                f"power must be >= 0 (0 balances the classes, 1 keeps the data's frequencies); "
                f"got {power!r}"
            )
        self.power = q
        counts = np.bincount(y)
        self.class_counts: np.ndarray = counts
        present = counts > 0
        per_class = np.zeros(counts.shape[0], dtype=np.float64)
        per_class[present] = counts[present].astype(np.float64) ** q
        self.class_probabilities: np.ndarray = per_class / per_class.sum()
        item_w = np.zeros(counts.shape[0], dtype=np.float64)
        item_w[present] = per_class[present] / counts[present]
        self._setup(
            item_w[y],
            num_samples,
            replacement=replacement,
            seed=seed,
            rank=rank,
            world_size=world_size,
            drop_last=drop_last,
            name="labels' item weights",
        )


class BalancedBatchSampler(_EpochMixin, Sampler[list[int]]):
    """Batches holding equal counts of each of their classes (a ``batch_sampler``).

    Each batch takes ``classes_per_batch`` distinct classes by walking a reshuffled class order
    (a stream of random permutations of the present classes; a batch that straddles two
    permutations skips classes it already holds), so every class is picked equally often up
    to one. Each chosen class contributes ``k = batch_size / classes_per_batch`` items: a class
    with at least ``k`` items walks its own reshuffled item order (distinct items within a
    batch; the order is reshuffled when fewer than ``k`` remain), a smaller class is drawn with
    replacement. An epoch is ``len(labels) // batch_size`` global batches; under DDP batches go
    to ranks round-robin, padded by wrapping around (or dropped with ``drop_last``).

    Args:
        labels: ``(n,)`` integer class indices ``>= 0``; absent classes are never chosen.
        batch_size: a multiple of ``classes_per_batch``.
        classes_per_batch: default the number of present classes ``C``.
        seed, rank, world_size, drop_last: as for :class:`WeightedSampler`.

    Example:
        >>> from weightwise.data import BalancedBatchSampler
        >>> y = [0, 0, 0, 0, 0, 0, 1, 1]
        >>> s = BalancedBatchSampler(y, batch_size=4, seed=0)
        >>> [sorted(y[i] for i in b) for b in s]
        [[0, 0, 1, 1], [0, 0, 1, 1]]
    """

    def __init__(
        self,
        labels: Any,
        *,
        batch_size: int,
        classes_per_batch: int | None = None,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        drop_last: bool = False,
    ) -> None:
        y = as_label_array(labels, "labels")
        if y.ndim != 1:
            raise ValueError(f"labels must be 1-D; got shape {y.shape}")
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.classes = np.flatnonzero(np.bincount(y)) if y.size else np.empty(0, np.int64)
        c = len(self.classes)
        p = (
            c
            if classes_per_batch is None
            else check_positive_int(classes_per_batch, "classes_per_batch")
        )
        if p > c:
            raise ValueError(
                f"classes_per_batch must not exceed the number of classes present in labels "
                f"({c}); got {p}"
            )
        if self.batch_size % p:
            raise ValueError(
                f"batch_size must be a multiple of classes_per_batch={p}; got {self.batch_size}"
            )
        self.classes_per_batch = p
        self.per_class = self.batch_size // p
        self.num_batches = y.shape[0] // self.batch_size
        if self.num_batches == 0:
            raise ValueError(
                f"batch_size must not exceed len(labels)={y.shape[0]}; got {self.batch_size}"
            )
        order = np.argsort(y, kind="stable")
        bounds = np.searchsorted(y[order], self.classes, side="left")
        ends = np.searchsorted(y[order], self.classes, side="right")
        self._members = [order[a:b] for a, b in zip(bounds, ends, strict=True)]
        self.seed = check_nonnegative_int(seed, "seed")
        self.rank, self.world_size = resolve_rank(rank, world_size)
        self.drop_last = bool(drop_last)
        self._len = share_length(self.num_batches, self.world_size, self.drop_last)
        self._epoch = 0

    def __len__(self) -> int:
        return self._len

    def _global_batches(self, epoch: int) -> list[list[int]]:
        rng = make_rng(self.seed, epoch, 1)
        c, p, k = len(self.classes), self.classes_per_batch, self.per_class
        queue: deque[int] = deque()
        pools = [rng.permutation(m) for m in self._members]
        cursors = [0] * c
        batches: list[list[int]] = []
        for _ in range(self.num_batches):
            chosen: list[int] = []
            taken: set[int] = set()
            skipped: list[int] = []  # already in this batch: they keep their place in the order
            while len(chosen) < p:
                if not queue:
                    queue.extend(rng.permutation(c).tolist())
                cls = queue.popleft()
                if cls in taken:
                    skipped.append(cls)
                    continue
                chosen.append(cls)
                taken.add(cls)
            queue.extendleft(reversed(skipped))
            batch: list[int] = []
            for cls in chosen:
                members = self._members[cls]
                if members.shape[0] < k:
                    batch.extend(members[rng.integers(0, members.shape[0], k)].tolist())
                    continue
                if cursors[cls] + k > members.shape[0]:
                    pools[cls] = rng.permutation(members)
                    cursors[cls] = 0
                a = cursors[cls]
                batch.extend(pools[cls][a : a + k].tolist())
                cursors[cls] = a + k
            batches.append(batch)
        return batches

    def coverage(self, epoch: int | None = None) -> float:
        """Fraction of the ``n`` items that the global batches of ``epoch`` (all ranks
        together, padding excluded) hold at least once.

        This is the realised value for that epoch, computed by drawing it (``O(n)``);
        ``epoch=None`` means the epoch the next iteration would use. The counter is not
        advanced.
        """
        e = self._epoch if epoch is None else check_nonnegative_int(epoch, "epoch")
        n = sum(m.shape[0] for m in self._members)
        drawn = {i for b in self._global_batches(e) for i in b}
        return len(drawn) / n

    def __iter__(self) -> Iterator[list[int]]:
        epoch = self._next_epoch()

        def gen() -> Iterator[list[int]]:
            batches = self._global_batches(epoch)
            pos = share_positions(self.rank, self.world_size, self._len, len(batches))
            for i in pos.tolist():
                yield batches[i]

        return gen()


class DistributedEvalSampler(Sampler[int]):
    """Disjoint, in-order evaluation shares whose padding carries sample weight 0.

    Rank ``r`` gets the positions ``r, r + W, …`` of ``0 … ceil(n / W)·W − 1``; position
    ``p >= n`` is padding and maps to index ``p mod n`` (a duplicate, so shapes match on every
    rank). :meth:`padding_weights` gives ``1`` for real items and ``0`` for padding: multiply
    your sample weights by it, and weighted metrics synced across ranks equal the
    single-process value exactly (plain ``DistributedSampler`` counts the duplicates).

    Args:
        dataset_len: ``n``, the number of items to evaluate (``>= 1``).
        rank, world_size: as for :class:`WeightedSampler`.

    Example:
        >>> from weightwise.data import DistributedEvalSampler
        >>> s = DistributedEvalSampler(5, rank=1, world_size=2)
        >>> list(s), s.padding_weights().tolist()
        ([1, 3, 0], [1.0, 1.0, 0.0])
    """

    def __init__(
        self, dataset_len: int, *, rank: int | None = None, world_size: int | None = None
    ) -> None:
        self.dataset_len = check_positive_int(dataset_len, "dataset_len")
        self.rank, self.world_size = resolve_rank(rank, world_size)
        self._len = math.ceil(self.dataset_len / self.world_size)
        self._pos = np.arange(self._len, dtype=np.int64) * self.world_size + self.rank

    def __len__(self) -> int:
        return self._len

    @property
    def num_padding(self) -> int:
        """Number of padding items in this rank's share."""
        return int(np.count_nonzero(self._pos >= self.dataset_len))

    def padding_weights(self) -> torch.Tensor:
        """``(len(self),)`` float32: ``1`` for a real item, ``0`` for padding, in yield order.

        With a ``DataLoader(batch_size=B)`` over this sampler, batch ``b`` covers entries
        ``[b·B, (b + 1)·B)``.
        """
        return torch.from_numpy((self._pos < self.dataset_len).astype(np.float32))

    def __iter__(self) -> Iterator[int]:
        return iter((self._pos % self.dataset_len).tolist())
