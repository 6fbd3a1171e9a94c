"""Vocab: specials, build options, encode/decode, and exact save/load round trips."""

from __future__ import annotations

import json

import pytest
import torch

from seqlab.data import Vocab

CORPUS = [["The", "cat", "sat"], ["the", "cat", "ate", "2", "fish"], ["The", "dog", "ate", "1998"]]


def test_build_orders_by_frequency_then_first_appearance():
    v = Vocab.build(CORPUS)
    assert v.tokens == ("<pad>", "<unk>", "The", "cat", "ate", "sat", "the", "2", "fish", "dog", "1998")
    assert v.pad_id == 0 and v.unk_id == 1 and len(v) == 11
    assert v.encode(["The", "cow"]) == [2, 1]
    assert v.decode([2, 1, 0]) == ["The", "<unk>", "<pad>"]


def test_min_freq_max_size_lowercase_digits():
    v = Vocab.build(CORPUS, min_freq=2, lowercase=True)
    assert v.tokens == ("<pad>", "<unk>", "the", "cat", "ate")
    v = Vocab.build(CORPUS, max_size=2, lowercase=True)
    assert v.tokens == ("<pad>", "<unk>", "the", "cat")
    v = Vocab.build(CORPUS, normalize_digits=True)
    assert "0" in v.tokens and "0000" in v.tokens and "2" not in v.tokens
    assert v.encode(["7", "2024", "９", "１２"]) == [
        v.tokens.index("0"),
        v.tokens.index("0000"),
        v.tokens.index("0"),
        1,
    ]
    assert "2024" in v and "9" in v and "123" not in v and 5 not in v


def test_specials_configurable_and_tag_vocab_without_unk():
    tags = Vocab.build([["O", "B-PER"], ["O"]], pad=None, unk=None)
    assert tags.tokens == ("O", "B-PER") and tags.pad_id is None and tags.unk_id is None
    assert tags.encode(["B-PER", "O"]) == [1, 0]
    with pytest.raises(ValueError, match=r"^dev.txt:4: unknown token 'I-MISC' at position 1: .*no unk entry"):
        tags.encode(["O", "I-MISC"], where="dev.txt:4")
    v = Vocab.build(CORPUS, pad=None, unk="[UNK]")
    assert v.unk_id == 0 and v.tokens[0] == "[UNK]"
    v = Vocab.build([["<unk>", "a"]])
    assert v.tokens == ("<pad>", "<unk>", "a")  # a corpus token equal to a special is not counted twice


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: Vocab.build(CORPUS, min_freq=0), r"expected min_freq to be a positive integer, got 0"),
        (lambda: Vocab.build(CORPUS, max_size=0), r"expected max_size to be a positive integer or None"),
        (lambda: Vocab.build(["abc"]), r"expected sequences of tokens, got the string 'abc' at position 0"),
        (
            lambda: Vocab(["a", "A"], lowercase=True),
            r"token 'A' \(normalised 'a'\) is already present as another token at id 2",
        ),
        (lambda: Vocab(["<pad>"]), r"already present as a special entry at id 0"),
        (lambda: Vocab(pad="x", unk="x"), r"pad and unk must differ"),
        (lambda: Vocab(pad=""), r"expected pad to be a non-empty string or None"),
        (lambda: Vocab(lowercase=1), r"expected lowercase to be True or False, got 1"),
        (lambda: Vocab([3]), r"expected string tokens, got 3"),
        (lambda: Vocab().encode("abc"), r"expected a sequence of tokens, got the string 'abc'"),
        (lambda: Vocab().decode([2]), r"id 2 at position 0 is out of range for 2 entries"),
    ],
)
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_decode_accepts_tensors():
    v = Vocab(["a", "b"])
    assert v.decode(torch.tensor([3, 2])) == ["b", "a"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"lowercase": True, "normalize_digits": True},
        {"pad": None, "unk": None},
        {"pad": None},
        {"unk": None},
    ],
)
def test_save_load_round_trip(tmp_path, kwargs):
    v = Vocab.build([*CORPUS, ["中文", "naïve"]], **kwargs)
    path = tmp_path / "vocab.json"
    v.save(path)
    w = Vocab.load(path)
    assert w == v and w.tokens == v.tokens and repr(w) == repr(v)
    assert (w.pad, w.unk, w.lowercase, w.normalize_digits) == (v.pad, v.unk, v.lowercase, v.normalize_digits)
    assert "中文" in path.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vocab.json"]  # no temporary left behind


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, r"expected a seqlab vocabulary .* but the file does not exist"),
        ('{"format": "seqlab.vocab", "tok', r"but it is not valid JSON"),
        (b"\xff\xfe", r"but it is not valid JSON"),
        ('{"word2idx": {}}', r"got format None"),
        ("[1, 2]", r"got format 'list'"),
        ('{"format": "seqlab.vocab", "version": 99}', r"expected vocabulary format version 1, got 99"),
        ('{"format": "seqlab.vocab", "version": 1, "tokens": []}', r"lacks the entries \['pad', 'unk'"),
        (
            '{"format": "seqlab.vocab", "version": 1, "tokens": ["a", "a"], "pad": null, "unk": null, '
            '"lowercase": false, "normalize_digits": false}',
            r"not a valid vocabulary: .*token 'a'.*already present",
        ),
    ],
)
def test_load_bad_files(tmp_path, content, match):
    path = tmp_path / "vocab.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=match):
        Vocab.load(path)


def test_saved_file_is_readable_json(tmp_path):
    path = tmp_path / "v.json"
    Vocab(["x"], lowercase=True).save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == {
        "format": "seqlab.vocab",
        "version": 1,
        "pad": "<pad>",
        "unk": "<unk>",
        "lowercase": True,
        "normalize_digits": False,
        "tokens": ["x"],
    }
