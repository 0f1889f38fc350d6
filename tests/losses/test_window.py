"""Window denominators: K micro-batches, each divided by the whole window's denominator, give
exactly the gradient of one batch K times the size (float64, 1e-6 relative), while dividing per
micro-batch does not. The 2-rank version is in test_window_ddp.py."""

from __future__ import annotations

import pytest
import torch
from window_cases import CASES, REDUCTIONS, grads, split

from weightwise.reduction import reduce_loss, window_denominator

BOUNDS = [(0, 4), (4, 8), (8, 12), (12, 16)]  # K = 4 micro-batches of the 16-example batch


def _oracle_grads(case, reduction):
    model = case.model()
    case.oracle(model, case.batch(), reduction).backward()
    return grads(model)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("fused", [False, True])
def test_window_equals_one_big_batch(name, reduction, fused):
    case = CASES[name]
    micro = split(case.batch(), BOUNDS)
    denom = window_denominator([case.weights(b, reduction) for b in micro], reduction=reduction)
    model = case.model()
    total = 0.0
    for b in micro:
        loss = case.loss(model, b, reduction, denom, False, fused)
        loss.backward()
        total += loss.item()
    expected = _oracle_grads(case, reduction)
    for g, e in zip(grads(model), expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-6, atol=1e-12)
    # The micro-batch values add up to the whole batch's loss.
    big = case.oracle(case.model(), case.batch(), reduction).item()
    assert total == pytest.approx(big, rel=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("reduction", ["mean", "weighted_mean", "nonzero_mean"])
def test_dividing_per_micro_batch_differs(name, reduction):
    # The pre-2024 Trainer behaviour: each micro-batch divides by its own denominator and the
    # K losses are averaged. With unequal denominators that is not the big batch's gradient.
    case = CASES[name]
    model = case.model()
    for b in split(case.batch(), BOUNDS):
        (case.loss(model, b, reduction, None, False) / len(BOUNDS)).backward()
    expected = _oracle_grads(case, reduction)
    pairs = zip(grads(model), expected, strict=True)
    diff = max(float((g - e).abs().max() / e.abs().max()) for g, e in pairs)
    if name == "binary_cross_entropy" and reduction == "mean":
        # Equal micro-batches with nothing ignored have equal counts N: then, and only then,
        # averaging per-micro-batch means is right.
        assert diff < 1e-12
    else:
        assert diff > 1e-2


def test_window_denominator_values():
    micro = [torch.tensor([1.0, 0.0, 2.5]), torch.tensor([[0.5, 0.0], [1.0, 1.0]])]
    assert window_denominator(micro).item() == 6.0
    assert window_denominator(micro, reduction="nonzero_mean").item() == 5.0
    masks = [torch.tensor([True, False, True]), torch.tensor([1.0, 1.0, 0.0])]
    assert window_denominator(masks, reduction="mean").item() == 4.0
    assert window_denominator(micro, reduction="sum").item() == 1.0
    one = window_denominator(torch.tensor([2.0, 3.0]))
    assert one.dim() == 0 and one.dtype == torch.float64 and not one.requires_grad
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    assert not window_denominator([w]).requires_grad


def test_window_denominator_errors():
    with pytest.raises(ValueError, match=r"weights\[1\] must be finite and non-negative"):
        window_denominator([torch.ones(2), torch.tensor([1.0, -1.0])])
    with pytest.raises(ValueError, match=r"weights\[0\] must be a 0/1 mask.*0\.5.*index 1"):
        window_denominator([torch.tensor([1.0, 0.5])], reduction="mean")
    with pytest.raises(ValueError, match="reduction='none' has no denominator"):
        window_denominator(torch.ones(2), reduction="none")
    with pytest.raises(ValueError, match="reduction must be one of"):
        window_denominator(torch.ones(2), reduction="avg")
    with pytest.raises(ValueError, match="at least one tensor"):
        window_denominator([])


@pytest.mark.parametrize("reduction", ["mean", "weighted_mean", "nonzero_mean"])
def test_reduce_loss_denominator_replaces_each_mean(reduction):
    L = torch.tensor([1.0, 2.0, 3.0, 4.0])
    w = torch.tensor([1.0, 0.0, 1.0, 2.0])
    assert reduce_loss(L, w, reduction=reduction, denominator=8.0).item() == 12.0 / 8.0
    assert reduce_loss(L, reduction=reduction, denominator=5.0).item() == 10.0 / 5.0


def test_zero_window_denominator_gives_zero_without_nan():
    x = torch.randn(3, 2, requires_grad=True)
    from weightwise.losses import cross_entropy

    loss = cross_entropy(
        x,
        torch.tensor([0, 1, 1]),
        sample_weight=torch.zeros(3),
        reduction="weighted_mean",
        denominator=window_denominator(torch.zeros(3)),
    )
    loss.backward()
    assert loss.item() == 0.0 and torch.equal(x.grad, torch.zeros(3, 2))


def test_scaling_doc_recipe_runs_and_equals_one_batch():
    import re
    from pathlib import Path

    import torch.nn.functional as F

    text = (Path(__file__).resolve().parents[2] / "docs" / "scaling.md").read_text()
    section = text.split("## Gradient accumulation: one denominator")[1].split("\n## ")[0]
    code = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    ns: dict = {}
    exec(compile(code, "docs/scaling.md", "exec"), ns)
    # The same SGD step on the concatenated batch, composed from F.cross_entropy.
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 3)
    x = torch.cat([b[0] for b in ns["window"]])
    y = torch.cat([b[1] for b in ns["window"]])
    s = torch.cat([b[2] for b in ns["window"]])
    cw = ns["cw"]
    per = F.cross_entropy(model(x), y, weight=cw, reduction="none")
    ((per * s).sum() / (s * cw[y]).sum()).backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    for p, q in zip(ns["model"].parameters(), model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_module_twins_take_the_window_denominator():
    from weightwise.losses import binary_cross_entropy, cross_entropy
    from weightwise.nn import BCEWithLogitsLoss, CrossEntropyLoss

    x = torch.randn(5, 3, dtype=torch.float64)
    y = torch.tensor([0, 2, 1, 1, 0])
    s = torch.rand(5, dtype=torch.float64)
    ce = CrossEntropyLoss(reduction="weighted_mean")
    torch.testing.assert_close(
        ce(x, y, s, denominator=7.0),
        cross_entropy(x, y, sample_weight=s, reduction="weighted_mean", denominator=7.0),
    )
    t = (torch.rand(5, 3) > 0.5).double()
    bce = BCEWithLogitsLoss(reduction="mean")
    torch.testing.assert_close(
        bce(x, t, denominator=4.0), binary_cross_entropy(x, t, denominator=4.0)
    )
    torch.testing.assert_close(bce(x, t), binary_cross_entropy(x, t))
