r"""Weighted set-level segmentation losses: Dice, Tversky, focal Tversky, generalized Dice.

These losses are not sums over pixels, so the weighting contract enters them as follows (the
rules of ``docs/segmentation.md``, "Dice-type losses"). Write ``p`` for the predicted
probability of class ``c`` at pixel ``x`` of sample ``n``, ``g`` for the target, ``m`` for a
per-pixel weight (1 without a map, 0 on ignored pixels) and ``s_n`` for a per-sample weight.
The per-class sums are

* ``I_nc = Σ_x m·p·g`` (intersection),
* ``P_nc = Σ_x m·p`` and ``G_nc = Σ_x m·g`` (cardinalities; ``p²`` and ``g²`` with
  ``squared=True``, as in V-Net).

``pooling="sample"`` computes a loss ``D_n`` per sample from these sums; ``pooling="batch"``
pools them over the batch first (``I_c = Σ_n s_n·I_nc``: an ``(N,)`` weight then weights the
pixel sums). A class is *empty* when ``s_n·G_nc = 0`` (``G_c = 0`` when pooled). The per-class
losses ``ℓ_c`` average with the class weights over the kept classes,
``D = Σ_c cw_c·ℓ_c / Σ_c cw_c``, and the per-sample losses reduce as elements do:

================== ==================================
``reduction``      ``pooling="sample"``
================== ==================================
``"mean"``         ``Σ_n s_n·D_n / N_kept``
``"weighted_mean"`` ``Σ_n s_n·D_n / Σ_kept s_n``
``"nonzero_mean"`` ``Σ_n s_n·D_n / #{kept, s_n ≠ 0}``
``"sum"``          ``Σ_n s_n·D_n``
``"none"``         ``s_n·D_n``, shape ``(N,)`` (0 for a dropped sample)
================== ==================================

A sample with no kept class drops out of ``N_kept``; if every sample drops out, the loss is 0
with zero gradient. With ``pooling="batch"`` the batch is a single set: every reduction but
``"none"`` returns ``D``, and ``"none"`` returns the per-class losses ``ℓ_c`` (0 for a skipped
class), shape ``(C,)`` (``(C-1,)`` without background).

A zero-weight pixel is exactly an ignored pixel, and a per-pixel map of ones is exactly no map.

The implementation is split by concern: :mod:`._dense_inputs` (validation and layout),
:mod:`._dense_sums` (the per-class sums and the one-pass softmax kernel), :mod:`._dense_reduce`
(class average and reductions), :mod:`._dice_ce` (the Dice + cross-entropy fast path) and this
module (the public losses).
"""

from __future__ import annotations

from typing import Any

import torch

from .._checks import check_choice
from ..reduction import Reduction, SyncArg
from ._dense_inputs import (
    DENSE_MODES,
    EMPTY_MODES,
    GD_WEIGHTS,
    POOLINGS,
    Dense,
    check_alpha_beta,
    check_options,
    prepare_dense,
)
from ._dense_reduce import class_sums, finish_set_loss, global_value, reduce_samples, safe_div

__all__ = [
    "DENSE_MODES",
    "EMPTY_MODES",
    "POOLINGS",
    "dice_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "tversky_loss",
]


