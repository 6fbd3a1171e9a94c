"""File helpers shared by readers and writers: decoding with line numbers, JSONL records, atomic writes."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["atomic_write_text", "decoded_lines", "json_object", "read_lines", "shown", "split_fields"]

_FIELD_SEP = re.compile(r"[ \t]+")
_SHOWN = 60  # characters of a line shown in an error message


def shown(line: str) -> str:
    """A line for an error message: its repr, cut to 60 characters."""
    return repr(line if len(line) <= _SHOWN else line[:_SHOWN] + "…")


def json_object(line: str, origin: str, expected: str = "a JSON object") -> dict:
    """One JSONL line as a dict, or a ValueError at ``origin`` ("file:line") saying what came instead."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"{origin}: not valid JSON ({e.msg} at column {e.colno}): {shown(line)}") from None
    if not isinstance(record, dict):
        raise ValueError(f"{origin}: expected {expected}, got a {type(record).__name__}")
    return record


def split_fields(line: str) -> list[str]:
    """Split a line on runs of spaces and tabs (only those: an ideographic space is text, not a separator).

    A blank line gives an empty list.
    """
    line = line.strip(" \t")
    return _FIELD_SEP.split(line) if line else []


def read_lines(path: str | os.PathLike[str], encoding: str = "utf-8") -> list[str]:
    """Read a text file as a list of lines, without line endings.

    Lines are split on ``\\n`` only (``str.splitlines`` would also split on characters such as U+2028
    that can occur inside tokens); a trailing ``\\r`` is dropped, and so is a leading byte-order mark.
    Bytes that do not decode raise a ValueError naming ``path:line`` and suggesting ``encoding=``.
    """
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding)
    except LookupError as e:
        raise ValueError(
            f"{path}: unknown encoding {encoding!r}; use a Python codec name such as 'utf-8'"
        ) from e
    except UnicodeDecodeError as e:
        lineno = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise ValueError(
            f"{path}:{lineno}: cannot decode byte(s) {raw[e.start : e.end].hex(' ')} at byte column {column} "
            f"as {encoding} ({e.reason}); if the file uses another encoding, pass it, e.g. "
            "encoding='gb18030' for Chinese text or encoding='latin-1'"
        ) from e
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def decoded_lines(raw_lines: Iterable[bytes], name: str, encoding: str = "utf-8") -> Iterator[str]:
    """Decode a stream of byte lines (a file opened ``"rb"``, ``sys.stdin.buffer``) one line at a time.

    Yields lines without their ending, as they arrive (so a pipe is processed while it is written). A line
    that does not decode raises a ValueError naming ``name:line`` and the byte column.
    """
    for lineno, raw in enumerate(raw_lines, start=1):
        try:
            line = raw.decode(encoding)
        except UnicodeDecodeError as e:
            raise ValueError(
                f"{name}:{lineno}: cannot decode byte(s) {raw[e.start : e.end].hex(' ')} at byte column "
                f"{e.start + 1} as {encoding} ({e.reason}); convert the input to {encoding} first"
            ) from e
        if lineno == 1 and line.startswith("\ufeff"):
            line = line[1:]
        yield line.rstrip("\r\n")


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    Either the whole new file appears or, on any failure (including an unencodable character), the old
    file is left as it was and the temporary file is removed.
    """
    path = Path(path)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666 & ~umask, like open()
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
