"""Train and evaluate a ``LanguageModel`` on a text corpus: what ``seqlab generate`` calls, from Python.

>>> from seqlab.tasks.generation_run import GenerationData, train_language_model
>>> model, result = train_language_model(
...     GenerationData(corpus="shakespeare"), LanguageModelConfig(), TrainConfig(max_minutes=30)
... )
>>> print(model.sample("ROMEO.\\n", max_tokens=300, temperature=0.8, seed=0))

Corpora: ``shakespeare`` (the plays, split by play: ``seqlab.data.text.shakespeare``), ``essen_abc`` (the
Essen folk tunes in ABC notation, split by tune: ``seqlab.data.music``), or the user's UTF-8 files
(``train`` and ``valid``; without ``valid``, the last ``valid_fraction`` of the training text is held out).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from seqlab.data.text import read_text, shakespeare
from seqlab.training import TrainConfig, TrainResult, fit

from .generation import LanguageModel, LanguageModelConfig, StreamWindows, stream_loader, stream_rows

__all__ = [
    "ROLL_CORPORA",
    "TEXT_CORPORA",
    "GenerationData",
    "corpus_text",
    "load_texts",
    "train_generator",
    "train_language_model",
]

log = logging.getLogger(__name__)


def _essen(split: str) -> str:
    from seqlab.data.music import essen_tunes

    return "".join(tune.rstrip("\n") + "\n\n" for tune in essen_tunes(split).texts)


TEXT_CORPORA: dict[str, Callable[[str], str]] = {"shakespeare": shakespeare, "essen_abc": _essen}
ROLL_CORPORA = ("chorales",)  # piano rolls, modelled by seqlab.tasks.chorales.PianoRollModel


def corpus_text(name: str, split: str) -> str:
    """The text of bundled corpus ``name`` (shakespeare, essen_abc) for ``split`` (train, valid, test)."""
    if name not in TEXT_CORPORA:
        raise ValueError(f"unknown text corpus {name!r}; known: {', '.join(TEXT_CORPORA)}")
    return TEXT_CORPORA[name](split)


@dataclass(frozen=True)
class GenerationData:
    """Where the text comes from and how it is cut into training windows."""

    corpus: str | None = None  # bundled: shakespeare | essen_abc (text) | chorales (piano rolls)
    train: str | None = None  # a UTF-8 text file (instead of a corpus)
    valid: str | None = None  # a UTF-8 text file; None: the last valid_fraction of the training text
    valid_fraction: float = 0.05
    max_train_chars: int | None = None  # keep only the first N characters of the training text
    bptt: int = 128  # L: tokens per window (truncated BPTT length)
    batch_size: int = 32  # B: parallel rows of the stream (chorales: chorales per batch)
    step: float = 1.0  # chorales: the piano roll's time step in quarter notes (JSB's: 1)

    def __post_init__(self) -> None:
        if (self.corpus is None) == (self.train is None):
            raise ValueError(
                "GenerationData: give a --train text file, or a bundled --corpus (one of the two)"
            )
        if self.corpus is not None and self.corpus not in (*TEXT_CORPORA, *ROLL_CORPORA):
            known = ", ".join((*TEXT_CORPORA, *ROLL_CORPORA))
            raise ValueError(f"GenerationData: unknown corpus {self.corpus!r}; known: {known}")
        if self.corpus is not None and self.valid is not None:
            raise ValueError("GenerationData: a bundled corpus has its own validation split; drop --valid")
        for name in ("bptt", "batch_size") + (
            ("max_train_chars",) if self.max_train_chars is not None else ()
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"GenerationData: expected {name} to be a positive integer, got {value!r}")
        if not isinstance(self.valid_fraction, (int, float)) or not 0 < self.valid_fraction < 1:
            raise ValueError(
                f"GenerationData: expected valid_fraction in (0, 1), got {self.valid_fraction!r}"
            )


def load_texts(data: GenerationData) -> tuple[str, str]:
    """(training text, validation text) as ``data`` describes them."""
    if data.corpus in ROLL_CORPORA:
        raise ValueError(f"corpus {data.corpus!r} holds piano rolls, not text; use train_generator")
    if data.corpus is not None:
        train, valid = corpus_text(data.corpus, "train"), corpus_text(data.corpus, "valid")
    else:
        train = read_text(data.train)
        if data.valid is not None:
            valid = read_text(data.valid)
        else:
            cut = int(len(train) * (1 - data.valid_fraction))
            train, valid = train[:cut], train[cut:]
            log.info("holding out the last %d characters of %s for validation", len(valid), data.train)
    if data.max_train_chars is not None:
        train = train[: data.max_train_chars]
    return train, valid


def _loader(model: LanguageModel, text: str, data: GenerationData, *, validation: bool, where: str):
    ids = model.encode(text, unknown="unk" if validation else "error", where=where)
    try:
        rows = stream_rows(ids, data.batch_size)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    overlap = data.bptt // 2 if validation and not model.recurrent else 0
    windows = StreamWindows(rows, data.bptt, overlap)
    return stream_loader(windows)


def train_generator(
    data: GenerationData, config: LanguageModelConfig, train_config: TrainConfig, *, resume: bool = False
) -> tuple[object, TrainResult]:
    """``train_language_model`` for text; for ``corpus="chorales"`` a ``PianoRollModel`` with the recurrence,
    sizes and dropout of ``config`` (``seqlab.tasks.chorales.train_chorales``)."""
    if data.corpus not in ROLL_CORPORA:
        return train_language_model(data, config, train_config, resume=resume)
    from .chorales import PianoRollConfig, train_chorales

    roll_config = PianoRollConfig(
        recurrence=config.recurrence,
        recurrence_options=config.recurrence_options,
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        dropout=config.dropout,
        step=data.step,
    )
    run = train_chorales(roll_config, train_config, batch_size=data.batch_size, resume=resume)
    log.info("chorales: %s", run.scores)
    return run.model, run.result


def train_language_model(
    data: GenerationData, config: LanguageModelConfig, train_config: TrainConfig, *, resume: bool = False
) -> tuple[LanguageModel, TrainResult]:
    """Train on ``data``'s text and save the best model (lowest validation loss) to ``out_dir / "model"``."""
    train_text, valid_text = load_texts(data)
    torch.manual_seed(train_config.seed)
    model = LanguageModel.from_text(train_text, config)
    if not model.recurrent and data.bptt > config.context:
        raise ValueError(
            f"train_language_model: the Transformer's context {config.context} is shorter than bptt "
            f"{data.bptt}; raise context or lower bptt"
        )
    where = data.corpus or data.train
    train_loader = _loader(model, train_text, data, validation=False, where=f"{where} (training text)")
    valid_loader = _loader(model, valid_text, data, validation=True, where=f"{where} (validation text)")
    log.info(
        "language model: %d training tokens, %d validation tokens, vocabulary %d, %d parameters",
        len(train_loader.dataset.rows.view(-1)),
        len(valid_loader.dataset.rows.view(-1)),
        len(model.vocab),
        sum(p.numel() for p in model.parameters()),
    )
    result = fit(model, train_loader, valid_loader, train_config, resume=resume)
    model.eval()
    model.save(Path(train_config.out_dir) / "model")
    return model, result
