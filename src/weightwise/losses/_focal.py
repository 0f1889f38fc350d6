"""Focal losses (Lin et al. 2017), softmax and sigmoid, under the weighting contract.

Both losses run through a custom :class:`torch.autograd.Function` with an analytic backward
pass. Autograd on the textbook composition keeps every intermediate (``log_softmax``, ``p``,
``p_t``, ``(1-p_t)**γ``, ...) alive until backward; these functions keep only the logits and
the target (and, for the softmax loss, ``log p_y`` per element), recompute what they need in
backward, and process the logits in blocks of ``_CHUNK_ELEMENTS`` (sigmoid) or
``_SOFTMAX_CHUNK_ELEMENTS`` (softmax) per thread with preallocated buffers, so that
temporaries stay small and in cache. The weights and the reduction are applied outside the
function, by :mod:`weightwise.reduction`, so their semantics stay the same as in every other
loss.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch.autograd.function import FunctionCtx, once_differentiable

from .._checks import (
    as_tensor,
    check_class_vector,
    check_nonnegative_real,
    check_unit_interval,
    class_vector_like,
    prepare_class_target,
)
from ..reduction import Reduction, SyncArg, _check_reduction, broadcast_weight, reduce_weighted
from ._common import align_per_label, check_binary_pair
from ._fused import cpu_contended

__all__ = ["binary_focal_loss", "focal_loss"]

# Elements per chunk and intra-op thread in the custom forward/backward passes: large enough
# that the Python loop costs nothing next to the arithmetic, small enough that temporaries stay
# in cache. The sigmoid loss's passes are elementwise (``_CHUNK_ELEMENTS``); the softmax loss's
# run PyTorch's (log_)softmax kernels and class-axis gathers, and gained from larger blocks
# (measured against the composition, float32, 2 threads, 2^17 -> 2^18 per thread: 65536x1000
# 0.51-0.54x -> 0.45-0.47x, 4096x1000 1.23x -> 1.11x, 4x16x256x256 1.19x -> 1.08x), where the
# sigmoid loss did not (4096x1000 0.84x -> 0.93x).
_CHUNK_ELEMENTS = 1 << 17
_SOFTMAX_CHUNK_ELEMENTS = 1 << 18


# A block of columns ``x[i, :, j:k]`` of a dense ``(N, C, S)`` input is strided: PyTorch's
# (log_)softmax kernels copy a strided input to a contiguous one, and an ``out=`` that is
# strided through a temporary, which costs more than a block that spills out of cache. So a
# whole row (contiguous) is one block up to this many chunks; only larger rows are split.
_ROW_CHUNKS = 16


def _chunk(*, softmax: bool) -> int:
    """Elements per block: ``_SOFTMAX_CHUNK_ELEMENTS`` (softmax loss) or ``_CHUNK_ELEMENTS``
    (sigmoid loss) per intra-op thread, so that each thread's share stays cache-sized while the
    number of parallel regions (each one ends in a thread barrier) does not grow with the
    thread count."""
    # torch.compile cannot trace get_num_threads(); a traced graph takes one thread's chunk.
    threads = 1 if torch.compiler.is_compiling() else torch.get_num_threads()
    per_thread = _SOFTMAX_CHUNK_ELEMENTS if softmax else _CHUNK_ELEMENTS
    return per_thread * max(1, threads)


def _compose(logits: torch.Tensor, gamma: float, *, softmax: bool) -> bool:
    """Whether to take the plain autograd composition instead of the blocked Function.

    Only for ``gamma = 0`` or ``gamma >= 1``, where autograd's gradient of ``q^gamma`` stays
    finite at ``q = 0``; then, on a CPU:

    * in eager mode when the input is at most one block: there is no memory to save, and the
      composition's few ops cost less than the Function's Python-level passes (a classifier's
      ``(256, 10)`` logits); under ``torch.compile`` the traced Function costs no Python, so
      it stays;
    * when other processes keep the cores busy, where the blocks' many parallel regions wait
      on descheduled threads (see :func:`weightwise.losses._fused.cpu_contended`).
    """
    if logits.device.type != "cpu" or not (gamma == 0.0 or gamma >= 1.0):
        return False
    if logits.numel() <= _chunk(softmax=softmax):
        return not torch.compiler.is_compiling()
    return cpu_contended()


# ---- softmax focal ------------------------------------------------------------------------


def _softmax_focal_composed(x3: torch.Tensor, t2: torch.Tensor, gamma: float) -> torch.Tensor:
    """``-(1 - p_y)^γ · log p_y`` by autograd on ``(N, C, S)`` logits and ``(N, S)`` targets."""
    if x3.shape[2] == 1:
        # (N, C): the class axis last, PyTorch's fast vectorised (log_)softmax path (over a
        # middle axis of size-1 inner extent it takes a far slower one).
        # squeeze, not x3[:, :, 0]: its backward is a view, where select's allocates and
        # copies a logits-sized gradient.
        logp = torch.log_softmax(x3.squeeze(2), dim=1).gather(1, t2)
        return -logp if gamma == 0.0 else -((-torch.expm1(logp)) ** gamma) * logp
    logp = torch.log_softmax(x3, dim=1).gather(1, t2.unsqueeze(1)).squeeze(1)
    return -logp if gamma == 0.0 else -((-torch.expm1(logp)) ** gamma) * logp


def _blocks(n: int, c: int, s: int) -> list[tuple[slice, slice]]:
    """Chunks of a ``(N, C, S)`` array: blocks of about :func:`_chunk` elements made of whole
    rows; one whole row per block when a row is larger than the chunk but at most
    ``_ROW_CHUNKS`` chunks; blocks of columns within one row beyond that."""
    per_row = c * s
    chunk = _chunk(softmax=True)
    if per_row <= chunk:
        step = max(1, chunk // max(1, per_row))
        return [(slice(i, i + step), slice(None)) for i in range(0, n, step)]
    if per_row <= _ROW_CHUNKS * chunk:
        return [(slice(i, i + 1), slice(None)) for i in range(n)]
    cols = max(1, chunk // max(1, c))
    return [(slice(i, i + 1), slice(j, j + cols)) for i in range(n) for j in range(0, s, cols)]


def _workspace(x3: torch.Tensor, blocks: list[tuple[slice, slice]]) -> torch.Tensor:
    """One buffer big enough for the largest block, reused by every block (so the loop neither
    allocates nor page-faults fresh memory)."""
    if not blocks:
        return x3.new_empty(0)
    rows, cols = blocks[0]
    return torch.empty_like(_block(x3, rows, cols, x3.shape[2]))


def _block(x3: torch.Tensor, rows: slice, cols: slice, s: int) -> torch.Tensor:
    """``x3[rows, :, cols]``; 2-D ``(rows, C)`` when ``S == 1``, so that softmax over dim 1 is
    over the last, contiguous dim (PyTorch's fast vectorised path)."""
    return x3[rows, :, 0] if s == 1 else x3[rows, :, cols]


class _SoftmaxFocal(torch.autograd.Function):
    """``L = -(1 - p_y)^γ · log p_y`` per element; logits ``(N, C, S)``, target ``(N, S)``.

    Forward and backward run over blocks of about :func:`_chunk` logits: the forward
    keeps one block-sized ``log_softmax`` buffer, the backward writes the softmax straight into
    the gradient. Saved for backward: the logits, the target and ``log p_y``.

    Backward: with ``q = 1 - p_y``, ``dL/dx_c = coef · (δ_cy - p_c)`` where
    ``coef = dL/d log p_y = -q^γ + γ·p_y·q^(γ-1)·log p_y = q^γ·(γ·p_y·log p_y / q - 1)``.
    """

    @staticmethod
    def forward(
        ctx: FunctionCtx, logits: torch.Tensor, target: torch.Tensor, gamma: float
    ) -> torch.Tensor:
        n, c, s = logits.shape
        blocks = _blocks(n, c, s)
        ws = _workspace(logits, blocks)
        tgt = target.unsqueeze(1)
        logp = logits.new_empty(target.shape)
        for rows, cols in blocks:
            xb = _block(logits, rows, cols, s)
            w = ws[: xb.shape[0]] if s == 1 else ws[: xb.shape[0], :, : xb.shape[2]]
            # PyTorch's fused log_softmax is log-sum-exp based (max-shifted): no overflow.
            torch.log_softmax(xb, 1, out=w)
            picked = w.gather(1, _block(tgt, rows, cols, s))  # (r, 1) or (r, 1, cols)
            logp[rows, cols] = picked if s == 1 else picked.squeeze(1)
        loss = _focal_from_logp(logp, gamma)
        ctx.save_for_backward(logits, target, logp)
        ctx.gamma = gamma  # type: ignore[attr-defined]
        return loss

    @staticmethod
    @once_differentiable
    def backward(
        ctx: FunctionCtx, grad_out: torch.Tensor
    ) -> tuple[torch.Tensor | None, None, None]:
        logits, target, logp = ctx.saved_tensors  # type: ignore[attr-defined]
        gamma: float = ctx.gamma  # type: ignore[attr-defined]
        if gamma == 0.0:
            coef = -grad_out
        else:
            # In place on grid-sized buffers: coef = q^γ · (γ·p·log p / q - 1) · grad_out.
            # q = 1 - p_y via expm1: no cancellation when p_y is close to 1.
            q = torch.expm1(logp).neg_()
            coef = q.pow(gamma)
            # q = 0 only where log p_y = 0, where p·log p = 0 too; log p / q -> -1 as q -> 0,
            # so this stays finite where q^(γ-1) would not.
            q.clamp_(min=torch.finfo(q.dtype).tiny)
            ratio = logp.exp().mul_(logp).div_(q).mul_(gamma).sub_(1.0)
            coef.mul_(ratio).mul_(grad_out)
            del q, ratio
        neg_coef = (-coef).unsqueeze(1)
        coef = coef.unsqueeze(1)
        tgt = target.unsqueeze(1)
        grad = torch.empty_like(logits)
        n, c, s = logits.shape
        for rows, cols in _blocks(n, c, s):
            g = _block(grad, rows, cols, s)
            # The softmax goes straight into the gradient buffer (fused kernel, no temporary).
            torch.softmax(_block(logits, rows, cols, s), 1, out=g)
            g.mul_(_block(neg_coef, rows, cols, s))
            g.scatter_add_(1, _block(tgt, rows, cols, s), _block(coef, rows, cols, s))
        return grad, None, None


def _focal_from_logp(logp: torch.Tensor, gamma: float) -> torch.Tensor:
    if gamma == 0.0:
        return -logp
    # 1 - p via expm1 (no cancellation as p -> 1); in place on one grid-sized buffer.
    return torch.expm1(logp).neg_().pow_(gamma).mul_(logp).neg_()


def focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    gamma: float = 2.0,
    alpha: Any = None,
    sample_weight: Any = None,
    class_weight: Any = None,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    sync: SyncArg = False,
) -> torch.Tensor:
    r"""Softmax focal loss for multi-class and dense inputs (Lin et al. 2017).

    Shapes:
        * ``logits``: ``(N, C)`` or dense ``(N, C, d1, ..., dk)``; unnormalised scores.
        * ``target``: class indices ``(N,)`` / ``(N, d1, ..., dk)`` (integer dtype).
        * ``sample_weight``: ``s``, a scalar or any leading prefix of the element grid
          ``(N, d1, ..., dk)`` (``(N,)``, a per-pixel map, the full grid).
        * ``alpha``, ``class_weight``: ``None`` or ``(C,)``.

    Formula, with ``p = softmax(logits)`` over dim 1 and ``y`` the target class::

        L = -(1 - p_y)^γ · log p_y
        κ = alpha[y] · class_weight[y]            ω = s · κ

    ``alpha`` is the paper's name for a class weight: it simply multiplies ``class_weight``,
    and like it enters the ``"weighted_mean"`` denominator ``Σ ω``. It must be ``None`` or a
    per-class vector; a scalar is a ``ValueError`` because the anchors disagree on what a scalar
    alpha means for a softmax (for the sigmoid loss it weights positives against negatives, see
    :func:`binary_focal_loss`). ``gamma = 0`` gives :func:`weightwise.losses.cross_entropy`.

    ``ignore_index`` elements get ``ω = 0`` and leave ``N``. Reductions are those of
    :mod:`weightwise.reduction`.

    Implementation: a custom autograd function with an analytic backward pass keeps only the
    logits, the target and ``log p_y`` per element (from PyTorch's max-shifted
    ``log_softmax``, which never overflows), and works block by block, so forward + backward
    needs far less memory than autograd on ``log_softmax``/``gather``/``pow``. It supports
    first derivatives only (no double backward).

    Reference:
        T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollár. *Focal Loss for Dense Object
        Detection.* ICCV 2017.

    Args:
        logits: unnormalised scores.
        target: class indices.
        gamma: focusing parameter ``γ >= 0``.
        alpha: ``None`` or per-class weights ``(C,)`` (finite, ``>= 0``).
        sample_weight: per-sample, per-pixel or per-element weight ``s`` (finite, ``>= 0``).
        class_weight: per-class weight ``(C,)`` (finite, ``>= 0``).
        ignore_index: a target value whose elements are left out.
        reduction: ``"mean"`` (default), ``"weighted_mean"``, ``"nonzero_mean"``, ``"sum"`` or
            ``"none"`` (``ω·L`` of shape ``(N, d1, ..., dk)``).
        sync: all-reduce the denominator across ranks (see :mod:`weightwise.reduction`).

    Example:
        >>> import torch
        >>> logits = torch.randn(4, 3)
        >>> y = torch.tensor([0, 2, 1, 2])
        >>> loss = focal_loss(logits, y, gamma=2.0, alpha=torch.tensor([0.25, 0.5, 0.25]))
    """
    _check_reduction(reduction)
    g = check_nonnegative_real(gamma, "gamma")
    prep = prepare_class_target(
        logits, target, ignore_index=ignore_index, allow_soft=False, loss_name="focal loss"
    )
    num_classes, grid = prep.num_classes, prep.grid
    kappa_c: torch.Tensor | None = None
    if alpha is not None:
        a = as_tensor(alpha, like=logits, name="alpha")
        if a.dim() == 0:
            raise ValueError(
                f"alpha must be None or a per-class vector of shape ({num_classes},); got the "
                f"scalar {a.item()!r}. A scalar alpha is ambiguous for the softmax focal loss "
                f"(the anchors disagree on its meaning); pass one weight per class, e.g. "
                f"torch.full(({num_classes},), a)"
            )
        kappa_c = check_class_vector(a, num_classes, name="alpha")
    cw = class_vector_like(class_weight, logits)
    if cw is not None:
        kappa_c = cw if kappa_c is None else kappa_c * cw
    valid, safe_t = prep.valid, prep.safe

    n_rows = logits.shape[0]
    spatial = math.prod(logits.shape[2:])
    x3, t2 = logits.reshape(n_rows, num_classes, spatial), safe_t.reshape(n_rows, spatial)
    if _compose(logits, g, softmax=True):
        per_elem = _softmax_focal_composed(x3, t2, g).reshape(grid)
    else:
        per_elem = _SoftmaxFocal.apply(x3, t2, g).reshape(grid)

    omega: torch.Tensor | None = None if kappa_c is None else kappa_c[safe_t]
    if valid is not None:
        mask = valid.to(logits.dtype)
        omega = mask if omega is None else omega * mask
    if sample_weight is not None:
        s = broadcast_weight(sample_weight, grid, name="sample_weight", like=logits)
        omega = s if omega is None else s * omega
    weighted = per_elem if omega is None else per_elem * omega
    return reduce_weighted(weighted, omega, reduction=reduction, count=prep.count, sync=sync)


