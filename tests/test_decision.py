"""weightwise.decision: prior correction, temperature, thresholds, Bayes decisions, against
closed forms, scipy and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar
from scipy.special import softmax
from sklearn.metrics import balanced_accuracy_score, f1_score, fbeta_score, log_loss

from weightwise.decision import bayes_decision, best_threshold, fit_temperature, prior_correction


def test_prior_correction_is_bayes_rule():
    rng = np.random.default_rng(0)
    # Joint model: p(x|y) fixed, priors differ; the posterior under the target prior is exact.
    lik = rng.random((20, 4))
    train, target = np.array([0.6, 0.2, 0.15, 0.05]), np.full(4, 0.25)
    post_train = lik * train / (lik * train).sum(1, keepdims=True)
    post_target = lik * target / (lik * target).sum(1, keepdims=True)
    np.testing.assert_allclose(
        prior_correction(post_train, train_prior=train * 100, target_prior=target), post_target,
        rtol=1e-12,
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"train_prior must be finite and positive; got 0.0 at"):
        prior_correction(post_train, train_prior=[1, 0, 1, 1], target_prior=target)


def test_fit_temperature_minimises_weighted_nll():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 200)
    # Informative but over-confident logits: the best temperature is finite and above 1.
    logits = (2.0 * np.eye(3)[y] + rng.normal(size=(200, 3)) * 1.5) * 4
    w = rng.random(200)

    def nll(t):
        return log_loss(y, softmax(logits / t, axis=1), sample_weight=w, labels=[0, 1, 2])

    ref = minimize_scalar(nll, bounds=(0.05, 50), method="bounded", options={"xatol": 1e-8}).x
    got = fit_temperature(torch.tensor(logits), torch.tensor(y), sample_weight=w)
    assert got == pytest.approx(ref, rel=1e-4)


@pytest.mark.parametrize("metric", ["f1", "fbeta", "balanced_accuracy"])
def test_best_threshold_matches_brute_force(metric):
    rng = np.random.default_rng(2)
    scores = np.round(rng.random(60), 2)  # ties
    y = (rng.random(60) < 0.3).astype(int)
    w = rng.random(60)
    score_fn = {
        "f1": lambda p: f1_score(y, p, sample_weight=w, zero_division=0),
        "fbeta": lambda p: fbeta_score(y, p, beta=2.0, sample_weight=w, zero_division=0),
        "balanced_accuracy": lambda p: balanced_accuracy_score(y, p, sample_weight=w),
    }[metric]
    candidates = np.r_[np.unique(scores), scores.min() - 1]
    best = max(score_fn((scores > t).astype(int)) for t in candidates)
    t = best_threshold(scores, y, metric=metric, beta=2.0, sample_weight=w)
    assert score_fn((scores > t).astype(int)) == pytest.approx(best, abs=1e-12)


def test_bayes_decision_minimises_expected_cost():
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(3), size=50)
    cost = rng.random((3, 3)) * 5
    expected = np.array([[sum(pi[j] * cost[j, k] for j in range(3)) for k in range(3)] for pi in p])
    np.testing.assert_array_equal(bayes_decision(p, cost), expected.argmin(1))
    with pytest.raises(ValueError, match=r"cost_matrix must have shape \(3, 3\)"):
        bayes_decision(p, np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"cost_matrix must be finite and non-negative; got -1.0"):
        bayes_decision(p, -np.ones((3, 3)))
