"""Span scores against conlleval.pl (a port of its counting loop) and seqeval; token accuracy; SIGHAN.

seqeval is the reference the issue names. Its default mode calls itself conlleval-compatible and agrees
with conlleval.pl except on IOBES tags, which the 2004 script predates: ``S-X S-X`` and ``E-X B-X``
(see ``test_where_conlleval_pl_and_seqeval_disagree``). We follow seqeval there, which is what
conlleval.pl gives after converting valid IOBES to IOB, the usual practice.

Every seqeval call passes ``zero_division=0``: conlleval scores 0/0 as 0, and that is seqeval's
``zero_division=0``; its default ("warn") gives the same numbers but raises ``UndefinedMetricWarning``
whenever a type has no prediction or no gold span, which random cases hit and this repo turns into errors.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Sequence

import pytest
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.scheme import IOB2, IOBES

from seqlab.metrics import Span, extract_spans, segmentation_scores, span_scores, token_accuracy

# ---------------------------------------------------------------------------------------------------
# A port of conlleval.pl (version 2004-01-26): its endOfChunk/startOfChunk verbatim and its counting
# loop, which tracks "correct so far" token by token instead of comparing span sets.

Rule = Callable[[str, str, str, str], bool]


def perl_end_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    end = False
    if prev_tag == "B" and tag == "B":
        end = True
    if prev_tag == "B" and tag == "O":
        end = True
    if prev_tag == "I" and tag == "B":
        end = True
    if prev_tag == "I" and tag == "O":
        end = True
    if prev_tag == "E" and tag == "E":
        end = True
    if prev_tag == "E" and tag == "I":
        end = True
    if prev_tag == "E" and tag == "O":
        end = True
    if prev_tag != "O" and prev_tag != "." and prev_type != type_:
        end = True
    if prev_tag in ("]", "["):
        end = True
    return end


def perl_start_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    start = False
    if prev_tag == "B" and tag == "B":
        start = True
    if prev_tag == "I" and tag == "B":
        start = True
    if prev_tag == "O" and tag == "B":
        start = True
    if prev_tag == "O" and tag == "I":
        start = True
    if prev_tag == "E" and tag == "E":
        start = True
    if prev_tag == "E" and tag == "I":
        start = True
    if prev_tag == "O" and tag == "E":
        start = True
    if tag != "O" and tag != "." and prev_type != type_:
        start = True
    if tag in ("[", "]"):
        start = True
    return start


def iobes_end_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    """The widely circulated IOBES extension of conlleval.pl: S rules, and E ends before anything."""
    return (
        perl_end_of_chunk(prev_tag, tag, prev_type, type_)
        or prev_tag in ("E", "S")
        or (prev_tag in ("B", "I") and tag == "S")
    )


def iobes_start_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    return (
        perl_start_of_chunk(prev_tag, tag, prev_type, type_)
        or tag in ("B", "S")
        or (prev_tag == "S" and tag in ("E", "I"))
    )


def conlleval_counts(
    gold: Sequence[Sequence[str]],
    pred: Sequence[Sequence[str]],
    end_of_chunk: Rule = perl_end_of_chunk,
    start_of_chunk: Rule = perl_start_of_chunk,
) -> tuple[Counter[str], Counter[str], Counter[str], int, int]:
    """(correct, gold, guessed) chunks per type, correct tags, tokens — as conlleval.pl counts them."""

    def split(tag: str) -> tuple[str, str]:
        match = re.match(r"^([^-]*)-(.*)$", tag)
        return (match[1], match[2]) if match else (tag, "")

    correct_chunk: Counter[str] = Counter()
    found_correct: Counter[str] = Counter()
    found_guessed: Counter[str] = Counter()
    correct_tags = token_counter = 0
    last_correct, last_guessed, last_correct_type, last_guessed_type = "O", "O", "", ""
    in_correct = False
    lines = []
    for g, p in zip(gold, pred):  # each sentence, then an empty line (the "-X- O O" boundary)
        lines += [(False, a, b) for a, b in zip(g, p)] + [(True, "O", "O")]
    for boundary, g, p in lines:
        correct, correct_type = split(g)
        guessed, guessed_type = split(p)
        if boundary:
            guessed = "O"
        end_c = end_of_chunk(last_correct, correct, last_correct_type, correct_type)
        end_g = end_of_chunk(last_guessed, guessed, last_guessed_type, guessed_type)
        if in_correct:
            if end_c and end_g and last_guessed_type == last_correct_type:
                in_correct = False
                correct_chunk[last_correct_type] += 1
            elif end_c != end_g or guessed_type != correct_type:
                in_correct = False
        start_c = start_of_chunk(last_correct, correct, last_correct_type, correct_type)
        start_g = start_of_chunk(last_guessed, guessed, last_guessed_type, guessed_type)
        if start_c and start_g and guessed_type == correct_type:
            in_correct = True
        if start_c:
            found_correct[correct_type] += 1
        if start_g:
            found_guessed[guessed_type] += 1
        if not boundary:
            correct_tags += correct == guessed and guessed_type == correct_type
            token_counter += 1
        last_guessed, last_correct = guessed, correct
        last_guessed_type, last_correct_type = guessed_type, correct_type
    if in_correct:
        correct_chunk[last_correct_type] += 1
    return correct_chunk, found_correct, found_guessed, correct_tags, token_counter


def assert_matches_conlleval(
    gold: list[list[str]], pred: list[list[str]], rules: tuple[Rule, Rule] | None = None
) -> None:
    correct, found_gold, found_pred, correct_tags, tokens = conlleval_counts(gold, pred, *(rules or ()))
    report = span_scores(gold, pred)
    assert report.true_positives == correct.total()
    assert report.gold_spans == found_gold.total()
    assert report.predicted_spans == found_pred.total()
    assert report.tokens == tokens
    assert report.accuracy == pytest.approx(correct_tags / tokens)
    assert set(report.per_type) == set(found_gold) | set(found_pred)
    for name, score in report.per_type.items():
        assert (score.true_positives, score.support, score.predicted) == (
            correct[name],
            found_gold[name],
            found_pred[name],
        ), name


def assert_matches_seqeval(gold: list[list[str]], pred: list[list[str]], **strict) -> None:
    """``strict``: nothing (default mode) or ``mode="strict", scheme=...``."""
    scheme = {IOB2: "IOB2", IOBES: "IOBES"}.get(strict.get("scheme"))
    report = span_scores(gold, pred, scheme=scheme)
    assert report.precision == pytest.approx(precision_score(gold, pred, zero_division=0, **strict))
    assert report.recall == pytest.approx(recall_score(gold, pred, zero_division=0, **strict))
    assert report.f1 == pytest.approx(f1_score(gold, pred, zero_division=0, **strict))
    if not report.per_type:  # seqeval's macro average of no types is numpy's mean of nothing (a warning)
        return
    table = classification_report(gold, pred, output_dict=True, zero_division=0, **strict)
    averages = {"micro avg", "macro avg", "weighted avg"}
    assert set(report.per_type) == set(table) - averages
    for name, score in report.per_type.items():
        row = table[name]
        assert score.precision == pytest.approx(row["precision"]), name
        assert score.recall == pytest.approx(row["recall"]), name
        assert score.f1 == pytest.approx(row["f1-score"]), name
        assert score.support == row["support"], name
    assert report.macro_f1 == pytest.approx(table["macro avg"]["f1-score"])
    assert report.f1 == pytest.approx(table["micro avg"]["f1-score"])


def random_corpus(rng: random.Random, tags: Sequence[str], sentences: int = 4) -> list[list[str]]:
    return [[rng.choice(tags) for _ in range(rng.randint(1, 12))] for _ in range(sentences)]


def corrupt(rng: random.Random, corpus: list[list[str]], tags: Sequence[str]) -> list[list[str]]:
    """A "prediction": each tag kept with probability 0.6, otherwise redrawn (so spans often match)."""
    return [[t if rng.random() < 0.6 else rng.choice(tags) for t in sentence] for sentence in corpus]


# ---------------------------------------------------------------------------------------------------
# Chunking rules, by hand

CHUNKS = [
    (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),
    (["O", "I-PER", "I-PER"], [("PER", 1, 3)]),  # I after O starts a chunk
    (["B-LOC", "I-ORG"], [("LOC", 0, 1), ("ORG", 1, 2)]),  # a different type starts a chunk
    (["O", "B-MISC", "I-MISC"], [("MISC", 1, 3)]),  # open at the sentence end
    (["I-PER", "I-PER", "B-PER", "I-PER", "I-LOC"], [("PER", 0, 2), ("PER", 2, 4), ("LOC", 4, 5)]),  # IOB1
    (["I-X", "E-X", "E-X", "I-X", "O"], [("X", 0, 2), ("X", 2, 3), ("X", 3, 4)]),  # IOE1/IOE2
    (["B-X", "E-X", "S-X", "S-X", "B-X", "I-X", "E-X"], [("X", 0, 2), ("X", 2, 3), ("X", 3, 4), ("X", 4, 7)]),
    (["B-X", "S-X", "I-X"], [("X", 0, 1), ("X", 1, 2), ("X", 2, 3)]),  # I after S starts a chunk
    (["[-NP", "]-NP", "[-NP", "I-NP", "O"], [("NP", 0, 1), ("NP", 1, 2), ("NP", 2, 3)]),  # length 1
    (["B-ORG-CORP", "I-ORG-CORP", "I-ORG"], [("ORG-CORP", 0, 2), ("ORG", 2, 3)]),  # first hyphen splits
    (["O", "O"], []),
    ([], []),
]


@pytest.mark.parametrize(("tags", "spans"), CHUNKS)
def test_chunks_by_hand(tags: list[str], spans: list[tuple[str, int, int]]) -> None:
    assert extract_spans(tags) == [Span(*span) for span in spans]


def test_chunks_do_not_cross_sentences() -> None:
    """``I-X`` ending one sentence and ``I-X`` starting the next are two chunks, not one."""
    gold = [["O", "I-X"], ["I-X", "O"]]
    pred = [["O", "I-X"], ["O", "O"]]
    report = span_scores(gold, pred)
    assert (report.gold_spans, report.predicted_spans, report.true_positives) == (2, 1, 1)
    assert_matches_conlleval(gold, pred)
    assert_matches_seqeval(gold, pred)


# Spans: gold PER(0,2) LOC(3,5) | ORG(0,1) MISC(2,3); pred PER(0,2) LOC(3,4) | ORG(0,1) (I after O) PER(2,3).
KNOWN_GOLD = [["B-PER", "I-PER", "O", "B-LOC", "I-LOC"], ["B-ORG", "O", "B-MISC"]]
KNOWN_PRED = [["B-PER", "I-PER", "O", "B-LOC", "O"], ["I-ORG", "O", "B-PER"]]


def test_known_case_by_hand() -> None:
    report = span_scores(KNOWN_GOLD, KNOWN_PRED)
    assert (report.true_positives, report.gold_spans, report.predicted_spans) == (2, 4, 4)
    assert (report.precision, report.recall, report.f1) == (0.5, 0.5, 0.5)
    assert report.tokens == 8
    assert report.accuracy == 5 / 8
    per = report.per_type
    assert list(per) == ["LOC", "MISC", "ORG", "PER"]
    assert (per["PER"].precision, per["PER"].recall, per["PER"].f1) == (0.5, 1.0, pytest.approx(2 / 3))
    assert (per["PER"].support, per["PER"].predicted, per["PER"].true_positives) == (1, 2, 1)
    assert (per["LOC"].f1, per["LOC"].support, per["LOC"].predicted) == (0.0, 1, 1)
    assert (per["MISC"].precision, per["MISC"].recall, per["MISC"].predicted) == (0.0, 0.0, 0)
    assert per["ORG"].f1 == 1.0
    assert report.macro_f1 == pytest.approx((2 / 3 + 0 + 1 + 0) / 4)
    assert_matches_conlleval(KNOWN_GOLD, KNOWN_PRED)
    assert_matches_seqeval(KNOWN_GOLD, KNOWN_PRED)


def test_format_is_conlleval_output() -> None:
    """The text conlleval.pl prints for this input (its printf formats, types sorted)."""
    expected = """\
