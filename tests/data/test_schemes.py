"""Tag schemes: known answers, exact round trips, and CRF masks checked against brute-force enumeration."""

from __future__ import annotations

import itertools

import pytest
import torch

from seqlab.data import allowed_transitions, check_tags, convert_scheme, normalize_scheme, parse_label, spans

LABELS = {
    "IOB1": ["O", "B-A", "I-A", "B-B", "I-B"],
    "IOB2": ["O", "B-A", "I-A", "B-B", "I-B"],
    "BIOES": ["O", "B-A", "I-A", "E-A", "S-A", "B-B", "I-B", "E-B", "S-B"],
    "BMES": ["B", "M", "E", "S"],
    "BMES-typed": ["B-n", "M-n", "E-n", "S-n", "B-v", "M-v", "E-v", "S-v"],
}


def render(chunks: list[tuple[str, int, int]], n: int, scheme: str) -> list[str]:
    """The one valid sequence with these chunks (reference for validity, written independently)."""
    out = ["O"] * n
    prev = None
    for t, s, e in chunks:
        sfx = f"-{t}" if t else ""
        inside = "M" if scheme == "BMES" else "I"
        if scheme == "IOB2":
            out[s:e] = [f"B{sfx}"] + [f"I{sfx}"] * (e - s - 1)
        elif scheme == "IOB1":
            out[s:e] = [f"{'B' if prev == (t, s) else 'I'}{sfx}"] + [f"I{sfx}"] * (e - s - 1)
        else:
            out[s:e] = (
                [f"S{sfx}"] if e - s == 1 else [f"B{sfx}"] + [f"{inside}{sfx}"] * (e - s - 2) + [f"E{sfx}"]
            )
        prev = (t, e)
    return out


def mask_allows(seq: list[str], labels: list[str], masks) -> bool:
    idx = [labels.index(t) for t in seq]
    return (
        bool(masks.start[idx[0]])
        and bool(masks.end[idx[-1]])
        and all(bool(masks.transitions[a, b]) for a, b in itertools.pairwise(idx))
    )


# ------------------------------------------------------------------------------ names and labels
def test_scheme_names_and_aliases():
    assert normalize_scheme("bio") == "IOB2" and normalize_scheme("IOBES") == "BIOES"
    assert normalize_scheme("iob1") == "IOB1" and normalize_scheme("BMES") == "BMES"
    with pytest.raises(
        ValueError, match=r"unknown tag scheme 'BILOU'; known schemes: IOB1, IOB2, BIOES, BMES, BIO"
    ):
        allowed_transitions(["O"], "BILOU")


@pytest.mark.parametrize(
    ("label", "scheme", "expected"),
    [
        ("B-PER", "IOB2", ("B", "PER")),
        ("O", "BIOES", ("O", "")),
        ("I", "IOB1", ("I", "")),
        ("B-geo-loc", "BIO", ("B", "geo-loc")),
        ("M-nr", "BMES", ("M", "nr")),
    ],
)
def test_parse_label(label, scheme, expected):
    assert parse_label(label, scheme) == expected


@pytest.mark.parametrize(
    ("label", "scheme"),
    [
        ("E-PER", "IOB2"),
        ("M-PER", "BIOES"),
        ("O", "BMES"),
        ("B-", "IOB2"),
        ("O-PER", "IOB2"),
        ("<pad>", "BIO"),
        ("b", "BMES"),
    ],
)
def test_labels_that_do_not_fit(label, scheme):
    with pytest.raises(
        ValueError, match=rf"label '{label}' does not fit the {normalize_scheme(scheme)} scheme"
    ):
        allowed_transitions([label], scheme)


def test_repeated_label():
    with pytest.raises(ValueError, match=r"label 'B-A' appears twice \(indices 0 and 2\)"):
        allowed_transitions(["B-A", "O", "B-A"], "IOB2")


