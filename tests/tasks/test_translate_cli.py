"""`seqlab translate train|evaluate|predict` end to end on tiny files, with heatmaps and bad input."""

from __future__ import annotations

import json

import pytest

from seqlab.cli import main
from seqlab.data import Pair
from seqlab.tasks.seq2seq_run import _expand

WORDS = ["abc", "hello", "world", "seq", "lab", "model", "beam", "dog", "cat", "tree"]
TINY = [
    "--embedding-dim",
    "16",
    "--hidden-size",
    "24",
    "--dropout",
    "0",
    "--lr",
    "0.03",
    "--batch-size",
    "16",
    "--no-progress-bar",
    "--seed",
    "0",
]


@pytest.fixture
def pairs(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("".join(f"{w}\t{w[::-1]}\n" for w in WORDS), encoding="utf-8")
    return path


@pytest.mark.slow
def test_train_evaluate_predict_with_heatmaps(tmp_path, pairs, capsys):
    out = tmp_path / "run"
    args = ["translate", "train", "--train", str(pairs), "--dev", str(pairs), "--out-dir", str(out)]
    assert main([*args, "--max-epochs", "60", *TINY]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["monitor"] == "accuracy" and summary["best"] == 1.0

    assert main(["translate", "evaluate", str(out / "model"), str(pairs), "--beam-size", "3"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert (
        scores["accuracy"] == 1.0 and scores["token_error_rate"] == 0.0 and scores["chrf"] == 100.0
    )  # (BLEU is 0 on one-word outputs: no 4-grams)

    lines = tmp_path / "in.txt"
    lines.write_text("hello\n\nworld\n", encoding="utf-8")
    maps = tmp_path / "maps"
    assert main(["translate", "predict", str(out / "model"), str(lines), "--heatmaps", str(maps)]) == 0
    assert capsys.readouterr().out == "olleh\n\ndlrow\n"  # an empty line gives an empty line
    assert sorted(p.name for p in maps.iterdir()) == ["1.png", "3.png"]
    assert (maps / "1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    argv = ["translate", "predict", str(out / "model"), str(lines), "--output", "jsonl"]
    assert main([*argv, "--beam-size", "3", "--nbest", "2"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records[0]["source"] == "hello" and len(records[0]["outputs"]) == 2
    best = records[0]["outputs"][0]
    assert best["text"] == "olleh" and best["source_tokens"] == list("hello")
    assert len(best["attention"]) == len("olleh") + 1  # a row per output token and the end token
    assert records[1]["outputs"] == [{"text": "", "tokens": [], "score": 0.0}]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("abc\tcba\nno tab here\n", r"train.tsv:2: .*tab"),
        ("abc\tcba\nxyz\t\n", r"train.tsv:2: .*empty"),
    ],
)
def test_bad_training_file_is_one_clear_line(tmp_path, capsys, content, match):
    import re

    path = tmp_path / "train.tsv"
    path.write_text(content, encoding="utf-8")
    args = ["translate", "train", "--train", str(path), "--dev", str(path), "--out-dir", str(tmp_path / "r")]
    assert main([*args, "--max-epochs", "1", *TINY]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seqlab: error: ") and re.search(match, err)
    assert not (tmp_path / "r" / "model").exists()


def test_evaluate_needs_a_file_or_a_corpus(tmp_path, capsys):
    assert main(["translate", "evaluate", str(tmp_path / "missing-model")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_every_reference_becomes_a_training_pair():
    word = Pair("read", "R EH D", ("R EH D", "R IY D"), "cmudict:7")
    assert _expand([word]) == [word, Pair("read", "R IY D", ("R IY D", "R EH D"), "cmudict:7")]