processed 8 tokens with 4 phrases; found: 4 phrases; correct: 2.
accuracy:  62.50%; precision:  50.00%; recall:  50.00%; FB1:  50.00
              LOC: precision:   0.00%; recall:   0.00%; FB1:   0.00  1
             MISC: precision:   0.00%; recall:   0.00%; FB1:   0.00  0
              ORG: precision: 100.00%; recall: 100.00%; FB1: 100.00  1
              PER: precision:  50.00%; recall: 100.00%; FB1:  66.67  2"""
    assert span_scores(KNOWN_GOLD, KNOWN_PRED).format() == expected


@pytest.mark.parametrize(
    ("gold", "pred", "p", "r"),
    [
        ([["O", "I-PER", "I-PER"]], [["O", "B-PER", "I-PER"]], 1.0, 1.0),  # I after O == B
        ([["B-LOC", "I-LOC"]], [["B-LOC", "I-ORG"]], 0.0, 0.0),  # LOC(0,1) + ORG(1,2) vs LOC(0,2)
        ([["B-LOC", "I-LOC", "O"]], [["B-LOC", "I-LOC", "I-LOC"]], 0.0, 0.0),  # LOC(0,3) ran to the end
        ([["O", "B-X"], ["B-X", "O"]], [["O", "B-X"], ["O", "O"]], 1.0, 0.5),  # chunk at a sentence end
        ([["O", "O"]], [["O", "O"]], 0.0, 0.0),  # nothing to find, nothing found: 0, as conlleval
        ([["O", "O"]], [["B-NEW", "O"]], 0.0, 0.0),  # a type gold never had: zero support, no crash
    ],
)
def test_invalid_and_edge_sequences_by_hand(
    gold: list[list[str]], pred: list[list[str]], p: float, r: float
) -> None:
    report = span_scores(gold, pred)
    assert (report.precision, report.recall) == (p, r)
    assert_matches_conlleval(gold, pred)
    assert_matches_seqeval(gold, pred)


def test_unseen_type_is_a_type_with_zero_support() -> None:
    report = span_scores([["B-PER", "O"]], [["B-PER", "B-NEW"]])
    assert report.per_type["NEW"].support == 0
    assert report.per_type["NEW"].predicted == 1
    assert (report.per_type["NEW"].precision, report.per_type["NEW"].recall) == (0.0, 0.0)
    assert report.precision == 0.5


# ---------------------------------------------------------------------------------------------------
# Where conlleval.pl and seqeval disagree (IOBES): documented, not hidden


@pytest.mark.parametrize(
    ("tags", "script_spans", "our_spans"),
    [
        # conlleval.pl has no rule for S: a following S (or I/E) of the same type just continues.
        (["S-X", "S-X"], 1, [("X", 0, 1), ("X", 1, 2)]),
        (["B-X", "S-X"], 1, [("X", 0, 1), ("X", 1, 2)]),
        # conlleval.pl ends a chunk after E only before E, I, O or another type; E-X B-X is one chunk.
        (["B-X", "E-X", "B-X", "E-X"], 1, [("X", 0, 2), ("X", 2, 4)]),
    ],
)
def test_where_conlleval_pl_and_seqeval_disagree(
    tags: list[str], script_spans: int, our_spans: list[tuple[str, int, int]]
) -> None:
    """We follow seqeval: these are valid IOBES, and conlleval.pl after the usual IOBES->IOB conversion
    (S->B, E->I) also gives seqeval's answer. The raw 2004 script predates IOBES."""
    _, found_gold, _, _, _ = conlleval_counts([tags], [tags])
    assert found_gold.total() == script_spans
    assert extract_spans(tags) == [Span(*span) for span in our_spans]
    iob = [re.sub("^S-", "B-", re.sub("^E-", "I-", tag)) for tag in tags]
    assert extract_spans(iob) == [Span(*span) for span in our_spans]
    _, found_gold, _, _, _ = conlleval_counts([iob], [iob])
    assert found_gold.total() == len(our_spans)
    assert_matches_seqeval([tags], [tags])


