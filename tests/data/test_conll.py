"""CoNLL column files: reading, writing, and every bad input the readers must name."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from seqlab.data import Sentence, read_conll, write_conll

CONLL = """\
-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP B-LOC
"""


def write(tmp_path: Path, text: str | bytes, name: str = "data.txt") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_reads_sentences_tokens_tags_and_sources(tmp_path):
    path = write(tmp_path, CONLL)
    sents = read_conll(path)
    assert [s.tokens for s in sents] == [("EU", "rejects", "German"), ("Peter", "Blackburn"), ("BRUSSELS",)]
    assert [s.tags for s in sents] == [("B-ORG", "O", "B-MISC"), ("B-PER", "I-PER"), ("B-LOC",)]
    assert [s.source for s in sents] == [f"{path}:3", f"{path}:7", f"{path}:12"]


def test_choose_columns(tmp_path):
    path = write(tmp_path, CONLL)
    pos = read_conll(path, tag_column=1)
    assert pos[0].tags == ("NNP", "VBZ", "JJ")
    chunks = read_conll(path, token_column=1, tag_column=2)
    assert chunks[1].tokens == ("NNP", "NNP") and chunks[1].tags == ("B-NP", "I-NP")


def test_tabs_crlf_bom_and_extra_blank_lines(tmp_path):
    text = "\ufeffEU\tB-ORG\r\nrejects \t O\r\n\r\n\r\n\r\nPeter\tB-PER\r\n"
    sents = read_conll(write(tmp_path, text))
    assert [s.tokens for s in sents] == [("EU", "rejects"), ("Peter",)]
    assert sents[0].tags == ("B-ORG", "O")


def test_no_trailing_newline_and_docstart_without_blank(tmp_path):
    sents = read_conll(write(tmp_path, "a O\n-DOCSTART- O\nb B-X"))
    assert [s.tokens for s in sents] == [("a",), ("b",)]


def test_single_column_file_is_unlabelled(tmp_path):
    sents = read_conll(write(tmp_path, "EU\nrejects\n\nPeter\n"))
    assert sents[0].tokens == ("EU", "rejects") and sents[0].tags is None
    with pytest.raises(ValueError, match=r"data.txt:1: tag_column=1 is out of range: the file has 1 column"):
        read_conll(write(tmp_path, "EU\n"), tag_column=1)


def test_wrong_column_count_names_file_line_and_content(tmp_path):
    path = write(tmp_path, CONLL.replace("German JJ B-NP B-MISC", "German JJ B-NP"))
    msg = f"{path}:5: expected 4 columns (like line 3), got 3: 'German JJ B-NP'"
    with pytest.raises(ValueError, match=re.escape(msg)):
        read_conll(path)


def test_column_out_of_range_lists_the_count(tmp_path):
    with pytest.raises(ValueError, match=r"data.txt:3: tag_column=4 is out of range: the file has 4 columns"):
        read_conll(write(tmp_path, CONLL), tag_column=4)
    with pytest.raises(
        ValueError, match=r"token_column=7 is out of range: the file has 4 columns \(indices 0 to 3\)"
    ):
        read_conll(write(tmp_path, CONLL), token_column=7)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tag_column": -1}, r"expected tag_column to be a column index ≥ 0, got -1; pass tag_column=None"),
        ({"token_column": 1.0}, r"expected token_column to be a column index ≥ 0, got 1.0"),
        ({"token_column": 3}, r"token_column and tag_column are both 3"),
    ],
)
def test_bad_column_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        read_conll(write(tmp_path, CONLL), **kwargs)


@pytest.mark.parametrize(
    ("text", "match"),
    [("", "the file is empty"), ("\n \n", "the file is empty"), ("-DOCSTART- O\n\n", "only -DOCSTART-")],
)
def test_empty_file_names_the_file(tmp_path, text, match):
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: expected CoNLL sentences.*{match}"):
        read_conll(path)


def test_non_utf8_names_line_and_suggests_encoding(tmp_path):
    path = write(tmp_path, "EU B-ORG\n\nZ\xfcrich B-LOC\n".encode("latin-1"))
    with pytest.raises(
        ValueError,
        match=rf"{re.escape(str(path))}:3: cannot decode byte\(s\) fc at byte column 2 as utf-8.*encoding=",
    ):
        read_conll(path)
    assert read_conll(path, encoding="latin-1")[1].tokens == ("Zürich",)
    with pytest.raises(ValueError, match="unknown encoding 'nope'"):
        read_conll(path, encoding="nope")


def test_one_token_and_ten_thousand_token_sentences(tmp_path):
    long = "".join(f"w{i} {'B-X' if i % 2 else 'O'}\n" for i in range(10_000))
    sents = read_conll(write(tmp_path, "solo O\n\n" + long))
    assert [len(s) for s in sents] == [1, 10_000]
    assert sents[1].tokens[-1] == "w9999" and sents[1].tags[-1] == "B-X"


def test_write_then_read_round_trip(tmp_path):
    sents = read_conll(write(tmp_path, CONLL))
    out = tmp_path / "out.txt"
    write_conll(out, sents)
    assert out.read_text(encoding="utf-8").startswith("EU B-ORG\nrejects O\nGerman B-MISC\n\nPeter B-PER\n")
    back = read_conll(out)
    assert [(s.tokens, s.tags) for s in back] == [(s.tokens, s.tags) for s in sents]
    # predictions as tags=, plain token lists, tab separator, untagged output
    write_conll(out, [["a", "b"], ["c"]], tags=[["O", "B-X"], ["O"]], sep="\t")
    assert out.read_text(encoding="utf-8") == "a\tO\nb\tB-X\n\nc\tO\n\n"
    write_conll(out, [["a", "b"]])
    assert read_conll(out)[0] == Sentence(("a", "b"), None, f"{out}:1")


@pytest.mark.parametrize(
    ("sentences", "tags", "match"),
    [
        ([["a b"]], [["O"]], r"sentence 0, token 0: expected a non-empty string without spaces"),
        ([["a"]], [["B X"]], r"got 'B X'"),
        ([["a", ""]], None, r"token 1: expected a non-empty string"),
        (
            [["a"]],
            [["O"], ["O"]],
            r"expected one tag sequence per sentence, got 1 sentences and 2 tag sequences",
        ),
        ([["a", "b"]], [["O"]], r"sentence 0: expected one tag per token, got 2 tokens and 1 tags"),
        ([Sentence(("a",), ("O",)), ["b"]], None, r"expected either every sentence tagged or none"),
        ([[]], None, r"at least one token"),
        (["abc"], None, r"expected a sequence of tokens, got the string 'abc'"),
        ([["-DOCSTART-"]], None, r"would be skipped"),
    ],
)
def test_write_rejects_what_would_not_read_back(tmp_path, sentences, tags, match):
    out = tmp_path / "out.txt"
    with pytest.raises(ValueError, match=match):
        write_conll(out, sentences, tags)
    assert not out.exists()


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path, monkeypatch):
    out = tmp_path / "out.txt"
    out.write_text("old\n", encoding="utf-8")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_conll(out, [["a"]])
    monkeypatch.undo()
    with pytest.raises(UnicodeEncodeError):
        write_conll(out, [["中"]], encoding="latin-1")
    assert out.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_sentence_validates_and_converts_to_tuples():
    s = Sentence(["a", "b"], ["O", "O"], "x:1")
    assert s.tokens == ("a", "b") and s.tags == ("O", "O") and len(s) == 2
    with pytest.raises(ValueError, match=r"x:1: expected one tag per token, got 2 tokens and 1 tags"):
        Sentence(["a", "b"], ["O"], "x:1")
