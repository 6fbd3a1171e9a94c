"""Tokenisers: encode/decode round trips, specials kept whole, JSON round trips, and the errors."""

from __future__ import annotations

import json
import sys

import pytest

from seqlab.data import (
    TOKENIZERS,
    BPETokenizer,
    CharTokenizer,
    Tokenizer,
    WordTokenizer,
    build_tokenizer,
    language_tag,
    load_tokenizer,
    tokenizer_from_dict,
)

TEXTS = [
    "the cat sat on the mat.",
    "the dog, the cat; hello world",
    "<fr> mille deux cent trente-quatre",
    "<en> one thousand two hundred and thirty-four",
    "二〇〇三年一月二日",
    "2 января 2003\u202fг.",
] * 3
ORDINARY = [
    "the cat sat on the mat.",
    "hello, world",
    "<fr> mille deux",
    "二〇〇三年",
    "2 января 2003\u202fг.",
]
TAGS = [language_tag("fr"), language_tag("en")]


@pytest.fixture(scope="module")
def bpe() -> BPETokenizer:
    return BPETokenizer.train(TEXTS, vocab_size=80, specials=TAGS)


def test_char_round_trips_any_text_exactly():
    tok = CharTokenizer()
    for text in [*ORDINARY, "  two  spaces\tand a tab \n", "", "e\u0301"]:
        assert tok.decode(tok.encode(text)) == text
    assert tok.encode("a b") == ["a", " ", "b"]


def test_char_specials_stay_whole_longest_first():
    tok = CharTokenizer(specials=["<fr>", "<f", "<en>"])
    assert tok.encode("<fr> 12<f<x") == ["<fr>", " ", "1", "2", "<f", "<", "x"]
    assert tok.decode(tok.encode("<en> <fr>")) == "<en> <fr>"


def test_word_splits_on_ascii_whitespace_only():
    tok = WordTokenizer()
    assert tok.encode("  R IY\tD \n") == ["R", "IY", "D"]
    assert tok.decode(["R", "IY", "D"]) == "R IY D"
    # a no-break space or an ideographic space is text, not a separator
    assert tok.encode("2003\u202fг. 中文\u3000文本") == ["2003\u202fг.", "中文\u3000文本"]
    for text in ORDINARY:
        assert tok.decode(tok.encode(text)) == text


def test_bpe_round_trips_ordinary_text_and_normalises_spaces(bpe):
    for text in ORDINARY:
        assert bpe.decode(bpe.encode(text)) == text
    assert bpe.decode(bpe.encode("  the   cat\tsat  ")) == "the cat sat"
    tokens = bpe.encode("<fr> the cat")
    assert tokens[:2] == ["<fr>", "▁the"]  # a special stays whole; a frequent word is one subword
    assert bpe.decode(tokens) == "<fr> the cat"


def test_bpe_vocab_size_and_unknown_characters(bpe):
    assert bpe.vocab_size == 80
    tokens = bpe.encode("the zebra")  # 'z' and 'b' never occur in training
    assert "<unk>" in tokens
    assert bpe.decode(tokens) == "the <unk>e<unk>ra"  # the word boundary survives


def test_bpe_training_is_deterministic(bpe):
    again = BPETokenizer.train(TEXTS, vocab_size=80, specials=TAGS)
    assert again == bpe and again.encode(TEXTS[2]) == bpe.encode(TEXTS[2])


@pytest.mark.parametrize("kind", sorted(TOKENIZERS))
def test_to_dict_is_json_and_rebuilds_an_equal_tokenizer(tmp_path, kind):
    tok = build_tokenizer(kind, TEXTS, vocab_size=80 if kind == "bpe" else None, specials=TAGS)
    data = json.loads(json.dumps(tok.to_dict()))
    assert data["format"] == "seqlab.tokenizer" and data["kind"] == kind
    again = tokenizer_from_dict(data)
    assert type(again) is type(tok) and again == tok
    assert type(tok).from_dict(data) == tok
    for text in ORDINARY:
        assert again.encode(text) == tok.encode(text)
    tok.save(tmp_path / "tokenizer.json")
    assert load_tokenizer(tmp_path / "tokenizer.json") == tok
    assert isinstance(tok, Tokenizer)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: build_tokenizer("sentencepiece"),
            r"unknown tokenizer kind 'sentencepiece'; known: char, word, bpe",
        ),
        (lambda: build_tokenizer("bpe", TEXTS), r"expected training texts and a vocab_size"),
        (lambda: build_tokenizer("char", vocab_size=100), r"vocab_size applies to 'bpe' only, got 100"),
        (
            lambda: CharTokenizer(specials="<fr>"),
            r"expected specials to be a sequence of strings, got the string",
        ),
        (lambda: CharTokenizer(specials=["<a b>"]), r"non-empty string without spaces, got '<a b>'"),
        (lambda: CharTokenizer(specials=["<fr>", "<fr>"]), r"specials repeat an entry"),
        (lambda: CharTokenizer().encode(["a"]), r"CharTokenizer.encode: expected a string, got list"),
        (lambda: WordTokenizer().decode("R IY D"), r"expected a sequence of tokens, got the string 'R IY D'"),
        (lambda: WordTokenizer().decode(["a", 3]), r"expected string tokens, got 3 at position 1"),
        (lambda: BPETokenizer.train(TEXTS, vocab_size=1), r"expected vocab_size to be an integer ≥ 2, got 1"),
        (lambda: BPETokenizer.train(["", " "], vocab_size=10), r"at least one non-blank training text"),
        (lambda: BPETokenizer.train("abc", vocab_size=10), r"got a single string"),
        (lambda: BPETokenizer.train(TEXTS, 50, specials=["<unk>"]), r"'<unk>' is reserved"),
        (lambda: BPETokenizer("{not json"), r"not a valid tokenizers JSON string"),
        (lambda: tokenizer_from_dict({"kind": "char"}), r"expected a seqlab tokenizer .* got format None"),
        (
            lambda: tokenizer_from_dict({"format": "seqlab.tokenizer", "version": 1, "kind": "bpe"}),
            r'a "bpe" tokenizer needs the "tokenizer" entry',
        ),
        (
            lambda: CharTokenizer.from_dict(WordTokenizer().to_dict()),
            r"expected a 'char' tokenizer, got a 'word' one",
        ),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bpe_refuses_a_foreign_tokenizers_model():
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import models

    foreign = HFTokenizer(models.WordLevel({"a": 0, "<unk>": 1}, unk_token="<unk>")).to_str()
    with pytest.raises(ValueError, match=r"expected a BPE model with Metaspace pre-tokenizer and decoder"):
        BPETokenizer(foreign)


def test_load_missing_or_bad_file(tmp_path):
    with pytest.raises(
        ValueError, match=r"tok.json: expected a seqlab tokenizer file, but the file does not exist"
    ):
        load_tokenizer(tmp_path / "tok.json")
    (tmp_path / "tok.json").write_text('{"format": "seqlab.vocab"}', encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"tok.json: expected a seqlab tokenizer .* got format 'seqlab.vocab'"
    ):
        load_tokenizer(tmp_path / "tok.json")


def test_bpe_without_the_tokenizers_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tokenizers", None)  # makes `import tokenizers` fail
    with pytest.raises(
        ValueError, match=r"needs the optional 'tokenizers' package .* pip install 'seqlab\[bpe\]'"
    ):
        build_tokenizer("bpe", TEXTS, vocab_size=50)
    assert CharTokenizer().encode("ok") == ["o", "k"]  # the other kinds do not need it
