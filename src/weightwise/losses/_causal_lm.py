"""Causal language-model loss with token, sequence and class weights, the shift included.

Position ``t`` of the logits predicts label ``t + 1``. The labels (and the token weights, which
are aligned with the *labels*) are shifted left by one and padded with ``ignore_index`` (weight
0) at the end, as Hugging Face Transformers does since 2025; the logits are not copied. So the
first label of each row is never predicted and never counted, and neither is padding
(transformers#46204).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .._checks import as_tensor, check_class_vector, check_in_range
from ..reduction import Reduction, SyncArg, _check_reduction, broadcast_weight, reduction_terms
from ._fused import fused_cross_entropy, use_fused
from ._linear import _compute_dtype, composed_terms, linear_ce_sum

__all__ = ["causal_lm_loss", "causal_lm_weight"]

#: The label bound of causal_lm_weight without a class weight: any non-negative id.
_NO_VOCAB_LIMIT = torch.iinfo(torch.int64).max


def _shift(x: torch.Tensor, fill: float | int) -> torch.Tensor:
    """``x[:, 1:]`` padded with ``fill`` at the end (``(B, T)`` stays ``(B, T)``)."""
    return F.pad(x[:, 1:], (0, 1), value=fill)


class _Prepared:
    """The shifted element grid ``(B, T)``: labels, validity, token-level weights."""

    def __init__(
        self,
        labels: torch.Tensor,
        *,
        vocab: int,
        like: torch.Tensor,
        token_weight: Any,
        sequence_weight: Any,
        class_weight: Any,
        ignore_index: int,
    ) -> None:
        if labels.dim() != 2:
            raise ValueError(f"labels must have shape (B, T); got {tuple(labels.shape)}")
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            raise ValueError(f"labels must hold integer token ids; got dtype {labels.dtype}")
        b, t = labels.shape
        labels = labels.long()
        check_in_range(labels, vocab, name="labels", ignore_index=ignore_index)
        dtype = _compute_dtype(like.dtype)
        self.shifted = _shift(labels, ignore_index)
        self.valid = self.shifted != ignore_index
        self.safe = torch.where(self.valid, self.shifted, torch.zeros_like(self.shifted))
        self.cw: torch.Tensor | None = None
        if class_weight is not None:
            self.cw = check_class_vector(
                as_tensor(class_weight, like=like, name="class_weight").detach(),
                vocab,
                name="class_weight",
            )
        ref = torch.empty(0, dtype=dtype, device=like.device)
        tw: torch.Tensor | None = None
        if token_weight is not None:
            tw = broadcast_weight(token_weight, (b, t), name="token_weight", like=ref).detach()
            tw = _shift(tw, 0.0)
        self.q: torch.Tensor | None = None
        if sequence_weight is not None:
            self.q = broadcast_weight(
                sequence_weight, (b,), name="sequence_weight", like=ref
            ).detach()
        self.tw = tw
        self.dtype = dtype
        mask = self.valid.to(dtype)
        # κ·valid per token, and the token-level weight without the sequence weight
        self.kappa = mask if self.cw is None else self.cw.to(dtype)[self.safe] * mask
        self.omega_token = self.kappa if tw is None else tw * self.kappa

    def sample(self, per_sequence: bool) -> torch.Tensor:
        """``s`` per token: token weight × (sequence weight unless per_sequence), ×valid."""
        s = self.valid.to(self.dtype)
        if self.tw is not None:
            s = s * self.tw
        if self.q is not None and not per_sequence:
            s = s * self.q[:, None]
        return s

    def row_denominators(self, reduction: str) -> torch.Tensor:
        """``D_b`` of each sequence's token mean (per_sequence), ``(B,)``."""
        if reduction == "mean":
            return self.valid.to(self.dtype).sum(dim=1)
        if reduction == "nonzero_mean":
            return (self.omega_token != 0).to(self.dtype).sum(dim=1)
        if reduction == "weighted_mean":
            return self.omega_token.sum(dim=1)
        return torch.ones(self.valid.shape[0], dtype=self.dtype, device=self.valid.device)

    def kept(self, reduction: str) -> torch.Tensor:
        """Sequences that enter the per-sequence average: a positive row denominator."""
        if reduction == "sum":
            return self.valid.any(dim=1)
        return self.row_denominators(reduction) > 0


