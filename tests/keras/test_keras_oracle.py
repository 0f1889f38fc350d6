"""reduction="mean" equals Keras 3's losses with sample_weight (sum_over_batch_size)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from weightwise.losses import binary_cross_entropy, cross_entropy  # noqa: E402


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64)


@pytest.mark.parametrize("shape", [(16, 5), (4, 5, 3, 3)])
def test_sparse_categorical_crossentropy(shape):
    rng = np.random.default_rng(0)
    n, c, *rest = shape
    logits = rng.normal(size=shape).astype(np.float32)
    y = rng.integers(0, c, size=(n, *rest))
    w = rng.random(size=(n, *rest)).astype(np.float32)  # full per-element map
    s = rng.random(size=(n,)).astype(np.float32)  # per sample
    keras_logits = np.moveaxis(logits, 1, -1)  # Keras puts classes last
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    # Keras 3 refuses an (N,) weight against a per-pixel loss; ours broadcasts it left-aligned.
    for weight in (w, s) if not rest else (w,):
        ref = _np(loss(y, keras_logits, sample_weight=weight))
        ours = cross_entropy(
            torch.from_numpy(logits), torch.from_numpy(y), sample_weight=torch.from_numpy(weight)
        )
        assert ours.item() == pytest.approx(float(ref), rel=1e-5)


def test_categorical_crossentropy_soft_targets():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(12, 4)).astype(np.float32)
    t = rng.dirichlet(np.ones(4), size=12).astype(np.float32)
    s = rng.random(12).astype(np.float32)
    ref = _np(keras.losses.CategoricalCrossentropy(from_logits=True)(t, logits, sample_weight=s))
    ours = cross_entropy(
        torch.from_numpy(logits), torch.from_numpy(t), sample_weight=torch.from_numpy(s)
    )
    assert ours.item() == pytest.approx(float(ref), rel=1e-5)


def test_binary_crossentropy_multilabel():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(10, 6)).astype(np.float32)
    t = (rng.random((10, 6)) > 0.5).astype(np.float32)
    s = rng.random(10).astype(np.float32)
    # Keras averages over the last axis per sample, then Σ s·L / N: the same as Σ ω·L / (N·C).
    ref = _np(keras.losses.BinaryCrossentropy(from_logits=True)(t, logits, sample_weight=s))
    ours = binary_cross_entropy(
        torch.from_numpy(logits), torch.from_numpy(t), sample_weight=torch.from_numpy(s)
    )
    assert ours.item() == pytest.approx(float(ref), rel=1e-5)
