"""Transduction corpora: real CMUdict entries, generated numbers and dates; split sizes, disjointness,
determinism, multi-reference examples, and each generated target checked against its package."""

from __future__ import annotations

import datetime
import importlib.util
import re

import cn2an
import pytest
from babel.dates import format_date
from num2words import num2words

from seqlab.data import (
    DATE_LOCALES,
    NUMBER_LANGUAGES,
    TRANSDUCTION_CORPORA,
    cmudict_g2p,
    dates_to_iso,
    numbers_to_words,
    words_to_numbers,
)
from seqlab.data.transduction import DATE_FORMATS

SPLITS = ("train", "valid", "test")
# ARPAbet as CMUdict uses it: 15 vowels, then 24 consonants
VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW")
CONSONANTS = ("B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S", "SH")
CONSONANTS += ("T", "TH", "V", "W", "Y", "Z", "ZH")
PHONEMES_39 = {*VOWELS, *CONSONANTS}


def splits(fn, **kwargs):
    return {split: fn(split, **kwargs) for split in SPLITS}


def assert_disjoint_sources(parts):
    sources = [{p.source for p in part} for part in parts.values()]
    assert sum(map(len, sources)) == sum(map(len, parts.values())), "a source repeats within a split"
    assert not (sources[0] & sources[1] or sources[0] & sources[2] or sources[1] & sources[2])


# ---------------------------------------------------------------------------------------------------
# CMUdict


@pytest.mark.slow
def test_cmudict_g2p_sizes_disjoint_words_and_39_phonemes():
    parts = splits(cmudict_g2p)
    assert {k: len(v) for k, v in parts.items()} == {"train": 106_187, "valid": 6_246, "test": 12_493}
    assert_disjoint_sources(parts)
    pairs = [p for part in parts.values() for p in part]
    assert {ph for p in pairs for ref in p.references for ph in ref.split()} == PHONEMES_39
    assert all(re.fullmatch(r"[a-z']+", p.source) for p in pairs)
    words = {p.source for p in pairs}
    assert {"o'clock", "'bout", "read", "zebra"} <= words and not {"a.m.", "able-bodied"} & words
    lines = [int(p.origin.rsplit(":", 1)[1]) for p in parts["train"]]
    assert lines == sorted(lines)  # each part keeps the dictionary's order


@pytest.mark.slow
def test_cmudict_g2p_multiple_pronunciations_are_one_example_with_all_references():
    by_word = {p.source: p for split in SPLITS for p in cmudict_g2p(split)}
    assert by_word["read"].references == ("R EH D", "R IY D")  # the dictionary's order
    assert by_word["read"].target == "R EH D"
    assert by_word["cat"].references == ("K AE T",)
    # "abdomen" has two pronunciations that differ in more than stress
    assert by_word["abdomen"].references == ("AE B D OW M AH N", "AE B D AH M AH N")
    path, line = by_word["abdomen"].origin.rsplit(":", 1)
    with open(path, encoding="utf-8") as f:
        assert f.read().split("\n")[int(line) - 1].startswith("abdomen ")


@pytest.mark.slow
def test_cmudict_g2p_stress_and_seed():
    stressed = {p.source: p for split in SPLITS for p in cmudict_g2p(split, stress=True)}
    assert stressed["abdomen"].references == ("AE0 B D OW1 M AH0 N", "AE1 B D AH0 M AH0 N")
    symbols = {ph for p in stressed.values() for ref in p.references for ph in ref.split()}
    assert len(symbols) == 69 and {re.sub(r"[012]$", "", s) for s in symbols} == PHONEMES_39
    # a variant that differs only in stress is one reference without stress, two with it
    merged = [
        w
        for w, p in stressed.items()
        if len(p.references) > len(set(re.sub(r"\d", "", r) for r in p.references))
    ]
    assert merged
    word = merged[0]
    plain = next(p for split in SPLITS for p in cmudict_g2p(split) if p.source == word)
    assert len(plain.references) < len(stressed[word].references)
    # the split goes by seed: the same seed gives the same words, another seed others
    assert cmudict_g2p("test") == cmudict_g2p("test", seed=0)
    assert {p.source for p in cmudict_g2p("test", seed=1)} != {p.source for p in cmudict_g2p("test")}


# ---------------------------------------------------------------------------------------------------
# Numbers


def number_of(pair) -> tuple[str, int]:
    tag, digits = pair.source.split(" ", 1)
    return tag[1:-1], int(digits)


def test_numbers_to_words_sizes_disjoint_and_deterministic():
    parts = splits(numbers_to_words, n_examples=400, seed=3)
    assert {k: len(v) for k, v in parts.items()} == {"train": 320, "valid": 40, "test": 40}
    assert_disjoint_sources(parts)
    assert parts == splits(numbers_to_words, n_examples=400, seed=3)
    assert parts["test"] != numbers_to_words("test", n_examples=400, seed=4)
    pairs = [p for part in parts.values() for p in part]
    assert {number_of(p)[0] for p in pairs} == set(NUMBER_LANGUAGES)
    # digit counts are drawn uniformly, so short numbers are as common as long ones
    short = sum(number_of(p)[1] < 1000 for p in pairs)
    assert 0.3 < short / len(pairs) < 0.7


def test_numbers_every_part_has_the_same_mix_of_lengths():
    # the short numbers run out first while drawing; the parts must not inherit that order
    # (unshuffled, the test part got every 1-digit number and train none)
    parts = splits(numbers_to_words, n_examples=4000, languages=("en", "fr"), seed=0)
    for digits in (1, 2, 6):
        shares = {
            name: sum(len(str(number_of(p)[1])) == digits for p in part) / len(part)
            for name, part in parts.items()
        }
        assert shares["train"] > 0, digits
        assert max(shares.values()) - min(shares.values()) < 0.05, (digits, shares)


