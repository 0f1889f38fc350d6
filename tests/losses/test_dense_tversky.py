"""Tversky, focal Tversky and generalized Dice against NumPy transcriptions of the papers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from weightwise.losses import (
    dice_loss,
    focal_tversky_loss,
    generalized_dice_loss,
    tversky_loss,
)
from weightwise.nn import FocalTverskyLoss, GeneralizedDiceLoss, TverskyLoss

N, C, H, W = 3, 4, 5, 6


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _data(seed=0, c=C):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(N, c, H, W, generator=g, dtype=torch.float64) * 2
    target = torch.randint(0, c, (N, H, W), generator=g)
    pix = torch.rand(N, H, W, generator=g, dtype=torch.float64) * 2
    cw = torch.rand(c, generator=g, dtype=torch.float64) + 0.1
    return logits, target, pix, cw


def _np_parts(logits, target, pix=None):
    """p, one-hot g and pixel weights m, all (N, C, S)."""
    x = logits.numpy().reshape(N, logits.shape[1], -1)
    p = _softmax(x, 1)
    t = target.numpy().reshape(N, -1)
    g = (np.arange(x.shape[1])[None, :, None] == t[:, None, :]).astype(np.float64)
    m = np.ones_like(p) if pix is None else np.repeat(pix.numpy().reshape(N, 1, -1), p.shape[1], 1)
    return p, g, m


def np_tversky_index(p, g, m, alpha, beta, smooth, axis):
    """Salehi et al.: TI = TP / (TP + α FP + β FN), per class, weights on each pixel."""
    tp = (m * p * g).sum(axis)
    fp = (m * p * (1 - g)).sum(axis)
    fn = (m * (1 - p) * g).sum(axis)
    return (tp + smooth) / (tp + alpha * fp + beta * fn + smooth)


@pytest.mark.parametrize("pooling", ["sample", "batch"])
def test_tversky_half_half_is_dice_and_one_one_is_jaccard(pooling):
    logits, target, pix, cw = _data(1)
    kw = {"sample_weight": pix, "class_weight": cw, "pooling": pooling, "smooth": 0.0}
    torch.testing.assert_close(
        tversky_loss(logits, target, alpha=0.5, beta=0.5, **kw), dice_loss(logits, target, **kw)
    )
    # soft Jaccard, written out: 1 - Σ pg / (Σ p + Σ g - Σ pg), class-weighted average
    p, g, m = _np_parts(logits, target, pix)
    axis = -1 if pooling == "sample" else (0, 2)
    inter = (m * p * g).sum(axis)
    union = (m * p).sum(axis) + (m * g).sum(axis) - inter
    jac = 1 - inter / union
    cwn = cw.numpy()
    per = (jac * cwn).sum(-1) / cwn.sum()
    ref = per.mean() if pooling == "sample" else per
    got = tversky_loss(logits, target, alpha=1.0, beta=1.0, **kw)
    assert got.item() == pytest.approx(float(ref), rel=1e-10)


def test_tversky_equals_transcription_with_weights_and_alpha_matters():
    logits, target, pix, cw = _data(2)
    p, g, m = _np_parts(logits, target, pix)
    for alpha, beta in [(0.3, 0.7), (0.7, 0.3)]:
        ti = np_tversky_index(p, g, m, alpha, beta, 1e-5, axis=-1)  # (N, C)
        cwn = cw.numpy()
        ref = ((1 - ti) * cwn).sum(-1) / cwn.sum()
        got = tversky_loss(
            logits, target, alpha=alpha, beta=beta, sample_weight=pix, class_weight=cw
        )
        assert got.item() == pytest.approx(float(ref.mean()), rel=1e-10)
    a = tversky_loss(logits, target, alpha=0.3, beta=0.7)
    b = tversky_loss(logits, target, alpha=0.7, beta=0.3)
    assert abs(a.item() - b.item()) > 1e-3
    # Pooling TP, FP, FN over the classes first (micro) loses the asymmetry: under a softmax,
    # Σ_c FP_c = Σ_c FN_c, so swapping α and β changes nothing. Ours is per class.
    pm, gm, mm = _np_parts(logits, target)
    micro = [
        np_tversky_index(pm, gm, mm, al, be, 0.0, axis=(1, 2)).mean()
        for al, be in [(0.3, 0.7), (0.7, 0.3)]
    ]
    assert micro[0] == pytest.approx(micro[1], rel=1e-12)


@pytest.mark.parametrize("gamma", [4.0 / 3.0, 2.0, 1.0])
@pytest.mark.parametrize("pooling", ["sample", "batch"])
def test_focal_tversky_equals_paper_per_class_formula(gamma, pooling):
    logits, target, pix, cw = _data(3)
    p, g, m = _np_parts(logits, target, pix)
    axis = -1 if pooling == "sample" else (0, 2)
    ti = np_tversky_index(p, g, m, 0.3, 0.7, 1e-5, axis=axis)
    cwn = cw.numpy()
    per = ((1 - ti) ** (1 / gamma) * cwn).sum(-1) / cwn.sum()
    ref = per.mean() if pooling == "sample" else per
    got = focal_tversky_loss(
        logits, target, gamma=gamma, sample_weight=pix, class_weight=cw, pooling=pooling
    )
    assert got.item() == pytest.approx(float(ref), rel=1e-10)
    if gamma == 1.0:
        torch.testing.assert_close(
            got,
            tversky_loss(
                logits,
                target,
                alpha=0.3,
                beta=0.7,
                sample_weight=pix,
                class_weight=cw,
                pooling=pooling,
            ),
        )
    else:
        # the exponent applies per class, before averaging (not to the averaged loss)
        averaged_first = tversky_loss(
            logits, target, alpha=0.3, beta=0.7, sample_weight=pix, class_weight=cw, pooling=pooling
        ) ** (1 / gamma)
        assert abs(got.item() - averaged_first.item()) > 1e-4


def np_abraham_khan_ti(p, g, smooth, axis):
    """Abraham & Khan (2019), in their notation: α_AK = 0.7 weights the false negatives
    Σ (1-p)·g, β_AK = 0.3 the false positives Σ p·(1-g)."""
    tp = (p * g).sum(axis)
    return (tp + smooth) / (
        tp + 0.7 * ((1 - p) * g).sum(axis) + 0.3 * (p * (1 - g)).sum(axis) + smooth
    )


def test_focal_tversky_defaults_are_abraham_khan_binary():
    # Their released code: one sigmoid channel, sums over the whole batch (K.flatten), smooth=1,
    # (1 - TI)^0.75 (= 1/γ with γ = 4/3). Our names: α on FP, β on FN, so defaults 0.3, 0.7.
    g = torch.Generator().manual_seed(21)
    logits = torch.randn(N, 1, H, W, generator=g, dtype=torch.float64) * 2
    mask = (torch.rand(N, H, W, generator=g) < 0.3).to(torch.float64)
    p = 1 / (1 + np.exp(-logits.numpy()[:, 0]))
    ref = (1 - np_abraham_khan_ti(p, mask.numpy(), 1.0, axis=None)) ** 0.75
    got = focal_tversky_loss(logits, mask, mode="binary", smooth=1.0, pooling="batch")
    assert got.item() == pytest.approx(float(ref), rel=1e-12)
    per_image = (1 - np_abraham_khan_ti(p, mask.numpy(), 1.0, axis=(1, 2))) ** 0.75
    got = focal_tversky_loss(logits, mask, mode="binary", smooth=1.0)
    assert got.item() == pytest.approx(float(per_image.mean()), rel=1e-12)


@pytest.mark.parametrize("pooling", ["sample", "batch"])
def test_focal_tversky_defaults_are_abraham_khan_multiclass(pooling):
    # FTL = Σ_c (1 - TI_c)^{1/γ}; ours is the class mean, Σ_c / C when every class is present.
    logits, target, _, _ = _data(22)
    target[:, 0, :C] = torch.arange(C)  # every class in every image
    p, g, _ = _np_parts(logits, target)
    axis = -1 if pooling == "sample" else (0, 2)
    ftl = ((1 - np_abraham_khan_ti(p, g, 1e-5, axis)) ** (1 / (4 / 3))).sum(-1)
    ref = ftl.mean() / C if pooling == "sample" else ftl / C
    got = focal_tversky_loss(logits, target, pooling=pooling)
    assert got.item() == pytest.approx(float(ref), rel=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_focal_tversky_perfect_class_has_zero_not_nan_gradient(dtype):
    # d/dTI (1 - TI)^0.75 is infinite at TI = 1; the clamp gives a perfect class 0 instead.
    g = torch.Generator().manual_seed(23)
    target = torch.randint(0, C, (N, H, W), generator=g)
    onehot = torch.nn.functional.one_hot(target, C).movedim(-1, 1).to(dtype)
    perfect = (onehot * 200 - 100).requires_grad_(True)  # softmax exactly one-hot
    loss = focal_tversky_loss(perfect, target)
    loss.backward()
    assert loss.item() < 1e-20
    assert torch.equal(perfect.grad, torch.zeros_like(perfect))
    near = (onehot * 8).requires_grad_(True)  # TI close to, not at, 1
    focal_tversky_loss(near, target).backward()
    assert torch.isfinite(near.grad).all() and near.grad.abs().max() > 0


def np_sudre(p, g, m, weight_type, smooth=0.0):
    """Sudre et al. (2017), eq. 2, over one set of pixels; (C, S) arrays."""
    r = (m * g).sum(-1)
    if weight_type == "square":
        w = np.where(r > 0, 1.0 / np.where(r > 0, r, 1.0) ** 2, 0.0)
    elif weight_type == "simple":
        w = np.where(r > 0, 1.0 / np.where(r > 0, r, 1.0), 0.0)
    else:
        # an absent class gets weight 0 under every weight type (DECISIONS §5), uniform too
        w = np.where(r > 0, 1.0, 0.0)
    num = 2 * (w * (m * p * g).sum(-1)).sum() + smooth
    den = (w * ((m * p).sum(-1) + (m * g).sum(-1))).sum() + smooth
    return 1 - num / den


@pytest.mark.parametrize("weight_type", ["square", "simple", "uniform"])
@pytest.mark.parametrize("pooling", ["sample", "batch"])
def test_generalized_dice_equals_sudre_transcription(weight_type, pooling):
    logits, target, pix, _ = _data(4)
    target[0] = torch.where(target[0] == 3, 0, target[0])  # class 3 absent from sample 0
    p, g, m = _np_parts(logits, target, pix)
    if pooling == "sample":
        ref = np.mean([np_sudre(p[i], g[i], m[i], weight_type) for i in range(N)])
    else:

        def flat(a):
            return a.transpose(1, 0, 2).reshape(a.shape[1], -1)

        ref = np_sudre(flat(p), flat(g), flat(m), weight_type)
    got = generalized_dice_loss(
        logits, target, weight_type=weight_type, sample_weight=pix, pooling=pooling, smooth=0.0
    )
    assert got.item() == pytest.approx(float(ref), rel=1e-10)


def test_generalized_dice_weights_do_not_cancel():
    logits, _, _, _ = _data(5, c=3)
    balanced = torch.arange(H * W).reshape(1, H, W).repeat(N, 1, 1) % 3  # 10 pixels per class
    rare = torch.zeros(N, H, W, dtype=torch.long)
    rare[:, 0, :2] = 1
    rare[:, 1, :1] = 2
    gd = {
        (name, wt): generalized_dice_loss(logits, t, weight_type=wt, smooth=0.0).item()
        for name, t in [("balanced", balanced), ("rare", rare)]
        for wt in ["square", "simple", "uniform"]
    }
    # equal class frequencies: every weighting is the same loss
    assert gd["balanced", "square"] == pytest.approx(gd["balanced", "uniform"], rel=1e-12)
    assert gd["balanced", "simple"] == pytest.approx(gd["balanced", "uniform"], rel=1e-12)
    # imbalanced frequencies: the weights change the loss
    assert abs(gd["rare", "square"] - gd["rare", "uniform"]) > 1e-3
    assert abs(gd["rare", "simple"] - gd["rare", "uniform"]) > 1e-3
    # and the value is Sudre's
    p, g, m = _np_parts(logits, rare)
    ref = np.mean([np_sudre(p[i], g[i], m[i], "square") for i in range(N)])
    assert gd["rare", "square"] == pytest.approx(float(ref), rel=1e-10)


def test_generalized_dice_class_weight_multiplies_w_and_no_gradient_through_w():
    logits, target, _, cw = _data(6)
    p, g, _ = _np_parts(logits, target)
    r = g.sum(-1)
    w = cw.numpy()[None] / r**2
    num = 2 * (w * (p * g).sum(-1)).sum(-1)
    den = (w * (p.sum(-1) + r)).sum(-1)
    ref = np.mean(1 - num / den)
    got = generalized_dice_loss(logits, target, class_weight=cw, smooth=0.0)
    assert got.item() == pytest.approx(float(ref), rel=1e-10)
    # Gradient with respect to a soft target: Sudre's loss written out in torch, with
    # w_c = cw_c / G_c² computed from the target but detached ("carries no gradient").
    onehot = torch.nn.functional.one_hot(target, C).movedim(-1, 1).double()
    assert (onehot.sum((2, 3)) > 0).all()  # every class present in every sample: w finite
    smooth = 1e-5

    def reference(z, soft, detach):
        pr = torch.softmax(z, 1).reshape(N, C, -1)
        gt = soft.reshape(N, C, -1)
        big_g = gt.sum(-1)
        w = cw / (big_g.detach() if detach else big_g) ** 2
        num = 2 * (w * (pr * gt).sum(-1)).sum(-1) + smooth
        den = (w * (pr.sum(-1) + big_g)).sum(-1) + smooth
        return (1 - num / den).mean()  # pooling="sample", reduction="mean"

    def grads(fn):
        z = logits.clone().requires_grad_(True)
        soft = onehot.clone().requires_grad_(True)
        fn(z, soft).backward()
        return z.grad, soft.grad

    got_z, got_soft = grads(
        lambda z, soft: generalized_dice_loss(z, soft, class_weight=cw, smooth=smooth)
    )
    ref_z, ref_soft = grads(lambda z, soft: reference(z, soft, detach=True))
    _, through_w = grads(lambda z, soft: reference(z, soft, detach=False))
    torch.testing.assert_close(got_soft, ref_soft, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(got_z, ref_z, rtol=1e-6, atol=1e-6)
    # a w that carried gradient gives a different target gradient (here by ~2e-3), so the
    # comparison above fails if the library stops detaching w
    assert not torch.allclose(through_w, ref_soft, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fn", [tversky_loss, focal_tversky_loss, generalized_dice_loss])
@pytest.mark.parametrize("pooling", ["sample", "batch"])
def test_gradcheck_float64(fn, pooling):
    g = torch.Generator().manual_seed(7)
    logits = torch.randn(2, 3, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    target = torch.randint(0, 3, (2, 3, 3), generator=g)
    target[0, 0, 0] = 255
    pix = torch.rand(2, 3, 3, generator=g, dtype=torch.float64)
    cw = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda z: fn(
            z, target, sample_weight=pix, class_weight=cw, ignore_index=255, pooling=pooling
        ),
        (logits,),
    )


def test_zero_weight_pixel_equals_ignored_pixel_for_all_three():
    logits, target, pix, cw = _data(8)
    drop = torch.rand(N, H, W, generator=torch.Generator().manual_seed(9)) < 0.3
    ignored = torch.where(drop, torch.full_like(target, 255), target)
    zeroed = torch.where(drop, torch.zeros_like(pix), pix)
    for fn in [tversky_loss, focal_tversky_loss, generalized_dice_loss]:
        for pooling in ["sample", "batch"]:
            torch.testing.assert_close(
                fn(logits, target, sample_weight=zeroed, class_weight=cw, pooling=pooling),
                fn(
                    logits,
                    ignored,
                    sample_weight=pix,
                    class_weight=cw,
                    pooling=pooling,
                    ignore_index=255,
                ),
            )


def test_modules_match_functional():
    logits, target, pix, cw = _data(10)
    for mod, fn, kw in [
        (
            TverskyLoss(alpha=0.2, beta=0.8, class_weight=cw),
            tversky_loss,
            {"alpha": 0.2, "beta": 0.8},
        ),
        (FocalTverskyLoss(gamma=2.0, class_weight=cw), focal_tversky_loss, {"gamma": 2.0}),
        (
            GeneralizedDiceLoss(weight_type="simple", class_weight=cw),
            generalized_dice_loss,
            {"weight_type": "simple"},
        ),
    ]:
        assert "class_weight" in mod.state_dict()
        torch.testing.assert_close(
            mod(logits, target, sample_weight=pix),
            fn(logits, target, sample_weight=pix, class_weight=cw, **kw),
        )


def test_bad_options_raise():
    logits, target, _, _ = _data(11)
    with pytest.raises(ValueError, match=r"alpha must be a non-negative number; got -0.1"):
        tversky_loss(logits, target, alpha=-0.1)
    with pytest.raises(ValueError, match=r"gamma must be a positive number; got 0"):
        focal_tversky_loss(logits, target, gamma=0)
    with pytest.raises(ValueError, match=r"weight_type must be one of .*'log'"):
        generalized_dice_loss(logits, target, weight_type="log")
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3, 6, 5\)"):
        generalized_dice_loss(logits, target, sample_weight=torch.ones(N, W, H))
