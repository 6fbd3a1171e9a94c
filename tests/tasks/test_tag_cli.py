"""`seqlab tag train|evaluate|predict` end to end on tiny files, and the YAML/CLI option machinery."""

from __future__ import annotations

import json

import pytest

from seqlab.cli import main
from seqlab.tasks.tagging_run import DataConfig

TRAIN = """-DOCSTART- -X- O

John NNP B-PER
lives VBZ O
in IN O
Paris NNP B-LOC

Mary NNP B-PER
Smith NNP I-PER
visited VBD O
New NNP B-LOC
York NNP I-LOC

IBM NNP B-ORG
hired VBD O
Ann NNP B-PER
"""
TINY = [
    "--word-dim",
    "16",
    "--char-dim",
    "8",
    "--char-hidden",
    "8",
    "--hidden-size",
    "16",
    "--dropout",
    "0",
    "--lr",
    "0.05",
    "--batch-size",
    "8",
    "--no-progress-bar",
    "--seed",
    "0",
]


@pytest.fixture
def corpus(tmp_path):
    train = tmp_path / "train.conll"
    train.write_text(TRAIN)
    return train


@pytest.mark.slow
def test_train_evaluate_predict(tmp_path, corpus, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "tag",
            "train",
            "--train",
            str(corpus),
            "--dev",
            str(corpus),
            "--out-dir",
            str(out),
            "--max-epochs",
            "40",
            *TINY,
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["monitor"] == "f1" and summary["best"] == 1.0

    assert main(["tag", "evaluate", str(out / "model"), str(corpus)]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["f1"] == 1.0

    text = tmp_path / "input.txt"
    text.write_text("John  lives in Paris\n\nMary Smith visited New York\n")
    assert main(["tag", "predict", str(out / "model"), str(text)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["tags"] == ["B-PER", "O", "O", "B-LOC"]
    assert lines[0]["spans"][1] == {
        "type": "LOC",
        "start": 3,
        "end": 4,
        "char_start": 15,
        "char_end": 20,
        "text": "Paris",
    }
    assert lines[1] == {"text": "", "tokens": [], "tags": [], "spans": []}
    assert lines[2]["spans"][0]["text"] == "Mary Smith" and lines[2]["spans"][1]["text"] == "New York"

    assert main(["tag", "predict", str(out / "model"), str(text), "--output", "conll"]) == 0
    assert capsys.readouterr().out.startswith("John B-PER\nlives O\nin O\nParis B-LOC\n\n")


@pytest.mark.slow
def test_yaml_config_and_command_line_precedence(tmp_path, corpus, capsys):
    config = tmp_path / "tagger.yaml"
    config.write_text(
        f"data:\n  train: {corpus}\n  dev: {corpus}\nmodel:\n  head: softmax\ntrain:\n  max_epochs: 1\n"
    )
    out = tmp_path / "run"
    assert (
        main(["tag", "train", "--config", str(config), "--out-dir", str(out), "--max-epochs", "2", *TINY])
        == 0
    )
    saved = json.loads((out / "model" / "config.json").read_text())["config"]
    assert saved["head"] == "softmax" and saved["hidden_size"] == 16
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["epochs"] == 2  # CLI beat YAML


def test_bad_options_and_files_are_one_clear_line(tmp_path, corpus, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("model:\n  hidden: 10\n")
    assert main(["tag", "train", "--config", str(config), "--train", str(corpus), "--dev", str(corpus)]) == 2
    assert "unknown option(s) ['hidden']; known: bidirectional" in capsys.readouterr().err
    broken = tmp_path / "broken.conll"
    broken.write_text("John NNP B-PER\nlives O\n")
    assert (
        main(["tag", "train", "--train", str(broken), "--dev", str(corpus), "--out-dir", str(tmp_path)]) == 2
    )
    assert "broken.conll:2: expected 3 columns" in capsys.readouterr().err
    assert main(["tag", "evaluate", str(tmp_path / "no-model"), str(corpus)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_data_config_validation():
    with pytest.raises(ValueError, match=r"give --train and --dev files, or a bundled --corpus"):
        DataConfig()
    with pytest.raises(ValueError, match=r"unknown format 'json'; known: conll, bmes, segmented, wordpos"):
        DataConfig(train="a", dev="b", format="json")
    with pytest.raises(ValueError, match=r"unknown corpus 'ptb'"):
        DataConfig(corpus="ptb")
