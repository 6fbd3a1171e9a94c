"""Scores for sequence labeling: entity spans (NER, chunking), tokens (POS) and word segmentation.

Entity spans follow ``conlleval.pl``, the CoNLL-2000/2003 evaluation script. A tag is ``O`` or
``P-TYPE``: the prefix ``P`` is split off at the first hyphen, so types may contain hyphens
(``B-ORG-CORP`` has type ``ORG-CORP``). Chunks are read with conlleval's lenient rules, so output that
is not a valid tag sequence is still scored the way everyone's published figures were scored:

- a chunk starts at ``B`` and ``S``; at ``I`` or ``E`` after ``O``, ``E`` or ``S``; at any non-``O``
  tag whose type differs from the previous tag's (so ``O I-PER`` and ``B-LOC I-ORG`` both start a
  chunk at the ``I``);
- a chunk ends before ``B``, ``S`` or ``O`` after ``B``/``I``; after ``E`` and ``S``; and before any
  tag whose type differs (so a chunk still open at the end of a sentence ends there);
- ``[`` and ``]`` are one-token chunks, as conlleval assumes.

These rules read IOB1, IOB2, IOE1, IOE2 and, with the additions below, IOBES.

Deliberate deviations from conlleval.pl (version 2004-01-26). The first two are IOBES, which the script
predates (people convert IOBES to IOB before running it); seqeval's default mode makes the same two:

1. ``S`` starts a chunk and ends it, as in IOBES. conlleval.pl has no rule for ``S``, so there
   ``S-X S-X`` and ``B-X S-X`` are each one chunk.
2. ``B`` always starts a chunk. conlleval.pl starts one at ``B`` only after ``O``, ``B``, ``I`` or a
   different type, so there ``E-X B-X`` continues one chunk (and ``[-X B-X I-X`` drops the ``B-X``).
3. A chunk start always closes the open chunk, so chunks never overlap. conlleval.pl lets ``I-X [-X``
   open a chunk without closing the one before.

On tags made of ``O``, ``B``, ``I`` and ``E`` where no ``E`` is directly followed by a ``B`` of the same
type, the counts are exactly conlleval.pl's (the tests check this against a port of the script).

Spans are ``(type, start, end)`` with ``end`` exclusive. A predicted span counts as correct when gold
has the same type over exactly the same tokens. Precision, recall and F1 are fractions in [0, 1]; a
ratio with nothing to divide (no predicted or no gold spans) is 0, as in conlleval.

``scheme="IOB2"`` or ``scheme="IOBES"`` scores strictly instead (seqeval's ``mode="strict"``): only
well-formed chunks count (``B I*`` in IOB2; ``S`` or ``B I* E`` in IOBES), and a prefix outside the
scheme is an error.

Word segmentation follows the SIGHAN bakeoff scoring: words are character-offset spans within each
sentence; OOV/IV recall split gold words by whether they occur in the training word list.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

__all__ = [
    "SegmentationReport",
    "Span",
    "SpanReport",
    "TypeScore",
    "extract_spans",
    "segmentation_scores",
    "span_scores",
    "token_accuracy",
]

Scheme = Literal["IOB2", "IOBES"]

_PREFIXES = ("B", "I", "E", "S", "[", "]")
_SCHEME_PREFIXES: dict[str, tuple[str, ...]] = {"IOB2": ("B", "I"), "IOBES": ("B", "I", "E", "S")}
_SHOWN = 40  # characters of a sentence shown in an error message


class Span(NamedTuple):
    """A chunk of one sentence: tokens ``start`` up to (not including) ``end``."""

    type: str
    start: int
    end: int


@dataclass(frozen=True)
class TypeScore:
    """Scores of one entity type. ``support``: gold spans; ``predicted``: predicted spans."""

    precision: float
    recall: float
    f1: float
    support: int
    predicted: int
    true_positives: int


@dataclass(frozen=True)
class SpanReport:
    """Entity-span scores, micro-averaged over all types (conlleval's overall line) and per type.

    ``accuracy`` is conlleval's token accuracy (tags equal, ``O`` included). ``macro_f1`` is the
    unweighted mean of the per-type F1 over every type seen in gold or predictions (0 if none).
    """

    precision: float
    recall: float
    f1: float
    per_type: Mapping[str, TypeScore]
    true_positives: int
    gold_spans: int
    predicted_spans: int
    macro_f1: float
    tokens: int
    accuracy: float

    def format(self) -> str:
        """The report laid out like conlleval.pl's output (percentages, last column = predicted)."""
        lines = [
            f"processed {self.tokens} tokens with {self.gold_spans} phrases; "
            f"found: {self.predicted_spans} phrases; correct: {self.true_positives}.",
            f"accuracy: {100 * self.accuracy:6.2f}%; precision: {100 * self.precision:6.2f}%; "
            f"recall: {100 * self.recall:6.2f}%; FB1: {100 * self.f1:6.2f}",
        ]
        for name, score in self.per_type.items():
            lines.append(
                f"{name:>17}: precision: {100 * score.precision:6.2f}%; "
                f"recall: {100 * score.recall:6.2f}%; FB1: {100 * score.f1:6.2f}  {score.predicted}"
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class SegmentationReport:
    """Word-segmentation scores (SIGHAN bakeoff).

    ``oov_recall``/``iv_recall``: recall over gold words not in / in the training words; ``None`` when
    no training words were given or there is no such gold word.
    """

    precision: float
    recall: float
    f1: float
    oov_recall: float | None
    iv_recall: float | None
    gold_words: int
    predicted_words: int
    correct_words: int

    def format(self) -> str:
        """One line per figure, in percent."""

        def pct(x: float | None) -> str:
            return "n/a" if x is None else f"{100 * x:.2f}%"

        return (
            f"words: gold {self.gold_words}, predicted {self.predicted_words}, "
            f"correct {self.correct_words}\n"
            f"precision: {pct(self.precision)}; recall: {pct(self.recall)}; F1: {pct(self.f1)}; "
            f"OOV recall: {pct(self.oov_recall)}; IV recall: {pct(self.iv_recall)}"
        )


# ---------------------------------------------------------------------------------------------------
# Entity spans


def _split_tag(tag: object, where: str, scheme: Scheme | None) -> tuple[str, str]:
    """``"B-PER"`` -> ``("B", "PER")``; ``"O"`` -> ``("O", "")``. ``where`` names the tag in errors."""
    if tag == "O":
        return "O", ""
    allowed = _SCHEME_PREFIXES[scheme] if scheme is not None else _PREFIXES
    if isinstance(tag, str):
        prefix, sep, type_ = tag.partition("-")
        if sep and type_ and prefix in allowed:
            return prefix, type_
    shown = "/".join(allowed)
    kind = f"an {scheme} tag" if scheme is not None else "a tag"
    raise ValueError(f"{where}: expected {kind} 'O' or '<{shown}>-TYPE' (e.g. 'B-PER'), got {tag!r}")


def _starts(prev: str, tag: str, prev_type: str, type_: str) -> bool:
    """conlleval's startOfChunk (plus IOBES's ``S``): a chunk starts at ``tag``."""
    if tag in ("B", "S", "[", "]"):
        return True
    if prev in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag != "O" and prev_type != type_


def _ends(prev: str, tag: str, prev_type: str, type_: str) -> bool:
    """conlleval's endOfChunk (plus IOBES's ``S``): the chunk holding ``prev`` ends before ``tag``."""
    if prev == "O":
        return False
    if prev in ("E", "S", "[", "]"):
        return True
    if prev in ("B", "I") and tag in ("B", "S", "O", "[", "]"):
        return True
    return prev_type != type_


def _conlleval_spans(tags: Sequence[str], where: str) -> list[Span]:
    spans: list[Span] = []
    prev, prev_type, begin, inside = "O", "", 0, False
    for i, tag in enumerate([*tags, "O"]):  # the trailing O closes a chunk at the sentence end
        prefix, type_ = _split_tag(tag, f"{where}, token {i}", None)
        if inside and _ends(prev, prefix, prev_type, type_):
            spans.append(Span(prev_type, begin, i))
            inside = False
        if _starts(prev, prefix, prev_type, type_):
            begin, inside = i, True
        prev, prev_type = prefix, type_
    return spans


def _strict_spans(tags: Sequence[str], scheme: Scheme, where: str) -> list[Span]:
    parsed = [_split_tag(tag, f"{where}, token {i}", scheme) for i, tag in enumerate(tags)]
    spans: list[Span] = []
    for i, (prefix, type_) in enumerate(parsed):
        if prefix == "S":
            spans.append(Span(type_, i, i + 1))
        elif prefix == "B":
            j = i + 1
            while j < len(parsed) and parsed[j] == ("I", type_):
                j += 1
            if scheme == "IOB2":
                spans.append(Span(type_, i, j))
            elif j < len(parsed) and parsed[j] == ("E", type_):
                spans.append(Span(type_, i, j + 1))
    return spans


def extract_spans(tags: Sequence[str], scheme: Scheme | None = None) -> list[Span]:
    """The chunks of one sentence's tags, in order.

    ``scheme=None`` reads them as conlleval does (any tag sequence, see the module docstring);
    ``"IOB2"``/``"IOBES"`` keep only well-formed chunks.

    >>> extract_spans(["B-PER", "I-PER", "O", "I-LOC"])
    [Span(type='PER', start=0, end=2), Span(type='LOC', start=3, end=4)]
    """
    _check_scheme(scheme)
    if isinstance(tags, str):
        raise ValueError(f"extract_spans: expected a sequence of tags, got the string {tags!r}")
    if scheme is None:
        return _conlleval_spans(tags, "extract_spans")
    return _strict_spans(tags, scheme, "extract_spans")


def span_scores(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], *, scheme: Scheme | None = None
) -> SpanReport:
    """Entity-span precision/recall/F1 per type and overall, equal to conlleval.pl.

    Args:
        gold: one tag sequence per sentence, e.g. ``[["B-PER", "I-PER", "O"], ...]``.
        pred: predicted tags, the same number of sentences and tokens as ``gold``.
        scheme: ``None`` for conlleval's lenient reading; ``"IOB2"`` or ``"IOBES"`` to count only
            well-formed chunks (seqeval's strict mode).

    A type that appears only in ``pred`` (or only in ``gold``) is scored like any other: zero
    precision or recall, not an error.
    """
    _check_scheme(scheme)
    _check_aligned("span_scores", gold, pred)
    gold_spans: Counter[str] = Counter()
    pred_spans: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    tokens = equal_tags = 0
    for s, (gold_tags, pred_tags) in enumerate(zip(gold, pred)):
        where = f"span_scores: sentence {s}"
        if scheme is None:
            g = _conlleval_spans(gold_tags, f"{where} (gold)")
            p = _conlleval_spans(pred_tags, f"{where} (pred)")
        else:
            g = _strict_spans(gold_tags, scheme, f"{where} (gold)")
            p = _strict_spans(pred_tags, scheme, f"{where} (pred)")
        gold_spans.update(span.type for span in g)
        pred_spans.update(span.type for span in p)
        correct.update(span.type for span in set(g) & set(p))
        tokens += len(gold_tags)
        equal_tags += sum(a == b for a, b in zip(gold_tags, pred_tags))

    per_type = {
        name: TypeScore(
            *_prf(correct[name], pred_spans[name], gold_spans[name]),
            support=gold_spans[name],
            predicted=pred_spans[name],
            true_positives=correct[name],
        )
        for name in sorted(gold_spans.keys() | pred_spans.keys())
    }
    tp, n_gold, n_pred = correct.total(), gold_spans.total(), pred_spans.total()
    precision, recall, f1 = _prf(tp, n_pred, n_gold)
    macro_f1 = sum(score.f1 for score in per_type.values()) / len(per_type) if per_type else 0.0
    return SpanReport(
        precision=precision,
        recall=recall,
        f1=f1,
        per_type=per_type,
        true_positives=tp,
        gold_spans=n_gold,
        predicted_spans=n_pred,
        macro_f1=macro_f1,
        tokens=tokens,
        accuracy=equal_tags / tokens if tokens else 0.0,
    )


# ---------------------------------------------------------------------------------------------------
# Tokens


def token_accuracy(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> float:
    """Fraction of tokens whose predicted tag equals the gold tag (POS tagging), over all sentences."""
    _check_aligned("token_accuracy", gold, pred)
    tokens = sum(len(sentence) for sentence in gold)
    if tokens == 0:
        raise ValueError("token_accuracy: expected at least one token, got none")
    equal = sum(a == b for g, p in zip(gold, pred) for a, b in zip(g, p))
    return equal / tokens


# ---------------------------------------------------------------------------------------------------
# Word segmentation


def segmentation_scores(
    gold_words: Sequence[Sequence[str]],
    pred_words: Sequence[Sequence[str]],
    train_words: set[str] | frozenset[str] | None = None,
) -> SegmentationReport:
    """Word-segmentation precision/recall/F1 (SIGHAN bakeoff), plus OOV/IV recall.

    Args:
        gold_words: one list of words per sentence, e.g. ``[["我", "喜欢", "自然", "语言", "处理"]]``.
        pred_words: the predicted words of the same sentences; each sentence's words must join to
            the same characters as gold's.
        train_words: the training vocabulary; gold words outside it are out-of-vocabulary (OOV).

    A word is correct when the prediction has a word over exactly the same characters.
    """
    _check_sentences("segmentation_scores", "gold_words", gold_words)
    _check_sentences("segmentation_scores", "pred_words", pred_words)
    if len(gold_words) != len(pred_words):
        raise ValueError(
            f"segmentation_scores: expected as many predicted sentences as gold ones, "
            f"got {len(pred_words)} predicted and {len(gold_words)} gold"
        )
    n_gold = n_pred = n_correct = 0
    oov_total = oov_found = iv_total = iv_found = 0
    for s, (gold, pred) in enumerate(zip(gold_words, pred_words)):
        gold_text, pred_text = "".join(gold), "".join(pred)
        if gold_text != pred_text:
            raise ValueError(
                f"segmentation_scores: sentence {s}: the predicted words must join to the gold "
                f"characters; gold {_shorten(gold_text)!r}, predicted {_shorten(pred_text)!r}"
            )
        gold_spans = _word_spans(gold, f"segmentation_scores: sentence {s} (gold)")
        pred_spans = set(_word_spans(pred, f"segmentation_scores: sentence {s} (pred)"))
        n_gold += len(gold_spans)
        n_pred += len(pred_spans)
        for word, span in zip(gold, gold_spans):
            found = span in pred_spans
            n_correct += found
            if train_words is None:
                continue
            if word in train_words:
                iv_total += 1
                iv_found += found
            else:
                oov_total += 1
                oov_found += found
    precision, recall, f1 = _prf(n_correct, n_pred, n_gold)
    return SegmentationReport(
        precision=precision,
        recall=recall,
        f1=f1,
        oov_recall=oov_found / oov_total if oov_total else None,
        iv_recall=iv_found / iv_total if iv_total else None,
        gold_words=n_gold,
        predicted_words=n_pred,
        correct_words=n_correct,
    )


def _word_spans(words: Sequence[str], where: str) -> list[tuple[int, int]]:
    spans, offset = [], 0
    for i, word in enumerate(words):
        if not isinstance(word, str) or not word:
            raise ValueError(f"{where}, word {i}: expected a non-empty string, got {word!r}")
        spans.append((offset, offset + len(word)))
        offset += len(word)
    return spans


# ---------------------------------------------------------------------------------------------------
# Shared checks and arithmetic


def _prf(correct: int, predicted: int, gold: int) -> tuple[float, float, float]:
    """Precision, recall, F1; 0 wherever the denominator is 0 (as conlleval and SIGHAN)."""
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _check_scheme(scheme: object) -> None:
    if scheme is not None and scheme not in _SCHEME_PREFIXES:
        known = ", ".join(repr(name) for name in _SCHEME_PREFIXES)
        raise ValueError(f"unknown scheme {scheme!r}; expected None (conlleval) or one of {known}")


def _check_sentences(fn: str, name: str, sentences: object) -> None:
    if isinstance(sentences, str) or not isinstance(sentences, Sequence):
        raise ValueError(f"{fn}: expected {name} as a list of sentences, got {type(sentences).__name__}")
    for s, sentence in enumerate(sentences):
        if isinstance(sentence, str) or not isinstance(sentence, Sequence):
            raise ValueError(
                f"{fn}: expected {name}[{s}] to be a list (one sentence), got {sentence!r}; "
                f"wrap a single sentence as [sentence]"
            )


def _check_aligned(fn: str, gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> None:
    _check_sentences(fn, "gold", gold)
    _check_sentences(fn, "pred", pred)
    if len(gold) != len(pred):
        raise ValueError(
            f"{fn}: expected as many predicted sentences as gold ones, "
            f"got {len(pred)} predicted and {len(gold)} gold"
        )
    for s, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(
                f"{fn}: sentence {s}: expected as many predicted tags as gold tags, "
                f"got {len(p)} predicted and {len(g)} gold"
            )


def _shorten(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"
