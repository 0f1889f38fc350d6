"""sync=True for the imbalance losses: with 2 gloo ranks on uneven shards, each rank's gradient
divided by the world size (DDP's average) equals the gradient of the same loss computed on the
global batch in one process, and the mean of the ranks' values is the global loss."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ddp_util import run_ddp_workers

CASES = ("focal", "binary_focal", "any_of", "ldam", "asymmetric", "logit_adjusted")
REDUCTIONS = ("mean", "weighted_mean", "nonzero_mean", "sum")
N, C = 10, 4
SHARDS = [(0, 3), (3, 10)]


def batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, C, generator=g, dtype=torch.float64) * 2
    w = torch.rand(N, generator=g, dtype=torch.float64) * 2
    w[1] = 0.0
    y = torch.randint(0, C, (N,), generator=g)
    y[6] = -1  # ignored (focal)
    multi = (torch.rand(N, C, generator=g) > 0.6).double()
    sets = multi.bool() | torch.eye(C, dtype=torch.bool)[y.clamp(min=0)]
    return {"x": x, "w": w, "y": y, "multi": multi, "sets": sets}


def loss_fn(case, x, b, reduction, *, sync):
    from weightwise import losses

    cw = torch.tensor([1.0, 3.0, 0.5, 2.0], dtype=torch.float64)
    counts = [40.0, 10.0, 4.0, 1.0]
    kw = {"sample_weight": b["w"], "reduction": reduction, "sync": sync}
    yc = b["y"].clamp(min=0)
    if case == "focal":
        return losses.focal_loss(x, b["y"], alpha=cw, ignore_index=-1, **kw)
    if case == "binary_focal":
        return losses.binary_focal_loss(x, b["multi"], pos_weight=cw, **kw)
    if case == "any_of":
        return losses.any_of_cross_entropy(x, b["sets"], **kw)
    if case == "ldam":
        return losses.ldam_loss(x, yc, counts=counts, class_weight=cw, scale=5.0, **kw)
    if case == "asymmetric":
        return losses.asymmetric_loss(x, b["multi"], neg_weight=cw, **kw)
    return losses.logit_adjusted_cross_entropy(x, yc, counts=counts, class_weight=cw, **kw)


@pytest.fixture(scope="module")
def ddp_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = tmp_path_factory.mktemp("imbalance_ddp")
    run_ddp_workers(Path(__file__).resolve().parent / "imbalance_ddp_worker.py", out, world=2)
    return [torch.load(out / f"rank{r}.pt") for r in range(2)]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_sync_gradient_equals_global_batch(ddp_results, case, reduction):
    b = batch()
    x = b["x"].clone().requires_grad_(True)
    loss = loss_fn(case, x, b, reduction, sync=False)
    loss.backward()
    grads = torch.cat([ddp_results[r][(case, reduction)][0] for r in range(2)])
    torch.testing.assert_close(grads, x.grad, rtol=1e-10, atol=1e-12)
    for r in range(2):
        torch.testing.assert_close(
            ddp_results[r][(case, reduction)][1], loss.detach(), rtol=1e-10, atol=1e-12
        )