# ---------------------------------------------------------------------------------------------------
# Random tag sequences, valid and invalid

MIXED = ["O", "B-X", "I-X", "B-Y", "I-Y", "E-X", "S-Y"]
IOB = ["O", "B-X", "I-X", "B-Y", "I-Y"]  # IOB1 and IOB2, valid or not
IOE = ["O", "I-X", "E-X", "I-Y", "E-Y"]  # IOE1 and IOE2, valid or not
BIEO = ["O", "B-X", "I-X", "E-X", "B-Y", "I-Y", "E-Y"]


@pytest.mark.parametrize("seed", range(300))
def test_random_equals_seqeval(seed: int) -> None:
    rng = random.Random(seed)
    gold = random_corpus(rng, MIXED)
    pred = corrupt(rng, gold, MIXED)
    assert_matches_seqeval(gold, pred)
    # The script's own counting loop (not span sets), with the IOBES rules, counts the same.
    assert_matches_conlleval(gold, pred, (iobes_end_of_chunk, iobes_start_of_chunk))


@pytest.mark.parametrize("tags", [IOB, IOE, BIEO], ids=["IOB", "IOE", "BIEO"])
def test_random_equals_conlleval_pl(tags: list[str]) -> None:
    """Exactly the 2004 script on everything but the IOBES cases above (E-T directly before B-T)."""
    rng = random.Random(0)
    checked = 0
    while checked < 200:
        gold = random_corpus(rng, tags)
        pred = corrupt(rng, gold, tags)
        text = " ".join(" ".join(s) for s in gold + pred)
        if re.search(r"E-(\w) B-\1\b", text):
            continue
        assert_matches_conlleval(gold, pred)
        checked += 1