# ------------------------------------------------------------------------------ spans
@pytest.mark.parametrize(
    ("tags", "scheme", "expected"),
    [
        (["B-PER", "I-PER", "O", "B-LOC"], "IOB2", [("PER", 0, 2), ("LOC", 3, 4)]),
        # orphan I-PER dropped
        (["I-PER", "I-PER", "B-LOC", "I-LOC", "B-LOC"], "IOB2", [("LOC", 2, 4), ("LOC", 4, 5)]),
        (["B-PER", "I-LOC"], "IOB2", [("PER", 0, 1)]),
        (
            ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG"],
            "IOB1",
            [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5), ("ORG", 5, 6)],
        ),
        (["B-PER", "O", "B-LOC"], "IOB1", []),  # B after O / at the start is invalid in IOB1
        (["B-A", "I-A", "E-A", "S-B", "O", "S-A"], "BIOES", [("A", 0, 3), ("B", 3, 4), ("A", 5, 6)]),
        (["B-A", "I-A", "O", "B-A", "E-B", "I-A", "E-A"], "BIOES", []),  # unclosed fragments dropped
        (["B-A", "B-A", "E-A"], "BIOES", [("A", 1, 3)]),
        (["S", "B", "M", "E", "B", "E"], "BMES", [("", 0, 1), ("", 1, 4), ("", 4, 6)]),
        (["B-n", "E-n", "S-v", "B-v", "E-n"], "BMES", [("n", 0, 2), ("v", 2, 3)]),
        ([], "IOB2", []),
    ],
)
def test_spans_known_answers(tags, scheme, expected):
    assert spans(tags, scheme) == expected


@pytest.mark.parametrize(("ours", "theirs"), [("IOB2", "IOB2"), ("BIOES", "IOBES")])
def test_spans_agree_with_seqeval_strict_on_every_short_sequence(ours, theirs):
    scheme_mod = pytest.importorskip("seqeval.scheme")
    scheme_cls = getattr(scheme_mod, theirs)
    labels = LABELS[ours]
    for n in range(1, 5):
        for seq in itertools.product(labels, repeat=n):
            expected = sorted(
                (e.tag, e.start, e.end) for e in scheme_mod.Tokens(list(seq), scheme_cls).entities
            )
            assert sorted(spans(seq, ours)) == expected, seq


def test_spans_agree_with_seqeval_on_valid_iob1():
    scheme_mod = pytest.importorskip("seqeval.scheme")
    labels = LABELS["IOB1"]
    for n in range(1, 5):
        for seq in itertools.product(labels, repeat=n):
            if render(spans(seq, "IOB1"), n, "IOB1") == list(seq):
                expected = [
                    (e.tag, e.start, e.end) for e in scheme_mod.Tokens(list(seq), scheme_mod.IOB1).entities
                ]
                assert spans(seq, "IOB1") == expected, seq


# ------------------------------------------------------------------------------ conversion
IOB1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG", "I-ORG", "O", "I-MISC"]
IOB2 = ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "I-ORG", "O", "B-MISC"]
BIOES = ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "B-ORG", "E-ORG", "O", "S-MISC"]


@pytest.mark.parametrize(
    ("source", "target"), [(a, b) for a in ("IOB1", "IOB2", "BIOES") for b in ("IOB1", "IOB2", "BIOES")]
)
def test_convert_known_answers(source, target):
    seqs = {"IOB1": IOB1, "IOB2": IOB2, "BIOES": BIOES}
    assert convert_scheme(seqs[source], source, target) == seqs[target]


def test_convert_chain_and_untyped_labels():
    assert (
        convert_scheme(convert_scheme(convert_scheme(IOB1, "IOB1", "IOB2"), "BIO", "IOBES"), "BIOES", "IOB2")
        == IOB2
    )
    assert convert_scheme(["B", "I", "I", "O", "B"], "IOB2", "BIOES") == ["B", "I", "E", "O", "S"]
    assert convert_scheme([], "IOB2", "BIOES") == []


@pytest.mark.parametrize(
    ("tags", "source", "match"),
    [
        (
            ["O", "B-PER"],
            "IOB1",
            r"convert_scheme: invalid IOB1 sequence at position 1: 'B-PER' cannot follow 'O'",
        ),
        (["B-PER"], "IOB1", r"'B-PER' cannot start a sequence"),
        (["O", "I-PER"], "IOB2", r"position 1: 'I-PER' cannot follow 'O'"),
        (["B-PER", "I-LOC"], "IOB2", r"'I-LOC' cannot follow 'B-PER'"),
        (["B-PER", "I-PER"], "BIOES", r"'I-PER' cannot end a sequence"),
        (["S-PER", "E-PER"], "BIOES", r"'E-PER' cannot follow 'S-PER'"),
        (["B-PER", "X"], "IOB2", r"label 'X' does not fit the IOB2 scheme"),
    ],
)
def test_convert_rejects_invalid_input(tags, source, match):
    with pytest.raises(ValueError, match=match):
        convert_scheme(tags, source, "BIOES")


def test_convert_rejects_bmes():
    with pytest.raises(ValueError, match=r"expected schemes among IOB1, IOB2, BIOES, got BMES"):
        convert_scheme(["S"], "BMES", "BIOES")


