"""weightwise.keras inside ``model.fit``: how fit's sample weights enter, the validation
callback, WeightedPyDataset, class_weight_dict and the import rules."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

from keras_util import to_np  # noqa: E402

from weightwise import keras as wk  # noqa: E402
from weightwise.losses import cross_entropy  # noqa: E402


def linear_model(in_dim: int, out: int, dense_input: tuple[int, ...] = ()) -> Any:
    keras.utils.set_random_seed(0)
    inp = keras.Input(shape=(*dense_input, in_dim))
    model = keras.Model(inp, keras.layers.Dense(out)(inp))
    return model


def one_sgd_step_delta(model: Any, loss: Any, fit_args: dict[str, Any]) -> list[np.ndarray]:
    """Kernel and bias change after one full-batch SGD step with learning rate 1."""
    before = [to_np(v).copy() for v in model.trainable_variables]
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss=loss)
    model.fit(epochs=1, verbose=0, shuffle=False, **fit_args)
    return [to_np(v) - b for v, b in zip(model.trainable_variables, before, strict=True)]


def torch_grad(
    kernel: np.ndarray, bias: np.ndarray, x: np.ndarray, y: np.ndarray, **kw: Any
) -> list[np.ndarray]:
    k = torch.tensor(kernel, requires_grad=True)
    b = torch.tensor(bias, requires_grad=True)
    logits = torch.from_numpy(x) @ k + b  # channels last
    logits = logits.movedim(-1, 1)
    cross_entropy(logits, torch.from_numpy(y), fused=False, **kw).backward()
    assert k.grad is not None and b.grad is not None
    return [k.grad.numpy(), b.grad.numpy()]


@pytest.mark.parametrize("reduction", ["mean", "weighted_mean", "nonzero_mean", "sum"])
@pytest.mark.parametrize("route", ["arrays", "class_weight", "pydataset"])
def test_fit_sample_weight_enters_as_the_contract_says(route: str, reduction: str) -> None:
    rng = np.random.default_rng(0)
    n, f, c = 16, 3, 3
    x = rng.standard_normal((n, f)).astype(np.float32)
    y = rng.integers(0, c, size=n)
    y[:3] = [0, 1, 2]
    cw = {0: 0.0, 1: 2.0, 2: 0.5}
    w = rng.uniform(0, 2, size=n).astype(np.float32)
    w[2] = 0.0
    model = linear_model(f, c)
    kernel, bias = (to_np(v).copy() for v in model.trainable_variables)
    loss = wk.CrossEntropy(from_logits=True, reduction=reduction)
    if route == "arrays":
        args: dict[str, Any] = {"x": x, "y": y, "sample_weight": w, "batch_size": n}
        s = w
    elif route == "class_weight":
        args = {"x": x, "y": y, "class_weight": cw, "batch_size": n}
        s = np.array([cw[int(k)] for k in y], dtype=np.float32)
    else:
        args = {"x": wk.WeightedPyDataset(x, y, w, batch_size=n)}
        s = w
    delta = one_sgd_step_delta(model, loss, args)
    grads = torch_grad(kernel, bias, x, y, sample_weight=torch.from_numpy(s), reduction=reduction)
    for d, g in zip(delta, grads, strict=True):
        np.testing.assert_allclose(d, -g, rtol=1e-5, atol=1e-6)


def test_fit_per_pixel_weights_dense() -> None:
    rng = np.random.default_rng(1)
    n, h, wd, f, c = 3, 4, 5, 2, 3
    x = rng.standard_normal((n, h, wd, f)).astype(np.float32)
    y = rng.integers(0, c, size=(n, h, wd))
    pix = rng.uniform(0, 3, size=(n, h, wd)).astype(np.float32)
    model = linear_model(f, c, dense_input=(h, wd))
    kernel, bias = (to_np(v).copy() for v in model.trainable_variables)
    loss = wk.CrossEntropy(from_logits=True, class_weight=[1.0, 3.0, 0.5])
    delta = one_sgd_step_delta(model, loss, {"x": x, "y": y, "sample_weight": pix, "batch_size": n})
    grads = torch_grad(
        kernel,
        bias,
        x,
        y,
        sample_weight=torch.from_numpy(pix),
        class_weight=torch.tensor([1.0, 3.0, 0.5]),
    )
    for d, g in zip(delta, grads, strict=True):
        np.testing.assert_allclose(d, -g, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="torch DataLoader needs torch")
def test_fit_from_torch_dataloader_of_weighted_dataset() -> None:
    try:
        from weightwise.data import WeightedDataset
    except ImportError as err:  # pragma: no cover
        pytest.skip(f"weightwise.data.WeightedDataset is not available: {err}")
    rng = np.random.default_rng(2)
    n, f, c = 12, 3, 2
    x = rng.standard_normal((n, f)).astype(np.float32)
    y = rng.integers(0, c, size=n)
    w = rng.uniform(0, 2, size=n).astype(np.float32)
    base = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    loader = torch.utils.data.DataLoader(WeightedDataset(base, w), batch_size=n)
    model = linear_model(f, c)
    kernel, bias = (to_np(v).copy() for v in model.trainable_variables)
    delta = one_sgd_step_delta(
        model, wk.CrossEntropy(from_logits=True, reduction="weighted_mean"), {"x": loader}
    )
    grads = torch_grad(
        kernel, bias, x, y, sample_weight=torch.from_numpy(w), reduction="weighted_mean"
    )
    for d, g in zip(delta, grads, strict=True):
        np.testing.assert_allclose(d, -g, rtol=1e-5, atol=1e-6)


# ---- WeightedValidation --------------------------------------------------------------------


def test_zero_class_weights_train_nothing_but_validation_still_sees_loss() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    xv, yv = x[:10], y[:10]
    model = linear_model(4, 2)
    before = [to_np(v).copy() for v in model.trainable_variables]
    model.compile(optimizer="adam", loss=wk.CrossEntropy(from_logits=True))
    cb = wk.WeightedValidation((xv, yv), class_weight={0: 0.0, 1: 0.0})
    hist = model.fit(
        x, y, class_weight={0: 0.0, 1: 0.0}, epochs=2, batch_size=8, verbose=0, callbacks=[cb]
    )
    assert hist.history["loss"] == [0.0, 0.0]
    assert hist.history["val_loss_class_weighted"] == [0.0, 0.0]
    assert all(v > 0.1 for v in hist.history["val_loss_unweighted"])
    for v, b in zip(model.trainable_variables, before, strict=True):
        np.testing.assert_array_equal(to_np(v), b)


def test_callback_values_match_keras_and_sklearn() -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((60, 4)).astype(np.float32)
    y = (x[:, 0] + 0.5 * rng.standard_normal(60) > 0.3).astype(np.int64)
    xv, yv = x[:25], y[:25]
    wv = rng.uniform(0, 2, size=25).astype(np.float32)
    model = linear_model(4, 2)
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer="adam", loss=keras_loss)
    cw = {0: 1.0, 1: 3.0}
    cb = wk.WeightedValidation(
        (xv, yv, wv), metrics=["accuracy", "recall"], class_weight=cw, from_logits=True
    )
    hist = model.fit(
        x,
        y,
        epochs=1,
        batch_size=10,
        verbose=0,
        callbacks=[cb],
        validation_data=(xv, yv, wv),
        validation_batch_size=25,
    )
    logs = {k: v[-1] for k, v in hist.history.items()}
    # Keras' own val_loss with (x, y, w) validation data is the weighted one.
    np.testing.assert_allclose(logs["val_loss_weighted"], logs["val_loss"], rtol=1e-5)
    logits = to_np(model(xv))
    per = to_np(
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")(yv, logits)
    )
    np.testing.assert_allclose(logs["val_loss_unweighted"], per.mean(), rtol=1e-5)
    s_cw = wv * np.array([cw[int(k)] for k in yv])
    np.testing.assert_allclose(logs["val_loss_class_weighted"], (s_cw * per).mean(), rtol=1e-5)
    pred = logits.argmax(axis=1)
    np.testing.assert_allclose(logs["val_accuracy"], sklearn_metrics.accuracy_score(yv, pred))
    np.testing.assert_allclose(
        logs["val_weighted_accuracy"],
        sklearn_metrics.accuracy_score(yv, pred, sample_weight=s_cw),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        logs["val_weighted_recall"],
        sklearn_metrics.recall_score(yv, pred, average="macro", sample_weight=s_cw),
        rtol=1e-6,
    )


def test_weighted_model_has_better_minority_recall() -> None:
    rng = np.random.default_rng(5)

    def blobs(n_major: int, n_minor: int) -> tuple[np.ndarray, np.ndarray]:
        a = rng.normal(0.0, 1.0, size=(n_major, 2))
        b = rng.normal(1.2, 1.0, size=(n_minor, 2))
        x = np.concatenate([a, b]).astype(np.float32)
        y = np.concatenate([np.zeros(n_major), np.ones(n_minor)]).astype(np.int64)
        return x, y

    x, y = blobs(570, 30)
    flip = rng.random(len(y)) < 0.05  # label noise
    y = np.where(flip, 1 - y, y)
    xv, yv = blobs(200, 200)
    recalls = {}
    for weighted in (False, True):
        model = linear_model(2, 2)  # same seed, same initialisation
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss=wk.CrossEntropy(from_logits=True))
        cb = wk.WeightedValidation((xv, yv), metrics=["recall"])
        model.fit(
            x,
            y,
            epochs=8,
            batch_size=100,
            verbose=0,
            callbacks=[cb],
            shuffle=False,
            class_weight=wk.class_weight_dict(y) if weighted else None,
        )
        pred = to_np(model(xv)).argmax(axis=1)
        recalls[weighted] = float((pred[yv == 1] == 1).mean())
    assert recalls[True] > recalls[False] + 0.2, recalls


def test_callback_accepts_batches_and_callables() -> None:
    rng = np.random.default_rng(6)
    x = rng.standard_normal((20, 3)).astype(np.float32)
    y = rng.integers(0, 3, size=20)
    w = rng.uniform(0, 1, size=20).astype(np.float32)
    model = linear_model(3, 3)
    model.compile(loss=wk.CrossEntropy(from_logits=True, reduction="weighted_mean"))

    def hits(yt: np.ndarray, yp: np.ndarray, sw: np.ndarray | None) -> float:
        ok = (yp.argmax(-1) == yt).astype(float)
        return float(np.average(ok, weights=sw))

    whole = wk.WeightedValidation((x, y, w), metrics=[hits])
    whole.set_model(model)
    batched = wk.WeightedValidation(wk.WeightedPyDataset(x, y, w, batch_size=6), metrics=[hits])
    batched.set_model(model)
    a, b = whole.evaluate(), batched.evaluate()
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-6)
    per = to_np(wk.CrossEntropy(from_logits=True, reduction="none")(y, model(x)))
    np.testing.assert_allclose(a["val_loss_weighted"], (w * per).sum() / w.sum(), rtol=1e-5)
    with pytest.raises(ValueError, match="metrics"):
        wk.WeightedValidation((x, y), metrics=[3])
    with pytest.raises(ValueError, match="class_weight"):
        wk.WeightedValidation((x, y), class_weight={-2: 1.0})


# ---- WeightedPyDataset, class_weight_dict, import rules ---------------------------------------


def test_weighted_pydataset_batches_and_sampler() -> None:
    x = np.arange(10, dtype=np.float32)[:, None]
    y = np.arange(10) % 2
    w = np.linspace(0.1, 1.0, 10).astype(np.float32)
    ds = wk.WeightedPyDataset(x, y, w, batch_size=4)
    assert len(ds) == 3
    xb, _, wb = ds[2]
    np.testing.assert_array_equal(xb[:, 0], [8.0, 9.0])
    np.testing.assert_array_equal(wb, w[8:])
    plain = wk.WeightedPyDataset(x, y, batch_size=5)
    assert len(plain[0]) == 2
    try:
        from weightwise.data import WeightedSampler
    except ImportError as err:  # pragma: no cover
        pytest.skip(f"weightwise.data.WeightedSampler is not available: {err}")
    only_odd = np.where(y == 1, 1.0, 0.0)
    ds2 = wk.WeightedPyDataset(x, y, None, batch_size=4, sampler=WeightedSampler(only_odd, 8))
    assert len(ds2) == 2
    for i in range(len(ds2)):
        assert set(ds2[i][1].tolist()) == {1}
    with pytest.raises(ValueError, match="sample_weight"):
        wk.WeightedPyDataset(x, y, -w, batch_size=4)
    with pytest.raises(ValueError, match="batch_size"):
        wk.WeightedPyDataset(x, y, w, batch_size=0)


def test_class_weight_dict_matches_estimator() -> None:
    from weightwise.weights import class_weights

    y = np.array([0] * 8 + [1] * 2)
    d = wk.class_weight_dict(y)
    assert list(d) == [0, 1] and all(isinstance(v, float) for v in d.values())
    np.testing.assert_allclose(list(d.values()), class_weights(y))
    np.testing.assert_allclose(
        list(wk.class_weight_dict(np.eye(2)[y], scheme="inverse").values()),
        class_weights(y, scheme="inverse"),
    )


def test_import_rules() -> None:
    code = (
        "import sys, weightwise, weightwise.losses, weightwise.weights; "
        "assert 'keras' not in sys.modules, 'weightwise imported keras'; "
        "sys.modules['keras'] = None\n"
        "try:\n    import weightwise.keras\nexcept ImportError as e:\n    print(e)\n"
    )
    env = {**os.environ, "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "torch")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert 'pip install "keras>=3"' in out.stdout
    assert set(wk.__all__) <= set(dir(wk))
