"""Tokenisers for transduction: text → token strings → text, one interface for three granularities.

Every tokeniser has ``encode(text) -> list[str]`` and ``decode(tokens) -> str``; a ``Vocab`` then maps the
token strings to ids. ``to_dict()`` gives a JSON-serialisable description that ``tokenizer_from_dict``
turns back into an equal tokeniser (``save``/``load_tokenizer`` do the same through a file), so a model
folder can carry the tokeniser it was trained with.

=========  ==================================================  =============================================
kind       tokens                                              ``decode(encode(text))``
=========  ==================================================  =============================================
``char``   every character (spaces included); ``specials``     ``text``, always
           such as ``<fr>`` stay whole
``word``   runs of non-whitespace, split on ASCII whitespace   ``text`` with each whitespace run turned into
           (a no-break or ideographic space is text)           one space and the ends stripped
``bpe``    byte-pair-encoding subwords (HuggingFace            as for ``word``, as long as every character
           ``tokenizers``), learnt from a corpus with a given  was seen in training (an unseen one decodes
           vocabulary size, after the same split as ``word``   as ``<unk>``)
=========  ==================================================  =============================================

``bpe`` needs the optional ``tokenizers`` package: ``pip install 'seqlab[bpe]'``. A word's first subword
carries ``▁`` for the space before it (``"the cat"`` → ``["▁the", "▁ca", "t"]``), as in SentencePiece.
"""

from __future__ import annotations

import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from seqlab.data._io import atomic_write_text

__all__ = [
    "TOKENIZERS",
    "BPETokenizer",
    "CharTokenizer",
    "Tokenizer",
    "WordTokenizer",
    "build_tokenizer",
    "load_tokenizer",
    "tokenizer_from_dict",
]

_FORMAT = "seqlab.tokenizer"
_VERSION = 1
_ASCII_SPACE = "[ \t\n\r\f\v]+"
_UNK = "<unk>"
_SPACE = "\u2581"  # ▁, the space marker on a word's first BPE subword (SentencePiece's)


def _check_specials(owner: str, specials: Iterable[str]) -> tuple[str, ...]:
    if isinstance(specials, str):
        raise ValueError(
            f"{owner}: expected specials to be a sequence of strings, got the string {specials!r}"
        )
    out = tuple(specials)
    for s in out:
        if not isinstance(s, str) or not s or re.search(_ASCII_SPACE, s):
            raise ValueError(
                f"{owner}: expected each special to be a non-empty string without spaces, got {s!r}"
            )
    if len(set(out)) != len(out):
        raise ValueError(f"{owner}: specials repeat an entry: {list(out)}")
    return out


def _check_text(owner: str, text: object) -> str:
    if not isinstance(text, str):
        raise ValueError(f"{owner}.encode: expected a string, got {type(text).__name__}")
    return text


def _check_tokens(owner: str, tokens: Sequence[str]) -> list[str]:
    if isinstance(tokens, str):
        raise ValueError(f"{owner}.decode: expected a sequence of tokens, got the string {tokens!r}")
    out = list(tokens)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise ValueError(f"{owner}.decode: expected string tokens, got {t!r} at position {i}")
    return out


