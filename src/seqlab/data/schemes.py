"""Tag schemes for spans over tokens: IOB1, IOB2 (BIO), BIOES (IOBES) and BMES.

A label is a prefix, optionally followed by ``-`` and a type: ``B-PER``, ``I-PER``, ``O``; untyped
labels (``B``, ``I``, ``O``; ``B``, ``M``, ``E``, ``S``) have the type ``""``. The type is everything
after the first ``-``, so ``B-geo-loc`` has the type ``geo-loc``.

======  =======================================================================================
IOB1    I-X marks a chunk of type X; B-X only where a chunk directly follows another chunk of
        the same type (CoNLL-2003's original files). B-X after O, after another type or at the
        start is invalid.
IOB2    Every chunk starts with B-X, continues with I-X. I-X only after B-X or I-X. Alias: BIO.
BIOES   B-X I-X… E-X for chunks of two or more tokens, S-X for one token. Alias: IOBES.
BMES    Word segmentation: B M… E for words of two or more characters, S for one; no O. Labels
        may be typed (``B-nr``, joint segmentation and POS), and M/E continue B's type.
======  =======================================================================================

``allowed_transitions`` turns these rules into the masks a CRF uses to forbid moves, ``check_tags``
validates one sequence against them, ``spans`` reads chunks and ``convert_scheme`` rewrites a valid
sequence in another scheme. All four share the three rules ``_may_start``, ``_may_follow``,
``_may_end`` below, so they agree by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import torch
from torch import Tensor

__all__ = [
    "SCHEMES",
    "AllowedTransitions",
    "allowed_transitions",
    "check_tags",
    "convert_scheme",
    "normalize_scheme",
    "parse_label",
    "spans",
]

SCHEMES: dict[str, tuple[str, ...]] = {  # canonical name → allowed prefixes
    "IOB1": ("O", "I", "B"),
    "IOB2": ("O", "B", "I"),
    "BIOES": ("O", "B", "I", "E", "S"),
    "BMES": ("B", "M", "E", "S"),
}
_ALIASES = {"BIO": "IOB2", "IOBES": "BIOES"}
_CONVERTIBLE = ("IOB1", "IOB2", "BIOES")

Span = tuple[str, int, int]


def normalize_scheme(scheme: str) -> str:
    """The canonical name of a scheme (case-insensitive; BIO → IOB2, IOBES → BIOES)."""
    name = scheme.upper() if isinstance(scheme, str) else scheme
    name = _ALIASES.get(name, name)
    if name not in SCHEMES:
        known = ", ".join([*SCHEMES, *(f"{a} (= {c})" for a, c in _ALIASES.items())])
        raise ValueError(f"unknown tag scheme {scheme!r}; known schemes: {known}")
    return name


def parse_label(label: str, scheme: str) -> tuple[str, str]:
    """Split a label into (prefix, type): ``"B-PER"`` → ``("B", "PER")``, ``"O"`` → ``("O", "")``.

    Raises ValueError naming the label when it does not fit the scheme.
    """
    scheme = normalize_scheme(scheme)
    prefixes = SCHEMES[scheme]
    if isinstance(label, str):
        prefix, dash, type_ = label.partition("-")
        if prefix in prefixes and (not dash or type_) and not (prefix == "O" and dash):
            return prefix, type_
    forms = [p if p == "O" else f"{p}-TYPE or {p}" for p in prefixes]
    raise ValueError(f"label {label!r} does not fit the {scheme} scheme; expected one of {', '.join(forms)}")


# ------------------------------------------------------------------------------------------ the rules
# One function each: may a label start a sequence, follow another label, end a sequence?
# ``_inside`` gives the prefix that continues a chunk (I, or M for BMES).


def _inside(scheme: str) -> str:
    return "M" if scheme == "BMES" else "I"


def _may_start(scheme: str, p: str) -> bool:
    if scheme == "IOB1":
        return p != "B"  # B only separates two adjacent chunks of one type
    if scheme == "IOB2":
        return p != "I"
    return p in ("O", "B", "S")  # BIOES, BMES


def _may_follow(scheme: str, prev: tuple[str, str], cur: tuple[str, str]) -> bool:
    (p, t), (q, u) = prev, cur
    if scheme == "IOB1":
        return q != "B" or (p in ("B", "I") and t == u)
    if scheme == "IOB2":
        return q != "I" or (p in ("B", "I") and t == u)
    inside = _inside(scheme)  # BIOES, BMES
    if p in ("B", inside):  # a chunk is open: continue it with the same type
        return q in (inside, "E") and t == u
    return q in ("O", "B", "S")  # after O, E or S: a new chunk or O


def _may_end(scheme: str, p: str) -> bool:
    if scheme in ("IOB1", "IOB2"):
        return True
    return p in ("O", "E", "S")


# ------------------------------------------------------------------------------------------ public API
class AllowedTransitions(NamedTuple):
    """Masks over K labels for a CRF: True where allowed (set the rest to −inf)."""

    transitions: Tensor  # (K, K) bool, [from, to]
    start: Tensor  # (K,) bool: may begin a sequence
    end: Tensor  # (K,) bool: may end a sequence


def allowed_transitions(labels: Iterable[str], scheme: str) -> AllowedTransitions:
    """Which label may follow which, and which may start and end a sequence, under ``scheme``.

    ``labels`` is the tag vocabulary in index order (e.g. ``["O", "B-PER", "I-PER"]``). Examples of
    the rules (X, Y types): IOB2 — I-X follows only B-X or I-X and cannot start; IOB1 — B-X follows
    only B-X or I-X and cannot start; BIOES — B-X and I-X are followed only by I-X or E-X, and only
    E, S and O may end; BMES — the same with M for I and no O.

    Raises ValueError for an unknown scheme (listing the known ones), a label that does not fit it
    (naming the label), or a repeated label.
    """
    scheme = normalize_scheme(scheme)
    labels = list(labels)
    seen: dict[str, int] = {}
    for i, label in enumerate(labels):
        if label in seen:
            raise ValueError(
                f"allowed_transitions: label {label!r} appears twice (indices {seen[label]} and {i})"
            )
        seen[label] = i
    parsed = [parse_label(label, scheme) for label in labels]
    K = len(parsed)
    transitions = torch.tensor(
        [[_may_follow(scheme, a, b) for b in parsed] for a in parsed], dtype=torch.bool
    ).reshape(K, K)  # (K, K) [from, to]; reshape keeps K = 0 two-dimensional
    start = torch.tensor([_may_start(scheme, p) for p, _ in parsed], dtype=torch.bool)  # (K,)
    end = torch.tensor([_may_end(scheme, p) for p, _ in parsed], dtype=torch.bool)  # (K,)
    return AllowedTransitions(transitions, start, end)


def check_tags(tags: Sequence[str], scheme: str, *, where: str | None = None) -> None:
    """Raise ValueError at the first place where ``tags`` breaks ``scheme``; ``where`` prefixes the message.

    A sequence passes exactly when every step is allowed by ``allowed_transitions``. The empty sequence
    passes.
    """
    scheme = normalize_scheme(scheme)
    at = f"{where}: " if where else ""
    parsed = [parse_label(tag, scheme) for tag in tags]
    for i, cur in enumerate(parsed):
        if i == 0:
            if not _may_start(scheme, cur[0]):
                raise ValueError(f"{at}invalid {scheme} sequence: {tags[0]!r} cannot start a sequence")
        elif not _may_follow(scheme, parsed[i - 1], cur):
            raise ValueError(
                f"{at}invalid {scheme} sequence at position {i}: {tags[i]!r} cannot follow {tags[i - 1]!r}"
            )
    if parsed and not _may_end(scheme, parsed[-1][0]):
        raise ValueError(f"{at}invalid {scheme} sequence: {tags[-1]!r} cannot end a sequence")


def spans(tags: Sequence[str], scheme: str) -> list[Span]:
    """The chunks of a tag sequence as ``(type, start, end)``, end exclusive, in order.

    Strict: only well-formed chunks count, and a token that breaks the scheme belongs to none.
    IOB2 — a chunk is B-X and the I-X run after it; an I-X with no B-X before it is dropped.
    IOB1 — a chunk starts at I-X after anything but B-X/I-X, or at B-X right after B-X/I-X, and runs
    over the I-X after it; a B-X anywhere else is dropped. BIOES/BMES — a chunk is exactly B-X I-X… E-X
    (M for I in BMES) or S-X; a fragment that is not closed by E-X is dropped. For valid sequences
    this agrees with every lenient reading, and with ``seqeval``'s strict mode.

    >>> spans(["B-PER", "I-PER", "O", "B-LOC"], "IOB2")
    [('PER', 0, 2), ('LOC', 3, 4)]
    """
    scheme = normalize_scheme(scheme)
    parsed = [parse_label(tag, scheme) for tag in tags]
    n = len(parsed)
    out: list[Span] = []
    inside = _inside(scheme)
    i = 0
    while i < n:
        p, t = parsed[i]
        if scheme in ("IOB1", "IOB2"):
            prev = parsed[i - 1] if i else ("O", "")
            if scheme == "IOB2":
                starts = p == "B"
            else:
                starts = (p == "I" and not (prev[0] in ("B", "I") and prev[1] == t)) or (
                    p == "B" and prev[0] in ("B", "I") and prev[1] == t
                )
            if not starts:
                i += 1
                continue
            j = i + 1
            while j < n and parsed[j] == ("I", t):
                j += 1
            out.append((t, i, j))
            i = j
        else:  # BIOES, BMES
            if p == "S":
                out.append((t, i, i + 1))
                i += 1
            elif p == "B":
                j = i + 1
                while j < n and parsed[j] == (inside, t):
                    j += 1
                if j < n and parsed[j] == ("E", t):
                    out.append((t, i, j + 1))
                    i = j + 1
                else:
                    i = j  # unclosed: drop B-X I-X…, resume at the token that broke it
            else:
                i += 1
    return out


def convert_scheme(tags: Sequence[str], source: str, target: str) -> list[str]:
    """Rewrite a tag sequence from one of IOB1, IOB2, BIOES to another (aliases BIO, IOBES).

    The input must be valid in ``source`` (ValueError at the first invalid step otherwise — e.g. an
    IOB2 file read as IOB1 fails at its first B-X after O). Conversions between valid sequences are
    exact and lossless: converting there and back gives the input. Types are kept; untyped labels
    (``B``, ``I``, ``O``) stay untyped.

    >>> convert_scheme(["I-PER", "I-PER", "B-PER", "O"], "IOB1", "BIOES")
    ['B-PER', 'E-PER', 'S-PER', 'O']
    """
    source, target = normalize_scheme(source), normalize_scheme(target)
    for name in (source, target):
        if name not in _CONVERTIBLE:
            raise ValueError(
                f"convert_scheme: expected schemes among {', '.join(_CONVERTIBLE)}, got {name}; "
                "BMES has no O tag (use bmes_to_words / words_to_bmes for segmentation)"
            )
    check_tags(tags, source, where="convert_scheme")
    out = ["O"] * len(tags)
    prev: tuple[str, int] | None = None  # (type, end) of the previous chunk
    for type_, start, end in spans(tags, source):
        sfx = f"-{type_}" if type_ else ""
        if target == "IOB2":
            out[start:end] = [f"B{sfx}"] + [f"I{sfx}"] * (end - start - 1)
        elif target == "IOB1":
            first = "B" if prev == (type_, start) else "I"  # touches a chunk of its own type
            out[start:end] = [f"{first}{sfx}"] + [f"I{sfx}"] * (end - start - 1)
        elif end - start == 1:  # BIOES
            out[start] = f"S{sfx}"
        else:
            out[start:end] = [f"B{sfx}"] + [f"I{sfx}"] * (end - start - 2) + [f"E{sfx}"]
        prev = (type_, end)
    return out