# ---- sigmoid focal ------------------------------------------------------------------------


class _SigmoidFocal(torch.autograd.Function):
    """torchvision's ``L = BCE(x, t) · (1 - p_t)^γ`` elementwise, for ``t`` in ``[0, 1]``.

    Backward: with ``q = 1 - p_t = t·σ(-x) + (1-t)·σ(x)`` and ``dq/dx = (1 - 2t)·p·(1 - p)``,
    ``dL/dx = (p - t)·q^γ + γ·BCE·q^(γ-1)·(1 - 2t)·p·(1 - p)``.

    Both passes run over flat chunks with a few preallocated chunk-sized buffers and in-place
    arithmetic, so nothing of the logits' size is allocated except the result.
    """

    @staticmethod
    def forward(
        ctx: FunctionCtx, logits: torch.Tensor, target: torch.Tensor, gamma: float
    ) -> torch.Tensor:
        x = logits.reshape(-1)
        t = target.reshape(-1)
        out = torch.empty_like(x)
        chunk = _chunk(softmax=False)
        size = min(chunk, x.numel())
        p, sm, q, ce, w = (x.new_empty(size) for _ in range(5))
        for i in range(0, x.numel(), chunk):
            xc, tc = x[i : i + size], t[i : i + size]
            k = xc.shape[0]
            _bce(xc, tc, ce[:k], w[:k])
            if gamma == 0.0:
                out[i : i + k] = ce[:k]
                continue
            _one_minus_pt(xc, tc, sm[:k], p[:k], q[:k], w[:k])
            q[:k].pow_(gamma)
            torch.mul(ce[:k], q[:k], out=out[i : i + k])
        ctx.save_for_backward(logits, target)
        ctx.gamma = gamma  # type: ignore[attr-defined]
        return out.reshape(logits.shape)

    @staticmethod
    @once_differentiable
    def backward(
        ctx: FunctionCtx, grad_out: torch.Tensor
    ) -> tuple[torch.Tensor | None, None, None]:
        logits, target = ctx.saved_tensors  # type: ignore[attr-defined]
        gamma: float = ctx.gamma  # type: ignore[attr-defined]
        x = logits.reshape(-1)
        t = target.reshape(-1)
        go = grad_out.reshape(-1)
        grad = torch.empty_like(x)
        chunk = _chunk(softmax=False)
        size = min(chunk, x.numel())
        p, sm, q, ce, w, d = (x.new_empty(size) for _ in range(6))
        tiny = torch.finfo(x.dtype).tiny
        for i in range(0, x.numel(), chunk):
            xc, tc = x[i : i + size], t[i : i + size]
            k = xc.shape[0]
            pk, smk, qk, cek, wk, dk = p[:k], sm[:k], q[:k], ce[:k], w[:k], d[:k]
            if gamma == 0.0:
                torch.sigmoid(xc, out=pk)
                torch.sub(pk, tc, out=dk)  # p - t
            else:
                _one_minus_pt(xc, tc, smk, pk, qk, wk)  # pk = σ(x), smk = σ(-x) = 1 - p
                torch.sub(pk, tc, out=dk)  # p - t
                _bce(xc, tc, cek, wk)
                qk.clamp_(min=tiny)  # q = 0 only where BCE underflows to 0 too
                cek.div_(qk)  # BCE/q: bounded as q -> 0, where q^(γ-1) alone overflows
                qk.pow_(gamma)
                dk.mul_(qk)
                cek.mul_(qk).mul_(gamma)
                torch.mul(tc, -2.0, out=wk).add_(1.0)  # 1 - 2t
                cek.mul_(wk).mul_(pk).mul_(smk)
                dk.add_(cek)
            torch.mul(dk, go[i : i + k], out=grad[i : i + k])
        return grad.reshape(logits.shape), None, None


