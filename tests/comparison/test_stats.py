"""The bootstrap's building blocks against scikit-learn and closed forms, and its calibration."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, log_loss

from weightwise.comparison._stats import (
    bootstrap_scores,
    example_stats,
    holm,
    interval,
    p_value,
    resample_counts,
    resampled_metric,
)


def _probs(rng, n, c):
    p = rng.random((n, c)) ** 3
    return p / p.sum(axis=1, keepdims=True)


ORACLES = {
    "accuracy": lambda y, p, w: accuracy_score(y, p.argmax(1), sample_weight=w),
    "balanced_accuracy": lambda y, p, w: balanced_accuracy_score(y, p.argmax(1), sample_weight=w),
    "f1_score": lambda y, p, w: f1_score(y, p.argmax(1), average="macro", sample_weight=w),
    "log_loss": lambda y, p, w: log_loss(y, p, sample_weight=w, labels=np.arange(p.shape[1])),
}


@pytest.mark.parametrize("metric", sorted(ORACLES))
@pytest.mark.parametrize("weighted", [False, True])
def test_whole_sample_metric_matches_sklearn(metric, weighted):
    rng = np.random.default_rng(1)
    n, c = 60, 4
    y = rng.integers(0, c, n)
    p = _probs(rng, n, c)
    w = rng.random(n) + 0.1 if weighted else None
    st = example_stats(p, y, w, metric=metric, rare=np.array([0]))
    got = resampled_metric(metric, st, np.ones((1, n)))[0]
    assert got == pytest.approx(ORACLES[metric](y, p, w), rel=1e-12)


@pytest.mark.parametrize("metric", sorted(ORACLES))
def test_a_resample_is_the_metric_of_the_repeated_rows(metric):
    # Integer multiplicities = repetition: the resampled metric equals sklearn on the rows drawn.
    rng = np.random.default_rng(2)
    n, c = 40, 3
    y = rng.integers(0, c, n)
    p = _probs(rng, n, c)
    R = resample_counts(n, 5, rng)
    assert (R.sum(axis=1) == n).all()
    st = example_stats(p, y, None, metric=metric, rare=np.array([0]))
    got = resampled_metric(metric, st, R)
    for b in range(5):
        idx = np.repeat(np.arange(n), R[b].astype(int))
        assert got[b] == pytest.approx(ORACLES[metric](y[idx], p[idx], None), rel=1e-12)


def test_expected_cost_and_recall_summaries():
    rng = np.random.default_rng(3)
    n, c = 50, 3
    y = rng.integers(0, c, n)
    p = _probs(rng, n, c)
    cost = np.array([[0, 1, 2], [5, 0, 1], [9, 3, 0]], dtype=float)
    decided = (p @ cost).argmin(axis=1)  # Bayes decision: argmin_k sum_j p_j cost[j, k]
    st = example_stats(p, y, None, metric="expected_cost", rare=np.array([2]), cost_matrix=cost)
    got = resampled_metric("expected_cost", st, np.ones((1, n)))[0]
    assert got == pytest.approx(cost[y, decided].mean())
    st = example_stats(p, y, None, metric="worst_class_recall", rare=np.array([2]))
    pred = p.argmax(1)
    recalls = [np.mean(pred[y == k] == k) for k in range(c)]
    assert resampled_metric("worst_class_recall", st, np.ones((1, n)))[0] == pytest.approx(
        min(recalls)
    )
    assert resampled_metric("rare_recall", st, np.ones((1, n)))[0] == pytest.approx(recalls[2])


def test_holm_matches_the_step_down_definition():
    p = [0.01, 0.04, 0.03, 0.2]
    adj, div = holm(p)
    # Holm (1979): sorted 0.01, 0.03, 0.04, 0.2 -> 4·0.01, 3·0.03, max(2·0.04, .), max(1·0.2, .)
    assert adj.tolist() == pytest.approx([0.04, 0.09, 0.09, 0.2])
    assert div.tolist() == [4, 2, 3, 1]


def _holm_reference(p: list[float], alpha: float) -> tuple[list[float], list[int], list[bool]]:
    """Holm (1979) written without sorting, so ties have no order to depend on: hypothesis
    ``i`` is tested at ``α / |{l : p_l ≥ p_i}|``; it is rejected when every ``k`` with
    ``p_k ≤ p_i`` passes its test (the step-down); ``p̃_i = max_{k: p_k ≤ p_i} min(1,
    |{l : p_l ≥ p_k}|·p_k)`` (statsmodels' ``multipletests(method="holm")`` as a formula)."""
    steps = [sum(q >= pk for q in p) for pk in p]
    adj = [max(min(1.0, steps[k] * p[k]) for k in range(len(p)) if p[k] <= pi) for pi in p]
    reject = [all(p[k] <= alpha / steps[k] for k in range(len(p)) if p[k] <= pi) for pi in p]
    return adj, steps, reject


# Bootstrap p-values are multiples of 1/(B + 1): ties are the rule, not the exception.
_tied_p = st.lists(st.sampled_from([0.002, 0.004, 0.01, 0.0125, 0.02, 0.05, 0.3, 1.0]),
                   min_size=1, max_size=8)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(p=_tied_p, data=st.data())
def test_holm_is_the_reference_and_permuting_the_inputs_permutes_the_outputs(p, data):
    alpha = 0.05
    adj, div = holm(p)
    ref_adj, ref_div, ref_reject = _holm_reference(p, alpha)
    assert adj.tolist() == pytest.approx(ref_adj, rel=1e-12)
    assert div.tolist() == ref_div
    assert (adj <= alpha).tolist() == ref_reject
    perm = data.draw(st.permutations(range(len(p))))
    adj_p, div_p = holm([p[i] for i in perm])
    assert adj_p.tolist() == adj[perm].tolist()
    assert div_p.tolist() == div[perm].tolist()


def test_holm_tied_p_values_share_the_strictest_step():
    # 0.02 twice among three: both are tested at α/3 whichever comes first, like their p̃.
    for p in ([0.02, 0.02, 0.3], [0.3, 0.02, 0.02]):
        adj, div = holm(p)
        tied = [i for i, v in enumerate(p) if v == 0.02]
        assert div[tied].tolist() == [3, 3]
        assert adj[tied].tolist() == pytest.approx([0.06, 0.06])


def test_p_value_and_interval_of_a_degenerate_difference():
    assert p_value(np.zeros(100)) == 1.0
    assert interval(np.zeros(100)) == [0.0, 0.0]
    d = np.linspace(0.1, 0.2, 999)
    assert p_value(d) == pytest.approx(2 / 1000)
    assert interval(d)[0] > 0


def test_paired_bootstrap_rejects_at_its_level_under_the_null():
    # Two classifiers with the same error rate, errors independent: H0 (equal accuracy) holds,
    # so the 5% test must reject in about 5% of replications, not far more.
    rng = np.random.default_rng(4)
    n, reps, rejections, detected = 200, 200, 0, 0
    for _ in range(reps):
        y = rng.integers(0, 2, n)
        preds = [np.where(rng.random(n) < 0.7, y, 1 - y) for _ in range(2)]
        preds.append(np.where(rng.random(n) < 0.9, y, 1 - y))  # truly better
        stats = [
            example_stats(np.eye(2)[pr], y, None, metric="accuracy", rare=np.array([0]))
            for pr in preds
        ]
        _, boot = bootstrap_scores(
            lambda s, k, R, stats=stats: resampled_metric("accuracy", stats[s], R),
            num_strategies=3, num_seeds=1, num_examples=n, n_boot=400,
            seed=int(rng.integers(1 << 30)),
        )  # fmt: skip
        rejections += p_value(boot[1] - boot[0]) < 0.05
        detected += p_value(boot[2] - boot[0]) < 0.05
    assert 0.01 <= rejections / reps <= 0.10
    assert detected / reps > 0.95


def test_seed_resampling_widens_the_interval():
    # Seeds that disagree add their spread to the interval; identical seeds add nothing.
    rng = np.random.default_rng(5)
    n = 300
    y = rng.integers(0, 2, n)
    base = np.where(rng.random(n) < 0.8, y, 1 - y)
    noisy = [np.where(rng.random(n) < q, y, 1 - y) for q in (0.7, 0.9, 0.75, 0.88)]

    def width(preds_by_seed):
        st = [[example_stats(np.eye(2)[p], y, None, metric="accuracy", rare=np.array([0]))
               for p in seeds] for seeds in preds_by_seed]  # fmt: skip
        _, boot = bootstrap_scores(
            lambda s, k, R: resampled_metric("accuracy", st[s][k], R),
            num_strategies=2, num_seeds=4, num_examples=n, n_boot=1000, seed=0,
        )  # fmt: skip
        lo, hi = interval(boot[1] - boot[0])
        return hi - lo

    same = width([[base] * 4, [noisy[1]] * 4])
    spread = width([[base] * 4, noisy])
    assert spread > same
