"""Parallel TSV/JSONL files: reading, writing back, and every bad input the reader must name by file:line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from seqlab.data import Pair, read_parallel, write_parallel


def write(tmp_path: Path, text: str | bytes, name: str = "pairs.tsv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_tsv_pairs_keep_text_exactly_and_skip_blank_lines(tmp_path):
    path = write(tmp_path, "\ufeffread\tR IY D\r\n\n  \nthe cat \tle chat\n二十一\t21\n")
    pairs = read_parallel(path)
    assert [(p.source, p.target) for p in pairs] == [
        ("read", "R IY D"),
        ("the cat ", "le chat"),
        ("二十一", "21"),
    ]
    assert [p.origin for p in pairs] == [f"{path}:1", f"{path}:4", f"{path}:5"]
    assert pairs[0].references == ("R IY D",)


def test_jsonl_single_and_multiple_references_and_field_names(tmp_path):
    lines = [
        {"source": "read", "target": ["R IY D", "R EH D"], "id": 7},
        {"source": "cat", "target": "K AE T"},
    ]
    path = write(tmp_path, "\n".join(json.dumps(x) for x in lines) + "\n\n", "g2p.jsonl")
    pairs = read_parallel(path)
    assert pairs[0] == Pair("read", "R IY D", ("R IY D", "R EH D"), f"{path}:1")
    assert pairs[1].references == ("K AE T",)
    other = write(tmp_path, '{"de": "Katze", "en": "cat"}\n', "de-en.json")
    pair = read_parallel(other, source_field="de", target_field="en")[0]
    assert (pair.source, pair.target) == ("Katze", "cat")


def test_auto_format_sniffs_json_objects_when_the_suffix_says_nothing(tmp_path):
    assert read_parallel(write(tmp_path, '{"source": "a", "target": "b"}\n', "data"))[0].target == "b"
    assert read_parallel(write(tmp_path, "a\tb\n", "data2"))[0].target == "b"
    # an explicit format wins over the suffix
    assert read_parallel(write(tmp_path, "a\tb\n", "x.jsonl"), format="tsv")[0].target == "b"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a\tb\nno tab here\n", r"pairs.tsv:2: expected source<TAB>target, found no tab: 'no tab here'"),
        ("a\tb\tc\n", r"pairs.tsv:1: expected exactly one tab \(source<TAB>target\), found 2"),
        ("a\tb\n\n\tb\n", r"pairs.tsv:3: the source is empty"),
        ("a\t \n", r"pairs.tsv:1: the target is only whitespace"),
        ("", r"pairs.tsv: expected TSV source/target pairs, the file is empty"),
        ("\n \n", r"pairs.tsv: expected TSV source/target pairs, the file has only blank lines"),
        (b"a\tb\nc\t\xff\xfe\n", r"pairs.tsv:2: cannot decode byte\(s\) ff at byte column 3"),
    ],
)
def test_tsv_errors_name_file_and_line(tmp_path, text, match):
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=re.escape(str(tmp_path)) + ".*" + match):
        read_parallel(path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"source": "a", "target": "b"}\n{"source": "a", \n', r"p.jsonl:2: not valid JSON \(.* at column"),
        ('["a", "b"]\n', r"p.jsonl:1: expected a JSON object with 'source' and 'target', got a list"),
        ('{"source": "a"}\n', r"p.jsonl:1: missing field 'target'; the object has \['source'\]"),
        ('{"src": "a", "tgt": "b"}\n', r"p.jsonl:1: missing fields 'source', 'target'"),
        ('{"source": 3, "target": "b"}\n', r"p.jsonl:1: expected 'source' to be a string, got int"),
        (
            '{"source": "a", "target": []}\n',
            r"p.jsonl:1: expected 'target' to be a string or a non-empty list",
        ),
        ('{"source": "a", "target": ["b", 2]}\n', r"p.jsonl:1: expected 'target' to be a string or"),
        ('{"source": "a", "target": ["b", ""]}\n', r"p.jsonl:1: the target \(reference 1\) is empty"),
        ('{"source": "", "target": "b"}\n', r"p.jsonl:1: the source is empty"),
        (b'{"source": "caf\xe9", "target": "b"}\n', r"p.jsonl:1: cannot decode byte\(s\) e9"),
    ],
)
def test_jsonl_errors_name_file_and_line(tmp_path, text, match):
    path = write(tmp_path, text, "p.jsonl")
    with pytest.raises(ValueError, match=match):
        read_parallel(path)


def test_unknown_format(tmp_path):
    with pytest.raises(ValueError, match=r"unknown parallel format 'csv'; known: auto, tsv, jsonl"):
        read_parallel(write(tmp_path, "a\tb\n"), format="csv")  # type: ignore[arg-type]


def test_write_then_read_round_trips(tmp_path):
    pairs = [Pair("the cat ", "le chat"), Pair("二十一", "21"), Pair("x", "y")]
    write_parallel(tmp_path / "out.tsv", pairs)
    back = read_parallel(tmp_path / "out.tsv")
    assert [(p.source, p.target, p.references) for p in back] == [
        (p.source, p.target, p.references) for p in pairs
    ]
    multi = [Pair("read", "R IY D", ["R IY D", "R EH D"]), Pair("a\tb", "c")]
    write_parallel(tmp_path / "out.jsonl", multi)
    assert [(p.source, p.references) for p in read_parallel(tmp_path / "out.jsonl")] == [
        ("read", ("R IY D", "R EH D")),
        ("a\tb", ("c",)),
    ]
    assert "二十一" in (tmp_path / "out.tsv").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "out.tsv"]  # no temporary left


@pytest.mark.parametrize(
    ("pairs", "match"),
    [
        ([Pair("read", "R IY D", ("R IY D", "R EH D"))], r"has 2 references; TSV holds one target per line"),
        ([Pair("a\tb", "c")], r"has a tab inside a side"),
        ([Pair("a\nb", "c")], r"the source 'a\\nb' is empty or holds a line break"),
        ([], r"expected at least one pair, got none"),
        (["a\tb"], r"expected Pair objects, got str at position 0"),
    ],
)
def test_write_refuses_what_would_not_read_back(tmp_path, pairs, match):
    path = tmp_path / "out.tsv"
    path.write_text("old\tcontent\n", encoding="utf-8")
    with pytest.raises(ValueError, match=match):
        write_parallel(path, pairs)
    assert path.read_text(encoding="utf-8") == "old\tcontent\n"  # the old file is untouched


def test_pair_validation():
    assert Pair("a", "b").references == ("b",)
    with pytest.raises(ValueError, match=r"expected references\[0\] to be the target 'b', got 'c'"):
        Pair("a", "b", ("c", "b"))
    with pytest.raises(ValueError, match=r"got the string 'bc'; wrap it in a tuple"):
        Pair("a", "b", "bc")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"expected target to be a string, got int"):
        Pair("a", 3)  # type: ignore[arg-type]