STRICT = {
    "IOB2": (IOB2, IOB),
    "IOBES": (IOBES, ["O", "B-X", "I-X", "E-X", "S-X", "B-Y", "I-Y", "E-Y", "S-Y"]),
}


@pytest.mark.parametrize("name", list(STRICT))
@pytest.mark.parametrize("seed", range(100))
def test_strict_equals_seqeval_strict(name: str, seed: int) -> None:
    scheme, tags = STRICT[name]
    rng = random.Random(seed)
    gold = random_corpus(rng, tags)
    pred = corrupt(rng, gold, tags)
    assert_matches_seqeval(gold, pred, mode="strict", scheme=scheme)


def test_strict_by_hand() -> None:
    # IOB2: a chunk needs its B; the stray I-X is not a chunk (it is one in the lenient reading).
    assert extract_spans(["O", "I-X", "B-X", "I-X", "I-Y"], scheme="IOB2") == [Span("X", 2, 4)]
    # IOBES: B-X I-X without its E is not a chunk; S and B..E are.
    tags = ["B-X", "I-X", "O", "S-Y", "B-X", "I-X", "E-X", "E-X"]
    assert extract_spans(tags, scheme="IOBES") == [Span("Y", 3, 4), Span("X", 4, 7)]
    report = span_scores([["B-X", "I-X", "O"]], [["I-X", "I-X", "O"]], scheme="IOB2")
    assert (report.predicted_spans, report.precision, report.recall) == (0, 0.0, 0.0)


