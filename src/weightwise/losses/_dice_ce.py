"""The Dice + cross-entropy fast path of :meth:`weightwise.nn.CompoundLoss.dice_ce`.

One softmax, one target check: the cross-entropy is summed inside the Dice kernel
(:class:`weightwise.losses._dense_sums._SoftmaxHardSums`) with one coefficient per pixel. Its
weights come from the cross-entropy's own builders
(:func:`weightwise.losses._classification.ce_element_weights` for ``cw``, ``s`` and ``ω = s·κ``,
:func:`weightwise.losses._classification.element_coefficients` for the reduction), applied to
the class target that :func:`weightwise.losses._dense_inputs.prepare_dense` already validated,
so the value and gradient are those of :func:`weightwise.losses.cross_entropy`.
"""

from __future__ import annotations

from typing import Any

import torch

from ..reduction import Reduction, SyncArg, _check_reduction
from ._classification import ce_element_weights, element_coefficients
from ._dense import dice_finish
from ._dense_inputs import check_options, prepare_dense

__all__ = ["dice_ce"]


def dice_ce(
    logits: Any,
    target: Any,
    *,
    sample_weight: Any,
    dice_class_weight: Any,
    dice_reduction: Reduction,
    dice_options: dict[str, Any],
    ce_class_weight: Any,
    ce_ignore_index: int | None,
    ce_reduction: Reduction,
    ce_sync: SyncArg,
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(dice_loss(...), cross_entropy(...))`` with one softmax and one target check.

    Applies to multi-class hard targets, the same ``ignore_index`` in both terms, no label
    smoothing (the caller checks), weights that need no gradient and a reduced cross-entropy.
    Returns ``None`` when the fast path does not apply; the caller then calls both losses.
    Invalid inputs raise the error the two losses raise (they share the target preparation).
    """
    opts = dict(dice_options)
    mode = opts.pop("mode", "multiclass")
    ignore_index = opts.pop("ignore_index", None)
    if mode != "multiclass" or ignore_index != ce_ignore_index or ce_reduction == "none":
        return None
    if not (isinstance(logits, torch.Tensor) and isinstance(target, torch.Tensor)):
        return None
    if target.is_floating_point():
        return None  # soft targets: no fast path
    for w in (sample_weight, ce_class_weight):
        if isinstance(w, torch.Tensor) and w.requires_grad:
            return None
    smooth = opts.pop("smooth", 1e-5)
    squared = opts.pop("squared", False)
    pooling = opts.pop("pooling", "sample")
    include_background = opts.pop("include_background", True)
    empty = opts.pop("empty", "skip")
    sync = opts.pop("sync", False)
    if opts:
        return None
    check_options(dice_reduction, pooling, smooth, empty)
    _check_reduction(ce_reduction)
    d = prepare_dense(
        logits,
        target,
        mode=mode,
        sample_weight=sample_weight,
        class_weight=dice_class_weight,
        ignore_index=ignore_index,
    )
    classes = d.classes
    if classes is None or d.hard is None or (d.pixel is not None and d.pixel.requires_grad):
        return None
    cw, s, omega = ce_element_weights(
        classes,
        logits,
        sample_weight=sample_weight,
        class_weight=ce_class_weight,
        reduction=ce_reduction,
    )
    coef = element_coefficients(
        classes.grid,
        s=s,
        omega=omega,
        valid=classes.valid,
        reduction=ce_reduction,
        sync=ce_sync,
        like=logits,
    )
    d.ce_coef = coef.reshape(d.hard.shape).contiguous()
    d.ce_class_weight = cw
    dice = dice_finish(
        d,
        smooth=smooth,
        squared=squared,
        pooling=pooling,
        include_background=include_background,
        empty=empty,
        reduction=dice_reduction,
        sync=sync,
    )
    assert d.ce_value is not None
    return dice, d.ce_value
