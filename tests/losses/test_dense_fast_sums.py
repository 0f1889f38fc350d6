"""The one-pass multi-class Dice sums (and dice + CE) equal the straightforward autograd formula.

``_SoftmaxHardSums`` computes ``I``, ``P`` (and the cross-entropy sum of
``CompoundLoss.dice_ce``) from logits and class indices without a one-hot, and recomputes the
softmax in its backward (small logits keep it instead; both are tested). Here it is checked
against the formula written out with a one-hot (``softmax``, ``one_hot``, products, sums) and
plain autograd: values and gradients, in float64 (1e-6) and float32 (1e-5), for every mode of
weighting the function covers, then end to end through ``dice_loss`` and
``CompoundLoss.dice_ce`` for every pooling / empty / weights combination.
"""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from weightwise.losses import _dense_sums, cross_entropy, dice_loss
from weightwise.losses._dense_sums import _SoftmaxHardSums
from weightwise.nn import CompoundLoss

TOL = {torch.float64: 1e-6, torch.float32: 1e-5}


def _close(a: torch.Tensor, b: torch.Tensor, dtype: torch.dtype) -> None:
    torch.testing.assert_close(a, b, rtol=TOL[dtype], atol=TOL[dtype])


def _data(dtype=torch.float64, seed=0, n=3, c=4, h=5, w=6):
    g = torch.Generator().manual_seed(seed)
    logits = (2 * torch.randn(n, c, h, w, generator=g)).to(dtype)
    target = torch.randint(0, c, (n, h, w), generator=g)
    target[0][target[0] == c - 1] = 0  # class c-1 absent from sample 0 (an empty class)
    target[1, 0, :3] = 255  # ignored pixels when ignore_index=255
    pix = torch.rand(n, h, w, generator=g).to(dtype)
    pix[-1, 1] = 0.0
    sample = torch.tensor([1.0, 0.0, 2.5], dtype=dtype)[:n]  # one sample of weight 0
    cw = (torch.rand(c, generator=g) + 0.1).to(dtype)
    return logits, target, pix, sample, cw


# --- the autograd Function against the formula --------------------------------------------


def _reference_sums(x, hard, pixel, squared, coef, cw):
    c = x.shape[1]
    p = torch.softmax(x, dim=1)
    onehot = F.one_hot(hard, c).permute(0, 2, 1).to(x.dtype)
    m = torch.ones_like(p[:, :1]) if pixel is None else pixel
    pp = p * p if squared else p
    inter = (m * p * onehot).sum(-1)
    big_p = (m * pp).sum(-1)
    big_g = (m * onehot).sum(-1)
    ce = torch.zeros((), dtype=x.dtype)
    if coef is not None:
        logp = torch.log_softmax(x, dim=1)
        wt = onehot if cw is None else onehot * cw.view(1, c, 1)
        ce = -(coef.unsqueeze(1) * wt * logp).sum() if coef.dim() else -(coef * wt * logp).sum()
    return inter, big_p, big_g, ce


SUM_CASES = list(
    itertools.product([False, True], [False, True], [None, "scalar", "pixel"], [False, True])
)


