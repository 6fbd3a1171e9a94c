"""Classification data: CSV/TSV/JSONL readers and their errors, the UCR/UEA .ts reader against the files
sktime ships, wide series CSV, tokenisation, and the bundled corpora's sizes and splits."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest

from seqlab.data import (
    Example,
    chinese_reviews,
    classification_corpus,
    read_classification,
    read_series_csv,
    read_ts,
    rotten_tomatoes,
    tokenize,
    uea,
    uea_names,
)
from seqlab.data.classification import _uea_folder


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ CSV, TSV, JSONL


def test_csv_columns_by_name_quotes_and_line_numbers(tmp_path):
    path = write(
        tmp_path,
        "reviews.csv",
        'id,label,text\n1,pos,"Great, really great"\n\n2,neg,"two\nlines"\n3,neg,dull\n',
    )
    examples = read_classification(path)
    assert [(e.text, e.labels) for e in examples] == [
        ("Great, really great", ("pos",)),
        ("two\nlines", ("neg",)),
        ("dull", ("neg",)),
    ]
    assert [e.origin for e in examples] == [f"{path}:2", f"{path}:4", f"{path}:6"]


def test_tsv_has_no_quoting_and_jsonl_takes_lists_for_multi_label(tmp_path):
    tsv = write(tmp_path, "a.tsv", 'sentence\ty\nHe said "wow\tpos\n')
    (e,) = read_classification(tsv, text_column="sentence", label_column="y")
    assert e.text == 'He said "wow' and e.label == "pos"
    jsonl = write(
        tmp_path,
        "a.jsonl",
        '{"text": "vote", "label": ["politics"]}\n\n{"text": "goal", "label": "sports|fun"}\n'
        '{"text": "rain", "label": ""}\n',
    )
    examples = read_classification(jsonl, label_delimiter="|")
    assert [e.labels for e in examples] == [("politics",), ("sports", "fun"), ()]
    assert examples[1].origin == f"{jsonl}:3"
    csv = write(tmp_path, "m.csv", 'text,label\nvote and goal,"politics, sports"\nrain,\n')
    assert [e.labels for e in read_classification(csv, label_delimiter=",")] == [("politics", "sports"), ()]


def test_missing_text_or_label_is_an_error_with_file_and_line(tmp_path):
    short = write(tmp_path, "short.csv", "text,label\ngood,pos\nbad\n")
    with pytest.raises(
        ValueError, match=r"short.csv:3: missing label \(column 'label' is field 2, the row has 1 field\)"
    ):
        read_classification(short)
    no_label = write(tmp_path, "nolabel.csv", "text,label\ngood,pos\nbad,\n")
    with pytest.raises(ValueError, match=r"nolabel.csv:3: missing label \(column 'label' is empty\)"):
        read_classification(no_label)
    no_text = write(tmp_path, "notext.csv", "label,text\npos,good\nneg\n")
    with pytest.raises(ValueError, match=r"notext.csv:3: missing text \(column 'text' is field 2"):
        read_classification(no_text)
    jsonl = write(tmp_path, "a.jsonl", '{"text": "ok", "label": "pos"}\n{"label": "neg"}\n')
    with pytest.raises(
        ValueError, match=r"a.jsonl:2: missing text \(no 'text'\); the object has \['label'\]"
    ):
        read_classification(jsonl)
    jsonl = write(tmp_path, "b.jsonl", '{"text": "ok", "label": null}\n')
    with pytest.raises(ValueError, match=r"b.jsonl:1: missing label \(no 'label'\)"):
        read_classification(jsonl)
    bad = write(tmp_path, "c.jsonl", '{"text": "ok", "label": "pos"\n')
    with pytest.raises(ValueError, match=r"c.jsonl:1: not valid JSON"):
        read_classification(bad)


def test_wrong_column_name_lists_the_columns_found(tmp_path):
    path = write(tmp_path, "r.csv", "review,sentiment\ngood,pos\n")
    with pytest.raises(
        ValueError,
        match=r"r.csv:1: no text column 'text'; the columns found are \['review', 'sentiment'\] "
        r"\(choose others with --text-column\)",
    ):
        read_classification(path)
    with pytest.raises(
        ValueError, match=r"no label column 'label'; the columns found are \['review', 'sentiment'\]"
    ):
        read_classification(path, text_column="review")
    assert read_classification(path, text_column="review", label_column="sentiment")[0].label == "pos"


def test_empty_text_is_kept_with_a_warning(tmp_path, caplog):
    path = write(tmp_path, "e.csv", "text,label\n,neg\ngood,pos\n")
    with caplog.at_level(logging.WARNING):
        examples = read_classification(path)
    assert examples[0].text == "" and examples[0].label == "neg"
    assert f"1 example(s) with an empty text (first: {path}:2)" in caplog.text


def test_unknown_format_and_empty_file(tmp_path):
    with pytest.raises(
        ValueError, match=r"cannot tell the format from the suffix '.txt'; pass one of csv, tsv"
    ):
        read_classification(write(tmp_path, "a.txt", "text,label\n"))
    with pytest.raises(ValueError, match=r"h.csv: expected CSV examples, the file has none"):
        read_classification(write(tmp_path, "h.csv", "text,label\n"))
    with pytest.raises(ValueError, match=r"unknown format 'xml'"):
        read_classification(write(tmp_path, "a.csv", ""), format="xml")


def test_example_validation():
    with pytest.raises(ValueError, match=r"give exactly one of them"):
        Example()
    with pytest.raises(ValueError, match=r"got the string 'pos'; wrap it"):
        Example(text="x", labels="pos")
    assert Example(series=[1.0, 2.0]).series.shape == (2, 1)


# ------------------------------------------------------------------ tokenisation


def test_tokenize_english_words_and_chinese_characters():
    assert tokenize("It's a well-made film, 10/10!") == [
        "It's",
        "a",
        "well-made",
        "film",
        ",",
        "10",
        "/",
        "10",
        "!",
    ]
    assert tokenize("质量 不错！", "char") == ["质", "量", "不", "错", "！"]
    assert tokenize("", "word") == [] and tokenize("  ", "char") == []
    with pytest.raises(ValueError, match=r"unknown tokens 'bpe'; known: word, char, jieba"):
        tokenize("x", "bpe")


def test_tokenize_chinese_words_with_jieba():
    pytest.importorskip("jieba")
    assert tokenize("我喜欢自然语言处理", "jieba") == ["我", "喜欢", "自然语言", "处理"]


# ------------------------------------------------------------------ time series

TS = """# a comment
@problemName Tiny
@timeStamps false
@missing true
@univariate false
@dimensions 2
@equalLength false
@classLabel true up down
@data
1,2,3:0.5,?,0.25:up

