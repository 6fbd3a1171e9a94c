"""Train, evaluate and predict with a ``Tagger`` on files — what ``seqlab tag`` calls, usable from Python.

>>> from seqlab.tasks.tagging_run import DataConfig, train_tagger, evaluate_tagger
>>> model, result = train_tagger(DataConfig(corpus="pku_segmentation", max_train_sentences=2000),
...                              TaggerConfig(scheme="BMES", char_encoder="none"), TrainConfig(max_epochs=3))
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from seqlab.data import (
    Sentence,
    bmes_to_words,
    bucket_loaders,
    conll2003,
    pku_pos,
    pku_segmentation,
    read_bmes,
    read_conll,
    read_segmented,
    read_tagged_words,
    spans,
)
from seqlab.training import TrainConfig, TrainResult, fit

from .tagging import Tagger, TaggerConfig

__all__ = ["FORMATS", "DataConfig", "evaluate_tagger", "load_sentences", "predict_lines", "train_tagger"]

log = logging.getLogger(__name__)

FORMATS = ("conll", "bmes", "segmented", "wordpos")
CORPORA = ("conll2003", "conll2003-pos", "pku_segmentation", "pku_pos")


@dataclass(frozen=True)
class DataConfig:
    """Where the training data comes from: files, or a bundled corpus (``corpus=``)."""

    train: str | None = None
    dev: str | None = None
    format: str = "conll"  # conll | bmes | segmented | wordpos
    token_column: int = 0
    tag_column: int | None = None  # None: the last column
    corpus: str | None = None  # conll2003 | conll2003-pos | pku_segmentation | pku_pos
    dev_fraction: float = 0.1  # for corpora without a dev split: a seeded hold-out
    split_seed: int = 0
    max_train_sentences: int | None = None  # a seeded subset, for quick runs
    batch_size: int = 32

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"DataConfig: unknown format {self.format!r}; known: {', '.join(FORMATS)}")
        if self.corpus is not None and self.corpus not in CORPORA:
            raise ValueError(f"DataConfig: unknown corpus {self.corpus!r}; known: {', '.join(CORPORA)}")
        if self.corpus is None and (self.train is None or self.dev is None):
            raise ValueError("DataConfig: give --train and --dev files, or a bundled --corpus")
        if not 0.0 < self.dev_fraction < 1.0:
            raise ValueError(f"DataConfig: expected dev_fraction in (0, 1), got {self.dev_fraction!r}")
        if self.batch_size < 1:
            raise ValueError(f"DataConfig: expected batch_size ≥ 1, got {self.batch_size!r}")


def load_sentences(
    path: str | Path, fmt: str = "conll", token_column: int = 0, tag_column: int | None = None
) -> list[Sentence]:
    """Read a file in one of ``FORMATS``."""
    if fmt == "conll":
        return read_conll(path, token_column=token_column, tag_column=tag_column)
    readers = {"bmes": read_bmes, "segmented": read_segmented, "wordpos": read_tagged_words}
    if fmt not in readers:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    return readers[fmt](path)


def training_data(data: DataConfig) -> tuple[list[Sentence], list[Sentence]]:
    """(train, dev) sentences as ``data`` says."""
    if data.corpus is None:
        train = load_sentences(data.train, data.format, data.token_column, data.tag_column)
        dev = load_sentences(data.dev, data.format, data.token_column, data.tag_column)
    elif data.corpus.startswith("conll2003"):
        column = "pos" if data.corpus.endswith("-pos") else "ner"
        train, dev = conll2003("train", column), conll2003("valid", column)
    else:
        sentences = pku_segmentation() if data.corpus == "pku_segmentation" else pku_pos()
        order = list(range(len(sentences)))
        random.Random(data.split_seed).shuffle(order)
        n_dev = round(len(order) * data.dev_fraction)
        dev = [sentences[i] for i in sorted(order[:n_dev])]
        train = [sentences[i] for i in sorted(order[n_dev:])]
    if data.max_train_sentences is not None and data.max_train_sentences < len(train):
        train = random.Random(data.split_seed).sample(train, data.max_train_sentences)
    return train, dev


def default_scheme(data: DataConfig) -> str:
    if data.corpus == "pku_segmentation" or data.format in ("bmes", "segmented"):
        return "BMES"
    if data.corpus in ("conll2003-pos", "pku_pos") or data.format == "wordpos":
        return "none"
    return "IOB2"


def train_tagger(
    data: DataConfig, config: TaggerConfig, train_config: TrainConfig, *, resume: bool = False
) -> tuple[Tagger, TrainResult]:
    """Build vocabularies from the training data, train with the engine, and save the best model.

    The model folder is written to ``train_config.out_dir / "model"``. Unless told otherwise, the engine
    keeps the checkpoint with the best dev F1 (accuracy for POS tagging).
    """
    import torch

    train, dev = training_data(data)
    torch.manual_seed(train_config.seed)  # the initial weights are part of a reproducible run
    model = Tagger.from_data(train, config)
    dev = _known_tags(dev, model)
    train_set, dev_set = model.encode(train), model.encode(dev)
    train_loader, dev_loader = bucket_loaders(
        train_set, dev_set, lambda e: len(e.words), model.collate, data.batch_size, train_config.seed
    )
    log.info(
        "training on %d sentences, validating on %d; %d words, %d chars, %d tags",
        len(train),
        len(dev),
        len(model.words),
        len(model.chars),
        len(model.tags),
    )
    result = fit(model, train_loader, dev_loader, train_config, resume=resume)
    model.save(Path(train_config.out_dir) / "model")
    return model, result


def evaluate_tagger(model: Tagger, sentences: Sequence[Sentence]) -> dict[str, float]:
    """The task's metrics on labelled ``sentences``; tags the model never saw count as errors, not crashes."""
    unlabelled = next((s for s in sentences if s.tags is None), None)
    if unlabelled is not None:
        raise ValueError(f"{unlabelled.source}: evaluation needs gold tags")
    pred = model.predict([s.tokens for s in sentences])
    return model.score([list(s.tags) for s in sentences], pred)


