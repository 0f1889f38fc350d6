"""The multi-label and segmentation demos: built from scikit-learn's digits as documented."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from weightwise.datasets._digits_tasks import (
    IGNORE_INDEX,
    INK,
    load_digits_multilabel,
    load_digits_segmentation,
)

_D = load_digits()
_LOOKUP = {img.astype(np.int64).tobytes(): (i, int(t)) for i, (img, t) in
           enumerate(zip(_D.images, _D.target, strict=True))}  # fmt: skip


def _source(cell: np.ndarray) -> tuple[int, int] | None:
    """(index, digit) of the scikit-learn image a cell was copied from, None for a blank."""
    if not cell.any():
        return None
    return _LOOKUP[np.round(cell * 16).astype(np.int64).tobytes()]


def test_multilabel_labels_are_the_digits_shown_and_splits_share_no_image():
    d = load_digits_multilabel(sizes=(120, 60, 60))
    used = []
    for X, Y in ((d.X_train, d.Y_train), (d.X_val, d.Y_val), (d.X_test, d.Y_test)):
        assert X.shape[1:] == (8, 24) and Y.shape[1] == 10
        seen = set()
        for x, y in zip(X, Y, strict=True):
            cells = [_source(x[:, 8 * s : 8 * s + 8]) for s in range(3)]
            shown = {c[1] for c in cells if c is not None}
            assert shown and shown == set(np.flatnonzero(y).tolist())
            seen |= {c[0] for c in cells if c is not None}
        used.append(seen)
    assert not (used[0] & used[1]) and not (used[0] & used[2]) and not (used[1] & used[2])
    # Long-tailed: digit 0 far more frequent than digit 9.
    assert d.Y_train[:, 0].sum() > 5 * d.Y_train[:, 9].sum()


def test_segmentation_masks_follow_the_ink_rule():
    d = load_digits_segmentation(sizes=(40, 10, 10))
    assert d.X_train.shape == (40, 1, 16, 16) and d.ignore_index == IGNORE_INDEX
    for x, m in zip(d.X_train[:, 0], d.Y_train, strict=True):
        for r in (0, 8):
            for c in (0, 8):
                cell, mask = x[r : r + 8, c : c + 8], m[r : r + 8, c : c + 8]
                src = _source(cell)
                v = np.round(cell * 16)
                if src is None:
                    assert (mask == 0).all()
                    continue
                want = np.where(v >= INK, 1 + src[1], np.where(v > 0, IGNORE_INDEX, 0))
                np.testing.assert_array_equal(mask, want)
    assert set(np.unique(d.Y_train)) <= {0, 1, 2, 3, 4, 5, IGNORE_INDEX}


def test_same_seed_same_data_and_bad_arguments():
    a, b = load_digits_segmentation(sizes=(5, 2, 2)), load_digits_segmentation(sizes=(5, 2, 2))
    np.testing.assert_array_equal(a.Y_train, b.Y_train)
    with pytest.raises(ValueError, match="imbalance_ratio"):
        load_digits_multilabel(imbalance_ratio=0.5)
    with pytest.raises(ValueError, match=r"digits must be in 1\.\.10"):
        load_digits_segmentation(digits=11)
