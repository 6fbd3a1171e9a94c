"""The bundled real corpora: found inside their packages, read whole, with the expected sizes."""

from __future__ import annotations

import pytest

from seqlab.data import check_tags, conll2003, corpus_path, pku_pos, pku_segmentation


@pytest.mark.slow
def test_conll2003_splits_and_columns():
    sizes = {split: len(conll2003(split)) for split in ("train", "valid", "test")}
    assert sizes == {"train": 14_041, "valid": 3_250, "test": 3_453}
    sentence = conll2003("train")[0]
    assert sentence.tokens[:3] == ("EU", "rejects", "German") and sentence.tags[:3] == (
        "B-ORG",
        "O",
        "B-MISC",
    )
    assert conll2003("train", column="pos")[0].tags[:3] == ("NNP", "VBZ", "JJ")
    for s in conll2003("valid"):
        check_tags(s.tags, "IOB2", where=s.source)


@pytest.mark.slow
def test_pku_segmentation_and_pos_are_the_same_text():
    seg, pos = pku_segmentation(), pku_pos()
    assert len(seg) == len(pos) == 19_484
    assert (
        "".join(seg[0].tokens)
        == "".join(pos[0].tokens)
        == "迈向充满希望的新世纪——一九九八年新年讲话（附图片１张）"
    )


def test_unknown_corpus_and_split():
    with pytest.raises(
        ValueError, match=r"unknown corpus 'ptb'; known: conll2003, pku_segmentation, pku_pos"
    ):
        corpus_path("ptb")
    with pytest.raises(ValueError, match=r"unknown split 'dev'; known: train, valid, test"):
        conll2003("dev")
