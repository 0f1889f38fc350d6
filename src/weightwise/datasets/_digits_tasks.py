"""Multi-label and segmentation demos built from scikit-learn's bundled 8×8 digits.

Both compose new images from the real digit images (no download: the digits ship with
scikit-learn). The 1,797 source images are first split by class, 60/20/20 with
``numpy.random.default_rng(seed)``, into train, validation and test *pools*, so no digit image
appears in two splits. Each composed image then places digits drawn from its split's pool into
slots; digit ``c`` is drawn with probability ``∝ ρ^(−c/9)`` (``ρ = imbalance_ratio``), so digit
0 is the most frequent and digit 9 the rarest, in every split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._digits_lt import _check_ratio

__all__ = ["TaskSplits", "load_digits_multilabel", "load_digits_segmentation"]

#: Segmentation: a pixel of intensity at least this (of 16) is the digit's class; a pixel
#: strictly between 0 and it is left unlabelled (``ignore_index``); 0 is background.
INK = 6
IGNORE_INDEX = 255


@dataclass(frozen=True, eq=False)
class TaskSplits:
    """Train / validation / test arrays of a multi-label or segmentation demo.

    Multi-label: ``X_*`` ``(n, 8, 8·slots)`` float32 in ``[0, 1]``, ``Y_*`` ``(n, 10)`` int64
    0/1 (which digits the image shows). Segmentation: ``X_*`` ``(n, 1, 8·g, 8·g)`` float32,
    ``Y_*`` ``(n, 8·g, 8·g)`` int64 masks: 0 background, ``1 + d`` the ink of digit ``d``,
    ``ignore_index`` on faint pixels.
    """

    X_train: np.ndarray
    Y_train: np.ndarray
    X_val: np.ndarray
    Y_val: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray
    names: tuple[str, ...]
    ignore_index: int | None = None


def _pools(seed: int) -> tuple[np.ndarray, np.ndarray, list[list[np.ndarray]]]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the digits demos need scikit-learn: pip install 'weightwise[cli]'") \
            from exc  # fmt: skip
    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float64)  # (1797, 8, 8), values 0..16
    labels = np.asarray(bunch.target, dtype=np.int64)
    rng = np.random.default_rng(seed)
    pools: list[list[np.ndarray]] = [[], [], []]  # split -> digit -> indices
    for c in range(10):
        members = rng.permutation(np.flatnonzero(labels == c))
        a, b = round(0.6 * len(members)), round(0.8 * len(members))
        for split, part in enumerate((members[:a], members[a:b], members[b:])):
            pools[split].append(part)
    return images, labels, pools


def _digit_probs(imbalance_ratio: float, k: int = 10) -> np.ndarray:
    p = float(imbalance_ratio) ** (-np.arange(k) / max(k - 1, 1))
    return p / p.sum()


def load_digits_multilabel(
    *,
    imbalance_ratio: float = 20.0,
    seed: int = 0,
    slots: int = 3,
    empty: float = 0.3,
    sizes: tuple[int, int, int] = (1500, 500, 500),
) -> TaskSplits:
    """Which digits does the image show? A 10-label demo from real digit images.

    Each image is ``slots`` digit cells side by side (8 × 8·slots pixels). Every cell is left
    blank with probability ``empty`` (at least one cell holds a digit), else holds a random
    image of digit ``c`` from its split's pool, drawn with probability ``∝ ρ^(−c/9)``. The
    target marks the digits present (a digit shown twice is one label). With the defaults the
    label frequencies run from about 0.4 (digit 0) to 0.03 (digit 9).

    Args:
        imbalance_ratio: ``ρ``, the frequency ratio of digit 0 to digit 9 per cell, ``>= 1``.
        seed: seed of the pools and of the composition.
        slots, empty: cells per image and the chance that a cell is blank.
        sizes: images in train, validation and test.

    Example:
        >>> d = load_digits_multilabel(sizes=(20, 10, 10))
        >>> d.X_train.shape, d.Y_train.shape, d.names[:3]
        ((20, 8, 24), (20, 10), ('0', '1', '2'))
    """
    _check_ratio(imbalance_ratio)
    images, _, pools = _pools(seed)
    probs = _digit_probs(imbalance_ratio)
    rng = np.random.default_rng(seed + 1)
    out: list[np.ndarray] = []
    for split, n in enumerate(sizes):
        X = np.zeros((n, 8, 8 * slots), dtype=np.float32)
        Y = np.zeros((n, 10), dtype=np.int64)
        for i in range(n):
            filled = rng.random(slots) >= empty
            if not filled.any():
                filled[rng.integers(slots)] = True
            for s in np.flatnonzero(filled):
                d = int(rng.choice(10, p=probs))
                src = pools[split][d][rng.integers(len(pools[split][d]))]
                X[i, :, 8 * s : 8 * s + 8] = images[src] / 16.0
                Y[i, d] = 1
        out += [X, Y]
    return _splits(out, tuple(str(c) for c in range(10)), None)


def load_digits_segmentation(
    *,
    imbalance_ratio: float = 10.0,
    seed: int = 0,
    digits: int = 5,
    grid: int = 2,
    empty: float = 0.25,
    sizes: tuple[int, int, int] = (400, 200, 200),
) -> TaskSplits:
    """Label every pixel with the digit it belongs to: a (1 + ``digits``)-class segmentation
    demo (6 classes by default: background and digits 0–4).

    Each image is a ``grid × grid`` arrangement of 8×8 cells (16×16 pixels by default). A cell
    is blank with probability ``empty``, else holds a random image of digit ``d < digits`` from
    its split's pool, drawn with probability ``∝ ρ^(−d/(digits−1))``. The mask gives every pixel of
    intensity ``>= 6`` (of 16) class ``1 + d``, pixels of intensity 0 class 0 (background), and
    the faint pixels in between ``ignore_index = 255`` (their class is ambiguous, as on the
    boundaries of Pascal VOC masks). Background holds most pixels and the rare digits few.

    Example:
        >>> d = load_digits_segmentation(sizes=(8, 4, 4))
        >>> d.X_train.shape, d.Y_train.shape, d.names[:2], d.ignore_index
        ((8, 1, 16, 16), (8, 16, 16), ('background', 'digit 0'), 255)
    """
    _check_ratio(imbalance_ratio)
    images, _, pools = _pools(seed)
    if not 1 <= digits <= 10:
        raise ValueError(f"digits must be in 1..10, got {digits!r}")
    probs = _digit_probs(imbalance_ratio, digits)
    rng = np.random.default_rng(seed + 2)
    side = 8 * grid
    out: list[np.ndarray] = []
    for split, n in enumerate(sizes):
        X = np.zeros((n, 1, side, side), dtype=np.float32)
        Y = np.zeros((n, side, side), dtype=np.int64)
        for i in range(n):
            for cell in range(grid * grid):
                if rng.random() < empty:
                    continue
                d = int(rng.choice(digits, p=probs))
                src = images[pools[split][d][rng.integers(len(pools[split][d]))]]
                r, c = 8 * (cell // grid), 8 * (cell % grid)
                X[i, 0, r : r + 8, c : c + 8] = src / 16.0
                m = np.where(src >= INK, 1 + d, np.where(src > 0, IGNORE_INDEX, 0))
                Y[i, r : r + 8, c : c + 8] = m
        out += [X, Y]
    names = ("background", *(f"digit {d}" for d in range(digits)))
    return _splits(out, names, IGNORE_INDEX)


def _splits(out: list[np.ndarray], names: tuple[str, ...], ignore: int | None) -> TaskSplits:
    Xtr, Ytr, Xva, Yva, Xte, Yte = out
    return TaskSplits(Xtr, Ytr, Xva, Yva, Xte, Yte, names=names, ignore_index=ignore)
