"""Long-tail losses: logit adjustment / balanced softmax, any-of targets, LDAM, asymmetric.

Every loss here follows :mod:`weightwise.reduction`. The ones that are a cross-entropy on
transformed logits (logit adjustment, balanced softmax, LDAM) call
:func:`weightwise.losses.cross_entropy`, so the weights, ``ignore_index`` and the reductions mean
exactly what they mean there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .._checks import (
    assert_async,
    check_class_logits,
    check_nonnegative_real,
    check_not_meta,
    check_positive_vector,
    format_index,
    positive_class_tensor,
    prepare_class_target,
    value_check_mode,
)
from ..reduction import Reduction, SyncArg, _check_reduction, broadcast_weight, reduce_weighted
from ._classification import cross_entropy
from ._common import align_per_label, check_binary_pair

__all__ = [
    "any_of_cross_entropy",
    "asymmetric_loss",
    "balanced_softmax_cross_entropy",
    "ldam_loss",
    "ldam_margins",
    "logit_adjusted_cross_entropy",
]


# ---- shared checks -------------------------------------------------------------------------


def _class_view(vec: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    shape = [1] * logits.dim()
    shape[1] = vec.shape[0]
    return vec.reshape(shape)


# ---- logit adjustment / balanced softmax ---------------------------------------------------


def logit_adjusted_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    prior: Any = None,
    counts: Any = None,
    tau: float = 1.0,
    sample_weight: Any = None,
    class_weight: Any = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    reduction: Reduction = "mean",
    sync: SyncArg = False,
) -> torch.Tensor:
    r"""Logit-adjusted cross-entropy (Menon et al. 2021).

    Formula, with ``π`` the class prior (``prior``, or ``counts / Σ counts``)::

        L = -log softmax(x + τ·log π)_y

    i.e. :func:`weightwise.losses.cross_entropy` on the adjusted logits ``x + τ·log π`` (added
    along dim 1), with the same weights, ``ignore_index``, label smoothing, soft targets and
    reductions (``ω = s·class_weight[y]``). ``tau = 0`` is the plain cross-entropy; with
    ``counts`` and ``tau = 1`` it is the Balanced Softmax of Ren et al. (2020), see
    :func:`balanced_softmax_cross_entropy`. A constant factor in ``π`` shifts every logit
    alike and changes nothing, so ``prior`` need not sum to 1. At inference, use the raw
    logits (the adjustment is a training-time device); for a model trained *without* it, see
    :func:`weightwise.decision.posthoc_logit_adjust`.

    Shapes: ``logits`` ``(N, C)`` or ``(N, C, d...)``; ``target`` as for ``cross_entropy``;
    ``prior`` / ``counts`` ``(C,)``.

    Give exactly one of ``prior`` and ``counts``; each must be finite and strictly positive (a
    zero count has no logarithm: a ``ValueError`` names the class). ``tau < 0`` is an error.

    References:
        A. K. Menon, S. Jayasumana, A. S. Rawat, H. Jain, A. Veit, S. Kumar. *Long-tail
        learning via logit adjustment.* ICLR 2021.

        J. Ren, C. Yu, S. Sheng, X. Ma, H. Zhao, S. Yi, H. Li. *Balanced Meta-Softmax for
        Long-Tailed Visual Recognition.* NeurIPS 2020.

    Example:
        >>> import torch
        >>> logits = torch.randn(4, 3)
        >>> y = torch.tensor([0, 0, 1, 2])
        >>> loss = logit_adjusted_cross_entropy(logits, y, counts=[100, 10, 1], tau=1.0)
    """
    _check_reduction(reduction)
    check_class_logits(logits)
    t = check_nonnegative_real(tau, "tau")
    if (prior is None) == (counts is None):
        raise ValueError(
            "give exactly one of prior and counts; got "
            + ("both" if prior is not None else "neither")
        )
    c = logits.shape[1]
    # Validated and logged in float64 on the logits' device, in torch (traceable: a prior
    # given as a list is checked once, while torch.compile traces; see positive_class_tensor).
    if prior is not None:
        log_prior = positive_class_tensor(prior, "prior", num_classes=c, like=logits).log()
    else:
        n = positive_class_tensor(counts, "counts", num_classes=c, like=logits)
        log_prior = n.log() - n.sum().log()
    shift = (t * log_prior).to(logits.dtype)
    return cross_entropy(
        logits + _class_view(shift, logits),
        target,
        sample_weight=sample_weight,
        class_weight=class_weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
        sync=sync,
    )


def balanced_softmax_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    counts: Any,
    sample_weight: Any = None,
    class_weight: Any = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    reduction: Reduction = "mean",
    sync: SyncArg = False,
) -> torch.Tensor:
    r"""Balanced Softmax cross-entropy (Ren et al. 2020): ``-log softmax(x + log n)_y``.

    ``n`` is the ``(C,)`` vector of training class counts (finite, strictly positive). This is
    :func:`logit_adjusted_cross_entropy` with ``counts`` and ``tau=1``; weights and reductions
    are those of :func:`weightwise.losses.cross_entropy`.

    Reference:
        J. Ren, C. Yu, S. Sheng, X. Ma, H. Zhao, S. Yi, H. Li. *Balanced Meta-Softmax for
        Long-Tailed Visual Recognition.* NeurIPS 2020.

    Example:
        >>> import torch
        >>> loss = balanced_softmax_cross_entropy(
        ...     torch.randn(4, 3), torch.tensor([0, 0, 1, 2]), counts=[100, 10, 1])
    """
    return logit_adjusted_cross_entropy(
        logits,
        target,
        counts=counts,
        tau=1.0,
        sample_weight=sample_weight,
        class_weight=class_weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
        sync=sync,
    )


# ---- any-of targets ------------------------------------------------------------------------


def check_any_of_mode(mode: Any) -> str:
    """``mode`` of :func:`any_of_cross_entropy`: ``"marginal"`` or ``"max"``."""
    if mode not in ("marginal", "max"):
        raise ValueError(f"mode must be 'marginal' or 'max'; got {mode!r}")
    return str(mode)


def any_of_cross_entropy(
    logits: torch.Tensor,
    target_sets: torch.Tensor,
    *,
    mode: str = "marginal",
    sample_weight: Any = None,
    reduction: Reduction = "mean",
    sync: SyncArg = False,
) -> torch.Tensor:
    r"""Cross-entropy for targets where any class of a set is acceptable.

    Shapes:
        * ``logits``: ``(N, C)`` or dense ``(N, C, d1, ...)``.
        * ``target_sets``: a boolean mask of the logits' shape; ``True`` marks the allowed
          classes ``S`` of an element (0/1 integers are accepted too).
        * ``sample_weight``: ``s``, a scalar or a leading prefix of the grid ``(N, d1, ...)``.

    Modes (``lse`` is the log-sum-exp over dim 1, ``¬S`` the classes outside the set)::

        "marginal":  L = -log Σ_{c∈S} p_c = lse_{all}(x) - lse_{S}(x)
        "max":       L = -x_{c*} + lse_{{c*} ∪ ¬S}(x),   c* = argmax_{c∈S} x_c

    ``"marginal"`` maximises the total probability of the set. ``"max"`` trains only the
    best-scoring allowed class against the disallowed ones: the other allowed classes leave the
    partition and get zero gradient (ties in the argmax go to the lower class index). With
    singleton sets both equal :func:`weightwise.losses.cross_entropy`. ``ω = s``; there is no
    ``class_weight`` (a set has no single class to weight). An element whose set holds every
    class has ``L = 0``.

    Every element needs at least one allowed class; an empty set is a ``ValueError`` naming
    ``target_sets`` and the position (a value check: with :func:`weightwise.set_checks` off, an
    empty set gives an infinite loss instead). Log-sum-exp is computed max-shifted by
    ``torch.logsumexp``, so large logits do not overflow.

    Example:
        >>> import torch
        >>> logits = torch.randn(3, 4)
        >>> sets = torch.tensor([[1, 1, 0, 0], [0, 0, 1, 0], [0, 1, 1, 1]], dtype=torch.bool)
        >>> loss = any_of_cross_entropy(logits, sets)
    """
    _check_reduction(reduction)
    check_class_logits(logits)
    check_any_of_mode(mode)
    if not isinstance(target_sets, torch.Tensor):
        target_sets = torch.as_tensor(target_sets)
    if tuple(target_sets.shape) != tuple(logits.shape):
        raise ValueError(
            f"target_sets must be a boolean mask of the logits' shape {tuple(logits.shape)}; "
            f"got shape {tuple(target_sets.shape)}"
        )
    check_not_meta(target_sets, "target_sets", logits)
    sets = target_sets.to(logits.device)
    mode_ = value_check_mode(sets)
    if sets.dtype != torch.bool:
        if mode_ == "async" and sets.numel() > 0:
            assert_async(((sets == 0) | (sets == 1)).all(), "target_sets must be boolean (or 0/1)")
        elif mode_ == "eager":
            bad = (sets != 0) & (sets != 1)
            if bool(bad.any()):
                pos = int(torch.nonzero(bad.reshape(-1))[0, 0])
                raise ValueError(
                    f"target_sets must be boolean (or 0/1); got "
                    f"{sets.reshape(-1)[pos].item()!r} at {format_index(pos, tuple(sets.shape))}"
                )
        sets = sets != 0
    if mode_ == "async" and sets.numel() > 0:
        assert_async(
            sets.any(dim=1).all(),
            "target_sets must allow at least one class for every element",
        )
    elif mode_ == "eager" and sets.numel() > 0:
        empty = ~sets.any(dim=1)
        if bool(empty.any()):
            pos = int(torch.nonzero(empty.reshape(-1))[0, 0])
            raise ValueError(
                f"target_sets must allow at least one class for every element; got an empty "
                f"set at {format_index(pos, tuple(empty.shape))}"
            )

    neg_inf = float("-inf")
    if mode == "marginal":
        # -log Σ_S p_c = lse(all) - lse(S); masked classes get -inf, so exp(·) = 0 and their
        # gradient through lse(S) is exactly 0.
        per_elem = torch.logsumexp(logits, dim=1) - torch.logsumexp(
            logits.masked_fill(~sets, neg_inf), dim=1
        )
    else:
        with torch.no_grad():
            best = logits.masked_fill(~sets, neg_inf).argmax(dim=1, keepdim=True)
            keep = ~sets
            keep.scatter_(1, best, True)
        per_elem = torch.logsumexp(logits.masked_fill(~keep, neg_inf), dim=1) - logits.gather(
            1, best
        ).squeeze(1)

    grid = per_elem.shape
    omega: torch.Tensor | None = None
    if sample_weight is not None:
        omega = broadcast_weight(sample_weight, grid, name="sample_weight", like=logits)
    weighted = per_elem if omega is None else per_elem * omega
    return reduce_weighted(weighted, omega, reduction=reduction, sync=sync)


# ---- LDAM ----------------------------------------------------------------------------------


def _ldam_margin_formula(n: Any, max_margin: float) -> Any:
    """``max_margin · n^{-1/4} / max n^{-1/4}`` on a checked NumPy array or torch tensor of
    counts (torch ops only on a tensor, so :func:`ldam_loss` stays traceable)."""
    raw = n**-0.25
    return max_margin * raw / raw.max()


def ldam_margins(counts: Any, *, max_margin: float = 0.5) -> np.ndarray:
    """LDAM's per-class margins ``m_c = max_margin · n_c^{-1/4} / max_c' n_c'^{-1/4}``.

    The rarest class gets ``max_margin``. ``counts`` must be finite and strictly positive.
    Returns a NumPy ``float64`` array ``(C,)``.

    Example:
        >>> ldam_margins([10000, 16, 1], max_margin=0.5)
        array([0.05, 0.25, 0.5 ])
    """
    n = check_positive_vector(counts, "counts")
    m = check_nonnegative_real(max_margin, "max_margin")
    return np.asarray(_ldam_margin_formula(n, m), dtype=np.float64)


def ldam_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    counts: Any,
    max_margin: float = 0.5,
    scale: float = 30.0,
    sample_weight: Any = None,
    class_weight: Any = None,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    sync: SyncArg = False,
) -> torch.Tensor:
    r"""Label-distribution-aware margin loss (LDAM, Cao et al. 2019).

    Formula, with margins ``m`` from :func:`ldam_margins` and ``onehot_y`` along dim 1::

        m_c = max_margin · n_c^{-1/4} / max_c' n_c'^{-1/4}
        L   = cross_entropy(scale · (x - m_y · onehot_y), y)

    computed by :func:`weightwise.losses.cross_entropy`, so ``ω = s·class_weight[y]`` and the
    reductions are the usual ones. Deferred re-weighting (LDAM-DRW) is a ``class_weight`` that
    changes with the epoch: see :class:`weightwise.schedules.DeferredReweighting`.

    Our default ``reduction="mean"`` divides by ``N``; Cao et al.'s code passes the class
    weights to ``F.cross_entropy(weight=...)``, whose mean is our ``"weighted_mean"``
    (``Σ ω·L / Σ ω``). Pass ``reduction="weighted_mean"`` to reproduce it exactly.

    Shapes: ``logits`` ``(N, C)`` or ``(N, C, d...)``; ``target`` integer ``(N, d...)``;
    ``counts`` ``(C,)``, finite and strictly positive.

    Reference:
        K. Cao, C. Wei, A. Gaidon, N. Arechiga, T. Ma. *Learning Imbalanced Datasets with
        Label-Distribution-Aware Margin Loss.* NeurIPS 2019.

    Example:
        >>> import torch
        >>> loss = ldam_loss(torch.randn(4, 3), torch.tensor([0, 0, 1, 2]), counts=[100, 10, 1])
    """
    _check_reduction(reduction)
    # The range check is left to cross_entropy, which reports out-of-range targets.
    target = prepare_class_target(
        logits, target, ignore_index=ignore_index, allow_soft=False, check_range=False
    ).target
    s = check_nonnegative_real(scale, "scale", positive=True)
    c = logits.shape[1]
    mm = check_nonnegative_real(max_margin, "max_margin")
    # ldam_margins' formula on a tensor of the counts (traceable; see positive_class_tensor).
    n = positive_class_tensor(counts, "counts", num_classes=c, like=logits)
    m = _ldam_margin_formula(n, mm).to(logits.dtype)
    # Clamp only to build the margin (ignored and, with checks off, out-of-range targets).
    safe_t = target.clamp(0, c - 1)
    shift = torch.zeros_like(logits).scatter_(1, safe_t.unsqueeze(1), m[safe_t].unsqueeze(1))
    return cross_entropy(
        s * (logits - shift),
        target,
        sample_weight=sample_weight,
        class_weight=class_weight,
        ignore_index=ignore_index,
        reduction=reduction,
        sync=sync,
    )


# ---- asymmetric loss -----------------------------------------------------------------------


def _safe_pow(base: torch.Tensor, exponent: float) -> torch.Tensor:
    """``base ** exponent`` for ``base >= 0`` whose gradient is 0, not NaN, where ``base = 0``.

    For ``0 < exponent < 1`` the derivative ``exponent · 0^(exponent-1)`` is infinite, and
    autograd turns ``inf · 0`` (from a clamp) into NaN; below the clip, ``p_m`` is 0 on a whole
    neighbourhood, so the true gradient there is 0.
    """
    pos = base > 0
    safe = torch.where(pos, base, torch.ones_like(base))
    return torch.where(pos, safe.pow(exponent), torch.zeros_like(base))


def asymmetric_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    gamma_pos: float = 0.0,
    gamma_neg: float = 4.0,
    clip: float = 0.05,
    detach_focal: bool = False,
    sample_weight: Any = None,
    pos_weight: Any = None,
    neg_weight: Any = None,
    reduction: Reduction = "mean",
    sync: SyncArg = False,
) -> torch.Tensor:
    r"""Asymmetric loss for multi-label classification (ASL, Ridnik et al. 2021).

    Shapes: as :func:`weightwise.losses.binary_cross_entropy`: ``logits`` ``(N,)``, ``(N, C)``
    or ``(N, C, d...)``; ``target`` of the same shape in ``[0, 1]``; ``sample_weight`` a
    scalar, ``(N,)``, ``(N, C)``, ``(N, d...)`` or the full grid; ``pos_weight`` /
    ``neg_weight`` a scalar or ``(C,)`` aligned with dim 1.

    Formula, with ``p = σ(x)`` and the shifted probability ``p_m = max(p - clip, 0)``::

        L+ = (1 - p)^γ+ · (-log p)
        L- = p_m^γ-    · (-log(1 - p_m))
        ω·L = s · [pos_weight·t·L+ + neg_weight·(1-t)·L-]
        κ   = pos_weight·t + neg_weight·(1-t)

    For 0/1 targets this is the paper's loss; soft targets interpolate the two terms. ``-log p``
    is ``softplus(-x)``, and ``1 - p_m = min(σ(-x) + clip, 1)``, so no logarithm of 0 is taken
    (the reference clamps at 1e-8 instead, which differs only for saturated logits). By default
    the gradient flows through the focusing factors; ``detach_focal=True`` treats them as
    constants, as the reference's ``disable_torch_grad_focal_loss``.

    The reference implementation returns ``-Σ`` of the elementwise terms: that is our
    ``reduction="sum"``. Our default ``"mean"`` divides by the number of elements ``N·C``.

    Reference:
        T. Ridnik, E. Ben-Baruch, N. Zamir, A. Noy, I. Friedman, M. Protter, L. Zelnik-Manor.
        *Asymmetric Loss For Multi-Label Classification.* ICCV 2021.

    Example:
        >>> import torch
        >>> Y = (torch.rand(8, 5) > 0.8).float()
        >>> loss = asymmetric_loss(torch.randn(8, 5), Y, gamma_neg=4.0, clip=0.05)
    """
    _check_reduction(reduction)
    gp = check_nonnegative_real(gamma_pos, "gamma_pos")
    gn = check_nonnegative_real(gamma_neg, "gamma_neg")
    cl = check_nonnegative_real(clip, "clip")
    if cl > 1:
        raise ValueError(f"clip must be in [0, 1]; got {clip!r}")
    target = check_binary_pair(logits, target)

    # -log p = softplus(-x): stable for any x.
    loss_pos = F.softplus(-logits)
    if cl > 0:
        # 1 - p_m = min(σ(-x) + clip, 1) >= clip > 0: the log is always finite.
        p_m = (torch.sigmoid(logits) - cl).clamp(min=0)
        loss_neg = -torch.log((torch.sigmoid(-logits) + cl).clamp(max=1))
    else:
        p_m = torch.sigmoid(logits)
        loss_neg = F.softplus(logits)  # -log(1 - p), stable
    if gp != 0.0:
        f_pos = _safe_pow(torch.sigmoid(-logits), gp)  # (1 - p)^γ+, with 1 - p = σ(-x)
        loss_pos = loss_pos * (f_pos.detach() if detach_focal else f_pos)
    if gn != 0.0:
        f_neg = _safe_pow(p_m, gn)
        loss_neg = loss_neg * (f_neg.detach() if detach_focal else f_neg)

    pw = None if pos_weight is None else align_per_label(pos_weight, logits, name="pos_weight")
    nw = None if neg_weight is None else align_per_label(neg_weight, logits, name="neg_weight")
    kp = target if pw is None else pw * target
    kn = (1 - target) if nw is None else nw * (1 - target)
    per_elem = kp * loss_pos + kn * loss_neg
    omega: torch.Tensor | None = None
    if pw is not None or nw is not None:
        omega = (kp + kn).expand(logits.shape)
    if sample_weight is not None:
        sw = broadcast_weight(
            sample_weight, logits.shape, name="sample_weight", class_axis=True, like=logits
        )
        per_elem = per_elem * sw
        omega = sw if omega is None else sw * omega
    return reduce_weighted(per_elem, omega, reduction=reduction, sync=sync)
