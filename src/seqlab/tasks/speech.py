"""Speech recognition: log-mel frames → frame stacking → (Bi)LSTM → characters + blank, trained with CTC.

The chapter's application "speech recognition: BiLSTM + CTC — audio frames to text"::

    samples ─► log-mel ─► normalise ─► stack k frames ─► recurrence ─► dropout ─► linear ─► log_softmax
    (N,)       (T, F)     global or    (T/k, k·F)        (any registry             (K = characters + blank)
                          per utterance                  name, L layers)

- Features: ``LogMel`` (25 ms Hann window every 10 ms, not centred), normalised with the training set's
  per-feature mean and standard deviation (``normalize="global"``, saved with the model) or each
  utterance's own (``"utterance"``; not streamable); SpecAugment masks in training.
- Subsampling: k consecutive frames are concatenated (k = ``subsample``, 2–4), so the recurrence runs at
  k × 10 ms per step and is k times cheaper; a leftover of fewer than k frames at the end is dropped.
- Output: K = |alphabet| + 1; id 0 is the CTC blank (the ``chars`` vocabulary's pad entry, ``<blank>``),
  the others are characters. Transcripts are lower-cased (``lowercase``) and runs of spaces merged.
- Loss: ``torch.nn.functional.ctc_loss`` summed over a batch's utterances and divided by their number. An
  utterance whose T/k output frames cannot hold its transcript (CTC needs L + the number of adjacent
  repeated characters frames) has no valid alignment: it is skipped, with a count in the log — never an
  inf or NaN loss (``zero_infinity`` stays False, so a wrong length elsewhere would still show).
- Decoding: greedy, or CTC prefix beam search with an optional character / word n-gram LM
  (``seqlab.nn.ctc``).
- Streaming (``bidirectional=False``): ``Streamer`` takes audio in chunks of any size, keeps the samples
  that do not fill a frame yet, the feature frames that do not fill a stack of k yet, the recurrent state
  and the last output symbol, and returns the growing greedy transcript; when the audio ends its text is
  exactly the offline greedy transcript of the same model (tested).

``SpeechRecognizer`` is a plain ``nn.Module`` following ``seqlab.training``'s task protocol; ``save`` /
``SpeechRecognizer.load`` write and read a model folder.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.data import Vocab
from seqlab.data.audio import (
    MEL_SCALES,
    LogMel,
    Utterance,
    feature_statistics,
    read_audio,
    spec_augment,
    utterance_normalize,
)
from seqlab.metrics.speech import asr_scores
from seqlab.nn.ctc import NgramLM, ctc_greedy_decode, ctc_prefix_beam_search
from seqlab.options import check_choices, check_positive_ints
from seqlab.recurrent import RECURRENCES, Recurrent

from .model_files import load_folder, load_weights, save_folder

__all__ = [
    "BLANK",
    "NORMALIZATIONS",
    "UNKNOWN_CHAR_POLICIES",
    "EncodedUtterance",
    "SpeechBatch",
    "SpeechConfig",
    "SpeechRecognizer",
    "StreamUpdate",
    "Streamer",
    "ctc_min_frames",
]

log = logging.getLogger(__name__)

KIND = "speech"
BLANK = "<blank>"
NORMALIZATIONS = ("global", "utterance", "none")
UNKNOWN_CHAR_POLICIES = ("error", "drop")


@dataclass(frozen=True)
class SpeechConfig:
    """Everything that defines a recogniser: features, subsampling, recurrence, alphabet, augmentation."""

    sample_rate: int = 16000  # audio at another rate is resampled (logged)
    n_mels: int = 80  # F
    n_fft: int = 400  # 25 ms window
    hop_length: int = 160  # 10 ms
    mel_scale: str = "slaney"  # slaney | htk
    normalize: str = "global"  # global (training statistics) | utterance | none
    subsample: int = 3  # k: frames stacked per recurrent step
    hidden_size: int = 256  # H, per direction
    num_layers: int = 3
    bidirectional: bool = True  # False: a streaming model
    recurrence: str = "lstm"  # any registry name
    recurrence_options: dict[str, Any] = field(default_factory=dict)
    dropout: float = 0.2  # between recurrent layers and before the output layer
    lowercase: bool = True
    alphabet: str | None = None  # the characters to recognise; None: those of the training transcripts
    unknown_chars: str = "error"  # a transcript character outside the alphabet: error | drop (logged)
    freq_masks: int = 2  # SpecAugment, training only (0: none)
    freq_mask_width: int = 15
    time_masks: int = 2
    time_mask_width: int = 20  # frames (10 ms), at most a fifth of the utterance

    def __post_init__(self) -> None:
        check_choices(
            self,
            {
                "normalize": NORMALIZATIONS,
                "mel_scale": MEL_SCALES,
                "unknown_chars": UNKNOWN_CHAR_POLICIES,
                "recurrence": tuple(RECURRENCES),
            },
        )
        check_positive_ints(
            self, ("sample_rate", "n_mels", "n_fft", "hop_length", "subsample", "hidden_size", "num_layers")
        )
        for name in ("freq_masks", "freq_mask_width", "time_masks", "time_mask_width"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"SpeechConfig: expected {name} to be an integer ≥ 0, got {value!r}")
        if self.hop_length > self.n_fft:
            raise ValueError(
                f"SpeechConfig: expected hop_length ≤ n_fft, got {self.hop_length} > {self.n_fft}"
            )
        if isinstance(self.dropout, bool) or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"SpeechConfig: expected dropout in [0, 1), got {self.dropout!r}")
        if self.alphabet is not None and (not isinstance(self.alphabet, str) or not self.alphabet):
            raise ValueError(
                f"SpeechConfig: expected alphabet to be a non-empty string or None, got {self.alphabet!r}"
            )
        if not isinstance(self.recurrence_options, dict):
            raise ValueError(
                f"SpeechConfig: expected recurrence_options to be a mapping, got {self.recurrence_options!r}"
            )


class EncodedUtterance(NamedTuple):
    """One utterance as model inputs, before padding."""

    features: Tensor  # (T, F) log-mel frames, not normalised
    target: list[int] | None  # character ids (no blank), or None without a transcript
    text: str | None  # the normalised transcript
    origin: str


@dataclass
class SpeechBatch:
    """Padded features and targets of B utterances."""

    features: Tensor  # (B, T, F)
    lengths: Tensor  # (B,) frames
    targets: Tensor | None = None  # (B, L) character ids, 0-padded
    target_lengths: Tensor | None = None  # (B,)


class StreamUpdate(NamedTuple):
    """What a ``Streamer`` reports after each chunk."""

    text: str  # the transcript so far
    audio_seconds: float  # audio received so far
    compute_seconds: float  # time spent on this chunk
    final: bool  # True after the end of the audio


def ctc_min_frames(target: Sequence[int]) -> int:
    """The fewest frames a CTC alignment of ``target`` needs: its length plus one blank per repeat."""
    return len(target) + sum(1 for a, b in itertools.pairwise(target) if a == b)


class SpeechRecognizer(nn.Module):
    """Log-mel → normalise → stack k frames → recurrence → dropout → linear (characters + blank)."""

    def __init__(self, config: SpeechConfig, chars: Vocab) -> None:
        super().__init__()
        c = self.config = config
        if chars.pad != BLANK or chars.unk is not None:
            raise ValueError(
                f"SpeechRecognizer: the character vocabulary needs the blank {BLANK!r} as its pad entry and "
                f"no unk (Vocab(chars, pad={BLANK!r}, unk=None))"
            )
        self.chars = chars
        self.features = LogMel(c.sample_rate, c.n_fft, c.hop_length, c.n_mels, scale=c.mel_scale)
        self.register_buffer("feature_mean", torch.zeros(c.n_mels))  # (F,)
        self.register_buffer("feature_std", torch.ones(c.n_mels))  # (F,)
        self.encoder = Recurrent(
            c.recurrence,
            c.n_mels * c.subsample,
            c.hidden_size,
            num_layers=c.num_layers,
            bidirectional=c.bidirectional,
            dropout=c.dropout if c.num_layers > 1 else 0.0,
            options=c.recurrence_options,
        )
        self.dropout = nn.Dropout(c.dropout)
        self.output = nn.Linear(self.encoder.output_size, len(chars))
        self.skipped = 0  # training utterances skipped by the loss as too short for their transcript

    # ------------------------------------------------------------------ building
    @classmethod
    def from_data(
        cls,
        utterances: Sequence[Utterance],
        config: SpeechConfig | None = None,
        features: Sequence[Tensor] | None = None,
    ) -> SpeechRecognizer:
        """A fresh recogniser: alphabet from the transcripts (unless the config gives one), global feature
        statistics from the audio (or from ``features``, the utterances' (T, F) log-mel frames)."""
        config = config or SpeechConfig()
        if not utterances:
            raise ValueError("SpeechRecognizer.from_data: expected at least one training utterance, got none")
        if config.alphabet is not None:
            alphabet = sorted(set(_normalize_text(config.alphabet, config.lowercase)) | {" "})
        else:
            texts = []
            for u in utterances:
                if u.text is None:
                    raise ValueError(f"{u.origin}: training utterances need a transcript")
                texts.append(_normalize_text(u.text, config.lowercase))
            alphabet = sorted(set("".join(texts)) | {" "})
        model = cls(config, Vocab(alphabet, pad=BLANK, unk=None))
        if config.normalize == "global":
            feats = features if features is not None else (model.audio_features(u.audio) for u in utterances)
            mean, std = feature_statistics(feats)
            with torch.no_grad():
                model.feature_mean.copy_(mean)
                model.feature_std.copy_(std)
        return model

    # ------------------------------------------------------------------ the network
    def audio_features(self, audio: str | os.PathLike[str] | np.ndarray | Tensor) -> Tensor:
        """(T, F) log-mel frames (not normalised) of a file or of samples at ``config.sample_rate``."""
        if isinstance(audio, (str, os.PathLike)):
            audio = read_audio(audio, self.config.sample_rate)
        x = torch.as_tensor(np.asarray(audio, dtype=np.float32)).to(self.feature_mean.device)
        if x.dim() != 1:
            raise ValueError(f"SpeechRecognizer: expected mono samples of shape (N,), got {tuple(x.shape)}")
        with torch.no_grad():
            return self.features(x[None])[0]

    def normalize(self, features: Tensor, lengths: Tensor) -> Tensor:
        """(B, T, F) log-mel → the network's inputs, as ``config.normalize`` says."""
        if self.config.normalize == "global":
            return (features - self.feature_mean) / self.feature_std
        if self.config.normalize == "utterance":
            return utterance_normalize(features, lengths)
        return features

    def stack(self, x: Tensor) -> Tensor:
        """(B, T, F) → (B, T // k, k·F): k consecutive frames side by side (a leftover < k dropped)."""
        B, T, Fd = x.shape
        k = self.config.subsample
        return x[:, : T // k * k].reshape(B, T // k, k * Fd)  # (B, T/k, k·F)

    def forward(self, x: Tensor, lengths: Tensor, state: Any = None) -> tuple[Tensor, Tensor, Any]:
        """Normalised features (B, T, F) → log-probabilities (B, T/k, K), output lengths (B,), final state."""
        if x.dim() != 3 or x.shape[-1] != self.config.n_mels:
            raise ValueError(
                f"SpeechRecognizer: expected features of shape (B, T, {self.config.n_mels}), "
                f"got {tuple(x.shape)}"
            )
        out_lengths = lengths // self.config.subsample  # (B,)
        z = self.stack(x)  # (B, T', k·F)
        if z.shape[1] == 0:
            return z.new_zeros(x.shape[0], 0, len(self.chars)), out_lengths, state
        h, state = self.encoder(z, state=state, lengths=out_lengths.clamp(min=1))  # (B, T', dirs·H)
        return F.log_softmax(self.output(self.dropout(h)), dim=-1), out_lengths, state

    # ------------------------------------------------------------------ the task protocol
    def _log_probs(self, batch: SpeechBatch) -> tuple[Tensor, Tensor]:
        x = self.normalize(batch.features, batch.lengths)
        c = self.config
        if self.training and (c.freq_masks or c.time_masks):
            x = spec_augment(
                x,
                batch.lengths,
                freq_masks=c.freq_masks,
                freq_width=c.freq_mask_width,
                time_masks=c.time_masks,
                time_width=c.time_mask_width,
            )
        log_probs, out_lengths, _ = self(x, batch.lengths)
        return log_probs, out_lengths

    def _ctc(self, log_probs: Tensor, out_lengths: Tensor, batch: SpeechBatch) -> tuple[Tensor, int]:
        """Summed CTC loss over the utterances that fit, and how many did."""
        targets, target_lengths = batch.targets, batch.target_lengths
        repeats = ((targets[:, 1:] == targets[:, :-1]) & (targets[:, 1:] != 0)).sum(dim=1)  # (B,)
        fits = out_lengths >= target_lengths + repeats  # (B,)
        n = int(fits.sum())
        if n < len(fits):
            self.skipped += len(fits) - n
            log.warning(
                "%d utterance(s) in a batch are too short for their transcripts (CTC needs at least "
                "L + repeats output frames); skipped (%d so far)",
                len(fits) - n,
                self.skipped,
            )
        if n == 0:
            return log_probs.sum() * 0.0, 0
        loss = F.ctc_loss(
            log_probs[fits].transpose(0, 1),  # (T', B, K)
            targets[fits],
            out_lengths[fits],
            target_lengths[fits],
            blank=0,
            reduction="sum",
            zero_infinity=False,
        )
        return loss, n

    def training_loss(self, batch: SpeechBatch) -> Tensor:
        log_probs, out_lengths = self._log_probs(batch)
        loss, n = self._ctc(log_probs, out_lengths, batch)
        return loss / max(n, 1)

    def validation_outputs(self, batch: SpeechBatch) -> tuple[list[str], list[str], float, int]:
        log_probs, out_lengths = self._log_probs(batch)
        loss, n = self._ctc(log_probs, out_lengths, batch)
        hyps = [self.decode_ids(ids) for ids in ctc_greedy_decode(log_probs, out_lengths)]
        refs = [
            self.decode_ids(t[:n_t])
            for t, n_t in zip(batch.targets.cpu(), batch.target_lengths.cpu().tolist())
        ]
        return hyps, refs, float(loss), n

    default_monitor = "cer"  # what picks the best epoch unless TrainConfig.monitor says otherwise

    def validation_metrics(
        self, outputs: Iterable[tuple[list[str], list[str], float, int]]
    ) -> dict[str, float]:
        outputs = list(outputs)
        hyps = [h for o in outputs for h in o[0]]
        refs = [r for o in outputs for r in o[1]]
        n = sum(o[3] for o in outputs)
        loss = sum(o[2] for o in outputs) / max(n, 1)
        return {"loss": loss, **asr_scores(hyps, refs)}

    # ------------------------------------------------------------------ data in and out
    def decode_ids(self, ids: Tensor | Sequence[int]) -> str:
        ids = ids.tolist() if isinstance(ids, Tensor) else list(ids)
        return "".join(self.chars.tokens[i] for i in ids if i != 0)

    def encode_text(self, text: str, origin: str) -> list[int] | None:
        """Character ids of a transcript; characters outside the alphabet as ``config.unknown_chars`` says
        (None when they are dropped and nothing is left of a non-empty transcript)."""
        norm = _normalize_text(text, self.config.lowercase)
        unknown = sorted({ch for ch in norm if ch not in self.chars})
        if unknown:
            if self.config.unknown_chars == "error":
                alphabet = "".join(self.chars.tokens[1:])
                raise ValueError(
                    f"{origin}: the transcript {text!r} has character(s) outside the alphabet: "
                    f"{', '.join(map(repr, unknown))}; the alphabet is {alphabet!r} "
                    "(set unknown_chars='drop' to remove them, or give an alphabet that has them)"
                )
            norm = " ".join("".join(ch for ch in norm if ch in self.chars).split())
        return self.chars.encode(list(norm))

    def encode(self, utterances: Sequence[Utterance], *, labelled: bool = True) -> list[EncodedUtterance]:
        """Read the audio and compute log-mel frames; encode the transcripts (when ``labelled``)."""
        out = []
        dropped = 0
        for u in utterances:
            target, text = None, None
            if labelled:
                if u.text is None:
                    raise ValueError(f'{u.origin}: expected a transcript ("text")')
                target = self.encode_text(u.text, u.origin)
                text = self.decode_ids(target)
                dropped += text != _normalize_text(u.text, self.config.lowercase)
            out.append(EncodedUtterance(self.audio_features(u.audio), target, text, u.origin))
        if dropped:
            log.warning(
                "%d transcript(s) had characters outside the alphabet; dropped (unknown_chars='drop')",
                dropped,
            )
        return out

    def fits(self, e: EncodedUtterance) -> bool:
        """Whether the utterance's output frames can hold its transcript (see ``ctc_min_frames``)."""
        return e.target is None or e.features.shape[0] // self.config.subsample >= ctc_min_frames(e.target)

    def collate(self, examples: Sequence[EncodedUtterance]) -> SpeechBatch:
        B = len(examples)
        if B == 0:
            raise ValueError("SpeechRecognizer.collate: expected at least one utterance, got none")
        lengths = torch.tensor([e.features.shape[0] for e in examples], dtype=torch.long)  # (B,)
        T = max(1, int(lengths.max()))
        features = torch.zeros(B, T, self.config.n_mels)  # (B, T, F)
        for b, e in enumerate(examples):
            features[b, : e.features.shape[0]] = e.features
        if any(e.target is None for e in examples):
            return SpeechBatch(features, lengths)
        target_lengths = torch.tensor([len(e.target) for e in examples], dtype=torch.long)  # (B,)
        targets = torch.zeros(B, max(1, int(target_lengths.max())), dtype=torch.long)  # (B, L)
        for b, e in enumerate(examples):
            targets[b, : len(e.target)] = torch.tensor(e.target, dtype=torch.long)
        return SpeechBatch(features, lengths, targets, target_lengths)

    @torch.no_grad()
    def transcribe(
        self,
        inputs: Sequence[Utterance | str | os.PathLike[str] | np.ndarray | EncodedUtterance],
        *,
        beam_size: int = 1,
        lm: NgramLM | None = None,
        lm_weight: float = 0.5,
        insertion_bonus: float = 0.0,
        batch_size: int = 16,
    ) -> list[str]:
        """Texts of audio files, utterances or sample arrays: greedy with ``beam_size`` 1 (and no LM), else
        CTC prefix beam search with optional shallow fusion of ``lm``."""
        was_training = self.training
        self.eval()
        encoded = [self._as_encoded(x, k) for k, x in enumerate(inputs)]
        texts: list[str] = [""] * len(encoded)
        order = sorted(range(len(encoded)), key=lambda i: encoded[i].features.shape[0])
        labels = ["", *self.chars.tokens[1:]]
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = self.collate([encoded[i]._replace(target=None) for i in idx])
            features = batch.features.to(self.feature_mean.device)
            lengths = batch.lengths.to(self.feature_mean.device)
            log_probs, out_lengths, _ = self(self.normalize(features, lengths), lengths)
            if beam_size <= 1 and lm is None:
                for i, ids in zip(idx, ctc_greedy_decode(log_probs, out_lengths)):
                    texts[i] = self.decode_ids(ids)
                continue
            for row, i in enumerate(idx):
                best = ctc_prefix_beam_search(
                    log_probs[row, : int(out_lengths[row])],
                    beam_size=beam_size,
                    lm=lm,
                    labels=labels,
                    lm_weight=lm_weight,
                    insertion_bonus=insertion_bonus,
                    top=1,
                )
                texts[i] = self.decode_ids(best[0].tokens) if best else ""
        self.train(was_training)
        return texts

    def _as_encoded(self, x: Any, k: int) -> EncodedUtterance:
        if isinstance(x, EncodedUtterance):
            return x
        if isinstance(x, Utterance):
            return EncodedUtterance(self.audio_features(x.audio), None, None, x.origin)
        if isinstance(x, (str, os.PathLike)):
            return EncodedUtterance(self.audio_features(x), None, None, str(x))
        if isinstance(x, (np.ndarray, Tensor)):
            return EncodedUtterance(self.audio_features(x), None, None, f"input {k + 1}")
        raise ValueError(
            f"SpeechRecognizer: expected an audio path, Utterance or samples at position {k}, "
            f"got {type(x).__name__}"
        )

    # ------------------------------------------------------------------ streaming
    def streamer(self) -> Streamer:
        """A ``Streamer`` for this (unidirectional) model."""
        return Streamer(self)

    def stream(
        self, audio: str | os.PathLike[str] | np.ndarray, chunk_ms: float = 100.0
    ) -> Iterator[StreamUpdate]:
        """Feed ``audio`` in chunks of ``chunk_ms`` and yield the growing transcript after each (the last
        update has ``final=True`` and the offline greedy text)."""
        samples = (
            read_audio(audio, self.config.sample_rate) if isinstance(audio, (str, os.PathLike)) else audio
        )
        samples = np.asarray(samples, dtype=np.float32)
        step = max(1, round(self.config.sample_rate * chunk_ms / 1000))
        s = self.streamer()
        for start in range(0, len(samples), step):
            yield s.feed(samples[start : start + step])
        yield s.finish()

    # ------------------------------------------------------------------ model files
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model folder: config, weights (feature statistics included), the alphabet."""
        return save_folder(path, KIND, asdict(self.config), self.state_dict(), {"chars": self.chars})

    @classmethod
    def load(cls, path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> SpeechRecognizer:
        """A recogniser from a folder written by ``save``; it transcribes exactly as the saved one did."""
        cfg, weights, vocabs, _ = load_folder(path, KIND, SpeechConfig)
        if "chars" not in vocabs:
            raise ValueError(f"{path}: the model folder lacks its character vocabulary (vocab-chars.json)")
        model = cls(cfg, vocabs["chars"])
        return load_weights(model, weights, path).to(map_location).eval()


class Streamer:
    """Incremental greedy recognition with a unidirectional ``SpeechRecognizer``.

    ``feed(samples)`` takes the next chunk (any length, at the model's sample rate) and returns a
    ``StreamUpdate`` with the transcript so far; ``finish()`` ends the stream. Between chunks it carries
    the samples that do not complete a frame yet, the frames that do not complete a stack of k yet, the
    recurrent state and the last output symbol (so a repeat across a chunk boundary is merged, as in one
    pass).
    """

    def __init__(self, model: SpeechRecognizer) -> None:
        c = model.config
        if c.bidirectional:
            raise ValueError(
                "Streamer: a bidirectional model needs the whole utterance (its backward direction reads "
                "from the end); train with bidirectional=False to stream"
            )
        if c.normalize == "utterance":
            raise ValueError(
                "Streamer: per-utterance normalisation needs the whole utterance; train with "
                "normalize='global' (or 'none') to stream"
            )
        self.model = model.eval()
        self.samples = np.zeros(0, dtype=np.float32)
        self.frames = torch.zeros(0, c.n_mels)  # (r, F), r < k: frames waiting for a full stack
        self.state: Any = None
        self.previous = -1  # the last output symbol (blank included)
        self.ids: list[int] = []
        self.received = 0
        self.done = False

    @property
    def text(self) -> str:
        return self.model.decode_ids(self.ids)

    @torch.no_grad()
    def feed(self, samples: np.ndarray | Tensor) -> StreamUpdate:
        import time

        if self.done:
            raise ValueError("Streamer.feed: the stream has finished; start a new one with model.streamer()")
        start = time.perf_counter()
        chunk = np.asarray(samples, dtype=np.float32).reshape(-1)
        self.received += len(chunk)
        m, c = self.model, self.model.config
        self.samples = np.concatenate([self.samples, chunk])
        n = m.features.frames(len(self.samples))
        if n > 0:
            used = c.n_fft + (n - 1) * c.hop_length
            feats = m.audio_features(self.samples[:used]).cpu()  # (n, F)
            self.samples = self.samples[n * c.hop_length :]
            frames = torch.cat([self.frames, feats])  # (r + n, F)
            whole = frames.shape[0] // c.subsample * c.subsample
            self.frames = frames[whole:]
            if whole:
                x = frames[:whole][None].to(m.feature_mean.device)  # (1, whole, F)
                lengths = torch.tensor([whole], device=x.device)
                log_probs, _, self.state = m(m.normalize(x, lengths), lengths, self.state)
                for i in log_probs[0].argmax(dim=-1).tolist():
                    if i != self.previous and i != 0:
                        self.ids.append(i)
                    self.previous = i
        return StreamUpdate(self.text, self.received / c.sample_rate, time.perf_counter() - start, False)

    def finish(self) -> StreamUpdate:
        """End the stream (a leftover of fewer than k frames is dropped, as offline)."""
        self.done = True
        return StreamUpdate(self.text, self.received / self.model.config.sample_rate, 0.0, True)


def _normalize_text(text: str, lowercase: bool) -> str:
    text = " ".join(text.split())
    return text.lower() if lowercase else text
