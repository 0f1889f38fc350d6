"""Lovász-softmax and Lovász hinge against a NumPy transcription of Berman et al.'s algorithm
(each class sorts its own errors), plus the 0/1 mask rule and gradcheck."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from weightwise.losses import lovasz_hinge_loss, lovasz_softmax_loss
from weightwise.nn import LovaszHingeLoss, LovaszSoftmaxLoss


def np_lovasz_grad(gt_sorted):
    """Berman et al., Alg. 1: gradient of the Lovász extension of the Jaccard loss."""
    gts = gt_sorted.sum()
    intersection = gts - np.cumsum(gt_sorted)
    union = gts + np.cumsum(1.0 - gt_sorted)
    jaccard = 1.0 - intersection / union
    if len(gt_sorted) > 1:
        jaccard[1:] = jaccard[1:] - jaccard[:-1]
    return jaccard


def np_lovasz_softmax_flat(probas, labels, classes="present"):
    """probas (P, C), labels (P,); the mean over classes of each class's own sorted errors."""
    losses = []
    for c in range(probas.shape[1]):
        fg = (labels == c).astype(np.float64)
        if classes == "present" and fg.sum() == 0:
            continue
        errors = np.abs(fg - probas[:, c])
        order = np.argsort(-errors, kind="stable")
        losses.append(np.dot(errors[order], np_lovasz_grad(fg[order])))
    return float(np.mean(losses)) if losses else 0.0


def np_lovasz_softmax(probas, labels, *, classes="present", per_image=False, ignore=None):
    """probas (N, C, H, W), labels (N, H, W)."""

    def flat(p, lab):
        p = p.reshape(p.shape[0], -1).T
        lab = lab.reshape(-1)
        if ignore is not None:
            keep = lab != ignore
            p, lab = p[keep], lab[keep]
        return p, lab

    if per_image:
        return float(
            np.mean(
                [
                    np_lovasz_softmax_flat(*flat(p, lab), classes)
                    for p, lab in zip(probas, labels, strict=True)
                ]
            )
        )
    p = probas.transpose(1, 0, 2, 3).reshape(probas.shape[1], -1)
    return np_lovasz_softmax_flat(*flat(p[:, None], labels.reshape(1, -1)), classes)


def np_lovasz_hinge_flat(logits, labels):
    if len(labels) == 0:
        return 0.0
    signs = 2.0 * labels - 1.0
    errors = 1.0 - logits * signs
    order = np.argsort(-errors, kind="stable")
    return float(np.dot(np.maximum(errors[order], 0.0), np_lovasz_grad(labels[order])))


def np_lovasz_hinge(logits, labels, *, per_image=True, ignore=None):
    def flat(x, lab):
        x, lab = x.reshape(-1), lab.reshape(-1)
        if ignore is not None:
            keep = lab != ignore
            x, lab = x[keep], lab[keep]
        return x, lab.astype(np.float64)

    if per_image:
        return float(
            np.mean(
                [np_lovasz_hinge_flat(*flat(x, lab)) for x, lab in zip(logits, labels, strict=True)]
            )
        )
    return np_lovasz_hinge_flat(*flat(logits, labels))


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _mc(c, seed, ignore=None, shape=(3, 6, 7)):
    g = torch.Generator().manual_seed(seed)
    n, h, w = shape
    logits = torch.randn(n, c, h, w, generator=g, dtype=torch.float64) * 2
    target = torch.randint(0, c, (n, h, w), generator=g)
    if c > 2:
        target[1][target[1] == c - 1] = 0  # the last class is absent from image 1
    if ignore is not None:
        target.view(-1)[::4] = ignore
    return logits, target


