"""sync=True for the dense (set-level) losses under 2 gloo ranks on uneven shards (DECISIONS §1,
§5): DDP's averaged gradient equals the single-process gradient on the global batch.

With ``pooling="sample"`` the per-sample losses reduce as elements do, so the mean of the ranks'
values is the global loss. With ``pooling="batch"`` the pooled sums are all-reduced, so every
rank returns the global loss itself (and its gradient is scaled by the world size).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ddp_util import run_ddp_workers

N, CIN, C, H, W = 5, 2, 3, 4, 4
SHARDS = [(0, 2), (2, 5)]  # uneven: 2 and 3 samples
# case -> pooling; sample-pooled cases are run for every reduction in SAMPLE_REDUCTIONS.
SAMPLE_CASES = ("dice_pixel_map", "dice_sample_weight")
SAMPLE_REDUCTIONS = ("mean", "weighted_mean", "nonzero_mean", "sum")
BATCH_CASES = ("dice_batch", "tversky_batch", "gdice_batch", "dice_multilabel_batch")
KEYS = [(c, r) for c in SAMPLE_CASES for r in SAMPLE_REDUCTIONS] + [
    (c, "mean") for c in BATCH_CASES
]
# Batch pooling with reduction="none": the per-class losses (C,), summed for backward.
KEYS.append(("dice_batch_per_class", "none"))
BATCH_CASES = (*BATCH_CASES, "dice_batch_per_class")


def make_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Conv2d(CIN, C, kernel_size=1).double()


def batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(N, CIN, H, W, generator=g, dtype=torch.float64) * 2
    y = torch.randint(0, C, (N, H, W), generator=g)
    y[1] = torch.where(y[1] == 2, 0, y[1])  # class 2 empty in sample 1 (rank 0)
    pixel = torch.rand(N, H, W, generator=g, dtype=torch.float64) * 2
    pixel[3, :2] = 0.0  # zero-weight pixels on rank 1
    w = torch.rand(N, generator=g, dtype=torch.float64) * 2
    w[0] = 0.0  # a zero-weight sample on rank 0
    multi = (torch.rand(N, C, H, W, generator=g) > 0.6).double()
    return {"x": x, "y": y, "pixel": pixel, "w": w, "multi": multi}


def loss_fn(
    case: str, model: torch.nn.Module, b: dict[str, torch.Tensor], reduction: str, *, sync: bool
) -> torch.Tensor:
    from weightwise import losses

    logits = model(b["x"])
    cw = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    if case == "dice_pixel_map":
        return losses.dice_loss(
            logits,
            b["y"],
            sample_weight=b["pixel"],
            class_weight=cw,
            reduction=reduction,
            sync=sync,
        )
    if case == "dice_sample_weight":
        return losses.dice_loss(
            logits, b["y"], sample_weight=b["w"], class_weight=cw, reduction=reduction, sync=sync
        )
    if case == "dice_batch":
        return losses.dice_loss(
            logits, b["y"], sample_weight=b["w"], class_weight=cw, pooling="batch", sync=sync
        )
    if case == "dice_batch_per_class":
        per_class = losses.dice_loss(
            logits,
            b["y"],
            sample_weight=b["w"],
            pooling="batch",
            reduction="none",
            sync=sync,
        )
        assert per_class.shape == (C,)
        return per_class.sum()
    if case == "tversky_batch":
        return losses.tversky_loss(
            logits,
            b["y"],
            alpha=0.3,
            beta=0.7,
            sample_weight=b["pixel"],
            pooling="batch",
            sync=sync,
        )
    if case == "gdice_batch":
        return losses.generalized_dice_loss(
            logits, b["y"], sample_weight=b["w"], class_weight=cw, pooling="batch", sync=sync
        )
    assert case == "dice_multilabel_batch"
    return losses.dice_loss(
        logits,
        b["multi"],
        mode="multilabel",
        sample_weight=b["pixel"],
        pooling="batch",
        sync=sync,
    )


@pytest.fixture(scope="module")
def ddp_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = tmp_path_factory.mktemp("dense_ddp")
    run_ddp_workers(Path(__file__).resolve().parent / "dense_ddp_worker.py", out, world=2)
    return [torch.load(out / f"rank{r}.pt") for r in range(2)]


@pytest.mark.parametrize(("case", "reduction"), KEYS, ids=[f"{c}-{r}" for c, r in KEYS])
def test_sync_gradient_equals_global_batch(ddp_results, case, reduction):
    model = make_model()
    loss = loss_fn(case, model, batch(), reduction, sync=False)
    loss.backward()
    expected = [p.grad for p in model.parameters()]
    for rank_result in ddp_results:
        got = rank_result[(case, reduction)]
        for g, e in zip(got["grads"], expected, strict=True):
            torch.testing.assert_close(g, e, rtol=1e-6, atol=1e-9)
    values = torch.stack([r[(case, reduction)]["loss"] for r in ddp_results])
    # The mean over ranks of the returned values is the global-batch loss (DECISIONS §1).
    torch.testing.assert_close(values.mean(), loss.detach(), rtol=1e-6, atol=1e-9)
    if case in BATCH_CASES:  # batch pooling: every rank returns the global loss itself
        for v in values:
            torch.testing.assert_close(v, loss.detach(), rtol=1e-6, atol=1e-9)
