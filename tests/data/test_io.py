"""Streaming input lines: decoded one by one, with the line number of any bad bytes."""

from __future__ import annotations

import io
import sys

import pytest

from seqlab.cli import main
from seqlab.data import Sentence
from seqlab.data._io import decoded_lines
from seqlab.tasks import Tagger, TaggerConfig


def test_decoded_lines_strips_endings_and_a_bom():
    raw = io.BytesIO("\ufeffJohn lives\r\n\n中文\n".encode())
    assert list(decoded_lines(raw, "in.txt")) == ["John lives", "", "中文"]


def test_decoded_lines_reports_the_line_of_bad_bytes():
    lines = decoded_lines(io.BytesIO(b"ok\nalso ok\nZ\xfcrich\n"), "in.txt")
    assert next(lines) == "ok" and next(lines) == "also ok"  # lines before the bad one come through
    with pytest.raises(ValueError, match=r"in.txt:3: cannot decode byte\(s\) fc at byte column 2 as utf-8"):
        next(lines)


@pytest.fixture
def tagger_folder(tmp_path):
    data = [Sentence(("John", "lives"), ("B-PER", "O"))]
    small = TaggerConfig(word_dim=4, char_dim=4, char_hidden=4, hidden_size=4)
    return Tagger.from_data(data, small).save(tmp_path / "model")


def test_tag_predict_on_non_utf8_input_names_file_and_line(tmp_path, tagger_folder, capsys):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("John lives\nZürich\n".encode("latin-1"))
    assert main(["tag", "predict", str(tagger_folder), str(bad)]) == 2
    out, err = capsys.readouterr()
    assert f"{bad}:2: cannot decode" in err
    assert out.count("\n") == 0  # nothing half-written: the batch with the bad line is never tagged


def test_tag_predict_reads_standard_input_as_bytes(tagger_folder, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"John lives\n\xff\n")))
    assert main(["tag", "predict", str(tagger_folder)]) == 2
    assert "<stdin>:2: cannot decode" in capsys.readouterr().err
