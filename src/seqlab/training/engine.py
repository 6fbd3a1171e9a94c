"""The training engine every task reuses: ``fit(model, train_loader, val_loader, config)``.

Lightning does the work underneath; task models never see it. They are plain ``nn.Module``s that
implement the three methods of :class:`~seqlab.training.protocol.TaskModel`, and ``fit`` wraps them in
a private ``LightningModule``. What a run gets:

- an optimizer ("adam", "adamw", "sgd") and a learning-rate schedule (constant, linear warm-up + decay,
  cosine, or reduce-on-plateau; see :mod:`seqlab.training.schedules`);
- gradient clipping by total norm, 1.0 by default (the chapter's tip against exploding gradients);
- validation after every epoch (or every ``val_check_interval``), early stopping on a validation
  metric, the best checkpoint kept (``out_dir/checkpoints/best-epoch=NNN.ckpt``) next to
  ``out_dir/checkpoints/last.ckpt``; after ``fit`` the model holds the best checkpoint's weights;
- logs: CSV always (``out_dir/logs/version_N/metrics.csv``), TensorBoard as well
  (``out_dir/tensorboard/``) when the ``tensorboard`` or ``tensorboardX`` package is installed — it is
  an optional extra, so without it the run logs CSV only; a progress bar unless ``progress_bar=False``;
- seeding of Python, NumPy and torch (and of DataLoader workers) with ``lightning.seed_everything``;
- resumption: ``fit(..., resume=True)`` continues an interrupted run from ``out_dir/checkpoints/last.ckpt``
  — epoch counter, weights, optimizer and scheduler state, early-stopping and best-checkpoint
  bookkeeping, the history, and the random number generators — so the resumed run ends with exactly the
  weights an uninterrupted one would have had (resuming from an end-of-epoch checkpoint, which is what
  ``last.ckpt`` is unless ``val_check_interval`` < 1; a "plateau" schedule skips the one scheduler
  update of the interrupted epoch, a limitation of Lightning).

Training on several GPUs or machines
------------------------------------
The same ``fit`` call trains data-parallel with PyTorch DDP: every process holds a full copy of the model
and sees its own shard of each epoch, gradients are averaged across processes after every backward pass,
so with a mean loss the update equals one process on the global batch
(per-process batch size × number of processes — scale the learning rate or the batch size accordingly).
On one machine with N GPUs::

    fit(model, train_loader, val_loader,
        TrainConfig(accelerator="gpu", devices=N, strategy="ddp", out_dir="runs/ner"))

and run the script as usual (``python train.py``): Lightning starts the other N − 1 processes itself by
re-running the script, so keep the training code under ``if __name__ == "__main__":``. On M machines
with N GPUs each, set ``devices=N, num_nodes=M`` and start the script once per machine with a launcher
that sets the rendezvous variables, e.g. ``torchrun``::

    torchrun --nnodes=M --nproc-per-node=N --node-rank=<0…M-1> \\
             --master-addr=<host of node 0> --master-port=29500 train.py

or, under SLURM, an ``sbatch`` script with ``#SBATCH --nodes=M`` and ``#SBATCH --ntasks-per-node=N``
(plus ``--gpus-per-node=N``) whose last line is ``srun python train.py`` — Lightning reads the SLURM
variables itself. ``out_dir`` must be on a file system all machines share (checkpoints are written by
the first process and read back by all). Use ``strategy="ddp_find_unused_parameters_true"`` if some
parameters get no gradient in a step. CPU-only machines can do the same with ``accelerator="cpu"`` (the
gloo backend), which is how the tests check it. In DDP each process's validation outputs are gathered
before ``validation_metrics`` is called; the validation sampler pads its shards to equal length by
repeating up to (number of processes − 1) examples, so make the validation set size divisible by the
number of processes when exact figures matter (or evaluate in one process after training).

Sharding. With a plain DataLoader, Lightning replaces its sampler by a ``DistributedSampler`` — which
*always shuffles* the training data (by ``seed`` + epoch, the same permutation in every process, each
taking every N-th example), whatever the loader's own ``shuffle`` said. A DataLoader whose batch sampler
is rank-aware (has ``num_replicas`` and ``rank`` attributes, like ``seqlab.data.BucketBatchSampler``) is
left alone instead: ``fit`` sets those two attributes in each process and the sampler shards itself,
keeping its own shuffling choice; then both loaders must be of that kind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import logging
import math
import os
import random
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.fabric.utilities.apply_func import move_data_to_device
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger
from lightning.pytorch.strategies import StrategyRegistry
from torch import Tensor, nn
from torch.utils.data import DataLoader

from .protocol import TASK_MODEL_METHODS
from .schedules import SCHEDULES, lr_factor

__all__ = ["OPTIMIZERS", "TrainConfig", "TrainResult", "default_mode", "fit"]

logger = logging.getLogger(__name__)

OPTIMIZERS = ("adam", "adamw", "sgd")
MODES = ("max", "min")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")
PRECISIONS = ("32-true", "64-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true")
CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.ckpt"

# Lightning warnings that ``fit`` silences, and why each is harmless here:
_HARMLESS_WARNINGS = (
    # The task owns its DataLoader; seqlab's datasets are in-memory tensors, for which worker processes
    # are usually slower than the main process on the CPUs this project targets.
    r".*does not have many workers which may be a bottleneck.*",
    # Small data sets have fewer batches per epoch than log_every_n_steps; epoch-level logs still happen.
    r".*The number of training batches \(\d+\) is smaller than the logging interval.*",
    # Lightning 2.6 builds ``torch.utils._pytree.LeafSpec()``, which torch ≥ 2.10 deprecates (FutureWarning);
    # internal to Lightning, no effect on training.
    r".*LeafSpec.*is deprecated.*",
)
# Only when resuming: the checkpoint directory is not empty because it holds the run being resumed.
_RESUME_WARNINGS = (r".*Checkpoint directory .* exists and is not empty.*",)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_choice(name: str, value: Any, known: tuple[str, ...]) -> None:
    if value not in known:
        raise ValueError(f"TrainConfig: unknown {name} {value!r}; known: {', '.join(known)}")


def _check_int(name: str, value: Any, low: int) -> None:
    if not _is_int(value) or value < low:
        raise ValueError(f"TrainConfig: expected {name} to be an integer ≥ {low}, got {value!r}")


@dataclass(frozen=True)
class TrainConfig:
    """How to train: optimizer, schedule, clipping, early stopping, checkpoints, hardware.

    Args:
        max_epochs: passes over the training data (fewer if early stopping fires).
        max_minutes: stop after this much wall-clock training time (validating and checkpointing at the
            stop, so the best model so far is kept); None: no time limit. For equal-budget comparisons.
        optimizer: "adam", "adamw" or "sgd".
        lr: base learning rate.
        weight_decay: L2 penalty (Adam, SGD) or decoupled weight decay (AdamW), on every parameter.
        momentum: SGD momentum; must stay 0 for Adam and AdamW.
        schedule: "constant", "linear" (warm-up then linear decay to 0), "cosine" (warm-up then cosine
            decay), "wsd" (warm-up, constant, then linear decay to 0 over the last ``cooldown_fraction``
            of the steps) or "plateau" (multiply by ``plateau_factor`` after ``plateau_patience``
            validations without improvement of ``monitor``); see :mod:`seqlab.training.schedules`.
        warmup_steps: optimizer steps of linear warm-up (not with "plateau").
        cooldown_fraction: the "wsd" schedule's decay, as a fraction of the steps after warm-up.
        plateau_factor, plateau_patience: the "plateau" schedule's settings.
        grad_clip_norm: clip the total gradient norm to this value before each update; None: no clipping.
        monitor: name of a figure returned by the task's ``validation_metrics`` (logged as
            ``val_<monitor>``) that decides the best checkpoint, early stopping and "plateau". None: the
            task's own measure, its ``default_monitor`` attribute (F1 for a tagger, accuracy for a
            classifier), or "loss" for a task that names none.
        mode: "max" if a larger ``monitor`` is better (F1, accuracy), "min" if smaller is (loss). None:
            "min" for a monitor named like a loss or an error rate (``loss``, ``*_loss``, ``*error*``,
            ``wer``, ``per``, ``cer``, ``mae``, ``rmse``, ``mase``, ``smape``, ``nll``, ``ppl``, ``bpc``),
            else "max".
        patience: stop after this many validations without improvement; None: no early stopping.
        min_delta: smallest change of ``monitor`` that counts as an improvement.
        out_dir: checkpoints (``out_dir/checkpoints``) and logs (``out_dir/logs``, ``out_dir/tensorboard``).
        seed: seeds Python, NumPy, torch and DataLoader workers.
        accelerator, devices, strategy, num_nodes, precision: passed to ``lightning.Trainer``
            (e.g. "gpu", 4, "ddp", 2, "bf16-mixed"); see the module docstring for multi-GPU runs.
        log_every_n_steps: how often step-level figures (training loss, learning rate) are logged.
        progress_bar: show Lightning's progress bar.
        val_check_interval: validate every epoch (1.0), at fractions of an epoch (e.g. 0.25), or every
            so many training batches (an int).
        accumulate_grad_batches: batches whose gradients are summed before each optimizer step.
    """

    max_epochs: int = 10
    max_minutes: float | None = None
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.0
    schedule: str = "constant"
    warmup_steps: int = 0
    cooldown_fraction: float = 0.2
    plateau_factor: float = 0.5
    plateau_patience: int = 2
    grad_clip_norm: float | None = 1.0
    monitor: str | None = None
    mode: str | None = None
    patience: int | None = None
    min_delta: float = 0.0
    out_dir: Path = Path("runs")
    seed: int = 0
    accelerator: str = "auto"
    devices: int | str | tuple[int, ...] = 1
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"
    log_every_n_steps: int = 50
    progress_bar: bool = True
    val_check_interval: float | int = 1.0
    accumulate_grad_batches: int = 1

    def __post_init__(self) -> None:
        _check_int("max_epochs", self.max_epochs, 1)
        if self.max_minutes is not None and (not _is_number(self.max_minutes) or self.max_minutes <= 0):
            raise ValueError(
                "TrainConfig: expected max_minutes to be a number > 0 or None (no limit), "
                f"got {self.max_minutes!r}"
            )
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        if not _is_number(self.lr) or self.lr <= 0:
            raise ValueError(f"TrainConfig: expected lr to be a number > 0, got {self.lr!r}")
        if not _is_number(self.weight_decay) or self.weight_decay < 0:
            raise ValueError(
                f"TrainConfig: expected weight_decay to be a number ≥ 0, got {self.weight_decay!r}"
            )
        if not _is_number(self.momentum) or not 0 <= self.momentum < 1:
            raise ValueError(f"TrainConfig: expected momentum in [0, 1), got {self.momentum!r}")
        if self.momentum and self.optimizer != "sgd":
            raise ValueError(
                f"TrainConfig: momentum={self.momentum} applies to optimizer 'sgd' only, got optimizer "
                f"{self.optimizer!r}; set momentum=0 or optimizer='sgd'"
            )
        _check_choice("schedule", self.schedule, SCHEDULES)
        _check_int("warmup_steps", self.warmup_steps, 0)
        if self.schedule == "plateau" and self.warmup_steps:
            raise ValueError(
                f"TrainConfig: schedule 'plateau' has no warm-up, got warmup_steps={self.warmup_steps}; "
                "set warmup_steps=0 or use 'constant', 'linear', 'cosine' or 'wsd'"
            )
        if not _is_number(self.cooldown_fraction) or not 0 < self.cooldown_fraction <= 1:
            raise ValueError(
                f"TrainConfig: expected cooldown_fraction in (0, 1], got {self.cooldown_fraction!r}"
            )
        if not _is_number(self.plateau_factor) or not 0 < self.plateau_factor < 1:
            raise ValueError(f"TrainConfig: expected plateau_factor in (0, 1), got {self.plateau_factor!r}")
        _check_int("plateau_patience", self.plateau_patience, 0)
        if self.grad_clip_norm is not None and (
            not _is_number(self.grad_clip_norm) or self.grad_clip_norm <= 0
        ):
            raise ValueError(
                f"TrainConfig: expected grad_clip_norm to be a number > 0 or None (no clipping), "
                f"got {self.grad_clip_norm!r}"
            )
        if self.monitor is not None and (not isinstance(self.monitor, str) or not self.monitor):
            raise ValueError(
                f"TrainConfig: expected monitor to be the name of a validation metric (e.g. 'f1') or None "
                f"(the task's own), got {self.monitor!r}"
            )
        if self.mode is not None:
            _check_choice("mode", self.mode, MODES)
        if self.patience is not None:
            _check_int("patience", self.patience, 0)
        if not _is_number(self.min_delta) or self.min_delta < 0:
            raise ValueError(f"TrainConfig: expected min_delta to be a number ≥ 0, got {self.min_delta!r}")
        if not isinstance(self.out_dir, (str, os.PathLike)):
            raise ValueError(f"TrainConfig: expected out_dir to be a path, got {self.out_dir!r}")
        object.__setattr__(self, "out_dir", Path(self.out_dir))
        _check_int("seed", self.seed, 0)
        _check_choice("accelerator", self.accelerator, ACCELERATORS)
        self._check_devices()
        strategies = ("auto", *StrategyRegistry.available_strategies())
        _check_choice("strategy", self.strategy, strategies)
        _check_int("num_nodes", self.num_nodes, 1)
        _check_choice("precision", self.precision, PRECISIONS)
        _check_int("log_every_n_steps", self.log_every_n_steps, 1)
        if not isinstance(self.progress_bar, bool):
            raise ValueError(
                f"TrainConfig: expected progress_bar to be True or False, got {self.progress_bar!r}"
            )
        interval = self.val_check_interval
        if not ((_is_int(interval) and interval >= 1) or (isinstance(interval, float) and 0 < interval <= 1)):
            raise ValueError(
                "TrainConfig: expected val_check_interval to be a fraction of an epoch in (0, 1] (a float) "
                f"or a number of training batches ≥ 1 (an int), got {interval!r}"
            )
        _check_int("accumulate_grad_batches", self.accumulate_grad_batches, 1)

    def _check_devices(self) -> None:
        devices = self.devices
        if isinstance(devices, list):
            devices = tuple(devices)
            object.__setattr__(self, "devices", devices)
        ok = (
            devices == "auto"
            or (_is_int(devices) and devices >= 1)
            or (
                isinstance(devices, tuple)
                and len(devices) > 0
                and all(_is_int(d) and d >= 0 for d in devices)
                and len(set(devices)) == len(devices)
            )
        )
        if not ok:
            raise ValueError(
                "TrainConfig: expected devices to be a count ≥ 1, 'auto', or a tuple of distinct device "
                f"indices such as (0, 2), got {self.devices!r}"
            )

    def for_model(self, model: nn.Module) -> TrainConfig:
        """This config with ``monitor`` and ``mode`` filled in for ``model`` where they are None."""
        monitor = self.monitor or getattr(model, "default_monitor", None) or "loss"
        return dataclasses.replace(self, monitor=monitor, mode=self.mode or default_mode(monitor))

    @property
    def monitor_key(self) -> str:
        """The logged name of the monitored metric: ``val_<monitor>``."""
        if self.monitor is None:
            raise ValueError("TrainConfig.monitor_key: monitor is None; call for_model(model) first")
        return f"val_{self.monitor}"


_SMALLER_IS_BETTER = re.compile(r"(^|_)(loss|wer|per|cer|mae|rmse|mse|mase|smape|nll|ppl|bpc)$|error")


def default_mode(monitor: str) -> str:
    """ "min" for a loss or an error measure (``loss``, ``word_error_rate``, ``mase``), else "max".

    >>> default_mode("f1"), default_mode("loss"), default_mode("token_error_rate")
    ('max', 'min', 'min')
    """
    return "min" if _SMALLER_IS_BETTER.search(monitor) else "max"


@dataclass(frozen=True)
class TrainResult:
    """What ``fit`` reports.

    Attributes:
        best_score: the best value of ``val_<monitor>`` seen (the best checkpoint's).
        best_checkpoint: path of the best checkpoint (its weights are now in the model).
        last_checkpoint: path of ``last.ckpt``, the state to resume from.
        epochs_run: epochs completed, counting those done before a resume.
        stopped_early: whether early stopping ended the run before ``max_epochs``.
        history: one dict per validation (per epoch by default), e.g.
            ``{"epoch": 3, "step": 120, "lr": 1e-3, "train_loss": 0.41, "val_f1": 0.88, "val_loss": 0.35}``:
            ``step`` counts optimizer steps so far, ``lr`` is the learning rate at validation time,
            ``train_loss`` the mean of the epoch's batch losses (on the last validation of an epoch),
            ``val_*`` the task's ``validation_metrics``.
        log_dir: the CSV log folder of this call.
        monitor, mode: what chose the best checkpoint (the config's, or the task's default).
    """

    best_score: float
    best_checkpoint: Path
    last_checkpoint: Path
    epochs_run: int
    stopped_early: bool
    history: list[dict[str, float]] = field(default_factory=list)
    log_dir: Path | None = None
    monitor: str = "loss"
    mode: str = "min"


# ---------------------------------------------------------------------------------------------- RNG state
def _rng_state() -> dict[str, Any]:
    """The global random state of Python, NumPy and torch, as tensors and plain types.

    Stored in checkpoints so a resumed run draws the same numbers (shuffling, dropout) as an uninterrupted
    one. Plain types only, so ``torch.load(weights_only=True)`` can read the checkpoint.
    """
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": [version, list(internal), gauss],
        "numpy": [kind, torch.from_numpy(np.asarray(keys, dtype=np.int64)), pos, has_gauss, cached],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ---------------------------------------------------------------------------------------------- batches
def _move_to_device(batch: Any, device: torch.device) -> Any:
    """Lightning's ``move_data_to_device``, extended to frozen dataclasses (rebuilt with ``replace``).

    Lightning refuses frozen dataclasses, so they, and the plain lists, tuples, NamedTuples and dicts
    around them, are walked here; everything else goes to Lightning as is.
    """
    if (
        dataclasses.is_dataclass(batch)
        and not isinstance(batch, type)
        and type(batch).__dataclass_params__.frozen
    ):
        fields = {
            f.name: _move_to_device(getattr(batch, f.name), device)
            for f in dataclasses.fields(batch)
            if f.init
        }
        return dataclasses.replace(batch, **fields)
    if type(batch) in (list, tuple):
        return type(batch)(_move_to_device(item, device) for item in batch)
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # NamedTuple
        return type(batch)(*(_move_to_device(item, device) for item in batch))
    if type(batch) is dict:
        return {key: _move_to_device(value, device) for key, value in batch.items()}
    return move_data_to_device(batch, device)


# ---------------------------------------------------------------------------------------------- module
class _TaskModule(L.LightningModule):
    """The Lightning side of a task model: steps, logging, optimizer, checkpoint extras."""

    def __init__(self, model: nn.Module, config: TrainConfig, loaders: tuple[Any, ...]) -> None:
        super().__init__()
        self.model = model
        self.config = config
        self._loaders = loaders
        self.history: list[dict[str, float]] = []
        self._val_outputs: list[Any] = []

    # -------------------------------------------------------------- data
    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        return _move_to_device(batch, device)

    def setup(self, stage: str) -> None:
        # A rank-aware batch sampler (one with ``num_replicas`` and ``rank``, like BucketBatchSampler)
        # shards the data itself; tell it which shard is this process's.
        trainer = self.trainer
        aware = [isinstance(dl, DataLoader) and _is_rank_aware(dl.batch_sampler) for dl in self._loaders]
        if trainer.world_size > 1 and any(aware) and not all(aware):
            raise ValueError(
                "fit: with several processes, give either both DataLoaders a rank-aware batch sampler "
                "(one with num_replicas and rank, like BucketBatchSampler) or neither; got "
                f"train: {aware[0]}, validation: {aware[1]}"
            )
        for loader, is_aware in zip(self._loaders, aware):
            if is_aware:
                loader.batch_sampler.num_replicas = trainer.world_size
                loader.batch_sampler.rank = trainer.global_rank

    # -------------------------------------------------------------- training
    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        loss = self.model.training_loss(batch)
        if not isinstance(loss, Tensor) or loss.dim() != 0:
            got = tuple(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__
            raise ValueError(
                f"fit: expected {type(self.model).__name__}.training_loss to return a scalar tensor, "
                f"got {got}"
            )
        # batch_size=1: the epoch figure is the plain mean of the batch losses.
        self.log(
            "train_loss",
            loss.detach(),
            on_step=True,
            on_epoch=True,
            prog_bar=True,
            batch_size=1,
            sync_dist=True,
        )
        return loss

    def on_train_epoch_end(self) -> None:
        # Runs before ModelCheckpoint saves, so the saved history includes this epoch's training loss.
        loss = self.trainer.callback_metrics.get("train_loss_epoch")
        if loss is not None and self.history and self.history[-1]["epoch"] == self.current_epoch:
            self.history[-1]["train_loss"] = float(loss)

    # -------------------------------------------------------------- validation
    def on_validation_epoch_start(self) -> None:
        self._val_outputs = []

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        outputs = self.model.validation_outputs(batch)
        self._val_outputs.append(move_data_to_device(outputs, torch.device("cpu")))

    def on_validation_epoch_end(self) -> None:
        outputs, self._val_outputs = self._gather(self._val_outputs), []
        metrics = self.model.validation_metrics(outputs)
        name = type(self.model).__name__
        if not isinstance(metrics, Mapping) or not all(isinstance(k, str) for k in metrics):
            raise ValueError(
                f"fit: expected {name}.validation_metrics to return a dict of name → float, "
                f"got {type(metrics).__name__}"
            )
        if self.config.monitor not in metrics:
            raise ValueError(
                f"fit: TrainConfig.monitor is {self.config.monitor!r} but {name}.validation_metrics returned "
                f"{sorted(metrics)}; set monitor to one of these"
            )
        logged = {f"val_{key}": float(value) for key, value in metrics.items()}
        self.log_dict(logged, prog_bar=True, batch_size=1, sync_dist=True)  # same value on every process
        if not self.trainer.sanity_checking:
            lr = self.trainer.optimizers[0].param_groups[0]["lr"]
            self.history.append({"epoch": self.current_epoch, "step": self.global_step, "lr": lr, **logged})

    def _gather(self, outputs: list[Any]) -> list[Any]:
        """Every process's validation outputs, concatenated (no-op with a single process)."""
        if self.trainer.world_size == 1 or not torch.distributed.is_initialized():
            return outputs
        gathered: list[Any] = [None] * self.trainer.world_size
        torch.distributed.all_gather_object(gathered, outputs)
        return [item for part in gathered for item in part]

    # -------------------------------------------------------------- optimizer
    def configure_optimizers(self) -> Any:
        cfg = self.config
        params = [p for p in self.model.parameters() if p.requires_grad]
        if cfg.optimizer == "adam":
            optimizer = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        elif cfg.optimizer == "adamw":
            optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        else:
            optimizer = torch.optim.SGD(
                params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
            )
        if cfg.schedule == "plateau":
            plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode=cfg.mode, factor=cfg.plateau_factor, patience=cfg.plateau_patience
            )
            scheduler = {"scheduler": plateau, "monitor": cfg.monitor_key, "interval": "epoch"}
            return {"optimizer": optimizer, "lr_scheduler": scheduler}
        if cfg.schedule == "constant" and cfg.warmup_steps == 0:
            return optimizer
        total = self.trainer.estimated_stepping_batches
        if not math.isfinite(total):
            raise ValueError(
                f"fit: schedule {cfg.schedule!r} needs the number of training steps, but the training "
                "DataLoader has no length (an IterableDataset?); use schedule='constant' or 'plateau'"
            )
        factor = partial(
            lr_factor,
            cfg.schedule,
            warmup_steps=cfg.warmup_steps,
            total_steps=int(total),
            cooldown=cfg.cooldown_fraction,
        )
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # -------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["seqlab"] = {"history": [dict(record) for record in self.history], "rng": _rng_state()}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        extra = checkpoint.get("seqlab")
        if extra is not None:
            self.history = [dict(record) for record in extra["history"]]
            _set_rng_state(extra["rng"])


