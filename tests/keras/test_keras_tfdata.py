"""The tf.data helpers of weightwise.keras, and ``fit`` on tf.data pipelines of (x, y, w).

TensorFlow backend only (``make test-keras-tf``); skipped where TensorFlow is not installed or
Keras runs on another backend.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")
if keras.backend.backend() != "tensorflow":
    pytest.skip("the tf.data tests run with KERAS_BACKEND=tensorflow", allow_module_level=True)
tf = pytest.importorskip("tensorflow")
torch = pytest.importorskip("torch")

from weightwise import keras as wk  # noqa: E402
from weightwise.data import stratified_split as split_indices  # noqa: E402
from weightwise.losses import cross_entropy  # noqa: E402


def triples(ds: Any) -> list[tuple[np.ndarray, ...]]:
    return [tuple(np.asarray(v) for v in e) for e in ds.as_numpy_iterator()]


def indexed_triples(n: int, *, seed: int, w_low: float) -> tuple[np.ndarray, np.ndarray, Any]:
    """``(y, w, ds)``: ``n`` rows of ``(x, y, w)`` with ``x`` the row index (so a drawn element
    names its row), ``y`` 1 with probability 0.2, ``w`` uniform on ``[w_low, 2)``."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(np.int64)
    x = np.arange(n, dtype=np.float32)[:, None]
    w = rng.uniform(w_low, 2, size=n).astype(np.float32)
    return y, w, tf.data.Dataset.from_tensor_slices((x, y, w))


# ---- with_class_weight ----------------------------------------------------------------------


@pytest.mark.parametrize("batched", [False, True])
def test_with_class_weight_attaches_and_composes(batched: bool) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 2)).astype(np.float32)
    y = rng.integers(0, 3, size=10)
    s = rng.uniform(0, 2, size=10).astype(np.float32)
    cw = {0: 0.5, 1: 2.0, 2: 0.0}
    want = np.array([cw[int(k)] for k in y], dtype=np.float32)
    for data, expected in (((x, y), want), ((x, y, s), s * want), ((x, y[:, None]), want)):
        ds = tf.data.Dataset.from_tensor_slices(data)
        if batched:
            ds = ds.batch(4)
        out = triples(wk.with_class_weight(ds, cw))
        w = np.concatenate([np.reshape(e[2], -1) for e in out])
        np.testing.assert_allclose(w, expected, rtol=1e-6)
        assert all(len(e) == 3 for e in out)


def test_with_class_weight_per_pixel_and_one_hot() -> None:
    rng = np.random.default_rng(1)
    masks = rng.integers(0, 2, size=(4, 3, 5, 1))
    s = rng.uniform(0, 2, size=4).astype(np.float32)
    img = rng.normal(size=(4, 3, 5, 1)).astype(np.float32)
    ds = tf.data.Dataset.from_tensor_slices((img, masks, s)).batch(2)
    w = np.concatenate([e[2] for e in triples(wk.with_class_weight(ds, [1.0, 5.0]))])
    assert w.shape == (4, 3, 5)
    np.testing.assert_allclose(w, s[:, None, None] * np.where(masks[..., 0] == 1, 5.0, 1.0))
    soft = rng.dirichlet(np.ones(3), size=6).astype(np.float32)
    ds2 = tf.data.Dataset.from_tensor_slices((img[:1].repeat(6, 0), soft)).batch(3)
    w2 = np.concatenate([e[2] for e in triples(wk.with_class_weight(ds2, [1, 2, 3], one_hot=True))])
    np.testing.assert_allclose(w2, soft @ np.array([1.0, 2.0, 3.0]), rtol=1e-6)


def test_with_class_weight_errors_name_the_class() -> None:
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((3, 1), np.float32), np.array([0, 1, 7])))
    with pytest.raises(ValueError, match="outside \\[0, 2\\): 5"):
        wk.with_class_weight(ds, {0: 1.0, 1: 1.0, 5: 2.0}, num_classes=2)
    with pytest.raises(ValueError, match="no entry for class 1"):
        wk.with_class_weight(ds, {0: 1.0, 2: 1.0})
    with pytest.raises(ValueError, match="non-negative"):
        wk.with_class_weight(ds, {0: 1.0, 1: -1.0})
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"not a class.*7"):
        triples(wk.with_class_weight(ds, [1.0, 2.0]))
    bad = tf.data.Dataset.from_tensor_slices(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="\\(x, y\\)"):
        wk.with_class_weight(bad, [1.0])


