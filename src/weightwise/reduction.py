"""The weighting contract: element weights, reductions and distributed denominators.

Every loss in weightwise is computed in three steps, and only the last differs between
reductions (``docs/semantics.md`` works one batch through every reduction). The rules themselves
are backend-neutral and live in :mod:`weightwise._contract`, which the Keras adapter shares; this
module computes them with torch tensors:

1. an unweighted elementwise loss ``L[e]`` on the *element grid* (one element per sample, per
   (sample, label) pair, per pixel, or per token);
2. an element weight ``ω[e] = s[e] · κ[e]``: the sample weight ``s`` broadcast onto the grid by
   **left-aligned** broadcasting, times a class factor ``κ`` (``class_weight[y]``, ``pos_weight``
   / ``neg_weight``, or 1). Ignored elements get ``ω = 0`` and leave the count ``N``;
3. a reduction:

   =================  =====================  ==========================================
   ``reduction``      value                  matches
   =================  =====================  ==========================================
   ``"mean"``         ``Σ ω·L / N``          Keras 3 ``sum_over_batch_size``; torch BCE
   ``"weighted_mean"````Σ ω·L / Σ ω``        torch CE/NLL ``weight``; sklearn ``log_loss``
   ``"nonzero_mean"`` ``Σ ω·L / #{ω ≠ 0}``   Keras 2
   ``"sum"``          ``Σ ω·L``
   ``"none"``         ``ω·L`` on the grid
   =================  =====================  ==========================================

A zero denominator gives a loss of exactly 0 with zero gradient, never NaN.

Under ``torch.distributed``, ``sync=True`` (or a process group) all-reduces the denominator
without gradient and returns ``W · Σ_local ω·L / D_global`` (``W · Σ_local ω·L`` for ``"sum"``),
``W`` being the world size. DDP averages gradients over ranks, so the averaged gradient then
equals the gradient of the same loss on the global batch in one process. The value one rank
returns is **not** the global loss: the global loss is the mean of the ranks' values, e.g.::

    loss = cross_entropy(logits, y, sample_weight=w, sync=True)
    logged = loss.detach().clone()
    torch.distributed.all_reduce(logged)
    logged /= torch.distributed.get_world_size()   # the global-batch loss
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import torch
import torch.distributed as dist

from ._checks import as_tensor, check_finite_nonnegative, format_index, value_check_mode
from ._contract import REDUCTIONS, Reduction, check_reduction, denominator_kind, weight_view_shape

__all__ = [
    "REDUCTIONS",
    "Reduction",
    "SyncArg",
    "broadcast_weight",
    "reduce_loss",
    "reduce_weighted",
    "reduction_terms",
    "window_denominator",
]


if dist.is_available():
    SyncArg = Union[bool, dist.ProcessGroup, None]
else:  # pragma: no cover - builds without distributed support
    SyncArg = Union[bool, None]  # type: ignore[misc]


#: The reduction check (the rule is :func:`weightwise._contract.check_reduction`).
_check_reduction = check_reduction


def broadcast_weight(
    weight: Any,
    shape: Sequence[int],
    *,
    name: str = "sample_weight",
    class_axis: bool = False,
    like: torch.Tensor | None = None,
    check_values: bool = True,
) -> torch.Tensor:
    """Broadcast a weight onto the element grid by strict left-aligned broadcasting.

    Shapes accepted for an element grid ``(N, d1, ..., dk)``:

    * a scalar (Python number or 0-d tensor): every element;
    * a leading prefix of the grid with exact sizes: ``(N,)`` covers every element of sample
      ``n``, ``(N, d1)`` every element of row ``(n, i)``, ..., the full grid itself.

    There is no size-1 broadcasting: ``(N, 1)`` against a grid ``(N,)`` is refused, never
    turned into ``(N, N)``.

    With ``class_axis=True`` the grid is ``(N, C, d...)`` with a class or label axis at dim 1
    (multi-label BCE, dense binary/multi-label losses). Four shapes are accepted: ``(N,)``,
    ``(N, C)`` per sample and label, ``(N, d...)`` per pixel (the channel axis skipped), and the
    full grid. When ``(N, C)`` and ``(N, d...)`` coincide, the weight is ambiguous and refused.

    Args:
        weight: the weight, any array-like.
        shape: the element grid's shape.
        name: the argument's name, for error messages.
        class_axis: whether dim 1 of the grid is a class/label axis (see above).
        like: a tensor whose dtype and device the result takes (float32 on CPU by default).
        check_values: check that the weight is finite and non-negative (a value check, see
            :func:`weightwise.set_checks`).

    Returns:
        A tensor of exactly ``shape`` (an expanded view where possible).

    Example:
        >>> import torch
        >>> broadcast_weight(torch.tensor([1.0, 2.0]), (2, 3)).shape
        torch.Size([2, 3])
    """
    shape = tuple(int(s) for s in shape)
    ref = like if like is not None else torch.empty(0)
    w = as_tensor(weight, name=name, like=ref)
    if check_values:
        check_finite_nonnegative(w, name)
    view = weight_view_shape(tuple(w.shape), shape, name=name, class_axis=class_axis)
    if view == shape:
        return w
    return w.reshape(view).expand(shape)


def _sync_group(sync: SyncArg) -> tuple[bool, Any]:
    if sync is None or sync is False:
        return False, None
    if not (dist.is_available() and dist.is_initialized()):
        return False, None
    return True, (None if sync is True else sync)


def _safe_denominator(denom: torch.Tensor) -> torch.Tensor:
    # A zero denominator only happens when every ω·L is 0 (all weights zero or every element
    # ignored): divide by 1 instead, so the result is exactly 0 and its gradient is ω = 0.
    # (torch.where on the quotient would give NaN gradients through the unused 0/0 branch.)
    return torch.where(denom > 0, denom, torch.ones_like(denom))


def reduction_terms(
    omega: torch.Tensor | None,
    *,
    reduction: str,
    numel: int,
    count: int | torch.Tensor | None = None,
    denominator: torch.Tensor | float | None = None,
    sync: SyncArg = False,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> tuple[float, torch.Tensor]:
    """``(W, D)`` with ``loss = W · Σ ω·L / D`` for every reduction but ``"none"``.

    This is the one definition of the reductions: :func:`reduce_weighted` divides the sum of
    the weighted element losses by ``D`` (and multiplies by ``W``), and the fused losses fold
    both into one coefficient per element, ``c_e = s_e · W / D``, before computing
    ``Σ c_e·A_e`` and ``c_e·∇A_e`` in one pass. ``D`` is returned rather than ``1/D`` so that a
    tiny (subnormal) denominator divides exactly instead of overflowing to an infinite factor.

    * ``"sum"``: ``D = 1``;
    * ``"mean"``: ``D = N`` with ``N = count`` (default ``numel``);
    * ``"weighted_mean"``: ``D = Σ ω``;
    * a given ``denominator`` replaces ``D`` for every mean (``N``, ``Σ ω`` or ``#{ω ≠ 0}``) and
      is taken as final: under sync it is **not** all-reduced again, only ``W`` applies (compute
      it for a whole accumulation window with :func:`window_denominator`, ``sync=True``);
    * ``"nonzero_mean"``: ``D = #{ω ≠ 0}``;
    * with ``omega=None`` every mean divides by ``N``; ``W = 1`` without sync;
    * a zero denominator is replaced by 1 (the sum is then 0: every ``ω`` is 0), never inf;
    * under sync the denominator is all-reduced without gradient: ``(W, D_global)``.
    """
    kind = denominator_kind(reduction, weighted=omega is not None, given=denominator is not None)
    do_sync, group = _sync_group(sync)
    world = dist.get_world_size(group) if do_sync else 1
    if kind == "one":
        return float(world), torch.ones((), dtype=dtype, device=device)

    denom: torch.Tensor
    if kind == "count":
        n = numel if count is None else count
        denom = torch.as_tensor(n, dtype=dtype, device=device)
    elif kind == "given":
        # A window denominator (see window_denominator) is the final one: it replaces N, Σω or
        # #{ω ≠ 0} as given, and is not all-reduced again under sync (only W applies).
        denom = torch.as_tensor(denominator, dtype=dtype, device=device).detach()
        return float(world), _safe_denominator(denom)
    else:
        assert omega is not None
        denom = (omega.sum() if kind == "weight_sum" else (omega != 0).sum()).to(dtype)

    if do_sync:
        global_denom = denom.detach().clone()
        dist.all_reduce(global_denom, op=dist.ReduceOp.SUM, group=group)
        return float(world), _safe_denominator(global_denom)
    return 1.0, _safe_denominator(denom)


def reduce_weighted(
    weighted: torch.Tensor,
    omega: torch.Tensor | None,
    *,
    reduction: str = "mean",
    count: int | torch.Tensor | None = None,
    denominator: torch.Tensor | float | None = None,
    sync: SyncArg = False,
) -> torch.Tensor:
    """Reduce already-weighted element losses ``ω·L`` (the losses' common last step).

    ``omega`` is the element weight ``ω`` on the grid (or ``None`` for unit weights); it gives
    the ``"weighted_mean"`` and ``"nonzero_mean"`` denominators unless ``denominator`` is given.
    ``count`` replaces ``N`` (the number of counted, non-ignored elements) for ``"mean"`` and,
    when ``omega`` is ``None``, for the other means. See :func:`reduce_loss` for the contract
    and :func:`reduction_terms` for the one definition of each reduction.
    """
    _check_reduction(reduction)
    if reduction == "none":
        return weighted
    total = weighted.sum()
    synced = _sync_group(sync)[0]
    if reduction == "sum" and not synced:
        return total
    if (
        reduction == "mean"
        and not synced
        and denominator is None
        and not isinstance(count, torch.Tensor)
    ):
        # A Python count: divide by it directly (no tensor round trip; N = 0 only when there are
        # no elements, and then the sum is 0).
        n = weighted.numel() if count is None else int(count)
        return total / n if n > 0 else total
    world, denom = reduction_terms(
        omega,
        reduction=reduction,
        numel=weighted.numel(),
        count=count,
        denominator=denominator,
        sync=sync,
        dtype=total.dtype,
        device=total.device,
    )
    return total / denom if world == 1.0 else world * total / denom


def reduce_loss(
    loss: torch.Tensor,
    weight: Any = None,
    *,
    reduction: Reduction = "mean",
    count: int | torch.Tensor | None = None,
    denominator: torch.Tensor | float | None = None,
    sync: SyncArg = False,
) -> torch.Tensor:
    """Weight an unweighted elementwise loss and reduce it by the weighting contract.

    Args:
        loss: the unweighted loss ``L`` on the element grid, any shape.
        weight: the element weight ``ω``: ``None`` (unit), a scalar, or a tensor whose shape is a
            leading prefix of ``loss.shape`` (see :func:`broadcast_weight`).
        reduction: ``"mean"`` (``Σ ω·L / N``, the default), ``"weighted_mean"``
            (``Σ ω·L / Σ ω``), ``"nonzero_mean"`` (``Σ ω·L / #{ω ≠ 0}``), ``"sum"`` or
            ``"none"`` (``ω·L`` on the grid).
        count: replaces ``N`` for ``"mean"``; pass the number of elements that are not ignored.
        denominator: replaces the reduction's denominator (``N`` for ``"mean"``, ``Σ ω`` for
            ``"weighted_mean"``, ``#{ω ≠ 0}`` for ``"nonzero_mean"``), e.g. the denominator of a
            whole gradient-accumulation window from :func:`window_denominator`. It is used as
            given: under ``sync`` it is not all-reduced again (pass a global one).
        sync: ``True`` or a process group: all-reduce the denominator across ranks, so that
            DDP's averaged gradient equals the single-process gradient on the global batch. The
            returned value is ``W · Σ_local ω·L / D_global``; the global loss is the mean of the
            ranks' values (see the module docstring). Ignored when no process group is
            initialised.

    Returns:
        A scalar tensor, or ``ω·L`` with the shape of ``loss`` for ``"none"``. A zero
        denominator gives exactly 0 with zero gradient.

    Example:
        >>> import torch
        >>> L = torch.tensor([1.0, 2.0, 3.0, 4.0])
        >>> w = torch.tensor([1.0, 0.0, 1.0, 2.0])
        >>> reduce_loss(L, w).item()               # (1 + 3 + 8) / 4
        3.0
        >>> reduce_loss(L, w, reduction="weighted_mean").item()   # 12 / 4
        3.0
        >>> reduce_loss(L, w, reduction="nonzero_mean").item()    # 12 / 3
        4.0
    """
    _check_reduction(reduction)
    if weight is None:
        return reduce_weighted(
            loss, None, reduction=reduction, count=count, denominator=denominator, sync=sync
        )
    omega = broadcast_weight(weight, loss.shape, name="weight", like=loss)
    return reduce_weighted(
        loss * omega, omega, reduction=reduction, count=count, denominator=denominator, sync=sync
    )


def window_denominator(
    weights: torch.Tensor | Sequence[torch.Tensor],
    *,
    reduction: str = "weighted_mean",
    sync: SyncArg = False,
) -> torch.Tensor:
    """The denominator of a whole gradient-accumulation window, to pass as ``denominator=``.

    A step of ``K`` micro-batches on ``W`` ranks gives exactly the gradient of one batch of all
    ``K·W`` micro-batches when every micro-batch's loss divides by the denominator of the whole
    window instead of its own. Compute it once, before the first micro-batch, from the window's
    element weights ``ω`` (ignored elements 0); see ``docs/scaling.md`` for the recipe.

    * ``"weighted_mean"``: ``Σ ω`` over the window;
    * ``"mean"``: the number of elements that are not ignored; pass 0/1 (or boolean) masks;
    * ``"nonzero_mean"``: ``#{ω ≠ 0}``;
    * ``"sum"``: 1 (the sum has no denominator).

    For a causal language model the element weight of a token is ``token_weight · sequence_weight
    · class_weight[label]`` *after* the shift (position ``t`` predicts label ``t+1``; see
    :func:`weightwise.losses.causal_lm_weight`).

    Args:
        weights: one tensor or a sequence of tensors (one per micro-batch), any shapes.
        reduction: the loss's reduction.
        sync: ``True`` or a process group: all-reduce the count across ranks, without gradient
            (one collective for the whole window). The losses then take ``denominator=`` as
            final and, with ``sync=True``, multiply by ``W`` only.

    Returns:
        A 0-d tensor without gradient, float64 (float32 on devices without float64), on the
        weights' device.

    Example:
        >>> import torch
        >>> micro = [torch.tensor([1.0, 2.0]), torch.tensor([0.0, 3.0])]
        >>> window_denominator(micro).item()
        6.0
        >>> window_denominator(micro, reduction="nonzero_mean").item()
        3.0
    """
    _check_reduction(reduction)
    if reduction == "none":
        raise ValueError("reduction='none' has no denominator")
    parts = [weights] if isinstance(weights, torch.Tensor) else list(weights)
    if not parts:
        raise ValueError("weights must hold at least one tensor (one per micro-batch)")
    tensors: list[torch.Tensor] = []
    for i, w in enumerate(parts):
        name = "weights" if isinstance(weights, torch.Tensor) else f"weights[{i}]"
        w = as_tensor(w, name=name)
        tensors.append(w.detach())
        if w.dtype != torch.bool:
            check_finite_nonnegative(w.detach(), name)
    device = tensors[0].device
    dtype = torch.float32 if device.type == "mps" else torch.float64
    total = torch.zeros((), dtype=dtype, device=device)
    if reduction == "sum":
        return total + 1
    for i, w in enumerate(tensors):
        w = w.to(device)
        if reduction == "weighted_mean":
            total = total + w.to(dtype).sum()
        elif reduction == "nonzero_mean":
            total = total + (w != 0).sum().to(dtype)
        else:  # mean: 0/1 masks
            if w.dtype != torch.bool and w.numel() and value_check_mode(w) == "eager":
                bad = (w != 0) & (w != 1)
                if bool(bad.any()):
                    pos = int(torch.nonzero(bad.reshape(-1))[0, 0])
                    name = "weights" if isinstance(weights, torch.Tensor) else f"weights[{i}]"
                    raise ValueError(
                        f"{name} must be a 0/1 mask for reduction='mean' (1 = counted); got "
                        f"{w.reshape(-1)[pos].item()!r} at {format_index(pos, tuple(w.shape))}"
                    )
            total = total + (w != 0).sum().to(dtype)
    do_sync, group = _sync_group(sync)
    if do_sync:
        dist.all_reduce(total, op=dist.ReduceOp.SUM, group=group)
    return total