def test_numbers_to_words_targets_are_what_the_packages_say():
    pairs = [p for split in SPLITS for p in numbers_to_words(split, n_examples=400, seed=3)]
    for pair in pairs:
        lang, number = number_of(pair)
        if lang == "zh":
            assert pair.target == cn2an.an2cn(number, "low")
            assert cn2an.cn2an(pair.target, "strict") == number
        else:
            assert pair.target == num2words(number, lang=lang)
        assert pair.origin == f"numbers_to_words:{lang}:{number}"


def test_chinese_comes_from_cn2an_because_num2words_has_none():
    with pytest.raises(NotImplementedError):
        num2words(21, lang="zh")
    # Chinese readings, which num2words' Japanese ("ja": 百一, 千十) does not give
    known = {21: "二十一", 101: "一百零一", 1010: "一千零一十", 10010: "一万零一十", 100001: "十万零一"}
    assert {n: cn2an.an2cn(n, "low") for n in known} == known
    assert num2words(101, lang="ja") == "百一"
    zh = numbers_to_words("train", languages=["zh"], n_examples=200, max_value=99_999)
    assert all(
        p.source.startswith("<zh> ") and re.fullmatch(r"[零一二三四五六七八九十百千万]+", p.target)
        for p in zh
    )


def test_words_to_numbers_is_the_reverse_with_the_same_splits():
    for split in SPLITS:
        forward = numbers_to_words(split, n_examples=400, seed=3)
        backward = words_to_numbers(split, n_examples=400, seed=3)
        assert [(p.source, p.target) for p in backward] == [
            (f"{f.source.split(' ', 1)[0]} {f.target}", f.source.split(" ", 1)[1]) for f in forward
        ]
    assert words_to_numbers("valid", n_examples=400, seed=3)[0].origin.startswith("words_to_numbers:")
    assert_disjoint_sources(splits(words_to_numbers, n_examples=400, seed=3))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"languages": ["en", "klingon"]}, r"unknown language code\(s\) \['klingon'\]; known: am, ar, .* zh"),
        ({"languages": "en"}, r"expected a non-empty sequence of language codes, got 'en'"),
        ({"languages": ["en", "en"]}, r"languages repeat an entry"),
        ({"n_examples": 5}, r"expected n_examples to be an integer ≥ 10, got 5"),
        (
            {"n_examples": 200, "languages": ["en"], "max_value": 99},
            r"raise max_value or lower n_examples \(at most 50\)",
        ),
        ({"split": "dev"}, r"unknown split 'dev'; known: train, valid, test"),
    ],
)
def test_numbers_errors(kwargs, match):
    split = kwargs.pop("split", "train")
    with pytest.raises(ValueError, match=match):
        numbers_to_words(split, **kwargs)


def test_missing_package_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "num2words" else real(name, *a)
    )
    with pytest.raises(
        ValueError, match=r"needs the package 'num2words', which is not installed: pip install num2words=="
    ):
        numbers_to_words("train", n_examples=100)


# ---------------------------------------------------------------------------------------------------
# Dates


def test_dates_to_iso_sizes_disjoint_deterministic_and_rendered_by_babel():
    parts = splits(dates_to_iso, n_examples=500, seed=1)
    assert {k: len(v) for k, v in parts.items()} == {"train": 400, "valid": 50, "test": 50}
    assert_disjoint_sources(parts)
    assert parts == splits(dates_to_iso, n_examples=500, seed=1)
    pairs = [p for part in parts.values() for p in part]
    assert {p.source.split(" ", 1)[0] for p in pairs} == {f"<{loc}>" for loc in DATE_LOCALES}
    for pair in pairs:
        _, locale, fmt, iso = pair.origin.split(":", 3)
        day = datetime.date.fromisoformat(pair.target)
        assert iso == pair.target and datetime.date(1950, 1, 1) <= day <= datetime.date(2049, 12, 31)
        assert pair.source == f"<{locale}> {format_date(day, format=fmt, locale=locale)}"
    assert {p.origin.split(":")[2] for p in pairs} == set(DATE_FORMATS)


def test_dates_known_renderings():
    day = datetime.date(2003, 1, 2)
    assert format_date(day, "short", locale="en_US") == "1/2/03"  # month first, two-digit year
    assert format_date(day, "short", locale="en_GB") == "02/01/2003"  # day first: the tag disambiguates
    assert format_date(day, "long", locale="de_DE") == "2. Januar 2003"
    assert format_date(day, "full", locale="zh_CN") == "2003年1月2日星期四"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"locales": ["en_US", "xx_YY"]}, r"unknown locale 'xx_YY'"),
        ({"locales": []}, r"expected a non-empty sequence of distinct locales"),
        (
            {"formats": ["MMMM y"]},
            r"a babel pattern with day \(d\), month \(M\) and year \(y\), got 'MMMM y'",
        ),
        ({"n_examples": 40_000, "locales": ["en_US"]}, r"lower n_examples \(at most 18262\)"),
    ],
)
def test_dates_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dates_to_iso("train", **kwargs)


def test_registry_names_every_corpus():
    assert set(TRANSDUCTION_CORPORA) == {
        "cmudict_g2p",
        "numbers_to_words",
        "words_to_numbers",
        "dates_to_iso",
    }


def test_default_size_of_the_generated_corpora():
    parts = splits(dates_to_iso)  # numbers_to_words cuts its 20,000 the same way, only slower to build
    assert {k: len(v) for k, v in parts.items()} == {"train": 16_000, "valid": 2_000, "test": 2_000}
    assert_disjoint_sources(parts)
