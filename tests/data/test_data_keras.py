"""Keras 3 `fit` / `evaluate` on a torch DataLoader of (x, y, w) triples (torch backend)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # a dev dependency, imported after KERAS_BACKEND: fail, never skip

if keras.backend.backend() != "torch":
    pytest.skip("Keras is not on the torch backend", allow_module_level=True)

from weightwise.data import WeightedDataset

# Keras' torch backend calls np.array(x, copy=False) internally (its warning, not ours).
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def _data(n=16):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 3, generator=g), torch.randn(n, 1, generator=g)


def test_evaluate_uses_the_sample_weights():
    x, y = _data()
    w = np.linspace(0.0, 2.0, 16).astype(np.float32)
    loader = DataLoader(WeightedDataset(TensorDataset(x, y), w), batch_size=16)
    model = _model()
    got = model.evaluate(loader, verbose=0)
    pred = model.predict(x.numpy(), verbose=0)
    per = ((pred - y.numpy()) ** 2).mean(axis=1)
    assert got == pytest.approx(float((w * per).sum() / 16), rel=1e-5)  # sum_over_batch_size


def test_fit_with_zero_weights_leaves_the_model_unchanged():
    x, y = _data()
    zero = DataLoader(WeightedDataset(TensorDataset(x, y), np.zeros(16)), batch_size=8)
    one = DataLoader(WeightedDataset(TensorDataset(x, y), np.ones(16)), batch_size=8)
    model = _model()
    before = [v.numpy().copy() for v in model.weights]
    history = model.fit(zero, epochs=1, verbose=0, shuffle=False)
    assert history.history["loss"][-1] == 0.0
    for b, a in zip(before, model.weights, strict=True):
        np.testing.assert_array_equal(b, a.numpy())
    model.fit(one, epochs=1, verbose=0, shuffle=False)
    assert any(not np.array_equal(b, a.numpy()) for b, a in zip(before, model.weights, strict=True))
