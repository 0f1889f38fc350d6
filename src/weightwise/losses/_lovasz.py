r"""Lovász-softmax and Lovász hinge losses (Berman, Rannen Triki & Blaschko, CVPR 2018).

The Lovász extension of the Jaccard loss ``1 - |y ∩ ŷ| / |y ∪ ŷ|`` is evaluated on a vector of
pixel errors ``e``: sort the errors in decreasing order and take the dot product with the
increments of the Jaccard loss along the sorted order,

    Δ_J(k) = 1 - (G - Σ_{i≤k} g_(i)) / (G + Σ_{i≤k} (1 - g_(i)))
    loss   = Σ_k e_(k)·(Δ_J(k) - Δ_J(k-1))

with ``g_(i)`` the ground truth of the ``i``-th largest error and ``G = Σ g``. Each class sorts
its **own** errors (sorting one shared array is a known bug of some ports).

Weights: the Jaccard index has no per-pixel weights, so ``sample_weight`` must be a 0/1 mask
(``(N,)`` or per-pixel): a 0 removes the pixel, as ``ignore_index`` does. Any other value is a
``ValueError``. ``class_weight`` (softmax) weights the per-class terms:
``Σ_c cw_c·ℓ_c / Σ_c cw_c`` over the kept classes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from .._checks import (
    assert_async,
    check_float_logits,
    check_not_meta,
    class_vector_like,
    format_index,
    prepare_class_target,
    value_check_mode,
)
from ..reduction import Reduction, SyncArg, _check_reduction, broadcast_weight
from ._dense_inputs import check_binary_target, squeeze_binary_channel
from ._dense_reduce import reduce_samples, safe_div

__all__ = ["lovasz_hinge_loss", "lovasz_softmax_loss"]


def _lovasz_gradient(gt_sorted: torch.Tensor, valid_sorted: torch.Tensor) -> torch.Tensor:
    """Increments of the Jaccard loss along the sorted order (no gradient), last dim sorted."""
    total = gt_sorted.sum(-1, keepdim=True)
    intersection = total - gt_sorted.cumsum(-1)
    union = total + (valid_sorted - gt_sorted).cumsum(-1)
    jaccard = 1 - safe_div(intersection, union)
    return torch.cat([jaccard[..., :1], jaccard[..., 1:] - jaccard[..., :-1]], dim=-1)


def _mask(sample_weight: Any, grid: tuple[int, ...], like: torch.Tensor) -> torch.Tensor | None:
    """A 0/1 ``sample_weight`` as a boolean per-pixel mask on ``grid``."""
    if sample_weight is None:
        return None
    raw = torch.as_tensor(sample_weight)
    check_not_meta(raw, "sample_weight", like)
    raw = raw.to(like.device)
    w = broadcast_weight(raw, grid, name="sample_weight", like=like)
    mode = value_check_mode(raw)
    if mode == "async" and raw.numel() > 0:
        assert_async(
            ((raw == 0) | (raw == 1)).all(), "sample_weight of a Lovász loss must be a 0/1 mask"
        )
    elif mode == "eager":
        bad = (raw != 0) & (raw != 1)
        if bool(bad.any()):
            pos = int(torch.nonzero(bad.reshape(-1))[0, 0])
            raise ValueError(
                "sample_weight of a Lovász loss must be a 0/1 mask: the Lovász extension of the "
                "Jaccard index is defined on sets, so a pixel is in or out; got "
                f"{raw.reshape(-1)[pos].item()!r} at {format_index(pos, tuple(raw.shape))}"
            )
    return w != 0


def _check_per_image(per_image: Any) -> None:
    if not isinstance(per_image, bool):
        raise ValueError(f"per_image must be True or False; got {per_image!r}")


def lovasz_softmax_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    classes: str | Sequence[int] = "present",
    per_image: bool = False,
    sample_weight: Any = None,
    class_weight: Any = None,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    sync: SyncArg = False,
) -> torch.Tensor:
    r"""Lovász-softmax loss for multi-class segmentation (Berman et al. 2018).

    Shapes: ``logits`` ``(N, C, d1, ...)`` (softmax over ``C``), ``target`` class indices
    ``(N, d1, ...)``, ``sample_weight`` a 0/1 mask ``(N,)`` or ``(N, d1, ...)``,
    ``class_weight`` ``(C,)``.

    For each class ``c`` the errors are ``e = |[y = c] - p_c|`` over the pixels kept (not
    ignored, mask 1), and ``ℓ_c`` is the Lovász extension of the Jaccard loss at ``e`` (module
    docstring). ``classes="present"`` averages over the classes present in the target (of the
    image with ``per_image=True``, of the batch otherwise), ``"all"`` over every class, and a
    sequence of class indices over those.

    ``per_image=False`` (default, as in Berman) treats the batch as one image: every reduction
    but ``"none"`` returns the loss, and ``"none"`` returns the per-class losses ``(C,)`` (0 for
    a class left out). ``per_image=True`` computes a loss per image and reduces the ``(N,)``
    losses as :func:`weightwise.losses.dice_loss` does (``"mean"`` over the images kept). An
    image with no class to average (every pixel removed, or no present class) drops out of the
    average; Berman's code counts it as a 0.

    Example:
        >>> import torch
        >>> logits, mask = torch.randn(2, 3, 8, 8), torch.randint(0, 3, (2, 8, 8))
        >>> loss = lovasz_softmax_loss(logits, mask, ignore_index=None)
    """
    _check_reduction(reduction)
    _check_per_image(per_image)
    prep = prepare_class_target(logits, target, ignore_index=ignore_index, allow_soft=False)
    n, c, grid = logits.shape[0], prep.num_classes, prep.grid
    if isinstance(classes, str):
        if classes not in ("present", "all"):
            raise ValueError(
                f"classes must be 'present', 'all' or a sequence of class indices; got {classes!r}"
            )
        chosen: list[int] | None = None
    else:
        chosen = [int(k) for k in classes]
        bad = [k for k in chosen if not 0 <= k < c]
        if bad or not chosen:
            raise ValueError(f"classes must hold class indices in [0, {c}); got {list(classes)!r}")
    cw = class_vector_like(class_weight, logits)

    pixels = math.prod(grid[1:])  # explicit, not -1: an empty batch (N = 0) reshapes too
    target = prep.target.reshape(n, pixels)
    if prep.valid is None:
        valid = torch.ones_like(target, dtype=torch.bool)
    else:
        valid = prep.valid.reshape(n, pixels)
    mask = _mask(sample_weight, grid, logits)
    if mask is not None:
        valid = valid & mask.reshape(n, pixels)
    safe = torch.where(valid, target, torch.zeros_like(target))
    # softmax subtracts the per-pixel max before exponentiating: no overflow.
    prob = torch.softmax(logits.reshape(n, c, pixels), dim=1)
    fg = torch.zeros_like(prob).scatter_(1, safe.unsqueeze(1), 1.0)
    fg = fg * valid.unsqueeze(1).to(prob.dtype)
    valid_f = valid.unsqueeze(1).expand_as(prob).to(prob.dtype)
    if not per_image:
        # the batch is one image: (1, C, N·S)
        prob = prob.transpose(0, 1).reshape(1, c, n * pixels)
        fg = fg.transpose(0, 1).reshape(1, c, n * pixels)
        valid_f = valid_f.transpose(0, 1).reshape(1, c, n * pixels)
    # Removed pixels get error -1 so that they sort after every kept pixel (errors are >= 0).
    errors = torch.where(valid_f > 0, (fg - prob).abs(), torch.full_like(prob, -1.0))
    errors_sorted, perm = torch.sort(errors, dim=-1, descending=True)
    fg_sorted = fg.gather(-1, perm)
    valid_sorted = valid_f.gather(-1, perm)
    grad = _lovasz_gradient(fg_sorted, valid_sorted)
    per_class = (errors_sorted * valid_sorted * grad).sum(-1)  # (B, C)

    has_pixels = valid_f.sum(-1) > 0
    if chosen is not None:
        keep = torch.zeros(c, dtype=torch.bool, device=logits.device)
        keep[chosen] = True
        keep = keep.unsqueeze(0) & has_pixels
    elif classes == "present":
        keep = fg.sum(-1) > 0
    else:
        keep = has_pixels
    wc = keep.to(prob.dtype) if cw is None else keep.to(prob.dtype) * cw
    den = wc.sum(-1)
    value = safe_div((per_class * wc).sum(-1), den)
    kept = den > 0
    if per_image:
        return reduce_samples(value, kept, None, reduction=reduction, sync=sync)
    if reduction == "none":
        return per_class[0] * keep[0].to(prob.dtype)
    return torch.where(kept, value, torch.zeros_like(value))[0]


def lovasz_hinge_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    per_image: bool = True,
    sample_weight: Any = None,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    sync: SyncArg = False,
) -> torch.Tensor:
    r"""Lovász hinge loss for binary segmentation (Berman et al. 2018).

    Shapes: ``logits`` ``(N, 1, d1, ...)`` or ``(N, d1, ...)`` (raw scores), ``target`` 0/1 of
    the same spatial shape, ``sample_weight`` a 0/1 mask ``(N,)`` or ``(N, d1, ...)``.

    The errors are the hinge errors ``e = 1 - x·(2y - 1)``, and the loss is the Lovász
    extension of the foreground Jaccard loss at ``max(e, 0)`` (module docstring).
    ``per_image=True`` (default, as in Berman) computes one loss per image and reduces the
    ``(N,)`` losses as :func:`weightwise.losses.dice_loss` does; an image whose every pixel is
    removed drops out (Berman's code counts it as a 0). ``per_image=False`` treats the batch as
    one image and returns a scalar for every reduction.

    Example:
        >>> import torch
        >>> logits, mask = torch.randn(2, 1, 8, 8), torch.randint(0, 2, (2, 8, 8))
        >>> loss = lovasz_hinge_loss(logits, mask)
    """
    _check_reduction(reduction)
    _check_per_image(per_image)
    check_float_logits(logits)
    if logits.dim() < 1:
        raise ValueError("logits must have shape (N, ...); got a scalar")
    if not isinstance(target, torch.Tensor):
        target = torch.as_tensor(target, device=logits.device)
    check_not_meta(target, "target", logits)
    target = target.to(logits.device)
    n = logits.shape[0]
    shape = tuple(logits.shape)
    logits, target = squeeze_binary_channel(logits, target)
    if tuple(target.shape) != tuple(logits.shape):
        raise ValueError(
            f"target must have shape {tuple(logits.shape)} for logits of shape {shape}; got "
            f"{tuple(target.shape)}"
        )
    grid = tuple(logits.shape)
    check_binary_target(target, ignore_index)
    valid = torch.ones(grid, dtype=torch.bool, device=logits.device)
    if ignore_index is not None:
        valid = target != ignore_index
    mask = _mask(sample_weight, grid, logits)
    if mask is not None:
        valid = valid & mask
    labels = torch.where(valid, target.to(logits.dtype), torch.zeros_like(logits))
    rows = n if per_image else 1
    per_row = math.prod(grid) // max(rows, 1)  # explicit, not -1: N = 0 reshapes too
    x = logits.reshape(rows, per_row)
    labels = labels.reshape(rows, per_row)
    valid_f = valid.reshape(rows, per_row).to(logits.dtype)
    signs = 2 * labels - 1
    errors = 1 - x * signs
    # Removed pixels sort last; their contribution is multiplied by 0 below.
    lowest = torch.finfo(logits.dtype).min
    errors = torch.where(valid_f > 0, errors, torch.full_like(errors, lowest))
    errors_sorted, perm = torch.sort(errors, dim=-1, descending=True)
    labels_sorted = labels.gather(-1, perm)
    valid_sorted = valid_f.gather(-1, perm)
    grad = _lovasz_gradient(labels_sorted, valid_sorted)
    value = (torch.relu(errors_sorted) * valid_sorted * grad).sum(-1)
    kept = valid_f.sum(-1) > 0
    if per_image:
        return reduce_samples(value, kept, None, reduction=reduction, sync=sync)
    return torch.where(kept, value, torch.zeros_like(value))[0]
