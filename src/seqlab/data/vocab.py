"""Vocabularies: strings ↔ integer ids, with optional padding and unknown-token entries.

A word vocabulary reserves id 0 for padding and id 1 for unknown tokens; a tag vocabulary usually has
neither (``pad=None, unk=None``), so an unseen tag is an error rather than a silent ``<unk>``. A target
vocabulary of a seq2seq decoder also has sequence start and end entries (``bos="<s>", eos="</s>"``),
which come after pad and unk.
Normalisation options (lowercasing, every digit → ``0``) are part of the vocabulary: ``build``,
``encode`` and ``in`` all apply them, and ``save``/``load`` keep them.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from seqlab.data._io import atomic_write_text

__all__ = ["Vocab"]

_FORMAT = "seqlab.vocab"
_VERSION = 1  # without bos/eos: the files of seqlab before they existed, read by every version
_VERSION_BOS_EOS = 2  # with bos/eos entries (older seqlab refuses these rather than shift the ids)
_DIGIT = re.compile(r"\d")  # Unicode decimal digits: 0-9, full-width ０-９, Arabic-Indic, ...


class Vocab:
    """A bidirectional map between tokens and ids.

    Specials come first: ``pad`` (id 0) then ``unk`` (id 1, or 0 without ``pad``), then ``bos`` and
    ``eos`` (sequence start and end, for a seq2seq decoder's targets); any of them may be None, and
    ``bos``/``eos`` are None unless given.
    ``tokens`` are the other entries, in id order, normalised (lowercased, digits → ``0``) as the
    options say; two tokens that normalise to the same string are an error. Use ``Vocab.build`` to
    count tokens in a corpus.

    >>> v = Vocab(["the", "cat"])
    >>> v.encode(["the", "dog"])
    [2, 1]
    """

    def __init__(
        self,
        tokens: Iterable[str] = (),
        *,
        pad: str | None = "<pad>",
        unk: str | None = "<unk>",
        lowercase: bool = False,
        normalize_digits: bool = False,
        bos: str | None = None,
        eos: str | None = None,
    ) -> None:
        named = {"pad": pad, "unk": unk, "bos": bos, "eos": eos}
        for name, value in named.items():
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"Vocab: expected {name} to be a non-empty string or None, got {value!r}")
        given = [(name, value) for name, value in named.items() if value is not None]
        for k, (name, value) in enumerate(given):
            for other, other_value in given[k + 1 :]:
                if value == other_value:
                    raise ValueError(f"Vocab: {name} and {other} must differ, got {value!r} for both")
        for name, value in (("lowercase", lowercase), ("normalize_digits", normalize_digits)):
            if not isinstance(value, bool):
                raise ValueError(f"Vocab: expected {name} to be True or False, got {value!r}")
        self.pad, self.unk, self.bos, self.eos = pad, unk, bos, eos
        self.lowercase, self.normalize_digits = lowercase, normalize_digits
        self._itos: list[str] = [s for s in (pad, unk, bos, eos) if s is not None]
        self._stoi: dict[str, int] = {s: i for i, s in enumerate(self._itos)}
        for token in tokens:
            if not isinstance(token, str):
                raise ValueError(f"Vocab: expected string tokens, got {token!r} ({type(token).__name__})")
            norm = self.normalize(token)
            if norm in self._stoi:
                what = "a special entry" if norm in (pad, unk, bos, eos) else "another token"
                raise ValueError(
                    f"Vocab: token {token!r} (normalised {norm!r}) is already present as {what} "
                    f"at id {self._stoi[norm]}"
                )
            self._stoi[norm] = len(self._itos)
            self._itos.append(norm)

    @classmethod
    def build(
        cls,
        sequences: Iterable[Sequence[str]],
        *,
        min_freq: int = 1,
        max_size: int | None = None,
        lowercase: bool = False,
        normalize_digits: bool = False,
        pad: str | None = "<pad>",
        unk: str | None = "<unk>",
        bos: str | None = None,
        eos: str | None = None,
    ) -> Vocab:
        """Count the (normalised) tokens of ``sequences`` and keep the frequent ones.

        Tokens seen fewer than ``min_freq`` times are left out; ``max_size`` caps the number of
        entries besides the specials. Order: most frequent first, ties in order of first appearance,
        so the result is deterministic. Tokens equal to a special string are not counted.
        """
        if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"Vocab.build: expected min_freq to be a positive integer, got {min_freq!r}")
        if max_size is not None and (
            isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1
        ):
            raise ValueError(
                "Vocab.build: expected max_size to be a positive integer or None (no limit), "
                f"got {max_size!r}"
            )
        options = {"pad": pad, "unk": unk, "bos": bos, "eos": eos}
        empty = cls(lowercase=lowercase, normalize_digits=normalize_digits, **options)
        counts: Counter[str] = Counter()
        for k, seq in enumerate(sequences):
            if isinstance(seq, str):
                raise ValueError(
                    f"Vocab.build: expected sequences of tokens, got the string {seq!r} at position {k}; "
                    "wrap a single sentence in a list"
                )
            counts.update(empty.normalize(token) for token in seq)
        for special in empty._itos:
            counts.pop(special, None)
        kept = [tok for tok, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n >= min_freq]
        return cls(kept[:max_size], lowercase=lowercase, normalize_digits=normalize_digits, **options)

    # ------------------------------------------------------------------------------ lookups
    def normalize(self, token: str) -> str:
        """The form a token is stored and looked up under."""
        if self.lowercase:
            token = token.lower()
        if self.normalize_digits:
            token = _DIGIT.sub("0", token)
        return token

    @property
    def pad_id(self) -> int | None:
        return None if self.pad is None else self._stoi[self.pad]

    @property
    def unk_id(self) -> int | None:
        return None if self.unk is None else self._stoi[self.unk]

    @property
    def bos_id(self) -> int | None:
        return None if self.bos is None else self._stoi[self.bos]

    @property
    def eos_id(self) -> int | None:
        return None if self.eos is None else self._stoi[self.eos]

    @property
    def tokens(self) -> tuple[str, ...]:
        """Every entry in id order, specials included."""
        return tuple(self._itos)

    def __len__(self) -> int:
        return len(self._itos)

    def __iter__(self) -> Iterator[str]:
        return iter(self._itos)

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and self.normalize(token) in self._stoi

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocab):
            return NotImplemented
        return self._config() == other._config() and self._itos == other._itos

    __hash__ = None  # type: ignore[assignment]  # mutable-looking; compare, don't hash

    def __repr__(self) -> str:
        opts = "".join(f", {k}={v!r}" for k, v in self._config().items())
        return f"Vocab({len(self)} entries{opts})"

    def encode(self, tokens: Sequence[str], *, where: str | None = None) -> list[int]:
        """Tokens → ids. Unknown tokens map to ``unk_id``; without ``unk`` they raise a ValueError
        naming the token, its position and ``where`` (e.g. a ``Sentence.source``)."""
        if isinstance(tokens, str):
            raise ValueError(f"Vocab.encode: expected a sequence of tokens, got the string {tokens!r}")
        stoi, unk_id = self._stoi, self.unk_id
        ids: list[int] = []
        for i, token in enumerate(tokens):
            idx = stoi.get(self.normalize(token))
            if idx is None:
                if unk_id is None:
                    at = f"{where}: " if where else ""
                    raise ValueError(
                        f"{at}unknown token {token!r} at position {i}: not among the vocabulary's "
                        f"{len(self)} entries, and the vocabulary has no unk entry (a tag never seen "
                        "in training?)"
                    )
                idx = unk_id
            ids.append(idx)
        return ids

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Ids (ints, or a 1-D tensor) → tokens."""
        out: list[str] = []
        n = len(self._itos)
        for i, idx in enumerate(ids):
            k = int(idx)
            if not 0 <= k < n:
                raise ValueError(f"Vocab.decode: id {k} at position {i} is out of range for {n} entries")
            out.append(self._itos[k])
        return out

    # ------------------------------------------------------------------------------ files
    def _config(self) -> dict[str, object]:
        config: dict[str, object] = {
            "pad": self.pad,
            "unk": self.unk,
            "lowercase": self.lowercase,
            "normalize_digits": self.normalize_digits,
        }
        if self.bos is not None or self.eos is not None:
            config.update(bos=self.bos, eos=self.eos)
        return config

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the vocabulary and its options as JSON (to a temporary file, then renamed).

        Without bos/eos the file is format version 1, as before they existed; with them, version 2.
        """
        n_specials = sum(s is not None for s in (self.pad, self.unk, self.bos, self.eos))
        version = _VERSION if self.bos is None and self.eos is None else _VERSION_BOS_EOS
        data = {"format": _FORMAT, "version": version, **self._config(), "tokens": self._itos[n_specials:]}
        atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocab:
        """Read a vocabulary written by ``save``. A missing, truncated or foreign file → ValueError."""
        path = Path(path)
        expected = f'expected a seqlab vocabulary (JSON with "format": {_FORMAT!r}, written by Vocab.save)'
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"{path}: {expected}, but the file does not exist") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: {expected}, but it is not valid JSON ({e})") from e
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            got = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"{path}: {expected}, got format {got!r}")
        version = data.get("version")
        if version not in (_VERSION, _VERSION_BOS_EOS):
            raise ValueError(
                f"{path}: expected vocabulary format version {_VERSION}, got {version!r} (or "
                f"{_VERSION_BOS_EOS}, with bos/eos); it was written by another version of seqlab"
            )
        keys = ["tokens", "pad", "unk", "lowercase", "normalize_digits"]
        if version == _VERSION_BOS_EOS:
            keys += ["bos", "eos"]
        missing = [key for key in keys if key not in data]
        if missing:
            raise ValueError(f"{path}: {expected}; it lacks the entries {missing} (truncated or edited?)")
        if not isinstance(data["tokens"], list):
            raise ValueError(f'{path}: expected "tokens" to be a list, got {type(data["tokens"]).__name__}')
        try:
            return cls(
                data["tokens"],
                pad=data["pad"],
                unk=data["unk"],
                lowercase=data["lowercase"],
                normalize_digits=data["normalize_digits"],
                bos=data.get("bos"),
                eos=data.get("eos"),
            )
        except ValueError as e:
            raise ValueError(f"{path}: not a valid vocabulary: {e}") from e
