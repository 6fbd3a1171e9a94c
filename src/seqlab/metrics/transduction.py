"""Scores for transduction (seq2seq): BLEU and chrF, exact match, and G2P word and phoneme error rates.

Every function takes ``hyps`` (one output string per example) and ``refs`` (per example, one reference
string or a non-empty sequence of acceptable ones), in sacrebleu's order: hypotheses first.

- ``bleu`` and ``chrf`` are sacrebleu's corpus-level scores (Post, 2018), **on sacrebleu's 0–100 scale**,
  as MT papers report them; the other functions return fractions in [0, 1]. With several references
  per example they use all of them (an example may have fewer references than others).
- ``exact_match``: the fraction of examples whose output equals one of the references, character for
  character (no normalisation of case or spaces).
- ``word_error_rate`` and ``phoneme_error_rate`` are the G2P measures (Bisani & Ney 2008; Yao & Zweig
  2015): an output and a reference are phoneme sequences, strings split on whitespace
  (``"R IY D"``) or token sequences. *Word* means dictionary word here, not a word of a sentence as in
  speech recognition: WER is the fraction of examples (words) whose phonemes match none of the
  references. PER is the sum over examples of the edit distance (substitutions, insertions, deletions:
  Levenshtein, from ``rapidfuzz``) to the closest reference, divided by the summed length of those
  closest references. When two references are equally close, the first in order counts (ties change
  only the denominator).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["bleu", "chrf", "exact_match", "phoneme_error_rate", "word_error_rate"]

Refs = Sequence[str | Sequence[str]]  # per example: one reference, or several
Phonemes = str | Sequence[str]  # "R IY D" or ("R", "IY", "D")


def _references(name: str, hyps: Sequence[object], refs: Sequence[object]) -> list[list[object]]:
    """Validate ``hyps``/``refs`` and give each example's references as a list."""
    for arg, value in (("hyps", hyps), ("refs", refs)):
        if isinstance(value, str):
            raise ValueError(
                f"{name}: expected {arg} to be a sequence with one entry per example, got a string"
            )
    if len(hyps) != len(refs):
        raise ValueError(
            f"{name}: expected one reference entry per hypothesis, got {len(hyps)} hypotheses and "
            f"{len(refs)} reference entries"
        )
    if not hyps:
        raise ValueError(f"{name}: expected at least one example, got none")
    out: list[list[object]] = []
    for i, ref in enumerate(refs):
        group = [ref] if isinstance(ref, str) else list(ref)
        if not group:
            raise ValueError(f"{name}: example {i} has no reference; give at least one")
        out.append(group)
    return out


def _check_strings(name: str, what: str, i: int, values: Sequence[object]) -> None:
    for v in values:
        if not isinstance(v, str):
            raise ValueError(f"{name}: expected {what} of example {i} to be strings, got {type(v).__name__}")


def _sacrebleu_streams(
    name: str, hyps: Sequence[str], refs: Refs
) -> tuple[list[str], list[list[str | None]]]:
    groups = _references(name, hyps, refs)
    for i, (hyp, group) in enumerate(zip(hyps, groups)):
        _check_strings(name, "the hypothesis", i, [hyp])
        _check_strings(name, "the references", i, group)
    width = max(len(g) for g in groups)
    # sacrebleu takes one stream per reference position; None marks a missing reference.
    streams: list[list[str | None]] = [[g[k] if k < len(g) else None for g in groups] for k in range(width)]
    return list(hyps), streams


def bleu(hyps: Sequence[str], refs: Refs, *, tokenize: str = "13a", lowercase: bool = False) -> float:
    """Corpus BLEU (0–100) from ``sacrebleu.corpus_bleu``: 4-gram precisions, brevity penalty, no
    smoothing beyond sacrebleu's default ("exp"). ``tokenize``: sacrebleu's tokeniser name — ``"13a"``
    (mteval's, the default), ``"zh"`` for Chinese, ``"ja-mecab"``, ``"char"``, ``"none"``, ...
    """
    import sacrebleu

    hyp_stream, ref_streams = _sacrebleu_streams("bleu", hyps, refs)
    return float(sacrebleu.corpus_bleu(hyp_stream, ref_streams, tokenize=tokenize, lowercase=lowercase).score)


