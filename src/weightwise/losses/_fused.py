"""Fused weighted cross-entropy and BCE: the gradient is computed in the forward pass.

Memory model. PyTorch's autograd path for ``F.cross_entropy`` keeps the ``log_softmax`` output
(one logits-sized tensor) for the backward pass, and the backward materialises the gradient
(a second one) plus temporaries. Here the forward walks over chunks of rows; for each chunk it
computes the log-sum-exp, the chunk's loss and the chunk's gradient, and writes the gradient into
one preallocated logits-sized buffer. Only that buffer is kept for the backward pass, which scales
it by the incoming scalar gradient (and usually returns it without a copy). Peak extra memory is
one gradient plus one chunk of temporaries.

Reductions go through :func:`weightwise.reduction.reduction_terms`: the contract turns sample
weights, ignored elements, the reduction and ``sync`` into one coefficient per element,
``c_e = s_e · W / D``, and the kernels compute ``Σ c_e·A_e`` and ``c_e·∇A_e``, where ``A_e`` is the
element's class-weighted loss (``κ`` and label smoothing inside). The fused and reference paths
therefore share the definition of every reduction.

The functions are once-differentiable: a second-order gradient (``create_graph=True``,
``gradgradcheck``) needs ``fused=False`` or :func:`set_fused(False) <set_fused>`.
"""

from __future__ import annotations

import os
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch.autograd.function import FunctionCtx, once_differentiable

from .._checks import value_check_mode
from ..reduction import Reduction

__all__ = ["cpu_contended", "fused_enabled", "set_fused"]

_FUSED_ENABLED = True
# Elements of logits processed per chunk: large enough to amortise the per-op overhead (each op
# is a parallel region, and the intra-op threads split a strided class-axis reduction and an
# elementwise op over the chunk differently), small enough that the chunk's temporaries stay a
# few MB whatever the size of the logits. Measured fused / composition (float32, mmap threshold
# fixed), 2^18 -> 2^20 elements per chunk: CE 65536x1000 0.48x -> 0.43x, 8192x32768 0.38x ->
# 0.32x; dense CE 8x21x256x256 0.61-0.71x -> 0.52-0.63x, 4x16x256x256 1.18x -> 0.93x. BCE, one
# elementwise pass per step, gained nothing clear from larger chunks (65536x1000 0.32x -> 0.30x,
# 8192x1000 0.76x -> 0.94x) and keeps 2^18.
_CHUNK_ELEMENTS = 1 << 20
_BCE_CHUNK_ELEMENTS = 1 << 18
# Below these sizes ``fused=None`` takes the reference path (``fused=True`` forces the fused
# one): the memory saved is small, and the chunk loop's dozen kernels per chunk lose to
# PyTorch's two or three (log_softmax, nll_loss and their backward) while the composition's
# temporaries still come from the allocator's free lists. Above them the temporaries are tens of
# MB, beyond glibc's largest mmap threshold (32 MiB), so the composition page-faults fresh
# memory at every call and the fused path wins. Measured on CPU, float32, fused / composition
# (with the mmap threshold fixed; with glibc's dynamic one the fused path looks better):
# * flat CE (N, C): 131072x32 1.49x, 32768x128 1.16x, 65536x100 0.96x, 4096x1000 0.82-0.86x,
#   8192x1000 0.75x (1.06x with the old 2^18 chunks and exp kernel), 1048576x10 0.84x,
#   65536x1000 0.43-0.48x: from 2^23 logits (below, the small class counts lose);
# * dense CE (N, C, d...), whose class-axis reductions, gather and scatter run strided: 8x4x64x64
#   2x (2^18 chunks), 16x8x128x128 1.17-1.21x, 4x16x256x256 0.93x, 8x21x256x256 0.52-0.63x:
#   from 2^22;
# * BCE, elementwise: 4096x1000 1.24-1.37x, 65536x100 1.25x (0.98x and 0.71x with the dynamic
#   threshold), 8192x1000 0.76-0.94x, 131072x100 0.33x: from 2^23, as for flat CE.
_MIN_FUSED_ELEMENTS = {"ce": 1 << 23, "ce_dense": 1 << 22, "bce": 1 << 23}


