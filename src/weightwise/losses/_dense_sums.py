"""The per-class sums of the dense losses, and the one-pass softmax kernel behind them.

For every sample ``n`` and class ``c``: the intersection ``I_nc = Σ_x m·p·g`` and the
cardinalities ``P_nc = Σ_x m·p`` and ``G_nc = Σ_x m·g`` (``p²`` and ``g²`` with ``squared``),
with ``m`` the pixel weight (see ``docs/segmentation.md``). Multi-class hard targets take
:class:`_SoftmaxHardSums`, an autograd function that computes the softmax, the sums (and, for
the Dice + cross-entropy fast path, the cross-entropy) in one pass and, above 2^20 logits,
keeps nothing logits-sized for backward; every other case, and every call traced by
``torch.compile`` but the Dice + cross-entropy fast path (the compiler fuses the plain form
itself, and the function's recomputed softmax would only cost time there), is plain autograd
on :attr:`Dense.prob`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import FunctionCtx

from ._dense_inputs import Dense

__all__ = ["dense_sums", "softmax_hard_sums"]

# Logits up to this size keep their softmax for the backward pass of _SoftmaxHardSums (4 MB in
# float32); larger ones recompute it, so that nothing logits-sized is kept.
_KEEP_SOFTMAX_ELEMENTS = 1 << 20


class _SoftmaxHardSums(torch.autograd.Function):
    r"""Multi-class Dice sums from logits and class indices in one pass, without a one-hot.

    Forward: ``p = softmax(x)`` over C, then ``I_nc = Σ_x m·p·[t=c]`` (gather ``p_t``, then a
    scatter-add by class in float64) and ``P_nc = Σ_x m·p`` (``p²`` with ``squared``).
    Optionally also the cross-entropy sum ``Σ_x c_x·cw_t·(-log p_t)`` of CompoundLoss.dice_ce.
    Above 2^20 logits nothing logits-sized is kept (only ``p_t``, ``(N, S)``): the backward
    recomputes ``p`` from the logits (smaller logits keep ``p``, cheaper than its recompute)
    and applies the analytic gradient,
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
        del pp
        acc = torch.zeros((n, c), dtype=torch.float64, device=logits.device)
        inter = acc.scatter_add_(1, hard, mp_y.to(torch.float64)).to(logits.dtype)
        # p_t (a quarter of the logits for C = 4) is kept; the rest is recomputed in backward,
        # except for small logits, whose softmax is kept too: recomputing it cost more time
        # than its memory is worth (a tenth of the Dice step at (8, 4, 64, 64)).
        keep_p = logits.numel() <= _KEEP_SOFTMAX_ELEMENTS
        ctx.kept_p = p if keep_p else None  # type: ignore[attr-defined]
        del p
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
        # Kept for every backward through the graph (retain_graph): the same p each time.
        kept: torch.Tensor | None = ctx.kept_p  # type: ignore[attr-defined]
        # A second order (create_graph) needs p as a function of the logits: recomputed then.
        if kept is not None and not torch.is_grad_enabled():
            p = kept
        else:
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


def softmax_hard_sums(
    d: Dense, *, squared: bool
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


def dense_sums(d: Dense, *, squared: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The per-sample, per-class sums ``I``, ``P``, ``G``, each ``(N, C)``."""
    m = d.pixel
    if (
        d.hard is not None
        and d.mode == "multiclass"
        and (m is None or (m.shape[1] == 1 and not m.requires_grad))
        and d._prob is None
        # Traced, the plain form, except for the Dice + CE fast path, which needs the CE
        # from the Function.
        and (d.ce_coef is not None or not torch.compiler.is_compiling())
    ):
        return softmax_hard_sums(d, squared=squared)
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
