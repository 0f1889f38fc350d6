"""What Keras refuses, composed with weightwise.keras, on every backend: class x sample weights
together, per-output class weights, class weights for per-timestep targets, and validation loss
and metrics weighted as training is. Oracles: the torch twin (weightwise.losses, itself checked
against PyTorch) and scikit-learn."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

from keras_util import to_np  # noqa: E402

from weightwise import keras as wk  # noqa: E402
from weightwise.losses import cross_entropy  # noqa: E402


def twin(logits: np.ndarray, y: np.ndarray, **kw: Any) -> float:
    """The torch twin on channels-last logits."""
    t = torch.from_numpy(np.ascontiguousarray(np.moveaxis(logits, -1, 1)))
    kw = {k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    return float(cross_entropy(t, torch.from_numpy(y), **kw))


@pytest.mark.parametrize("reduction", ["mean", "weighted_mean"])
@pytest.mark.parametrize("targets", ["per_sample", "per_timestep"])
def test_class_times_sample_weights_train_as_the_torch_twin(reduction: str, targets: str) -> None:
    rng = np.random.default_rng(0)
    n, t, f, c = 12, 5, 3, 3
    shape = (n, f) if targets == "per_sample" else (n, t, f)
    x = rng.normal(size=shape).astype(np.float32)
    y = rng.integers(0, c, size=shape[:-1])
    s = rng.uniform(0, 2, size=n).astype(np.float32)  # one weight per sample (also for (N, T))
    s[1] = 0.0
    cw = np.array([1.0, 4.0, 0.5], np.float32)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape[1:]), keras.layers.Dense(c)])
    logits = to_np(model(x))
    model.compile(
        optimizer=keras.optimizers.SGD(0.5),
        loss=wk.CrossEntropy(from_logits=True, class_weight=cw, reduction=reduction),
    )
    hist = model.fit(x, y, sample_weight=s, batch_size=n, epochs=1, verbose=0)
    second = twin(to_np(model(x)), y, sample_weight=s, class_weight=cw, reduction=reduction)
    hist2 = model.fit(x, y, sample_weight=s, batch_size=n, epochs=1, verbose=0)
    hist.history["loss"] += hist2.history["loss"]
    first = twin(logits, y, sample_weight=s, class_weight=cw, reduction=reduction)
    np.testing.assert_allclose(hist.history["loss"][0], first, rtol=1e-5)
    # epoch 2's loss is computed on the model epoch 1 left: the twin's value there too
    np.testing.assert_allclose(hist.history["loss"][1], second, rtol=1e-5)


def test_per_output_class_weights() -> None:
    rng = np.random.default_rng(1)
    n, f = 16, 4
    x = rng.normal(size=(n, f)).astype(np.float32)
    ya = rng.integers(0, 3, size=n)
    yb = rng.integers(0, 2, size=n)
    s = rng.uniform(0, 2, size=n).astype(np.float32)
    cwa, cwb = np.array([1.0, 2.0, 0.0], np.float32), np.array([0.25, 3.0], np.float32)
    keras.utils.set_random_seed(0)
    inp = keras.Input((f,))
    model = keras.Model(
        inp, {"a": keras.layers.Dense(3, name="a")(inp), "b": keras.layers.Dense(2, name="b")(inp)}
    )
    out = model(x)
    la, lb = to_np(out["a"]), to_np(out["b"])
    model.compile(
        optimizer="sgd",
        loss={
            "a": wk.CrossEntropy(from_logits=True, class_weight=cwa),
            "b": wk.CrossEntropy(from_logits=True, class_weight=cwb, reduction="weighted_mean"),
        },
    )
    hist = model.fit(x, {"a": ya, "b": yb}, sample_weight={"a": s, "b": s}, batch_size=n, verbose=0)
    want = twin(la, ya, sample_weight=s, class_weight=cwa) + twin(
        lb, yb, sample_weight=s, class_weight=cwb, reduction="weighted_mean"
    )
    np.testing.assert_allclose(hist.history["loss"][0], want, rtol=1e-5)


def test_validation_loss_and_metrics_weighted_as_training() -> None:
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    y = (x[:, 0] + 0.5 * rng.normal(size=40) > 0.4).astype(np.int64)
    xv, yv = x[:15], y[:15]
    wv = rng.uniform(0.2, 2, size=15).astype(np.float32)
    cw = {0: 1.0, 1: 3.0}
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss=wk.CrossEntropy(from_logits=True, class_weight=cw))
    cb = wk.WeightedValidation((xv, yv, wv), metrics=["accuracy"], class_weight=cw)
    hist = model.fit(
        x,
        y,
        epochs=1,
        batch_size=8,
        verbose=0,
        validation_data=(xv, yv, wv),
        validation_batch_size=15,
        callbacks=[cb],
    )
    logits = to_np(model(xv))
    cwv = np.array([1.0, 3.0], np.float32)
    # Keras' own val_loss: the class weight rides in the loss, the sample weight in the data
    want = twin(logits, yv, sample_weight=wv, class_weight=cwv)
    np.testing.assert_allclose(hist.history["val_loss"][-1], want, rtol=1e-5)
    # and the metrics, weighted by w·class_weight[y] as training weights each sample
    pred = logits.argmax(-1)
    s_cw = wv * cwv[yv]
    np.testing.assert_allclose(
        hist.history["val_weighted_accuracy"][-1],
        sk.accuracy_score(yv, pred, sample_weight=s_cw),
        rtol=1e-6,
    )
    np.testing.assert_allclose(hist.history["val_accuracy"][-1], sk.accuracy_score(yv, pred))


def test_class_key_that_is_not_a_class_is_an_error() -> None:
    with pytest.raises(ValueError, match="outside \\[0, 2\\): 4"):
        wk.CrossEntropy(class_weight={0: 1.0, 1: 1.0, 4: 2.0})(
            np.array([0, 1]), np.zeros((2, 2), np.float32)
        )
    with pytest.raises(ValueError, match="no entry for class 1"):
        wk.CrossEntropy(class_weight={0: 1.0, 2: 1.0})(
            np.array([0, 1]), np.full((2, 3), 1 / 3, np.float32)
        )
