"""Half-precision probabilities (float16, bfloat16) against scikit-learn on their float64 values.

Rounding a row of probabilities to half precision moves its sum off 1 by up to ``eps / 2``
(about 4e-3 for bfloat16); the "rows sum to 1" check scales its tolerance with the dtype
(``row_sum_tolerance``) and every metric accumulates in float64, so the result equals
scikit-learn's on the same (rounded) values.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

import weightwise.metrics.functional as MF
from weightwise.decision import best_threshold
from weightwise.metrics.functional._inputs import row_sum_tolerance

HALF = [torch.float16, torch.bfloat16]
N, C = 80, 4


def _multiclass(dtype: torch.dtype, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    # Probabilities kept away from 0 and 1, so that clipping at the dtype's eps never applies.
    probs = torch.softmax(0.5 * torch.randn(N, C, generator=g, dtype=torch.float64), 1).to(dtype)
    y = torch.randint(0, C, (N,), generator=g)
    w = torch.rand(N, generator=g, dtype=torch.float64) + 0.1
    return probs, y, w


def _binary(dtype: torch.dtype, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    scores = (0.02 + 0.96 * torch.rand(N, generator=g, dtype=torch.float64)).to(dtype)
    y = torch.randint(0, 2, (N,), generator=g)
    w = torch.rand(N, generator=g, dtype=torch.float64) + 0.1
    return scores, y, w


def test_rounded_rows_do_not_sum_to_one_within_the_float32_tolerance() -> None:
    """The premise: these half-precision rows fail 1e-4 and pass the dtype's tolerance."""
    for dtype in HALF:
        probs = _multiclass(dtype)[0]
        err = (probs.double().sum(1) - 1).abs().max().item()
        assert 1e-4 < err <= torch.finfo(dtype).eps / 2 * 1.01 <= row_sum_tolerance(dtype)
    assert row_sum_tolerance(torch.float32) == row_sum_tolerance(torch.float64) == 1e-4


@pytest.mark.parametrize("dtype", HALF)
def test_log_loss_and_brier_equal_the_closed_forms(dtype: torch.dtype) -> None:
    probs, y, w = _multiclass(dtype)
    p, yn, wn = probs.double().numpy(), y.numpy(), w.numpy()
    # Closed forms on the float64 values (scikit-learn refuses rows off 1 by > sqrt(eps)).
    ref_log = -(wn * np.log(p[np.arange(N), yn])).sum() / wn.sum()
    onehot = np.eye(C)[yn]
    ref_brier = (wn * ((p - onehot) ** 2).sum(1)).sum() / wn.sum()
    log = MF.log_loss(probs, y, task="multiclass", num_classes=C, sample_weight=w)
    brier = MF.brier_score(probs, y, task="multiclass", num_classes=C, sample_weight=w)
    assert log.dtype == brier.dtype == torch.float64
    assert log.item() == pytest.approx(ref_log, rel=1e-12)
    assert brier.item() == pytest.approx(ref_brier, rel=1e-12)


@pytest.mark.parametrize("dtype", HALF)
def test_binary_log_loss_and_brier_equal_scikit_learn(dtype: torch.dtype) -> None:
    s, y, w = _binary(dtype)
    sn, yn, wn = s.double().numpy(), y.numpy(), w.numpy()
    log = MF.log_loss(s, y, task="binary", sample_weight=w).item()
    assert log == pytest.approx(skm.log_loss(yn, sn, sample_weight=wn), rel=1e-12)
    brier = MF.brier_score(s, y, task="binary", sample_weight=w).item()
    assert brier == pytest.approx(skm.brier_score_loss(yn, sn, sample_weight=wn), rel=1e-12)