@pytest.mark.parametrize("c", [2, 3, 5])
@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("classes", ["present", "all"])
@pytest.mark.parametrize("ignore", [None, 255])
def test_lovasz_softmax_equals_berman_transcription(c, per_image, classes, ignore):
    logits, target = _mc(c, seed=c, ignore=ignore)
    ref = np_lovasz_softmax(
        _softmax(logits.numpy()),
        target.numpy(),
        classes=classes,
        per_image=per_image,
        ignore=ignore,
    )
    got = lovasz_softmax_loss(
        logits, target, classes=classes, per_image=per_image, ignore_index=ignore
    )
    assert got.item() == pytest.approx(ref, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("per_image", [True, False])
@pytest.mark.parametrize("ignore", [None, 255])
@pytest.mark.parametrize("channel", [False, True])
def test_lovasz_hinge_equals_berman_transcription(per_image, ignore, channel):
    g = torch.Generator().manual_seed(11)
    logits = torch.randn(4, 6, 7, generator=g, dtype=torch.float64) * 2
    target = (torch.rand(4, 6, 7, generator=g) > 0.6).long()
    target[2] = 0  # an image without foreground still has a hinge loss
    if ignore is not None:
        target.view(-1)[::5] = ignore
    ref = np_lovasz_hinge(logits.numpy(), target.numpy(), per_image=per_image, ignore=ignore)
    x = logits[:, None] if channel else logits
    got = lovasz_hinge_loss(x, target, per_image=per_image, ignore_index=ignore)
    assert got.item() == pytest.approx(ref, rel=1e-10, abs=1e-12)


def test_lovasz_softmax_none_and_class_list_and_class_weight():
    logits, target = _mc(3, seed=1)
    probas = _softmax(logits.numpy())
    per_class = lovasz_softmax_loss(logits, target, reduction="none", classes="all")
    assert per_class.shape == (3,)
    p = probas.transpose(1, 0, 2, 3).reshape(3, -1).T
    lab = target.numpy().reshape(-1)
    for c in range(3):
        fg = (lab == c).astype(np.float64)
        err = np.abs(fg - p[:, c])
        order = np.argsort(-err, kind="stable")
        assert per_class[c].item() == pytest.approx(
            float(np.dot(err[order], np_lovasz_grad(fg[order]))), rel=1e-10
        )
    got = lovasz_softmax_loss(logits, target, classes=[0, 2])
    assert got.item() == pytest.approx((per_class[0] + per_class[2]).item() / 2, rel=1e-12)
    cw = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    got = lovasz_softmax_loss(logits, target, classes="all", class_weight=cw)
    assert got.item() == pytest.approx((per_class * cw).sum().item() / 6.0, rel=1e-12)
    per_image = lovasz_softmax_loss(logits, target, per_image=True, reduction="none")
    assert per_image.shape == (logits.shape[0],)
    for i in range(logits.shape[0]):
        ref = np_lovasz_softmax_flat(probas[i].reshape(3, -1).T, target.numpy()[i].reshape(-1))
        assert per_image[i].item() == pytest.approx(ref, rel=1e-10)


def test_mask_sample_weight_equals_ignore_and_other_values_raise():
    logits, target = _mc(3, seed=2)
    drop = torch.rand(target.shape, generator=torch.Generator().manual_seed(3)) < 0.3
    mask = (~drop).double()
    ignored = torch.where(drop, torch.full_like(target, 255), target)
    for per_image in [False, True]:
        torch.testing.assert_close(
            lovasz_softmax_loss(logits, target, sample_weight=mask, per_image=per_image),
            lovasz_softmax_loss(logits, ignored, ignore_index=255, per_image=per_image),
        )
    binary = (target > 0).long()
    torch.testing.assert_close(
        lovasz_hinge_loss(logits[:, 0], binary, sample_weight=mask),
        lovasz_hinge_loss(logits[:, 0], torch.where(drop, 255, binary), ignore_index=255),
    )
    # an (N,) 0/1 mask removes whole images
    keep = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(
        lovasz_hinge_loss(logits[:, 0], binary, sample_weight=keep),
        lovasz_hinge_loss(logits[[0, 2], 0], binary[[0, 2]]),
    )
    with pytest.raises(ValueError, match=r"must be a 0/1 mask.*got 0.5 at index \(0, 0, 1\)"):
        w = torch.ones(target.shape, dtype=torch.float64)
        w[0, 0, 1] = 0.5
        lovasz_softmax_loss(logits, target, sample_weight=w)
    with pytest.raises(ValueError, match=r"must be a 0/1 mask.*got 2.0 at index 1"):
        lovasz_hinge_loss(logits[:, 0], binary, sample_weight=torch.tensor([1.0, 2.0, 1.0]))


@pytest.mark.parametrize("per_image", [False, True])
def test_gradcheck_float64(per_image):
    logits, target = _mc(3, seed=4, ignore=255, shape=(2, 3, 3))
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda z: lovasz_softmax_loss(z, target, per_image=per_image, ignore_index=255),
        (logits,),
    )
    x = logits.detach()[:, 0].clone().requires_grad_(True)
    binary = (target > 0).long()
    assert torch.autograd.gradcheck(
        lambda z: lovasz_hinge_loss(z, binary, per_image=per_image), (x,)
    )


def test_everything_removed_gives_zero_with_zero_gradient():
    logits, target = _mc(3, seed=5)
    logits.requires_grad_(True)
    loss = lovasz_softmax_loss(
        logits, torch.full_like(target, 255), ignore_index=255, per_image=True
    )
    assert loss.item() == 0.0
    (grad,) = torch.autograd.grad(loss, logits)
    assert torch.equal(grad, torch.zeros_like(grad))


def test_modules_and_bad_input():
    logits, target = _mc(3, seed=6)
    torch.testing.assert_close(
        LovaszSoftmaxLoss(per_image=True)(logits, target),
        lovasz_softmax_loss(logits, target, per_image=True),
    )
    binary = (target > 0).long()
    torch.testing.assert_close(
        LovaszHingeLoss()(logits[:, :1], binary), lovasz_hinge_loss(logits[:, 0], binary)
    )
    with pytest.raises(ValueError, match=r"target must be in \[0, 3\); got 7"):
        lovasz_softmax_loss(logits, torch.full_like(target, 7))
    with pytest.raises(ValueError, match=r"classes must hold class indices in \[0, 3\)"):
        lovasz_softmax_loss(logits, target, classes=[0, 3])
    with pytest.raises(ValueError, match=r"target must have shape \(3, 6, 7\).*got \(3, 7, 6\)"):
        lovasz_hinge_loss(logits[:, 0], binary.transpose(1, 2))
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3, 7\) does not fit"):
        lovasz_hinge_loss(logits[:, 0], binary, sample_weight=torch.ones(3, 7))
