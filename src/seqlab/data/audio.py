"""Audio for speech recognition: reading, resampling, log-mel features, normalisation, SpecAugment, manifests.

- ``read_audio(path, sample_rate)``: WAV/FLAC/OGG through ``soundfile`` as mono float32 in [-1, 1];
  another rate is resampled (polyphase, ``scipy.signal.resample_poly``) and logged; several channels are
  averaged. Unreadable or empty audio is a ValueError naming the file.
- ``mel_filterbank``: triangular filters on the mel scale, Slaney's (librosa's default) or HTK's, with
  Slaney area normalisation — the same matrix as ``librosa.filters.mel`` (checked in the tests).
- ``LogMel``: x (B, N) samples → (B, T, F) log-mel frames with ``torch.stft``: a Hann window of
  ``n_fft`` samples every ``hop_length`` samples, *not* centred, so frame t covers samples
  [t·hop, t·hop + n_fft) and a stream cut into chunks gives exactly the frames of one pass
  (``frame_count(N) = 1 + (N − n_fft) // hop`` for N ≥ n_fft, else 0). log(power mel + 1e-6).
- ``utterance_normalize`` and ``feature_statistics``: per-utterance mean/variance normalisation, or the
  training set's global statistics (which a model saves as buffers and which also work while streaming).
- ``spec_augment``: SpecAugment's frequency and time masks (Park et al. 2019), without time warping.
- ``Utterance``, ``read_manifest``, ``write_manifest``: JSONL manifests, one ``{"audio": path, "text": ...}``
  per line (the NeMo/ESPnet convention; NeMo's ``audio_filepath`` is accepted as well), relative paths
  resolved against the manifest's folder.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterable, Sequence
from math import gcd
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from seqlab.data._io import atomic_write_text, json_object, read_lines

__all__ = [
    "MEL_SCALES",
    "LogMel",
    "Utterance",
    "feature_statistics",
    "frame_count",
    "hz_to_mel",
    "mel_filterbank",
    "mel_to_hz",
    "read_audio",
    "read_manifest",
    "resample",
    "spec_augment",
    "utterance_normalize",
    "write_audio",
    "write_manifest",
]

log = logging.getLogger(__name__)

MEL_SCALES = ("slaney", "htk")


# ---------------------------------------------------------------------------------------------- reading
def read_audio(path: str | os.PathLike[str], sample_rate: int = 16000) -> np.ndarray:
    """Mono float32 samples (N,) of an audio file at ``sample_rate`` (resampled if the file has another)."""
    x, rate = _load(path)
    if rate != sample_rate:
        log.info("%s: resampled from %d Hz to %d Hz", path, rate, sample_rate)
        x = resample(x, rate, sample_rate)
    return np.ascontiguousarray(x, dtype=np.float32)


def _load(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Mono samples (N,) and the file's sample rate."""
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: audio file does not exist")
    try:
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError, TypeError) as err:  # LibsndfileError is a RuntimeError
        raise ValueError(
            f"{path}: cannot read audio ({err}); expected a WAV, FLAC or OGG file that soundfile can open"
        ) from None
    if samples.shape[0] == 0:
        raise ValueError(f"{path}: the audio is empty (0 samples)")
    return (samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]), rate  # (N,)


def write_audio(path: str | os.PathLike[str], samples: np.ndarray, sample_rate: int) -> None:
    """Write mono samples in [-1, 1] as 16-bit PCM WAV (or FLAC by suffix)."""
    import soundfile as sf

    sf.write(str(path), np.clip(samples, -1.0, 1.0), sample_rate, subtype="PCM_16")


def resample(x: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Polyphase resampling (a Kaiser-windowed FIR low-pass) from ``orig_rate`` to ``target_rate``."""
    from scipy.signal import resample_poly

    for name, value in (("orig_rate", orig_rate), ("target_rate", target_rate)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"resample: expected {name} to be a positive integer (Hz), got {value!r}")
    if orig_rate == target_rate:
        return np.asarray(x, dtype=np.float32)
    g = gcd(orig_rate, target_rate)
    return resample_poly(np.asarray(x, dtype=np.float64), target_rate // g, orig_rate // g).astype(np.float32)


# ---------------------------------------------------------------------------------------------- features
def hz_to_mel(f: np.ndarray | float, scale: str = "slaney") -> np.ndarray:
    """HTK: 2595 log10(1 + f/700). Slaney: linear below 1 kHz (f / (200/3)), logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + f / 700.0)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0
    return np.where(
        f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, f / f_sp
    )