def _bce(x: torch.Tensor, t: torch.Tensor, out: torch.Tensor, tmp: torch.Tensor) -> None:
    """``out = BCE-with-logits(x, t) = max(x, 0) - t·x + log1p(exp(-|x|))``, in place.

    The softplus form never overflows and never takes the log of 0.
    """
    torch.abs(x, out=out)
    out.neg_().exp_().log1p_()
    torch.clamp(x, min=0, out=tmp)
    out.add_(tmp).addcmul_(t, x, value=-1.0)


def _one_minus_pt(
    x: torch.Tensor,
    t: torch.Tensor,
    sig_neg: torch.Tensor,
    sig_pos: torch.Tensor,
    q: torch.Tensor,
    tmp: torch.Tensor,
) -> None:
    """``q = 1 - p_t = t·σ(-x) + (1-t)·σ(x)``, never ``1 - (almost 1)``, in place.

    Also leaves ``sig_neg = σ(-x)``, ``sig_pos = σ(x)`` and ``tmp = 1 - t``.
    """
    torch.neg(x, out=sig_neg)
    sig_neg.sigmoid_()
    torch.sigmoid(x, out=sig_pos)
    torch.mul(sig_neg, t, out=q)
    torch.mul(t, -1.0, out=tmp).add_(1.0)
    q.addcmul_(tmp, sig_pos)


