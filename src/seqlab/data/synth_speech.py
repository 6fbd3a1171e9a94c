"""A real-audio speech corpus from synthesisers: espeak-ng and flite speaking digit strings and sentences.

No English ASR corpus can be installed here, so ``synthesize_corpus`` makes one: the Debian synthesisers
``espeak-ng`` (formant synthesis; 8 English accents × many voice variants) and ``flite`` (diphone / cluster
unit voices kal, kal16, awb, rms, slt) speak

- ``digits``: strings of 3–8 digits as words, "three one four one five";
- ``sentences``: short sentences from a small grammar, "the old farmer sees a red boat";

at a random speed and pitch (espeak ``-s`` / ``-p``; flite ``duration_stretch`` / ``int_f0_target_mean``),
with a random gain, 0–0.25 s of extra silence at each end and white or pink background noise at a random
SNR, written as 16 kHz 16-bit WAV. A *voice* is one espeak variant (m1…m8, f1…f5 and named variants such
as Andy or klatt2) or one flite voice; the voices are split between train, dev and test, so test voices are
never heard in training (every espeak accent occurs in every split, spoken by other voices). The manifests
``train.jsonl``, ``dev.jsonl`` and ``test.jsonl`` carry ``audio``, ``text``, ``voice`` and ``duration``.

Everything is drawn from ``numpy.random.default_rng([seed, split, index])``, so a corpus is the same for the
same seed, settings and synthesiser versions (recorded in ``corpus.json``).

Debian packages: ``apt-get install espeak-ng flite``; an engine that is not installed is left out (logged);
with neither, ``synthesize_corpus`` raises a ValueError saying what to install.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from seqlab.data._io import atomic_write_text
from seqlab.data.audio import _load, resample, write_audio

__all__ = [
    "DIGIT_WORDS",
    "ESPEAK_ACCENTS",
    "SPLIT_VOICES",
    "SynthConfig",
    "Voice",
    "available_engines",
    "digit_string",
    "sentence",
    "synthesize",
    "synthesize_corpus",
]

log = logging.getLogger(__name__)

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ESPEAK_ACCENTS = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
# Voices by split: espeak-ng variants (any accent) and flite voices. Disjoint, so that the test voices are
# never heard in training.
_TRAIN_ESPEAK = [
    "m1",
    "m2",
    "m4",
    "m5",
    "m7",
    "m8",
    "f1",
    "f3",
    "f5",
    "Andy",
    "Alicia",
    "Belinda",
    "Benjamin",
    "David",
    "Ed",
    "Gene",
    "John",
    "Lee",
    "Linda",
    "Max",
    "Michael",
    "Rob",
    "Robert",
    "Zac",
    "klatt",
    "klatt3",
    "croak",
    "grandpa",
]
SPLIT_VOICES = {
    "train": {"espeak-ng": tuple(_TRAIN_ESPEAK), "flite": ("kal", "rms", "slt")},
    "dev": {"espeak-ng": ("m6", "f4", "Mike", "Steph"), "flite": ("kal16",)},
    "test": {"espeak-ng": ("m3", "f2", "Annie", "Jacky", "Paul", "klatt2"), "flite": ("awb",)},
}
SPLITS = ("train", "dev", "test")

_ADJECTIVES = ("old", "red", "small", "happy", "quiet", "green", "brave", "lazy", "bright", "cold")
_NOUNS = ("farmer", "boat", "house", "river", "teacher", "garden", "dog", "city", "window", "song")
_VERBS = ("sees", "finds", "likes", "paints", "builds", "follows", "hears", "opens", "carries", "wants")
_DETERMINERS = ("the", "a", "my", "one")


@dataclass(frozen=True)
class SynthConfig:
    """What ``synthesize_corpus`` makes."""

    train: int = 2000  # clips per split
    dev: int = 200
    test: int = 300
    kind: str = "digits"  # digits | sentences | mixed (half and half)
    min_digits: int = 3
    max_digits: int = 8
    sample_rate: int = 16000
    snr_min: float = 10.0  # background noise, dB
    snr_max: float = 30.0
    engines: tuple[str, ...] = ("espeak-ng", "flite")
    flite_share: float = 0.2  # share of clips spoken by flite voices (when flite is installed)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("digits", "sentences", "mixed"):
            raise ValueError(f"SynthConfig: unknown kind {self.kind!r}; known: digits, sentences, mixed")
        for name in ("train", "dev", "test"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"SynthConfig: expected {name} to be an integer ≥ 0, got {value!r}")
        if not 1 <= self.min_digits <= self.max_digits:
            raise ValueError(
                f"SynthConfig: expected 1 ≤ min_digits ≤ max_digits, got {self.min_digits}, {self.max_digits}"
            )
        if not self.snr_min <= self.snr_max:
            raise ValueError(f"SynthConfig: expected snr_min ≤ snr_max, got {self.snr_min}, {self.snr_max}")
        unknown = sorted(set(self.engines) - {"espeak-ng", "flite"})
        if unknown:
            raise ValueError(f"SynthConfig: unknown engine(s) {unknown}; known: espeak-ng, flite")


@dataclass(frozen=True)
class Voice:
    engine: str  # espeak-ng | flite
    name: str  # espeak: accent+variant ("en-gb+m3"); flite: the voice ("slt")
    speaker: str  # what the split is by: the espeak variant or the flite voice


def available_engines() -> tuple[str, ...]:
    """The synthesisers on PATH."""
    return tuple(e for e in ("espeak-ng", "flite") if shutil.which(e) is not None)


def digit_string(rng: np.random.Generator, min_digits: int = 3, max_digits: int = 8) -> str:
    n = int(rng.integers(min_digits, max_digits + 1))
    return " ".join(DIGIT_WORDS[int(d)] for d in rng.integers(0, 10, n))


def sentence(rng: np.random.Generator) -> str:
    def pick(words: Sequence[str]) -> str:
        return words[int(rng.integers(len(words)))]

    subject = f"{pick(_DETERMINERS)} {pick(_ADJECTIVES)} {pick(_NOUNS)}"
    obj = f"{pick(_DETERMINERS)} {pick(_NOUNS)}" if rng.random() < 0.5 else pick(_NOUNS) + "s"
    return f"{subject} {pick(_VERBS)} {obj}"


def synthesize(
    text: str, voice: Voice, *, speed: float, pitch: float, sample_rate: int, workdir: Path
) -> np.ndarray:
    """Samples of ``text`` spoken by ``voice``; ``speed`` ∈ [0.75, 1.3] (1 = normal), ``pitch`` ∈ [0, 1]."""
    wav = workdir / "clip.wav"
    if voice.engine == "espeak-ng":
        cmd = [
            "espeak-ng",
            "-v",
            voice.name,
            "-s",
            str(round(160 * speed)),
            "-p",
            str(round(20 + 60 * pitch)),
            "-w",
            str(wav),
            text,
        ]
    else:
        cmd = [
            "flite",
            "-voice",
            voice.name,
            "-t",
            text,
            "-o",
            str(wav),
            "--setf",
            f"duration_stretch={1.0 / speed:.3f}",
            "--setf",
            f"int_f0_target_mean={round(90 + 80 * pitch)}",
        ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ValueError(f"{voice.engine} failed for voice {voice.name!r}: {proc.stderr.strip()}")
    x, rate = _load(wav)
    return resample(x, rate, sample_rate)


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    white = rng.standard_normal(n)
    if rng.random() < 0.5:
        return white
    spectrum = np.fft.rfft(white)
    spectrum /= np.sqrt(np.arange(1, len(spectrum) + 1))  # pink: power ∝ 1/f
    return np.fft.irfft(spectrum, n)


def _voices(split: str, engines: Sequence[str]) -> list[Voice]:
    out = []
    for engine in engines:
        for speaker in SPLIT_VOICES[split][engine]:
            if engine == "espeak-ng":
                out.extend(Voice(engine, f"{accent}+{speaker}", speaker) for accent in ESPEAK_ACCENTS)
            else:
                out.append(Voice(engine, speaker, speaker))
    return out


def synthesize_corpus(out_dir: str | os.PathLike[str], config: SynthConfig | None = None) -> dict[str, Path]:
    """Write the clips and ``train.jsonl``, ``dev.jsonl``, ``test.jsonl`` under ``out_dir``; return them."""
    config = config or SynthConfig()
    engines = [e for e in config.engines if e in available_engines()]
    missing = sorted(set(config.engines) - set(engines))
    if missing:
        log.warning(
            "synthesiser(s) not installed, left out: %s (apt-get install %s)", missing, " ".join(missing)
        )
    if not engines:
        raise ValueError(
            "synthesize_corpus: no speech synthesiser found; install one: apt-get install espeak-ng flite"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifests = {}
    with tempfile.TemporaryDirectory() as tmp:
        for s, split in enumerate(SPLITS):
            count = getattr(config, split)
            by_engine = {e: _voices(split, [e]) for e in engines}
            (out_dir / split).mkdir(exist_ok=True)
            records = []
            for k in range(count):
                rng = np.random.default_rng([config.seed, s, k])
                engine = engines[0]
                if len(engines) > 1:
                    engine = "flite" if rng.random() < config.flite_share else "espeak-ng"
                voices = by_engine[engine]
                voice = voices[int(rng.integers(len(voices)))]
                digits = config.kind == "digits" or (config.kind == "mixed" and rng.random() < 0.5)
                text = digit_string(rng, config.min_digits, config.max_digits) if digits else sentence(rng)
                speed, pitch = float(rng.uniform(0.8, 1.25)), float(rng.uniform(0.0, 1.0))
                x = synthesize(
                    text, voice, speed=speed, pitch=pitch, sample_rate=config.sample_rate, workdir=Path(tmp)
                )
                pad = rng.integers(0, config.sample_rate // 4, 2)
                x = np.concatenate([np.zeros(pad[0]), x, np.zeros(pad[1])])
                x = x / max(np.abs(x).max(), 1e-6) * rng.uniform(0.3, 0.9)
                snr = rng.uniform(config.snr_min, config.snr_max)
                noise = _noise(rng, len(x))
                signal_power = np.mean(x[np.abs(x) > 0.01 * np.abs(x).max()] ** 2)
                noise *= np.sqrt(signal_power / 10 ** (snr / 10) / np.mean(noise**2))
                x = x + noise
                x = x / max(1.0, np.abs(x).max())
                name = f"{split}/{split}-{k:05d}.wav"
                write_audio(out_dir / name, x.astype(np.float32), config.sample_rate)
                records.append(
                    {
                        "audio": name,
                        "text": text,
                        "voice": f"{voice.engine}:{voice.name}",
                        "duration": round(len(x) / config.sample_rate, 3),
                        "snr_db": round(float(snr), 1),
                    }
                )
            manifests[split] = out_dir / f"{split}.jsonl"
            atomic_write_text(
                manifests[split], "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
            )
            log.info("%s: %d clips by %d voices", split, count, len(set(r["voice"] for r in records)))
    info = {"config": asdict(config), "engines": {e: _version(e) for e in engines}}
    atomic_write_text(out_dir / "corpus.json", json.dumps(info, indent=2) + "\n")
    return manifests


def _version(engine: str) -> str:
    flag = "--version"
    proc = subprocess.run([engine, flag], capture_output=True, text=True, check=False)
    return (proc.stdout or proc.stderr).strip().splitlines()[0] if (proc.stdout or proc.stderr) else "?"