def predict_lines(model: Tagger, lines: Iterable[str], output: str = "jsonl") -> Iterator[str]:
    """Tag raw text lines: whitespace tokens, or characters for a segmentation (BMES) model.

    ``output="jsonl"``: one JSON object per line with tokens, tags and spans (type, start, end token
    offsets and character offsets into the line; words for segmentation). ``output="conll"``: token and tag
    per line, a blank line between sentences. Empty lines give empty results.
    """
    if output not in ("jsonl", "conll"):
        raise ValueError(f"unknown output format {output!r}; known: jsonl, conll")
    segmenter = model.config.scheme == "BMES"
    batch: list[str] = []

    def flush() -> Iterator[str]:
        tokens = [_tokens(line, segmenter) for line in batch]
        for line, toks, tags in zip(batch, tokens, model.predict([t for t, _ in tokens])):
            yield _format(line, toks, tags, output, model.config.scheme)
        batch.clear()

    for line in lines:
        batch.append(line.rstrip("\n"))
        if len(batch) == 256:
            yield from flush()
    yield from flush()


def _tokens(line: str, segmenter: bool) -> tuple[list[str], list[int]]:
    """Tokens and their character offsets in ``line``."""
    if segmenter:
        chars = [(c, i) for i, c in enumerate(line) if not c.isspace()]
        return [c for c, _ in chars], [i for _, i in chars]
    tokens, offsets, pos = [], [], 0
    for tok in line.split():
        pos = line.index(tok, pos)
        tokens.append(tok)
        offsets.append(pos)
        pos += len(tok)
    return tokens, offsets


def _format(line: str, toks: tuple[list[str], list[int]], tags: list[str], output: str, scheme: str) -> str:
    tokens, offsets = toks
    if output == "conll":
        return "".join(f"{t} {g}\n" for t, g in zip(tokens, tags)) + "\n"
    record: dict[str, object] = {"text": line, "tokens": tokens, "tags": tags}
    if scheme == "BMES":
        record["words"] = bmes_to_words(tokens, tags) if tokens else []
    elif scheme != "none":
        record["spans"] = [
            {
                "type": typ,
                "start": s,
                "end": e,
                "char_start": offsets[s],
                "char_end": offsets[e - 1] + len(tokens[e - 1]),
                "text": line[offsets[s] : offsets[e - 1] + len(tokens[e - 1])],
            }
            for typ, s, e in spans(tags, scheme)
        ]
    return json.dumps(record, ensure_ascii=False) + "\n"


def _known_tags(dev: list[Sentence], model: Tagger) -> list[Sentence]:
    """Dev sentences whose every tag the model knows; the others are reported and left out of validation."""
    known = set(model.tags.tokens)
    kept = [s for s in dev if set(s.tags) <= known]
    if len(kept) < len(dev):
        unseen = sorted({t for s in dev for t in s.tags} - known)
        log.warning(
            "%d dev sentences use tags never seen in training (%s); validation leaves them out",
            len(dev) - len(kept),
            ", ".join(unseen),
        )
    if not kept:
        raise ValueError("no dev sentence uses only tags seen in training; check the tag column and scheme")
    return kept