def _is_rank_aware(batch_sampler: Any) -> bool:
    return hasattr(batch_sampler, "num_replicas") and hasattr(batch_sampler, "rank")


def _loggers(out_dir: Path) -> list[Logger]:
    loggers: list[Logger] = [CSVLogger(save_dir=out_dir, name="logs")]
    if any(importlib.util.find_spec(name) is not None for name in ("tensorboard", "tensorboardX")):
        loggers.append(TensorBoardLogger(save_dir=out_dir, name="tensorboard"))
    else:
        logger.info("fit: tensorboard is not installed; logging to CSV only (%s)", out_dir / "logs")
    return loggers


def _check_model(model: Any) -> None:
    if not isinstance(model, nn.Module):
        raise ValueError(f"fit: expected the model to be a torch.nn.Module, got {type(model).__name__}")
    missing = [name for name in TASK_MODEL_METHODS if not callable(getattr(model, name, None))]
    if missing:
        raise ValueError(
            f"fit: {type(model).__name__} does not implement the TaskModel protocol; missing "
            f"{', '.join(missing)} (see seqlab.training.TaskModel)"
        )


@contextlib.contextmanager
def _lightning_speaks_at(level: int) -> Iterator[None]:
    """Lightning's own messages (devices, model summary) at least as quiet as seqlab's logging: a caller
    who set ``logging.WARNING`` gets no INFO lines from Lightning either. Restored afterwards."""
    loggers = [logging.getLogger(name) for name in ("lightning.pytorch", "lightning.fabric")]
    before = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(max(lg.getEffectiveLevel(), level))
    try:
        yield
    finally:
        for lg, old in zip(loggers, before):
            lg.setLevel(old)


