"""Train, evaluate and predict with a ``Classifier`` on files: what ``seqlab classify`` calls, from Python.

>>> from seqlab.tasks.classification_run import ClassificationData, train_classifier, evaluate_classifier
>>> data = ClassificationData(corpus="chinese_reviews")
>>> model, result = train_classifier(data, ClassifierConfig(tokens="char"), TrainConfig(max_epochs=5))
>>> evaluate_classifier(model, corpus_examples(data, "test"), confusion="confusion.png")["accuracy"]
"""

from __future__ import annotations

import html
import json
import logging
import random
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqlab.data import bucket_loaders
from seqlab.data._io import atomic_write_text
from seqlab.data.classification import (
    CLASSIFICATION_CORPORA,
    CLASSIFICATION_FORMATS,
    Example,
    classification_corpus,
    read_classification,
    read_series_csv,
    read_ts,
    resolve_format,
)
from seqlab.metrics.classification import (
    classification_report,
    classification_scores,
    confusion_matrix,
    multilabel_scores,
)
from seqlab.training import TrainConfig, TrainResult, fit

from .classification import Classifier, ClassifierConfig, Prediction

__all__ = [
    "FORMATS",
    "ClassificationData",
    "corpus_defaults",
    "corpus_examples",
    "evaluate_classifier",
    "explanation_html",
    "load_examples",
    "predict_examples",
    "predict_lines",
    "train_classifier",
    "training_examples",
]

log = logging.getLogger(__name__)

FORMATS = CLASSIFICATION_FORMATS  # auto | csv | tsv | jsonl | ts
CORPUS_NAMES = ("chinese_reviews", "rotten_tomatoes")  # and uea:<Name>


@dataclass(frozen=True)
class ClassificationData:
    """Where the training examples come from: files, or a bundled corpus (``corpus=``)."""

    train: str | None = None
    dev: str | None = None
    format: str = "auto"  # auto (by suffix) | csv | tsv | jsonl | ts
    text_column: str = "text"  # CSV/TSV header name or JSONL key of the text
    label_column: str = "label"  # ... of the label(s)
    label_delimiter: str = ","  # multi-label models: what separates the labels inside the label column
    corpus: str | None = None  # chinese_reviews | rotten_tomatoes | uea:<Name> (e.g. uea:BasicMotions)
    dev_fraction: float = 0.1  # uea: the share of each class of TRAIN held out for validation
    split_seed: int = 0
    max_train_examples: int | None = None  # a seeded subset, for quick runs
    batch_size: int = 32

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(
                f"ClassificationData: unknown format {self.format!r}; known: {', '.join(FORMATS)}"
            )
        if self.corpus is not None and not (
            self.corpus in CORPUS_NAMES or (self.corpus.startswith("uea:") and len(self.corpus) > 4)
        ):
            known = ", ".join(CLASSIFICATION_CORPORA)
            raise ValueError(f"ClassificationData: unknown corpus {self.corpus!r}; known: {known}")
        if self.corpus is None and (self.train is None or self.dev is None):
            raise ValueError("ClassificationData: give --train and --dev files, or a bundled --corpus")
        if not self.label_delimiter:
            raise ValueError("ClassificationData: expected a non-empty label_delimiter")
        if not isinstance(self.dev_fraction, float) or not 0.0 < self.dev_fraction < 1.0:
            raise ValueError(
                f"ClassificationData: expected dev_fraction in (0, 1), got {self.dev_fraction!r}"
            )
        if self.batch_size < 1:
            raise ValueError(f"ClassificationData: expected batch_size ≥ 1, got {self.batch_size!r}")
        if self.max_train_examples is not None and self.max_train_examples < 1:
            raise ValueError(
                "ClassificationData: expected max_train_examples ≥ 1 or None, "
                f"got {self.max_train_examples!r}"
            )


def load_examples(
    path: str | Path,
    data: ClassificationData | None = None,
    config: ClassifierConfig | None = None,
    *,
    labelled: bool = True,
) -> list[Example]:
    """Read a file as ``data`` (format, columns, label delimiter) and the model's ``config`` say.

    Text models read CSV, TSV or JSONL; series models read ``.ts`` files or univariate wide CSV/TSV.
    A multi-label ``config`` splits the label column at ``data.label_delimiter``.
    """
    data = data or ClassificationData(train=str(path), dev=str(path))
    config = config or ClassifierConfig()
    fmt = resolve_format(path, data.format)
    if config.inputs == "series":
        if fmt == "ts":
            return read_ts(path, labelled=labelled).examples
        if fmt == "jsonl":
            raise ValueError(f"{path}: series are read from .ts or CSV/TSV files, not JSONL")
        return read_series_csv(
            path, label_column=data.label_column, labelled=labelled, delimiter="\t" if fmt == "tsv" else ","
        )
    if fmt == "ts":
        raise ValueError(
            f"{path}: a .ts file holds time series, but the model reads texts; train with --inputs series"
        )
    return read_classification(
        path,
        format=fmt,
        text_column=data.text_column,
        label_column=data.label_column,
        label_delimiter=data.label_delimiter if config.multi_label else None,
        labelled=labelled,
    )