def chrf(hyps: Sequence[str], refs: Refs, *, word_order: int = 0) -> float:
    """Corpus chrF (0–100) from ``sacrebleu.corpus_chrf``: character 6-gram F-score with β = 2
    (Popović, 2015); ``word_order=2`` gives chrF++."""
    import sacrebleu

    hyp_stream, ref_streams = _sacrebleu_streams("chrf", hyps, refs)
    return float(sacrebleu.corpus_chrf(hyp_stream, ref_streams, word_order=word_order).score)


def exact_match(hyps: Sequence[str], refs: Refs) -> float:
    """Fraction of examples whose hypothesis equals one of its references exactly."""
    groups = _references("exact_match", hyps, refs)
    correct = 0
    for i, (hyp, group) in enumerate(zip(hyps, groups)):
        _check_strings("exact_match", "the hypothesis", i, [hyp])
        _check_strings("exact_match", "the references", i, group)
        correct += hyp in group
    return correct / len(groups)


def _phonemes(name: str, what: str, i: int, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, Sequence):
        _check_strings(name, what, i, value)
        return tuple(value)
    raise ValueError(
        f"{name}: expected {what} of example {i} to be a string of phonemes or a sequence of them, "
        f"got {type(value).__name__}"
    )


def _phoneme_references(
    name: str, hyps: Sequence[object], refs: Sequence[object]
) -> list[list[tuple[str, ...]]]:
    """Each example's references as phoneme tuples."""
    out = []
    for i, group in enumerate(_references(name, hyps, refs)):
        phon = [_phonemes(name, "each reference", i, r) for r in group]
        if any(not p for p in phon):
            raise ValueError(f"{name}: example {i} has an empty reference; a reference needs a phoneme")
        out.append(phon)
    return out


def word_error_rate(hyps: Sequence[Phonemes], refs: Sequence[Phonemes | Sequence[Phonemes]]) -> float:
    """G2P word error rate: the fraction of examples whose phonemes equal those of none of the
    references (compared as phoneme sequences, so extra spaces do not matter).

    A hypothesis is a string of phonemes (``"R IY D"``) or a sequence of them. Each ``refs`` entry is
    one such string, or a sequence of references — each a string or a sequence of phonemes — so a
    single reference given as a token list must be wrapped: ``[["R", "IY", "D"]]``.
    """
    groups = _phoneme_references("word_error_rate", hyps, refs)
    wrong = 0
    for i, (hyp, group) in enumerate(zip(hyps, groups)):
        wrong += _phonemes("word_error_rate", "the hypothesis", i, hyp) not in group
    return wrong / len(groups)


def phoneme_error_rate(hyps: Sequence[Phonemes], refs: Sequence[Phonemes | Sequence[Phonemes]]) -> float:
    """G2P phoneme error rate: Σ edit distance to the closest reference / Σ length of that reference.

    Edit distance is Levenshtein over phonemes (each substitution, insertion, deletion costs 1),
    computed by ``rapidfuzz.distance.Levenshtein`` on the phoneme sequences. Among equally close
    references the first counts. Arguments as for ``word_error_rate``.
    """
    from rapidfuzz.distance import Levenshtein

    groups = _phoneme_references("phoneme_error_rate", hyps, refs)
    errors = length = 0
    for i, (hyp, group) in enumerate(zip(hyps, groups)):
        h = _phonemes("phoneme_error_rate", "the hypothesis", i, hyp)
        distance, closest = min((Levenshtein.distance(h, r), k) for k, r in enumerate(group))
        errors += distance
        length += len(group[closest])
    return errors / length
