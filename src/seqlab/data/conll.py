"""CoNLL column files: one token per line, whitespace-separated columns, blank lines between sentences.

The CoNLL-2003 shared-task files look like this (token, POS tag, chunk tag, NER tag)::

    -DOCSTART- -X- -X- O

    EU NNP B-NP B-ORG
    rejects VBZ B-VP O
    ...

``read_conll(path)`` takes the first column as tokens and the last as tags; ``tag_column=1`` reads the
POS tags instead. ``-DOCSTART-`` lines are document separators and are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from seqlab.data._io import atomic_write_text, read_lines, split_fields

__all__ = ["Sentence", "read_conll", "write_conll"]

DOCSTART = "-DOCSTART-"


@dataclass(frozen=True)
class Sentence:
    """One sentence: its tokens, their tags (None for unlabelled text) and where it came from.

    ``source`` is ``"path:line"`` of the sentence's first line, so errors about a sentence can point
    at it. Lists are accepted and stored as tuples.
    """

    tokens: tuple[str, ...]
    tags: tuple[str, ...] | None
    source: str = "<memory>"

    def __post_init__(self) -> None:
        object.__setattr__(self, "tokens", tuple(self.tokens))
        if self.tags is not None:
            object.__setattr__(self, "tags", tuple(self.tags))
            if len(self.tags) != len(self.tokens):
                raise ValueError(
                    f"{self.source}: expected one tag per token, got {len(self.tokens)} tokens "
                    f"and {len(self.tags)} tags"
                )

    def __len__(self) -> int:
        return len(self.tokens)


def _check_column(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        hint = "; pass tag_column=None for the last column" if name == "tag_column" else ""
        raise ValueError(f"read_conll: expected {name} to be a column index ≥ 0, got {value!r}{hint}")


def read_conll(
    path: str | os.PathLike[str],
    *,
    token_column: int = 0,
    tag_column: int | None = None,
    encoding: str = "utf-8",
) -> list[Sentence]:
    """Read a CoNLL-style column file into sentences.

    Columns are separated by runs of spaces or tabs; blank lines end sentences; lines whose first
    column is ``-DOCSTART-`` are skipped (they also end a sentence). ``tag_column=None`` means the
    last column — except in a file with a single column, which is read as unlabelled tokens
    (``Sentence.tags is None``). Column indices count from 0.

    Every token line must have as many columns as the first one. Raises ValueError (with
    ``path:line``) for a line with another column count, a column index past the last column, bytes
    that are not valid in ``encoding``, and a file with no sentences.
    """
    _check_column("token_column", token_column)
    if tag_column is not None:
        _check_column("tag_column", tag_column)
    lines = read_lines(path, encoding)

    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    start = 0  # line number of the current sentence's first line
    n_columns = 0  # set by the first token line
    first_line = 0
    tag_index: int | None = None
    saw_docstart = False

    def flush() -> None:
        if tokens:
            sentences.append(
                Sentence(tuple(tokens), tuple(tags) if tag_index is not None else None, f"{path}:{start}")
            )
            tokens.clear()
            tags.clear()

    for lineno, line in enumerate(lines, start=1):
        fields = split_fields(line)
        if not fields:
            flush()
            continue
        if fields[0] == DOCSTART:
            saw_docstart = True
            flush()
            continue
        if not n_columns:
            n_columns, first_line = len(fields), lineno
            tag_index = _tag_index(path, lineno, n_columns, token_column, tag_column)
        elif len(fields) != n_columns:
            raise ValueError(
                f"{path}:{lineno}: expected {n_columns} columns (like line {first_line}), "
                f"got {len(fields)}: {line!r}"
            )
        if not tokens:
            start = lineno
        tokens.append(fields[token_column])
        if tag_index is not None:
            tags.append(fields[tag_index])
    flush()

    if not sentences:
        what = "contains only -DOCSTART- and blank lines" if saw_docstart else "is empty"
        raise ValueError(
            f"{path}: expected CoNLL sentences (token lines separated by blank lines), the file {what}"
        )
    return sentences


def _tag_index(
    path: str | os.PathLike[str], lineno: int, n_columns: int, token_column: int, tag_column: int | None
) -> int | None:
    for name, value in (("token_column", token_column), ("tag_column", tag_column)):
        if value is not None and value >= n_columns:
            raise ValueError(
                f"{path}:{lineno}: {name}={value} is out of range: the file has {n_columns} "
                f"column{'s' if n_columns > 1 else ''} (indices 0 to {n_columns - 1})"
            )
    if tag_column is None:
        if n_columns == 1:
            return None  # tokens only
        tag_column = n_columns - 1
    if tag_column == token_column:
        raise ValueError(
            f"{path}:{lineno}: token_column and tag_column are both {token_column}; "
            "pass tag_column explicitly to read tags from another column"
        )
    return tag_column


def write_conll(
    path: str | os.PathLike[str],
    sentences: Iterable[Sentence | Sequence[str]],
    tags: Iterable[Sequence[str]] | None = None,
    *,
    sep: str = " ",
    encoding: str = "utf-8",
) -> None:
    """Write sentences as a two-column (token, tag) file, a blank line after each sentence.

    ``sentences`` holds ``Sentence`` objects or plain token sequences. Tags come from ``tags`` when
    given (one sequence per sentence, e.g. predictions), else from each ``Sentence.tags``; with no tags
    at all, a one-column file is written. ``read_conll`` reads the result back.

    The file is written to a temporary name in the same folder and renamed, so a failure never
    leaves a half-written file. Raises ValueError for a token or tag that is empty or contains
    whitespace (it would split into columns), mismatched lengths, and a mix of tagged and untagged
    sentences.
    """
    if sep not in (" ", "\t"):
        raise ValueError(f"write_conll: expected sep to be ' ' or '\\t', got {sep!r}")
    sents = list(sentences)
    tag_seqs: list[Sequence[str] | None]
    if tags is not None:
        tag_seqs = list(tags)
        if len(tag_seqs) != len(sents):
            raise ValueError(
                f"write_conll: expected one tag sequence per sentence, got {len(sents)} sentences "
                f"and {len(tag_seqs)} tag sequences"
            )
    else:
        tag_seqs = [s.tags if isinstance(s, Sentence) else None for s in sents]
    if len({t is None for t in tag_seqs}) > 1:
        raise ValueError(
            "write_conll: expected either every sentence tagged or none, got a mix; "
            "pass tags= to supply tags for all of them"
        )

    out: list[str] = []
    for k, (sent, seq) in enumerate(zip(sents, tag_seqs)):
        toks = sent.tokens if isinstance(sent, Sentence) else sent
        where = sent.source if isinstance(sent, Sentence) else f"sentence {k}"
        if isinstance(toks, str):
            raise ValueError(f"write_conll: {where}: expected a sequence of tokens, got the string {toks!r}")
        if seq is not None and len(seq) != len(toks):
            raise ValueError(
                f"write_conll: {where}: expected one tag per token, "
                f"got {len(toks)} tokens and {len(seq)} tags"
            )
        if not toks:
            raise ValueError(
                f"write_conll: {where}: a sentence needs at least one token (an empty one would vanish)"
            )
        for i, tok in enumerate(toks):
            fields = [tok] if seq is None else [tok, seq[i]]
            for field in fields:
                if not isinstance(field, str) or not field or any(c in field for c in " \t\r\n"):
                    raise ValueError(
                        f"write_conll: {where}, token {i}: expected a non-empty string without spaces, "
                        f"tabs or line breaks, got {field!r}"
                    )
            if tok == DOCSTART:
                raise ValueError(f"write_conll: {where}, token {i}: {DOCSTART} would be skipped on reading")
            out.append(sep.join(fields))
        out.append("")
    atomic_write_text(Path(path), "".join(line + "\n" for line in out), encoding)