def test_import_weightwise_keras_does_not_import_tensorflow() -> None:
    code = (
        "import sys, weightwise.keras; "
        "assert 'tensorflow' not in sys.modules, sorted(m for m in sys.modules if 'tensorf' in m)"
    )
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr


# ---- fit on tf.data ---------------------------------------------------------------------------


def _model(f: int, c: int) -> Any:
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((f,)), keras.layers.Dense(c)])


@pytest.mark.parametrize("reduction", ["mean", "weighted_mean", "nonzero_mean", "sum"])
def test_fit_on_tf_data_gives_the_torch_loss(reduction: str) -> None:
    rng = np.random.default_rng(2)
    n, f, c = 24, 3, 3
    x = rng.normal(size=(n, f)).astype(np.float32)
    y = rng.integers(0, c, size=n)
    s = rng.uniform(0, 2, size=n).astype(np.float32)
    s[:3] = 0.0
    cw = [1.0, 3.0, 0.5]
    model = _model(f, c)
    logits = np.asarray(model(x))
    # class x sample weights: the sample weight rides in the dataset, the class weight in the loss
    model.compile(
        optimizer="sgd",
        loss=wk.CrossEntropy(from_logits=True, class_weight=cw, reduction=reduction),
    )
    ds = tf.data.Dataset.from_tensor_slices((x, y, s)).batch(n)
    got = model.fit(ds, epochs=1, verbose=0).history["loss"][0]
    want = cross_entropy(
        torch.from_numpy(logits),
        torch.from_numpy(y),
        sample_weight=torch.from_numpy(s),
        class_weight=torch.tensor(cw),
        reduction=reduction,
    )
    np.testing.assert_allclose(got, float(want), rtol=1e-5)
    # the same product built in the pipeline instead, with a plain loss
    model2 = _model(f, c)
    model2.compile(optimizer="sgd", loss=wk.CrossEntropy(from_logits=True, reduction=reduction))
    ds2 = wk.with_class_weight(tf.data.Dataset.from_tensor_slices((x, y, s)).batch(n), cw)
    got2 = model2.fit(ds2, epochs=1, verbose=0).history["loss"][0]
    np.testing.assert_allclose(got2, float(want), rtol=1e-5)


def test_zero_class_weights_train_with_loss_zero_validation_still_positive() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    train = wk.with_class_weight(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), [0.0, 0.0])
    val = tf.data.Dataset.from_tensor_slices((x[:10], y[:10])).batch(5)
    model = _model(4, 2)
    before = [np.asarray(v).copy() for v in model.trainable_variables]
    model.compile(optimizer="adam", loss=wk.CrossEntropy(from_logits=True))
    cb = wk.WeightedValidation(val, class_weight=[0.0, 0.0])
    hist = model.fit(train, epochs=2, verbose=0, callbacks=[cb])
    assert hist.history["loss"] == [0.0, 0.0]
    assert hist.history["val_loss_class_weighted"] == [0.0, 0.0]
    assert all(v > 0.1 for v in hist.history["val_loss_unweighted"])
    for v, b in zip(model.trainable_variables, before, strict=True):
        np.testing.assert_array_equal(np.asarray(v), b)


# ---- augment, split, rebalance -------------------------------------------------------------


