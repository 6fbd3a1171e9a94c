"""WER and CER: corpus-level rates that agree with jiwer, empty references, bad input."""

from __future__ import annotations

import jiwer
import pytest

from seqlab.metrics import asr_scores, character_error_rate, speech_word_error_rate


def test_rates_agree_with_jiwer():
    refs = ["one two three", "four five", "six"]
    hyps = ["one too three", "four", "six seven"]
    assert speech_word_error_rate(hyps, refs) == pytest.approx(jiwer.wer(refs, hyps))
    assert character_error_rate(hyps, refs) == pytest.approx(jiwer.cer(refs, hyps))
    assert speech_word_error_rate(hyps, refs) == pytest.approx(3 / 6)  # 1 sub, 1 del, 1 ins over 6 words


def test_empty_hypotheses_and_references():
    assert asr_scores(["", "a b"], ["x y", "a b"]) == {"wer": 0.5, "cer": pytest.approx(3 / 6)}
    assert asr_scores(["one"], [""]) == {"wer": float("inf"), "cer": float("inf")}
    assert asr_scores([""], [""]) == {"wer": 0.0, "cer": 0.0}
    # an empty reference adds its hypothesis as insertions
    assert speech_word_error_rate(["a", "b c"], ["a", ""]) == pytest.approx(2 / 1)


def test_bad_input():
    with pytest.raises(ValueError, match="as many hypotheses as references, got 1 and 2"):
        speech_word_error_rate(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="expected hyps to be a sequence of strings"):
        character_error_rate("abc", ["abc"])
    with pytest.raises(ValueError, match="at least one utterance"):
        asr_scores([], [])