def _resume_path(resume: bool | str | os.PathLike[str], checkpoint_dir: Path) -> Path | None:
    if resume is False:
        last = checkpoint_dir / LAST_CHECKPOINT
        if last.exists():
            raise FileExistsError(
                f"fit: {checkpoint_dir} already holds the checkpoints of a run ({LAST_CHECKPOINT}); pass "
                "resume=True to continue it, or choose another out_dir"
            )
        return None
    if resume is True:
        last = checkpoint_dir / LAST_CHECKPOINT
        if last.exists():
            return last
        logger.info("fit: resume=True but %s does not exist; starting from scratch", last)
        return None
    if isinstance(resume, (str, os.PathLike)):
        path = Path(resume)
        if not path.is_file():
            raise FileNotFoundError(f"fit: the checkpoint to resume from does not exist: {path}")
        return path
    raise ValueError(f"fit: expected resume to be True, False or a checkpoint path, got {resume!r}")


# ---------------------------------------------------------------------------------------------- fit
def fit(
    model: nn.Module,
    train_loader: DataLoader,
    val_loader: DataLoader,
    config: TrainConfig,
    *,
    resume: bool | str | os.PathLike[str] = False,
) -> TrainResult:
    """Train ``model`` (a :class:`~seqlab.training.TaskModel`) and leave the best checkpoint's weights in it.

    Args:
        model: an ``nn.Module`` with ``training_loss``, ``validation_outputs`` and ``validation_metrics``.
        train_loader, val_loader: the task's DataLoaders (any batch structure; tensors in it are moved to
            the device).
        config: see :class:`TrainConfig`.
        resume: False: a new run (an ``out_dir`` that already holds a run's ``last.ckpt`` is refused);
            True: continue from ``out_dir/checkpoints/last.ckpt`` if it exists, else start from scratch;
            a path: continue from that checkpoint.

    Returns:
        A :class:`TrainResult` with the best score and checkpoint, epochs run and per-epoch history.
    """
    _check_model(model)
    if not isinstance(config, TrainConfig):
        raise ValueError(f"fit: expected config to be a TrainConfig, got {type(config).__name__}")
    config = config.for_model(model)
    checkpoint_dir = config.out_dir / CHECKPOINT_DIR
    ckpt_path = _resume_path(resume, checkpoint_dir)

    L.seed_everything(config.seed, workers=True, verbose=False)
    model.train()
    module = _TaskModule(model, config, (train_loader, val_loader))
    checkpoint = ModelCheckpoint(
        dirpath=checkpoint_dir,
        filename="best-{epoch:03d}",
        monitor=config.monitor_key,
        mode=config.mode,
        save_top_k=1,
        save_last=True,
    )
    callbacks: list[L.Callback] = [checkpoint, LearningRateMonitor(logging_interval="step")]
    early_stopping = None
    if config.patience is not None:
        early_stopping = EarlyStopping(
            monitor=config.monitor_key, mode=config.mode, patience=config.patience, min_delta=config.min_delta
        )
        callbacks.append(early_stopping)
    loaders = (train_loader, val_loader)
    rank_aware = any(isinstance(dl, DataLoader) and _is_rank_aware(dl.batch_sampler) for dl in loaders)
    loggers = _loggers(config.out_dir)
    with warnings.catch_warnings(), _lightning_speaks_at(logger.getEffectiveLevel()):
        for pattern in _HARMLESS_WARNINGS + (_RESUME_WARNINGS if ckpt_path is not None else ()):
            warnings.filterwarnings("ignore", message=pattern)
        trainer = L.Trainer(
            max_epochs=config.max_epochs,
            max_time=None if config.max_minutes is None else timedelta(minutes=config.max_minutes),
            accelerator=config.accelerator,
            devices=list(config.devices) if isinstance(config.devices, tuple) else config.devices,
            strategy=config.strategy,
            num_nodes=config.num_nodes,
            precision=config.precision,
            gradient_clip_val=config.grad_clip_norm,
            gradient_clip_algorithm="norm",
            callbacks=callbacks,
            logger=loggers,
            default_root_dir=config.out_dir,
            log_every_n_steps=config.log_every_n_steps,
            enable_progress_bar=config.progress_bar,
            val_check_interval=config.val_check_interval,
            accumulate_grad_batches=config.accumulate_grad_batches,
            use_distributed_sampler=not rank_aware,
        )
        trainer.fit(module, train_loader, val_loader, ckpt_path=ckpt_path)

    best = Path(checkpoint.best_model_path) if checkpoint.best_model_path else None
    if best is None or checkpoint.best_model_score is None:
        raise RuntimeError(f"fit: no checkpoint was saved in {checkpoint_dir}; did validation run?")
    if best.is_file():
        state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
        prefix = "model."
        model.load_state_dict({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})
    else:  # only on a machine that does not share out_dir with the first process
        logger.warning("fit: best checkpoint %s is not readable here; the model keeps its last weights", best)
    return TrainResult(
        best_score=float(checkpoint.best_model_score),
        best_checkpoint=best,
        last_checkpoint=checkpoint_dir / LAST_CHECKPOINT,
        epochs_run=trainer.current_epoch,
        stopped_early=bool(early_stopping is not None and early_stopping.stopped_epoch > 0),
        history=[dict(record) for record in module.history],
        log_dir=Path(loggers[0].log_dir),
        monitor=config.monitor,
        mode=config.mode,
    )