def corpus_examples(data: ClassificationData, split: str) -> list[Example]:
    """A split (train, valid, test) of the bundled corpus ``data.corpus``."""
    return classification_corpus(data.corpus, split, seed=data.split_seed, dev_fraction=data.dev_fraction)


def corpus_defaults(data: ClassificationData) -> dict[str, object]:
    """Model settings the data implies: characters for Chinese reviews, series for UEA/UCR and .ts files."""
    if data.corpus == "chinese_reviews":
        return {"tokens": "char"}
    if (data.corpus or "").startswith("uea:"):
        return {"inputs": "series"}
    if data.corpus is None and data.train is not None and resolve_format(data.train, data.format) == "ts":
        return {"inputs": "series"}
    return {}


def training_examples(
    data: ClassificationData, config: ClassifierConfig
) -> tuple[list[Example], list[Example]]:
    """(train, dev) examples as ``data`` says."""
    if data.corpus is None:
        train, dev = load_examples(data.train, data, config), load_examples(data.dev, data, config)
    else:
        train, dev = corpus_examples(data, "train"), corpus_examples(data, "valid")
    if data.max_train_examples is not None and data.max_train_examples < len(train):
        train = random.Random(data.split_seed).sample(train, data.max_train_examples)
    return train, dev


def train_classifier(
    data: ClassificationData, config: ClassifierConfig, train_config: TrainConfig, *, resume: bool = False
) -> tuple[Classifier, TrainResult]:
    """Build vocabularies (and feature statistics) from the training data, train, and save the best model.

    The model folder is written to ``train_config.out_dir / "model"``. Unless told otherwise, the engine
    keeps the checkpoint with the best dev accuracy.
    """
    import torch

    train, dev = training_examples(data, config)
    torch.manual_seed(train_config.seed)  # the initial weights are part of a reproducible run
    model = Classifier.from_data(train, config)
    dev = _known_labels(dev, model)
    train_set, dev_set = model.encode(train), model.encode(dev)
    train_loader, dev_loader = bucket_loaders(
        train_set, dev_set, lambda e: len(e.inputs), model.collate, data.batch_size, train_config.seed
    )
    log.info(
        "training on %d examples, validating on %d; %d labels%s",
        len(train),
        len(dev),
        len(model.labels),
        f", {len(model.tokens)} tokens" if model.tokens is not None else f", {model.num_features} features",
    )
    result = fit(model, train_loader, dev_loader, train_config, resume=resume)
    model.save(Path(train_config.out_dir) / "model")
    return model, result


def _known_labels(dev: list[Example], model: Classifier) -> list[Example]:
    """Dev examples whose labels the model knows; the others are reported and left out of validation."""
    known = set(model.labels.tokens)
    kept = [e for e in dev if set(e.labels) <= known]
    if len(kept) < len(dev):
        unseen = sorted({label for e in dev for label in e.labels} - known)
        log.warning(
            "%d dev examples have labels never seen in training (%s); validation leaves them out",
            len(dev) - len(kept),
            ", ".join(unseen),
        )
    if not kept:
        raise ValueError("no dev example has only labels seen in training; check the label column")
    return kept


def evaluate_classifier(
    model: Classifier,
    examples: Sequence[Example],
    *,
    confusion: str | Path | None = None,
    batch_size: int = 64,
) -> dict[str, Any]:
    """Accuracy, macro-F1, the per-class report and the confusion matrix of ``model`` on labelled examples.

    A gold label the model never saw in training is not an error: the model cannot predict it, so its
    examples count as mistakes, and the result lists it under ``unseen_labels`` with its count (and a
    warning is logged). ``confusion``: also draw the confusion matrix as a PNG there (multi-class).
    """
    unlabelled = next((e for e in examples if e.labels is None), None)
    if unlabelled is not None:
        raise ValueError(f"{unlabelled.origin}: evaluation needs gold labels")
    if not examples:
        raise ValueError("evaluate_classifier: expected at least one example, got none")
    predictions = model.predict(examples, batch_size=batch_size)
    known = set(model.labels.tokens)
    unseen = Counter(label for e in examples for label in e.labels if label not in known)
    if unseen:
        log.warning(
            "gold labels never seen in training (counted as errors): %s",
            ", ".join(f"{label} ×{n}" for label, n in sorted(unseen.items())),
        )
    labels = [*model.labels.tokens, *sorted(unseen)]
    result: dict[str, Any]
    if model.config.multi_label:
        scores = multilabel_scores([e.labels for e in examples], [p.labels for p in predictions], labels)
        result = {
            "accuracy": scores["accuracy"],
            "micro_f1": scores["micro_f1"],
            "macro_f1": scores["macro_f1"],
            "report": scores["report"],
        }
    else:
        gold = [e.label for e in examples]
        pred = [p.labels[0] for p in predictions]
        matrix = confusion_matrix(gold, pred, labels)
        result = {
            **classification_scores(gold, pred, labels),
            "report": classification_report(gold, pred, labels),
            "confusion": {"labels": labels, "matrix": matrix.tolist()},
        }
        if confusion is not None:
            from seqlab.plots import confusion_heatmap

            confusion_heatmap(matrix, labels, confusion, title=f"{len(examples)} examples")
    result["examples"] = len(examples)
    result["unseen_labels"] = dict(sorted(unseen.items()))
    return result


