"""Vocab's sequence start/end entries for seq2seq targets, and files with and without them."""

from __future__ import annotations

import json

import pytest

from seqlab.data import Vocab, WordTokenizer, cmudict_g2p


def test_bos_eos_follow_pad_and_unk():
    v = Vocab.build([["R", "IY", "D"], ["R", "EH", "D"]], bos="<s>", eos="</s>")
    assert v.tokens[:4] == ("<pad>", "<unk>", "<s>", "</s>")
    assert (v.pad_id, v.unk_id, v.bos_id, v.eos_id) == (0, 1, 2, 3)
    assert v.encode(["<s>", "R", "</s>"]) == [2, 4, 3]
    plain = Vocab(["R"])
    assert plain.bos is None and plain.bos_id is None and plain.eos_id is None
    assert Vocab(["a"], pad=None, unk=None, eos="</s>").tokens == ("</s>", "a")


def test_bos_eos_save_as_version_2_and_plain_vocabularies_stay_version_1(tmp_path):
    v = Vocab(["a"], bos="<s>", eos="</s>")
    v.save(tmp_path / "v.json")
    data = json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))
    assert data["version"] == 2 and (data["bos"], data["eos"]) == ("<s>", "</s>") and data["tokens"] == ["a"]
    back = Vocab.load(tmp_path / "v.json")
    assert back == v and back.bos_id == 2 and back.eos_id == 3
    Vocab(["a"]).save(tmp_path / "w.json")
    assert json.loads((tmp_path / "w.json").read_text(encoding="utf-8"))["version"] == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bos": "<s>", "eos": "<s>"}, r"bos and eos must differ, got '<s>' for both"),
        ({"eos": "<pad>"}, r"pad and eos must differ, got '<pad>' for both"),
        ({"bos": ""}, r"expected bos to be a non-empty string or None, got ''"),
    ],
)
def test_bad_bos_eos(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Vocab(["a"], **kwargs)


def test_a_version_2_file_without_its_entries_is_refused(tmp_path):
    path = tmp_path / "v.json"
    path.write_text(
        '{"format": "seqlab.vocab", "version": 2, "tokens": [], "pad": null, "unk": null, '
        '"lowercase": false, "normalize_digits": false}',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"lacks the entries \['bos', 'eos'\]"):
        Vocab.load(path)


@pytest.mark.slow
def test_phoneme_vocabulary_from_the_g2p_corpus():
    words = WordTokenizer()
    pairs = cmudict_g2p("valid")
    v = Vocab.build((words.encode(p.target) for p in pairs), bos="<s>", eos="</s>", unk=None)
    assert len(v) == 3 + 39  # pad, <s>, </s> and the 39 phonemes
