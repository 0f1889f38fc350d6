"""causal_lm_loss against a hand-written shifted composition with F.cross_entropy (float64),
its token count (no first position, no padding: transformers#46204), token-weight alignment,
the per-sequence normalisation, and the hidden + lm_head path."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from weightwise.losses import causal_lm_loss, causal_lm_weight
from weightwise.reduction import window_denominator

B, T, V, H = 3, 6, 9, 4
REDUCTIONS = ("mean", "weighted_mean", "nonzero_mean", "sum")


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(B, T, V, generator=g, dtype=torch.float64) * 2
    labels = torch.randint(0, V, (B, T), generator=g)
    labels[1, 4:] = -100  # right padding
    labels[2, :3] = -100  # a masked prompt
    tw = torch.rand(B, T, generator=g, dtype=torch.float64)
    tw[0, 2] = 0.0
    q = torch.tensor([1.0, 2.5, 0.5], dtype=torch.float64)
    cw = torch.rand(V, generator=g, dtype=torch.float64) + 0.2
    return logits, labels, tw, q, cw


def _hand(logits, labels, tw, q, cw, reduction, eps=0.0, zl=0.0):
    z = logits[:, :-1].reshape(-1, logits.shape[-1])
    y = labels[:, 1:].reshape(-1)
    s = (tw[:, 1:] * q[:, None]).reshape(-1)
    per = F.cross_entropy(z, y, weight=cw, ignore_index=-100, reduction="none", label_smoothing=eps)
    valid = y != -100
    w_y = cw[y.clamp(min=0)] * valid
    per = per + zl * w_y * torch.logsumexp(z, dim=1) ** 2
    total = (per * s).sum()
    if reduction == "sum":
        return total
    if reduction == "mean":
        return total / valid.sum()
    omega = s * w_y
    return total / (omega.sum() if reduction == "weighted_mean" else (omega != 0).sum())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("eps", "zl"), [(0.0, 0.0), (0.1, 0.0), (0.0, 1e-2), (0.2, 1e-3)])
@pytest.mark.parametrize("path", ["logits", "hidden"])
def test_equals_shifted_composition(reduction, eps, zl, path):
    logits, labels, tw, q, cw = _data()
    g = torch.Generator().manual_seed(5)
    hidden = torch.randn(B, T, H, generator=g, dtype=torch.float64, requires_grad=True)
    head = torch.randn(V, H, generator=g, dtype=torch.float64, requires_grad=True)
    kw = dict(token_weight=tw, sequence_weight=q, class_weight=cw, label_smoothing=eps, z_loss=zl)
    if path == "logits":
        x = logits.clone().requires_grad_()
        got = causal_lm_loss(x, labels, **kw, reduction=reduction)
        ref = _hand(x, labels, tw, q, cw, reduction, eps, zl)
        inputs = (x,)
    else:
        got = causal_lm_loss(
            None, labels, hidden=hidden, lm_head=head, **kw, reduction=reduction, chunk_size=4
        )
        ref = _hand(hidden @ head.T, labels, tw, q, cw, reduction, eps, zl)
        inputs = (hidden, head)
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)
    for a, b in zip(
        torch.autograd.grad(got, inputs), torch.autograd.grad(ref, inputs), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_large_logits_take_the_fused_path_and_agree(monkeypatch):
    # Logits above the fused threshold (lowered here to 2^15) take fused_cross_entropy (use_fused)
    # for z_loss = 0.
    from weightwise.losses import _fused

    monkeypatch.setattr(
        _fused, "_MIN_FUSED_ELEMENTS", dict.fromkeys(_fused._MIN_FUSED_ELEMENTS, 2**15)
    )
    monkeypatch.setattr(_fused, "cpu_contended", lambda: False)
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(4, 64, 200, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(0, 200, (4, 64), generator=g)
    labels[:, 50:] = -100
    tw = torch.rand(4, 64, generator=g, dtype=torch.float64)
    got = causal_lm_loss(logits, labels, token_weight=tw)
    assert "Fused" in type(got.grad_fn).__name__
    ref = _hand(
        logits,
        labels,
        tw,
        torch.ones(4, dtype=torch.float64),
        torch.ones(200, dtype=torch.float64),
        "weighted_mean",
    )
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)
    (ga,) = torch.autograd.grad(got, logits)
    (gb,) = torch.autograd.grad(ref, logits)
    torch.testing.assert_close(ga, gb, rtol=1e-9, atol=1e-12)


def test_count_excludes_first_position_and_padding():
    # transformers#46204: the count of a row of T labels is at most T - 1 (the first label is
    # never predicted), and padding never counts.
    labels = torch.tensor([[3, 1, 4, 1], [5, 9, -100, -100]])
    logits = torch.zeros(2, 4, 10, dtype=torch.float64)  # every token's loss is log 10
    total = causal_lm_loss(logits, labels, reduction="sum")
    mean = causal_lm_loss(logits, labels, reduction="mean")
    assert total.item() == pytest.approx(4 * math.log(10))  # 3 + 1 predicted tokens
    assert mean.item() == pytest.approx(math.log(10))  # so the mean divides by 4, not 6 or 8
    mask = causal_lm_weight(labels, reduction="mean")
    assert mask.tolist() == [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]
    assert window_denominator(mask, reduction="mean").item() == 4.0


def test_token_weights_align_with_labels():
    # A weight on label t weighs the prediction made at position t - 1.
    logits, labels, _, _, _ = _data()
    labels = torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(2))
    tw = torch.zeros(B, T, dtype=torch.float64)
    tw[:, 3] = 1.0
    got = causal_lm_loss(logits, labels, token_weight=tw)
    ref = F.cross_entropy(logits[:, 2], labels[:, 3])
    torch.testing.assert_close(got, ref)


def test_sequence_weight_is_token_weight_broadcast():
    logits, labels, tw, q, _ = _data()
    for red in REDUCTIONS:
        a = causal_lm_loss(logits, labels, token_weight=tw, sequence_weight=q, reduction=red)
        b = causal_lm_loss(logits, labels, token_weight=tw * q[:, None], reduction=red)
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("reduction", ["mean", "weighted_mean", "nonzero_mean", "sum"])
def test_per_sequence_is_mean_of_sequence_means(reduction):
    logits, labels, tw, q, cw = _data()
    x = logits.clone().requires_grad_()
    got = causal_lm_loss(
        x,
        labels,
        token_weight=tw,
        sequence_weight=q,
        class_weight=cw,
        reduction=reduction,
        per_sequence=True,
    )
    # by hand: each row's token reduction (no sequence weight), then the sequences'
    means, qs = [], []
    for b in range(B):
        m = _hand(
            x[b : b + 1], labels[b : b + 1], tw[b : b + 1], torch.ones(1).double(), cw, reduction
        )
        means.append(m)
        qs.append(q[b])
    means_t, q_t = torch.stack(means), torch.stack(qs)
    if reduction == "sum":
        ref = (q_t * means_t).sum()
    elif reduction == "weighted_mean":
        ref = (q_t * means_t).sum() / q_t.sum()
    else:  # every row has a token and q > 0: mean and nonzero_mean divide by B
        ref = (q_t * means_t).sum() / B
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)
    (ga,) = torch.autograd.grad(got, x)
    (gb,) = torch.autograd.grad(ref, x)
    torch.testing.assert_close(ga, gb, rtol=1e-9, atol=1e-12)


def _logits_with_losses(losses):
    """Two-class logits whose next-token loss (target 0) is exactly each value."""
    out = torch.zeros(len(losses), 2, dtype=torch.float64)
    for i, L in enumerate(losses):
        out[i, 1] = math.log(math.expm1(L))  # -log softmax_0 = log(1 + e^x) = L
    return out


def test_worked_example_token_mean_vs_sequence_mean():
    # Sequence 0: 1 predicted token (loss 4); sequence 1: 3 predicted tokens (losses 1, 1, 1).
    logits = torch.zeros(2, 4, 2, dtype=torch.float64)
    logits[0, 0] = _logits_with_losses([4.0])[0]
    logits[1, :3] = _logits_with_losses([1.0, 1.0, 1.0])
    labels = torch.tensor([[0, 0, -100, -100], [0, 0, 0, 0]])
    assert causal_lm_loss(logits, labels).item() == pytest.approx(1.75)
    assert causal_lm_loss(logits, labels, per_sequence=True).item() == pytest.approx(2.5)


def test_per_sequence_drops_empty_rows_and_none_shapes():
    logits, labels, tw, q, _ = _data()
    labels[0, 1:] = -100  # nothing predicted in row 0
    full = causal_lm_loss(logits, labels, sequence_weight=q, per_sequence=True)
    rest = causal_lm_loss(logits[1:], labels[1:], sequence_weight=q[1:], per_sequence=True)
    torch.testing.assert_close(full, rest)
    per_tok = causal_lm_loss(logits, labels, token_weight=tw, reduction="none")
    assert per_tok.shape == (B, T - 1) and bool((per_tok[0] == 0).all())
    total = causal_lm_loss(logits, labels, token_weight=tw, reduction="sum")
    torch.testing.assert_close(per_tok.sum(), total)
    per_seq = causal_lm_loss(logits, labels, token_weight=tw, reduction="none", per_sequence=True)
    ws = causal_lm_loss(logits, labels, token_weight=tw, reduction="sum", per_sequence=True)
    assert per_seq.shape == (B,)
    # "none" per sequence uses the weighted_mean token mean
    wm = causal_lm_loss(logits[1:2], labels[1:2], token_weight=tw[1:2])
    torch.testing.assert_close(per_seq[1], wm)
    assert ws.item() > 0


def test_causal_lm_weight_matches_window_of_the_loss():
    logits, labels, tw, q, cw = _data()
    for red in ("weighted_mean", "nonzero_mean", "mean"):
        for per_sequence in (False, True):
            w = causal_lm_weight(
                labels,
                token_weight=tw,
                sequence_weight=q,
                class_weight=cw,
                reduction=red,
                per_sequence=per_sequence,
            )
            d = window_denominator(w, reduction=red)
            kw = dict(
                token_weight=tw,
                sequence_weight=q,
                class_weight=cw,
                reduction=red,
                per_sequence=per_sequence,
            )
            torch.testing.assert_close(
                causal_lm_loss(logits, labels, **kw, denominator=d),
                causal_lm_loss(logits, labels, **kw),
            )


def test_errors():
    logits, labels, tw, q, _ = _data()
    with pytest.raises(ValueError, match=r"labels must have shape \(3, 6\)"):
        causal_lm_loss(logits, labels[:, :4])
    with pytest.raises(ValueError, match="labels must be in"):
        causal_lm_loss(logits, labels.clamp(min=0) + V)
    with pytest.raises(ValueError, match="token_weight of shape"):
        causal_lm_loss(logits, labels, token_weight=tw[:, :3])
    with pytest.raises(ValueError, match="sequence_weight must be finite and non-negative"):
        causal_lm_loss(logits, labels, sequence_weight=-q)
    with pytest.raises(ValueError, match="give logits"):
        causal_lm_loss(None, labels)
    with pytest.raises(ValueError, match="not both"):
        causal_lm_loss(logits, labels, hidden=torch.zeros(B, T, H), lm_head=torch.zeros(V, H))
    with pytest.raises(ValueError, match="z_loss must be >= 0"):
        causal_lm_loss(logits, labels, z_loss=-1.0)


@pytest.mark.parametrize(
    "name",
    ["weightwise.losses._causal_lm", "weightwise.losses._linear", "weightwise.reduction"],
)
def test_docstring_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_nn_twin_equals_the_hand_composition():
    """weightwise.nn.CausalLMLoss against the hand-written composition (both paths), with the
    class weight a buffer that follows state_dict, and a window denominator in forward."""
    from weightwise.nn import CausalLMLoss

    logits, labels, tw, q, cw = _data(3)
    module = CausalLMLoss(class_weight=cw, label_smoothing=0.1, z_loss=1e-2)
    assert "class_weight" in module.state_dict()
    torch.testing.assert_close(module.state_dict()["class_weight"], cw)
    ref = _hand(logits, labels, tw, q, cw, "weighted_mean", eps=0.1, zl=1e-2)
    got = module(logits, labels, tw, sequence_weight=q)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-14)
    # hidden + lm_head (no logits): the same value and gradient as through the logits
    g = torch.Generator().manual_seed(9)
    hidden = torch.randn(B, T, H, generator=g, dtype=torch.float64, requires_grad=True)
    head = torch.randn(V, H, generator=g, dtype=torch.float64, requires_grad=True)
    fused = module(None, labels, tw, sequence_weight=q, hidden=hidden, lm_head=head)
    plain = _hand(hidden @ head.T, labels, tw, q, cw, "weighted_mean", eps=0.1, zl=1e-2)
    torch.testing.assert_close(fused, plain, rtol=1e-12, atol=1e-14)
    for a, e in zip(
        torch.autograd.grad(fused, (hidden, head)),
        torch.autograd.grad(plain, (hidden, head)),
        strict=True,
    ):
        torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-13)
    # denominator replaces Σω: sum / D
    d = torch.tensor(7.5, dtype=torch.float64)
    total = _hand(logits, labels, tw, q, cw, "sum", eps=0.1, zl=1e-2)
    torch.testing.assert_close(
        module(logits, labels, tw, sequence_weight=q, denominator=d), total / d
    )