def mel_to_hz(m: np.ndarray | float, scale: str = "slaney") -> np.ndarray:
    """The inverse of ``hz_to_mel``."""
    m = np.asarray(m, dtype=np.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_filterbank(
    sample_rate: int,
    n_fft: int,
    n_mels: int,
    f_min: float = 0.0,
    f_max: float | None = None,
    scale: str = "slaney",
) -> Tensor:
    """(n_fft // 2 + 1, n_mels) triangular mel filters, Slaney-normalised (each filter's area is 2/width).

    The n_mels + 2 edges are equally spaced in mel between f_min and f_max (default: sample_rate / 2);
    filter m rises linearly from edge m to edge m+1 and falls to edge m+2 (in Hz, on the FFT bin
    frequencies), then is scaled by 2 / (f_{m+2} − f_m). ``librosa.filters.mel(sr=..., n_fft=...,
    n_mels=..., fmin=..., fmax=..., htk=scale == "htk")`` is the transpose of this matrix.
    """
    if scale not in MEL_SCALES:
        raise ValueError(f"mel_filterbank: unknown scale {scale!r}; known: {', '.join(MEL_SCALES)}")
    f_max = sample_rate / 2 if f_max is None else f_max
    if not 0.0 <= f_min < f_max <= sample_rate / 2:
        raise ValueError(
            f"mel_filterbank: expected 0 ≤ f_min < f_max ≤ sample_rate/2 = {sample_rate / 2:g}, "
            f"got f_min={f_min!r}, f_max={f_max!r}"
        )
    fft_freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)  # (n_freqs,)
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min, scale), hz_to_mel(f_max, scale), n_mels + 2), scale)
    widths = np.diff(edges)  # (n_mels + 1,)
    ramps = edges[:, None] - fft_freqs[None, :]  # (n_mels + 2, n_freqs)
    lower = -ramps[:-2] / widths[:-1, None]  # rising edge
    upper = ramps[2:] / widths[1:, None]  # falling edge
    weights = np.maximum(0.0, np.minimum(lower, upper))  # (n_mels, n_freqs)
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]  # Slaney area normalisation
    return torch.tensor(weights.T, dtype=torch.float32)  # (n_freqs, n_mels)


def frame_count(num_samples: int, n_fft: int, hop_length: int) -> int:
    """How many whole frames ``LogMel`` makes of ``num_samples`` samples (frames are not centred)."""
    return 0 if num_samples < n_fft else 1 + (num_samples - n_fft) // hop_length


class LogMel(nn.Module):
    """Log-mel filterbank features: samples (B, N) → (B, T, n_mels), T = ``frame_count(N)``.

    Power spectrum |STFT|² of Hann-windowed frames (``torch.stft``, ``center=False``), times the mel
    filterbank, then log(· + 1e-6). No pre-emphasis, no dithering: the same samples always give the same
    features.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 400,
        hop_length: int = 160,
        n_mels: int = 80,
        f_min: float = 0.0,
        f_max: float | None = None,
        scale: str = "slaney",
    ) -> None:
        super().__init__()
        if not 1 <= hop_length <= n_fft:
            raise ValueError(f"LogMel: expected 1 ≤ hop_length ≤ n_fft={n_fft}, got {hop_length!r}")
        self.sample_rate, self.n_fft, self.hop_length, self.n_mels = sample_rate, n_fft, hop_length, n_mels
        self.register_buffer("window", torch.hann_window(n_fft, periodic=True), persistent=False)
        self.register_buffer(
            "filters", mel_filterbank(sample_rate, n_fft, n_mels, f_min, f_max, scale), persistent=False
        )

    def forward(self, samples: Tensor) -> Tensor:
        if samples.dim() != 2:
            raise ValueError(f"LogMel: expected samples of shape (B, N), got {tuple(samples.shape)}")
        B, N = samples.shape
        T = frame_count(N, self.n_fft, self.hop_length)
        if T == 0:
            return samples.new_zeros(B, 0, self.n_mels)
        spec = torch.stft(
            samples[:, : self.n_fft + (T - 1) * self.hop_length],
            self.n_fft,
            self.hop_length,
            window=self.window,
            center=False,
            return_complex=True,
        )  # (B, n_freqs, T)
        power = spec.real.square() + spec.imag.square()
        return torch.log(power.transpose(1, 2) @ self.filters + 1e-6)  # (B, T, n_mels)

    def frames(self, num_samples: int) -> int:
        return frame_count(num_samples, self.n_fft, self.hop_length)


def utterance_normalize(features: Tensor, lengths: Tensor) -> Tensor:
    """Each utterance's features (B, T, F) to mean 0 and variance 1 per feature over its own frames."""
    T = features.shape[1]
    mask = (torch.arange(T, device=features.device)[None, :] < lengths[:, None]).unsqueeze(-1)  # (B, T, 1)
    n = lengths.clamp(min=1).to(features.dtype)[:, None, None]
    mean = (features * mask).sum(dim=1, keepdim=True) / n  # (B, 1, F)
    var = ((features - mean).square() * mask).sum(dim=1, keepdim=True) / n
    return ((features - mean) / (var + 1e-5).sqrt()) * mask


