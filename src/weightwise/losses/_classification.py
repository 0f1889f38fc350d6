"""Weighted cross-entropy and binary cross-entropy, under the weighting contract.

Both losses follow :mod:`weightwise.reduction`: an unweighted elementwise loss ``L``, an element
weight ``ω = s·κ`` and one ``reduction=`` whose meaning is the same in every loss.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from .._checks import ClassTarget, class_vector_like, prepare_class_target
from ..reduction import (
    Reduction,
    SyncArg,
    _check_reduction,
    broadcast_weight,
    reduce_weighted,
    reduction_terms,
)
from ._common import align_per_label, check_binary_pair
from ._fused import fused_binary_cross_entropy, fused_cross_entropy, use_fused

__all__ = ["binary_cross_entropy", "cross_entropy"]

# PyTorch's own default: a value never produced by a valid class index.
_TORCH_IGNORE = -100


def cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    sample_weight: Any = None,
    class_weight: Any = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    reduction: Reduction = "mean",
    denominator: Any = None,
    sync: SyncArg = False,
    fused: bool | None = None,
) -> torch.Tensor:
    r"""Weighted softmax cross-entropy for hard or soft targets, any number of dense dims.

    Shapes:
        * ``logits``: ``(N, C)`` or dense ``(N, C, d1, ..., dk)``; unnormalised scores.
        * ``target``: class indices ``(N,)`` / ``(N, d1, ..., dk)`` (integer dtype), or soft
          targets (probabilities, floating dtype) of the logits' shape.
        * ``sample_weight``: ``s``, a scalar, ``(N,)``, any leading prefix of the element grid
          ``(N, d1, ..., dk)`` (e.g. a per-pixel map), or the full grid. No size-1 broadcasting.
        * ``class_weight``: ``(C,)``.

    Formula (``p = softmax(logits)`` over dim 1, ``cw`` the class weight, ``ε`` the smoothing):

    * hard target ``y``:
      ``ω·L = s·[(1-ε)·cw_y·(-log p_y) + ε/C · Σ_c cw_c·(-log p_c)]`` with ``κ = cw_y``;
    * soft target ``t``: ``ω·L = s · Σ_c cw_c·t'_c·(-log p_c)``, ``t' = (1-ε)·t + ε/C``, with
      ``κ = Σ_c cw_c·t_c`` (unsmoothed).

    Reductions (see :mod:`weightwise.reduction`): ``"mean"`` divides by ``N`` (elements not
    ignored), ``"weighted_mean"`` by ``Σ s·κ``, ``"nonzero_mean"`` by ``#{s·κ ≠ 0}``.
    With hard targets, no sample weight and ``"weighted_mean"``, this is exactly
    ``torch.nn.functional.cross_entropy(weight=class_weight, ...)``; ``"mean"`` is Keras 3's
    ``Σ w·L / N``. Unlike PyTorch (pytorch#107680), one-hot soft targets give exactly the
    hard-target value under every reduction, because ``κ`` enters the ``"weighted_mean"``
    denominator for soft targets too.

    Label smoothing with ``class_weight`` follows PyTorch: the smoothing term sums
    ``cw_c·(-log p_c)`` over every class, so an element whose own class weight is 0 still adds
    its smoothing term, while it adds nothing to the ``"weighted_mean"`` denominator.

    ``ignore_index`` elements get ``ω = 0`` and leave ``N``; it cannot be combined with soft
    targets (as in PyTorch). The log-softmax is computed by PyTorch's fused, log-sum-exp based
    kernel, so large logits do not overflow.

    Args:
        logits: unnormalised scores.
        target: class indices or probabilities.
        sample_weight: per-sample, per-pixel or per-element weight ``s`` (finite, ``>= 0``).
        class_weight: per-class weight ``(C,)`` (finite, ``>= 0``).
        ignore_index: a target value whose elements are left out.
        label_smoothing: ``ε`` in ``[0, 1]``.
        reduction: ``"mean"`` (default), ``"weighted_mean"``, ``"nonzero_mean"``, ``"sum"`` or
            ``"none"`` (``ω·L`` of shape ``(N, d1, ..., dk)``).
        denominator: replaces the reduction's denominator (``N``, ``Σ s·κ`` or
            ``#{s·κ ≠ 0}``), typically that of a whole gradient-accumulation window from
            :func:`weightwise.reduction.window_denominator`; used as given (not all-reduced
            under ``sync``, which then only multiplies by the world size). See
            ``docs/scaling.md``.
        sync: all-reduce the denominator across ranks (see :mod:`weightwise.reduction`).
        fused: compute the gradient in the forward pass and keep only it for backward
            (``None``: the global :func:`weightwise.set_fused` setting, on by default). Used
            when the logits require grad, no other input does, and ``reduction != "none"``;
            once-differentiable, so pass ``fused=False`` for higher-order gradients. See
            ``docs/performance.md``.

    Example:
        >>> import torch
        >>> logits = torch.randn(4, 3)
        >>> y = torch.tensor([0, 2, 1, 2])
        >>> w = torch.tensor([1.0, 2.0, 0.5, 1.0])
        >>> loss = cross_entropy(logits, y, sample_weight=w, reduction="weighted_mean")
    """
    _check_reduction(reduction)
    prep = prepare_class_target(logits, target, ignore_index=ignore_index)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1]; got {label_smoothing!r}")
    cw, s, omega = ce_element_weights(
        prep,
        logits,
        sample_weight=sample_weight,
        class_weight=class_weight,
        # A given denominator replaces Σω: ω itself is then not needed.
        reduction=reduction if denominator is None else "mean",
    )

    if use_fused(fused, logits, reduction, s, cw, prep.target if prep.soft else None):
        coef = element_coefficients(
            prep.grid,
            s=s,
            omega=omega,
            valid=prep.valid,
            reduction=reduction,
            sync=sync,
            like=logits,
            denominator=denominator,
        )
        return fused_cross_entropy(logits, prep.safe, coef, cw, label_smoothing, soft=prep.soft)

    torch_ignore = _TORCH_IGNORE if ignore_index is None else int(ignore_index)
    per_elem = F.cross_entropy(
        logits,
        prep.target,
        weight=cw,
        ignore_index=torch_ignore if not prep.soft else _TORCH_IGNORE,
        reduction="none",
        label_smoothing=label_smoothing,
    )
    if s is not None:
        per_elem = per_elem * s
    return reduce_weighted(
        per_elem,
        omega,
        reduction=reduction,
        count=prep.count,
        denominator=denominator,
        sync=sync,
    )


def ce_element_weights(
    prep: ClassTarget,
    logits: torch.Tensor,
    *,
    sample_weight: Any,
    class_weight: Any,
    reduction: Reduction,
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """The weights of :func:`cross_entropy`: ``(cw, s, ω)``, each ``None`` when absent.

    ``cw`` is the class weight ``(C,)``, ``s`` the sample weight on the grid ``(N, d...)`` and
    ``ω = s·κ`` the element weight, built only for the ratio reductions (``"weighted_mean"``,
    ``"nonzero_mean"``; the others need just the weighted losses, to which ``F.cross_entropy``
    applies the class weights). ``κ = cw_y`` for hard targets (0 on ignored elements) and
    ``Σ_c cw_c·t_c`` for soft targets, unsmoothed, so one-hot soft targets equal hard targets.
    The one builder of these weights, used by the reference and fused paths and by the Dice +
    cross-entropy fast path.
    """
    cw = class_vector_like(class_weight, logits)
    s: torch.Tensor | None = None
    if sample_weight is not None:
        s = broadcast_weight(sample_weight, prep.grid, name="sample_weight", like=logits)
    if reduction not in ("weighted_mean", "nonzero_mean"):
        return cw, s, None
    kappa: torch.Tensor | None = None
    if prep.soft:
        if cw is not None:
            shape = [1] * logits.dim()
            shape[1] = prep.num_classes
            kappa = (prep.target * cw.reshape(shape)).sum(dim=1)
    elif prep.valid is None:
        kappa = None if cw is None else cw[prep.target]
    else:
        mask = prep.valid.to(logits.dtype)
        kappa = mask if cw is None else cw[prep.safe] * mask
    omega = kappa if s is None else (s if kappa is None else s * kappa)
    return cw, s, omega


def element_coefficients(
    grid: tuple[int, ...],
    *,
    s: torch.Tensor | None,
    omega: torch.Tensor | None,
    valid: torch.Tensor | None,
    reduction: Reduction,
    sync: SyncArg,
    like: torch.Tensor,
    denominator: Any = None,
) -> torch.Tensor:
    """One coefficient per element, ``c_e = s_e·W/D`` (0 where ignored), for the fused paths.

    ``(W, D)`` come from :func:`weightwise.reduction.reduction_terms`, the one definition of the
    reductions; ``omega`` (``s·κ`` on the grid, needed only by the ratio reductions) enters it
    without gradient, and ``valid`` marks the elements that are not ignored (``None``: all).
    """
    numel = math.prod(grid)
    world, denom = reduction_terms(
        None if omega is None else omega.detach(),
        reduction=reduction,
        numel=numel,
        count=numel if valid is None else valid.sum(),
        denominator=denominator,
        sync=sync,
        dtype=like.dtype,
        device=like.device,
    )
    base = torch.ones(grid, dtype=like.dtype, device=like.device) if s is None else s
    coef = (base if world == 1.0 else base * world) / denom
    return coef if valid is None else coef * valid.to(like.dtype)


def binary_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    sample_weight: Any = None,
    pos_weight: Any = None,
    neg_weight: Any = None,
    reduction: Reduction = "mean",
    denominator: Any = None,
    sync: SyncArg = False,
    fused: bool | None = None,
) -> torch.Tensor:
    r"""Weighted binary cross-entropy on logits, for binary and multi-label problems.

    Shapes:
        * ``logits``: ``(N,)`` binary, ``(N, C)`` multi-label, or dense ``(N, C, d1, ...)``.
        * ``target``: the logits' shape, values in ``[0, 1]`` (soft targets allowed).
        * ``sample_weight``: a scalar, ``(N,)``, ``(N, C)`` per sample and label,
          ``(N, d1, ...)`` per pixel, or the full grid (see
          :func:`weightwise.reduction.broadcast_weight` with ``class_axis=True``).
        * ``pos_weight``, ``neg_weight``: a scalar or ``(C,)``, aligned with **dim 1**.
          PyTorch's ``pos_weight`` aligns with the *last* dim instead (pytorch#27936), which
          differs for dense inputs.

    Formula, with ``σ`` the sigmoid and ``t`` the target::

        ω·L = s · [pos_weight·t·(-log σ(x)) + neg_weight·(1-t)·(-log(1-σ(x)))]
        κ   = pos_weight·t + neg_weight·(1-t)      (the "weighted_mean" denominator is Σ s·κ)

    ``-log σ(x)`` and ``-log(1-σ(x))`` are computed as ``softplus(-x)`` and ``softplus(x)``,
    which never overflow or take the log of 0.

    ``fused`` works as in :func:`cross_entropy`: the gradient is computed in the forward pass.

    ``denominator`` replaces the reduction's denominator as in :func:`cross_entropy` (a whole
    accumulation window's, from :func:`weightwise.reduction.window_denominator`).

    ``reduction="mean"`` with a ``pos_weight`` equals
    ``F.binary_cross_entropy_with_logits(pos_weight=..., weight=s)`` for ``(N, C)`` inputs.

    Example:
        >>> import torch
        >>> logits = torch.randn(8, 5)
        >>> Y = (torch.rand(8, 5) > 0.7).float()
        >>> loss = binary_cross_entropy(logits, Y, pos_weight=torch.full((5,), 3.0))
    """
    _check_reduction(reduction)
    target = check_binary_pair(logits, target)

    pw = None if pos_weight is None else align_per_label(pos_weight, logits, name="pos_weight")
    nw = None if neg_weight is None else align_per_label(neg_weight, logits, name="neg_weight")

    s: torch.Tensor | None = None
    if sample_weight is not None:
        s = broadcast_weight(
            sample_weight, logits.shape, name="sample_weight", class_axis=True, like=logits
        )
    if use_fused(fused, logits, reduction, s, pw, nw, target, kind="bce"):
        omega_d: torch.Tensor | None = None
        if (
            reduction in ("weighted_mean", "nonzero_mean")
            and denominator is None
            and (s is not None or pw is not None or nw is not None)
        ):
            kp = target if pw is None else pw * target
            kn = (1 - target) if nw is None else nw * (1 - target)
            omega_d = kp + kn if s is None else s * (kp + kn)
        world, denom = reduction_terms(
            omega_d,
            reduction=reduction,
            numel=logits.numel(),
            denominator=denominator,
            sync=sync,
            dtype=logits.dtype,
            device=logits.device,
        )
        omega_d = None  # free it before the gradient buffer is allocated
        scale = torch.full((), world, dtype=logits.dtype, device=logits.device) / denom
        return fused_binary_cross_entropy(logits, target, s, scale, pw, nw)

    if nw is None:
        # PyTorch's fused, stable kernel computes pw·t·(-log σ(x)) + (1-t)·(-log(1-σ(x))).
        per_elem = F.binary_cross_entropy_with_logits(
            logits, target, pos_weight=pw, reduction="none"
        )
    else:
        # softplus(-x) = -log σ(x), softplus(x) = -log(1-σ(x)): stable for any x.
        loss_pos = F.softplus(-logits)
        loss_neg = F.softplus(logits)
        pos_term = target * loss_pos if pw is None else (pw * target) * loss_pos
        per_elem = pos_term + (nw * (1 - target)) * loss_neg

    # ω = s·κ enters only the ratio reductions' denominators (and not when one is given):
    # skip the (N, C) passes that build it otherwise.
    need_omega = reduction in ("weighted_mean", "nonzero_mean") and denominator is None
    kappa: torch.Tensor | None = None
    if need_omega and (pw is not None or nw is not None):
        kp = target if pw is None else pw * target
        kn = (1 - target) if nw is None else nw * (1 - target)
        kappa = kp + kn

    omega = kappa
    if s is not None:
        per_elem = per_elem * s
        if need_omega:
            omega = s if omega is None else s * omega
    return reduce_weighted(per_elem, omega, reduction=reduction, denominator=denominator, sync=sync)
