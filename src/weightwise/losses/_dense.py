r"""Weighted set-level segmentation losses: Dice, Tversky, focal Tversky, generalized Dice.

These losses are not sums over pixels, so the weighting contract enters them as follows
(``../shared/DECISIONS.md`` §5). Write ``p`` for the predicted probability of class ``c`` at
pixel ``x`` of sample ``n``, ``g`` for the target, ``m`` for a per-pixel weight (1 without a
map, 0 on ignored pixels) and ``s_n`` for a per-sample weight. The per-class sums are

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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch.autograd.function import FunctionCtx

from .._checks import (
    as_tensor,
    check_class_vector,
    check_in_range,
    check_soft_target,
    checks_enabled,
    format_index,
)
from ..reduction import (
    SyncArg,
    _check_reduction,
    _sync_group,
    broadcast_weight,
    reduce_weighted,
)
from ._classification import element_coefficients

__all__ = [
    "DENSE_MODES",
    "EMPTY_MODES",
    "POOLINGS",
    "dice_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "tversky_loss",
]

DENSE_MODES: tuple[str, ...] = ("binary", "multiclass", "multilabel")
POOLINGS: tuple[str, ...] = ("sample", "batch")
EMPTY_MODES: tuple[str, ...] = ("skip", "zero", "one")
GD_WEIGHTS: tuple[str, ...] = ("square", "simple", "uniform")


def _choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


@dataclass
class _Dense:
    """Inputs brought onto a common layout: ``S`` is the flattened spatial size."""

    logits: torch.Tensor  # (N, C, S) logits (with gradient)
    mode: str
    hard: torch.Tensor | None  # (N, S) int64 class indices (multiclass, hard targets)
    soft: torch.Tensor | None  # (N, C, S) float targets (binary, multilabel, soft multiclass)
    pixel: torch.Tensor | None  # (N, 1, S) or (N, C, S) pixel weight m (0 on ignored pixels)
    sample: torch.Tensor | None  # (N,) per-sample weight s_n
    class_weight: torch.Tensor | None  # (C,)
    valid: torch.Tensor | None = None  # (N, S) bool, False on ignored pixels (hard targets)
    # Cross-entropy computed alongside the sums (CompoundLoss.dice_ce): per-pixel coefficient
    # c (N, S), or a scalar shared by every pixel, and class weight; its value lands in
    # ``ce_value``.
    ce_coef: torch.Tensor | None = None
    ce_class_weight: torch.Tensor | None = None
    ce_value: torch.Tensor | None = None
    _prob: torch.Tensor | None = None

    @property
    def prob(self) -> torch.Tensor:
        """``(N, C, S)`` probabilities: softmax over C (multiclass) or a sigmoid, on demand."""
        if self._prob is None:
            if self.mode == "multiclass":
                # softmax subtracts the per-pixel max first: no overflow for large logits.
                self._prob = torch.softmax(self.logits, dim=1)
            else:
                # Numerically stable: sigmoid saturates at 0 and 1 without overflow.
                self._prob = torch.sigmoid(self.logits)
        return self._prob


def _check_binary_target(target: torch.Tensor, ignore_index: int | None) -> None:
    if target.is_complex():
        raise ValueError(f"target must be real; got dtype {target.dtype}")
    if not checks_enabled() or target.numel() == 0 or target.dtype == torch.bool:
        return
    bad = ~torch.isfinite(target) | (target < 0) | (target > 1)
    if ignore_index is not None:
        bad &= target != ignore_index
    if bool(bad.any()):
        pos = int(torch.nonzero(bad.reshape(-1))[0, 0])
        allowed = "[0, 1]" + (
            f" or ignore_index={ignore_index}" if ignore_index is not None else ""
        )
        raise ValueError(
            f"target must be in {allowed}; got {target.reshape(-1)[pos].item()!r} at "
            f"{format_index(pos, tuple(target.shape))}"
        )


def _prepare(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    mode: str,
    sample_weight: Any,
    class_weight: Any,
    ignore_index: int | None,
) -> _Dense:
    """Validate and flatten the inputs of every dense loss (probabilities, targets, weights)."""
    _choice(mode, "mode", DENSE_MODES)
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise ValueError(
            f"logits must be a floating-point tensor; got {getattr(logits, 'dtype', type(logits))}"
        )
    if not isinstance(target, torch.Tensor):
        target = torch.as_tensor(target, device=logits.device)
    if logits.dim() < 1:
        raise ValueError("logits must have shape (N, ...); got a scalar")
    n = logits.shape[0]
    shape = tuple(logits.shape)
    tshape = tuple(target.shape)
    hard: torch.Tensor | None = None
    soft: torch.Tensor | None = None
    valid: torch.Tensor | None = None
    hard_valid: torch.Tensor | None = None

    if mode == "binary":
        # (N, 1, d...) logits become (N, d...); the target may carry the channel axis too.
        if logits.dim() >= 2 and shape[1] == 1 and tshape in (shape, (n, *shape[2:])):
            logits = logits.reshape((n, *shape[2:]))
            target = target.reshape((n, *shape[2:]))
        if tuple(target.shape) != tuple(logits.shape):
            expected = f"{(n, *shape[2:])} or {shape}" if shape[1:2] == (1,) else f"{shape}"
            raise ValueError(
                f"target must have shape {expected} (binary mode, 0/1 per pixel) for logits of "
                f"shape {shape}; got {tshape}"
            )
        grid = tuple(logits.shape)
        _check_binary_target(target, ignore_index)
        logits = logits.reshape(n, 1, -1)
        target = target.reshape(n, 1, -1)
    elif mode == "multilabel":
        if logits.dim() < 2:
            raise ValueError(
                f"logits must have shape (N, C, d1, ...) in multilabel mode; got {shape}"
            )
        if tshape != shape:
            raise ValueError(
                f"target must have the logits' shape {shape} in multilabel mode; got {tshape}"
            )
        grid = shape
        _check_binary_target(target, ignore_index)
        logits = logits.reshape(n, shape[1], -1)
        target = target.reshape(n, shape[1], -1)
    else:
        if logits.dim() < 2:
            raise ValueError(
                f"logits must have shape (N, C, d1, ...) in multiclass mode; got {shape}"
            )
        grid = (n, *shape[2:])
        if target.is_floating_point() and tshape == shape:
            if ignore_index is not None:
                raise ValueError(
                    "ignore_index cannot be used with soft targets (probabilities); set the "
                    "sample_weight of the pixels to leave out to 0 instead"
                )
            target = target.to(logits.dtype)
            check_soft_target(target, class_dim=1)
            soft = target.reshape(n, shape[1], -1)
        else:
            if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
                raise ValueError(
                    f"target must hold integer class indices of shape {grid}, or probabilities "
                    f"of the logits' shape {shape}; got dtype {target.dtype} and shape {tshape}"
                )
            if tshape != grid:
                raise ValueError(
                    f"target must have shape {grid} (class indices) or {shape} (probabilities) "
                    f"for logits of shape {shape}; got {tshape}"
                )
            target = target.long()
            check_in_range(target, shape[1], name="target", ignore_index=ignore_index)
            hard = target.reshape(n, -1)
            if ignore_index is not None:
                hard_valid = hard != ignore_index
                hard = torch.where(hard_valid, hard, torch.zeros_like(hard))
                valid = hard_valid.unsqueeze(1)
        logits = logits.reshape(n, shape[1], -1)

    if mode != "multiclass":
        if target.is_complex():
            raise ValueError(f"target must be real; got dtype {target.dtype}")
        target = target.to(logits.dtype)
        if ignore_index is not None:
            valid = target != ignore_index
            target = torch.where(valid, target, torch.zeros_like(target))
        soft = target

    num_classes = logits.shape[1]
    cw: torch.Tensor | None = None
    if class_weight is not None:
        cw = check_class_vector(
            as_tensor(class_weight, like=logits, name="class_weight"),
            num_classes,
            name="class_weight",
        )

    pixel: torch.Tensor | None = None
    sample: torch.Tensor | None = None
    if sample_weight is not None:
        sw = (
            sample_weight
            if isinstance(sample_weight, torch.Tensor)
            else torch.as_tensor(sample_weight)
        )
        if mode == "binary" and len(shape) >= 2 and shape[1] == 1 and tuple(sw.shape) == shape:
            sw = sw.reshape(grid)  # a weight with the logits' (N, 1, d...) shape
        if sw.dim() == 0 or tuple(sw.shape) == (n,):
            # a scalar or (N,): one weight per sample
            sample = broadcast_weight(sw, (n,), name="sample_weight", like=logits)
        else:
            # a per-pixel map (any leading prefix of the grid; multilabel: (N, C) too)
            w = broadcast_weight(
                sw,
                grid,
                name="sample_weight",
                class_axis=mode == "multilabel" and len(grid) >= 3,
                like=logits,
            )
            pixel = w.reshape(n, num_classes if mode == "multilabel" else 1, -1)
    if valid is not None:
        v = valid.to(logits.dtype)
        pixel = v if pixel is None else pixel * v
    return _Dense(logits, mode, hard, soft, pixel, sample, cw, valid=hard_valid)


class _SoftmaxHardSums(torch.autograd.Function):
    r"""Multi-class Dice sums from logits and class indices in one pass, without a one-hot.

    Forward: ``p = softmax(x)`` over C, then ``I_nc = Σ_x m·p·[t=c]`` (gather ``p_t``, then a
    scatter-add by class in float64) and ``P_nc = Σ_x m·p`` (``p²`` with ``squared``).
    Optionally also the cross-entropy sum ``Σ_x c_x·cw_t·(-log p_t)`` of CompoundLoss.dice_ce.
    Nothing logits-sized is kept (only ``p_t``, ``(N, S)``): the backward recomputes ``p``
    from the logits and applies the analytic gradient,
    ``∂/∂p_c = m·(g^P_c·(2p_c if squared else 1) + g^I_c·[t=c])``, followed by the softmax
    Jacobian-vector product ``p·(u - Σ_c p·u)``; the cross-entropy adds
    ``g·c_x·cw_t·(p - onehot(t))``. The backward is made of differentiable operations, so
    higher-order gradients work.
    """

    @staticmethod
    def forward(
        ctx: FunctionCtx,
        logits: torch.Tensor,
        hard: torch.Tensor,
        pixel: torch.Tensor | None,
        squared: bool,
        ce_coef: torch.Tensor | None,
        ce_cw: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n, c = logits.shape[0], logits.shape[1]
        idx = hard.unsqueeze(1)  # (N, 1, S)
        ce = torch.zeros((), dtype=logits.dtype, device=logits.device)
        if ce_coef is not None:
            p = torch.log_softmax(logits, dim=1)
            lp_y = p.gather(1, idx).squeeze(1)  # (N, S) log p_t
            w = ce_coef if ce_cw is None else ce_coef * ce_cw[hard]
            if w.dim() == 0:  # one coefficient for every pixel
                ce = -(lp_y.sum(dtype=torch.float64) * w.to(torch.float64)).to(logits.dtype)
            else:
                ce = -(w * lp_y).sum(dtype=torch.float64).to(logits.dtype)
            p.exp_()  # softmax = exp(log_softmax), in the same buffer
            p_y = lp_y.exp_()
        else:
            p = torch.softmax(logits, dim=1)
            p_y = p.gather(1, idx).squeeze(1)  # (N, S) p_t
        pp = p * p if squared else p
        if pixel is None:
            big_p = pp.sum(-1)
            mp_y = p_y
        else:
            big_p = torch.bmm(pp, pixel.transpose(1, 2)).squeeze(-1)
            mp_y = p_y * pixel.squeeze(1)
        del p, pp
        acc = torch.zeros((n, c), dtype=torch.float64, device=logits.device)
        inter = acc.scatter_add_(1, hard, mp_y.to(torch.float64)).to(logits.dtype)
        # p_t (a quarter of the logits for C = 4) is kept; the rest is recomputed in backward.
        ctx.save_for_backward(logits, hard, pixel, ce_coef, ce_cw, p_y)  # type: ignore[arg-type]
        ctx.squared = squared  # type: ignore[attr-defined]
        return inter, big_p, ce

    @staticmethod
    def backward(
        ctx: FunctionCtx, g_inter: torch.Tensor, g_p: torch.Tensor, g_ce: torch.Tensor
    ) -> tuple[Any, ...]:
        saved = ctx.saved_tensors  # type: ignore[attr-defined]
        logits, hard, pixel, ce_coef, ce_cw, p_y = saved
        squared: bool = ctx.squared  # type: ignore[attr-defined]
        if not ctx.needs_input_grad[0]:  # type: ignore[attr-defined]
            return None, None, None, None, None, None
        idx = hard.unsqueeze(1)
        p = torch.softmax(logits, dim=1)
        # u = ∂L/∂p = m·(g^P·(2p or 1) + g^I·onehot(t)); w = p·u without a one-hot: the P part
        # w0 (in place, nothing saved for a higher-order gradient reads it), and the I part
        # a = m·p_t·g^I_t at class t, so that Σ_c p·u = Σ_c w0 + a. With the CE term
        # k = g·c·cw_t: grad = w0 - p·(Σ_c w0 + a - k) + scatter_t(a - k). Peak memory: p, w0.
        if squared:
            w = p * p
            w.mul_((2 * g_p).unsqueeze(-1))
        else:
            w = p * g_p.unsqueeze(-1)
        if torch.is_grad_enabled():
            # create_graph: the saved p_t carries no graph; take it from p for a second order.
            p_y = p.gather(1, idx).squeeze(1)
        a = (p_y * g_inter.gather(1, hard)).unsqueeze(1)  # (N, 1, S)
        if pixel is not None:
            w.mul_(pixel)
            a = a * pixel
        if ce_coef is None:
            w.scatter_add_(1, idx, a)  # w = p·u
            w.addcmul_(p, w.sum(1, keepdim=True), value=-1)
            return w, None, None, None, None, None
        k = ce_coef if ce_cw is None else ce_coef * ce_cw[hard]
        k = g_ce * k
        if k.dim():
            k = k.unsqueeze(1)  # (N, 1, S); else one scalar for every pixel
        total = w.sum(1, keepdim=True) + (a - k)  # Σ_c p·u - k
        w.addcmul_(p, total, value=-1)
        w.scatter_add_(1, idx, a - k)
        return w, None, None, None, None, None


def _softmax_hard_sums(
    d: _Dense, *, squared: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``I``, ``P``, ``G`` for multi-class hard targets, through :class:`_SoftmaxHardSums`."""
    x, t, m = d.logits, d.hard, d.pixel
    assert t is not None
    n, c = x.shape[0], x.shape[1]
    inter, big_p, ce = _SoftmaxHardSums.apply(
        x.contiguous(), t, m, squared, d.ce_coef, d.ce_class_weight
    )
    if d.ce_coef is not None:
        d.ce_value = ce
    # G: (weighted) count of target pixels per class, accumulated in float64 (exact counts).
    src = (
        torch.ones((), dtype=torch.float64, device=x.device).expand(t.shape)
        if m is None
        else m.detach().squeeze(1).to(torch.float64)
    )
    acc = torch.zeros((n, c), dtype=torch.float64, device=x.device)
    big_g = acc.scatter_add_(1, t, src).to(x.dtype)
    return inter, big_p, big_g


