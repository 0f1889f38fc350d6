"""Datasets that yield ``(x, y, w)`` triples, as Keras does, and a collate that keeps ``w``.

``w`` is always a float32 tensor: a scalar per item (collated to ``(B,)``) or a per-pixel map
(collated to ``(B, H, W)``), which :mod:`weightwise.losses` accept as ``sample_weight``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.utils.data import Dataset, default_collate

from .._checks import as_float64_array, check_finite_nonnegative
from ._common import check_positive_int

__all__ = [
    "AugmentedDataset",
    "WeightedDataset",
    "weighted_collate",
    "with_sample_weight",
]

WEIGHT_POLICIES: tuple[str, ...] = ("repeat", "split")


def _split_item(item: Any, i: int, *, allow_weight: bool) -> tuple[Any, Any, Any]:
    """``(x, y, w_or_None)`` from a dataset item, or a ``ValueError`` saying what it got."""
    if isinstance(item, (tuple, list)):
        if len(item) == 2:
            return item[0], item[1], None
        if len(item) == 3:
            if not allow_weight:
                raise ValueError(
                    f"dataset already yields (x, y, w) triples (item {i}); WeightedDataset "
                    "would weight twice. Use with_sample_weight(dataset, fn) to combine weights"
                )
            return item[0], item[1], item[2]
        raise ValueError(
            f"dataset must yield (x, y) pairs or (x, y, w) triples; got a {type(item).__name__} "
            f"of length {len(item)} at index {i}"
        )
    raise ValueError(
        f"dataset must yield (x, y) pairs or (x, y, w) triples; got {type(item).__name__} at "
        f"index {i}"
    )


def _as_weight(w: Any, name: str) -> torch.Tensor:
    if isinstance(w, torch.Tensor):
        t = w.detach().to(torch.float32)
    else:
        t = torch.from_numpy(as_float64_array(w, name)).to(torch.float32)
    check_finite_nonnegative(t, name, force=True)
    return t


class WeightedDataset(Dataset[tuple[Any, Any, torch.Tensor]]):
    """Wrap a dataset of ``(x, y)`` pairs to yield ``(x, y, w)`` with ``w = sample_weight[i]``.

    Shapes:
        ``sample_weight`` is ``(N,)`` (one weight per item) or ``(N, d…)`` (a per-pixel map per
        item), ``N = len(dataset)``. Item ``i``'s ``w`` is a float32 tensor of shape ``()`` or
        ``(d…)``; batches collate to ``(B,)`` or ``(B, d…)``.

    The weights are validated once (finite and non-negative; a ``ValueError`` names the index
    and value). Item 0 is read at construction: a dataset that already yields ``(x, y, w)``
    triples is refused (use :func:`with_sample_weight` to combine weights).

    Example:
        >>> import torch
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> from weightwise.data import WeightedDataset
        >>> base = TensorDataset(torch.randn(4, 3), torch.tensor([0, 1, 0, 1]))
        >>> ds = WeightedDataset(base, [1.0, 2.0, 1.0, 2.0])
        >>> x, y, w = next(iter(DataLoader(ds, batch_size=4)))
        >>> w
        tensor([1., 2., 1., 2.])
    """

    def __init__(self, dataset: Any, sample_weight: Any) -> None:
        n = len(dataset)
        w = _as_weight(sample_weight, "sample_weight")
        if w.dim() == 0 or w.shape[0] != n:
            raise ValueError(
                f"sample_weight must have one entry per item, shape ({n}, ...); got shape "
                f"{tuple(w.shape)}"
            )
        if n:
            _split_item(dataset[0], 0, allow_weight=False)
        self.dataset = dataset
        self.sample_weight = w

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[Any, Any, torch.Tensor]:
        x, y, _ = _split_item(self.dataset[i], i, allow_weight=False)
        return x, y, self.sample_weight[i]


class _FnWeightedDataset(Dataset[tuple[Any, Any, torch.Tensor]]):
    def __init__(self, dataset: Any, fn: Callable[[Any, Any], Any]) -> None:
        self.dataset = dataset
        self.fn = fn

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[Any, Any, torch.Tensor]:
        x, y, w0 = _split_item(self.dataset[i], i, allow_weight=True)
        w = _as_weight(self.fn(x, y), f"sample weight returned by fn for item {i}")
        if w0 is not None:
            w = w * _as_weight(w0, f"sample weight of item {i}")
        return x, y, w


def with_sample_weight(dataset: Any, fn: Callable[[Any, Any], Any]) -> Dataset[Any]:
    """A dataset yielding ``(x, y, fn(x, y))``, or ``(x, y, w · fn(x, y))`` when ``dataset``
    already yields ``(x, y, w)`` triples (weights combine by product).

    ``fn`` returns a scalar or a per-pixel map; the result is a float32 tensor, checked finite
    and non-negative.

    Example:
        >>> import torch
        >>> from torch.utils.data import TensorDataset
        >>> from weightwise.data import with_sample_weight
        >>> base = TensorDataset(torch.zeros(3, 2), torch.tensor([0, 1, 1]))
        >>> ds = with_sample_weight(base, lambda x, y: 3.0 if y == 1 else 1.0)
        >>> ds[1][2]
        tensor(3.)
    """
    if not callable(fn):
        raise ValueError(f"fn must be callable as fn(x, y); got {type(fn).__name__}")
    return _FnWeightedDataset(dataset, fn)


def weighted_collate(batch: Sequence[Any]) -> tuple[Any, Any, torch.Tensor]:
    """Collate ``(x, y, w)`` items: ``x`` and ``y`` by ``default_collate``, ``w`` stacked as a
    float32 tensor ``(B,)`` (scalar weights) or ``(B, d…)`` (per-pixel maps).

    Python floats, NumPy values and tensors of any dtype are accepted for ``w``.

    Example:
        >>> import torch
        >>> x, y, w = weighted_collate([(torch.zeros(2), 0, 1), (torch.ones(2), 1, 0.5)])
        >>> w
        tensor([1.0000, 0.5000])
    """
    if len(batch) == 0:
        raise ValueError("batch must not be empty")
    xs, ys, ws = [], [], []
    for i, item in enumerate(batch):
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise ValueError(f"batch items must be (x, y, w) triples; got {item!r} at index {i}")
        xs.append(item[0])
        ys.append(item[1])
        ws.append(torch.as_tensor(item[2], dtype=torch.float32))
    return default_collate(xs), default_collate(ys), torch.stack(ws)


class AugmentedDataset(Dataset[tuple[Any, Any, torch.Tensor]]):
    """Each base item appears ``copies`` times through ``transform``, with a weight policy.

    Item ``i`` is copy ``i % copies`` of base item ``i // copies``: ``(transform(x), y, w')``
    with ``w' = w`` (``"repeat"``) or ``w' = w / copies`` (``"split"``: the copies of an item
    sum to its original weight). A base ``(x, y)`` pair has ``w = 1``; a base ``(x, y, w)``
    triple keeps its ``w`` (scalar or per-pixel). ``transform`` receives ``x`` only, and is
    called afresh on every access (random augmentations differ between copies and epochs).
    ``len = copies · len(dataset)``.

    Example:
        >>> import torch
        >>> from torch.utils.data import TensorDataset
        >>> from weightwise.data import AugmentedDataset
        >>> base = TensorDataset(torch.zeros(2, 3), torch.tensor([0, 1]))
        >>> ds = AugmentedDataset(base, lambda x: x + 1, copies=4, weight_policy="split")
        >>> len(ds), ds[5][1].item(), ds[5][2].item()
        (8, 1, 0.25)
    """

    def __init__(
        self,
        dataset: Any,
        transform: Callable[[Any], Any],
        *,
        copies: int,
        weight_policy: str = "repeat",
    ) -> None:
        if not callable(transform):
            raise ValueError(f"transform must be callable; got {type(transform).__name__}")
        self.copies = check_positive_int(copies, "copies")
        if weight_policy not in WEIGHT_POLICIES:
            raise ValueError(f"weight_policy must be 'repeat' or 'split'; got {weight_policy!r}")
        self.weight_policy = weight_policy
        self.dataset = dataset
        self.transform = transform

    def __len__(self) -> int:
        return self.copies * len(self.dataset)

    def __getitem__(self, i: int) -> tuple[Any, Any, torch.Tensor]:
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"index {i} out of range for AugmentedDataset of length {n}")
        base = i // self.copies
        x, y, w0 = _split_item(self.dataset[base], base, allow_weight=True)
        w = (
            torch.tensor(1.0, dtype=torch.float32)
            if w0 is None
            else _as_weight(w0, f"sample weight of item {base}")
        )
        if self.weight_policy == "split":
            w = w / self.copies
        return self.transform(x), y, w
