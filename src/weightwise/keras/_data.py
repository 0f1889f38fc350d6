"""``WeightedPyDataset``: ``(x, y, w)`` batches for ``fit`` on every backend."""

from __future__ import annotations

from typing import Any

import numpy as np

import keras

from .._checks import check_positive_int
from ._common import to_numpy

__all__ = ["WeightedPyDataset"]


def _take(x: Any, idx: np.ndarray) -> Any:
    if isinstance(x, dict):
        return {k: _take(v, idx) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_take(v, idx) for v in x)
    return x[idx]


def _length(x: Any) -> int:
    if isinstance(x, dict):
        return _length(next(iter(x.values())))
    if isinstance(x, (list, tuple)):
        return _length(x[0])
    return len(x)


class WeightedPyDataset(keras.utils.PyDataset):
    """A :class:`keras.utils.PyDataset` of ``(x, y, w)`` batches, optionally drawn by a sampler.

    Args:
        x: inputs: an array, or a list / dict of arrays with the same first dimension.
        y: targets, first dimension ``N``.
        sample_weight: ``(N,)`` weights (or a per-pixel ``(N, d...)`` map), or ``None`` for
            ``(x, y)`` batches. Checked to be finite and non-negative.
        batch_size: items per batch.
        sampler: ``None`` (every item once per epoch, in order or shuffled), or a weightwise
            sampler (:class:`weightwise.data.WeightedSampler`, ``ClassBalancedSampler``, ...)
            or any iterable of indices; a batch sampler such as ``BalancedBatchSampler``
            (yielding lists of indices) gives the batches directly. A fresh draw is taken
            at every epoch (the samplers advance their epoch on each iteration).
        shuffle: reshuffle every epoch when there is no sampler.
        seed: seed for ``shuffle``.
        **kwargs: ``workers``, ``use_multiprocessing``, ``max_queue_size`` for ``PyDataset``.

    Balancing happens once: a sampler that draws by class frequency and a class-balanced
    ``sample_weight`` together balance twice. Pass ``sample_weight=None`` (or weights that
    carry only what the sampler does not) when drawing through a balancing sampler.

    Example:
        >>> ds = WeightedPyDataset(x, y, w, batch_size=32)   # doctest: +SKIP
        >>> model.fit(ds, epochs=3)                          # doctest: +SKIP
    """

    def __init__(
        self,
        x: Any,
        y: Any,
        sample_weight: Any = None,
        batch_size: int = 32,
        sampler: Any = None,
        *,
        shuffle: bool = False,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        batch_size = check_positive_int(batch_size, "batch_size")
        n = _length(x)
        if len(y) != n:
            raise ValueError(f"y must have {n} items, like x; got {len(y)}")
        w = None
        if sample_weight is not None:
            raw = sample_weight
            if hasattr(raw, "shape") and not isinstance(raw, np.ndarray):
                raw = to_numpy(raw)
            w = np.asarray(raw, dtype=np.float32)
            if w.ndim == 0 or w.shape[0] != n:
                raise ValueError(
                    f"sample_weight must have {n} rows, one per item; got shape {w.shape}"
                )
            bad = ~np.isfinite(w) | (w < 0)
            if bad.any():
                pos = int(np.flatnonzero(bad.reshape(-1))[0])
                raise ValueError(
                    f"sample_weight must be finite and non-negative; got "
                    f"{w.reshape(-1)[pos].item()!r} at index {pos}"
                )
        self.x, self.y, self.sample_weight = x, y, w
        self.batch_size = int(batch_size)
        self.sampler = sampler
        self.shuffle = bool(shuffle)
        self._n = n
        self._rng = np.random.default_rng(seed)
        self._batches: list[np.ndarray] = []
        self._draw()

    def _draw(self) -> None:
        if self.sampler is None:
            order = self._rng.permutation(self._n) if self.shuffle else np.arange(self._n)
            self._batches = [
                order[i : i + self.batch_size] for i in range(0, self._n, self.batch_size)
            ]
            return
        drawn = list(iter(self.sampler))
        if drawn and isinstance(drawn[0], (list, tuple, np.ndarray)):  # a batch sampler
            self._batches = [np.asarray(b, dtype=np.int64) for b in drawn]
            return
        order = np.asarray([int(i) for i in drawn], dtype=np.int64)
        self._batches = [
            order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)
        ]

    def __len__(self) -> int:
        return len(self._batches)

    @property
    def num_batches(self) -> int:
        return len(self._batches)

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        if not 0 <= index < len(self._batches):
            raise IndexError(f"batch index {index} out of range [0, {len(self._batches)})")
        idx = self._batches[index]
        xb, yb = _take(self.x, idx), _take(self.y, idx)
        if self.sample_weight is None:
            return xb, yb
        return xb, yb, self.sample_weight[idx]

    def on_epoch_end(self) -> None:
        # A fresh order / draw for the next epoch (same count, so len() stays valid).
        self._draw()
