"""Weighted data pipelines: datasets that carry weights, samplers, splits, augmentation policy.

Datasets yield ``(x, y, w)`` triples as Keras does (``w`` a float32 scalar or per-pixel map):

* :class:`WeightedDataset`, :func:`with_sample_weight`, :func:`weighted_collate`;
* :class:`AugmentedDataset`: ``copies`` augmented copies per item, each weighted ``w``
  (``"repeat"``) or ``w / copies`` (``"split"``).

Samplers (deterministic in ``(seed, epoch)``, DDP-aware, any length):

* :class:`WeightedSampler`: ``P(i) ∝ w_i`` with or without replacement, past torch's 2^24 limit;
* :class:`ClassBalancedSampler`: ``P(class c) ∝ n_c^power`` (balanced, square-root, instance);
* :class:`BalancedBatchSampler`: batches with equal counts of each of their classes;
* :class:`DistributedEvalSampler`: DDP evaluation whose padding carries weight 0.

Splits: :func:`stratified_split`.

Balance once: a class-balanced sampler together with class weights on the loss balances twice.

Example:
    >>> import torch
    >>> from torch.utils.data import DataLoader, TensorDataset
    >>> from weightwise.data import WeightedDataset, WeightedSampler
    >>> x, y = torch.randn(100, 3), torch.randint(0, 2, (100,))
    >>> w = torch.rand(100)
    >>> # either re-weight (w enters the loss) ...
    >>> loader = DataLoader(WeightedDataset(TensorDataset(x, y), w), batch_size=10, shuffle=True)
    >>> xb, yb, wb = next(iter(loader))
    >>> wb.shape, wb.dtype
    (torch.Size([10]), torch.float32)
    >>> # ... or re-sample (w decides what is drawn), never both with the same w
    >>> loader = DataLoader(TensorDataset(x, y), batch_size=10, sampler=WeightedSampler(w))
"""

from __future__ import annotations

from ._datasets import AugmentedDataset, WeightedDataset, weighted_collate, with_sample_weight
from ._samplers import (
    BalancedBatchSampler,
    ClassBalancedSampler,
    DistributedEvalSampler,
    WeightedSampler,
)
from ._split import stratified_split

__all__ = [
    "AugmentedDataset",
    "BalancedBatchSampler",
    "ClassBalancedSampler",
    "DistributedEvalSampler",
    "WeightedDataset",
    "WeightedSampler",
    "stratified_split",
    "weighted_collate",
    "with_sample_weight",
]
