"""WeightedSampler: chi-square against the weights, no zero-weight draws, weighted permutations,
DDP shares as exact set/sequence identities, epochs, validation, and a draw past 2^24 items."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from torch.utils.data import DataLoader, TensorDataset

from weightwise.data import WeightedSampler
from weightwise.data._draw import (
    block_totals,
    draw_with_replacement,
    draw_without_replacement,
)

ALPHA = 1e-3  # chi-square significance level; seeds are fixed, so the outcome is deterministic


def _weights(n: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.random(n) * 5
    w[[0, 7, 8, n - 1]] = 0.0  # zero weights at both ends and inside
    return w


def _chi2_pvalue(counts: np.ndarray, w: np.ndarray) -> float:
    pos = w > 0
    expected = w[pos] / w[pos].sum() * counts.sum()
    return float(stats.chisquare(counts[pos], expected).pvalue)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_with_replacement_frequencies_match_weights(seed):
    w = _weights()
    m = 40_000
    idx = WeightedSampler(w, m, seed=seed).draw(epoch=seed)
    counts = np.bincount(idx.numpy(), minlength=len(w))
    assert counts[w == 0].sum() == 0
    assert _chi2_pvalue(counts, w) > ALPHA


@pytest.mark.parametrize("block", [1, 3, 7, 64])
def test_blockwise_draw_matches_weights_for_any_block_size(block):
    w = _weights(seed=5)
    idx = draw_with_replacement(
        w, block_totals(w, block=block), 30_000, np.random.default_rng(block), block=block
    )
    counts = np.bincount(idx, minlength=len(w))
    assert counts[w == 0].sum() == 0
    assert _chi2_pvalue(counts, w) > ALPHA


@pytest.mark.parametrize("block, period", [(3, 16), (7, 37), (64, 1000)])
def test_draw_law_does_not_depend_on_the_position(block, period):
    # Blocks are drawn one after another, then shuffled: the law must not depend on where a
    # position sits (four position classes, compared with a contingency chi-square).
    w = _weights(seed=6)
    m = 48_000
    idx = draw_with_replacement(
        w, block_totals(w, block=block), m, np.random.default_rng(period), block=block
    )
    counts = np.bincount(idx, minlength=len(w))
    assert counts[w == 0].sum() == 0
    assert _chi2_pvalue(counts, w) > ALPHA
    pos = np.arange(m)
    first_half = (pos % period) < period // 2
    even = (pos // period) % 2 == 0
    groups = [first_half & even, first_half & ~even, ~first_half & even, ~first_half & ~even]
    table = np.stack([np.bincount(idx[g], minlength=len(w))[w > 0] for g in groups])
    assert stats.chi2_contingency(table).pvalue > ALPHA


def test_draw_order_is_exchangeable():
    # The shuffle step: the first half and the second half of one draw have the same law.
    w = _weights(seed=9)
    idx = WeightedSampler(w, 40_000, seed=4).draw().numpy()
    a = np.bincount(idx[:20_000], minlength=len(w))[w > 0]
    b = np.bincount(idx[20_000:], minlength=len(w))[w > 0]
    assert stats.chi2_contingency(np.stack([a, b])).pvalue > ALPHA


def test_integer_and_torch_weights_accepted():
    w = np.array([0, 3, 1, 0, 4])
    for weights in (w, torch.tensor(w, dtype=torch.float32), w.tolist()):
        idx = WeightedSampler(weights, 10_000, seed=0).draw().numpy()
        counts = np.bincount(idx, minlength=5)
        assert counts[[0, 3]].sum() == 0
        assert _chi2_pvalue(counts, w.astype(float)) > ALPHA


def test_without_replacement_no_duplicates_and_only_positive():
    w = _weights()
    npos = int((w > 0).sum())
    for m in (1, 10, npos):
        idx = WeightedSampler(w, m, replacement=False, seed=1).draw().numpy()
        assert len(idx) == m and len(set(idx.tolist())) == m
        assert (w[idx] > 0).all()
    full = WeightedSampler(w, npos, replacement=False, seed=1).draw().numpy()
    assert set(full.tolist()) == set(np.flatnonzero(w > 0).tolist())


def test_without_replacement_heavier_items_come_earlier():
    w = np.array([1.0] * 50 + [10.0] * 50)
    s = WeightedSampler(w, replacement=False, seed=0)
    pos_light, pos_heavy = [], []
    for e in range(20):
        rank_of = np.empty(100)
        rank_of[s.draw(epoch=e).numpy()] = np.arange(100)
        pos_light.append(rank_of[:50].mean())
        pos_heavy.append(rank_of[50:].mean())
    assert max(pos_heavy) < min(pos_light)


def test_without_replacement_ordered_pairs_follow_successive_sampling():
    # P(first = i, second = j) = w_i / W · w_j / (W − w_i)  (sampling proportional to weight
    # among the items not yet taken).
    w = np.array([1.0, 2.0, 0.0, 3.0, 4.0])
    s = WeightedSampler(w, 2, replacement=False, seed=11)
    pairs = [tuple(s.draw(epoch=e).tolist()) for e in range(4000)]
    support = [(i, j) for i, j in itertools.permutations(range(5), 2) if w[i] > 0 and w[j] > 0]
    assert set(pairs) <= set(support)
    total = w.sum()
    expected = np.array([w[i] / total * w[j] / (total - w[i]) for i, j in support]) * len(pairs)
    observed = np.array([pairs.count(p) for p in support])
    assert stats.chisquare(observed, expected).pvalue > ALPHA


def test_pure_without_replacement_any_block_size():
    w = np.array([5.0, 0.0, 1.0, 1.0, 3.0])
    firsts = [
        int(draw_without_replacement(w, 1, np.random.default_rng(s), block=2)[0])
        for s in range(3000)
    ]
    counts = np.bincount(firsts, minlength=5)
    assert _chi2_pvalue(counts, w) > ALPHA and counts[1] == 0


# --------------------------------------------------------------------------- DDP shares


def _shares(w, m, world, **kw):
    samplers = [WeightedSampler(w, m, rank=r, world_size=world, **kw) for r in range(world)]
    return samplers, [s.draw(epoch=3).numpy() for s in samplers]


def _interleave(shares: list[np.ndarray]) -> np.ndarray:
    world, length = len(shares), len(shares[0])
    out = np.empty(world * length, dtype=np.int64)
    for r, sh in enumerate(shares):
        out[r::world] = sh
    return out


@pytest.mark.parametrize("world", [2, 3])
@pytest.mark.parametrize("replacement", [True, False])
def test_ddp_shares_union_is_single_process_draw(world, replacement):
    w = _weights(60, seed=3)
    m = 30  # divisible by 2 and 3
    samplers, shares = _shares(w, m, world, replacement=replacement, seed=7)
    assert all(len(s) == m // world == len(sh) for s, sh in zip(samplers, shares, strict=True))
    single = WeightedSampler(w, m, replacement=replacement, seed=7).draw(epoch=3).numpy()
    np.testing.assert_array_equal(_interleave(shares), single)
    if not replacement:  # distinct items: the shares are disjoint sets
        sets = [set(sh.tolist()) for sh in shares]
        assert all(not (a & b) for a, b in itertools.combinations(sets, 2))
        assert set().union(*sets) == set(single.tolist())


@pytest.mark.parametrize("world", [2, 3])
def test_ddp_uneven_with_replacement_pads_with_fresh_draws(world):
    w = _weights(60, seed=3)
    m = 31
    length = -(-m // world)
    samplers, shares = _shares(w, m, world, seed=7)
    assert all(len(s) == length for s in samplers)
    single = WeightedSampler(w, length * world, seed=7).draw(epoch=3).numpy()
    np.testing.assert_array_equal(_interleave(shares), single)


@pytest.mark.parametrize("world", [2, 3])
def test_ddp_uneven_without_replacement_wraps_around(world):
    w = _weights(60, seed=3)
    m = 31
    length = -(-m // world)
    _, shares = _shares(w, m, world, replacement=False, seed=7)
    single = WeightedSampler(w, m, replacement=False, seed=7).draw(epoch=3).numpy()
    union = _interleave(shares)
    np.testing.assert_array_equal(union[:m], single)
    np.testing.assert_array_equal(union[m:], single[: length * world - m])


@pytest.mark.parametrize("world", [2, 3])
@pytest.mark.parametrize("replacement", [True, False])
def test_ddp_drop_last_drops_the_tail(world, replacement):
    w = _weights(60, seed=3)
    m = 31
    samplers, shares = _shares(w, m, world, replacement=replacement, seed=7, drop_last=True)
    assert all(len(s) == m // world for s in samplers)
    single = WeightedSampler(w, m, replacement=replacement, seed=7).draw(epoch=3).numpy()
    np.testing.assert_array_equal(_interleave(shares), single[: (m // world) * world])


# --------------------------------------------------------------------------- epochs


def test_set_epoch_changes_order_and_same_seed_epoch_repeats():
    w = _weights()
    s = WeightedSampler(w, 200, seed=5)
    first = list(s)  # epoch 0, advances to 1
    second = list(s)  # epoch 1
    assert first != second
    s.set_epoch(0)
    assert list(s) == first
    assert s.epoch == 1
    s.set_epoch(1)
    assert list(s) == second
    assert list(WeightedSampler(w, 200, seed=5)) == first  # fresh sampler, same (seed, epoch)
    assert list(WeightedSampler(w, 200, seed=6)) != first
    t = WeightedSampler(w, 30, replacement=False, seed=5)
    t.set_epoch(4)
    a = list(t)
    t.set_epoch(4)
    assert list(t) == a and t.draw(epoch=5).tolist() != a


def test_iteration_is_chunked_and_len_matches():
    w = np.ones(150_000)
    s = WeightedSampler(w, seed=0)
    it = iter(s)
    head = list(itertools.islice(it, 5))
    assert len(head) == 5 and all(isinstance(i, int) for i in head)
    assert len(s) == 150_000 and len(head) + sum(1 for _ in it) == 150_000


def test_dataloader_with_sampler():
    w = torch.tensor([0.0, 1.0, 0.0, 2.0])
    ds = TensorDataset(torch.arange(4))
    loader = DataLoader(ds, batch_size=8, sampler=WeightedSampler(w, 64, seed=0))
    drawn = torch.cat([b[0] for b in loader])
    assert drawn.shape == (64,) and set(drawn.tolist()) <= {1, 3}


# --------------------------------------------------------------------------- coverage


def test_expected_coverage_closed_form_uniform():
    n, m = 50, 80
    s = WeightedSampler(np.ones(n), m)
    assert s.expected_coverage() == pytest.approx(1 - (1 - 1 / n) ** m, rel=1e-12)
    assert WeightedSampler(np.ones(n), 20, replacement=False).expected_coverage() == 20 / n


def test_expected_coverage_matches_monte_carlo():
    w = _weights(30, seed=2)
    s = WeightedSampler(w, 30, seed=0)
    frac = np.array([len(np.unique(s.draw(epoch=e).numpy())) / 30 for e in range(400)])
    se = frac.std(ddof=1) / np.sqrt(len(frac))
    assert abs(frac.mean() - s.expected_coverage()) < 4 * se


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "bad, fragment",
    [
        (float("nan"), "got nan at index 3"),
        (float("inf"), "got inf at index 3"),
        (-1.0, "got -1.0 at index 3"),
    ],
)
def test_bad_weight_named_with_index_and_value(bad, fragment):
    w = np.ones(10)
    w[3] = bad
    with pytest.raises(ValueError, match=f"weights must be finite and non-negative; {fragment}"):
        WeightedSampler(w)


def test_bad_weight_index_is_global_past_the_first_block():
    w = torch.ones(70_000)
    w[69_999] = -2.0
    with pytest.raises(ValueError, match=r"got -2\.0 at index 69999"):
        WeightedSampler(w)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"weights": np.zeros(5)}, "must not all be zero"),
        ({"weights": np.ones(0)}, "must not be empty"),
        ({"weights": np.ones((2, 2))}, "must be 1-D"),
        ({"weights": [0, 1, 1], "num_samples": 3, "replacement": False}, r"positive weights \(2\)"),
        ({"weights": np.ones(3), "num_samples": 0}, "num_samples must be a positive integer"),
        ({"weights": np.ones(3), "rank": 0}, "give both rank and world_size"),
        ({"weights": np.ones(3), "rank": 2, "world_size": 2}, r"rank must be in \[0, "),
        ({"weights": np.ones(3), "seed": -1}, "seed must be a non-negative integer"),
        ({"weights": [1e308, 1e308]}, "overflows float64"),
    ],
)
def test_invalid_arguments(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        WeightedSampler(**kwargs)


def test_set_epoch_rejects_negative():
    with pytest.raises(ValueError, match="epoch must be a non-negative integer; got -1"):
        WeightedSampler(np.ones(3)).set_epoch(-1)


# --------------------------------------------------------------------------- scale


def test_more_than_two_to_the_24_items():
    n = 2**24 + 1000
    w = torch.zeros(n, dtype=torch.float32)
    rng = np.random.default_rng(0)
    support = np.unique(np.concatenate([rng.integers(0, n, 60), np.arange(n - 40, n)]))
    w[torch.from_numpy(support)] = torch.from_numpy(rng.random(len(support)) + 0.5).float()
    s = WeightedSampler(w, 20_000, seed=1)
    idx = s.draw().numpy()
    counts = np.bincount(idx, minlength=n)[support]
    assert counts.sum() == 20_000  # nothing outside the positive weights
    assert idx.max() >= 2**24
    wn = w.numpy().astype(np.float64)[support]
    expected = wn / wn.sum() * 20_000
    assert stats.chisquare(counts, expected).pvalue > ALPHA
    perm = WeightedSampler(w, len(support), replacement=False, seed=1).draw().numpy()
    assert sorted(perm.tolist()) == support.tolist()


# --------------------------------------------------------------------------- property


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 30),
    m=st.integers(1, 40),
    world=st.integers(1, 4),
    replacement=st.booleans(),
    drop_last=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_shares_reassemble_the_single_process_draw(n, m, world, replacement, drop_last, seed):
    w = np.arange(1, n + 1, dtype=float)
    if not replacement:
        m = min(m, n)
    samplers = [
        WeightedSampler(
            w, m, replacement=replacement, seed=seed, rank=r, world_size=world, drop_last=drop_last
        )
        for r in range(world)
    ]
    length = m // world if drop_last else -(-m // world)
    shares = [s.draw(epoch=1).numpy() for s in samplers]
    assert all(len(sh) == len(s) == length for sh, s in zip(shares, samplers, strict=True))
    draw_size = length * world if replacement and not drop_last else m
    single = WeightedSampler(w, draw_size, replacement=replacement, seed=seed).draw(epoch=1)
    expected = np.resize(single.numpy(), length * world)  # wraps around when it runs short
    np.testing.assert_array_equal(_interleave(shares) if length else [], expected)


def test_without_replacement_prefers_tiny_positive_weights_to_zero_weights():
    w = np.array([0.0, 1e-320, 0.0, 5e-324, 1.0, 0.0])
    for e in range(20):
        idx = WeightedSampler(w, 3, replacement=False, seed=e).draw().tolist()
        assert idx[0] == 4 and sorted(idx) == [1, 3, 4]


def test_heavy_block_is_drawn_piecewise_with_the_right_law():
    # Most mass in one block of 3 items: it gets far more than 4·block = 12 draws (many pieces).
    w = np.array([1.0, 1.0, 1.0, 20.0, 50.0, 30.0, 0.0, 1.0])
    totals = block_totals(w, block=3)
    idx = draw_with_replacement(w, totals, 5_000, np.random.default_rng(8), block=3)
    counts = np.bincount(idx, minlength=len(w))
    assert counts[6] == 0
    assert _chi2_pvalue(counts, w) > ALPHA