def dice_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    mode: str = "multiclass",
    sample_weight: Any = None,
    class_weight: Any = None,
    ignore_index: int | None = None,
    smooth: float = 1e-5,
    squared: bool = False,
    pooling: str = "sample",
    include_background: bool = True,
    empty: str = "skip",
    reduction: Reduction = "mean",
    sync: SyncArg = False,
) -> torch.Tensor:
    r"""Weighted soft Dice loss for binary, multi-class and multi-label segmentation.

    Shapes:
        * ``mode="multiclass"``: ``logits`` ``(N, C, d1, ...)``, softmax over ``C``;
          ``target`` class indices ``(N, d1, ...)`` or probabilities of the logits' shape.
        * ``mode="multilabel"``: ``logits`` ``(N, C, d1, ...)``, a sigmoid per channel;
          ``target`` 0/1 (or soft, in ``[0, 1]``) of the logits' shape.
        * ``mode="binary"``: ``logits`` ``(N, 1, d1, ...)`` or ``(N, d1, ...)``, a sigmoid;
          ``target`` 0/1 of the same spatial shape. Foreground only, like Keras' ``dice_coef``.
        * ``sample_weight``: ``(N,)`` per sample, or a per-pixel map ``(N, d1, ...)`` (any
          leading prefix of it; multilabel also ``(N, C)`` and the full grid).
        * ``class_weight``: ``(C,)``.

    Formula, with the per-class sums ``I_nc = Σ_x m·p·g``, ``P_nc = Σ_x m·p``,
    ``G_nc = Σ_x m·g`` (``m`` the pixel map, ``s_n`` the per-sample weight; see
    ``docs/segmentation.md``)::

        ℓ_nc = 1 - (2·I_nc + smooth) / (P_nc + G_nc + smooth)
        D_n  = Σ_c cw_c·ℓ_nc / Σ_c cw_c          (kept classes)
        loss = Σ_n s_n·D_n / N_kept              (reduction="mean", pooling="sample")

    A per-pixel map weights the intersection and cardinality sums; an ``(N,)`` weight weights
    the per-sample average (``pooling="sample"``) or the pixel sums (``pooling="batch"``);
    ``class_weight`` weights only the per-class terms. Pixels equal to ``ignore_index`` leave
    every sum, exactly as pixels of weight 0 do.

    **Empty classes.** A class is empty for a sample (for the batch with
    ``pooling="batch"``) when its weighted target mass ``Σ m·s·g`` is 0. Emptiness is judged on
    the target because a soft prediction is never exactly empty. ``empty="skip"`` leaves it out
    of the class average (a sample with no kept class leaves the sample average); ``"zero"``
    and ``"one"`` give it a Dice score of 0 or 1 (a loss of 1 or 0).

    **Empty batch.** ``N = 0`` gives a loss of 0 (``reduction="none"``: an empty ``(0,)``
    tensor) whose gradient is zero, as :func:`weightwise.losses.cross_entropy` does: the last,
    empty shard of a data-parallel epoch trains on nothing instead of crashing. The other
    dense and Lovász losses follow the same rule.

    Reference: F. Milletari, N. Navab, S.-A. Ahmadi. *V-Net.* 3DV 2016 (``squared=True``).

    Args:
        logits: unnormalised scores.
        target: class indices, or targets in ``[0, 1]`` (see Shapes).
        mode: ``"multiclass"`` (default), ``"multilabel"`` or ``"binary"``.
        sample_weight: ``s``: per-sample ``(N,)`` or per-pixel map (finite, ``>= 0``).
        class_weight: ``cw`` ``(C,)`` (finite, ``>= 0``).
        ignore_index: a target value whose pixels leave every sum.
        smooth: added to numerator and denominator (``>= 0``).
        squared: square ``p`` and ``g`` in the cardinalities (V-Net).
        pooling: ``"sample"`` (Dice per sample, then averaged) or ``"batch"`` (pooled sums).
        include_background: with ``False``, channel 0 leaves the class average (multiclass and
            multilabel; the softmax still runs over every class).
        empty: ``"skip"`` (default), ``"zero"`` or ``"one"`` (see above).
        reduction: ``"mean"`` (default), ``"weighted_mean"``, ``"nonzero_mean"``, ``"sum"``
            or ``"none"`` (see the module docstring for both poolings).
        sync: all-reduce the denominator (``pooling="sample"``) or the pooled sums
            (``pooling="batch"``) across ranks; see :mod:`weightwise.reduction`. With
            ``pooling="batch"`` every rank returns the global-batch loss itself.

    Example:
        >>> import torch
        >>> logits = torch.randn(2, 3, 8, 8)
        >>> mask = torch.randint(0, 3, (2, 8, 8))
        >>> pixel_w = torch.ones(2, 8, 8); pixel_w[:, :2] = 5.0   # heavier top rows
        >>> loss = dice_loss(logits, mask, sample_weight=pixel_w,
        ...                  class_weight=torch.tensor([0.5, 1.0, 2.0]))
    """
    check_options(reduction, pooling, smooth, empty)
    d = prepare_dense(
        logits,
        target,
        mode=mode,
        sample_weight=sample_weight,
        class_weight=class_weight,
        ignore_index=ignore_index,
    )
    return dice_finish(
        d,
        smooth=smooth,
        squared=squared,
        pooling=pooling,
        include_background=include_background,
        empty=empty,
        reduction=reduction,
        sync=sync,
    )


def dice_finish(
    d: Dense,
    *,
    smooth: float,
    squared: bool,
    pooling: str,
    include_background: bool,
    empty: str,
    reduction: Reduction,
    sync: SyncArg,
) -> torch.Tensor:
    def ell(inter: torch.Tensor, big_p: torch.Tensor, big_g: torch.Tensor) -> torch.Tensor:
        return 1 - safe_div(2 * inter + smooth, big_p + big_g + smooth)

    return finish_set_loss(
        ell,
        d,
        squared=squared,
        pooling=pooling,
        include_background=include_background,
        empty_mode=empty,
        reduction=reduction,
        sync=sync,
    )


