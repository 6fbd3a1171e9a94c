"""The synthetic speech corpus: disjoint voices per split, texts, and what happens without a synthesiser."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from seqlab.data.synth_speech import (
    DIGIT_WORDS,
    SPLIT_VOICES,
    SynthConfig,
    digit_string,
    sentence,
    synthesize_corpus,
)


def test_voice_splits_are_disjoint():
    for engine in ("espeak-ng", "flite"):
        train, dev, test = (set(SPLIT_VOICES[s][engine]) for s in ("train", "dev", "test"))
        assert not train & test and not train & dev and not dev & test


def test_texts():
    rng = np.random.default_rng(0)
    for _ in range(50):
        words = digit_string(rng, 3, 8).split()
        assert 3 <= len(words) <= 8 and set(words) <= set(DIGIT_WORDS)
    assert len(sentence(rng).split()) >= 4


def test_config_validation():
    with pytest.raises(ValueError, match="unknown kind 'poems'"):
        SynthConfig(kind="poems")
    with pytest.raises(ValueError, match=r"unknown engine\(s\) \['festival'\]"):
        SynthConfig(engines=("festival",))
    with pytest.raises(ValueError, match="expected 1 ≤ min_digits ≤ max_digits"):
        SynthConfig(min_digits=5, max_digits=3)


def test_no_synthesiser_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(
        ValueError, match="no speech synthesiser found; install one: apt-get install espeak-ng"
    ):
        synthesize_corpus(tmp_path, SynthConfig(train=1, dev=1, test=1))


@pytest.mark.skipif(shutil.which("flite") is None, reason="flite is not installed (apt-get install flite)")
def test_flite_voices_and_sentences(tmp_path):
    manifests = synthesize_corpus(tmp_path, SynthConfig(train=2, dev=0, test=1, kind="sentences",
                                                        engines=("flite",)))  # fmt: skip
    lines = manifests["train"].read_text().splitlines()
    assert len(lines) == 2 and all('"voice": "flite:' in line for line in lines)