def feature_statistics(features: Iterable[Tensor]) -> tuple[Tensor, Tensor]:
    """Per-feature mean and standard deviation over every frame of every (T, F) array (std ≥ 1e-3)."""
    total, total_sq, n = None, None, 0
    for f in features:
        f = f.double()
        total = f.sum(0) if total is None else total + f.sum(0)
        total_sq = f.square().sum(0) if total_sq is None else total_sq + f.square().sum(0)
        n += f.shape[0]
    if total is None or n == 0:
        raise ValueError("feature_statistics: expected at least one frame, got none")
    mean = total / n
    std = (total_sq / n - mean.square()).clamp(min=0).sqrt().clamp(min=1e-3)
    return mean.float(), std.float()


def spec_augment(
    features: Tensor,
    lengths: Tensor,
    *,
    freq_masks: int = 2,
    freq_width: int = 15,
    time_masks: int = 2,
    time_width: int = 20,
    generator: torch.Generator | None = None,
) -> Tensor:
    """SpecAugment masks on (B, T, F) features: per utterance, ``freq_masks`` bands of 0…freq_width
    features and ``time_masks`` spans of 0…time_width frames (at most a fifth of its length) set to 0 —
    the mean, for normalised features. Returns a new tensor."""
    B, T, F = features.shape
    keep = torch.ones(B, T, F, dtype=torch.bool, device=features.device)
    freq = torch.arange(F, device=features.device)
    time = torch.arange(T, device=features.device)
    for b in range(B):
        n = int(lengths[b])
        for _ in range(freq_masks):
            w = int(torch.randint(0, freq_width + 1, (1,), generator=generator))
            f0 = int(torch.randint(0, max(1, F - w), (1,), generator=generator))
            keep[b, :, (freq >= f0) & (freq < f0 + w)] = False
        for _ in range(time_masks):
            w = int(torch.randint(0, min(time_width, n // 5) + 1, (1,), generator=generator))
            t0 = int(torch.randint(0, max(1, n - w), (1,), generator=generator))
            keep[b, (time >= t0) & (time < t0 + w), :] = False
    return features * keep


# ---------------------------------------------------------------------------------------------- manifests
class Utterance(NamedTuple):
    """One line of a manifest: an audio file and (for training and evaluation) its transcript."""

    audio: Path
    text: str | None
    origin: str  # "manifest.jsonl:12", for error messages


def read_manifest(path: str | os.PathLike[str], *, labelled: bool = True) -> list[Utterance]:
    """The utterances of a JSONL manifest; relative audio paths are resolved against its folder.

    Each non-blank line is an object with ``"audio"`` (or NeMo's ``"audio_filepath"``) and, when
    ``labelled``, ``"text"``; other keys (``duration``, ``speaker``, …) are ignored.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: manifest does not exist")
    out = []
    for lineno, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        record = json_object(line, where, 'a JSON object like {"audio": "a.wav", "text": "..."}')
        audio = record.get("audio", record.get("audio_filepath"))
        if not isinstance(audio, str) or not audio:
            raise ValueError(f'{where}: expected an "audio" path (a string), got {audio!r}')
        text = record.get("text")
        if labelled and not isinstance(text, str):
            raise ValueError(f'{where}: expected a "text" transcript (a string), got {text!r}')
        if text is not None and not isinstance(text, str):
            raise ValueError(f'{where}: expected "text" to be a string, got {text!r}')
        file = Path(audio)
        out.append(Utterance(file if file.is_absolute() else path.parent / file, text, where))
    if not out:
        raise ValueError(f"{path}: the manifest holds no utterances")
    return out


def write_manifest(
    path: str | os.PathLike[str], utterances: Sequence[Utterance | dict], *, relative: bool = True
) -> None:
    """Write utterances as JSONL (audio paths relative to the manifest's folder when ``relative``)."""
    path = Path(path)
    lines = []
    for u in utterances:
        record = dict(u) if isinstance(u, dict) else {"audio": str(u.audio), "text": u.text}
        audio = Path(record["audio"])
        if relative and audio.is_absolute():
            try:
                record["audio"] = os.path.relpath(audio, path.parent.resolve())
            except ValueError:  # another drive on Windows
                record["audio"] = str(audio)
        lines.append(json.dumps(record, ensure_ascii=False))
    atomic_write_text(path, "\n".join(lines) + "\n")