def _tversky(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    alpha: float,
    beta: float,
    gamma: float | None,
    mode: str,
    sample_weight: Any,
    class_weight: Any,
    ignore_index: int | None,
    smooth: float,
    pooling: str,
    include_background: bool,
    empty: str,
    reduction: Reduction,
    sync: SyncArg,
) -> torch.Tensor:
    """Tversky (``gamma=None``) and focal Tversky: ``ℓ_c = 1 - TI_c``, or ``(1 - TI_c)^{1/γ}``."""
    check_options(reduction, pooling, smooth, empty)
    check_alpha_beta(alpha, beta)
    d = prepare_dense(
        logits,
        target,
        mode=mode,
        sample_weight=sample_weight,
        class_weight=class_weight,
        ignore_index=ignore_index,
    )
    tiny = torch.finfo(d.logits.dtype).tiny

    def ell(inter: torch.Tensor, big_p: torch.Tensor, big_g: torch.Tensor) -> torch.Tensor:
        fp = (big_p - inter).clamp_min(0)  # Σ m·p·(1-g), rounding can make it -0.0…
        fn = (big_g - inter).clamp_min(0)  # Σ m·(1-p)·g
        loss = 1 - safe_div(inter + smooth, inter + alpha * fp + beta * fn + smooth)
        if gamma is None:
            return loss
        return loss.clamp_min(tiny) ** (1.0 / gamma)

    return finish_set_loss(
        ell,
        d,
        squared=False,
        pooling=pooling,
        include_background=include_background,
        empty_mode=empty,
        reduction=reduction,
        sync=sync,
    )


def tversky_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    mode: str = "multiclass",
    alpha: float = 0.5,
    beta: float = 0.5,
    sample_weight: Any = None,
    class_weight: Any = None,
    ignore_index: int | None = None,
    smooth: float = 1e-5,
    pooling: str = "sample",
    include_background: bool = True,
    empty: str = "skip",
    reduction: Reduction = "mean",
    sync: SyncArg = False,
) -> torch.Tensor:
    r"""Weighted Tversky loss (Salehi et al. 2017), per class and then averaged.

    Per class, with the weighted sums of :func:`dice_loss` (``FP = P - I``, ``FN = G - I``)::

        TI_c = (I_c + smooth) / (I_c + α·FP_c + β·FN_c + smooth),     ℓ_c = 1 - TI_c

    ``α`` multiplies false positives and ``β`` false negatives. ``α = β = 0.5`` is the Dice loss
    and ``α = β = 1`` the soft Jaccard loss (at ``smooth = 0``). The index is computed for each
    class and then averaged, so the FP/FN asymmetry survives in the multi-class case (pooling
    TP, FP and FN over the classes first would cancel it, since a pixel's FP for one class is an
    FN for another). Shapes, weights, ``empty``, ``pooling`` and ``reduction`` are those of
    :func:`dice_loss`.

    Reference: S. S. M. Salehi, D. Erdogmus, A. Gholipour. *Tversky loss function for image
    segmentation using 3D fully convolutional deep networks.* MLMI 2017.

    Example:
        >>> import torch
        >>> logits, mask = torch.randn(2, 3, 8, 8), torch.randint(0, 3, (2, 8, 8))
        >>> loss = tversky_loss(logits, mask, alpha=0.3, beta=0.7)   # penalise misses more
    """
    return _tversky(
        logits,
        target,
        alpha=alpha,
        beta=beta,
        gamma=None,
        mode=mode,
        sample_weight=sample_weight,
        class_weight=class_weight,
        ignore_index=ignore_index,
        smooth=smooth,
        pooling=pooling,
        include_background=include_background,
        empty=empty,
        reduction=reduction,
        sync=sync,
    )


def focal_tversky_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    mode: str = "multiclass",
    alpha: float = 0.3,
    beta: float = 0.7,
    gamma: float = 4.0 / 3.0,
    sample_weight: Any = None,
    class_weight: Any = None,
    ignore_index: int | None = None,
    smooth: float = 1e-5,
    pooling: str = "sample",
    include_background: bool = True,
    empty: str = "skip",
    reduction: Reduction = "mean",
    sync: SyncArg = False,
) -> torch.Tensor:
    r"""Focal Tversky loss (Abraham & Khan 2019) as the paper writes it.

    Per class, ``ℓ_c = (1 - TI_c)^{1/γ}`` with the Tversky index of :func:`tversky_loss`
    (``α`` on FP, ``β`` on FN), **then** averaged over the classes with the class weights.
    (Raising the already averaged loss to ``1/γ`` is a common mistake; it is not the paper's
    loss.) Defaults ``α = 0.3, β = 0.7, γ = 4/3``. ``γ = 1`` is the Tversky loss. The paper
    names the weights the other way round (its ``α = 0.7`` weights the false negatives): our
    defaults are its values, and its ``α = 0.7, β = 0.3`` is our ``alpha=0.3, beta=0.7``.

    For ``γ > 1`` the slope ``(1/γ)·(1 - TI_c)^{1/γ - 1}`` grows as ``TI_c → 1``: relative to
    the Tversky loss, well-segmented classes get larger gradients than poorly segmented ones.
    The base ``1 - TI_c`` is clamped at the smallest positive float before the power: its
    derivative is infinite at 0, and a perfect class then gets a zero (sub)gradient instead of
    an ``inf`` or ``NaN``.

    Shapes, weights, ``empty`` (score 0 / 1 of an empty class give ``ℓ = 1 / 0``), ``pooling``
    and ``reduction`` are those of :func:`dice_loss`.

    Reference: N. Abraham, N. M. Khan. *A Novel Focal Tversky loss function with improved
    Attention U-Net for lesion segmentation.* ISBI 2019.

    Example:
        >>> import torch
        >>> logits, mask = torch.randn(2, 3, 8, 8), torch.randint(0, 3, (2, 8, 8))
        >>> loss = focal_tversky_loss(logits, mask)
    """
    if not (isinstance(gamma, (int, float)) and gamma > 0):
        raise ValueError(f"gamma must be a positive number; got {gamma!r}")
    return _tversky(
        logits,
        target,
        alpha=alpha,
        beta=beta,
        gamma=gamma,
        mode=mode,
        sample_weight=sample_weight,
        class_weight=class_weight,
        ignore_index=ignore_index,
        smooth=smooth,
        pooling=pooling,
        include_background=include_background,
        empty=empty,
        reduction=reduction,
        sync=sync,
    )


