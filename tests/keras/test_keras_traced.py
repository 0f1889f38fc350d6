"""Every weightwise.keras loss inside Keras' compiled step (a TensorFlow graph with an unknown
batch dimension, a JAX ``jit``, torch eager) gives the value of the same loss called eagerly,
which test_keras_losses.py checks against the torch twins. Runs on every backend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

from keras_util import to_np64  # noqa: E402

from weightwise import keras as wk  # noqa: E402

RNG = np.random.default_rng(0)
N, H, W, C = 6, 3, 4, 3


def logits(*shape: int) -> np.ndarray:
    return (RNG.standard_normal(shape) * 2).astype(np.float32)


def labels(*shape: int, c: int = C) -> np.ndarray:
    return RNG.integers(0, c, size=shape).astype(np.int64)


def bits(*shape: int) -> np.ndarray:
    return (RNG.random(shape) > 0.5).astype(np.float32)


def per_sample() -> np.ndarray:
    w = RNG.uniform(0, 3, size=N).astype(np.float32)
    w[0] = 0.0
    return w


def per_pixel() -> np.ndarray:
    return RNG.uniform(0, 3, size=(N, H, W)).astype(np.float32)


CW = [1.0, 0.0, 2.5]
CASES: dict[str, Callable[[], tuple[Any, np.ndarray, np.ndarray, np.ndarray]]] = {
    "ce-sparse-cw-mean": lambda: (
        wk.CrossEntropy(from_logits=True, class_weight=CW),
        logits(N, C),
        labels(N),
        per_sample(),
    ),
    "ce-sparse1-weighted_mean-smooth": lambda: (
        wk.CrossEntropy(
            from_logits=True, class_weight=CW, label_smoothing=0.1, reduction="weighted_mean"
        ),
        logits(N, C),
        labels(N, 1),
        per_sample(),
    ),
    "ce-dense-ignore-nonzero": lambda: (
        wk.CrossEntropy(from_logits=True, ignore_class=2, reduction="nonzero_mean"),
        logits(N, H, W, C),
        labels(N, H, W),
        per_pixel(),
    ),
    "ce-dense-perSample": lambda: (
        wk.CrossEntropy(from_logits=True, class_weight=CW),
        logits(N, H, W, C),
        labels(N, H, W),
        per_sample(),
    ),
    "ce-onehot-probs": lambda: (
        wk.CrossEntropy(class_weight=CW, reduction="weighted_mean"),
        np.asarray(keras.ops.convert_to_numpy(keras.ops.softmax(logits(N, C)))),
        np.eye(C, dtype=np.float32)[labels(N)],
        per_sample(),
    ),
    "bce-multilabel": lambda: (
        wk.BinaryCrossEntropy(from_logits=True, pos_weight=[2.0, 1.0, 0.5], reduction="sum"),
        logits(N, C),
        bits(N, C),
        per_sample(),
    ),
    "bce-dense-pixelmap": lambda: (
        wk.BinaryCrossEntropy(from_logits=True, reduction="weighted_mean"),
        logits(N, H, W, 1),
        bits(N, H, W, 1),
        per_pixel(),
    ),
    "focal": lambda: (
        wk.Focal(from_logits=True, gamma=2.0, alpha=[0.25, 0.5, 0.25], class_weight=CW),
        logits(N, C),
        labels(N),
        per_sample(),
    ),
    "binary-focal": lambda: (
        wk.BinaryFocal(from_logits=True, reduction="weighted_mean"),
        logits(N, 1),
        bits(N, 1),
        per_sample(),
    ),
    "any-of": lambda: (
        wk.AnyOf(from_logits=True, mode="max"),
        logits(N, C),
        np.maximum(np.eye(C, dtype=np.float32)[labels(N)], np.eye(C, dtype=np.float32)[[0] * N]),
        per_sample(),
    ),
    "logit-adjusted": lambda: (
        wk.LogitAdjusted(from_logits=True, counts=[50, 30, 20], class_weight=CW),
        logits(N, C),
        labels(N),
        per_sample(),
    ),
    "dice-multiclass-pixel": lambda: (
        wk.Dice(from_logits=True),
        logits(N, H, W, C),
        labels(N, H, W),
        per_pixel(),
    ),
    "dice-binary-sample": lambda: (
        wk.Dice(mode="binary", from_logits=True, pooling="batch"),
        logits(N, H, W, 1),
        bits(N, H, W),
        per_sample(),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_loss_in_compiled_step_equals_eager_call(case: str) -> None:
    loss, pred, target, weight = CASES[case]()
    model = keras.Sequential([keras.Input(pred.shape[1:]), keras.layers.Identity()])
    model.compile(loss=loss)
    got = model.evaluate(pred, target, sample_weight=weight, batch_size=N, verbose=0)
    want = to_np64(loss(target, pred, sample_weight=weight))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
