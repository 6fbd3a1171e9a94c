"""The bottleneck experiment runs end to end, accounts for every test word, and decides by its rule."""

from __future__ import annotations

import csv

import pytest

from seqlab.data import Pair
from seqlab.experiments import bottleneck
from seqlab.experiments.bottleneck import _finding, length_rows


@pytest.mark.slow
def test_tiny_setting_writes_table_figure_and_result(tmp_path):
    result = bottleneck.run("tiny", tmp_path)
    (table,) = result.tables
    assert sum(int(row[1]) for row in table.rows) == 200  # every test word falls in one length bucket
    assert set(result.settings["overall"]) == {"none", "bahdanau"}
    for scores in result.settings["overall"].values():
        assert 0.0 <= scores["accuracy"] <= 1.0 and scores["token_error_rate"] >= 0.0
    with open(tmp_path / "bottleneck.csv", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == table.header and [tuple(r) for r in rows[1:]] == list(table.rows)
    assert result.figures[0].read_bytes()[:4] == b"\x89PNG"
    assert result.findings[0].held is None  # tiny decides nothing
    assert "| letters | words |" in result.markdown()


def _pairs(sources):
    return [Pair(s, s.upper()) for s in sources]


def test_length_rows_score_each_bucket():
    pairs = _pairs(["ab", "abcd", "abcdefghij", "abcdefghijk"])
    hyps = {"none": ["AB", "no", "no", "no"], "bahdanau": ["AB", "ABCD", "ABCDEFGHIJ", "no"]}
    rows = length_rows(hyps, pairs)
    assert [(r.letters, r.words) for r in rows] == [("1-4", 2), ("9-10", 1), ("11-12", 1)]
    assert rows[0].accuracy == {"none": 0.5, "bahdanau": 1.0}
    assert rows[1].accuracy == {"none": 0.0, "bahdanau": 1.0}


def test_the_rule_holds_only_when_attention_gains_more_on_long_sources():
    pairs = _pairs(["ab", "abcd", "abcdefghij", "abcdefghijk"])
    wins_on_long = length_rows(
        {"none": ["AB", "ABCD", "no", "no"], "bahdanau": ["AB", "ABCD", "ABCDEFGHIJ", "no"]}, pairs
    )
    assert _finding(wins_on_long, {}, decide=True).held is True
    same_gain = length_rows(
        {"none": ["AB", "no", "no", "no"], "bahdanau": ["AB", "ABCD", "ABCDEFGHIJ", "no"]}, pairs
    )
    assert _finding(same_gain, {}, decide=True).held is False  # +0.5 on short, +0.5 on long


def test_unknown_setting():
    with pytest.raises(ValueError, match=r"unknown setting 'huge'; known: tiny, small, medium, full"):
        bottleneck.run("huge")
