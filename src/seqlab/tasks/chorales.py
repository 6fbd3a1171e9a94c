"""Polyphonic music as piano rolls: a recurrent network that predicts each frame's notes from the past.

The model of Boulanger-Lewandowski et al. (2012, "Modeling temporal dependencies in high-dimensional
sequences") in its plain RNN form, as Chung et al. (2014, "Empirical evaluation of gated recurrent neural
networks on sequence modeling") ran it with tanh, GRU and LSTM units on JSB Chorales. A roll is a sequence
of frames x_1 … x_T ∈ {0, 1}^88 (``seqlab.data.music``); the network reads the frames so far and outputs
88 independent Bernoulli probabilities for the next one::

    u_1 = [0; 1],   u_t = [x_{t−1}; 0]  (t > 1)        the input: the previous frame and a "start" bit
    h_t, s_t = RNN(u_t, s_{t−1})                        any registry recurrence, stacked
    p_t = σ(W h_t + b) ∈ (0, 1)^88                      p_{t,k} = P(note k sounds in frame t | x_{<t})
    NLL = −(1/N) Σ_t Σ_k [x_{t,k} log p_{t,k} + (1 − x_{t,k}) log(1 − p_{t,k})]

in nats per frame, N being the number of frames: every frame of every sequence counts, the first one
predicted from the start input alone. A model that says p = ½ everywhere scores 88 ln 2 ≈ 61.0.

The notes of a frame are independent given the past, so a sampled frame is a set of independent coin
flips: the model cannot say "C and E together, or neither" (the reason Boulanger-Lewandowski et al.
replaced the output layer with an RBM). Sampling (``generate``) draws frame by frame, feeding each
sampled frame back through the recurrence's ``step``, so the past is never run again.

``PianoRollModel`` is a plain ``nn.Module`` that follows ``seqlab.training``'s task protocol (validation
figure ``nll``) and saves to / loads from a model folder (``save`` / ``PianoRollModel.load``).
``train_chorales`` trains one on the Bach chorale split and reports held-out NLL.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.data.music import (
    NUM_PITCHES,
    PianoRolls,
    bach_chorales,
    check_piano_roll,
    piano_roll_to_midi,
    plot_piano_roll,
)
from seqlab.options import check_choices, check_positive_ints
from seqlab.recurrent import RECURRENCES, Recurrent

from .model_files import load_folder, load_weights, save_folder

__all__ = [
    "ChoraleRun",
    "PianoRollConfig",
    "PianoRollModel",
    "RollBatch",
    "collate_rolls",
    "evaluate_piano_roll",
    "marginal_nll",
    "roll_loader",
    "train_chorales",
    "train_piano_roll",
    "write_sample",
]

log = logging.getLogger(__name__)

KIND = "piano_roll"


@dataclass(frozen=True)
class PianoRollConfig:
    """Everything that defines a piano-roll model: the network, and the time step of the rolls it reads."""

    recurrence: str = "lstm"  # any registry name
    hidden_size: int = 128  # H
    num_layers: int = 1
    dropout: float = 0.0  # between recurrent layers and before the output layer
    recurrence_options: dict[str, Any] = field(default_factory=dict)
    step: float = 0.5  # quarter notes per frame of the training rolls (MIDI output uses it)

    def __post_init__(self) -> None:
        check_choices(self, {"recurrence": tuple(RECURRENCES)})
        check_positive_ints(self, ("hidden_size", "num_layers"))
        value = self.dropout
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise ValueError(f"PianoRollConfig: expected dropout in [0, 1), got {value!r}")
        value = self.step
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(
                f"PianoRollConfig: expected step > 0 (quarter notes per frame, e.g. 0.5), got {value!r}"
            )
        if not isinstance(self.recurrence_options, dict):
            raise ValueError(
                "PianoRollConfig: expected recurrence_options to be a mapping, "
                f"got {self.recurrence_options!r}"
            )


class RollBatch(NamedTuple):
    """B piano rolls, right-padded with silent frames."""

    frames: Tensor  # (B, T, 88) 0/1
    lengths: Tensor  # (B,) frames per roll


def collate_rolls(rolls: Sequence[Tensor]) -> RollBatch:
    """Pad (T_i, 88) rolls into a batch."""
    if not rolls:
        raise ValueError("collate_rolls: expected at least one roll, got none")
    rolls = [check_piano_roll("collate_rolls", r) for r in rolls]
    lengths = torch.tensor([r.shape[0] for r in rolls])
    if int(lengths.min()) < 1:
        raise ValueError("collate_rolls: every roll needs at least one frame; drop empty rolls")
    frames = torch.zeros(len(rolls), int(lengths.max()), NUM_PITCHES)  # (B, T, 88)
    for i, r in enumerate(rolls):
        frames[i, : r.shape[0]] = r
    return RollBatch(frames, lengths)


class PianoRollModel(nn.Module):
    """Previous frame → recurrence → 88 sigmoid outputs: P(each note sounds in the next frame)."""

    default_monitor = "nll"

    def __init__(self, config: PianoRollConfig | None = None) -> None:
        super().__init__()
        c = self.config = config or PianoRollConfig()
        self.rnn = Recurrent(
            c.recurrence,
            NUM_PITCHES + 1,  # the previous frame and the start bit
            c.hidden_size,
            num_layers=c.num_layers,
            dropout=c.dropout if c.num_layers > 1 else 0.0,
            options=c.recurrence_options,
        )
        self.dropout = nn.Dropout(c.dropout)
        self.output = nn.Linear(self.rnn.output_size, NUM_PITCHES)

    # ------------------------------------------------------------------ the network
    @staticmethod
    def inputs(frames: Tensor) -> Tensor:
        """u_1 … u_T: the frames shifted right by one, behind a start input. (B, T, 88) → (B, T, 89)."""
        B = frames.shape[0]
        start = frames.new_zeros(B, 1, NUM_PITCHES + 1)
        start[:, 0, NUM_PITCHES] = 1.0
        previous = F.pad(frames[:, :-1], (0, 1))  # (B, T − 1, 89), start bit 0
        return torch.cat([start, previous], dim=1)  # (B, T, 89)

    def forward(self, frames: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Logits (B, T, 88): entry t predicts frame t from frames 0 … t − 1."""
        self._check_frames(frames)
        h, _ = self.rnn(self.inputs(frames.to(self.output.weight.dtype)), lengths=lengths)  # (B, T, H)
        return self.output(self.dropout(h))  # (B, T, 88)

    def frame_nll(self, frames: Tensor, lengths: Tensor | None = None) -> Tensor:
        """−log P(frame t | frames before), summed over the 88 notes: (B, T) nats, 0 past each length."""
        logits = self(frames, lengths)
        target = frames.to(logits.dtype)
        nll = F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(dim=-1)  # (B, T)
        if lengths is not None:
            nll = nll * _mask(lengths, frames.shape[1]).to(nll.dtype)
        return nll

    def _check_frames(self, frames: Tensor) -> None:
        if not isinstance(frames, Tensor) or frames.dim() != 3 or frames.shape[-1] != NUM_PITCHES:
            got = tuple(frames.shape) if isinstance(frames, Tensor) else type(frames).__name__
            raise ValueError(
                f"PianoRollModel: expected frames of shape (B, T, {NUM_PITCHES}), got {got}; "
                "a single roll needs a batch axis: roll.unsqueeze(0)"
            )
        if frames.shape[1] == 0:
            raise ValueError("PianoRollModel: expected at least one frame, got T = 0")

    # ------------------------------------------------------------------ the task protocol
    def training_loss(self, batch: RollBatch) -> Tensor:
        """Mean NLL per frame over the batch's frames (nats)."""
        nll = self.frame_nll(batch.frames, batch.lengths)
        return nll.sum() / batch.lengths.sum().to(nll.dtype)

    def validation_outputs(self, batch: RollBatch) -> tuple[Tensor, Tensor]:
        """(summed NLL, number of frames), on the CPU."""
        nll = self.frame_nll(batch.frames, batch.lengths)
        return nll.detach().sum().double().cpu(), batch.lengths.sum().cpu()

    def validation_metrics(self, outputs: Iterable[tuple[Tensor, Tensor]]) -> dict[str, float]:
        """NLL in nats per frame over every frame of the split (frames weigh equally, not rolls)."""
        outputs = list(outputs)
        total = sum(float(o[0]) for o in outputs)
        frames = sum(int(o[1]) for o in outputs)
        nll = total / max(frames, 1)
        return {"nll": nll, "loss": nll}

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def generate(self, num_frames: int, prime: Tensor | None = None, *, seed: int = 0) -> Tensor:
        """Sample ``num_frames`` new frames (num_frames, 88), after the (P, 88) roll ``prime`` if given.

        Each frame's 88 notes are drawn as independent Bernoulli variables with the model's probabilities;
        the sampled frame is the next input, fed through the recurrence's ``step`` (the past is never run
        again). The same seed gives the same roll. Runs in eval mode (no dropout).
        """
        if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
            raise ValueError(f"PianoRollModel.generate: expected num_frames ≥ 1, got {num_frames!r}")
        was_training = self.training
        self.eval()
        try:
            device, dtype = self.output.weight.device, self.output.weight.dtype
            generator = torch.Generator(device=device).manual_seed(seed)
            if prime is not None:
                prime = check_piano_roll("PianoRollModel.generate: prime", prime)
                if prime.shape[0] == 0:
                    raise ValueError("PianoRollModel.generate: the prime is empty; pass None to start afresh")
                u = self.inputs(prime[None].to(device, dtype))  # (1, P, 89)
                u_next = F.pad(prime[-1:].to(device, dtype), (0, 1))  # (1, 89): the prime's last frame
                h, state = self.rnn(torch.cat([u, u_next[:, None]], dim=1))  # (1, P + 1, H)
                h_t = h[:, -1]  # (1, H)
            else:
                start = torch.zeros(1, NUM_PITCHES + 1, device=device, dtype=dtype)
                start[0, NUM_PITCHES] = 1.0
                h_t, state = self.rnn.step(start)  # (1, H)
            frames = []
            for t in range(num_frames):
                p_t = torch.sigmoid(self.output(h_t))  # (1, 88)
                x_t = torch.bernoulli(p_t, generator=generator)  # (1, 88)
                frames.append(x_t)
                if t + 1 < num_frames:
                    h_t, state = self.rnn.step(F.pad(x_t, (0, 1)), state)
            return torch.cat(frames).float().cpu()  # (num_frames, 88)
        finally:
            self.train(was_training)

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model folder (config.json + model.safetensors)."""
        return save_folder(path, KIND, asdict(self.config), self.state_dict(), {})

    @classmethod
    def load(cls, path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> PianoRollModel:
        """A model from a folder written by ``save``; it predicts exactly what the saved one did."""
        cfg, weights, _, _ = load_folder(path, KIND, PianoRollConfig)
        model = cls(cfg)
        return load_weights(model, weights, path).to(map_location).eval()


def _mask(lengths: Tensor, T: int) -> Tensor:
    return torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]  # (B, T)


# ------------------------------------------------------------------------------------------------ running
def roll_loader(
    rolls: Sequence[Tensor], batch_size: int = 16, *, shuffle: bool = False, seed: int = 0
) -> torch.utils.data.DataLoader:
    """A DataLoader of ``RollBatch``es (shuffled with a seeded generator when ``shuffle``)."""
    from torch.utils.data import DataLoader

    if not rolls:
        raise ValueError("roll_loader: expected at least one roll, got none")
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(
        list(rolls), batch_size=batch_size, shuffle=shuffle, collate_fn=collate_rolls, generator=generator
    )


@torch.no_grad()
def evaluate_piano_roll(model: PianoRollModel, rolls: Sequence[Tensor], *, batch_size: int = 64) -> float:
    """Mean NLL in nats per frame of ``model`` over every frame of ``rolls`` (eval mode)."""
    was_training = model.training
    model.eval()
    try:
        device = model.output.weight.device
        outputs = []
        for batch in roll_loader(rolls, batch_size):
            outputs.append(
                model.validation_outputs(RollBatch(batch.frames.to(device), batch.lengths.to(device)))
            )
        return model.validation_metrics(outputs)["nll"]
    finally:
        model.train(was_training)


def marginal_nll(train: Sequence[Tensor], rolls: Sequence[Tensor]) -> float:
    """A baseline: NLL per frame of ``rolls`` under independent notes with the training frequencies.

    p_k = (frames where note k sounds + 1) / (frames + 2) (add-one smoothing), the same for every frame.
    """
    counts = torch.stack([r.sum(dim=0) for r in train]).sum(dim=0).double()  # (88,)
    frames = sum(r.shape[0] for r in train)
    p = (counts + 1) / (frames + 2)
    x = torch.cat(list(rolls)).double()  # (N, 88)
    nll = -(x * p.log() + (1 - x) * (1 - p).log()).sum(dim=-1)  # (N,)
    return float(nll.mean())


def train_piano_roll(
    train: Sequence[Tensor],
    valid: Sequence[Tensor],
    config: PianoRollConfig,
    train_config: Any,
    *,
    batch_size: int = 16,
    resume: bool = False,
) -> tuple[PianoRollModel, Any]:
    """Train a model on the rolls ``train``, keeping the epoch with the lowest NLL on ``valid``.

    ``train_config`` is a ``seqlab.training.TrainConfig``; with no ``mode``, lower NLL is better.
    """
    from seqlab.training import fit

    torch.manual_seed(train_config.seed)  # the initial weights are part of a reproducible run
    model = PianoRollModel(config)
    if train_config.mode is None and train_config.monitor in (None, "nll", "loss"):
        train_config = replace(train_config, mode="min")
    train_loader = roll_loader(train, batch_size, shuffle=True, seed=train_config.seed)
    valid_loader = roll_loader(valid, max(batch_size, 64))
    log.info(
        "training on %d rolls (%d frames), validating on %d",
        len(train),
        sum(len(r) for r in train),
        len(valid),
    )
    result = fit(model, train_loader, valid_loader, train_config, resume=resume)
    model.eval()
    return model, result


class ChoraleRun(NamedTuple):
    """What ``train_chorales`` reports."""

    model: PianoRollModel
    result: Any  # seqlab.training.TrainResult
    scores: dict[str, float]  # valid_nll, test_nll, baseline_test_nll (marginal frequencies), nats/frame
    counts: dict[str, int]  # chorales and frames per split, chorales skipped


def train_chorales(
    config: PianoRollConfig,
    train_config: Any,
    *,
    batch_size: int = 16,
    cache_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
) -> ChoraleRun:
    """Train on the Bach chorales' train split (rolls at ``config.step``), pick the epoch by valid NLL,
    report valid and test NLL, and save the model to ``train_config.out_dir / "model"``."""
    splits: dict[str, PianoRolls] = {
        s: bach_chorales(s, step=config.step, cache_dir=cache_dir) for s in ("train", "valid", "test")
    }
    model, result = train_piano_roll(
        splits["train"].rolls,
        splits["valid"].rolls,
        config,
        train_config,
        batch_size=batch_size,
        resume=resume,
    )
    model.save(Path(train_config.out_dir) / "model")
    scores = {
        "valid_nll": evaluate_piano_roll(model, splits["valid"].rolls),
        "test_nll": evaluate_piano_roll(model, splits["test"].rolls),
        "baseline_test_nll": marginal_nll(splits["train"].rolls, splits["test"].rolls),
    }
    counts = {"skipped": splits["train"].skipped}
    for s, rolls in splits.items():
        counts[f"{s}_chorales"] = len(rolls.rolls)
        counts[f"{s}_frames"] = sum(r.shape[0] for r in rolls.rolls)
    return ChoraleRun(model, result, scores, counts)


def write_sample(
    model: PianoRollModel,
    path: str | os.PathLike[str],
    num_frames: int = 64,
    *,
    prime: Tensor | None = None,
    seed: int = 0,
    tempo: float = 80.0,
) -> tuple[Path, Path]:
    """Sample a roll and write it as ``<path>.mid`` and ``<path>.png`` (the prime, if any, comes first)."""
    roll = model.generate(num_frames, prime, seed=seed)
    if prime is not None:
        roll = torch.cat([check_piano_roll("write_sample: prime", prime), roll])
    path = Path(path)
    step = model.config.step
    midi = piano_roll_to_midi(roll, path.with_suffix(".mid"), step, tempo=tempo)
    title = f"{model.config.recurrence.upper()} sample: {num_frames} frames, {step:g} quarter note(s) each"
    marks: tuple[float, ...] = ()
    if prime is not None:
        title += f", after a prime of {prime.shape[0]} frames (dashed line)"
        marks = (prime.shape[0] * step,)
    png = plot_piano_roll(roll, path.with_suffix(".png"), step=step, title=title, marks=marks)
    return midi, png