def _sigmoid_focal_composed(x: torch.Tensor, t: torch.Tensor, gamma: float) -> torch.Tensor:
    """Plain autograd version, used when the target itself needs a gradient."""
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    q = t * torch.sigmoid(-x) + (1 - t) * torch.sigmoid(x)
    return ce if gamma == 0.0 else ce * q.pow(gamma)


def binary_focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    gamma: float = 2.0,
    alpha: Any = 0.25,
    sample_weight: Any = None,
    pos_weight: Any = None,
    neg_weight: Any = None,
    reduction: Reduction = "mean",
    sync: SyncArg = False,
) -> torch.Tensor:
    r"""Sigmoid focal loss for binary and multi-label problems (Lin et al. 2017, torchvision).

    Shapes:
        * ``logits``: ``(N,)`` binary, ``(N, C)`` multi-label, or dense ``(N, C, d1, ...)``.
        * ``target``: the logits' shape, values in ``[0, 1]`` (soft targets allowed).
        * ``sample_weight``: a scalar, ``(N,)``, ``(N, C)`` per sample and label,
          ``(N, d1, ...)`` per pixel, or the full grid.
        * ``alpha``, ``pos_weight``, ``neg_weight``: a scalar or ``(C,)`` aligned with dim 1.

    Formula, torchvision's ``sigmoid_focal_loss`` for any ``t`` in ``[0, 1]``, with
    ``p = σ(x)``::

        p_t = p·t + (1-p)·(1-t)
        L   = BCE(x, t) · (1 - p_t)^γ
        α_t = α·t + (1-α)·(1-t)                   (1 when alpha is None)
        κ   = α_t · (pos_weight·t + neg_weight·(1-t))        ω = s · κ

    A scalar ``alpha`` weights positives by ``α`` and negatives by ``1 - α`` (the paper's
    0.25 is the default); ``alpha=None`` turns it off; a ``(C,)`` alpha is per label. Like
    ``pos_weight`` and ``neg_weight`` it is part of ``κ`` and enters the ``"weighted_mean"``
    denominator ``Σ ω``. With ``reduction="none"``, no ``sample_weight`` and no
    ``pos_weight``/``neg_weight`` the result equals torchvision's
    ``sigmoid_focal_loss(x, t, alpha, gamma, reduction="none")`` (torchvision's
    ``"mean"`` is our ``"mean"``, its ``"sum"`` our ``"sum"``). With ``gamma=0`` and
    ``alpha=None`` it is :func:`weightwise.losses.binary_cross_entropy` for hard targets.

    ``1 - p_t`` is computed as ``t·σ(-x) + (1-t)·σ(x)``, so it never suffers the cancellation of
    ``1 - (almost 1)``; the BCE is softplus-based. A custom autograd function with an analytic
    backward keeps only the logits and the target for backward (first derivatives only). If
    the target itself requires a gradient, plain autograd is used instead.

    Reference:
        T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollár. *Focal Loss for Dense Object
        Detection.* ICCV 2017.

    Example:
        >>> import torch
        >>> logits = torch.randn(8, 5)
        >>> Y = (torch.rand(8, 5) > 0.7).float()
        >>> loss = binary_focal_loss(logits, Y, gamma=2.0, alpha=0.25)
    """
    _check_reduction(reduction)
    g = check_nonnegative_real(gamma, "gamma")
    target = check_binary_pair(logits, target)

    kappa: torch.Tensor | None = None
    if alpha is not None:
        a = align_per_label(alpha, logits, name="alpha")
        check_unit_interval(a, "alpha")
        kappa = a * target + (1 - a) * (1 - target)
    if pos_weight is not None or neg_weight is not None:
        pw = 1.0 if pos_weight is None else align_per_label(pos_weight, logits, name="pos_weight")
        nw = 1.0 if neg_weight is None else align_per_label(neg_weight, logits, name="neg_weight")
        k2 = pw * target + nw * (1 - target)
        kappa = k2 if kappa is None else kappa * k2

    if (target.requires_grad and torch.is_grad_enabled()) or _compose(logits, g, softmax=False):
        per_elem = _sigmoid_focal_composed(logits, target, g)
    else:
        per_elem = _SigmoidFocal.apply(logits, target.contiguous(), g)

    omega = kappa
    if sample_weight is not None:
        s = broadcast_weight(
            sample_weight, logits.shape, name="sample_weight", class_axis=True, like=logits
        )
        omega = s if omega is None else s * omega
    weighted = per_elem if omega is None else per_elem * omega
    if omega is not None and tuple(omega.shape) != tuple(weighted.shape):
        omega = omega.expand(weighted.shape)
    return reduce_weighted(weighted, omega, reduction=reduction, sync=sync)
