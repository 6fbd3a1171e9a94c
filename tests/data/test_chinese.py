"""Chinese segmentation and POS formats: words ↔ BMES, and the three readers."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from seqlab.data import (
    bmes_to_words,
    check_tags,
    read_bmes,
    read_segmented,
    read_tagged_words,
    segmented_to_bmes,
    text_to_chars,
    words_to_bmes,
)


def write(tmp_path: Path, text: str | bytes, name: str = "data.txt") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ words ↔ BMES
def test_words_to_bmes_known_answer():
    assert words_to_bmes(["我", "喜欢", "自然语言", "处理"]) == ["S", "B", "E", "B", "M", "M", "E", "B", "E"]
    assert words_to_bmes([]) == []
    with pytest.raises(ValueError, match=r"expected non-empty strings, got '' at position 1"):
        words_to_bmes(["我", ""])


@pytest.mark.parametrize(
    "words", [["我", "喜欢", "自然", "语言", "处理"], ["a"], ["abc"], ["x", "y"], ["自然语言处理"]]
)
def test_bmes_round_trip(words):
    chars = list("".join(words))
    tags = words_to_bmes(words)
    check_tags(tags, "BMES")
    assert bmes_to_words(chars, tags) == words


def test_bmes_to_words_reads_invalid_sequences_by_the_boundary_rule():
    chars = list("abcd")
    assert bmes_to_words(chars, ["S", "M", "E", "S"]) == ["a", "bc", "d"]  # M after S opens a word
    # B closes the open word; a dangling B at the end is a word of its own
    assert bmes_to_words(chars, ["B", "B", "E", "B"]) == ["a", "bc", "d"]
    assert bmes_to_words(chars, ["E", "E", "M", "M"]) == ["a", "b", "cd"]
    assert bmes_to_words(["ab", "c"], ["B", "E"]) == ["abc"]  # multi-character tokens join as they are
    # every sequence yields words that cover the characters in order
    for tags in itertools.product("BMES", repeat=4):
        assert "".join(bmes_to_words(chars, list(tags))) == "abcd"
    with pytest.raises(ValueError, match=r"expected tags B, M, E or S, got 'b' at position 0"):
        bmes_to_words(["a"], ["b"])
    with pytest.raises(ValueError, match=r"got 2 characters and 1 tags"):
        bmes_to_words(["a", "b"], ["S"])


def test_helpers():
    assert text_to_chars("我 喜欢\tNLP\u3000!") == ["我", "喜", "欢", "N", "L", "P", "!"]
    assert segmented_to_bmes("我  喜欢\u3000自然") == (
        ["我", "喜", "欢", "自", "然"],
        ["S", "B", "E", "B", "E"],
    )


# ------------------------------------------------------------------------------ read_bmes
def test_read_bmes(tmp_path):
    path = write(tmp_path, "迈/b 向/e 充/b 满/e 希/b 望/e 的/s\n\n中/B 共/M 中/M 央/E  //s\n")
    sents = read_bmes(path)
    assert sents[0].tokens == tuple("迈向充满希望的") and sents[0].tags == ("B", "E", "B", "E", "B", "E", "S")
    assert sents[1].tokens == ("中", "共", "中", "央", "/") and sents[1].tags == ("B", "M", "M", "E", "S")
    assert [s.source for s in sents] == [f"{path}:1", f"{path}:3"]


@pytest.mark.parametrize("item", ["迈", "/b", "迈/x", "迈/", "迈/bm"])
def test_read_bmes_malformed_item_names_line_and_item(tmp_path, item):
    path = write(tmp_path, f"的/s\n迈/b 向/e {item} 的/s\n")
    with pytest.raises(
        ValueError,
        match=rf"{re.escape(str(path))}:2: expected items like '字/b'.*got {re.escape(repr(item))}",
    ):
        read_bmes(path)


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("的/s 向/m 的/s", r":1: invalid BMES sequence at character 1 \('向'\): 'M' after 'S'"),
        ("向/e", r"character 0 \('向'\): 'E' at the start"),
        ("迈/b 向/s", r"'S' after 'B'"),
        ("迈/b 向/m", r"ends inside a word \('M' last\)"),
    ],
)
def test_read_bmes_invalid_sequence(tmp_path, line, match):
    with pytest.raises(ValueError, match=match):
        read_bmes(write(tmp_path, line + "\n"))


def test_read_bmes_bad_files(tmp_path):
    with pytest.raises(ValueError, match=r"data.txt: expected lines of char/tag items, the file is empty"):
        read_bmes(write(tmp_path, "\n\n"))
    with pytest.raises(ValueError, match=r"data.txt:2: cannot decode .* as utf-8.*encoding='gb18030'"):
        read_bmes(write(tmp_path, "的/s\n".encode() + "中/s\n".encode("gbk")))
    assert read_bmes(write(tmp_path, "中/s\n".encode("gbk")), encoding="gbk")[0].tokens == ("中",)


# ------------------------------------------------------------------------------ read_segmented
def test_read_segmented(tmp_path):
    path = write(tmp_path, "我 喜欢 自然 语言 处理\n\n  自然语言处理  \n")
    sents = read_segmented(path)
    assert sents[0].tokens == tuple("我喜欢自然语言处理")
    assert sents[0].tags == ("S", "B", "E", "B", "E", "B", "E", "B", "E")
    assert bmes_to_words(sents[0].tokens, sents[0].tags) == ["我", "喜欢", "自然", "语言", "处理"]
    assert sents[1].source == f"{path}:3" and sents[1].tags == ("B", "M", "M", "M", "M", "E")
    with pytest.raises(
        ValueError, match=r"data.txt: expected lines of space-separated words, the file is empty"
    ):
        read_segmented(write(tmp_path, ""))
    with pytest.raises(ValueError, match=r"data.txt:1: cannot decode"):
        read_segmented(write(tmp_path, b"\xff\xfe"))


# ------------------------------------------------------------------------------ read_tagged_words
def test_read_tagged_words(tmp_path):
    text = "迈向/v  充满/v  希望/n  的/u\n\n中共中央/nt 总书记/n   、/w\t１/２/m\n[中国/ns  政府/n]nt  [/w\n"
    path = write(tmp_path, text)
    sents = read_tagged_words(path)
    assert sents[0].tokens == ("迈向", "充满", "希望", "的") and sents[0].tags == ("v", "v", "n", "u")
    assert sents[1].tokens == ("中共中央", "总书记", "、", "１/２") and sents[1].tags == ("nt", "n", "w", "m")
    assert sents[2].tokens == ("中国", "政府", "[") and sents[2].tags == ("ns", "n", "w")
    assert sents[1].source == f"{path}:3"


@pytest.mark.parametrize("item", ["迈向", "/v", "迈向/"])
def test_read_tagged_words_malformed_item(tmp_path, item):
    path = write(tmp_path, f"希望/n  {item}\n")
    with pytest.raises(
        ValueError,
        match=rf"{re.escape(str(path))}:1: expected items like '希望/n'.*got {re.escape(repr(item))}",
    ):
        read_tagged_words(path)


def test_read_tagged_words_empty(tmp_path):
    with pytest.raises(ValueError, match=r"expected lines of word/tag items, the file is empty"):
        read_tagged_words(write(tmp_path, ""))


# ------------------------------------------------------------------------------ sizes
def test_one_and_ten_thousand_character_sentences(tmp_path):
    words = ["中国", "的", "自然语言", "好"] * 1250  # 10,000 characters
    chars = "".join(words)
    bmes = " ".join(f"{c}/{t.lower()}" for c, t in zip(chars, words_to_bmes(words)))
    for reader, text in [
        (read_bmes, f"的/s\n{bmes}\n"),
        (read_segmented, f"的\n{' '.join(words)}\n"),
    ]:
        short, long = reader(write(tmp_path, text))
        assert len(short) == 1 and len(long) == 10_000
        assert bmes_to_words(long.tokens, long.tags) == words
    short, long = read_tagged_words(
        write(tmp_path, "的/u\n" + "  ".join(f"w{i}/n" for i in range(10_000)) + "\n")
    )
    assert len(short) == 1 and len(long) == 10_000
