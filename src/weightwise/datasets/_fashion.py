"""A long-tailed Fashion-MNIST from Debian's ``dataset-fashion-mnist`` package (no download)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from ._digits_lt import LongTailedData, _check_ratio, long_tail_counts

__all__ = ["FASHION_MNIST_DIR", "fashion_mnist_available", "load_fashion_mnist_lt"]

#: Where Debian's ``dataset-fashion-mnist`` package installs the IDX files.
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def fashion_mnist_available(root: Path | str = FASHION_MNIST_DIR) -> bool:
    """Whether the four IDX files of Fashion-MNIST are under ``root``."""
    return all((Path(root) / f).is_file() for f in _FILES.values())


def _read_idx(path: Path) -> np.ndarray:
    # IDX: big-endian magic (0, 0, dtype 0x08 = uint8, ndim), then ndim uint32 sizes, then data.
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(np.int64)
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(tuple(int(d) for d in dims))


def load_fashion_mnist_lt(
    *,
    imbalance_ratio: float = 100.0,
    seed: int = 0,
    max_per_class: int = 1000,
    val_per_class: int = 100,
    test_per_class: int = 300,
    root: Path | str = FASHION_MNIST_DIR,
) -> LongTailedData:
    """Fashion-MNIST-LT: long-tailed training split, balanced validation and test splits.

    The protocol of the CIFAR-LT papers (Cui et al. 2019, Cao et al. 2019): a balanced
    validation set of ``val_per_class`` images per class is held out of the official training
    set first; the training split then keeps ``n_i = max(1, floor(n_max · ρ^(-i/(C-1))))``
    images of class ``i`` from the rest, with ``n_max = max_per_class``; the balanced test set
    takes ``test_per_class`` images per class from the official test set. Pixels are scaled to
    ``[0, 1]`` and flattened to 784 float32 features.

    Needs Debian's ``dataset-fashion-mnist`` package
    (``apt-get install dataset-fashion-mnist``), which installs the files under
    ``/usr/share/datasets/fashion-mnist/``; nothing is downloaded.

    Example:
        >>> data = load_fashion_mnist_lt(imbalance_ratio=100.0)  # doctest: +SKIP
        >>> data.counts[0], data.counts[-1]  # doctest: +SKIP
        (1000, 10)
    """
    _check_ratio(imbalance_ratio)
    root = Path(root)
    if not fashion_mnist_available(root):
        raise FileNotFoundError(
            f"Fashion-MNIST not found under {root}; install Debian's package with "
            "'apt-get install dataset-fashion-mnist'"
        )
    for name, value in (
        ("max_per_class", max_per_class),
        ("val_per_class", val_per_class),
        ("test_per_class", test_per_class),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    x_tr = _read_idx(root / _FILES["train_images"])
    y_tr = _read_idx(root / _FILES["train_labels"]).astype(np.int64)
    x_te = _read_idx(root / _FILES["test_images"])
    y_te = _read_idx(root / _FILES["test_labels"]).astype(np.int64)
    num_classes = int(y_tr.max()) + 1
    counts = long_tail_counts(int(max_per_class), num_classes, imbalance_ratio)

    rng = np.random.default_rng(seed)
    train_idx, val_idx, test_idx = [], [], []
    for c in range(num_classes):
        members = rng.permutation(np.flatnonzero(y_tr == c))
        if members.size < val_per_class + counts[c]:
            raise ValueError(
                f"class {c} has {members.size} training images, fewer than "
                f"val_per_class + n_{c} = {val_per_class + counts[c]}"
            )
        val_idx.append(members[:val_per_class])
        train_idx.append(members[val_per_class : val_per_class + counts[c]])
        test_members = rng.permutation(np.flatnonzero(y_te == c))
        if test_members.size < test_per_class:
            raise ValueError(
                f"class {c} has {test_members.size} test images, fewer than {test_per_class}"
            )
        test_idx.append(test_members[:test_per_class])

    def take(images: np.ndarray, labels: np.ndarray, parts: list[np.ndarray]):  # type: ignore[no-untyped-def]
        idx = np.sort(np.concatenate(parts))
        x = images[idx].reshape(len(idx), -1).astype(np.float32) / np.float32(255.0)
        return x, labels[idx]

    X_train, y_train = take(x_tr, y_tr, train_idx)
    X_val, y_val = take(x_tr, y_tr, val_idx)
    X_test, y_test = take(x_te, y_te, test_idx)
    return LongTailedData(
        X_train=X_train,
        y_train=y_train,
        X_val=X_val,
        y_val=y_val,
        X_test=X_test,
        y_test=y_test,
        class_names=FASHION_CLASSES,
        counts=np.bincount(y_train, minlength=num_classes).astype(np.int64),
    )
