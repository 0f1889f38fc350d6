"""Pixel weight maps: class_weight_map, pixel_sample_weight, pixel_class_weights (median
frequency, hand-computed), border_weight_map (U-Net, hand-computed and brute force)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from weightwise.weights import (
    border_weight_map,
    class_weight_map,
    pixel_class_weights,
    pixel_sample_weight,
)

# ---- class_weight_map / pixel_sample_weight -------------------------------------------------


def test_class_weight_map_numpy_and_torch_types_and_ignore():
    mask = np.array([[[0, 1, 2], [2, 255, 1]]])
    cw = [0.5, 2.0, 4.0]
    expected = np.array([[[0.5, 2.0, 4.0], [4.0, 0.0, 2.0]]])
    out = class_weight_map(mask, cw, ignore_index=255)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_array_equal(out, expected)
    out_t = class_weight_map(
        torch.as_tensor(mask), torch.tensor(cw, dtype=torch.float64), ignore_index=255
    )
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.float64
    np.testing.assert_array_equal(out_t.numpy(), expected)
    out_d = class_weight_map(torch.as_tensor(mask), {0: 0.5, 1: 2.0, 2: 4.0}, ignore_index=255)
    assert out_d.dtype == torch.float32
    np.testing.assert_array_equal(out_d.numpy(), expected.astype(np.float32))


def test_pixel_sample_weight_shapes_dtype_and_dict():
    masks = np.random.default_rng(0).integers(0, 3, size=(4, 5, 6))
    cw = {0: 0.2, 1: 1.0, 2: 3.0}
    expected = np.array([0.2, 1.0, 3.0])[masks].astype(np.float32)
    for m in [masks, masks[..., None], torch.as_tensor(masks), masks.astype(np.float32)]:
        out = pixel_sample_weight(m, cw)
        assert out.dtype == np.float32 and out.shape == (4, 5, 6)
        np.testing.assert_array_equal(out, expected)
    ign = masks.copy()
    ign[0, 0, 0] = 255
    assert pixel_sample_weight(ign, cw, ignore_index=255)[0, 0, 0] == 0.0


def test_bad_masks_name_argument_value_and_shape():
    with pytest.raises(
        ValueError,
        match=r"mask must hold class indices in \[0, 2\) or "
        r"ignore_index=255; got 3 at index \(1, 0\).*\(2, 2\)",
    ):
        class_weight_map(np.array([[0, 1], [3, 255]]), [1.0, 2.0], ignore_index=255)
    with pytest.raises(ValueError, match=r"class 2 at index \(0, 1\), which has no entry"):
        class_weight_map(np.array([[0, 2]]), {0: 1.0, 1: 2.0, 3: 1.0})
    with pytest.raises(
        ValueError,
        match=r"masks must have shape \(N, H, W\) or \(N, H, W, 1\); "
        r"got shape \(2, 3, 4, 2\)",
    ):
        pixel_sample_weight(np.zeros((2, 3, 4, 2), dtype=int), [1.0])
    with pytest.raises(ValueError, match=r"class_weight must be finite and non-negative"):
        pixel_sample_weight(np.zeros((1, 2, 2), dtype=int), [-1.0])
    with pytest.raises(ValueError, match=r"mask must hold integer class indices; got 0.5"):
        class_weight_map(np.array([0.5]), [1.0])


# ---- pixel_class_weights ---------------------------------------------------------------------


def test_median_frequency_hand_computed_with_a_class_absent_from_some_images():
    # Three 2x3 images, classes 0, 1, 2, and 255 ignored.
    masks = np.array(
        [
            [[0, 0, 0], [0, 1, 1]],  # 0: 4, 1: 2          total 6
            [[0, 0, 2], [2, 2, 255]],  # 0: 2, 2: 3 (1 ignored) total 5
            [[1, 1, 1], [1, 0, 0]],  # 0: 2, 1: 4          total 6
        ]
    )
    # Eigen & Fergus: freq_c = pixels of c / pixels of the images that contain c.
    freq0 = (4 + 2 + 2) / (6 + 5 + 6)
    freq1 = (2 + 4) / (6 + 6)  # class 1 is absent from image 1
    freq2 = 3 / 5  # class 2 is only in image 1
    med = sorted([freq0, freq1, freq2])[1]
    raw = np.array([med / freq0, med / freq1, med / freq2])
    out = pixel_class_weights(masks, num_classes=3, ignore_index=255, normalize="none")
    np.testing.assert_allclose(out, raw, rtol=1e-12)
    # default normalize="samples": Σ_c n_c w_c = N over the counted pixels
    n = np.array([8.0, 6.0, 3.0])
    out = pixel_class_weights(masks, num_classes=3, ignore_index=255)
    np.testing.assert_allclose(out, raw * n.sum() / (n * raw).sum(), rtol=1e-12)
    # a list of masks of different sizes gives the same counts
    ragged = [masks[0], masks[1][:, :2], masks[2]]
    out_r = pixel_class_weights(ragged, num_classes=3, ignore_index=255, normalize="none")
    # image 1 cropped to [[0, 0], [2, 2]]: 0: 2, 2: 2, total 4
    freq0_r = (4 + 2 + 2) / (6 + 4 + 6)
    freq2_r = 2 / 4
    med_r = sorted([freq0_r, freq1, freq2_r])[1]
    np.testing.assert_allclose(out_r, [med_r / freq0_r, med_r / freq1, med_r / freq2_r])


def test_pixel_class_weights_other_scheme_and_absent():
    masks = np.array([[[0, 0], [0, 1]], [[0, 0], [0, 0]]])
    np.testing.assert_allclose(
        pixel_class_weights(masks, num_classes=2, scheme="balanced"), [8 / (2 * 7), 8 / 2]
    )
    with pytest.raises(ValueError, match=r"class 2 has no samples"):
        pixel_class_weights(masks, num_classes=3)
    out = pixel_class_weights(masks, num_classes=3, absent="zero", normalize="none")
    assert out[2] == 0.0
    with pytest.raises(ValueError, match=r"masks must hold class indices in \[0, 2\); got 5"):
        pixel_class_weights(np.array([[[0, 5]]]), num_classes=2)


# ---- border_weight_map -----------------------------------------------------------------------


def _brute_border(inst, w0, sigma, cw=None):
    """Nearest / second-nearest instance distances by brute force over every pixel pair."""
    h, w = inst.shape
    out = np.zeros((h, w))
    ids = sorted(set(inst[inst > 0].tolist()))
    for y in range(h):
        for x in range(w):
            base = 1.0 if cw is None else cw[0 if inst[y, x] == 0 else 1]
            out[y, x] = base
            if inst[y, x] != 0 or len(ids) < 2:
                continue
            dists = sorted(
                min(
                    math.hypot(y - yy, x - xx)
                    for yy, xx in zip(*np.nonzero(inst == i), strict=True)
                )
                for i in ids
            )
            out[y, x] += w0 * math.exp(-((dists[0] + dists[1]) ** 2) / (2 * sigma**2))
    return out


def test_border_weight_map_hand_computed_small_case():
    inst = np.array(
        [
            [1, 0, 0, 2],
            [1, 0, 0, 0],
            [0, 0, 0, 3],
        ]
    )
    w0, sigma = 10.0, 2.0
    out = border_weight_map(inst, w0=w0, sigma=sigma)

    def b(d1, d2):
        return 1.0 + w0 * math.exp(-((d1 + d2) ** 2) / (2 * sigma**2))

    # pixel (0, 1): to 1 -> 1, to 2 -> 2, to 3 -> hypot(2, 2): nearest two 1 and 2
    assert out[0, 1] == pytest.approx(b(1, 2), rel=1e-12)
    # pixel (1, 3): to 2 -> 1, to 3 -> 1, to 1 -> 3
    assert out[1, 3] == pytest.approx(b(1, 1), rel=1e-12)
    # pixel (2, 0): to 1 -> 1, to 3 -> 3, to 2 -> hypot(2, 3)
    assert out[2, 0] == pytest.approx(b(1, 3), rel=1e-12)
    # pixel (1, 2): to 2 -> hypot(1, 1), to 3 -> hypot(1, 1), to 1 -> 2
    assert out[1, 2] == pytest.approx(b(math.sqrt(2), math.sqrt(2)), rel=1e-12)
    # instance pixels get w_c = 1 only
    for y, x in [(0, 0), (1, 0), (0, 3), (2, 3)]:
        assert out[y, x] == 1.0
    np.testing.assert_allclose(out, _brute_border(inst, w0, sigma), rtol=1e-12)


def test_border_weight_map_batch_class_weight_and_types():
    rng = np.random.default_rng(1)
    batch = np.zeros((3, 7, 8), dtype=np.int64)
    for k in range(3):
        for i in range(1, 4):
            y, x = rng.integers(0, 6), rng.integers(0, 7)
            batch[k, y : y + 2, x : x + 2] = i
    batch[2] = 0
    batch[2, 1, 1] = 5  # a single instance: no border term
    cw = np.array([0.5, 3.0])
    out = border_weight_map(batch, w0=5.0, sigma=3.0, class_weight=cw)
    assert out.shape == batch.shape
    for k in range(3):
        np.testing.assert_allclose(out[k], _brute_border(batch[k], 5.0, 3.0, cw), rtol=1e-12)
    np.testing.assert_array_equal(out[2], np.where(batch[2] == 0, 0.5, 3.0))
    out_t = border_weight_map(torch.as_tensor(batch), w0=5.0, sigma=3.0, class_weight=cw)
    assert isinstance(out_t, torch.Tensor) and out_t.shape == batch.shape
    np.testing.assert_allclose(out_t.numpy(), out.astype(np.float32))


def test_border_weight_map_bad_input():
    with pytest.raises(ValueError, match=r"instances must have shape \(H, W\) or \(N, H, W\)"):
        border_weight_map(np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match=r"got -1 at index \(0, 1\)"):
        border_weight_map(np.array([[0, -1]]))
    with pytest.raises(ValueError, match=r"sigma must be finite and positive; got 0"):
        border_weight_map(np.zeros((2, 2), dtype=int), sigma=0)
    with pytest.raises(ValueError, match=r"class_weight must have shape \(2,\)"):
        border_weight_map(np.zeros((2, 2), dtype=int), class_weight=[1.0, 2.0, 3.0])