def set_fused(enabled: bool) -> None:
    """Turn the fused cross-entropy / BCE path on (default) or off globally.

    The fused path computes the gradient during the forward pass and keeps only it for the
    backward pass. It is used when the logits require grad, no other input (sample weights,
    class weights, soft targets) does, ``reduction != "none"``, and the logits are large: 2^23
    elements for cross-entropy and BCE, 2^22 for dense cross-entropy logits ``(N, C, d...)``
    (below, the chunk loop's kernels lose to PyTorch's while the saved memory is small;
    ``fused=True`` forces the fused path at any size), the call is not traced by
    ``torch.compile`` (the compiler fuses the plain composition itself), and no other process
    competes for the CPU cores (a chunked loop then waits on descheduled threads at every step;
    see ``docs/performance.md``). It is once-differentiable: switch it off for higher-order
    gradients. The ``fused=`` keyword of each loss overrides this setting per call.
    """
    global _FUSED_ENABLED
    _FUSED_ENABLED = bool(enabled)


def fused_enabled() -> bool:
    """Whether the fused path is on globally (see :func:`set_fused`)."""
    return _FUSED_ENABLED


# ---- CPU contention ---------------------------------------------------------------------------
#
# A chunked loop runs many parallel regions, each ending in a barrier of the intra-op threads.
# When other processes keep the cores busy, a region waits for whichever of its threads the
# scheduler left out (a time slice, milliseconds), so a loop of hundreds of regions loses badly
# to the few large kernels of the plain composition. The chunked paths therefore check, at most
# every ``_CONTENTION_TTL`` seconds, whether more threads want the CPU than it has, and take the
# composition when so.

_CONTENTION_TTL = 0.5
# [time checked, contended, the last reading]. The state changes only when two readings in a
# row agree: /proc/loadavg's runnable count is instantaneous, and a kernel thread or a
# short-lived process caught once would otherwise send a quiet machine to the composition
# (and its memory) for a while.
_contention_cache: list[Any] = [-1.0, False, None]


def _own_running_threads() -> int:
    running = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:  # the thread ended meanwhile
            continue
        running += stat[stat.rindex(")") + 2] == "R"
    return running


def _measure_contention(threads: int) -> bool:
    """Whether this process's ``threads`` plus the other runnable threads exceed the cores."""
    try:
        # This process's running threads are counted before and after the system-wide reading,
        # and the larger count is taken, so that an intra-op thread that stops spinning between
        # the two reads is not taken for another process's.
        before = _own_running_threads()
        with open("/proc/loadavg") as f:
            runnable = int(f.read().split()[3].split("/")[0])  # now, system-wide
        own = max(1, before, _own_running_threads())
        others = max(0, runnable - own)
        cores = len(os.sched_getaffinity(0))
    except (OSError, ValueError, IndexError, AttributeError):  # not Linux: assume a quiet CPU
        return False
    return others + threads > cores


def cpu_contended() -> bool:
    """Whether other processes compete for the cores the intra-op threads run on.

    Linux only (reads ``/proc``; elsewhere always ``False``); read at most every
    ``_CONTENTION_TTL`` seconds, starts ``False`` and changes only when two readings in a row
    agree (so a contended machine is seen from the second reading on); ``False`` with one
    intra-op thread (no barriers to wait on) and while ``torch.compile`` traces.
    """
    if torch.compiler.is_compiling():
        return False
    threads = torch.get_num_threads()
    if threads <= 1:
        return False
    now = time.monotonic()
    cache = _contention_cache
    if now - cache[0] >= _CONTENTION_TTL:
        cache[0] = now
        reading = _measure_contention(threads)
        last = cache[2]
        # Two readings that agree, the first one included: a process's first reading, taken
        # while it starts its thread pool or its parent is still busy, can be a stray one, and
        # alone it sent a quiet start to the composition for a second or more (79% and 100% of
        # a quiet benchmark child's calls in two of three runs).
        if reading == last:
            cache[1] = reading
        cache[2:] = [reading]
    return bool(cache[1])


def _min_fused_elements(logits: torch.Tensor, kind: str) -> int:
    """The size from which ``fused=None`` takes the fused path (see ``_MIN_FUSED_ELEMENTS``)."""
    if kind == "ce" and logits.dim() > 2 and logits.numel() > logits.shape[0] * logits.shape[1]:
        kind = "ce_dense"
    return _MIN_FUSED_ELEMENTS[kind]


