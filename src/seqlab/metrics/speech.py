"""Speech recognition scores: word and character error rates, computed by ``jiwer``.

WER = (S + D + I) / N over words, CER the same over characters, both *corpus-level*: the edit operations of
all utterances over all reference words (characters), not a mean of per-utterance rates. Text is compared
as given (normalise case and punctuation beforehand). An empty reference contributes its hypothesis's
words (characters) as insertions and nothing to N; if every reference is empty, N = 0 and the rate is 0
when every hypothesis is empty too, else inf.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["asr_scores", "character_error_rate", "speech_word_error_rate"]


def _check(name: str, hyps: Sequence[str], refs: Sequence[str]) -> None:
    for arg, value in (("hyps", hyps), ("refs", refs)):
        if isinstance(value, str):
            raise ValueError(
                f"{name}: expected {arg} to be a sequence of strings, one per utterance, got a string"
            )
    if len(hyps) != len(refs):
        raise ValueError(
            f"{name}: expected as many hypotheses as references, got {len(hyps)} and {len(refs)}"
        )
    if not hyps:
        raise ValueError(f"{name}: expected at least one utterance, got none")


def _rate(hyps: Sequence[str], refs: Sequence[str], unit: str) -> tuple[int, int]:
    """(errors, reference length) in words or characters."""
    import jiwer

    pairs = [(r, h) for r, h in zip(refs, hyps) if (r.split() if unit == "word" else r)]
    errors = sum(
        len(h.split() if unit == "word" else h)
        for r, h in zip(refs, hyps)
        if not (r.split() if unit == "word" else r)
    )
    total = 0
    if pairs:
        process = jiwer.process_words if unit == "word" else jiwer.process_characters
        out = process([r for r, _ in pairs], [h for _, h in pairs])
        errors += out.substitutions + out.deletions + out.insertions
        total = out.hits + out.substitutions + out.deletions
    return errors, total


def speech_word_error_rate(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus WER of recognised texts against their transcripts (words split on whitespace)."""
    _check("speech_word_error_rate", hyps, refs)
    errors, total = _rate(hyps, refs, "word")
    return errors / total if total else (0.0 if errors == 0 else float("inf"))


def character_error_rate(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus CER of recognised texts against their transcripts (spaces count as characters)."""
    _check("character_error_rate", hyps, refs)
    errors, total = _rate(hyps, refs, "char")
    return errors / total if total else (0.0 if errors == 0 else float("inf"))


def asr_scores(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, float]:
    """``{"wer": ..., "cer": ...}``."""
    return {"wer": speech_word_error_rate(hyps, refs), "cer": character_error_rate(hyps, refs)}