def _coefficients(
    p: _Prepared,
    *,
    reduction: Reduction,
    per_sequence: bool,
    denominator: Any,
    sync: SyncArg,
) -> torch.Tensor:
    """``c`` on the ``(B, T)`` grid with ``loss = Σ c·A``."""
    s = p.sample(per_sequence)
    numel = s.numel()
    if not per_sequence:
        omega = None
        if reduction in ("weighted_mean", "nonzero_mean") and denominator is None:
            omega = p.omega_token if p.q is None else p.omega_token * p.q[:, None]
        world, denom = reduction_terms(
            omega,
            reduction=reduction,
            numel=numel,
            count=p.valid.sum(),
            denominator=denominator,
            sync=sync,
            dtype=p.dtype,
            device=s.device,
        )
        return s * (world / denom) if world != 1.0 else s / denom
    rows = p.row_denominators(reduction)
    kept = p.kept(reduction)
    safe_rows = torch.where(rows > 0, rows, torch.ones_like(rows))
    q = torch.ones_like(rows) if p.q is None else p.q
    q_kept = q * kept.to(p.dtype)
    world, denom = reduction_terms(
        q_kept,
        reduction=reduction,
        numel=rows.numel(),
        count=kept.sum(),
        denominator=denominator,
        sync=sync,
        dtype=p.dtype,
        device=s.device,
    )
    seq = q_kept * (world / denom) if world != 1.0 else q_kept / denom
    return s * (seq / safe_rows)[:, None]


def causal_lm_weight(
    labels: torch.Tensor,
    *,
    token_weight: Any = None,
    sequence_weight: Any = None,
    class_weight: Any = None,
    ignore_index: int = -100,
    reduction: Reduction = "weighted_mean",
    per_sequence: bool = False,
) -> torch.Tensor:
    """The element weights of :func:`causal_lm_loss`, for
    :func:`weightwise.reduction.window_denominator`.

    Returns what ``window_denominator(..., reduction=reduction)`` needs for this micro-batch:

    * ``per_sequence=False``: ``(B, T-1)`` after the shift, ``ω = token_weight[t+1] ·
      sequence_weight[b] · class_weight[label]`` (0 where ignored); for ``"mean"`` the 0/1 mask
      of the predicted, non-ignored tokens;
    * ``per_sequence=True``: ``(B,)``, the sequence weight of each sequence that has a token to
      average (1/0 for ``"mean"``).

    Example:
        >>> import torch
        >>> labels = torch.tensor([[5, 6, 7, -100]])   # 2 predicted tokens: 6 and 7
        >>> causal_lm_weight(labels, reduction="mean")
        tensor([[1., 1., 0.]], dtype=torch.float64)
    """
    _check_reduction(reduction)
    # Without a class weight the vocabulary size is not needed (labels only mark tokens): the
    # range check then only refuses negative labels, with no host read of labels.max().
    vocab = _NO_VOCAB_LIMIT if class_weight is None else len(class_weight)
    like = torch.empty(0, dtype=torch.float64, device=labels.device)
    if class_weight is not None and isinstance(class_weight, torch.Tensor):
        like = torch.empty(0, dtype=_compute_dtype(class_weight.dtype), device=labels.device)
    p = _Prepared(
        labels,
        vocab=vocab,
        like=like,
        token_weight=token_weight,
        sequence_weight=sequence_weight,
        class_weight=class_weight,
        ignore_index=ignore_index,
    )
    if per_sequence:
        kept = p.kept(reduction).to(p.dtype)
        return kept if (p.q is None or reduction == "mean") else p.q * kept
    if reduction == "mean":
        return p.valid.to(p.dtype)[:, :-1]
    omega = p.omega_token if p.q is None else p.omega_token * p.q[:, None]
    return omega[:, :-1]


