"""Stratified splits that keep every class in every part where it can."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..weights._common import as_label_array, check_real
from ._common import check_nonnegative_int, make_rng

__all__ = ["class_part_sizes", "stratified_split"]


def class_part_sizes(n: int, fractions: Sequence[float]) -> list[int]:
    """How many of a class's ``n`` items go to each part.

    Algorithm: largest-remainder rounding of ``n · f_j`` (ties to the earlier part); then every
    part with ``f_j > 0`` left empty takes one item from the currently largest part (possible
    whenever ``n >=`` the number of non-zero fractions). With fewer items than non-zero
    fractions, the items fill the non-zero parts in order, one each.

    Example:
        >>> class_part_sizes(5, [0.8, 0.1, 0.1])
        [3, 1, 1]
        >>> class_part_sizes(2, [0.8, 0.1, 0.1])
        [1, 1, 0]
    """
    nz = [j for j, f in enumerate(fractions) if f > 0]
    sizes = [0] * len(fractions)
    if n < len(nz):
        for j in nz[:n]:
            sizes[j] = 1
        return sizes
    exact = [n * f for f in fractions]
    sizes = [math.floor(e) for e in exact]
    rest = n - sum(sizes)
    order = sorted(range(len(fractions)), key=lambda j: (-(exact[j] - sizes[j]), j))
    for j in order[:rest]:
        sizes[j] += 1
    for j in nz:
        if sizes[j] == 0:
            donor = max(range(len(sizes)), key=lambda i: (sizes[i], -i))
            sizes[donor] -= 1
            sizes[j] += 1
    return sizes


def stratified_split(
    labels: Any,
    *,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> list[np.ndarray]:
    """Split item indices into parts with the class proportions of ``labels``.

    Each class's items are shuffled (seeded by ``seed``) and cut into parts of the sizes
    :func:`class_part_sizes` gives: largest-remainder rounding per class, and every class in
    every part with a non-zero fraction when the class has enough items. A class with fewer
    items than non-zero fractions fills the parts in order, and a ``UserWarning`` names it.

    Sample weights travel with the indices: ``w[idx]`` for each part.

    Args:
        labels: ``(n,)`` integer class indices ``>= 0``.
        fractions: non-negative, summing to 1 (within 1e-6).
        seed: non-negative integer.

    Returns:
        One sorted int64 index array per fraction; together they partition ``range(n)``.

    Example:
        >>> import numpy as np
        >>> from weightwise.data import stratified_split
        >>> y = np.array([0] * 8 + [1] * 2)
        >>> train, val = stratified_split(y, fractions=(0.5, 0.5), seed=0)
        >>> np.bincount(y[train]).tolist(), np.bincount(y[val]).tolist()
        ([4, 1], [4, 1])
    """
    y = as_label_array(labels, "labels")
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D; got shape {y.shape}")
    fr = [check_real(f, f"fractions[{j}]") for j, f in enumerate(fractions)]
    if not fr:
        raise ValueError("fractions must hold at least one value; got ()")
    for j, f in enumerate(fr):
        if not (math.isfinite(f) and f >= 0):
            raise ValueError(f"fractions must be finite and non-negative; got {f!r} at index {j}")
    if abs(sum(fr) - 1.0) > 1e-6:
        raise ValueError(f"fractions must sum to 1; got a sum of {sum(fr)!r}")
    rng = make_rng(check_nonnegative_int(seed, "seed"), 0, 2)
    parts: list[list[np.ndarray]] = [[] for _ in fr]
    short: list[int] = []
    k = sum(f > 0 for f in fr)
    for c in np.unique(y).tolist():
        members = rng.permutation(np.flatnonzero(y == c))
        if members.shape[0] < k:
            short.append(int(c))
        start = 0
        for j, size in enumerate(class_part_sizes(members.shape[0], fr)):
            parts[j].append(members[start : start + size])
            start += size
    if short:
        warnings.warn(
            f"stratified_split: classes {short} have fewer items than the {k} non-zero "
            "fractions; their items fill the parts in order, so some parts lack them",
            UserWarning,
            stacklevel=2,
        )
    return [
        np.sort(np.concatenate(p)).astype(np.int64) if p else np.empty(0, np.int64) for p in parts
    ]