def _sums(d: _Dense, *, squared: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The per-sample, per-class sums ``I``, ``P``, ``G``, each ``(N, C)``."""
    m = d.pixel
    if (
        d.hard is not None
        and d.mode == "multiclass"
        and (m is None or (m.shape[1] == 1 and not m.requires_grad))
        and d._prob is None
    ):
        return _softmax_hard_sums(d, squared=squared)
    p = d.prob
    c = p.shape[1]
    pp = p * p if squared else p
    if m is None:
        big_p = pp.sum(-1)
    elif m.shape[1] == 1:
        big_p = torch.bmm(pp, m.transpose(1, 2)).squeeze(-1)  # Σ_x p·m without a (N,C,S) temp
    else:
        big_p = (pp * m).sum(-1)
    if d.hard is not None:
        # Hard targets: a boolean class mask (1 byte per entry) instead of a float one-hot; the
        # intersection selects p where the target is c, and G counts (weighted) target pixels.
        t = d.hard
        classes = torch.arange(c, device=t.device).view(1, c, 1)
        is_c = t.unsqueeze(1) == classes  # (N, C, S) bool
        src = p if m is None else p * m
        inter = torch.where(is_c, src, torch.zeros((), dtype=p.dtype, device=p.device)).sum(-1)
        if m is None:
            big_g = is_c.sum(-1).to(p.dtype)
        else:
            mw = m.detach()
            big_g = torch.where(is_c, mw, torch.zeros((), dtype=p.dtype, device=p.device)).sum(-1)
        return inter, big_p, big_g
    g = d.soft
    assert g is not None
    gg = g * g if squared else g
    gm = g if m is None else g * m
    inter = (p * gm).sum(-1)
    big_g = (gg if m is None else gg * m).sum(-1)
    return inter, big_p, big_g


def _global_sums(
    sums: tuple[torch.Tensor, ...], sync: SyncArg
) -> tuple[tuple[torch.Tensor, ...], int]:
    """All-reduce batch-pooled sums; the local part keeps its gradient (straight-through)."""
    do_sync, group = _sync_group(sync)
    if not do_sync:
        return sums, 1
    out = []
    for x in sums:
        total = x.detach().clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM, group=group)
        out.append(x + (total - x.detach()))
    return tuple(out), dist.get_world_size(group)


def _safe_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    # Where the denominator is 0 (smooth = 0 and nothing in the sums) divide by 1 instead, so
    # neither the value nor the gradient is NaN; those terms are masked by the caller.
    return num / torch.where(den != 0, den, torch.ones_like(den))


def _class_average(
    ell: torch.Tensor, empty: torch.Tensor, cw: torch.Tensor | None, empty_mode: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``Σ_c cw_c·ℓ_c / Σ_c cw_c`` over kept classes; returns ``(D, kept, per_class)``."""
    if empty_mode == "skip":
        keep = ~empty
        val = ell
    else:
        keep = torch.ones_like(empty)
        # "zero" / "one" are the score of an empty class; the loss is 1 - score.
        const = 1.0 if empty_mode == "zero" else 0.0
        val = torch.where(empty, torch.full_like(ell, const), ell)
    wc = keep.to(ell.dtype)
    if cw is not None:
        wc = wc * cw
    per_class = val * keep.to(ell.dtype)
    den = wc.sum(-1)
    return _safe_div((val * wc).sum(-1), den), den > 0, per_class


def _finish(
    ell_fn: Any,
    d: _Dense,
    *,
    squared: bool,
    pooling: str,
    include_background: bool,
    empty_mode: str,
    reduction: str,
    sync: SyncArg,
) -> torch.Tensor:
    """Sums -> per-class losses -> class average -> reduction, for every set-level loss."""
    inter, big_p, big_g = _sums(d, squared=squared)
    cw = d.class_weight
    if not include_background and inter.shape[1] > 1:
        inter, big_p, big_g = inter[:, 1:], big_p[:, 1:], big_g[:, 1:]
        cw = None if cw is None else cw[1:]
    s = d.sample
    if pooling == "batch":
        if s is not None:
            inter, big_p, big_g = (x * s.unsqueeze(1) for x in (inter, big_p, big_g))
        (inter, big_p, big_g), world = _global_sums(
            (inter.sum(0), big_p.sum(0), big_g.sum(0)), sync
        )
        ell = ell_fn(inter, big_p, big_g)
        value, kept, per_class = _class_average(ell, big_g == 0, cw, empty_mode)
        out = (
            per_class if reduction == "none" else torch.where(kept, value, torch.zeros_like(value))
        )
        if world > 1:
            # Every rank holds the global value; scale the gradient by W so that DDP's
            # averaged gradient is the global-batch gradient, while the value stays global
            # (also for the per-class values of reduction="none").
            return world * out - (world - 1) * out.detach()
        return out
    ell = ell_fn(inter, big_p, big_g)
    empty = big_g == 0
    if s is not None:
        empty = empty | (s == 0).unsqueeze(1)
    value, kept, _ = _class_average(ell, empty, cw, empty_mode)
    return _reduce_samples(value, kept, s, reduction=reduction, sync=sync)


def _reduce_samples(
    value: torch.Tensor,
    kept: torch.Tensor,
    s: torch.Tensor | None,
    *,
    reduction: str,
    sync: SyncArg,
) -> torch.Tensor:
    k = kept.to(value.dtype)
    sw = k if s is None else s * k
    weighted = torch.where(kept, value, torch.zeros_like(value)) * sw
    return reduce_weighted(weighted, sw, reduction=reduction, count=kept.sum(), sync=sync)


def _check_common(reduction: str, pooling: str, smooth: float) -> None:
    _check_reduction(reduction)
    _choice(pooling, "pooling", POOLINGS)
    if not (isinstance(smooth, (int, float)) and smooth >= 0):
        raise ValueError(f"smooth must be a non-negative number; got {smooth!r}")


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
    reduction: str = "mean",
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

    Formula, with the sums of :mod:`weightwise.losses._dense` (``m`` the pixel map, ``s_n``
    the per-sample weight)::

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
    _check_common(reduction, pooling, smooth)
    _choice(empty, "empty", EMPTY_MODES)
    d = _prepare(
        logits,
        target,
        mode=mode,
        sample_weight=sample_weight,
        class_weight=class_weight,
        ignore_index=ignore_index,
    )
    return _dice_finish(
        d,
        smooth=smooth,
        squared=squared,
        pooling=pooling,
        include_background=include_background,
        empty=empty,
        reduction=reduction,
        sync=sync,
    )


def _dice_finish(
    d: _Dense,
    *,
    smooth: float,
    squared: bool,
    pooling: str,
    include_background: bool,
    empty: str,
    reduction: str,
    sync: SyncArg,
) -> torch.Tensor:
    def ell(inter: torch.Tensor, big_p: torch.Tensor, big_g: torch.Tensor) -> torch.Tensor:
        return 1 - _safe_div(2 * inter + smooth, big_p + big_g + smooth)

    return _finish(
        ell,
        d,
        squared=squared,
        pooling=pooling,
        include_background=include_background,
        empty_mode=empty,
        reduction=reduction,
        sync=sync,
    )


def _dice_ce(
    logits: Any,
    target: Any,
    *,
    sample_weight: Any,
    dice_class_weight: Any,
    dice_reduction: str,
    dice_options: dict[str, Any],
    ce_class_weight: Any,
    ce_ignore_index: int | None,
    ce_reduction: str,
    ce_sync: SyncArg,
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(dice_loss(...), cross_entropy(...))`` with one softmax and one target check.

    The fast path of :meth:`weightwise.nn.CompoundLoss.dice_ce`: multi-class hard targets, the
    same ``ignore_index`` in both terms, no label smoothing, weights that need no gradient and
    a reduced cross-entropy. The cross-entropy follows :func:`weightwise.losses.cross_entropy`
    exactly (one coefficient per pixel from the same ``element_coefficients`` as its fused
    path) and is summed during the Dice pass. Returns ``None`` when the fast path
    does not apply; the caller then calls both losses.
    """
    opts = dict(dice_options)
    mode = opts.pop("mode", "multiclass")
    ignore_index = opts.pop("ignore_index", None)
    if mode != "multiclass" or ignore_index != ce_ignore_index or ce_reduction == "none":
        return None
    if not (isinstance(logits, torch.Tensor) and isinstance(target, torch.Tensor)):
        return None
    if not logits.is_floating_point() or logits.dim() < 2:
        return None
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        return None
    n, num_classes = logits.shape[0], logits.shape[1]
    grid = (n, *logits.shape[2:])
    if tuple(target.shape) != grid:
        return None
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
    _check_common(dice_reduction, pooling, smooth)
    _choice(empty, "empty", EMPTY_MODES)
    _check_reduction(ce_reduction)
    d = _prepare(
        logits,
        target,
        mode=mode,
        sample_weight=sample_weight,
        class_weight=dice_class_weight,
        ignore_index=ignore_index,
    )
    if d.hard is None or (d.pixel is not None and d.pixel.requires_grad):
        return None
    # The cross-entropy's weights and coefficients, built as weightwise.losses.cross_entropy
    # builds them (the same helpers).
    cw: torch.Tensor | None = None
    if ce_class_weight is not None:
        cw = check_class_vector(
            as_tensor(ce_class_weight, like=logits, name="class_weight"),
            num_classes,
            name="class_weight",
        )
    hard, valid = d.hard, d.valid
    omega: torch.Tensor | None = None
    if ce_reduction in ("weighted_mean", "nonzero_mean"):
        kappa: torch.Tensor | None = None
        if valid is not None:
            mask = valid.to(logits.dtype)
            kappa = mask if cw is None else cw[hard] * mask
        elif cw is not None:
            kappa = cw[hard]
        omega = kappa
    s: torch.Tensor | None = None
    if sample_weight is not None:
        s = broadcast_weight(sample_weight, grid, name="sample_weight", like=logits)
        s = s.reshape(n, -1)
        omega = s if omega is None else s * omega
    coef = element_coefficients(
        tuple(hard.shape),
        s=s,
        omega=omega,
        valid=valid,
        reduction=ce_reduction,
        sync=ce_sync,
        like=logits,
    )
    d.ce_coef = coef.contiguous()
    d.ce_class_weight = cw
    dice = _dice_finish(
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


def _tversky_index(alpha: float, beta: float, smooth: float) -> Any:
    def index(inter: torch.Tensor, big_p: torch.Tensor, big_g: torch.Tensor) -> torch.Tensor:
        fp = (big_p - inter).clamp_min(0)  # Σ m·p·(1-g), rounding can make it -0.0…
        fn = (big_g - inter).clamp_min(0)  # Σ m·(1-p)·g
        return _safe_div(inter + smooth, inter + alpha * fp + beta * fn + smooth)

    return index


def _check_alpha_beta(alpha: float, beta: float) -> None:
    for name, v in (("alpha", alpha), ("beta", beta)):
        if not (isinstance(v, (int, float)) and v >= 0):
            raise ValueError(f"{name} must be a non-negative number; got {v!r}")


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
    reduction: str = "mean",
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
    _check_common(reduction, pooling, smooth)
    _choice(empty, "empty", EMPTY_MODES)
    _check_alpha_beta(alpha, beta)
    d = _prepare(
        logits,
        target,
        mode=mode,
        sample_weight=sample_weight,
        class_weight=class_weight,
        ignore_index=ignore_index,
    )
    index = _tversky_index(alpha, beta, smooth)

    def ell(inter: torch.Tensor, big_p: torch.Tensor, big_g: torch.Tensor) -> torch.Tensor:
        return 1 - index(inter, big_p, big_g)

    return _finish(
        ell,
        d,
        squared=False,
        pooling=pooling,
        include_background=include_background,
        empty_mode=empty,
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
    reduction: str = "mean",
    sync: SyncArg = False,
) -> torch.Tensor:
    r"""Focal Tversky loss (Abraham & Khan 2019) as the paper writes it.

    Per class, ``ℓ_c = (1 - TI_c)^{1/γ}`` with the Tversky index of :func:`tversky_loss`
    (``α`` on FP, ``β`` on FN), **then** averaged over the classes with the class weights.
    (Raising the already averaged loss to ``1/γ`` is a common mistake; it is not the paper's
    loss.) Defaults ``α = 0.3, β = 0.7, γ = 4/3``. ``γ = 1`` is the Tversky loss.

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
    _check_common(reduction, pooling, smooth)
    _choice(empty, "empty", EMPTY_MODES)
    _check_alpha_beta(alpha, beta)
    if not (isinstance(gamma, (int, float)) and gamma > 0):
        raise ValueError(f"gamma must be a positive number; got {gamma!r}")
    d = _prepare(
        logits,
        target,
        mode=mode,
        sample_weight=sample_weight,
        class_weight=class_weight,
        ignore_index=ignore_index,
    )
    index = _tversky_index(alpha, beta, smooth)
    tiny = torch.finfo(d.logits.dtype).tiny

    def ell(inter: torch.Tensor, big_p: torch.Tensor, big_g: torch.Tensor) -> torch.Tensor:
        return (1 - index(inter, big_p, big_g)).clamp_min(tiny) ** (1.0 / gamma)

    return _finish(
        ell,
        d,
        squared=False,
        pooling=pooling,
        include_background=include_background,
        empty_mode=empty,
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
    reduction: str = "mean",
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
    _check_common(reduction, pooling, smooth)
    _choice(weight_type, "weight_type", GD_WEIGHTS)
    d = _prepare(
        logits,
        target,
        mode=mode,
        sample_weight=sample_weight,
        class_weight=class_weight,
        ignore_index=ignore_index,
    )
    inter, big_p, big_g = _sums(d, squared=False)
    cw = d.class_weight
    if not include_background and inter.shape[1] > 1:
        inter, big_p, big_g = inter[:, 1:], big_p[:, 1:], big_g[:, 1:]
        cw = None if cw is None else cw[1:]
    s = d.sample
    world = 1
    if pooling == "batch":
        if s is not None:
            inter, big_p, big_g = (x * s.unsqueeze(1) for x in (inter, big_p, big_g))
        (inter, big_p, big_g), world = _global_sums(
            (inter.sum(0, keepdim=True), big_p.sum(0, keepdim=True), big_g.sum(0, keepdim=True)),
            sync,
        )
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
    value = 1 - _safe_div(num, den)
    kept = w.sum(-1) > 0
    if s is not None and pooling == "sample":
        kept = kept & (s != 0)
    if pooling == "batch":
        value = torch.where(kept, value, torch.zeros_like(value))[0]
        if world > 1:
            return world * value - (world - 1) * value.detach()
        return value
    return _reduce_samples(value, kept, s, reduction=reduction, sync=sync)
