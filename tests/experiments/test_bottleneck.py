"""The bottleneck experiment runs end to end and accounts for every test word."""

from __future__ import annotations

import csv

import pytest

from seqlab.experiments import bottleneck


@pytest.mark.slow
def test_tiny_setting_writes_table_figure_and_json(tmp_path):
    result = bottleneck.run("tiny", tmp_path, threads=1)
    assert sum(r.words for r in result.rows) == 200  # every test word falls in one length bucket
    assert set(result.overall) == {"none", "bahdanau"}
    for scores in result.overall.values():
        assert 0.0 <= scores["accuracy"] <= 1.0 and scores["token_error_rate"] >= 0.0
    with open(result.table, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["letters"] for r in rows] == [r.letters for r in result.rows]
    assert result.figure.read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "bottleneck.json").is_file()
    assert "| letters | words |" in bottleneck.markdown(result)


def test_unknown_setting():
    with pytest.raises(ValueError, match=r"unknown setting 'huge'; known: tiny, small, full"):
        bottleneck.run("huge")