4,3:1,1:down
"""


def test_read_ts_multivariate_variable_length_with_missing_values(tmp_path):
    ts = read_ts(write(tmp_path, "tiny.ts", TS))
    assert (ts.problem_name, ts.dimensions, ts.equal_length, ts.class_labels) == (
        "Tiny",
        2,
        False,
        ("up", "down"),
    )
    first, second = ts.examples
    assert first.series.shape == (3, 2) and second.series.shape == (2, 2)
    assert first.series[:, 0].tolist() == [1, 2, 3] and math.isnan(first.series[1, 1])
    assert (first.label, second.label) == ("up", "down")
    assert second.origin.endswith("tiny.ts:12")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("1,2,3:0.5,?,0.25:up", "1,2,3:up"),
            r"tiny.ts:10: expected 2 dimension\(s\) separated by ':', got 1",
        ),
        (("1,2,3:0.5,?,0.25:up", "1,2,3:0.5,?,0.25:left"), r"tiny.ts:10: class label 'left' is not among"),
        (
            ("1,2,3:0.5,?,0.25:up", "1,x,3:0.5,?,0.25:up"),
            r"tiny.ts:10: dimension 1, value 2: expected a number",
        ),
        (("1,2,3:0.5,?,0.25:up", "1,2,3:0.5,0.25:up"), r"tiny.ts:10: the dimensions have different lengths"),
        (("@timeStamps false", "@timeStamps true"), r"@timeStamps true .* is not supported"),
        (
            ("@classLabel true up down", "@targetLabel true"),
            r"@targetLabel true: this is a regression problem",
        ),
        (("@data\n", ""), r"tiny.ts:9: expected a @keyword header line before @data"),
        (("@data\n1,2,3:0.5,?,0.25:up\n\n4,3:1,1:down\n", ""), r"no @data line"),
    ],
)
def test_read_ts_errors(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        read_ts(write(tmp_path, "tiny.ts", TS.replace(*change)))


@pytest.mark.parametrize(
    ("name", "train", "test", "shape", "labels"),
    [
        ("BasicMotions", 40, 40, (100, 6), ("Standing", "Running", "Walking", "Badminton")),
        ("GunPoint", 50, 150, (150, 1), ("1", "2")),
        ("ItalyPowerDemand", 67, 1029, (24, 1), ("1", "2")),
        ("JapaneseVowels", 270, 370, (None, 12), tuple("123456789")),
    ],
)
def test_read_ts_on_the_archive_files_sktime_ships(name, train, test, shape, labels):
    folder = _uea_folder() / name
    for split, n in (("TRAIN", train), ("TEST", test)):
        ts = read_ts(folder / f"{name}_{split}.ts")
        assert len(ts.examples) == n and ts.class_labels == labels
        assert {e.label for e in ts.examples} == set(labels)
        for e in ts.examples:
            assert e.series.dtype == np.float32 and e.series.shape[1] == shape[1]
            if shape[0] is not None:
                assert e.series.shape[0] == shape[0]
    first = read_ts(folder / f"{name}_TRAIN.ts").examples[0]
    if name == "BasicMotions":  # the first values of each of the 6 dimensions, as written in the file
        assert first.label == "Standing"
        assert first.series[0].tolist() == pytest.approx(
            [0.079106, 0.394032, 0.551444, 0.351565, 0.02397, 0.633883]
        )
    if name == "JapaneseVowels":
        lengths = {e.series.shape[0] for e in read_ts(folder / f"{name}_TRAIN.ts").examples}
        assert min(lengths) == 7 and max(lengths) == 26  # variable length, as the archive describes


def test_read_series_csv_wide_rows(tmp_path):
    path = write(tmp_path, "s.csv", "label,t1,t2,t3,t4\nup,1,2,3,4\ndown,3,?,1,\n")
    up, down = read_series_csv(path)
    assert up.series[:, 0].tolist() == [1, 2, 3, 4] and up.label == "up"
    assert down.series.shape == (3, 1) and math.isnan(down.series[1, 0])
    with pytest.raises(ValueError, match=r"no label column 'class'; the columns found are \['label', 't1'"):
        read_series_csv(path, label_column="class")
    bad = write(tmp_path, "b.csv", "label,t1\nup,x\n")
    with pytest.raises(ValueError, match=r"b.csv:2: time step 1: expected a number or '\?', got 'x'"):
        read_series_csv(bad)
    missing = write(tmp_path, "m.csv", "label,t1\n,1\n")
    with pytest.raises(ValueError, match=r"m.csv:2: missing label \(column 'label'\)"):
        read_series_csv(missing)


# ------------------------------------------------------------------ bundled corpora


@pytest.mark.slow
def test_chinese_reviews_sizes_labels_and_disjoint_splits():
    parts = {split: chinese_reviews(split) for split in ("train", "valid", "test")}
    assert {k: len(v) for k, v in parts.items()} == {"train": 13890, "valid": 1736, "test": 1737}
    assert {e.label for v in parts.values() for e in v} == {"pos", "neg"}
    texts = [{e.text for e in v} for v in parts.values()]
    assert sum(len(t) for t in texts) == len(set.union(*texts))  # no review in two parts
    assert chinese_reviews("test", seed=1)[0].text != chinese_reviews("test")[0].text
    assert [e.text for e in chinese_reviews("valid")] == [e.text for e in parts["valid"]]  # deterministic


@pytest.mark.slow
def test_rotten_tomatoes_fresh_and_rotten():
    parts = {split: rotten_tomatoes(split) for split in ("train", "valid", "test")}
    assert {k: len(v) for k, v in parts.items()} == {"train": 10202, "valid": 1275, "test": 1275}
    labels = [e.label for v in parts.values() for e in v]
    assert (labels.count("fresh"), labels.count("rotten")) == (7368, 5384)
    assert parts["train"][0].text and "\n" not in "".join(e.text for e in parts["train"])


def test_uea_uses_the_archive_test_split_and_a_per_class_dev_hold_out():
    assert {"BasicMotions", "GunPoint", "ItalyPowerDemand", "JapaneseVowels"} <= set(uea_names())
    train, valid, test = (uea("BasicMotions", s) for s in ("train", "valid", "test"))
    assert (len(train), len(valid), len(test)) == (36, 4, 40)
    assert sorted(e.label for e in valid) == ["Badminton", "Running", "Standing", "Walking"]
    assert classification_corpus("uea:GunPoint", "test")[0].series.shape == (150, 1)
    with pytest.raises(
        ValueError, match=r"unknown UEA/UCR problem 'Nope'; the installed sktime ships: .*GunPoint"
    ):
        uea("Nope")
    with pytest.raises(
        ValueError, match=r"unknown corpus 'imdb'; known: chinese_reviews, rotten_tomatoes, uea:<Name>"
    ):
        classification_corpus("imdb")
    with pytest.raises(ValueError, match=r"unknown split 'dev'; known: train, valid, test"):
        chinese_reviews("dev")