@pytest.mark.parametrize("keep_softmax", [True, False], ids=["kept", "recomputed"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(("use_pixel", "squared", "ce", "use_cw"), SUM_CASES)
def test_function_equals_formula_values_and_gradients(
    dtype, use_pixel, squared, ce, use_cw, keep_softmax, monkeypatch
):
    # Small logits keep the softmax for backward, large ones recompute it: both, at this size.
    monkeypatch.setattr(_dense_sums, "_KEEP_SOFTMAX_ELEMENTS", 1 << 20 if keep_softmax else 0)
    x, target, pix, _, cw = _data(dtype, seed=1)
    n, c = x.shape[:2]
    hard = target.clamp_max(c - 1).reshape(n, -1)
    x3 = x.reshape(n, c, -1).requires_grad_(True)
    pixel = pix.reshape(n, 1, -1) if use_pixel else None
    coef = {None: None, "scalar": torch.tensor(0.3, dtype=dtype), "pixel": pix.reshape(n, -1)}[ce]
    cwv = cw if use_cw and ce is not None else None
    inter, big_p, ce_val = _SoftmaxHardSums.apply(x3, hard, pixel, squared, coef, cwv)
    assert (inter.grad_fn._forward_cls is _SoftmaxHardSums) and (
        (inter.grad_fn.kept_p is not None) is keep_softmax
    )
    r_inter, r_p, _, r_ce = _reference_sums(x3, hard, pixel, squared, coef, cwv)
    for a, b in ((inter, r_inter), (big_p, r_p), (ce_val, r_ce)):
        _close(a, b, dtype)
    # Gradients for random upstream gradients of every output.
    g = torch.Generator().manual_seed(2)
    gi, gp = (torch.randn(n, c, generator=g).to(dtype) for _ in range(2))
    gce = torch.randn((), generator=g).to(dtype)
    (got,) = torch.autograd.grad((inter * gi).sum() + (big_p * gp).sum() + ce_val * gce, x3)
    (want,) = torch.autograd.grad((r_inter * gi).sum() + (r_p * gp).sum() + r_ce * gce, x3)
    _close(got, want, dtype)


@pytest.mark.parametrize(("use_pixel", "squared", "ce", "use_cw"), SUM_CASES)
def test_function_gradcheck_float64(use_pixel, squared, ce, use_cw):
    x, target, pix, _, cw = _data(torch.float64, seed=3, n=2, c=3, h=3, w=4)
    n, c = x.shape[:2]
    hard = target.clamp_max(c - 1).reshape(n, -1)
    pixel = pix.reshape(n, 1, -1) if use_pixel else None
    coef = {None: None, "scalar": torch.tensor(0.3, dtype=x.dtype), "pixel": pix.reshape(n, -1)}[ce]
    cwv = cw[:c] if use_cw and ce is not None else None
    x3 = x.reshape(n, c, -1).clone().requires_grad_(True)

    def fn(z):
        return _SoftmaxHardSums.apply(z, hard, pixel, squared, coef, cwv)

    assert torch.autograd.gradcheck(fn, (x3,))
    assert torch.autograd.gradgradcheck(fn, (x3,))


# --- dice_loss and dice + CE end to end against the formula --------------------------------


def _reference_dice(x, target, *, sw, cw, ignore, squared, pooling, include_bg, empty, reduction):
    """DECISIONS §5 written out with a one-hot, for multi-class hard targets."""
    smooth = 1e-5
    n, c = x.shape[:2]
    t = target.reshape(n, -1)
    valid = torch.ones_like(t, dtype=torch.bool) if ignore is None else t != ignore
    onehot = F.one_hot(torch.where(valid, t, 0), c).permute(0, 2, 1).to(x.dtype)
    p = torch.softmax(x, dim=1).reshape(n, c, -1)
    m = valid.to(x.dtype).unsqueeze(1)
    s = None
    if sw is not None and sw.dim() == 1:
        s = sw
    elif sw is not None:
        m = m * sw.reshape(n, 1, -1)
    pp = p * p if squared else p
    inter, big_p, big_g = (m * p * onehot).sum(-1), (m * pp).sum(-1), (m * onehot).sum(-1)
    cwv = torch.ones(c, dtype=x.dtype) if cw is None else cw
    if not include_bg:
        inter, big_p, big_g, cwv = inter[:, 1:], big_p[:, 1:], big_g[:, 1:], cwv[1:]
    if pooling == "batch":
        if s is not None:
            inter, big_p, big_g = (v * s[:, None] for v in (inter, big_p, big_g))
        inter, big_p, big_g = inter.sum(0), big_p.sum(0), big_g.sum(0)
    ell = 1 - (2 * inter + smooth) / (big_p + big_g + smooth)
    is_empty = big_g == 0
    if pooling == "sample" and s is not None:
        is_empty = is_empty | (s == 0)[:, None]
    if empty == "skip":
        keep, val = ~is_empty, ell
    else:
        keep = torch.ones_like(is_empty)
        val = torch.where(is_empty, torch.full_like(ell, 1.0 if empty == "zero" else 0.0), ell)
    wc = keep.to(x.dtype) * cwv
    den = wc.sum(-1)
    value = (val * wc).sum(-1) / torch.where(den > 0, den, torch.ones_like(den))
    kept = den > 0
    if pooling == "batch":
        if reduction == "none":
            return val * keep.to(x.dtype)
        return torch.where(kept, value, torch.zeros_like(value))
    sn = torch.ones(n, dtype=x.dtype) if s is None else s
    sk = sn * kept.to(x.dtype)
    weighted = torch.where(kept, value, torch.zeros_like(value)) * sk
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    if reduction == "mean":
        return weighted.sum() / kept.sum()
    return weighted.sum() / sk.sum()  # weighted_mean


REDUCTIONS = ["mean", "weighted_mean", "sum", "none"]
E2E_CASES = [
    (sw, use_cw, ignore, pooling, empty, i % 2 == 1, i % 3 != 2, REDUCTIONS[i % 4])
    for i, (sw, use_cw, ignore, pooling, empty) in enumerate(
        itertools.product(
            [None, "sample", "pixel"],
            [False, True],
            [None, 255],
            ["sample", "batch"],
            ["skip", "zero", "one"],
        )
    )
]


def _weights(sw, use_cw, pix, sample, cw):
    return {None: None, "sample": sample, "pixel": pix}[sw], (cw if use_cw else None)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(
    ("sw", "use_cw", "ignore", "pooling", "empty", "squared", "include_bg", "reduction"),
    E2E_CASES,
)
def test_dice_loss_equals_formula(
    dtype, sw, use_cw, ignore, pooling, empty, squared, include_bg, reduction
):
    x, target, pix, sample, cw = _data(dtype, seed=4)
    if ignore is None:
        target = target.clamp_max(x.shape[1] - 1)
    weight, cwv = _weights(sw, use_cw, pix, sample, cw)
    opts = dict(pooling=pooling, empty=empty, squared=squared, reduction=reduction)
    x1 = x.clone().requires_grad_(True)
    x2 = x.clone().requires_grad_(True)
    got = dice_loss(
        x1,
        target,
        sample_weight=weight,
        class_weight=cwv,
        ignore_index=ignore,
        include_background=include_bg,
        **opts,
    )
    want = _reference_dice(
        x2, target, sw=weight, cw=cwv, ignore=ignore, include_bg=include_bg, **opts
    )
    _close(got, want, dtype)
    up = torch.linspace(0.5, 1.5, got.numel(), dtype=dtype).reshape(got.shape)
    (g1,) = torch.autograd.grad((got * up).sum(), x1)
    (g2,) = torch.autograd.grad((want * up).sum(), x2)
    _close(g1, g2, dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(
    ("sw", "use_cw", "ignore", "pooling", "empty", "squared", "include_bg", "reduction"),
    E2E_CASES,
)
def test_dice_ce_fast_path_equals_formula(
    dtype, sw, use_cw, ignore, pooling, empty, squared, include_bg, reduction
):
    x, target, pix, sample, cw = _data(dtype, seed=5)
    if ignore is None:
        target = target.clamp_max(x.shape[1] - 1)
    weight, cwv = _weights(sw, use_cw, pix, sample, cw)
    ce_reduction = "mean" if reduction == "none" else reduction
    loss_fn = CompoundLoss.dice_ce(
        class_weight=cwv,
        ignore_index=ignore,
        dice_weight=0.7,
        ce_weight=0.3,
        pooling=pooling,
        empty=empty,
        squared=squared,
        include_background=include_bg,
        reduction=ce_reduction,
    )
    x1 = x.clone().requires_grad_(True)
    x2 = x.clone().requires_grad_(True)
    assert loss_fn._fast_dice_ce(x1, target, weight) is not None
    got = loss_fn(x1, target, sample_weight=weight)
    dice = _reference_dice(
        x2,
        target,
        sw=weight,
        cw=cwv,
        ignore=ignore,
        squared=squared,
        pooling=pooling,
        include_bg=include_bg,
        empty=empty,
        reduction=ce_reduction,
    )
    ce = cross_entropy(
        x2,
        target,
        sample_weight=weight,
        class_weight=cwv,
        ignore_index=ignore,
        reduction=ce_reduction,
        fused=False,
    )
    _close(got, 0.7 * dice + 0.3 * ce, dtype)
    _close(loss_fn.last_terms["dice"], dice.detach(), dtype)
    _close(loss_fn.last_terms["ce"], ce.detach(), dtype)
    (g1,) = torch.autograd.grad(got, x1)
    (g2,) = torch.autograd.grad(0.7 * dice + 0.3 * ce, x2)
    _close(g1, g2, dtype)


def test_dice_ce_falls_back_when_the_fast_path_does_not_apply():
    x, target, pix, _, cw = _data(torch.float64, seed=6)
    target = target.clamp_max(x.shape[1] - 1)
    smoothing = CompoundLoss.dice_ce(class_weight=cw)
    smoothing.terms["ce"].label_smoothing = 0.1
    assert smoothing._fast_dice_ce(x, target, None) is None
    with_grad_weight = pix.clone().requires_grad_(True)
    loss_fn = CompoundLoss.dice_ce(class_weight=cw)
    assert loss_fn._fast_dice_ce(x, target, with_grad_weight) is None
    got = loss_fn(x, target, sample_weight=with_grad_weight)
    want = dice_loss(x, target, sample_weight=pix, class_weight=cw) + cross_entropy(
        x, target, sample_weight=pix, class_weight=cw
    )
    _close(got, want, torch.float64)
    (gw,) = torch.autograd.grad(got, with_grad_weight)
    assert gw.abs().sum() > 0


def test_dice_ce_fast_path_rejects_bad_targets_once():
    x, target, _, _, _ = _data(torch.float64, seed=7)
    target = target.clamp_max(x.shape[1] - 1)
    target[0, 0, 0] = 7
    with pytest.raises(ValueError, match="target"):
        CompoundLoss.dice_ce()(x, target)
