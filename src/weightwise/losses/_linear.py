"""Fused linear cross-entropy: ``cross_entropy(hidden @ weight.T + bias, target)`` without the
``(N, V)`` logits.

Memory model. A language-model head's logits for 8192 tokens and a 128k vocabulary are 4 GiB in
float32, and autograd keeps them (or their log-softmax) for the backward pass, which then
allocates a gradient of the same size. Here the forward pass walks over chunks of ``R`` tokens;
for each chunk it computes the chunk's logits ``z = h·Wᵀ + b`` (``R × V``), their log-sum-exp,
the chunk's loss, and the gradient ``g = ∂loss/∂z`` in place of the logits (the elementwise
work in float32, or float64 for float64 inputs, block by block of rows that fit in a core's
cache, or in larger blocks on a CPU that other processes keep busy; half-precision logits are
upcast per block and ``g`` stored back in their dtype), and immediately contracts ``g`` into
the gradients of the inputs:
``∇h = g·W`` (rows of the chunk) and ``∇W += gᵀ·h``, ``∇b += Σ g``, summed over the chunks in
float32 (float64). For bfloat16 / float16 inputs the two products run in that dtype, as
autograd's would, and each chunk's ``gᵀ·h`` is added to the float32 sum. Only
``∇h``, ``∇W`` and ``∇b`` are kept for backward (as saved tensors, freed after it), which
returns them scaled by the incoming gradient. Peak extra memory is those gradients (twice,
briefly, in backward) plus one chunk of logits, whatever ``N``.

The loss of element ``e`` is ``c_e · A_e``, where ``c_e = s_e · W / D`` comes from the
weighting contract (:func:`weightwise.reduction.reduction_terms`) and ``A_e`` is the
class-weighted cross-entropy with label smoothing and z-loss::

    A = (1-ε)·cw_y·(lse - z_y) + ε/V · Σ_c cw_c·(lse - z_c) + ζ·cw_y·lse²
    ∂A/∂z = p·((1-ε)·cw_y + ε/V·Σ_c cw_c + 2ζ·cw_y·lse) - (1-ε)·cw_y·onehot(y) - ε/V·cw

with ``lse = logsumexp(z)``, ``p = softmax(z)``, ``ε`` the smoothing and ``ζ`` the z-loss
coefficient (PaLM, Chowdhery et al. 2022, §5: ``ζ·log²Z`` with ``ζ = 1e-4``).

The function is once-differentiable (the gradients are computed in the forward pass).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.autograd.function import FunctionCtx, once_differentiable

from .._checks import as_tensor, check_class_vector, check_in_range
from ..reduction import Reduction, SyncArg, _check_reduction, broadcast_weight, reduction_terms
from ._fused import _rows, cpu_contended

__all__ = ["linear_cross_entropy"]

# Logit elements per chunk (R·V): 2^24 float32 values are 64 MiB of temporaries per chunk, large
# enough for efficient matrix products and for few passes over ∇W.
_CHUNK_ELEMENTS = 1 << 24
# Logit elements per block of rows for the elementwise work (2^19 float32 values: 2 MiB, about
# a core's L2 cache).
_CACHE_ELEMENTS = 1 << 19
# Logit elements per block on a CPU that other processes keep busy (2^22 float32 values:
# 16 MiB). Every elementwise pass is a parallel region whose threads wait at a barrier for the
# slowest, and a descheduled thread holds it for a scheduler slice: at V = 32768, fp32, with one
# busy process per core, cache-sized blocks (about ten regions per 16 rows) took 1.5-1.7x the
# composition's time, blocks of 2^22 elements 0.93x (benchmarks/bench_linear_ce.py --load).
_CONTENDED_BLOCK_ELEMENTS = 1 << 22
# Vocabulary rows per block of a half-precision ∇W product (V_b·H elements: 8 MiB of bfloat16).
_BLOCK_ELEMENTS = 1 << 22


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def _fast_half_matmul(device: torch.device, dtype: torch.dtype) -> bool:
    """Whether ``dtype`` matrix products run natively on ``device`` (not emulated in float32)."""
    if device.type != "cpu":
        return True
    cpu = getattr(torch, "cpu", None)
    probe = {
        torch.bfloat16: ("_is_avx512_bf16_supported", "_is_amx_tile_supported"),
        torch.float16: ("_is_avx512_fp16_supported", "_is_amx_fp16_supported"),
    }.get(dtype, ())
    return any(bool(getattr(cpu, name, lambda: False)()) for name in probe)


def default_chunk_size(vocab: int, dtype: torch.dtype = torch.float32) -> int:
    """Tokens per chunk: ``max(2^24 / V, min(1024, 2^28 / V))``, clamped to ``[16, 8192]``;
    half that for bfloat16 / float16 inputs.

    At least ``2^24`` logits per chunk, and at least 1024 tokens while a chunk stays under
    ``2^28`` logits (1 GiB in float32): ``∇W += gᵀ·h`` reads and writes all of ``∇W`` once per
    chunk, so few, tall chunks keep large vocabularies fast (V = 131072: 1024 tokens, 512 MiB).
    Half-precision inputs keep their float32 ``∇W`` sum (and its copy in the input dtype),
    which is large next to the composition's half-precision tensors, so their chunks are half
    as tall.
    """
    v = max(1, vocab)
    rows = max(_CHUNK_ELEMENTS // v, min(1024, (_CHUNK_ELEMENTS << 4) // v))
    if dtype in (torch.bfloat16, torch.float16):
        rows //= 2
    return int(min(8192, max(16, rows)))


def _block_rows(rows: int, vocab: int, device: torch.device) -> int:
    """Rows per block of the elementwise work: cache-sized, larger on a contended CPU."""
    elements = _CACHE_ELEMENTS
    if device.type == "cpu" and cpu_contended():
        elements = _CONTENDED_BLOCK_ELEMENTS
    return max(1, min(rows, _rows(vocab, elements)))  # at least 1 (an empty batch too)


def _softmax_block(
    z: torch.Tensor,
    t: torch.Tensor,
    c: torch.Tensor,
    cw: torch.Tensor | None,
    cw_sum: torch.Tensor,
    eps: float,
    z_loss: float,
    vocab: int,
    grad: bool,
) -> torch.Tensor:
    """``Σ c·A`` (float64) over a block of logit rows ``z`` ``(R, V)``; with ``grad``, ``z`` is
    overwritten by ``∂(Σ c·A)/∂z``."""
    z_y = z.gather(1, t.unsqueeze(1)).squeeze(1)
    zsum = None
    if eps > 0:
        zsum = z.sum(dim=1) if cw is None else z @ cw
    # log-sum-exp and softmax in place: p·S = exp(z - max) in the buffer, lse = max + log S
    # (S >= 1: no log 0, and no overflow whatever the logits).
    zmax = z.amax(dim=1, keepdim=True)
    z.sub_(zmax).exp_()
    ssum = z.sum(dim=1)
    lse = zmax.squeeze(1) + ssum.log()
    w_y = torch.ones_like(lse) if cw is None else cw[t]
    loss = (1 - eps) * w_y * (lse - z_y)
    if zsum is not None:
        loss = loss + (eps / vocab) * (cw_sum * lse - zsum)
    if z_loss > 0:
        loss = loss + z_loss * w_y * lse * lse
    total = (c.to(torch.float64) * loss.to(torch.float64)).sum()
    if not grad:
        return total
    scale = (1 - eps) * w_y + (eps / vocab) * cw_sum
    if z_loss > 0:
        scale = scale + (2 * z_loss) * w_y * lse
    z.mul_((scale * c / ssum).unsqueeze(1))
    z.scatter_add_(1, t.unsqueeze(1), (-(1 - eps) * w_y * c).unsqueeze(1))
    if eps > 0:
        if cw is None:
            z.sub_(((eps / vocab) * c).unsqueeze(1))
        else:
            z.sub_(((eps / vocab) * c).unsqueeze(1) * cw)
    return total


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: FunctionCtx,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        target: torch.Tensor,
        coef: torch.Tensor,
        class_weight: torch.Tensor | None,
        smoothing: float,
        z_loss: float,
        chunk_size: int,
        grad_enabled: bool,
    ) -> torch.Tensor:
        # Inside forward grad mode is off: whether the caller's was on comes in grad_enabled.
        needs = ctx.needs_input_grad  # type: ignore[attr-defined]
        need_h, need_w = grad_enabled and bool(needs[0]), grad_enabled and bool(needs[1])
        need_b = grad_enabled and bias is not None and bool(needs[2])
        n, vocab = hidden.shape[0], weight.shape[0]
        dev = hidden.device
        cdt = _compute_dtype(hidden.dtype)
        half = weight.dtype != cdt
        # Half-precision ∇W product in float32 where the device has no fast half matmul.
        w32 = half and not _fast_half_matmul(dev, weight.dtype)
        grad_h = torch.empty_like(hidden) if need_h else None
        grad_w = torch.zeros(weight.shape, dtype=cdt, device=dev) if need_w else None
        grad_b = torch.zeros((vocab,), dtype=cdt, device=dev) if need_b else None
        cw = None if class_weight is None else class_weight.to(cdt)
        cw_sum = torch.full((), float(vocab), dtype=cdt, device=dev) if cw is None else cw.sum()
        eps = float(smoothing)
        total = torch.zeros((), dtype=torch.float64, device=dev)
        any_grad = need_h or need_w or need_b
        # One logits buffer reused by every chunk: no fresh R×V allocation (and no page faults)
        # per chunk. Its rows are then worked through in cache-sized blocks (softmax, loss and
        # ∂/∂z in place), so that the elementwise passes run in cache rather than over the
        # whole R×V buffer in memory (larger blocks on a contended CPU, where every pass's
        # barrier can wait a scheduler slice); half-precision logits are upcast block by block
        # into a small float32 scratch buffer and the gradient written back in their dtype.
        rows_max = min(n, chunk_size)
        zbuf = torch.empty((rows_max, vocab), dtype=weight.dtype, device=dev)
        block = _block_rows(rows_max, vocab, dev)
        scratch = torch.empty((block, vocab), dtype=cdt, device=dev) if half else None
        wt = weight.t()
        for r0 in range(0, n, chunk_size):
            r1 = min(n, r0 + chunk_size)
            h = hidden[r0:r1]
            zl = zbuf[: r1 - r0]
            if bias is None:
                torch.mm(h, wt, out=zl)
            else:
                torch.addmm(bias, h, wt, out=zl)
            for b0 in range(0, r1 - r0, block):
                b1 = min(r1 - r0, b0 + block)
                z = zl[b0:b1]
                if scratch is not None:
                    z = scratch[: b1 - b0].copy_(z)
                total += _softmax_block(
                    z, target[r0 + b0 : r0 + b1], coef[r0 + b0 : r0 + b1].to(cdt),
                    cw, cw_sum, eps, z_loss, vocab, any_grad,
                )  # fmt: skip
                if not any_grad:
                    continue
                if grad_b is not None:
                    grad_b += z.sum(dim=0)
                if scratch is not None:
                    zl[b0:b1].copy_(z)
            if not any_grad:
                continue
            # zl now holds ∂/∂z. Half-precision inputs: ∇h's product in the inputs' dtype (as
            # the composition's autograd does), ∇W's in float32 where half matmuls are slow
            # (CPUs without AVX512-BF16 / AMX), else in the inputs' dtype by vocabulary
            # blocks; the chunks' ∇W summed in float32.
            if grad_h is not None:
                torch.mm(zl, weight, out=grad_h[r0:r1])
            if grad_w is not None:
                if not half:
                    grad_w.addmm_(zl.t(), h)
                elif w32:
                    grad_w.addmm_(zl.t().to(cdt), h.to(cdt))
                else:
                    vb = max(1, _BLOCK_ELEMENTS // max(1, h.shape[1]))
                    for v0 in range(0, vocab, vb):
                        v1 = min(vocab, v0 + vb)
                        grad_w[v0:v1].add_(torch.mm(zl[:, v0:v1].t(), h))
        del zbuf, scratch
        # Back to the parameters' dtype now, so that only that copy is kept.
        if grad_w is not None and grad_w.dtype != weight.dtype:
            grad_w = grad_w.to(weight.dtype)
        if grad_b is not None and bias is not None and grad_b.dtype != bias.dtype:
            grad_b = grad_b.to(bias.dtype)
        # Saved tensors: autograd frees them after backward unless retain_graph=True.
        ctx.save_for_backward(grad_h, grad_w, grad_b)  # type: ignore[arg-type]
        return total.to(hidden.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad_output: torch.Tensor) -> tuple[Any, ...]:
        out: list[torch.Tensor | None] = []
        for g in ctx.saved_tensors:  # type: ignore[attr-defined]
            if g is None:
                out.append(None)
                continue
            # No host sync (no check of grad_output == 1), and out of place: a retained graph
            # can be differentiated again.
            out.append(g * grad_output.to(g.dtype))
        return (out[0], out[1], out[2], None, None, None, None, None, None, None)


def linear_ce_sum(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    target: torch.Tensor,
    coef: torch.Tensor,
    class_weight: torch.Tensor | None,
    smoothing: float,
    z_loss: float,
    chunk_size: int | None,
) -> torch.Tensor:
    """``Σ_e c_e·A_e`` over ``hidden`` ``(N, H)`` rows, with the gradients computed in forward.

    ``target`` ``(N,)`` holds valid class indices (ignored elements replaced by 0 and given
    ``c_e = 0``); ``coef`` ``(N,)`` is the per-element coefficient ``c_e``.
    """
    if chunk_size is None:
        chunk_size = default_chunk_size(weight.shape[0], weight.dtype)
    out: torch.Tensor = _LinearCrossEntropy.apply(
        hidden.contiguous(),
        weight.contiguous(),
        None if bias is None else bias.contiguous(),
        target,
        coef.detach(),
        None if class_weight is None else class_weight.detach(),
        float(smoothing),
        float(z_loss),
        int(chunk_size),
        torch.is_grad_enabled(),
    )
    return out


def composed_terms(
    logits: torch.Tensor,
    target: torch.Tensor,
    valid: torch.Tensor | None,
    class_weight: torch.Tensor | None,
    smoothing: float,
    z_loss: float,
) -> torch.Tensor:
    """``A_e`` on ``(N, V)`` logits by autograd (the reference for ``reduction="none"``).

    ``target`` holds valid indices; ``valid`` marks the elements not ignored (``A = 0`` on the
    others).
    """
    a = F.cross_entropy(
        logits, target, weight=class_weight, reduction="none", label_smoothing=smoothing
    )
    if z_loss > 0:
        lse = torch.logsumexp(logits, dim=1)
        w_y = 1.0 if class_weight is None else class_weight[target]
        a = a + z_loss * w_y * lse * lse
    return a if valid is None else a * valid.to(a.dtype)


def linear_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    target: torch.Tensor,
    *,
    bias: torch.Tensor | None = None,
    sample_weight: Any = None,
    class_weight: Any = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    reduction: Reduction = "mean",
    denominator: Any = None,
    sync: SyncArg = False,
    chunk_size: int | None = None,
) -> torch.Tensor:
    r"""Weighted cross-entropy of a linear layer's output, without materialising the logits.

    Equals :func:`weightwise.losses.cross_entropy` of ``logits = hidden @ weight.T + bias``
    (plus an optional z-loss) in value and gradient, but never holds the ``(N, V)`` logits:
    the tokens are processed in chunks of ``chunk_size`` rows, and each chunk's gradients for
    ``hidden``, ``weight`` and ``bias`` are computed in the forward pass (``∇weight``
    accumulated in float32, float64 for float64 inputs). Peak extra memory is ``∇weight`` plus
    one ``chunk_size × V`` block, instead of several ``N × V`` tensors
    (``benchmarks/bench_linear_ce.py``; ``docs/transformers.md``).

    Shapes:
        * ``hidden``: ``(N, H)``, or ``(d1, ..., dk, H)`` (e.g. ``(B, T, H)``);
        * ``weight``: ``(V, H)`` (an ``nn.Linear`` / LM-head weight), ``bias``: ``(V,)``;
        * ``target``: class indices ``(N,)`` / ``(d1, ..., dk)``;
        * ``sample_weight``: a scalar or a leading prefix of the target's shape (``(B,)`` per
          sequence, ``(B, T)`` per token);
        * ``class_weight``: ``(V,)``.

    Formula, with ``z`` the logits, ``lse = logsumexp(z)``, ``cw`` the class weight, ``ε`` the
    smoothing and ``ζ`` the z-loss (PaLM, Chowdhery et al. 2022: ``ζ·log² Z``, ``ζ = 1e-4``
    there)::

        ω·L = s·[(1-ε)·cw_y·(lse - z_y) + ε/V·Σ_c cw_c·(lse - z_c) + ζ·cw_y·lse²]
        ω   = s·cw_y            (the "weighted_mean" denominator is Σ ω)

    The z-loss term is weighted like the cross-entropy term (by ``s·cw_y``). Reductions,
    ``ignore_index`` (``ω = 0``, left out of ``N``), ``denominator`` and ``sync`` are those of
    :func:`weightwise.losses.cross_entropy` (see :mod:`weightwise.reduction`).

    Only ``hidden``, ``weight`` and ``bias`` receive gradients; the weights are constants. The
    result is once-differentiable. ``reduction="none"`` returns ``ω·L`` on the target's grid
    and materialises the logits (an ordinary autograd composition). No value leaves the device
    (no ``.item()``) once value checks are off.

    Args:
        hidden: the last hidden states.
        weight: the output projection, ``(V, H)``.
        target: class indices.
        bias: the projection's bias, ``(V,)``.
        sample_weight: per-element weight ``s`` (finite, ``>= 0``).
        class_weight: per-class weight ``(V,)``.
        ignore_index: a target value whose elements are left out (``-100`` for Hugging Face
            labels).
        label_smoothing: ``ε`` in ``[0, 1]``.
        z_loss: ``ζ >= 0``.
        reduction: ``"mean"`` (default), ``"weighted_mean"``, ``"nonzero_mean"``, ``"sum"`` or
            ``"none"``.
        denominator: replaces the reduction's denominator (a gradient-accumulation window's,
            from :func:`weightwise.reduction.window_denominator`; ``docs/scaling.md``).
        sync: all-reduce the denominator across ranks (see :mod:`weightwise.reduction`).
        chunk_size: tokens per chunk (default: 1024 for ``V`` from 16k to 256k, ``2^24 / V`` for
            smaller vocabularies, at most 8192).

    Example:
        >>> import torch
        >>> h = torch.randn(6, 8, requires_grad=True)
        >>> head = torch.randn(11, 8, requires_grad=True)
        >>> y = torch.tensor([1, 5, 10, -100, 3, 3])
        >>> loss = linear_cross_entropy(h, head, y, ignore_index=-100,
        ...                             sample_weight=torch.rand(6), reduction="weighted_mean")
        >>> loss.backward()
        >>> h.grad.shape, head.grad.shape
        (torch.Size([6, 8]), torch.Size([11, 8]))
    """
    _check_reduction(reduction)
    if not isinstance(hidden, torch.Tensor) or not hidden.is_floating_point():
        raise ValueError(
            f"hidden must be a floating-point tensor; got {getattr(hidden, 'dtype', type(hidden))}"
        )
    if hidden.dim() < 2:
        raise ValueError(f"hidden must have shape (N, H) or (..., H); got {tuple(hidden.shape)}")
    if weight.dim() != 2 or weight.shape[1] != hidden.shape[-1]:
        raise ValueError(
            f"weight must have shape (V, H) with H = {hidden.shape[-1]} (hidden's last dim); "
            f"got {tuple(weight.shape)}"
        )
    if weight.dtype != hidden.dtype:
        raise ValueError(
            f"weight and hidden must have the same dtype; got {weight.dtype} and {hidden.dtype}"
        )
    vocab = weight.shape[0]
    if bias is not None and tuple(bias.shape) != (vocab,):
        raise ValueError(f"bias must have shape ({vocab},); got {tuple(bias.shape)}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1]; got {label_smoothing!r}")
    if not z_loss >= 0.0:
        raise ValueError(f"z_loss must be >= 0; got {z_loss!r}")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer; got {chunk_size!r}")
    grid = tuple(hidden.shape[:-1])
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        raise ValueError(f"target must hold integer class indices; got dtype {target.dtype}")
    if tuple(target.shape) != grid:
        raise ValueError(
            f"target must have shape {grid} for hidden of shape {tuple(hidden.shape)}; got "
            f"{tuple(target.shape)}"
        )
    target = target.long()
    check_in_range(target, vocab, name="target", ignore_index=ignore_index)
    cw: torch.Tensor | None = None
    if class_weight is not None:
        cw = check_class_vector(
            as_tensor(class_weight, like=hidden, name="class_weight").detach(),
            vocab,
            name="class_weight",
        )
    s: torch.Tensor | None = None
    if sample_weight is not None:
        s = broadcast_weight(sample_weight, grid, name="sample_weight", like=hidden).detach()

    h2 = hidden.reshape(-1, hidden.shape[-1])
    t1 = target.reshape(-1)
    valid: torch.Tensor | None = None
    if ignore_index is not None:
        valid = t1 != ignore_index
        t1 = torch.where(valid, t1, torch.zeros_like(t1))
    s1 = None if s is None else s.reshape(-1)

    if reduction == "none":
        a = composed_terms(F.linear(h2, weight, bias), t1, valid, cw, label_smoothing, z_loss)
        return (a if s1 is None else a * s1).reshape(grid)

    numel = t1.numel()
    cdt = _compute_dtype(hidden.dtype)
    omega: torch.Tensor | None = None
    if reduction in ("weighted_mean", "nonzero_mean") and denominator is None:
        kappa = None if cw is None else cw.to(cdt)[t1]
        if valid is not None:
            m = valid.to(cdt)
            kappa = m if kappa is None else kappa * m
        omega = kappa if s1 is None else (s1.to(cdt) if kappa is None else s1.to(cdt) * kappa)
    world, denom = reduction_terms(
        omega,
        reduction=reduction,
        numel=numel,
        count=numel if valid is None else valid.sum(),
        denominator=denominator,
        sync=sync,
        dtype=cdt,
        device=hidden.device,
    )
    base = torch.ones(numel, dtype=cdt, device=hidden.device) if s1 is None else s1.to(cdt)
    coef = (base if world == 1.0 else base * world) / denom
    if valid is not None:
        coef = coef * valid.to(cdt)
    return linear_ce_sum(h2, weight, bias, t1, coef, cw, label_smoothing, z_loss, chunk_size)
