"""Keras `fit` time per epoch: weightwise.keras.CrossEntropy vs SparseCategoricalCrossentropy.

Same model, data, batch size and initial weights, on the backend KERAS_BACKEND selects (torch by
default; jax and tensorflow too). Prints seconds per epoch for each loss and the ratio
ours / Keras (goal: <= 1.2). `--quick` runs a smaller problem. On TensorFlow, `--data tfdata`
feeds `fit` a `tf.data.Dataset` of (x, y, w) batches instead of arrays.

    KERAS_BACKEND=torch python benchmarks/bench_keras.py [--quick]
    KERAS_BACKEND=tensorflow python benchmarks/bench_keras.py [--quick] [--data tfdata]
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np

import keras
from weightwise import keras as wk


def build(loss: keras.losses.Loss, f: int, c: int) -> keras.Model:
    keras.utils.set_random_seed(0)  # same initial weights for both losses
    model = keras.Sequential(
        [keras.Input((f,)), keras.layers.Dense(128, activation="relu"), keras.layers.Dense(c)]
    )
    model.compile(optimizer="adam", loss=loss)
    return model


def fit_seconds(model: keras.Model, data: Any) -> float:
    t0 = time.perf_counter()
    if isinstance(data, tuple):
        x, y, w = data
        model.fit(x, y, sample_weight=w, epochs=1, batch_size=256, verbose=0)
    else:
        model.fit(data, epochs=1, verbose=0)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small problem, few epochs")
    parser.add_argument(
        "--threads", type=int, default=0, help="intra-op threads (0: the backend's default)"
    )
    parser.add_argument(
        "--data", choices=("arrays", "tfdata"), default="arrays", help="tfdata: tensorflow only"
    )
    args = parser.parse_args()
    backend = keras.backend.backend()
    if args.threads and backend == "torch":
        import torch

        torch.set_num_threads(args.threads)
    if args.threads and backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    if args.data == "tfdata" and backend != "tensorflow":
        parser.error("--data tfdata needs KERAS_BACKEND=tensorflow")
    n, f, c = (4_000, 32, 10) if args.quick else (50_000, 64, 20)
    epochs = 3 if args.quick else 5
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, f)).astype("float32")
    y = rng.integers(0, c, size=n)
    w = rng.uniform(0.5, 2.0, size=n).astype("float32")
    data: Any = (x, y, w)
    if args.data == "tfdata":
        import tensorflow as tf

        data = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(256).prefetch(2)
    print(f"backend={backend} data={args.data} n={n} features={f} classes={c} batch=256, checks on")
    models = {
        "keras": build(keras.losses.SparseCategoricalCrossentropy(from_logits=True), f, c),
        "ours": build(wk.CrossEntropy(from_logits=True), f, c),
    }
    times: dict[str, list[float]] = {k: [] for k in models}
    for m in models.values():
        fit_seconds(m, data)  # warm-up
    for _ in range(epochs):  # interleaved, so machine load drifts hit both alike
        for k, m in models.items():
            times[k].append(fit_seconds(m, data))
    theirs, ours = (float(np.median(times[k])) for k in ("keras", "ours"))
    print(f"keras SparseCategoricalCrossentropy: {theirs:.3f} s/epoch")
    print(f"weightwise.keras.CrossEntropy:       {ours:.3f} s/epoch")
    print(f"ratio ours/keras: {ours / theirs:.2f}x (goal <= 1.2x)")


if __name__ == "__main__":
    main()
