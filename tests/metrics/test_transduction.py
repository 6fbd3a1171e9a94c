"""Transduction metrics: hand-computed answers, sacrebleu itself as the reference for BLEU/chrF, and a plain
dynamic-programming edit distance as the reference for rapidfuzz's."""

from __future__ import annotations

import math
import random

import pytest
import sacrebleu

from seqlab.metrics import bleu, chrf, exact_match, phoneme_error_rate, word_error_rate


def reference_edit_distance(a, b) -> int:
    """Levenshtein distance by the textbook table: d[i][j] = edits turning a[:i] into b[:j]."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    return d[len(a)][len(b)]


def reference_per(hyps, refs) -> float:
    errors = length = 0
    for hyp, group in zip(hyps, refs):
        h = hyp.split()
        scored = [(reference_edit_distance(h, r.split()), k) for k, r in enumerate(group)]
        distance, k = min(scored)
        errors += distance
        length += len(group[k].split())
    return errors / length


# ---------------------------------------------------------------------------------------------------
# G2P: word and phoneme error rates

HYPS = ["R IY D", "K AE T", "D AO G"]
REFS = [["R EH D", "R IY D"], "K AE T", "D AA G"]


def test_word_error_rate_counts_words_matching_no_reference():
    assert word_error_rate(HYPS, REFS) == pytest.approx(1 / 3)  # "dog" is wrong; "read" matches its 2nd
    assert word_error_rate(["R  IY D "], [["R EH D", "R IY D"]]) == 0.0  # phonemes, not characters
    assert word_error_rate([["K", "AE", "T"]], [[["K", "AE", "T"]]]) == 0.0  # token sequences


def test_phoneme_error_rate_by_hand():
    # read: 0 errors against "R IY D" (3); cat: 0 (3); dog: 1 substitution (3) → 1/9
    assert phoneme_error_rate(HYPS, REFS) == pytest.approx(1 / 9)
    # one deletion and one insertion: "A B C" vs "A C" is 1; "A" vs "A B C" is 2 → 3 / (2 + 3)
    assert phoneme_error_rate(["A B C", "A"], ["A C", "A B C"]) == pytest.approx(3 / 5)
    assert phoneme_error_rate([""], ["A B"]) == 1.0  # an empty output misses every phoneme
    assert phoneme_error_rate(["A B C D"], ["A"]) == 3.0  # insertions can take PER above 1


def test_phoneme_error_rate_ties_go_to_the_first_reference():
    # "A B" is 1 edit from both "A" (length 1) and "A B C" (length 3)
    assert phoneme_error_rate(["A B"], [["A", "A B C"]]) == 1.0
    assert phoneme_error_rate(["A B"], [["A B C", "A"]]) == pytest.approx(1 / 3)


def test_phoneme_error_rate_agrees_with_a_plain_edit_distance():
    rng = random.Random(0)
    alphabet = ["AA", "AE", "B", "D", "K", "S", "T"]

    def sequence() -> str:
        return " ".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))

    for _ in range(20):
        hyps = [sequence() for _ in range(5)]
        refs = [[sequence() or "B" for _ in range(rng.randint(1, 3))] for _ in range(5)]
        assert phoneme_error_rate(hyps, refs) == pytest.approx(reference_per(hyps, refs))


# ---------------------------------------------------------------------------------------------------
# Exact match, BLEU, chrF


def test_exact_match_any_reference_counts():
    assert exact_match(["a", "b", "c"], ["a", ["x", "b"], "C"]) == pytest.approx(2 / 3)  # case matters
    assert exact_match(["a b"], ["a  b"]) == 0.0  # character for character


def test_bleu_by_hand():
    # 1- to 4-gram precisions 5/6, 3/5, 2/4, 1/3; equal lengths, so no brevity penalty
    expected = 100 * math.exp(sum(map(math.log, (5 / 6, 3 / 5, 2 / 4, 1 / 3))) / 4)
    assert bleu(["the cat sat on the mat"], ["the cat sat on a mat"]) == pytest.approx(expected)
    assert bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(100.0)
    assert bleu(["a b c d"], ["w x y z"]) == 0.0


def test_bleu_and_chrf_equal_sacrebleu_with_any_number_of_references():
    hyps = ["the cat is on the mat today", "there is a dog in the garden", "it rains"]
    refs = [
        ["the cat sits on the mat today", "a cat is on the mat today"],
        "a dog is in the garden",
        ["it is raining", "it rains", "rain falls"],
    ]
    streams = [
        ["the cat sits on the mat today", "a dog is in the garden", "it is raining"],
        ["a cat is on the mat today", None, "it rains"],
        [None, None, "rain falls"],
    ]
    assert bleu(hyps, refs) == pytest.approx(sacrebleu.corpus_bleu(hyps, streams).score)
    assert chrf(hyps, refs) == pytest.approx(sacrebleu.corpus_chrf(hyps, streams).score)
    assert chrf(hyps, refs, word_order=2) == pytest.approx(
        sacrebleu.corpus_chrf(hyps, streams, word_order=2).score
    )
    # a second reference can only help
    first_only = [r if isinstance(r, str) else r[0] for r in refs]
    assert bleu(hyps, refs) > bleu(hyps, first_only)
    assert chrf(["二〇〇三年"], ["二〇〇三年"]) == pytest.approx(100.0)


def test_bleu_tokenize_option_reaches_sacrebleu():
    hyps, refs = ["我喜欢自然语言处理"], ["我喜欢自然语言"]
    assert bleu(hyps, refs, tokenize="zh") == pytest.approx(
        sacrebleu.corpus_bleu(hyps, [refs], tokenize="zh").score
    )
    assert bleu(hyps, refs, tokenize="zh") > bleu(hyps, refs)  # "13a" sees one word each


@pytest.mark.parametrize("metric", [bleu, chrf, exact_match, word_error_rate, phoneme_error_rate])
@pytest.mark.parametrize(
    ("hyps", "refs", "match"),
    [
        (["a", "b"], ["a"], r"expected one reference entry per hypothesis, got 2 hypotheses and 1"),
        ([], [], r"expected at least one example, got none"),
        ("ab", ["a", "b"], r"expected hyps to be a sequence with one entry per example, got a string"),
        (["a"], [[]], r"example 0 has no reference"),
    ],
)
def test_errors(metric, hyps, refs, match):
    with pytest.raises(ValueError, match=rf"^{metric.__name__}: {match}"):
        metric(hyps, refs)


def test_type_and_empty_reference_errors():
    with pytest.raises(
        ValueError, match=r"bleu: expected the references of example 1 to be strings, got int"
    ):
        bleu(["a", "b"], ["a", [3]])
    with pytest.raises(ValueError, match=r"phoneme_error_rate: example 0 has an empty reference"):
        phoneme_error_rate(["A"], ["  "])
    with pytest.raises(
        ValueError, match=r"word_error_rate: expected the hypothesis of example 0 to be a string"
    ):
        word_error_rate([3], ["A"])