def causal_lm_loss(
    logits: torch.Tensor | None,
    labels: torch.Tensor,
    *,
    hidden: torch.Tensor | None = None,
    lm_head: torch.Tensor | None = None,
    lm_head_bias: torch.Tensor | None = None,
    token_weight: Any = None,
    sequence_weight: Any = None,
    class_weight: Any = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    reduction: Reduction = "weighted_mean",
    denominator: Any = None,
    sync: SyncArg = False,
    per_sequence: bool = False,
    chunk_size: int | None = None,
) -> torch.Tensor:
    r"""Weighted next-token cross-entropy of a causal language model, the shift included.

    Shapes:
        * ``logits``: ``(B, T, V)``; or ``None`` with ``hidden`` ``(B, T, H)`` and ``lm_head``
          ``(V, H)`` (and ``lm_head_bias`` ``(V,)``), which computes the loss with
          :func:`weightwise.losses.linear_cross_entropy` and never materialises the logits;
        * ``labels``: ``(B, T)`` token ids, usually the input ids, with ``ignore_index`` on
          padding and on tokens not to train on (prompts);
        * ``token_weight``: ``(B, T)``, aligned with ``labels`` (the weight of *label* ``t``,
          predicted at position ``t - 1``); padding may carry any weight (it is ignored);
        * ``sequence_weight``: ``(B,)``, broadcast onto the tokens of each sequence;
        * ``class_weight``: ``(V,)``, per target token id.

    The element grid is the ``B·(T-1)`` predicted tokens: logits ``[:, :-1]`` against labels
    ``[:, 1:]``. Token ``(b, t)``'s element weight is ``ω = token_weight[b, t+1] ·
    sequence_weight[b] · class_weight[labels[b, t+1]]`` (0 where the label is ignored) and its
    loss, with ``ε`` the smoothing and ``ζ`` the z-loss (``ζ·logsumexp(z)²`` per token, as in
    PaLM, Chowdhery et al. 2022, weighted like the cross-entropy)::

        ω·L = s·[(1-ε)·cw_y·(-log p_y) + ε/V·Σ_c cw_c·(-log p_c) + ζ·cw_y·lse²]

    Two normalisations are in use:

    * ``per_sequence=False`` (default; Hugging Face, Megatron): every predicted token of the
      batch counts alike: ``weighted_mean`` is ``Σ ω·L / Σ ω``, ``mean`` is ``Σ ω·L / N`` with
      ``N`` the number of predicted, non-ignored tokens (never the first position, never
      padding);
    * ``per_sequence=True`` (the "mean over sequences of the mean over tokens" of e.g. some
      SFT and RL recipes): each sequence's token mean ``m_b = Σ_t ω'·L / D_b`` (``ω'`` without
      the sequence weight, ``D_b`` the sequence's ``Σ ω'``, count, or non-zero count by the
      reduction), then ``Σ_b q_b·m_b / Σ_b q_b`` over the sequences with ``D_b > 0``
      (``q`` the sequence weight; ``mean`` divides by their number, ``sum`` takes
      ``Σ_b q_b·Σ_t ω'·L``). A short answer then weighs as much as a long one.

    Worked example (``docs/transformers.md``): two sequences with 1 and 3 predicted tokens of
    losses ``[4]`` and ``[1, 1, 1]``: the token mean is ``(4 + 3)/4 = 1.75``; the sequence mean
    is ``(4 + 1)/2 = 2.5``.

    ``denominator`` replaces the reduction's denominator (of the tokens, or of the sequences
    with ``per_sequence``); compute a gradient-accumulation window's with
    :func:`weightwise.reduction.window_denominator` of :func:`causal_lm_weight`
    (``docs/scaling.md``). ``sync`` is as in :func:`weightwise.losses.cross_entropy`.

    ``reduction="none"`` returns ``ω·L`` of shape ``(B, T-1)`` (with ``per_sequence``: ``(B,)``,
    ``q_b·m_b`` with the ``weighted_mean`` token mean). Weights receive no gradient.

    Example:
        >>> import torch
        >>> logits = torch.randn(2, 5, 11)
        >>> labels = torch.tensor([[1, 2, 3, 4, 5], [6, 7, 8, -100, -100]])
        >>> w = torch.tensor([[1.0, 1.0, 2.0, 2.0, 1.0], [1.0, 0.5, 0.5, 0.0, 0.0]])
        >>> loss = causal_lm_loss(logits, labels, token_weight=w)
    """
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1]; got {label_smoothing!r}")
    if not z_loss >= 0.0:
        raise ValueError(f"z_loss must be >= 0; got {z_loss!r}")
    if logits is None:
        if hidden is None or lm_head is None:
            raise ValueError("give logits (B, T, V), or hidden (B, T, H) and lm_head (V, H)")
        if hidden.dim() != 3:
            raise ValueError(f"hidden must have shape (B, T, H); got {tuple(hidden.shape)}")
        if lm_head.dim() != 2 or lm_head.shape[1] != hidden.shape[2]:
            raise ValueError(
                f"lm_head must have shape (V, H) with H = {hidden.shape[2]}; got "
                f"{tuple(lm_head.shape)}"
            )
        source, vocab = hidden, lm_head.shape[0]
    else:
        if hidden is not None or lm_head is not None:
            raise ValueError("give either logits or hidden and lm_head, not both")
        if logits.dim() != 3 or not logits.is_floating_point():
            raise ValueError(
                f"logits must be a floating-point tensor of shape (B, T, V); got "
                f"{tuple(logits.shape)} {logits.dtype}"
            )
        source, vocab = logits, logits.shape[2]
    b, t = source.shape[0], source.shape[1]
    if tuple(labels.shape) != (b, t):
        what = "hidden" if logits is None else "logits"
        raise ValueError(
            f"labels must have shape ({b}, {t}) to match the {what} of shape "
            f"{tuple(source.shape)}; got {tuple(labels.shape)}"
        )
    p = _Prepared(
        labels,
        vocab=vocab,
        like=source,
        token_weight=token_weight,
        sequence_weight=sequence_weight,
        class_weight=class_weight,
        ignore_index=ignore_index,
    )
    safe = p.safe.reshape(-1)
    valid = p.valid.reshape(-1)
    if reduction == "none":
        if logits is None:
            assert hidden is not None and lm_head is not None
            flat = F.linear(hidden.reshape(b * t, -1), lm_head, lm_head_bias)
        else:
            flat = logits.reshape(b * t, vocab)
        a = composed_terms(flat, safe, valid, p.cw, label_smoothing, z_loss).reshape(b, t)
        if not per_sequence:
            return (a * p.sample(False).to(a.dtype))[:, :-1]
        rows = p.row_denominators("weighted_mean")
        safe_rows = torch.where(rows > 0, rows, torch.ones_like(rows)).to(a.dtype)
        m = (a * p.sample(True).to(a.dtype)).sum(dim=1) / safe_rows
        return m if p.q is None else m * p.q.to(a.dtype)

    coef = _coefficients(
        p, reduction=reduction, per_sequence=per_sequence, denominator=denominator, sync=sync
    ).reshape(-1)
    if logits is None:
        assert hidden is not None and lm_head is not None
        return linear_ce_sum(
            hidden.reshape(b * t, -1),
            lm_head,
            lm_head_bias,
            safe,
            coef,
            p.cw,
            label_smoothing,
            z_loss,
            chunk_size,
        )
    flat = logits.reshape(b * t, vocab)
    coef = coef.to(flat.dtype)
    if z_loss == 0 and use_fused(None, flat, reduction):
        return fused_cross_entropy(flat, safe, coef, p.cw, label_smoothing, soft=False)
    a = composed_terms(flat, safe, valid, p.cw, label_smoothing, z_loss)
    return (coef * a).sum()