def test_check_tags_where():
    with pytest.raises(ValueError, match=r"^train.txt:7: invalid IOB2 sequence: 'I-PER' cannot start"):
        check_tags(["I-PER"], "BIO", where="train.txt:7")
    check_tags([], "BIOES")


# ------------------------------------------------------------------------------ CRF masks
def test_allowed_transitions_iob2_known_answer():
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    m = allowed_transitions(labels, "BIO")
    T, F = True, False
    expected = [
        # O  B-P  I-P  B-L  I-L     (to)
        [T, T, F, T, F],  # from O
        [T, T, T, T, F],  # from B-PER
        [T, T, T, T, F],  # from I-PER
        [T, T, F, T, T],  # from B-LOC
        [T, T, F, T, T],  # from I-LOC
    ]
    assert m.transitions.dtype == torch.bool and m.transitions.shape == (5, 5)
    assert m.transitions.tolist() == expected
    assert m.start.tolist() == [T, T, F, T, F]
    assert m.end.tolist() == [T] * 5


def test_allowed_transitions_iob1_known_answer():
    m = allowed_transitions(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"], "IOB1")
    T, F = True, False
    assert m.transitions.tolist() == [
        [T, F, T, F, T],
        [T, T, T, F, T],
        [T, T, T, F, T],
        [T, F, T, T, T],
        [T, F, T, T, T],
    ]
    assert m.start.tolist() == [T, F, T, F, T]
    assert m.end.tolist() == [T] * 5


def test_allowed_transitions_bioes_known_answer():
    labels = ["O", "B-X", "I-X", "E-X", "S-X", "B-Y", "I-Y", "E-Y", "S-Y"]
    m = allowed_transitions(labels, "IOBES")
    T, F = True, False
    new = [T, T, F, F, T, T, F, F, T]  # O, B-*, S-* may follow O, E-*, S-*
    cont_x = [F, F, T, T, F, F, F, F, F]
    cont_y = [F, F, F, F, F, F, T, T, F]
    assert m.transitions.tolist() == [new, cont_x, cont_x, new, new, cont_y, cont_y, new, new]
    assert m.start.tolist() == new
    assert m.end.tolist() == [T, F, F, T, T, F, F, T, T]


def test_allowed_transitions_bmes_known_answer():
    m = allowed_transitions(["B", "M", "E", "S"], "BMES")
    T, F = True, False
    assert m.transitions.tolist() == [[F, T, T, F], [F, T, T, F], [T, F, F, T], [T, F, F, T]]
    assert m.start.tolist() == [T, F, F, T]
    assert m.end.tolist() == [F, F, T, T]
    typed = allowed_transitions(["B-n", "E-n", "E-v", "S-v"], "BMES")
    assert typed.transitions.tolist() == [[F, T, F, F], [T, F, F, T], [T, F, F, T], [T, F, F, T]]


def test_allowed_transitions_empty_and_unpacking():
    transitions, start, end = allowed_transitions([], "BIO")
    assert transitions.shape == (0, 0) and start.shape == (0,) and end.shape == (0,)


@pytest.mark.parametrize("name", list(LABELS))
def test_masks_allow_exactly_the_valid_sequences(name):
    """Brute force: masks ⇔ check_tags ⇔ 'the sequence is the rendering of its own strict spans'."""
    scheme = name.split("-")[0]
    labels = LABELS[name]
    masks = allowed_transitions(labels, scheme)
    n_valid = 0
    for n in range(1, 5):
        for seq in itertools.product(labels, repeat=n):
            seq = list(seq)
            valid = render(spans(seq, scheme), n, scheme) == seq
            assert mask_allows(seq, labels, masks) == valid, seq
            try:
                check_tags(seq, scheme)
            except ValueError:
                assert not valid, seq
            else:
                assert valid, seq
            n_valid += valid
    assert n_valid > 10


@pytest.mark.parametrize("source", ["IOB1", "IOB2", "BIOES"])
def test_every_valid_sequence_round_trips_and_converts_to_allowed_sequences(source):
    labels = {"IOB1": LABELS["IOB1"], "IOB2": LABELS["IOB2"], "BIOES": LABELS["BIOES"]}
    masks = {s: allowed_transitions(labels[s], s) for s in labels}
    for n in range(1, 5):
        for seq in itertools.product(labels[source], repeat=n):
            seq = list(seq)
            if not mask_allows(seq, labels[source], masks[source]):
                continue
            for target in labels:
                out = convert_scheme(seq, source, target)
                assert mask_allows(out, labels[target], masks[target]), (seq, target, out)
                assert spans(out, target) == spans(seq, source)
                assert convert_scheme(out, target, source) == seq
