"""A tiny task model for the engine's tests: a GRU regressor on synthetic sequences.

The target is the running mean of the first input feature at the last step, which a GRU learns in a few
epochs. ``validation_metrics`` reports the MSE as "loss" and, when a script of scores is given, a
"score" the test controls epoch by epoch (to drive early stopping and best-checkpoint selection).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from seqlab.recurrent import Recurrent

D, H, T = 3, 8, 5


@dataclass(frozen=True)
class ToyBatch:
    """A frozen dataclass batch, to check the engine moves such batches to the device."""

    x: Tensor  # (B, T, D)
    y: Tensor  # (B,)


class ToyData(Dataset):
    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, T, D, generator=g)  # (N, T, D)
        self.y = self.x[:, :, 0].mean(dim=1)  # (N,)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        return self.x[i], self.y[i]


def collate(items: list[tuple[Tensor, Tensor]]) -> ToyBatch:
    xs, ys = zip(*items)
    return ToyBatch(torch.stack(xs), torch.stack(ys))


def loaders(
    n_train: int = 32, n_val: int = 16, batch_size: int = 8, *, shuffle: bool = True
) -> tuple[DataLoader, DataLoader]:
    train = DataLoader(ToyData(n_train, seed=1), batch_size=batch_size, shuffle=shuffle, collate_fn=collate)
    val = DataLoader(ToyData(n_val, seed=2), batch_size=batch_size, shuffle=False, collate_fn=collate)
    return train, val


class ToyRegressor(nn.Module):
    """GRU → dropout → linear on the last step; MSE loss (a mean, as DDP equivalence needs).

    Args:
        dropout: on the GRU output (exercises the RNG state across a resume).
        loss_scale: multiplies the loss, to make gradients large (clipping tests).
        scores: a scripted "score" per epoch for validation_metrics (epoch k → scores[k]).
        batches_per_epoch: needed with ``scores`` to know the epoch from the training steps seen.
        val_sleep: seconds to sleep per validation (lets a test kill a run between checkpoints).
    """

    def __init__(
        self,
        *,
        dropout: float = 0.0,
        loss_scale: float = 1.0,
        scores: list[float] | None = None,
        batches_per_epoch: int = 1,
        val_sleep: float = 0.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.rnn = Recurrent("gru", D, H)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(H, 1)
        self.loss_scale = loss_scale
        self.scores = scores
        self.batches_per_epoch = batches_per_epoch
        self.val_sleep = val_sleep
        self.train_steps = 0  # training_loss calls, to tell epochs apart and count work done
        self.snapshots: dict[int, dict[str, Tensor]] = {}  # epoch → weights at its validation

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.rnn(x)  # (B, T, H)
        return self.head(self.dropout(out[:, -1])).squeeze(-1)  # (B,)

    def training_loss(self, batch: ToyBatch) -> Tensor:
        self.train_steps += 1
        return self.loss_scale * nn.functional.mse_loss(self(batch.x), batch.y)

    def validation_outputs(self, batch: ToyBatch) -> tuple[Tensor, Tensor]:
        return self(batch.x).cpu(), batch.y.cpu()

    def validation_metrics(self, outputs: list[tuple[Tensor, Tensor]]) -> dict[str, float]:
        pred = torch.cat([p for p, _ in outputs])
        gold = torch.cat([g for _, g in outputs])
        metrics = {"loss": float(nn.functional.mse_loss(pred, gold))}
        epoch = self.train_steps // self.batches_per_epoch - 1  # -1 during the sanity check
        if epoch >= 0:
            self.snapshots[epoch] = {k: v.detach().clone() for k, v in self.state_dict().items()}
        if self.scores is not None:
            metrics["score"] = self.scores[max(epoch, 0)]
        if self.val_sleep and epoch >= 0:
            time.sleep(self.val_sleep)
        return metrics


def resume_case(
    out_dir: str, *, val_sleep: float = 0.0
) -> tuple[ToyRegressor, DataLoader, DataLoader, object]:
    """The run the resume test interrupts: shuffling, dropout, Adam, warm-up + decay, early stopping on.

    Everything that draws random numbers or carries state across epochs is switched on, so a resume
    that lost any of it would end with different weights.
    """
    from seqlab.training import TrainConfig

    train, val = loaders(n_train=32, n_val=16, batch_size=8, shuffle=True)
    model = ToyRegressor(dropout=0.2, val_sleep=val_sleep, batches_per_epoch=len(train))
    config = TrainConfig(
        max_epochs=6,
        optimizer="adam",
        lr=0.02,
        schedule="linear",
        warmup_steps=3,
        patience=10,
        out_dir=out_dir,
        seed=7,
        progress_bar=False,
    )
    return model, train, val, config
