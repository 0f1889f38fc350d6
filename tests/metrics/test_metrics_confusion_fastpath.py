"""The multiclass fast path (1-D labels or ``(N, C)`` scores, ``(N,)`` weights) equals the
generic formatting path exactly, and falls back to it (and its errors) on anything else."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import weightwise
from weightwise import metrics as M
from weightwise.metrics.functional import _confusion as fc
from weightwise.metrics.functional._inputs import fast_multiclass_labels, format_labels

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


def _draw(seed: int, n: int, c: int, kind: str) -> tuple[torch.Tensor, ...]:
    rng = np.random.default_rng(seed)
    target = torch.as_tensor(rng.integers(0, c, n))
    if kind == "labels":
        preds = torch.as_tensor(rng.integers(0, c, n)).to(torch.int32)
    else:  # few distinct values: many ties; some NaN rows/entries
        scores = rng.integers(-2, 3, (n, c)).astype(np.float64)
        scores[rng.random((n, c)) < 0.05] = np.nan
        preds = torch.as_tensor(scores).to(torch.float32 if kind == "f32" else torch.float64)
    weight = torch.as_tensor(rng.choice([0.0, 0.5, 1.0, 2.5], n))
    return preds, target, weight


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 60),
    c=st.integers(2, 12),
    kind=st.sampled_from(["labels", "f32", "f64"]),
    weighted=st.booleans(),
)
def test_fast_path_equals_generic(seed: int, n: int, c: int, kind: str, weighted: bool) -> None:
    preds, target, weight = _draw(seed, n, c, kind)
    w = weight if weighted else None
    fast = fast_multiclass_labels(preds, target, w, c)
    assert fast is not None
    f = format_labels(preds, target, w, task="multiclass", num_classes=c)
    assert torch.equal(fast[0], f.preds) and torch.equal(fast[1], f.target)
    assert (fast[2] is None) == (f.weight is None)
    if fast[2] is not None:
        assert f.weight is not None and torch.equal(fast[2], f.weight)


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1), c=st.integers(2, 12), kind=st.sampled_from(["labels", "f64"])
)
def test_streaming_metrics_fast_equals_generic(seed: int, c: int, kind: str) -> None:
    batches = [_draw(seed + i, 7 + 5 * i, c, kind) for i in range(4)]

    def run(cls: type, monkey: pytest.MonkeyPatch | None) -> list[torch.Tensor]:
        out = []
        for avg in ("micro", "macro", "weighted", "none"):
            m = cls("multiclass", num_classes=c, average=avg)
            for p, t, w in batches:
                m.update(p, t, w)
            out.append(m.compute())
        return out

    for cls in (M.Accuracy, M.F1Score, M.Precision, M.JaccardIndex, M.Specificity):
        fast = run(cls, None)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(fc, "fast_multiclass_labels", lambda *a: None)
            generic = run(cls, mp)
        for a, b in zip(fast, generic, strict=True):
            assert torch.equal(a, b) or (a.isnan().all() and b.isnan().all())
    cm = M.ConfusionMatrix("multiclass", num_classes=c)
    for p, t, w in batches:
        cm.update(p, t, w)
    full = [torch.cat(x) for x in zip(*batches, strict=True)]
    ref = fc.multiclass_confmat_update(*full, num_classes=c, ignore_index=None)
    torch.testing.assert_close(cm.compute(), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("change", "name"),
    [
        (lambda p, t, w: (p, t, torch.where(torch.arange(len(w)) == 3, -1.0, w)), "sample_weight"),
        (
            lambda p, t, w: (p, t, torch.where(torch.arange(len(w)) == 2, np.nan, w)),
            "sample_weight",
        ),
        (
            lambda p, t, w: (p, t, torch.where(torch.arange(len(w)) == 2, np.inf, w)),
            "sample_weight",
        ),
        (lambda p, t, w: (p, torch.where(torch.arange(len(t)) == 1, 5, t), w), "target"),
        (lambda p, t, w: (p, torch.where(torch.arange(len(t)) == 1, -1, t), w), "target"),
        (lambda p, t, w: (torch.where(torch.arange(len(p)) == 0, 5, p), t, w), "preds"),
    ],
)
def test_bad_values_fall_back_and_raise(change: object, name: str) -> None:
    p, t, w = change(*_draw(0, 10, 3, "labels"))  # type: ignore[operator]
    assert fast_multiclass_labels(p, t, w, 3) is None
    m = M.JaccardIndex("multiclass", num_classes=3)
    with pytest.raises(ValueError, match=name):
        m.update(p, t, w)
    assert torch.equal(m.confmat, torch.zeros(3, 3, dtype=torch.float64))


def test_other_inputs_take_the_generic_path() -> None:
    p, t, w = _draw(1, 10, 3, "f64")
    assert fast_multiclass_labels(p, t, w.reshape(10, 1), 3) is None  # 2-D weight
    assert fast_multiclass_labels(p, t, 2.0, 3) is None  # scalar weight
    assert fast_multiclass_labels(p.numpy(), t, w, 3) is None  # not a tensor
    assert fast_multiclass_labels(p, t.double(), w, 3) is None  # floating target
    assert fast_multiclass_labels(p[:, :2], t, w, 3) is None  # wrong class count
    m = M.Accuracy("multiclass", num_classes=3)
    m.update(p.numpy(), t.numpy(), 2.0)
    ref = M.Accuracy("multiclass", num_classes=3)
    ref.update(p, t)
    assert torch.equal(m.compute(), ref.compute())


def test_checks_off_gives_the_same_counts() -> None:
    p, t, w = _draw(2, 50, 4, "f32")
    on = M.F1Score("multiclass", num_classes=4)
    on.update(p, t, w)
    with weightwise.no_checks():
        off = M.F1Score("multiclass", num_classes=4)
        off.update(p, t, w)
    assert torch.equal(on.confmat, off.confmat)
