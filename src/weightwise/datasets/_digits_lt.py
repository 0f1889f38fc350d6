"""A long-tailed version of scikit-learn's bundled digits, split as the CIFAR-LT papers do."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["LongTailedData", "load_digits_lt", "long_tail_counts"]


@dataclass(frozen=True, eq=False)
class LongTailedData:
    """Train / validation / test arrays of a long-tailed classification problem.

    Attributes:
        X_train: ``(n_train, d)`` float32 features in ``[0, 1]``.
        y_train: ``(n_train,)`` int64 labels in ``[0, C)``.
        X_val: ``(C * val_per_class, d)`` float32, the same number of samples in every class.
        y_val: ``(C * val_per_class,)`` int64.
        X_test: ``(C * test_per_class, d)`` float32, balanced like the validation set.
        y_test: ``(C * test_per_class,)`` int64.
        class_names: ``C`` names; ``class_names[c]`` names label ``c``.
        counts: ``(C,)`` int64 number of training samples per class (``bincount(y_train)``).

    Example:
        >>> data = load_digits_lt(imbalance_ratio=10.0)
        >>> data.num_classes, int(data.counts[0]), int(data.counts[-1])
        (10, 114, 11)
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    counts: np.ndarray

    @property
    def num_classes(self) -> int:
        """Number of classes ``C``."""
        return len(self.class_names)


def long_tail_counts(n_max: int, num_classes: int, imbalance_ratio: float) -> np.ndarray:
    """Exponential long-tail profile ``n_i = max(1, floor(n_max · ρ^(-i/(C-1))))``.

    Class 0 is the head (``n_max`` samples) and class ``C-1`` the tail (about ``n_max / ρ``).
    This is the profile of Cui et al. (2019) and Cao et al. (2019) for CIFAR-10/100-LT.

    Args:
        n_max: samples in the head class, ``>= 1``.
        num_classes: ``C >= 1``. With ``C == 1`` the single class gets ``n_max``.
        imbalance_ratio: ``ρ >= 1``; ``ρ == 1`` gives a balanced set.

    Returns:
        ``(C,)`` int64 counts, non-increasing.

    Example:
        >>> long_tail_counts(100, 3, 100.0).tolist()
        [100, 10, 1]
    """
    _check_ratio(imbalance_ratio)
    if n_max < 1:
        raise ValueError(f"n_max must be >= 1, got {n_max}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    if num_classes == 1:
        return np.array([n_max], dtype=np.int64)
    counts = []
    for i in range(num_classes):
        exact = n_max * imbalance_ratio ** (-i / (num_classes - 1))
        # The small tolerance keeps values such as 100 · 10^-1 = 9.999999… at 10.
        counts.append(max(1, math.floor(exact + 1e-9)))
    return np.asarray(counts, dtype=np.int64)


def load_digits_lt(
    *,
    imbalance_ratio: float = 10.0,
    seed: int = 0,
    val_per_class: int = 30,
    test_per_class: int = 30,
) -> LongTailedData:
    """Load scikit-learn's 8x8 digits (1,797 images, 10 classes) with a long-tailed training set.

    The split follows the CIFAR-LT protocol: balanced held-out sets first, then a long-tailed
    training set.

    1. For every class, shuffle its samples with ``numpy.random.default_rng(seed)``, and take the
       first ``val_per_class`` for validation and the next ``test_per_class`` for test. Both sets
       are balanced.
    2. From what remains, class ``i`` keeps its first
       ``n_i = max(1, floor(n_max · ρ^(-i/(C-1))))`` samples for training, where
       ``n_max`` is the smallest remaining class size (so every class can supply its share) and
       ``ρ = imbalance_ratio``. Digit 0 is the head and digit 9 the tail. The rest is unused.

    With the defaults (30 + 30 held out per class, ``ρ = 10``) the training counts are
    ``[114, 88, 68, 52, 40, 31, 24, 19, 14, 11]`` (rounding down makes the realised ratio
    ``114 / 11 ≈ 10.4``), the validation and test sets hold 300 samples each.

    Within each split, samples keep the order of ``sklearn.datasets.load_digits``; shuffle in
    your data loader. The data ship with scikit-learn, so nothing is downloaded.

    Args:
        imbalance_ratio: ``ρ = n_head / n_tail`` before rounding, ``>= 1``.
        seed: seed of the NumPy generator; the same seed gives the same split.
        val_per_class: validation samples per class, ``>= 0``.
        test_per_class: test samples per class, ``>= 0``.

    Returns:
        A :class:`LongTailedData`: features ``(n, 64)`` float32 scaled from ``0..16`` to
        ``[0, 1]``, int64 labels, ``class_names = ("0", …, "9")`` and the training ``counts``.

    Raises:
        ValueError: ``imbalance_ratio < 1`` or not finite, a negative per-class size, or held-out
            sets that leave no training sample in some class.
        ImportError: scikit-learn is not installed (``pip install 'weightwise[cli]'``).

    Example:
        >>> data = load_digits_lt(imbalance_ratio=10.0, seed=0)
        >>> data.X_train.shape, data.counts.tolist()[:3]
        ((461, 64), [114, 88, 68])
    """
    _check_ratio(imbalance_ratio)
    for name, value in (("val_per_class", val_per_class), ("test_per_class", test_per_class)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")

    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "load_digits_lt needs scikit-learn: pip install 'weightwise[cli]'"
        ) from exc

    bunch = load_digits()
    features = np.asarray(bunch.data, dtype=np.float32) / np.float32(16.0)
    labels = np.asarray(bunch.target, dtype=np.int64)
    num_classes = int(labels.max()) + 1
    held_out = int(val_per_class) + int(test_per_class)

    rng = np.random.default_rng(seed)
    val_idx: list[np.ndarray] = []
    test_idx: list[np.ndarray] = []
    pools: list[np.ndarray] = []
    for c in range(num_classes):
        members = rng.permutation(np.flatnonzero(labels == c))
        if members.size <= held_out:
            raise ValueError(
                f"class {c} has {members.size} samples; holding out "
                f"{val_per_class} + {test_per_class} per class leaves none for training"
            )
        val_idx.append(members[:val_per_class])
        test_idx.append(members[val_per_class:held_out])
        pools.append(members[held_out:])

    n_max = min(pool.size for pool in pools)
    counts = long_tail_counts(n_max, num_classes, imbalance_ratio)
    train_idx = [pool[:n] for pool, n in zip(pools, counts.tolist(), strict=True)]

    def take(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        idx = np.sort(np.concatenate(parts))
        return features[idx], labels[idx]

    X_train, y_train = take(train_idx)
    X_val, y_val = take(val_idx)
    X_test, y_test = take(test_idx)
    return LongTailedData(
        X_train=X_train,
        y_train=y_train,
        X_val=X_val,
        y_val=y_val,
        X_test=X_test,
        y_test=y_test,
        class_names=tuple(str(c) for c in range(num_classes)),
        counts=np.bincount(y_train, minlength=num_classes).astype(np.int64),
    )


def _check_ratio(imbalance_ratio: float) -> None:
    try:
        ratio = float(imbalance_ratio)
    except (TypeError, ValueError):
        raise ValueError(
            f"imbalance_ratio must be a number >= 1, got {imbalance_ratio!r}"
        ) from None
    if not math.isfinite(ratio) or ratio < 1.0:
        raise ValueError(f"imbalance_ratio must be a finite number >= 1, got {imbalance_ratio!r}")
