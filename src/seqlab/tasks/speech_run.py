"""Train, evaluate, transcribe and stream with a ``SpeechRecognizer``: what ``seqlab transcribe`` calls.

>>> from seqlab.tasks.speech_run import SpeechData, train_speech, evaluate_speech
>>> data = SpeechData(train="corpus/train.jsonl", dev="corpus/dev.jsonl")
>>> model, result = train_speech(data, SpeechConfig(), TrainConfig(max_epochs=20, out_dir="runs/asr"))
>>> evaluate_speech(model, read_manifest("corpus/test.jsonl"))["wer"]

Manifests are JSONL files of ``{"audio": path, "text": transcript}`` (``seqlab.data.audio.read_manifest``);
``seqlab transcribe synth`` writes a synthetic one (``seqlab.data.synth_speech``).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seqlab.data import bucket_loaders
from seqlab.data.audio import Utterance, read_audio, read_manifest
from seqlab.metrics.speech import asr_scores
from seqlab.nn.ctc import NgramLM
from seqlab.training import TrainConfig, TrainResult, fit

from .speech import EncodedUtterance, SpeechConfig, SpeechRecognizer

__all__ = [
    "SpeechData",
    "evaluate_speech",
    "predict_speech",
    "stream_lines",
    "streaming_benchmark",
    "train_speech",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpeechData:
    """Where the training utterances come from: JSONL manifests."""

    train: str | None = None  # manifest of training utterances
    dev: str | None = None  # manifest of validation utterances
    max_train_utterances: int | None = None  # a seeded subset, for quick runs
    split_seed: int = 0
    batch_size: int = 16

    def __post_init__(self) -> None:
        if self.train is None or self.dev is None:
            raise ValueError(
                'SpeechData: give --train and --dev manifests (JSONL: {"audio": ..., "text": ...})'
            )
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"SpeechData: expected batch_size ≥ 1, got {self.batch_size!r}")
        if self.max_train_utterances is not None and self.max_train_utterances < 1:
            raise ValueError(
                f"SpeechData: expected max_train_utterances ≥ 1 or None, got {self.max_train_utterances!r}"
            )


def _fitting(model: SpeechRecognizer, encoded: list[EncodedUtterance], what: str) -> list[EncodedUtterance]:
    """The utterances long enough for their transcripts; the others are counted in the log and left out."""
    kept = [e for e in encoded if model.fits(e)]
    if len(kept) < len(encoded):
        first = next(e for e in encoded if not model.fits(e))
        log.warning(
            "%d %s utterance(s) are too short for their transcripts (CTC needs at least one output frame "
            "per character, plus one per repeated pair, at %d ms per frame); skipped (first: %s)",
            len(encoded) - len(kept),
            what,
            round(1000 * model.config.subsample * model.config.hop_length / model.config.sample_rate),
            first.origin,
        )
    if not kept:
        raise ValueError(f"no {what} utterance is long enough for its transcript")
    return kept


def train_speech(
    data: SpeechData, config: SpeechConfig, train_config: TrainConfig, *, resume: bool = False
) -> tuple[SpeechRecognizer, TrainResult]:
    """Build the alphabet and feature statistics from the training manifest, train, save the best model.

    The model folder is written to ``train_config.out_dir / "model"``; the best epoch is the one with the
    lowest dev CER unless ``train_config.monitor`` says otherwise.
    """
    import torch

    train = read_manifest(data.train)
    dev = read_manifest(data.dev)
    if data.max_train_utterances is not None and data.max_train_utterances < len(train):
        train = random.Random(data.split_seed).sample(train, data.max_train_utterances)
    torch.manual_seed(train_config.seed)
    start = time.perf_counter()
    # the features once: the alphabet and statistics come from the utterances, their features are reused
    probe = SpeechRecognizer.from_data(train, _no_stats(config))
    features = [probe.audio_features(u.audio) for u in train]
    torch.manual_seed(train_config.seed)
    model = SpeechRecognizer.from_data(train, config, features=features)
    train_set = [
        EncodedUtterance(f, model.encode_text(u.text, u.origin), None, u.origin)
        for u, f in zip(train, features)
    ]
    train_set = _fitting(model, train_set, "training")
    dev_set = _fitting(model, model.encode(dev), "dev")
    log.info(
        "features of %d training and %d dev utterances in %.1f s; alphabet %r",
        len(train_set),
        len(dev_set),
        time.perf_counter() - start,
        "".join(model.chars.tokens[1:]),
    )
    train_loader, dev_loader = bucket_loaders(
        train_set, dev_set, lambda e: e.features.shape[0], model.collate, data.batch_size, train_config.seed
    )
    result = fit(model, train_loader, dev_loader, train_config, resume=resume)
    model.save(Path(train_config.out_dir) / "model")
    return model, result


def _no_stats(config: SpeechConfig) -> SpeechConfig:
    from dataclasses import replace

    return replace(config, normalize="none")


def evaluate_speech(
    model: SpeechRecognizer,
    utterances: Sequence[Utterance],
    *,
    beam_size: int = 1,
    lm: NgramLM | None = None,
    lm_weight: float = 0.5,
    insertion_bonus: float = 0.0,
    by: str | None = None,
    metadata: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """WER and CER of ``model`` on labelled utterances (transcripts normalised as in training).

    ``by``: also score each group of utterances that share ``metadata[i][by]`` (e.g. ``"voice"``).
    """
    if not utterances:
        raise ValueError("evaluate_speech: expected at least one utterance, got none")
    refs = [model.decode_ids(model.encode_text(u.text, u.origin)) for u in utterances]
    start = time.perf_counter()
    hyps = model.transcribe(
        list(utterances), beam_size=beam_size, lm=lm, lm_weight=lm_weight, insertion_bonus=insertion_bonus
    )
    seconds = time.perf_counter() - start
    result: dict[str, Any] = {
        **asr_scores(hyps, refs),
        "utterances": len(utterances),
        "seconds": round(seconds, 3),
    }
    if by is not None and metadata is not None:
        groups: dict[str, list[int]] = {}
        for i, m in enumerate(metadata):
            groups.setdefault(str(m.get(by)), []).append(i)
        result[f"by_{by}"] = {
            g: {**asr_scores([hyps[i] for i in idx], [refs[i] for i in idx]), "utterances": len(idx)}
            for g, idx in sorted(groups.items())
        }
    result["examples"] = [{"ref": r, "hyp": h} for r, h in list(zip(refs, hyps))[:5]]
    return result


def predict_speech(
    model: SpeechRecognizer,
    inputs: Sequence[Utterance],
    *,
    beam_size: int = 1,
    lm: NgramLM | None = None,
    lm_weight: float = 0.5,
    insertion_bonus: float = 0.0,
) -> Iterator[str]:
    """One JSON line per input: its audio path and text."""
    for start in range(0, len(inputs), 64):
        chunk = list(inputs[start : start + 64])
        texts = model.transcribe(
            chunk, beam_size=beam_size, lm=lm, lm_weight=lm_weight, insertion_bonus=insertion_bonus
        )
        for u, text in zip(chunk, texts):
            yield json.dumps({"audio": str(u.audio), "text": text}, ensure_ascii=False) + "\n"


def stream_lines(model: SpeechRecognizer, path: str | Path, chunk_ms: float = 100.0) -> Iterator[str]:
    """The partial transcripts of streaming ``path``, one JSON line per chunk whose text changed, and a final
    line with the real-time factor and the mean and largest per-chunk latency."""
    samples = read_audio(path, model.config.sample_rate)
    shown = None
    latencies = []
    final = None
    for update in model.stream(samples, chunk_ms=chunk_ms):
        if not update.final:
            latencies.append(update.compute_seconds)
        if update.text != shown and not update.final:
            shown = update.text
            yield (
                json.dumps({"t": round(update.audio_seconds, 3), "partial": update.text}, ensure_ascii=False)
                + "\n"
            )
        final = update
    duration = len(samples) / model.config.sample_rate
    yield (
        json.dumps(
            {
                "text": final.text,
                "audio_seconds": round(duration, 3),
                "rtf": round(sum(latencies) / duration, 4) if duration else 0.0,
                "chunk_ms": chunk_ms,
                "latency_ms_mean": round(1000 * float(np.mean(latencies)), 3) if latencies else 0.0,
                "latency_ms_max": round(1000 * float(np.max(latencies)), 3) if latencies else 0.0,
            },
            ensure_ascii=False,
        )
        + "\n"
    )


def streaming_benchmark(
    model: SpeechRecognizer, utterances: Sequence[Utterance], chunk_ms: float = 100.0
) -> dict[str, Any]:
    """Stream every utterance in ``chunk_ms`` chunks: real-time factor (compute / audio seconds), per-chunk
    latency (mean, p95, max) and whether every final text equals the offline greedy transcript."""
    audio = [read_audio(u.audio, model.config.sample_rate) for u in utterances]
    offline = model.transcribe(audio)
    latencies, compute, seconds, same = [], 0.0, 0.0, 0
    for samples, text in zip(audio, offline):
        final = None
        for update in model.stream(samples, chunk_ms=chunk_ms):
            if not update.final:
                latencies.append(update.compute_seconds)
                compute += update.compute_seconds
            final = update
        seconds += len(samples) / model.config.sample_rate
        same += final.text == text
    lat = np.array(latencies) * 1000
    return {
        "utterances": len(utterances),
        "audio_seconds": round(seconds, 2),
        "rtf": compute / seconds,
        "chunk_ms": chunk_ms,
        "latency_ms_mean": float(lat.mean()),
        "latency_ms_p95": float(np.percentile(lat, 95)),
        "latency_ms_max": float(lat.max()),
        "final_equals_offline": same / len(utterances),
    }
