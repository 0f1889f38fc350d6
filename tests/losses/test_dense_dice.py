"""dice_loss against a NumPy transcription of DECISIONS §5, Keras' dice, and the invariants."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from weightwise.losses import dice_loss
from weightwise.nn import DiceLoss

os.environ.setdefault("KERAS_BACKEND", "torch")

N, C, H, W = 3, 4, 5, 6


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_dice(
    logits,
    target,
    *,
    mode="multiclass",
    sample_weight=None,
    class_weight=None,
    ignore_index=None,
    smooth=1e-5,
    squared=False,
    pooling="sample",
    include_background=True,
    empty="skip",
    reduction="mean",
):
    """The rules of DECISIONS §5 written out with explicit loops over samples and classes."""
    x = np.asarray(logits, dtype=np.float64)
    t = np.asarray(target)
    n = x.shape[0]
    if mode == "binary":
        x = x.reshape(n, 1, -1)
        t = t.reshape(n, 1, -1).astype(np.float64)
    else:
        x = x.reshape(n, x.shape[1], -1)
    c = x.shape[1]
    if mode == "multiclass":
        prob = _softmax(x, 1)
        t = t.reshape(n, -1)
        valid = np.ones(t.shape, bool) if ignore_index is None else t != ignore_index
        g = np.zeros_like(prob)
        for i in range(n):
            for j in range(t.shape[1]):
                if valid[i, j]:
                    g[i, t[i, j], j] = 1.0
        valid = np.repeat(valid[:, None, :], c, axis=1)
    else:
        prob = _sigmoid(x)
        t = t.reshape(n, c, -1).astype(np.float64)
        valid = np.ones(t.shape, bool) if ignore_index is None else t != ignore_index
        g = np.where(valid, t, 0.0)
    m = valid.astype(np.float64)
    s = np.ones(n)
    if sample_weight is not None:
        sw = np.asarray(sample_weight, dtype=np.float64)
        if sw.shape == (n,):
            s = sw
        elif mode == "multilabel" and sw.shape == (n, c):
            m = m * sw[:, :, None]
        else:
            m = m * sw.reshape(n, 1, -1)
    cw = np.ones(c) if class_weight is None else np.asarray(class_weight, dtype=np.float64)
    classes = list(range(c)) if include_background or c == 1 else list(range(1, c))

    def sums(i):
        pp = prob[i] ** 2 if squared else prob[i]
        gg = g[i] ** 2 if squared else g[i]
        inter = (m[i] * prob[i] * g[i]).sum(-1)
        return inter, (m[i] * pp).sum(-1), (m[i] * gg).sum(-1)

    def class_avg(inter, big_p, big_g, mass):
        num = den = 0.0
        per = []
        for k in classes:
            is_empty = mass[k] == 0
            if is_empty and empty == "skip":
                per.append(0.0)
                continue
            if is_empty:
                loss = 1.0 if empty == "zero" else 0.0
            else:
                loss = 1.0 - (2 * inter[k] + smooth) / (big_p[k] + big_g[k] + smooth)
            per.append(loss)
            num += cw[k] * loss
            den += cw[k]
        return (num / den if den > 0 else None), per

    if pooling == "batch":
        parts = [sums(i) for i in range(n)]
        inter = sum(s[i] * parts[i][0] for i in range(n))
        big_p = sum(s[i] * parts[i][1] for i in range(n))
        big_g = sum(s[i] * parts[i][2] for i in range(n))
        value, per = class_avg(inter, big_p, big_g, big_g)
        if reduction == "none":
            return np.array(per)
        return 0.0 if value is None else value
    values, kept = [], []
    for i in range(n):
        inter, big_p, big_g = sums(i)
        value, _ = class_avg(inter, big_p, big_g, s[i] * big_g)
        values.append(0.0 if value is None else value)
        kept.append(value is not None)
    values, kept = np.array(values), np.array(kept)
    num = (s * values * kept).sum()
    if reduction == "none":
        return s * values * kept
    if reduction == "sum":
        return num
    den = {
        "mean": kept.sum(),
        "weighted_mean": (s * kept).sum(),
        "nonzero_mean": ((s != 0) & kept).sum(),
    }[reduction]
    return num / den if den > 0 else 0.0


def _data(mode, *, seed=0, ignore=None, shape=(N, C, H, W)):
    g = torch.Generator().manual_seed(seed)
    n, c, h, w = shape
    if mode == "binary":
        logits = torch.randn(n, 1, h, w, generator=g, dtype=torch.float64) * 2
        target = (torch.rand(n, h, w, generator=g) > 0.6).long()
    elif mode == "multilabel":
        logits = torch.randn(n, c, h, w, generator=g, dtype=torch.float64) * 2
        target = (torch.rand(n, c, h, w, generator=g) > 0.7).long()
    else:
        logits = torch.randn(n, c, h, w, generator=g, dtype=torch.float64) * 2
        # class 3 is rare: absent from some samples
        target = torch.randint(0, c - 1, (n, h, w), generator=g)
        target[0, :2, :2] = c - 1
    if ignore is not None:
        target.view(-1)[::5] = ignore
    pix = torch.rand(n, h, w, generator=g, dtype=torch.float64) * 2
    per_sample = torch.rand(n, generator=g, dtype=torch.float64) + 0.2
    cw = torch.rand(c if mode != "binary" else 1, generator=g, dtype=torch.float64) + 0.1
    return logits, target, pix, per_sample, cw


def _close(ours, ref):
    torch.testing.assert_close(
        ours, torch.as_tensor(np.asarray(ref), dtype=ours.dtype), rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize(
    "mode, weight, use_cw, ignore, pooling, empty",
    list(
        itertools.product(
            ["multiclass", "multilabel", "binary"],
            [None, "sample", "pixel"],
            [False, True],
            [None, 255],
            ["sample", "batch"],
            ["skip", "zero", "one"],
        )
    ),
)
def test_dice_equals_numpy_transcription(mode, weight, use_cw, ignore, pooling, empty):
    logits, target, pix, per_sample, cw = _data(mode, ignore=ignore, seed=1)
    sw = {"sample": per_sample, "pixel": pix, None: None}[weight]
    kw = {
        "mode": mode,
        "sample_weight": sw,
        "class_weight": cw if use_cw else None,
        "ignore_index": ignore,
        "pooling": pooling,
        "empty": empty,
    }
    reductions = ["mean", "weighted_mean", "nonzero_mean", "sum", "none"]
    for reduction in reductions if pooling == "sample" else ["mean", "none"]:
        ours = dice_loss(logits, target, reduction=reduction, **kw)
        ref = np_dice(
            logits.numpy(),
            target.numpy(),
            reduction=reduction,
            **{**kw, "sample_weight": None if sw is None else sw.numpy()},
        )
        _close(ours, ref)


@pytest.mark.parametrize("mode", ["multiclass", "multilabel"])
@pytest.mark.parametrize("squared", [False, True])
@pytest.mark.parametrize("pooling", ["sample", "batch"])
def test_squared_and_background_options_equal_transcription(mode, squared, pooling):
    logits, target, pix, _, cw = _data(mode, seed=2)
    for include_background in [True, False]:
        kw = {
            "mode": mode,
            "sample_weight": pix,
            "class_weight": cw,
            "squared": squared,
            "pooling": pooling,
            "include_background": include_background,
            "smooth": 0.5,
        }
        ours = dice_loss(logits, target, **kw)
        ref = np_dice(logits.numpy(), target.numpy(), **{**kw, "sample_weight": pix.numpy()})
        _close(ours, ref)
    kw = {"mode": mode, "pooling": "batch", "include_background": False, "reduction": "none"}
    per_class = dice_loss(logits, target, **kw)
    assert per_class.shape == (C - 1,)
    _close(per_class, np_dice(logits.numpy(), target.numpy(), **kw))


def test_multilabel_per_label_weight_equals_transcription():
    logits, target, _, _, _ = _data("multilabel", seed=3)
    w = torch.rand(N, C, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    for pooling in ["sample", "batch"]:
        ours = dice_loss(logits, target, mode="multilabel", sample_weight=w, pooling=pooling)
        _close(
            ours,
            np_dice(
                logits.numpy(),
                target.numpy(),
                mode="multilabel",
                sample_weight=w.numpy(),
                pooling=pooling,
            ),
        )


def test_multiclass_soft_one_hot_targets_equal_hard_targets():
    logits, target, pix, per_sample, cw = _data("multiclass", seed=5)
    onehot = torch.nn.functional.one_hot(target, C).movedim(-1, 1).double()
    for sw in [pix, per_sample]:
        for pooling in ["sample", "batch"]:
            kw = {"sample_weight": sw, "class_weight": cw, "pooling": pooling, "squared": True}
            torch.testing.assert_close(
                dice_loss(logits, onehot, **kw), dice_loss(logits, target, **kw)
            )


@pytest.mark.parametrize("pooling, axis", [("sample", (1, 2)), ("batch", None)])
def test_binary_dice_equals_keras_dice(pooling, axis):
    import keras  # a dev dependency (KERAS_BACKEND is set above): fail, never skip

    logits, target, _, per_sample, _ = _data("binary", seed=6)
    prob = torch.sigmoid(logits[:, 0]).numpy()
    y = target.numpy().astype(np.float64)
    # Keras adds epsilon=1e-7 to the denominator only; ours with smooth=0 differs by ~1e-9
    # (keras.losses.dice computes in float64 here).
    ref = keras.ops.convert_to_numpy(keras.losses.dice(y, prob, axis=axis))
    if pooling == "sample":
        ours_none = dice_loss(logits, target, mode="binary", smooth=0.0, reduction="none")
        np.testing.assert_allclose(ours_none.numpy(), ref, rtol=1e-7)
        # Keras' sum_over_batch_size with a (N,) sample weight is our "mean". The Dice class
        # casts to its float32 dtype, so its value carries float32 rounding (~1e-8): rtol=1e-6.
        k = keras.losses.Dice(axis=axis)(y, prob, sample_weight=per_sample.numpy())
        ours = dice_loss(logits, target, mode="binary", smooth=0.0, sample_weight=per_sample)
        np.testing.assert_allclose(ours.item(), float(keras.ops.convert_to_numpy(k)), rtol=1e-6)
    else:
        ours = dice_loss(logits, target, mode="binary", smooth=0.0, pooling="batch")
        np.testing.assert_allclose(ours.item(), float(ref), rtol=1e-7)


def test_binary_accepts_channel_axis_on_target_and_weight():
    logits, target, pix, _, _ = _data("binary", seed=7)
    a = dice_loss(logits, target, mode="binary", sample_weight=pix)
    b = dice_loss(logits[:, 0], target, mode="binary", sample_weight=pix)
    c = dice_loss(logits, target[:, None], mode="binary", sample_weight=pix[:, None])
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, c)


# ---- invariants ----------------------------------------------------------------------------

MODES = ["multiclass", "multilabel", "binary"]
REDUCTIONS = ["mean", "weighted_mean", "nonzero_mean", "sum", "none"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pooling", ["sample", "batch"])
def test_pixel_map_of_ones_equals_no_weights(mode, pooling):
    logits, target, _, _, cw = _data(mode, seed=8, ignore=255)
    for reduction in REDUCTIONS:
        kw = {
            "mode": mode,
            "pooling": pooling,
            "ignore_index": 255,
            "reduction": reduction,
            "class_weight": cw,
        }
        torch.testing.assert_close(
            dice_loss(logits, target, sample_weight=torch.ones(N, H, W, dtype=torch.float64), **kw),
            dice_loss(logits, target, **kw),
        )
        torch.testing.assert_close(
            dice_loss(logits, target, sample_weight=torch.ones(N, dtype=torch.float64), **kw),
            dice_loss(logits, target, **kw),
        )


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(MODES),
    st.sampled_from(["sample", "batch"]),
    st.sampled_from(["skip", "zero", "one"]),
    st.integers(0, 10_000),
    st.floats(0.05, 0.6),
)
def test_zero_weight_pixel_equals_ignored_pixel(mode, pooling, empty, seed, frac):
    logits, target, pix, _, cw = _data(mode, seed=seed)
    drop = torch.rand(N, H, W, generator=torch.Generator().manual_seed(seed + 1)) < frac
    zeroed = torch.where(drop, torch.zeros_like(pix), pix)
    ignored = target.clone()
    if mode == "multilabel":
        ignored[drop.unsqueeze(1).expand_as(ignored)] = 255
    else:
        ignored[drop] = 255
    for reduction in REDUCTIONS:
        kw = {
            "mode": mode,
            "pooling": pooling,
            "empty": empty,
            "reduction": reduction,
            "class_weight": cw,
        }
        torch.testing.assert_close(
            dice_loss(logits, target, sample_weight=zeroed, **kw),
            dice_loss(logits, ignored, sample_weight=pix, ignore_index=255, **kw),
        )


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=N, max_size=N), st.integers(0, 1000))
def test_sample_pooling_integer_weights_equal_repetition(reps, seed):
    logits, target, _, _, cw = _data("multiclass", seed=seed)
    if sum(reps) == 0:
        reps[0] = 1
    w = torch.tensor(reps, dtype=torch.float64)
    idx = torch.repeat_interleave(torch.arange(N), w.long())
    for reduction in ["weighted_mean", "sum"]:
        torch.testing.assert_close(
            dice_loss(logits, target, sample_weight=w, class_weight=cw, reduction=reduction),
            dice_loss(logits[idx], target[idx], class_weight=cw, reduction=reduction),
        )
    # ... and zero = removal for every reduction but "none": a zero-weight sample is empty.
    keep = w > 0
    for reduction in ["weighted_mean", "nonzero_mean", "sum", "mean"]:
        torch.testing.assert_close(
            dice_loss(logits, target, sample_weight=w, reduction=reduction),
            dice_loss(logits[keep], target[keep], sample_weight=w[keep], reduction=reduction),
        )


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 1000), st.floats(0.01, 100.0), st.sampled_from(["sample", "batch"]))
def test_weighted_mean_is_scale_free(seed, scale, pooling):
    logits, target, pix, per_sample, _ = _data("multiclass", seed=seed)
    for sw in [pix, per_sample]:
        # exact at smooth = 0: a fixed smoothing term is not scaled with the weights
        kw = {"reduction": "weighted_mean", "pooling": pooling, "smooth": 0.0}
        torch.testing.assert_close(
            dice_loss(logits, target, sample_weight=sw * scale, **kw),
            dice_loss(logits, target, sample_weight=sw, **kw),
        )


def test_all_samples_empty_gives_zero_with_zero_gradient():
    logits = torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    target = torch.full((2, 4, 4), 255)
    for pooling in ["sample", "batch"]:
        loss = dice_loss(logits, target, ignore_index=255, pooling=pooling)
        assert loss.item() == 0.0
        (grad,) = torch.autograd.grad(loss, logits)
        assert torch.equal(grad, torch.zeros_like(grad))
    loss = dice_loss(
        logits,
        torch.zeros(2, 4, 4, dtype=torch.long),
        sample_weight=torch.zeros(2, dtype=torch.float64),
    )
    assert loss.item() == 0.0


def test_smooth_zero_on_empty_sums_is_exact_one_with_zero_gradient():
    logits = torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    target = torch.randint(0, 3, (2, 4, 4))
    loss = dice_loss(
        logits,
        target,
        smooth=0.0,
        sample_weight=torch.zeros(2, 4, 4, dtype=torch.float64),
        empty="zero",
    )
    (grad,) = torch.autograd.grad(loss, logits)
    # Every pixel has weight 0, so every class of every sample is empty (s·G = 0, and the sums
    # are 0/0 at smooth=0). With empty="zero" (DECISIONS §5) an empty class scores 0, so its
    # loss is 1 - 0 = 1; the class-weighted average of 1s is 1 per sample, and the mean over
    # the two samples (per-sample weight 1) is exactly 1. The loss is a constant: gradient 0.
    assert loss.item() == 1.0
    assert torch.equal(grad, torch.zeros_like(grad))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pooling", ["sample", "batch"])
@pytest.mark.parametrize("squared", [False, True])
def test_gradcheck_float64(mode, pooling, squared):
    logits, target, pix, _, cw = _data(mode, seed=9, ignore=255, shape=(2, 3, 3, 4))
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda z: dice_loss(
            z,
            target,
            mode=mode,
            sample_weight=pix,
            class_weight=cw,
            ignore_index=255,
            pooling=pooling,
            squared=squared,
        ),
        (logits,),
    )


def test_module_matches_functional_and_moves_weights():
    logits, target, pix, _, cw = _data("multiclass", seed=10)
    mod = DiceLoss(class_weight=cw, ignore_index=255, pooling="batch", empty="zero")
    assert "class_weight" in mod.state_dict()
    torch.testing.assert_close(
        mod(logits, target, sample_weight=pix),
        dice_loss(
            logits,
            target,
            sample_weight=pix,
            class_weight=cw,
            ignore_index=255,
            pooling="batch",
            empty="zero",
        ),
    )


# ---- bad input -----------------------------------------------------------------------------


def test_weight_map_shape_mismatch_names_both_shapes():
    logits, target, _, _, _ = _data("multiclass")
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3, 5, 5\).*\(3, 5, 6\)"):
        dice_loss(logits, target, sample_weight=torch.ones(3, 5, 5))
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3, 1\)"):
        dice_loss(logits, target, sample_weight=torch.ones(3, 1))
    logits, target, _, _, _ = _data("multilabel")
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3, 4, 5\).*\(3, 4, 5, 6\)"):
        dice_loss(logits, target, mode="multilabel", sample_weight=torch.ones(3, 4, 5))


def test_bad_targets_name_argument_position_and_value():
    logits, target, _, _, _ = _data("multiclass")
    target[1, 2, 3] = 4
    with pytest.raises(ValueError, match=r"target must be in \[0, 4\); got 4 at index \(1, 2, 3\)"):
        dice_loss(logits, target)
    target[1, 2, 3] = 255
    dice_loss(logits, target, ignore_index=255)
    target[0, 0, 1] = -1
    with pytest.raises(ValueError, match=r"or ignore_index=255; got -1 at index \(0, 0, 1\)"):
        dice_loss(logits, target, ignore_index=255)
    with pytest.raises(ValueError, match=r"target must have shape \(3, 5, 6\).*got \(3, 5\)"):
        dice_loss(logits, target[:, :, 0])
    logits, target, _, _, _ = _data("multilabel")
    target[0, 1, 0, 0] = 2
    with pytest.raises(ValueError, match=r"target must be in \[0, 1\]; got 2 at index \(0, 1,"):
        dice_loss(logits, target, mode="multilabel")
    logits, target, _, _, _ = _data("binary")
    with pytest.raises(ValueError, match=r"target must have shape \(3, 5, 6\).*got \(3, 6, 5\)"):
        dice_loss(logits, target.transpose(1, 2), mode="binary")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mode": "softmax"}, r"mode must be one of .*'softmax'"),
        ({"pooling": "micro"}, r"pooling must be one of .*'micro'"),
        ({"empty": "nan"}, r"empty must be one of .*'nan'"),
        ({"reduction": "avg"}, r"reduction must be one of .*'avg'"),
        ({"smooth": -1.0}, r"smooth must be a non-negative number; got -1.0"),
        ({"class_weight": torch.ones(3)}, r"class_weight must have shape \(4,\).*got shape \(3,\)"),
        ({"sample_weight": -torch.ones(3)}, r"sample_weight must be finite and non-negative"),
    ],
)
def test_bad_options_raise(kwargs, match):
    logits, target, _, _, _ = _data("multiclass")
    with pytest.raises(ValueError, match=match):
        dice_loss(logits, target, **kwargs)
