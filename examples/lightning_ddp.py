"""weightwise in a LightningModule trained with ``Trainer(strategy="ddp")`` on 2 CPU processes.

What it shows:

- the loss is ``weightwise.losses.cross_entropy(..., sync=True)``: each rank returns
  ``W · Σ_local ω·L / D_global``, so DDP's averaged gradient is the global-batch gradient, and
  ``self.log(..., sync_dist=True)`` (a mean over ranks) logs the global batch loss;
- training batches come from a ``ClassBalancedSampler`` (square-root sampling) that shards one
  global draw across ranks. ``Trainer(use_distributed_sampler=False)`` stops Lightning from
  replacing it with its own ``DistributedSampler``;
- validation uses ``DistributedEvalSampler``: the padding that evens out the ranks' shares gets
  sample weight 0, so the synced weighted metrics equal the 1-process values exactly;
- weightwise metrics (torchmetrics ``Metric`` objects) are logged weighted and unweighted;
  Lightning syncs their states across ranks when it computes them at the end of the epoch.

Run it: ``python examples/lightning_ddp.py [--out DIR] [--epochs N]``. Lightning starts the
second process itself. Rank 0 writes ``DIR/metrics.json`` (the logged values, and the same
metrics computed by one process on the whole validation set) and the CSV log under ``DIR``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import CSVLogger
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import weightwise
from weightwise.data import ClassBalancedSampler, DistributedEvalSampler
from weightwise.losses import cross_entropy
from weightwise.metrics import Accuracy, BalancedAccuracy
from weightwise.metrics import functional as MF

NUM_CLASSES = 3


def make_data(seed: int = 0) -> dict[str, torch.Tensor]:
    """Tiny imbalanced 3-class data (class sizes 6:3:1) with sample weights in [0.5, 1.5)."""
    rng = np.random.default_rng(seed)

    def split(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        y = rng.choice(NUM_CLASSES, size=n, p=[0.6, 0.3, 0.1])
        x = rng.normal(size=(n, 8)) + np.eye(NUM_CLASSES, 8)[y] * 1.5
        w = rng.uniform(0.5, 1.5, size=n)
        return (
            torch.tensor(x, dtype=torch.float32),
            torch.tensor(y, dtype=torch.long),
            torch.tensor(w, dtype=torch.float32),
        )

    xtr, ytr, wtr = split(240)
    xva, yva, wva = split(101)  # odd: the ranks' shares need one padding item
    return {"xtr": xtr, "ytr": ytr, "wtr": wtr, "xva": xva, "yva": yva, "wva": wva}


class Classifier(L.LightningModule):
    def __init__(self, data: dict[str, torch.Tensor], batch_size: int = 32) -> None:
        super().__init__()
        self.data = data
        self.batch_size = batch_size
        self.net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, NUM_CLASSES))
        # Class weights from counts, as a user with a large dataset would pass them.
        counts = np.bincount(data["ytr"].numpy(), minlength=NUM_CLASSES)
        cw = weightwise.class_weights(counts=counts, scheme="inverse_sqrt")
        self.register_buffer("class_weight", torch.tensor(cw, dtype=torch.float32))
        kw = {"num_classes": NUM_CLASSES}
        self.val_bacc = BalancedAccuracy("multiclass", **kw)
        self.val_bacc_weighted = BalancedAccuracy("multiclass", **kw)
        self.val_acc = Accuracy("multiclass", **kw)
        self.val_acc_weighted = Accuracy("multiclass", **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    # -- data: weightwise samplers, sharded by rank ------------------------------------------
    def train_dataloader(self) -> DataLoader:
        d = self.data
        # Square-root sampling; the class weights on the loss are inverse_sqrt, so together
        # they balance once (√ · 1/√), not twice.
        sampler = ClassBalancedSampler(
            d["ytr"],
            power=0.5,
            seed=0,
            rank=self.global_rank,
            world_size=self.trainer.world_size,
        )
        dataset = TensorDataset(d["xtr"], d["ytr"], d["wtr"])
        # batch_size is per rank: the global batch is batch_size · W.
        return DataLoader(dataset, batch_size=self.batch_size, sampler=sampler)

    def val_dataloader(self) -> DataLoader:
        d = self.data
        sampler = DistributedEvalSampler(
            len(d["yva"]), rank=self.global_rank, world_size=self.trainer.world_size
        )
        idx = torch.tensor(list(sampler))
        pad = sampler.padding_weights()  # 1 for real items, 0 for the padding duplicates
        # This rank's share, in order, with its padding weighted 0 (weighted and unweighted).
        dataset = TensorDataset(d["xva"][idx], d["yva"][idx], d["wva"][idx] * pad, pad)
        return DataLoader(dataset, batch_size=self.batch_size, shuffle=False)

    # -- steps ---------------------------------------------------------------------------------
    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y, w = batch
        loss = cross_entropy(self(x), y, sample_weight=w, class_weight=self.class_weight, sync=True)
        # A rank's synced value is not the global loss; the mean over ranks is.
        self.log("train/loss", loss.detach(), on_step=True, on_epoch=True, sync_dist=True)
        return loss

    def validation_step(self, batch: list[torch.Tensor], batch_idx: int) -> None:
        x, y, w, pad = batch
        pred = self(x).argmax(dim=1)
        self.val_bacc.update(pred, y, sample_weight=pad)
        self.val_acc.update(pred, y, sample_weight=pad)
        self.val_bacc_weighted.update(pred, y, sample_weight=w)
        self.val_acc_weighted.update(pred, y, sample_weight=w)
        # Logging the Metric objects: Lightning calls compute() at epoch end, which syncs the
        # float64 states across ranks by addition.
        self.log("val/balanced_accuracy", self.val_bacc, on_epoch=True)
        self.log("val/accuracy", self.val_acc, on_epoch=True)
        self.log("val/weighted_balanced_accuracy", self.val_bacc_weighted, on_epoch=True)
        self.log("val/weighted_accuracy", self.val_acc_weighted, on_epoch=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=1e-2)


def one_process_reference(model: Classifier, data: dict[str, torch.Tensor]) -> dict[str, float]:
    """The validation metrics computed in one process on the whole set (the oracle)."""
    with torch.no_grad():
        pred = model(data["xva"]).argmax(dim=1)
    kw = {"task": "multiclass", "num_classes": NUM_CLASSES}
    y, w = data["yva"], data["wva"]
    return {
        "val/balanced_accuracy": float(MF.balanced_accuracy(pred, y, **kw)),
        "val/accuracy": float(MF.accuracy(pred, y, **kw)),
        "val/weighted_balanced_accuracy": float(
            MF.balanced_accuracy(pred, y, sample_weight=w, **kw)
        ),
        "val/weighted_accuracy": float(MF.accuracy(pred, y, sample_weight=w, **kw)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("lightning_ddp_out"))
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(1)
    L.seed_everything(0, verbose=False)
    data = make_data()
    model = Classifier(data)
    trainer = L.Trainer(
        strategy="ddp",
        accelerator="cpu",
        devices=2,
        max_epochs=args.epochs,
        use_distributed_sampler=False,  # keep the weightwise samplers' own rank shards
        num_sanity_val_steps=0,
        logger=CSVLogger(save_dir=str(args.out), name="lightning_ddp"),
        log_every_n_steps=1,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model)
    if trainer.is_global_zero:
        logged = {k: float(v) for k, v in trainer.callback_metrics.items()}
        reference = one_process_reference(model, data)
        args.out.mkdir(parents=True, exist_ok=True)
        report = {
            "world_size": trainer.world_size,
            "logged": logged,
            "one_process": reference,
            "csv_log": str(Path(str(trainer.logger.log_dir)) / "metrics.csv"),  # type: ignore[union-attr]
        }
        (args.out / "metrics.json").write_text(json.dumps(report, indent=2))
        for name, value in reference.items():
            print(f"{name:34s} logged {logged[name]:.6f}   one process {value:.6f}")
    # Leave without interpreter teardown: gloo's background threads can abort it.
    trainer.strategy.barrier()
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    os._exit(0)


if __name__ == "__main__":
    main()