def generalized_dice_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    mode: str = "multiclass",
    weight_type: str = "square",
    sample_weight: Any = None,
    class_weight: Any = None,
    ignore_index: int | None = None,
    smooth: float = 1e-5,
    pooling: str = "sample",
    include_background: bool = True,
    reduction: Reduction = "mean",
    sync: SyncArg = False,
) -> torch.Tensor:
    r"""Generalized Dice loss (Sudre et al. 2017) with class-frequency weights.

    With the weighted sums of :func:`dice_loss`, per sample (``pooling="sample"``) or over the
    batch (``pooling="batch"``)::

        w_c  = cw_c / G_c²  ("square"),  cw_c / G_c  ("simple"),  cw_c  ("uniform")
        GD   = 1 - (2·Σ_c w_c·I_c + smooth) / (Σ_c w_c·(P_c + G_c) + smooth)

    ``w_c`` is computed from the target only and carries no gradient. A class absent from the
    target (``G_c = 0``) gets ``w_c = 0`` under every weight type, ``"uniform"`` included; MONAI
    instead gives it the largest weight present, which makes any prediction of an absent class
    very expensive. A sample in which no class is present drops out of the sample average.
    Because ``w_c`` depends on the class sizes, the weights do not cancel: the loss changes when
    the class frequencies change (unlike implementations that normalise them away).

    With ``pooling="batch"``, ``reduction="none"`` returns the scalar loss. Everything else is
    as in :func:`dice_loss` (there is no ``empty=``: absent classes have weight 0).

    Reference: C. H. Sudre, W. Li, T. Vercauteren, S. Ourselin, M. J. Cardoso. *Generalised Dice
    overlap as a deep learning loss function for highly unbalanced segmentations.* DLMIA 2017.

    Example:
        >>> import torch
        >>> logits, mask = torch.randn(2, 4, 8, 8), torch.randint(0, 4, (2, 8, 8))
        >>> loss = generalized_dice_loss(logits, mask, weight_type="square")
    """
    check_options(reduction, pooling, smooth)
    check_choice(weight_type, "weight_type", GD_WEIGHTS)
    d = prepare_dense(
        logits,
        target,
        mode=mode,
        sample_weight=sample_weight,
        class_weight=class_weight,
        ignore_index=ignore_index,
    )
    inter, big_p, big_g, cw, world = class_sums(
        d, squared=False, pooling=pooling, include_background=include_background, sync=sync
    )
    if pooling == "batch":  # one row: the batch
        inter, big_p, big_g = inter.unsqueeze(0), big_p.unsqueeze(0), big_g.unsqueeze(0)
    s = d.sample
    g_det = big_g.detach()
    present = g_det > 0
    safe_g = torch.where(present, g_det, torch.ones_like(g_det))
    if weight_type == "square":
        w = 1.0 / (safe_g * safe_g)
    elif weight_type == "simple":
        w = 1.0 / safe_g
    else:
        w = torch.ones_like(safe_g)
    w = torch.where(present, w, torch.zeros_like(w))
    if cw is not None:
        w = w * cw
    num = 2 * (w * inter).sum(-1) + smooth
    den = (w * (big_p + big_g)).sum(-1) + smooth
    value = 1 - safe_div(num, den)
    kept = w.sum(-1) > 0
    if s is not None and pooling == "sample":
        kept = kept & (s != 0)
    if pooling == "batch":
        return global_value(torch.where(kept, value, torch.zeros_like(value))[0], world)
    return reduce_samples(value, kept, s, reduction=reduction, sync=sync)
