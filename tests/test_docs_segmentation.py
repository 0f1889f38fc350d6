"""docs/segmentation.md: every Python block runs; the Keras example fits with per-pixel weights
from pixel_sample_weight (KERAS_BACKEND=torch)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

DOC = Path(__file__).resolve().parents[1] / "docs" / "segmentation.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_keras_example_fits_with_pixel_sample_weight():
    import keras  # a dev dependency (KERAS_BACKEND is set above): fail, never skip

    if keras.backend.backend() != "torch":
        pytest.skip("the example is tested with KERAS_BACKEND=torch")
    text = DOC.read_text()
    block = text.split("<!-- keras-example:start -->")[1].split("<!-- keras-example:end -->")[0]
    code = re.findall(r"```python\n(.*?)```", block, flags=re.S)[0]
    ns: dict = {}
    exec(compile(code, str(DOC), "exec"), ns)
    sw, masks, cw = ns["sw"], ns["masks"], ns["cw"]
    assert sw.dtype == np.float32 and sw.shape == masks.shape
    np.testing.assert_allclose(sw, cw[masks].astype(np.float32))
    # median frequency, mean pixel weight 1 (normalize="samples")
    assert float(sw.mean()) == pytest.approx(1.0, rel=1e-5)
    losses = ns["history"].history["loss"]
    assert len(losses) == 2 and all(np.isfinite(losses))


def test_keras_loss_with_pixel_weights_is_weightwise_mean():
    # The claim of the page: Keras' default reduction with a per-pixel sample_weight is
    # Σ w·L / (number of pixels), weightwise's reduction="mean".
    import torch

    import keras  # a dev dependency (KERAS_BACKEND is set above): fail, never skip
    from weightwise.losses import cross_entropy
    from weightwise.weights import pixel_sample_weight

    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(3), size=(2, 4, 5)).astype(np.float64)  # (N, H, W, C)
    masks = rng.integers(0, 3, size=(2, 4, 5))
    sw = pixel_sample_weight(masks, [0.5, 1.0, 4.0])
    k = keras.losses.SparseCategoricalCrossentropy()(masks, probs, sample_weight=sw)
    ours = cross_entropy(
        torch.as_tensor(np.log(probs)).permute(0, 3, 1, 2),
        torch.as_tensor(masks),
        sample_weight=torch.as_tensor(sw, dtype=torch.float64),
    )
    assert float(keras.ops.convert_to_numpy(k)) == pytest.approx(ours.item(), rel=1e-5)


@pytest.mark.parametrize("index", [1, 2])
def test_other_examples_run(index):
    blocks = _blocks()
    exec(compile(blocks[index], str(DOC), "exec"), {})
