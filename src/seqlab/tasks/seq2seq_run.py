"""Train, evaluate and predict with a ``Seq2Seq`` model on files — what ``seqlab translate`` calls.

>>> from seqlab.tasks.seq2seq_run import TransductionData, train_seq2seq, evaluate_seq2seq
>>> model, result = train_seq2seq(TransductionData(corpus="cmudict_g2p"),
...                               Seq2SeqConfig(target_tokens="word"), TrainConfig(max_epochs=10))
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from seqlab.data import (
    DATE_LOCALES,
    NUMBER_LANGUAGES,
    TRANSDUCTION_CORPORA,
    Pair,
    bucket_loaders,
    language_tag,
    read_parallel,
)
from seqlab.metrics import bleu, chrf, exact_match, phoneme_error_rate, word_error_rate
from seqlab.training import TrainConfig, TrainResult, fit

from .seq2seq import Seq2Seq, Seq2SeqConfig, Translation

__all__ = [
    "FORMATS",
    "TransductionData",
    "corpus_defaults",
    "corpus_pairs",
    "evaluate_seq2seq",
    "load_pairs",
    "predict_lines",
    "train_seq2seq",
    "training_pairs",
]

log = logging.getLogger(__name__)

FORMATS = ("auto", "tsv", "jsonl")


@dataclass(frozen=True)
class TransductionData:
    """Where the training pairs come from: files, or a bundled corpus (``corpus=``)."""

    train: str | None = None
    dev: str | None = None
    format: str = "auto"  # auto (by suffix) | tsv | jsonl
    source_field: str = "source"  # JSONL keys
    target_field: str = "target"
    corpus: str | None = None  # cmudict_g2p | numbers_to_words | words_to_numbers | dates_to_iso
    corpus_examples: int = 20000  # generated corpora: examples over all splits
    split_seed: int = 0
    max_train_pairs: int | None = None  # a seeded subset, for quick runs
    batch_size: int = 64

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"TransductionData: unknown format {self.format!r}; known: {', '.join(FORMATS)}")
        if self.corpus is not None and self.corpus not in TRANSDUCTION_CORPORA:
            known = ", ".join(TRANSDUCTION_CORPORA)
            raise ValueError(f"TransductionData: unknown corpus {self.corpus!r}; known: {known}")
        if self.corpus is None and (self.train is None or self.dev is None):
            raise ValueError("TransductionData: give --train and --dev files, or a bundled --corpus")
        if self.batch_size < 1:
            raise ValueError(f"TransductionData: expected batch_size ≥ 1, got {self.batch_size!r}")


def load_pairs(path: str | Path, data: TransductionData | None = None) -> list[Pair]:
    """Read a parallel TSV/JSONL file with ``data``'s format and field names."""
    data = data or TransductionData(train=str(path), dev=str(path))
    return read_parallel(
        path, format=data.format, source_field=data.source_field, target_field=data.target_field
    )


def corpus_pairs(data: TransductionData, split: str) -> list[Pair]:
    """A split (train, valid, test) of the bundled corpus ``data.corpus``."""
    make = TRANSDUCTION_CORPORA[data.corpus]
    if data.corpus == "cmudict_g2p":
        return make(split, seed=data.split_seed)
    return make(split, n_examples=data.corpus_examples, seed=data.split_seed)


def training_pairs(data: TransductionData) -> tuple[list[Pair], list[Pair]]:
    """(train, dev) pairs as ``data`` says."""
    if data.corpus is None:
        train, dev = load_pairs(data.train, data), load_pairs(data.dev, data)
    else:
        train, dev = corpus_pairs(data, "train"), corpus_pairs(data, "valid")
    if data.max_train_pairs is not None and data.max_train_pairs < len(train):
        train = random.Random(data.split_seed).sample(train, data.max_train_pairs)
    return train, dev


def corpus_defaults(data: TransductionData) -> dict[str, object]:
    """Model settings a bundled corpus needs: its tokenisation, and its language/locale tags kept whole."""
    if data.corpus == "cmudict_g2p":
        return {"source_tokens": "char", "target_tokens": "word"}  # letters → phonemes
    if data.corpus in ("numbers_to_words", "words_to_numbers"):
        return {"source_specials": " ".join(language_tag(code) for code in NUMBER_LANGUAGES)}
    if data.corpus == "dates_to_iso":
        return {"source_specials": " ".join(language_tag(code) for code in DATE_LOCALES)}
    return {}


def _expand(pairs: Sequence[Pair]) -> list[Pair]:
    """One training pair per reference: a word with two pronunciations teaches both."""
    return [
        Pair(p.source, ref, (ref, *(r for r in p.references if r != ref)), p.origin) if ref != p.target else p
        for p in pairs
        for ref in p.references
    ]