# ---------------------------------------------------------------------------------------------------
# Bad input


def test_mismatched_lengths_name_the_sentence() -> None:
    with pytest.raises(ValueError, match=r"sentence 1: .* got 2 predicted and 3 gold"):
        span_scores([["O"], ["O", "O", "O"]], [["O"], ["O", "O"]])
    with pytest.raises(ValueError, match="got 1 predicted and 2 gold"):
        span_scores([["O"], ["O"]], [["O"]])
    with pytest.raises(ValueError, match=r"sentence 0: .* got 1 predicted and 2 gold"):
        token_accuracy([["NN", "VB"]], [["NN"]])


def test_flat_list_is_refused_with_a_hint() -> None:
    with pytest.raises(ValueError, match=r"gold\[0\] to be a list .* wrap a single sentence"):
        span_scores(["B-PER", "O"], ["B-PER", "O"])  # type: ignore[arg-type]


@pytest.mark.parametrize("tag", ["PER", "B-", "X-PER", "", None])
def test_malformed_tag_is_named(tag: object) -> None:
    with pytest.raises(ValueError, match=r"sentence 0 \(pred\), token 1: expected a tag 'O' or"):
        span_scores([["O", "O"]], [["O", tag]])  # type: ignore[list-item]


def test_strict_refuses_prefixes_outside_the_scheme() -> None:
    with pytest.raises(ValueError, match=r"token 1: expected an IOB2 tag 'O' or '<B/I>-TYPE'.*'E-X'"):
        span_scores([["B-X", "E-X"]], [["B-X", "I-X"]], scheme="IOB2")
    with pytest.raises(ValueError, match=r"unknown scheme 'BILOU'; expected None \(conlleval\) or one of"):
        span_scores([["O"]], [["O"]], scheme="BILOU")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------