def predict_examples(
    model: Classifier,
    examples: Iterable[Example],
    *,
    explain: str | Path | None = None,
    batch_size: int = 64,
) -> Iterator[str]:
    """One JSON line per example: its label(s), the probabilities, and α per token with attention pooling.

    Multi-class models write ``"label"``, multi-label ones ``"labels"`` (a list). Texts come with their
    ``"text"`` and ``"tokens"``; series with their ``"origin"`` (``path:line``). ``explain``: also write an
    HTML page there that highlights each text's tokens by their attention weight (attention pooling only).
    """
    if explain is not None and model.config.inputs != "text":
        raise ValueError("--explain highlights the tokens of texts; this model classifies time series")
    if explain is not None and model.config.pooling != "attention":
        raise ValueError(
            f"--explain shows attention weights, but this model pools with {model.config.pooling!r}; "
            "train with --pooling attention"
        )
    explained: list[Prediction] = []
    batch: list[Example] = []

    def flush() -> Iterator[str]:
        for e, p in zip(batch, model.predict(batch, batch_size=batch_size)):
            if explain is not None:
                explained.append(p)
            yield json.dumps(_record(model, e, p), ensure_ascii=False) + "\n"
        batch.clear()

    for e in examples:
        batch.append(e)
        if len(batch) == 256:
            yield from flush()
    if batch:
        yield from flush()
    if explain is not None:
        atomic_write_text(explain, explanation_html(explained, spaced=model.config.tokens == "word"))


def predict_lines(
    model: Classifier,
    lines: Iterable[str],
    *,
    name: str = "<stdin>",
    explain: str | Path | None = None,
    batch_size: int = 64,
) -> Iterator[str]:
    """Classify raw text lines, one text per line; an empty line is predicted from the empty sequence."""
    if model.config.inputs != "text":
        raise ValueError(
            "this model classifies time series: give a .ts or CSV file (--format ts|csv), not text lines"
        )
    examples = (
        Example(text=line.rstrip("\n"), origin=f"{name}:{k}") for k, line in enumerate(lines, start=1)
    )
    yield from predict_examples(model, examples, explain=explain, batch_size=batch_size)


def _record(model: Classifier, e: Example, p: Prediction) -> dict[str, Any]:
    record: dict[str, Any] = {"text": e.text} if e.text is not None else {"origin": e.origin}
    if model.config.multi_label:
        record["labels"] = list(p.labels)
    else:
        record["label"] = p.labels[0]
    record["probabilities"] = {label: round(v, 6) for label, v in p.probabilities.items()}
    if e.text is not None:
        record["tokens"] = list(p.tokens)
    if p.attention is not None:
        record["attention"] = [round(a, 6) for a in p.attention]
    return record


def explanation_html(predictions: Sequence[Prediction], *, spaced: bool = True) -> str:
    """A self-contained HTML page: one table row per input, each token shaded by its attention weight.

    A token's background opacity is α_t divided by the row's largest α (the most attended token is fully
    shaded); hovering shows α_t. Every token and label is HTML-escaped. ``spaced``: put spaces between
    tokens (words), or none (Chinese characters).
    """
    out = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"><title>seqlab classify: attention</title>',
        "<style>body{font-family:sans-serif;margin:1.5em;line-height:1.9}"
        "table{border-collapse:collapse}td,th{padding:.3em .7em;border-bottom:1px solid #ddd;"
        "text-align:left;vertical-align:top}.tok{border-radius:3px;padding:.1em .05em}"
        ".label{white-space:nowrap;font-weight:bold}</style></head><body>",
        "<h1>Attention weights</h1>",
        "<p>Each token is shaded in proportion to its attention weight α (relative to the largest in its "
        "row); hover over a token to see α.</p>",
        "<table><tr><th>#</th><th>prediction</th><th>input</th></tr>",
    ]
    sep = " " if spaced else ""
    for k, p in enumerate(predictions, start=1):
        weights = p.attention or ()
        top = max(weights, default=0.0)
        tokens = []
        for token, a in zip(p.tokens, weights):
            opacity = a / top if top > 0 else 0.0
            tokens.append(
                f'<span class="tok" style="background:rgba(255,127,14,{opacity:.3f})" '
                f'title="α = {a:.4f}">{html.escape(token)}</span>'
            )
        shown = sep.join(tokens) if tokens else "<i>(empty)</i>"
        label = ", ".join(p.labels) or "(none)"
        prob = max(p.probabilities.get(label, 0.0) for label in p.labels) if p.labels else 0.0
        out.append(
            f'<tr><td>{k}</td><td class="label">{html.escape(label)} ({prob:.2f})</td><td>{shown}</td></tr>'
        )
    out.append("</table></body></html>")
    return "\n".join(out) + "\n"