def train_seq2seq(
    data: TransductionData, config: Seq2SeqConfig, train_config: TrainConfig, *, resume: bool = False
) -> tuple[Seq2Seq, TrainResult]:
    """Build tokenizers and vocabularies from the training pairs, train with the engine, save the best model.

    The model folder is written to ``train_config.out_dir / "model"``. Unless told otherwise, the engine
    keeps the checkpoint with the best dev exact-match accuracy (greedy decoding).
    """
    import torch

    train, dev = training_pairs(data)
    train = _expand(train)
    torch.manual_seed(train_config.seed)  # the initial weights are part of a reproducible run
    model = Seq2Seq.from_data(train, config)
    train_set, dev_set = model.encode(train), model.encode(dev)
    train_loader, dev_loader = bucket_loaders(
        train_set, dev_set, lambda e: len(e.source), model.collate, data.batch_size, train_config.seed
    )
    log.info(
        "training on %d pairs, validating on %d; %d source and %d target tokens",
        len(train),
        len(dev),
        len(model.source_vocab),
        len(model.target_vocab),
    )
    result = fit(model, train_loader, dev_loader, train_config, resume=resume)
    model.save(Path(train_config.out_dir) / "model")
    return model, result


def evaluate_seq2seq(
    model: Seq2Seq,
    pairs: Sequence[Pair],
    *,
    beam_size: int = 1,
    length_penalty: float = 0.0,
    batch_size: int = 64,
) -> dict[str, float]:
    """Exact match, token error rate (phoneme error rate for G2P), BLEU and chrF on ``pairs``.

    A prediction counts as correct when it equals any of a pair's references. With a word-level target
    (G2P phonemes) ``word_error_rate`` = 1 − exact match and ``token_error_rate`` is the phoneme error rate.
    """
    outputs = model.translate(
        [p.source for p in pairs], beam_size=beam_size, length_penalty=length_penalty, batch_size=batch_size
    )
    hyps = [out[0].text for out in outputs]
    refs = [p.references for p in pairs]
    tok = model.target_tokenizer.encode
    scores = {
        "accuracy": exact_match(hyps, refs),
        "token_error_rate": phoneme_error_rate([tok(h) for h in hyps], [[tok(r) for r in rs] for rs in refs]),
        "bleu": bleu(hyps, refs),
        "chrf": chrf(hyps, refs),
        "examples": float(len(pairs)),
    }
    if model.config.target_tokens == "word":
        scores["word_error_rate"] = word_error_rate(
            [tok(h) for h in hyps], [[tok(r) for r in rs] for rs in refs]
        )
    return scores


def predict_lines(
    model: Seq2Seq,
    lines: Iterable[str],
    *,
    beam_size: int = 1,
    nbest: int = 1,
    length_penalty: float = 0.0,
    output: str = "text",
    heatmaps: str | Path | None = None,
) -> Iterator[str]:
    """Transduce raw source lines; an empty line gives an empty output line.

    ``output="text"``: the best output per line. ``output="jsonl"``: one JSON object per line with the
    ``nbest`` outputs and their scores (and attention weights, source × target, when the model attends).
    ``heatmaps``: a folder that gets ``<line number>.png``, the attention heatmap of each best output.
    """
    if output not in ("text", "jsonl"):
        raise ValueError(f"unknown output format {output!r}; known: text, jsonl")
    if heatmaps is not None:
        Path(heatmaps).mkdir(parents=True, exist_ok=True)
    batch: list[str] = []
    done = 0

    def flush() -> Iterator[str]:
        nonlocal done
        results = model.translate(batch, beam_size=beam_size, nbest=nbest, length_penalty=length_penalty)
        for line, hyps in zip(batch, results):
            done += 1
            best = hyps[0]
            if heatmaps is not None and best.attention is not None:
                from seqlab.plots import attention_heatmap

                attention_heatmap(best, Path(heatmaps) / f"{done}.png", title=line)
            if output == "text":
                yield best.text + "\n"
            else:
                yield (
                    json.dumps({"source": line, "outputs": [_record(h) for h in hyps]}, ensure_ascii=False)
                    + "\n"
                )
        batch.clear()

    for line in lines:
        batch.append(line.rstrip("\n"))
        if len(batch) == 64:
            yield from flush()
    if batch:
        yield from flush()


def _record(t: Translation) -> dict[str, object]:
    record: dict[str, object] = {"text": t.text, "tokens": t.tokens, "score": round(t.score, 4)}
    if t.attention is not None:
        record["source_tokens"] = t.source_tokens
        record["attention"] = [[round(a, 4) for a in row] for row in t.attention.tolist()]
    return record
