"""Parallel text for transduction (seq2seq): one source string and its target string(s) per example.

Two file formats, one example per line; blank lines are skipped in both:

- TSV: ``source<TAB>target``. Exactly one tab: a second tab is an error (the reader cannot tell which
  side it belongs to), so a side may contain spaces but no tabs. One reference per line.
- JSONL: one JSON object per line, ``{"source": "read", "target": "R IY D"}``. The target may also be
  a non-empty list of strings — several acceptable answers, e.g. ``["R IY D", "R EH D"]``; the first
  is ``Pair.target`` and all of them are ``Pair.references``. Other keys are ignored; the field names
  are options.

Text is kept exactly as written (inner and outer spaces included: a character model sees them), except
that line endings (``\\n``, ``\\r\\n``) and a leading byte-order mark are dropped. A side that is empty or
only whitespace is an error. Every error names ``path:line``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from seqlab.data._io import _SHOWN, atomic_write_text, json_object, read_lines, shown

__all__ = ["Pair", "read_parallel", "write_parallel"]

Format = Literal["auto", "tsv", "jsonl"]
_FORMATS = ("auto", "tsv", "jsonl")
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")


@dataclass(frozen=True)
class Pair:
    """One transduction example: ``source`` → ``target``, and every acceptable target.

    ``references`` holds all the targets that count as correct (several pronunciations of one word,
    several translations), ``target`` first; it defaults to ``(target,)``. ``origin`` says where the
    pair came from, ``"path:line"`` for a file, so errors about it can point there.
    """

    source: str
    target: str
    references: tuple[str, ...] = ()
    origin: str = "<memory>"

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not isinstance(self.target, str):
            bad = "source" if not isinstance(self.source, str) else "target"
            raise ValueError(
                f"{self.origin}: expected {bad} to be a string, got {type(getattr(self, bad)).__name__}"
            )
        refs = self.references
        if isinstance(refs, str):
            raise ValueError(
                f"{self.origin}: expected references to be a sequence of strings, got the string "
                f"{refs!r}; wrap it in a tuple"
            )
        if type(refs) is not tuple:
            refs = tuple(refs)
            object.__setattr__(self, "references", refs)
        if not refs:
            object.__setattr__(self, "references", (self.target,))
            return
        if refs[0] != self.target:
            raise ValueError(
                f"{self.origin}: expected references[0] to be the target {self.target!r}, got {refs[0]!r}"
            )
        if len(refs) > 1 and not all(isinstance(r, str) for r in refs):
            raise ValueError(f"{self.origin}: expected every reference to be a string, got {refs!r}")


def _resolve_format(path: Path, fmt: str, lines: Sequence[str]) -> str:
    if fmt not in _FORMATS:
        raise ValueError(f"unknown parallel format {fmt!r}; known: {', '.join(_FORMATS)}")
    if fmt != "auto":
        return fmt
    if path.suffix.lower() in _JSONL_SUFFIXES:
        return "jsonl"
    if path.suffix.lower() in (".tsv", ".txt"):
        return "tsv"
    first = next((line for line in lines if line.strip()), "")
    return "jsonl" if first.lstrip().startswith("{") else "tsv"


def _check_side(path: Path, lineno: int, name: str, text: str, line: str) -> None:
    if not text.strip():
        raise ValueError(
            f"{path}:{lineno}: the {name} is {'empty' if not text else 'only whitespace'}; "
            f"every example needs a non-empty source and target: {shown(line)}"
        )


def _read_tsv_line(path: Path, lineno: int, line: str) -> Pair:
    n_tabs = line.count("\t")
    if n_tabs == 0:
        raise ValueError(
            f"{path}:{lineno}: expected source<TAB>target, found no tab: {shown(line)} "
            "(spaces do not separate the sides; for JSON lines pass format='jsonl')"
        )
    if n_tabs > 1:
        raise ValueError(
            f"{path}:{lineno}: expected exactly one tab (source<TAB>target), found {n_tabs}: {shown(line)}; "
            "a side cannot contain a tab — write JSONL to keep tabs or give several references"
        )
    source, target = line.split("\t")
    _check_side(path, lineno, "source", source, line)
    _check_side(path, lineno, "target", target, line)
    return Pair(source, target, origin=f"{path}:{lineno}")


def _read_jsonl_line(path: Path, lineno: int, line: str, source_field: str, target_field: str) -> Pair:
    expected = f"a JSON object with {source_field!r} and {target_field!r}"
    record = json_object(line, f"{path}:{lineno}", expected)
    missing = [f for f in (source_field, target_field) if f not in record]
    if missing:
        raise ValueError(
            f"{path}:{lineno}: missing field{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(repr, missing))}; the object has {sorted(record)} "
            "(choose others with source_field=/target_field=)"
        )
    source, target = record[source_field], record[target_field]
    if not isinstance(source, str):
        raise ValueError(
            f"{path}:{lineno}: expected {source_field!r} to be a string, got {type(source).__name__}"
        )
    _check_side(path, lineno, "source", source, line)
    refs = [target] if isinstance(target, str) else target
    if not isinstance(refs, list) or not refs or any(not isinstance(r, str) for r in refs):
        raise ValueError(
            f"{path}:{lineno}: expected {target_field!r} to be a string or a non-empty list of strings, "
            f"got {json.dumps(target, ensure_ascii=False)[:_SHOWN]}"
        )
    for k, ref in enumerate(refs):
        _check_side(path, lineno, "target" if len(refs) == 1 else f"target (reference {k})", ref, line)
    return Pair(source, refs[0], tuple(refs), origin=f"{path}:{lineno}")


def read_parallel(
    path: str | os.PathLike[str],
    *,
    format: Format = "auto",
    source_field: str = "source",
    target_field: str = "target",
    encoding: str = "utf-8",
) -> list[Pair]:
    """Read a TSV or JSONL file of source/target pairs (see the module docstring for both formats).

    ``format="auto"`` goes by the suffix (``.jsonl``, ``.ndjson``, ``.json`` → JSONL; ``.tsv``, ``.txt``
    → TSV), else by the first non-blank line (``{`` → JSONL). ``source_field``/``target_field`` name the
    JSONL keys. Raises ValueError with ``path:line`` for a TSV line without a tab or with more than one,
    an empty side, invalid JSON, a missing or mistyped field, bytes that are not valid in ``encoding``,
    and a file with no examples.
    """
    path = Path(path)
    lines = read_lines(path, encoding)
    fmt = _resolve_format(path, format, lines)
    pairs: list[Pair] = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if fmt == "tsv":
            pairs.append(_read_tsv_line(path, lineno, line))
        else:
            pairs.append(_read_jsonl_line(path, lineno, line, source_field, target_field))
    if not pairs:
        what = "is empty" if not lines else "has only blank lines"
        raise ValueError(f"{path}: expected {fmt.upper()} source/target pairs, the file {what}")
    return pairs


def write_parallel(
    path: str | os.PathLike[str],
    pairs: Iterable[Pair],
    *,
    format: Format = "auto",
    source_field: str = "source",
    target_field: str = "target",
    encoding: str = "utf-8",
) -> None:
    """Write pairs as TSV or JSONL (``format="auto"`` goes by the suffix; TSV unless it is a JSON one).

    JSONL writes the target as a string, or as the list of references when there are several; TSV
    cannot hold several references, nor a tab or line break inside a side, and raises ValueError for
    them (write JSONL instead). ``read_parallel`` reads the result back to equal pairs (``origin``
    aside). The file is written to a temporary name and renamed, so a failure leaves no partial file.
    """
    path = Path(path)
    if format not in _FORMATS:
        raise ValueError(f"write_parallel: unknown format {format!r}; known: {', '.join(_FORMATS)}")
    fmt = format if format != "auto" else ("jsonl" if path.suffix.lower() in _JSONL_SUFFIXES else "tsv")
    out: list[str] = []
    for k, pair in enumerate(pairs):
        if not isinstance(pair, Pair):
            raise ValueError(
                f"write_parallel: expected Pair objects, got {type(pair).__name__} at position {k}"
            )
        for name, text in (("source", pair.source), *(("target", r) for r in pair.references)):
            if not text.strip() or "\n" in text or "\r" in text:
                raise ValueError(
                    f"write_parallel: {pair.origin} (position {k}): the {name} {text!r} is empty or holds "
                    "a line break; it would not read back as one example"
                )
        if fmt == "jsonl":
            target: str | list[str] = pair.target if len(pair.references) == 1 else list(pair.references)
            out.append(json.dumps({source_field: pair.source, target_field: target}, ensure_ascii=False))
            continue
        if len(pair.references) > 1:
            raise ValueError(
                f"write_parallel: {pair.origin} (position {k}) has {len(pair.references)} references; "
                "TSV holds one target per line — write JSONL (format='jsonl') to keep them all"
            )
        if "\t" in pair.source or "\t" in pair.target:
            raise ValueError(
                f"write_parallel: {pair.origin} (position {k}) has a tab inside a side; "
                "TSV separates the sides with a tab — write JSONL (format='jsonl')"
            )
        out.append(f"{pair.source}\t{pair.target}")
    if not out:
        raise ValueError(
            "write_parallel: expected at least one pair, got none (an empty file would not read back)"
        )
    atomic_write_text(path, "".join(line + "\n" for line in out), encoding)