@pytest.mark.parametrize("dtype", HALF)
def test_auroc_and_average_precision_equal_scikit_learn(dtype: torch.dtype) -> None:
    s, y, w = _binary(dtype)  # half precision makes ties: scikit-learn's tie rule applies
    sn, yn, wn = s.double().numpy(), y.numpy(), w.numpy()
    assert len(np.unique(sn)) < N or dtype == torch.float16
    auc = MF.auroc(s, y, task="binary", sample_weight=w).item()
    assert auc == pytest.approx(skm.roc_auc_score(yn, sn, sample_weight=wn), rel=1e-12)
    ap = MF.average_precision(s, y, task="binary", sample_weight=w).item()
    assert ap == pytest.approx(skm.average_precision_score(yn, sn, sample_weight=wn), rel=1e-12)
    probs, yc, wc = _multiclass(dtype)
    pn = probs.double().numpy()
    ours = MF.auroc(probs, yc, task="multiclass", num_classes=C, sample_weight=wc).item()
    # Macro one-vs-rest, as scikit-learn's multi_class="ovr" computes it (column by column;
    # its multi-class entry point refuses rows off 1, so the columns are scored one by one).
    per_class = [
        skm.roc_auc_score(yc.numpy() == c, pn[:, c], sample_weight=wc.numpy()) for c in range(C)
    ]
    assert ours == pytest.approx(float(np.mean(per_class)), rel=1e-12)


def _calibration_l1(conf: np.ndarray, acc: np.ndarray, w: np.ndarray, n_bins: int) -> float:
    """Weighted expected calibration error by brute force (bins [lo, hi), the last closed)."""
    edges = np.arange(n_bins + 1) / n_bins
    total, out = w.sum(), 0.0
    for b in range(n_bins):
        inside = (conf >= edges[b]) & (conf < edges[b + 1])
        if b == n_bins - 1:
            inside |= conf == 1.0
        wb = w[inside].sum()
        if wb > 0:
            gap = abs((w[inside] * acc[inside]).sum() - (w[inside] * conf[inside]).sum()) / wb
            out += gap * wb / total
    return out


@pytest.mark.parametrize("dtype", HALF)
def test_calibration_error_equals_brute_force(dtype: torch.dtype) -> None:
    s, y, w = _binary(dtype)
    ours = MF.calibration_error(s, y, task="binary", n_bins=5, sample_weight=w).item()
    ref = _calibration_l1(s.double().numpy(), y.numpy().astype(float), w.numpy(), 5)
    assert ours == pytest.approx(ref, rel=1e-9)


def test_the_logits_hint_only_when_the_rows_are_not_nearly_normalised() -> None:
    nearly = torch.tensor([[0.5, 0.501], [0.2, 0.8]])  # float32: 1e-3 off is not a rounding error
    with pytest.raises(ValueError, match="renormalise the rows") as info:
        MF.log_loss(nearly, torch.tensor([0, 1]), task="multiclass", num_classes=2)
    assert "from_logits" not in str(info.value)
    assert "within 0.0001 for dtype float32" in str(info.value)
    far = torch.tensor([[0.9, 0.8], [0.2, 0.8]])
    with pytest.raises(ValueError, match="pass from_logits=True for logits"):
        MF.log_loss(far, torch.tensor([0, 1]), task="multiclass", num_classes=2)
    # bfloat16 rows rounded from exact probabilities are accepted ...
    MF.log_loss(_multiclass(torch.bfloat16)[0], _multiclass(torch.bfloat16)[1], task="multiclass")
    # ... but a bfloat16 row off by more than its tolerance is not.
    off = torch.tensor([[0.5, 0.6], [0.2, 0.8]], dtype=torch.bfloat16)
    with pytest.raises(ValueError, match=r"within 0.0625 for dtype bfloat16 \(pass from_logits"):
        MF.log_loss(off, torch.tensor([0, 1]), task="multiclass", num_classes=2)


@pytest.mark.parametrize("dtype", HALF)
def test_best_threshold_takes_half_precision_scores(dtype: torch.dtype) -> None:
    s, y, w = _binary(dtype)
    got = best_threshold(s, y, sample_weight=w)
    ref = best_threshold(s.double().numpy(), y.numpy(), sample_weight=w.numpy())
    assert got == ref
    # The threshold maximises F1 as scikit-learn counts it (predicted positive: score > t).
    sn = s.double().numpy()
    f1 = skm.f1_score(y.numpy(), sn > got, sample_weight=w.numpy())
    best = max(
        skm.f1_score(y.numpy(), sn > t, sample_weight=w.numpy())
        for t in np.r_[np.unique(sn), -np.inf]
    )
    assert f1 == pytest.approx(best, rel=1e-12)


def test_best_threshold_refuses_an_empty_input() -> None:
    with pytest.raises(ValueError, match="scores must hold at least one sample"):
        best_threshold(np.zeros(0), np.zeros(0))