# Token accuracy


def test_token_accuracy() -> None:
    gold = [["DT", "NN", "VBZ"], ["NNP"]]
    pred = [["DT", "NN", "NNS"], ["NNP"]]
    assert token_accuracy(gold, pred) == 3 / 4
    assert token_accuracy([["X"]], [["X"]]) == 1.0
    long = [["NN"] * 10_000]
    assert token_accuracy(long, long) == 1.0
    with pytest.raises(ValueError, match="expected at least one token, got none"):
        token_accuracy([[]], [[]])


# ---------------------------------------------------------------------------------------------------
# Word segmentation (SIGHAN)


def test_segmentation_by_hand() -> None:
    gold = [["我", "喜欢", "自然", "语言", "处理"]]
    pred = [["我", "喜欢", "自然语言", "处理"]]
    # gold spans (0,1)(1,3)(3,5)(5,7)(7,9); pred (0,1)(1,3)(3,7)(7,9): 3 correct of 4 predicted, 5 gold.
    report = segmentation_scores(gold, pred)
    assert (report.correct_words, report.predicted_words, report.gold_words) == (3, 4, 5)
    assert (report.precision, report.recall) == (3 / 4, 3 / 5)
    assert report.f1 == pytest.approx(2 / 3)  # 2 * 0.75 * 0.6 / 1.35
    assert (report.oov_recall, report.iv_recall) == (None, None)


def test_segmentation_oov_and_iv_recall() -> None:
    gold = [["我", "喜欢", "自然", "语言", "处理"], ["自然语言", "处理"]]
    pred = [["我", "喜欢", "自然语言", "处理"], ["自然", "语言", "处理"]]
    train = {"我", "喜欢", "处理", "自然"}
    # OOV gold words: 语言 (missed), 自然语言 (missed) -> 0/2.
    # IV: 我 喜欢 处理 处理 found, 自然 missed -> 4/5.
    report = segmentation_scores(gold, pred, train_words=train)
    assert report.oov_recall == 0.0
    assert report.iv_recall == 4 / 5
    assert report.recall == 4 / 7
    assert report.precision == 4 / 7
    assert "OOV recall: 0.00%; IV recall: 80.00%" in report.format()


def test_segmentation_same_word_elsewhere_is_not_correct() -> None:
    """Words are compared by position: 的 predicted at the wrong offset does not count."""
    report = segmentation_scores([["的的", "的"]], [["的", "的的"]])
    assert report.correct_words == 0


def test_segmentation_text_mismatch_shows_both_strings() -> None:
    with pytest.raises(ValueError, match=r"sentence 1: .* gold '自然语言处理', predicted '自然语言学'"):
        segmentation_scores([["我"], ["自然", "语言", "处理"]], [["我"], ["自然语言", "学"]])
    long_gold, long_pred = ["字" * 100], ["字" * 99 + "错"]
    with pytest.raises(ValueError, match="…") as error:
        segmentation_scores([long_gold], [long_pred])
    assert len(str(error.value)) < 250
    with pytest.raises(ValueError, match="got 1 predicted and 2 gold"):
        segmentation_scores([["我"], ["你"]], [["我"]])
    with pytest.raises(ValueError, match=r"sentence 0 \(pred\), word 1: expected a non-empty string"):
        segmentation_scores([["我"]], [["我", ""]])
