"""WeightedDataset, with_sample_weight, weighted_collate and AugmentedDataset, with DataLoader."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from weightwise.data import (
    AugmentedDataset,
    WeightedDataset,
    weighted_collate,
    with_sample_weight,
)
from weightwise.losses import cross_entropy


def _base(n: int = 6) -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    return TensorDataset(torch.randn(n, 3, generator=g), torch.arange(n) % 3)


def test_weighted_dataset_yields_float32_weights_and_collates_to_b():
    w = np.array([1, 2, 3, 4, 5, 6])  # integer weights: w still float32
    ds = WeightedDataset(_base(), w)
    _, _, wi = ds[4]
    assert wi.dtype == torch.float32 and wi.shape == () and wi.item() == 5.0
    batches = list(DataLoader(ds, batch_size=4))
    assert batches[0][2].dtype == torch.float32 and batches[0][2].shape == (4,)
    torch.testing.assert_close(torch.cat([b[2] for b in batches]), torch.arange(1.0, 7.0))


def test_per_pixel_weight_maps_collate_to_b_h_w_and_feed_a_dense_loss():
    n, c, h, wd = 4, 3, 5, 6
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(n, c, h, wd, generator=g, dtype=torch.float64)
    target = torch.randint(0, c, (n, h, wd), generator=g)
    maps = torch.rand(n, h, wd, generator=g)
    ds = WeightedDataset(TensorDataset(logits, target), maps)
    xb, yb, wb = next(iter(DataLoader(ds, batch_size=n)))
    assert wb.shape == (n, h, wd) and wb.dtype == torch.float32
    got = cross_entropy(xb, yb, sample_weight=wb.double(), reduction="sum")
    per = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    torch.testing.assert_close(got, (per * maps.double()).sum())


def test_weighted_dataset_refuses_bad_weights_and_triples():
    with pytest.raises(
        ValueError, match=r"sample_weight must be finite and non-negative; got -1\.0"
    ):
        WeightedDataset(_base(), [1, 1, 1, -1, 1, 1])
    with pytest.raises(
        ValueError, match=r"one entry per item, shape \(6, \.\.\.\); got shape \(5,\)"
    ):
        WeightedDataset(_base(), np.ones(5))
    triples = WeightedDataset(_base(), np.ones(6))
    with pytest.raises(ValueError, match="already yields \\(x, y, w\\) triples"):
        WeightedDataset(triples, np.ones(6))
    with pytest.raises(ValueError, match="must yield \\(x, y\\) pairs"):
        WeightedDataset(TensorDataset(torch.zeros(6)), np.ones(6))


def test_with_sample_weight_computes_and_combines_by_product():
    base = _base()
    ds = with_sample_weight(base, lambda x, y: 2.0 if int(y) == 1 else 1.0)
    ws = [ds[i][2].item() for i in range(6)]
    assert ws == [1.0, 2.0, 1.0, 1.0, 2.0, 1.0]
    inner = WeightedDataset(base, np.arange(6) + 1)
    combined = with_sample_weight(inner, lambda x, y: 0.5)
    assert [combined[i][2].item() for i in range(6)] == [0.5 * (i + 1) for i in range(6)]
    bad = with_sample_weight(base, lambda x, y: float("nan"))
    with pytest.raises(ValueError, match="returned by fn for item 2"):
        bad[2]


def test_weighted_collate_accepts_python_and_numpy_weights():
    batch = [(torch.zeros(2), 0, 1), (torch.ones(2), 1, np.float64(0.25)), (torch.ones(2), 2, 3)]
    x, y, w = weighted_collate(batch)
    assert x.shape == (3, 2) and y.tolist() == [0, 1, 2]
    assert w.dtype == torch.float32 and w.tolist() == [1.0, 0.25, 3.0]
    with pytest.raises(ValueError, match="triples"):
        weighted_collate([(torch.zeros(2), 0)])


@pytest.mark.parametrize("policy", ["repeat", "split"])
def test_augmented_dataset_layout_and_weight_policy(policy):
    base = WeightedDataset(_base(4), np.array([1.0, 2.0, 0.0, 4.0]))
    calls = []

    def transform(x):
        calls.append(x)
        return x * 10

    copies = 3
    ds = AugmentedDataset(base, transform, copies=copies, weight_policy=policy)
    assert len(ds) == 12
    for i in range(12):
        x, y, w = ds[i]
        bx, by, bw = base[i // copies]
        torch.testing.assert_close(x, bx * 10)
        assert y == by
        assert w.item() == (bw if policy == "repeat" else bw / copies).item()
    totals = torch.zeros(4)
    for i in range(12):
        totals[i // copies] += ds[i][2]
    expected = torch.tensor([1.0, 2.0, 0.0, 4.0]) * (copies if policy == "repeat" else 1)
    torch.testing.assert_close(totals, expected)
    assert len(calls) == 24  # transform saw x only, once per access


def test_augmented_pairs_get_unit_weight_and_split_sums_to_one():
    ds = AugmentedDataset(_base(2), lambda x: x, copies=4, weight_policy="split")
    assert sum(ds[i][2].item() for i in range(4)) == pytest.approx(1.0, abs=0)
    rep = AugmentedDataset(_base(2), lambda x: x, copies=4)
    assert {rep[i][2].item() for i in range(8)} == {1.0}
    assert rep[-1][1] == _base(2)[1][1]
    with pytest.raises(IndexError):
        rep[8]


def test_augmented_dataset_validation():
    with pytest.raises(ValueError, match="copies must be a positive integer; got 0"):
        AugmentedDataset(_base(), lambda x: x, copies=0)
    with pytest.raises(ValueError, match="weight_policy must be 'repeat' or 'split'; got 'x'"):
        AugmentedDataset(_base(), lambda x: x, copies=2, weight_policy="x")