def use_fused(
    fused: bool | None,
    logits: torch.Tensor,
    reduction: Reduction,
    *others: Any,
    kind: str = "ce",
) -> bool:
    """Whether a call takes the fused path.

    With ``fused=None`` it does when the fused path can win: the logits are large enough for the
    loss ``kind`` (``"ce"``: 2^23 elements, 2^22 for dense logits; ``"bce"``: 2^23), the
    call is not being traced by ``torch.compile`` (the compiler fuses the composition itself),
    and, on CPU, no other process competes for the cores (:func:`cpu_contended`).
    """
    if fused is None:
        want = (
            _FUSED_ENABLED
            and logits.numel() >= _min_fused_elements(logits, kind)
            and not torch.compiler.is_compiling()
            and not (logits.device.type == "cpu" and cpu_contended())
        )
    else:
        want = fused
    if not want or reduction == "none":
        return False
    if not (torch.is_grad_enabled() and logits.requires_grad):
        return False
    return not any(isinstance(o, torch.Tensor) and o.requires_grad for o in others)


def _rows(row_elements: int, chunk_elements: int) -> int:
    return max(1, chunk_elements // max(1, row_elements))


def _ce_chunk(
    x: torch.Tensor,
    grad: torch.Tensor,
    coef: torch.Tensor,
    target: torch.Tensor | None,
    soft: torch.Tensor | None,
    cw: torch.Tensor | None,
    cw_sum: float,
    smoothing: float,
) -> torch.Tensor:
    """One chunk of cross-entropy on ``x`` of shape ``(R, C)`` or ``(R, C, K)`` (class axis 1).

    Writes ``c·∇A`` into ``grad`` (same shape) and returns ``Σ c·A`` in float64.
    ``coef`` is ``(R,)`` / ``(R, K)``; ``target`` the same shape, class indices (ignored ones
    replaced by 0 and carrying ``c = 0``), or ``soft`` has the shape of ``x``.
    """
    num_classes = x.shape[1]
    c = coef.unsqueeze(1)  # (R, 1, K)
    view = (1, num_classes) + (1,) * (x.dim() - 2)
    cw_view = None if cw is None else cw.view(view)
    if soft is not None:
        # log_softmax is PyTorch's fused, max-subtracted log-sum-exp kernel: stable for any
        # logits, and the chunk's log-probabilities stay in cache for the steps below.
        logp = torch.log_softmax(x, dim=1)
        # A = -Σ_c cw_c t'_c log p_c;  ∇A = p·Σ_c cw_c t'_c - cw·t'
        t = soft if smoothing == 0 else soft * (1 - smoothing) + smoothing / num_classes
        wt = t if cw_view is None else t * cw_view
        wsum = wt.sum(dim=1, keepdim=True)
        loss = -(wt * logp).sum(dim=1)
        torch.exp(logp, out=grad)
        grad.mul_(wsum * c).sub_(wt * c)
        return (coef.to(torch.float64) * loss.to(torch.float64)).sum()
    assert target is not None
    # Hard targets: one exponential per logit, written straight into the gradient buffer.
    m = x.amax(dim=1, keepdim=True)
    total_e: torch.Tensor | None = None
    if x.dim() == 2:
        # Flat rows: PyTorch's softmax kernel normalises each row while it is in cache, so p
        # costs one pass instead of a subtract, an exponential, a sum and a divide. The
        # log-sum-exp comes back from the largest probability, lse = m - log p_max: p_max >= 1/C
        # never underflows, so log p_y = x_y - lse stays exact where p_y itself rounds to 0.
        torch.softmax(x, 1, out=grad)
        lse = (m - grad.amax(dim=1, keepdim=True).log()).squeeze(1)  # (R,)
    else:
        # (R, C, K), the class axis strided: e = exp(x - m) in place, lse = m + log Σe
        # (Σe >= 1, so no underflow to log 0), and p = e / Σe by the in-place scale below.
        torch.sub(x, m, out=grad)
        grad.exp_()
        total_e = grad.sum(dim=1, keepdim=True)
        lse = (m + total_e.log()).squeeze(1)  # (R, K)
    idx = target.unsqueeze(1)  # (R, 1, K)
    lp_y = x.gather(1, idx).squeeze(1) - lse
    w_y = torch.ones_like(lp_y) if cw is None else cw[target]
    # A = -(1-ε)·cw_y·log p_y - ε/C·Σ_c cw_c log p_c
    loss = -(1 - smoothing) * w_y * lp_y
    if smoothing > 0:
        # Σ_c cw_c log p_c = Σ_c cw_c (x_c - lse)
        logp = x - lse.unsqueeze(1)
        lw = logp.sum(dim=1) if cw_view is None else (logp * cw_view).sum(dim=1)
        loss = loss - (smoothing / num_classes) * lw
    # ∇A = p·((1-ε)cw_y + ε/C·Σcw) - (1-ε)cw_y·onehot(y) - ε/C·cw
    scale = (1 - smoothing) * w_y + (smoothing / num_classes) * cw_sum
    factor = (scale * coef).unsqueeze(1)
    grad.mul_(factor if total_e is None else factor / total_e)
    grad.scatter_add_(1, idx, (-(1 - smoothing) * w_y * coef).unsqueeze(1))
    if smoothing > 0:
        sub = torch.ones(view, dtype=x.dtype, device=x.device)
        if cw_view is not None:
            sub = cw_view
        grad.sub_(sub * (c * (smoothing / num_classes)))
    return (coef.to(torch.float64) * loss.to(torch.float64)).sum()


def _hand_over(ctx: FunctionCtx, grad_output: torch.Tensor, what: str) -> torch.Tensor:
    """The saved gradient scaled by ``grad_output``; the buffer itself when that is 1.

    The context drops its reference first, so autograd can take the buffer as ``.grad``
    without a copy; a second backward through the same graph therefore needs ``fused=False``.
    """
    grad: torch.Tensor | None = ctx.grad  # type: ignore[attr-defined]
    if grad is None:
        raise RuntimeError(
            f"the fused {what} gradient was already used: backward through it twice needs "
            "fused=False"
        )
    ctx.grad = None  # type: ignore[attr-defined]
    # Skipping the multiply by 1 needs a host read: only where reads are free (CPU, "eager").
    free = value_check_mode(grad_output) == "eager"
    if free and grad_output.numel() == 1 and bool(grad_output == 1):
        return grad
    return grad.mul_(grad_output)


class _FusedCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: FunctionCtx,
        logits: torch.Tensor,
        target: torch.Tensor,
        coef: torch.Tensor,
        class_weight: torch.Tensor | None,
        smoothing: float,
        soft: bool,
    ) -> torch.Tensor:
        n, c = logits.shape[0], logits.shape[1]
        p = int(logits.numel() // max(1, n * c)) if logits.numel() else 1
        x3 = logits.reshape(n, c, p)  # a view for contiguous logits
        grad = torch.empty_like(x3, memory_format=torch.contiguous_format)
        coef3 = coef.reshape(n, p)
        t3 = target.reshape(n, c, p) if soft else target.reshape(n, p)
        cw_sum = float(class_weight.sum()) if class_weight is not None else float(c)
        total = torch.zeros((), dtype=torch.float64, device=logits.device)
        if n * c * p:
            if p == 1 or c * p <= _CHUNK_ELEMENTS:
                if p == 1:
                    # (N, C): chunks of rows, the class axis last (PyTorch's fast layout).
                    xs, gs, cs = x3.view(n, c), grad.view(n, c), coef3.view(n)
                    ts = t3.view(n, c) if soft else t3.view(n)
                    step = _rows(c, _CHUNK_ELEMENTS)
                else:
                    # Small images: chunks of whole samples (R, C, K), not one at a time.
                    xs, gs, cs, ts = x3, grad, coef3, t3
                    step = _CHUNK_ELEMENTS // (c * p)
                for r0 in range(0, n, step):
                    r1 = min(n, r0 + step)
                    total += _ce_chunk(
                        xs[r0:r1], gs[r0:r1], cs[r0:r1],
                        None if soft else ts[r0:r1], ts[r0:r1] if soft else None,
                        class_weight, cw_sum, smoothing,
                    )  # fmt: skip
            else:
                step = max(1, _CHUNK_ELEMENTS // c)
                for b in range(n):
                    for k0 in range(0, p, step):
                        k1 = min(p, k0 + step)
                        sl = (slice(b, b + 1), slice(None), slice(k0, k1))
                        total += _ce_chunk(
                            x3[sl], grad[sl], coef3[b : b + 1, k0:k1],
                            None if soft else t3[b : b + 1, k0:k1], t3[sl] if soft else None,
                            class_weight, cw_sum, smoothing,
                        )  # fmt: skip
        ctx.grad = grad.view(logits.shape)  # type: ignore[attr-defined]
        return total.to(logits.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad_output: torch.Tensor) -> tuple[Any, ...]:
        return (_hand_over(ctx, grad_output, "cross-entropy"), None, None, None, None, None)


def fused_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    coef: torch.Tensor,
    class_weight: torch.Tensor | None,
    smoothing: float,
    *,
    soft: bool,
) -> torch.Tensor:
    """``Σ_e c_e·A_e`` with the gradient computed in the forward pass.

    ``logits`` ``(N, C, d...)``; ``target`` class indices ``(N, d...)`` (ignored elements
    replaced by a valid index and given ``c_e = 0``) or probabilities of the logits' shape;
    ``coef`` ``(N, d...)``, the per-element coefficient ``c_e = s_e·W/D``.
    """
    out: torch.Tensor = _FusedCrossEntropy.apply(
        logits.contiguous(), target, coef.contiguous(), class_weight, float(smoothing), soft
    )
    return out


def _bce_chunk(
    x: torch.Tensor,
    t: torch.Tensor,
    sw: torch.Tensor | None,
    scale: torch.Tensor,
    pw: torch.Tensor | None,
    nw: torch.Tensor | None,
    grad: torch.Tensor,
) -> torch.Tensor:
    """One chunk of rows: writes ``c·∇A`` into ``grad`` and returns ``Σ c·A`` (float64), with
    ``c = s·scale`` formed per chunk (the sample weight stays a broadcast view outside)."""
    c = scale if sw is None else sw * scale
    if nw is None:
        # PyTorch's fused, stable kernel: pw·t·softplus(-x) + (1-t)·softplus(x).
        loss = F.binary_cross_entropy_with_logits(x, t, pos_weight=pw, reduction="none")
        # ∇A = σ(x)·(pw·t + 1 - t) - pw·t
        torch.sigmoid(x, out=grad)
        if pw is None:
            grad.sub_(t)
        else:
            grad.mul_(torch.addcmul(1 - t, pw, t)).sub_(pw * t)
    else:
        # -log σ(x) = softplus(-x) and -log(1-σ(x)) = softplus(x) = x + softplus(-x): finite
        # for any x, with one softplus.
        kp = t if pw is None else pw * t
        kn = nw * (1 - t)
        ksum = kp + kn
        sp = F.softplus(-x)
        loss = ksum * sp + kn * x
        # ∇A = σ(x)·(κ⁺ + κ⁻) - κ⁺, and σ(x) = exp(-softplus(-x)).
        torch.exp(sp.neg_(), out=grad)
        grad.mul_(ksum).sub_(kp)
    grad.mul_(c)
    return (loss * c).sum(dtype=torch.float64)


class _FusedBCE(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: FunctionCtx,
        logits: torch.Tensor,
        target: torch.Tensor,
        sample_weight: torch.Tensor | None,
        scale: torch.Tensor,
        pos_weight: torch.Tensor | None,
        neg_weight: torch.Tensor | None,
    ) -> torch.Tensor:
        n = logits.shape[0]
        grad = torch.empty_like(logits, memory_format=torch.contiguous_format)
        total = torch.zeros((), dtype=torch.float64, device=logits.device)
        row = int(logits[0].numel()) if n else 0
        step = _rows(row, _BCE_CHUNK_ELEMENTS)
        for r0 in range(0, n, step):
            r1 = min(n, r0 + step)
            sw = None if sample_weight is None else sample_weight[r0:r1]
            total += _bce_chunk(
                logits[r0:r1], target[r0:r1], sw, scale, pos_weight, neg_weight, grad[r0:r1]
            )
        ctx.grad = grad  # type: ignore[attr-defined]
        return total.to(logits.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad_output: torch.Tensor) -> tuple[Any, ...]:
        return (_hand_over(ctx, grad_output, "BCE"), None, None, None, None, None)


def fused_binary_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    sample_weight: torch.Tensor | None,
    scale: torch.Tensor,
    pos_weight: torch.Tensor | None,
    neg_weight: torch.Tensor | None,
) -> torch.Tensor:
    """``Σ_e c_e·A_e`` for BCE with ``c_e = s_e·scale``; ``sample_weight`` is ``None`` or a view
    broadcast to the logits' shape (it is never materialised at full size)."""
    out: torch.Tensor = _FusedBCE.apply(
        logits, target, sample_weight, scale, pos_weight, neg_weight
    )
    return out