def test_augment_carries_the_weight() -> None:
    x = np.arange(6, dtype=np.float32)[:, None]
    y = np.array([0, 1, 0, 1, 0, 1])
    w = np.linspace(0.5, 3.0, 6).astype(np.float32)
    ds = tf.data.Dataset.from_tensor_slices((x, y, w))
    out = triples(wk.augment(ds, lambda v: v + 100.0, copies=3, weight_policy="split"))
    assert len(out) == 18
    np.testing.assert_allclose([e[0][0] for e in out], np.repeat(x[:, 0], 3) + 100.0)
    np.testing.assert_allclose([e[2] for e in out], np.repeat(w, 3) / 3, rtol=1e-6)
    rep = triples(wk.augment(tf.data.Dataset.from_tensor_slices((x, y)), lambda v: -v, copies=2))
    np.testing.assert_allclose([e[2] for e in rep], np.ones(12))
    pix = np.ones((6, 2, 2), np.float32) * w[:, None, None]

    def flip(img: Any, mask: Any, wmap: Any) -> Any:
        return tf.reverse(img, [0]), tf.reverse(mask, [0]), tf.reverse(wmap, [0])

    seg = tf.data.Dataset.from_tensor_slices((pix[..., None], pix.astype(np.int64), pix))
    joint = triples(wk.augment(seg, flip, joint=True))
    np.testing.assert_allclose(np.stack([e[2] for e in joint]), pix[:, ::-1])


def test_stratified_split_keeps_weights_and_proportions() -> None:
    y, w, ds = indexed_triples(50, seed=4, w_low=0.0)
    parts = wk.stratified_split(ds, fractions=(0.8, 0.2), seed=3)
    want = split_indices(y, fractions=(0.8, 0.2), seed=3)
    for part, idx in zip(parts, want, strict=True):
        got = triples(part)
        ids = np.array([int(e[0][0]) for e in got])
        np.testing.assert_array_equal(ids, idx)
        np.testing.assert_array_equal([e[2] for e in got], w[idx])
        np.testing.assert_array_equal([e[1] for e in got], y[idx])
    with pytest.raises(ValueError, match="unbatched"):
        wk.stratified_split(ds.batch(5))


@pytest.mark.parametrize("method", ["sample", "rejection"])
def test_rebalance_draws_the_target_and_says_what_happens_to_weights(method: str) -> None:
    n = 400
    y, w, ds = indexed_triples(n, seed=5, w_low=0.5)
    base = ds.repeat() if method == "rejection" else ds
    draws = 3000
    kept = triples(wk.rebalance(base, counts=np.bincount(y), method=method).take(draws))
    labels = np.array([int(e[1]) for e in kept])
    frac = labels.mean()
    assert abs(frac - 0.5) < 4 * np.sqrt(0.25 / draws), frac  # binomial, 4 sigma
    ids = np.array([int(e[0][0]) for e in kept])
    np.testing.assert_array_equal([e[2] for e in kept], w[ids])  # "keep": weights unchanged
    corr = triples(
        wk.rebalance(base, counts=np.bincount(y), method=method, weights="correct").take(draws)
    )
    ids = np.array([int(e[0][0]) for e in corr])
    p = np.bincount(y) / n
    np.testing.assert_allclose([e[2] for e in corr], w[ids] * (p / 0.5)[y[ids]], rtol=1e-6)
    with pytest.raises(ValueError, match="class 2"):
        wk.rebalance(ds, counts=[10, 5, 0], target=[1, 1, 1])


# ---- the seed's pipelines ---------------------------------------------------------------------


def test_batch_level_weight_two_pulls_twice() -> None:
    """A batch with weight 2 gives the gradient of the same batch with weight 1, doubled."""
    rng = np.random.default_rng(6)
    x = rng.normal(size=(8, 3)).astype(np.float32)
    y = rng.integers(0, 2, size=8)
    deltas = []
    for weight in (1.0, 2.0):
        model = _model(3, 2)
        before = [np.asarray(v).copy() for v in model.trainable_variables]
        model.compile(optimizer=keras.optimizers.SGD(1.0), loss=wk.CrossEntropy(from_logits=True))
        ds = tf.data.Dataset.from_tensor_slices((x, y, np.full(8, weight, np.float32))).batch(8)
        model.fit(ds, epochs=1, verbose=0)
        deltas.append(
            [np.asarray(v) - b for v, b in zip(model.trainable_variables, before, strict=True)]
        )
    for a, b in zip(*deltas, strict=True):
        np.testing.assert_allclose(b, 2 * a, rtol=1e-5, atol=1e-7)
