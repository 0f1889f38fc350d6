"""Log loss and Brier score against scikit-learn with sample_weight; calibration error and
precision/recall at k against brute-force weighted counts written here."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import brier_score_loss
from sklearn.metrics import log_loss as sk_log_loss
from torchmetrics.functional.classification import (
    binary_calibration_error,
    multiclass_calibration_error,
)

from weightwise.metrics import BrierScore, CalibrationError, LogLoss, PrecisionAtK, RecallAtK
from weightwise.metrics.functional import (
    brier_score,
    calibration_error,
    log_loss,
    precision_at_k,
    recall_at_k,
)

TOL = 1e-6
GRID = np.array([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0])  # includes 0 and 1: clipping matters
WEIGHTS = st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.25])


@st.composite
def binary_data(draw, max_n=30):
    n = draw(st.integers(1, max_n))
    s = np.array(draw(st.lists(st.sampled_from(GRID), min_size=n, max_size=n)))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    w = np.array(draw(st.lists(WEIGHTS, min_size=n, max_size=n)))
    return s, y, w


@st.composite
def multiclass_data(draw, max_n=30, c=4):
    n = draw(st.integers(1, max_n))
    seed = draw(st.integers(0, 2**31 - 1))
    g = np.random.default_rng(seed)
    P = g.dirichlet(np.ones(c), n)
    P[g.random(n) < 0.2] = np.eye(c)[g.integers(0, c)]  # some exact 0/1 rows
    y = g.integers(0, c, n)
    w = np.array(draw(st.lists(WEIGHTS, min_size=n, max_size=n)))
    return P, y, w


def _nan_ok(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@settings(max_examples=100, deadline=None)
@given(binary_data())
def test_binary_log_loss_and_brier_equal_sklearn(data):
    s, y, w = data
    args = (torch.tensor(s), torch.tensor(y))
    kw = {"sample_weight": torch.tensor(w)}
    if w.sum() == 0:
        assert torch.isnan(_nan_ok(log_loss, *args, **kw, task="binary"))
        assert torch.isnan(_nan_ok(brier_score, *args, **kw, task="binary"))
        return
    ref = sk_log_loss(y, s, sample_weight=w, labels=[0, 1])
    assert log_loss(*args, **kw, task="binary").item() == pytest.approx(ref, abs=TOL)
    ref = brier_score_loss(y, s, sample_weight=w, labels=[0, 1])
    assert brier_score(*args, **kw, task="binary").item() == pytest.approx(ref, abs=TOL)


@settings(max_examples=80, deadline=None)
@given(multiclass_data())
def test_multiclass_log_loss_and_brier_equal_sklearn(data):
    P, y, w = data
    args = (torch.tensor(P), torch.tensor(y))
    kw = {"sample_weight": torch.tensor(w)}
    if w.sum() == 0:
        assert torch.isnan(_nan_ok(log_loss, *args, **kw))
        return
    ref = sk_log_loss(y, P, sample_weight=w, labels=np.arange(4))
    assert log_loss(*args, **kw).item() == pytest.approx(ref, abs=TOL)
    ref = brier_score_loss(y, P, sample_weight=w, labels=np.arange(4), scale_by_half=False)
    assert brier_score(*args, **kw).item() == pytest.approx(ref, abs=TOL)


def test_float32_clips_at_float32_eps_and_logits():
    p = torch.tensor([0.0, 1.0, 0.3], dtype=torch.float32)
    y = torch.tensor([1, 0, 1])
    ref = sk_log_loss(y.numpy(), p.numpy(), labels=[0, 1])  # sklearn clips at float32 eps too
    assert log_loss(p, y, task="binary").item() == pytest.approx(ref, rel=1e-6)
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]], dtype=torch.float64)
    t = torch.tensor([0, 2])
    ref = sk_log_loss(t.numpy(), torch.softmax(logits, 1).numpy(), labels=[0, 1, 2])
    assert log_loss(logits, t, from_logits=True).item() == pytest.approx(ref, abs=TOL)
    z = torch.tensor([-3.0, 0.0, 4.0], dtype=torch.float64)
    ref = brier_score_loss([0, 1, 1], torch.sigmoid(z).numpy())
    assert brier_score(z, torch.tensor([0, 1, 1]), task="binary", from_logits=True).item() == (
        pytest.approx(ref, abs=TOL)
    )


def test_multilabel_and_dense_are_elementwise():
    g = torch.Generator().manual_seed(0)
    p = torch.rand(5, 3, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (5, 3, 4), generator=g)
    w = torch.rand(5, 4, generator=g, dtype=torch.float64)  # per pixel, skipping the label axis
    full = w.unsqueeze(1).expand(5, 3, 4)
    ref = sk_log_loss(y.reshape(-1).numpy(), p.reshape(-1).numpy(), sample_weight=full.reshape(-1))
    ours = log_loss(p, y, sample_weight=w, task="multilabel", num_labels=3)
    assert ours.item() == pytest.approx(ref, abs=TOL)


# ---------------------------------------------------------------------------------------------
# calibration error: brute-force weighted binning
# ---------------------------------------------------------------------------------------------


def _calibration_brute(conf, acc, w, n_bins, norm):
    edges = np.arange(n_bins + 1) / n_bins
    total = w.sum()
    gaps, masses = [], []
    for b in range(n_bins):
        lo, hi = edges[b], edges[b + 1]
        inside = [(lo <= c < hi) or (b == n_bins - 1 and c == 1.0) for c in conf]
        inside = np.array(inside, dtype=bool)
        wb = w[inside].sum()
        if wb <= 0:
            continue
        gaps.append(
            abs((w[inside] * acc[inside]).sum() / wb - (w[inside] * conf[inside]).sum() / wb)
        )
        masses.append(wb / total)
    gaps, masses = np.array(gaps), np.array(masses)
    if norm == "l1":
        return float((gaps * masses).sum())
    if norm == "l2":
        return float(np.sqrt((gaps**2 * masses).sum()))
    return float(gaps.max())


@settings(max_examples=80, deadline=None)
@given(binary_data(), st.sampled_from([1, 4, 10, 15]), st.sampled_from(["l1", "l2", "max"]))
def test_binary_calibration_equals_brute_force(data, n_bins, norm):
    s, y, w = data
    args = (torch.tensor(s), torch.tensor(y), torch.tensor(w))
    ours = _nan_ok(calibration_error, *args, task="binary", n_bins=n_bins, norm=norm)
    if w.sum() == 0:
        assert torch.isnan(ours)
        return
    ref = _calibration_brute(s, y.astype(float), w, n_bins, norm)
    assert ours.item() == pytest.approx(ref, abs=TOL)


@settings(max_examples=60, deadline=None)
@given(multiclass_data(), st.sampled_from([3, 15]), st.sampled_from(["l1", "l2", "max"]))
def test_multiclass_calibration_equals_brute_force(data, n_bins, norm):
    P, y, w = data
    assume_weight = w.sum() > 0
    ours = _nan_ok(
        calibration_error, torch.tensor(P), torch.tensor(y), torch.tensor(w), n_bins=n_bins,
        norm=norm,
    )  # fmt: skip
    if not assume_weight:
        assert torch.isnan(ours)
        return
    conf = P.max(1)
    acc = (P.argmax(1) == y).astype(float)
    assert ours.item() == pytest.approx(_calibration_brute(conf, acc, w, n_bins, norm), abs=TOL)


@pytest.mark.parametrize("norm", ["l1", "l2", "max"])
def test_calibration_unit_weights_equal_torchmetrics(norm):
    g = torch.Generator().manual_seed(0)
    p = torch.rand(500, generator=g, dtype=torch.float64)
    y = (torch.rand(500, generator=g, dtype=torch.float64) < p).long()
    ref = binary_calibration_error(p, y, n_bins=10, norm=norm)
    assert calibration_error(p, y, task="binary", n_bins=10, norm=norm).item() == pytest.approx(
        ref.item(), abs=TOL
    )
    P = torch.softmax(torch.randn(400, 5, generator=g, dtype=torch.float64) * 2, 1)
    t = torch.randint(0, 5, (400,), generator=g)
    ref = multiclass_calibration_error(P, t, num_classes=5, n_bins=10, norm=norm)
    assert calibration_error(P, t, n_bins=10, norm=norm).item() == pytest.approx(
        ref.item(), abs=TOL
    )


# ---------------------------------------------------------------------------------------------
# precision / recall at k: brute force
# ---------------------------------------------------------------------------------------------


def _at_k_brute(P, Y, w, k):
    p_num = r_num = r_den = 0.0
    for n in range(P.shape[0]):
        # ties to the lower label index
        order = sorted(range(P.shape[1]), key=lambda j: (-P[n, j], j))[:k]
        hits = sum(Y[n, j] for j in order)
        p_num += w[n] * hits / k
        if Y[n].sum() > 0:
            r_num += w[n] * hits / Y[n].sum()
            r_den += w[n]
    return p_num / w.sum() if w.sum() > 0 else None, r_num / r_den if r_den > 0 else None


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 20), st.integers(1, 5), st.integers(0, 2**31 - 1))
def test_precision_recall_at_k_equal_brute_force(n, k, seed):
    g = np.random.default_rng(seed)
    L = 5
    P = g.choice(GRID, (n, L))
    Y = g.integers(0, 2, (n, L))
    w = g.choice([0.0, 0.5, 1.0, 2.0], n)
    ref_p, ref_r = _at_k_brute(P, Y, w, k)
    args = (torch.tensor(P), torch.tensor(Y), torch.tensor(w))
    for fn, ref in [(precision_at_k, ref_p), (recall_at_k, ref_r)]:
        ours = _nan_ok(fn, *args, k=k)
        if ref is None:
            assert torch.isnan(ours)
        else:
            assert ours.item() == pytest.approx(ref, abs=TOL)


def test_at_k_arguments():
    P, Y = torch.rand(4, 3), torch.randint(0, 2, (4, 3))
    with pytest.raises(ValueError, match="k must be <= num_labels=3"):
        precision_at_k(P, Y, k=4)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        PrecisionAtK(0)
    with pytest.raises(ValueError, match="sample_weight"):
        recall_at_k(
            P, Y, sample_weight=torch.ones(4, 3), k=1
        )  # per-label weights make no sense here


@pytest.mark.parametrize("cls", [LogLoss, BrierScore, CalibrationError])
def test_stateful_probabilistic_lower_is_better(cls):
    assert cls.higher_is_better is False
    m = cls("binary")
    m.update(torch.tensor([0.9, 0.2]), torch.tensor([1, 0]))
    assert m.compute().dtype == torch.float64
    assert RecallAtK.higher_is_better is True


def test_calibration_arguments():
    with pytest.raises(ValueError, match="n_bins"):
        CalibrationError("binary", n_bins=0)
    with pytest.raises(ValueError, match="norm"):
        calibration_error(torch.tensor([0.5]), torch.tensor([1]), task="binary", norm="l3")