class Tokenizer(ABC):
    """The interface: ``encode``, ``decode``, ``to_dict`` and its inverse ``from_dict``."""

    kind: ClassVar[str]

    @abstractmethod
    def encode(self, text: str) -> list[str]:
        """Text → tokens."""

    @abstractmethod
    def decode(self, tokens: Sequence[str]) -> str:
        """Tokens → text."""

    @abstractmethod
    def _options(self) -> dict[str, Any]: ...

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description; ``tokenizer_from_dict`` rebuilds an equal tokeniser from it."""
        return {"format": _FORMAT, "version": _VERSION, "kind": self.kind, **self._options()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tokenizer:
        """Rebuild a tokeniser of this class from ``to_dict()``'s output."""
        return tokenizer_from_dict(data, expect=getattr(cls, "kind", None))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``to_dict()`` as JSON (to a temporary file, then renamed)."""
        atomic_write_text(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tokenizer):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self._options().items() if k != "tokenizer")
        return f"{type(self).__name__}({opts})"


class CharTokenizer(Tokenizer):
    """Every character is a token, spaces included, so ``decode(encode(text)) == text`` for any text.

    ``specials`` are strings kept as one token wherever they occur, longest first — language tags such
    as ``<fr>`` in a multilingual source.

    >>> CharTokenizer(specials=["<fr>"]).encode("<fr> 12")
    ['<fr>', ' ', '1', '2']
    """

    kind = "char"

    def __init__(self, *, specials: Iterable[str] = ()) -> None:
        self.specials = _check_specials("CharTokenizer", specials)
        alternatives = [re.escape(s) for s in sorted(self.specials, key=len, reverse=True)]
        self._pattern = re.compile("|".join([*alternatives, "."]), re.DOTALL) if self.specials else None

    def encode(self, text: str) -> list[str]:
        text = _check_text("CharTokenizer", text)
        return self._pattern.findall(text) if self._pattern is not None else list(text)

    def decode(self, tokens: Sequence[str]) -> str:
        return "".join(_check_tokens("CharTokenizer", tokens))

    def _options(self) -> dict[str, Any]:
        return {"specials": list(self.specials)}


class WordTokenizer(Tokenizer):
    """Tokens are runs of characters between ASCII whitespace; ``decode`` joins them with one space.

    Only ASCII whitespace separates (space, tab, line breaks): a no-break space (U+00A0, U+202F, as in
    ``"2003 г."``) or an ideographic space (U+3000) is part of a word, as it is in ``seqlab.data._io``.
    """

    kind = "word"

    def __init__(self) -> None:
        self._split = re.compile(_ASCII_SPACE)

    def encode(self, text: str) -> list[str]:
        text = _check_text("WordTokenizer", text)
        return [w for w in self._split.split(text) if w]

    def decode(self, tokens: Sequence[str]) -> str:
        return " ".join(_check_tokens("WordTokenizer", tokens))

    def _options(self) -> dict[str, Any]:
        return {}


def _import_tokenizers() -> Any:
    try:
        import tokenizers
    except ImportError as e:
        raise ValueError(
            "BPETokenizer needs the optional 'tokenizers' package (HuggingFace), which is not installed: "
            "pip install 'seqlab[bpe]' (or pip install tokenizers)"
        ) from e
    return tokenizers


class BPETokenizer(Tokenizer):
    """Byte-pair encoding (Sennrich et al., 2016) learnt with HuggingFace ``tokenizers``.

    Text is split on ASCII whitespace (as ``WordTokenizer`` does) and the words are rejoined with one
    space; the space before each word becomes a ``▁`` (U+2581) on its first subword, SentencePiece
    style (``"the cat"`` → ``["▁the", "▁ca", "t"]``), so decoding knows where spaces go and a
    character is the same symbol wherever it stands in a word. ``specials`` (e.g. ``<fr>``) are never
    split. A character never seen in training becomes ``<unk>``, and a ``▁`` in the input decodes as a
    space. Build one with ``BPETokenizer.train`` or ``build_tokenizer("bpe", ...)``.
    """

    kind = "bpe"

    def __init__(self, tokenizer_json: str, *, specials: Iterable[str] = ()) -> None:
        hf = _import_tokenizers()
        self.specials = _check_specials("BPETokenizer", specials)
        try:
            self._tok = hf.Tokenizer.from_str(tokenizer_json)
            spec = json.loads(tokenizer_json)
        except Exception as e:  # the Rust side raises a bare Exception for malformed JSON
            raise ValueError(f"BPETokenizer: not a valid tokenizers JSON string ({e})") from e
        kinds = tuple((spec.get(k) or {}).get("type") for k in ("model", "pre_tokenizer", "decoder"))
        if kinds != ("BPE", "Metaspace", "Metaspace"):
            raise ValueError(
                "BPETokenizer: expected a BPE model with Metaspace pre-tokenizer and decoder (as "
                f"BPETokenizer.train makes), got model, pre-tokenizer, decoder = {kinds}"
            )
        self._json = tokenizer_json
        self._split = re.compile(_ASCII_SPACE)

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        vocab_size: int,
        *,
        specials: Iterable[str] = (),
        min_frequency: int = 2,
    ) -> BPETokenizer:
        """Learn merges from ``texts`` until the vocabulary (subwords, ``<unk>`` and ``specials``
        included) has ``vocab_size`` entries, or no pair occurs ``min_frequency`` times any more.

        Every character of the training texts is kept in the alphabet. Training is deterministic.
        """
        hf = _import_tokenizers()
        specials = _check_specials("BPETokenizer.train", specials)
        if _UNK in specials:
            raise ValueError(
                f"BPETokenizer.train: {_UNK!r} is reserved for unknown characters; drop it from specials"
            )
        for name, value, least in (("vocab_size", vocab_size, 2), ("min_frequency", min_frequency, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(
                    f"BPETokenizer.train: expected {name} to be an integer ≥ {least}, got {value!r}"
                )
        if isinstance(texts, str):
            raise ValueError("BPETokenizer.train: expected an iterable of texts, got a single string")
        texts = list(texts)
        for k, t in enumerate(texts):
            if not isinstance(t, str):
                raise ValueError(
                    f"BPETokenizer.train: expected string texts, got {type(t).__name__} at position {k}"
                )
        if not any(t.strip() for t in texts):
            raise ValueError("BPETokenizer.train: expected at least one non-blank training text, got none")
        split = re.compile(_ASCII_SPACE)
        tok = hf.Tokenizer(hf.models.BPE(unk_token=_UNK))
        tok.pre_tokenizer = hf.pre_tokenizers.Metaspace(
            replacement=_SPACE, prepend_scheme="always", split=True
        )
        tok.decoder = hf.decoders.Metaspace(replacement=_SPACE, prepend_scheme="always", split=True)
        trainer = hf.trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=[_UNK, *specials],
            show_progress=False,
        )
        tok.train_from_iterator((" ".join(w for w in split.split(t) if w) for t in texts), trainer=trainer)
        return cls(tok.to_str(), specials=specials)

    @property
    def vocab_size(self) -> int:
        """Entries of the learnt vocabulary, ``<unk>`` and specials included."""
        return int(self._tok.get_vocab_size())

    def encode(self, text: str) -> list[str]:
        text = _check_text("BPETokenizer", text)
        return list(self._tok.encode(" ".join(w for w in self._split.split(text) if w)).tokens)

    def decode(self, tokens: Sequence[str]) -> str:
        return str(self._tok.decoder.decode(_check_tokens("BPETokenizer", tokens)))

    def _options(self) -> dict[str, Any]:
        return {"specials": list(self.specials), "tokenizer": self._json}


TOKENIZERS: dict[str, type[Tokenizer]] = {"char": CharTokenizer, "word": WordTokenizer, "bpe": BPETokenizer}


def build_tokenizer(
    kind: str,
    texts: Iterable[str] | None = None,
    *,
    vocab_size: int | None = None,
    specials: Iterable[str] = (),
    min_frequency: int = 2,
) -> Tokenizer:
    """A tokeniser of ``kind`` (``"char"``, ``"word"`` or ``"bpe"``).

    ``bpe`` is trained on ``texts`` with ``vocab_size`` entries (both required); ``char`` and ``word``
    learn nothing, accept ``texts`` for a uniform call and reject ``vocab_size``. ``specials`` (e.g.
    language tags) apply to ``char`` and ``bpe``; ``word`` keeps them whole anyway.
    """
    if kind not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer kind {kind!r}; known: {', '.join(TOKENIZERS)}")
    if kind == "bpe":
        if texts is None or vocab_size is None:
            raise ValueError(
                "build_tokenizer('bpe'): expected training texts and a vocab_size, e.g. vocab_size=8000"
            )
        return BPETokenizer.train(texts, vocab_size, specials=specials, min_frequency=min_frequency)
    if vocab_size is not None:
        raise ValueError(f"build_tokenizer({kind!r}): vocab_size applies to 'bpe' only, got {vocab_size!r}")
    if kind == "char":
        return CharTokenizer(specials=specials)
    return WordTokenizer()


def tokenizer_from_dict(data: Mapping[str, Any], *, expect: str | None = None) -> Tokenizer:
    """Rebuild a tokeniser from ``Tokenizer.to_dict()``'s output (any kind, or only ``expect``)."""
    expected = f'expected a seqlab tokenizer (a mapping with "format": {_FORMAT!r}, from Tokenizer.to_dict)'
    if not isinstance(data, Mapping) or data.get("format") != _FORMAT:
        got = data.get("format") if isinstance(data, Mapping) else type(data).__name__
        raise ValueError(f"{expected}, got format {got!r}")
    if data.get("version") != _VERSION:
        raise ValueError(f"expected tokenizer format version {_VERSION}, got {data.get('version')!r}")
    kind = data.get("kind")
    if kind not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer kind {kind!r}; known: {', '.join(TOKENIZERS)}")
    if expect is not None and kind != expect:
        raise ValueError(f"expected a {expect!r} tokenizer, got a {kind!r} one; use tokenizer_from_dict")
    specials = data.get("specials", [])
    if kind == "char":
        return CharTokenizer(specials=specials)
    if kind == "word":
        return WordTokenizer()
    if not isinstance(data.get("tokenizer"), str):
        raise ValueError('a "bpe" tokenizer needs the "tokenizer" entry (the tokenizers JSON string)')
    return BPETokenizer(data["tokenizer"], specials=specials)


def load_tokenizer(path: str | os.PathLike[str]) -> Tokenizer:
    """Read a tokeniser written by ``Tokenizer.save``. A missing or foreign file → ValueError naming it."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: expected a seqlab tokenizer file, but the file does not exist") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: expected a seqlab tokenizer file, but it is not valid JSON ({e})") from e
    try:
        return tokenizer_from_dict(data)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from e
