"""The tagging demo trains a segmenter, scores it on the held-out sentences and leaves a model folder."""

from __future__ import annotations

import pytest

from seqlab.experiments import segmenter
from seqlab.tasks.tagging import Tagger


@pytest.mark.slow
def test_tiny_run_scores_segments_the_examples_and_leaves_a_model(tmp_path):
    result = segmenter.run("tiny", tmp_path)
    (finding,) = result.findings
    assert finding.held is None and "on 1948 sentences" in finding.measured
    assert 0.0 < result.settings["scores"]["f1"] <= 1.0
    (table,) = result.tables
    assert [row[0] for row in table.rows] == segmenter.EXAMPLES
    for text, words in table.rows:
        assert words.replace(" / ", "") == text  # the words put back together are the sentence
    model = Tagger.load(tmp_path / "model")
    assert len(model.predict([list("自然语言处理")])[0]) == 6


def test_rule_and_bad_setting():
    assert set(segmenter.TARGET_F1) <= set(segmenter.SETTINGS)
    with pytest.raises(ValueError, match=r"segmenter: unknown setting 'huge'; known: tiny, small, full"):
        segmenter.run("huge")
