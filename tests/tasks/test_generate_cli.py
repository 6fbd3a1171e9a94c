"""``seqlab generate train|sample|evaluate`` on a small text file."""

from __future__ import annotations

import json
import re

import pytest

from seqlab.cli import main

TEXT = "to be or not to be, that is the question.\n" * 40


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gen")
    (folder / "train.txt").write_text(TEXT, encoding="utf-8")
    out = folder / "run"
    args = ["generate", "train", "--train", str(folder / "train.txt"), "--hidden-size", "16"]
    args += ["--embedding-dim", "8", "--num-layers", "1", "--bptt", "16", "--batch-size", "4"]
    args += ["--max-epochs", "2", "--out-dir", str(out), "--no-progress-bar"]
    assert main(args) == 0
    return out / "model"


def test_train_prints_a_summary_and_writes_a_model_folder(trained, capsys):
    assert (trained / "model.safetensors").is_file()
    assert json.loads((trained / "config.json").read_text())["kind"] == "language_model"


def test_sample_streams_the_same_text_as_a_whole_sample(trained, capsys):
    assert (
        main(["generate", "sample", str(trained), "--prime", "to be", "--max-tokens", "30", "--seed", "3"])
        == 0
    )
    whole = capsys.readouterr().out
    assert main(["generate", "sample", str(trained), "--prime", "to be", "--max-tokens", "30", "--seed", "3",
                 "--stream"]) == 0  # fmt: skip
    assert capsys.readouterr().out == whole
    assert whole.startswith("to be") and len(whole) == len("to be") + 30 + 1


def test_sample_writes_the_text_to_a_file(trained, tmp_path, capsys):
    out = tmp_path / "sample.txt"
    assert (
        main(["generate", "sample", str(trained), "--greedy", "--max-tokens", "12", "--output", str(out)])
        == 0
    )
    assert out.read_text(encoding="utf-8") == capsys.readouterr().out.rstrip("\n")


def test_evaluate_reports_bits_per_character(trained, tmp_path, capsys):
    text = tmp_path / "held_out.txt"
    text.write_text("that is the question, to be.\n", encoding="utf-8")
    assert main(["generate", "evaluate", str(trained), str(text)]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["tokens"] == 28 and scores["bpc"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--temperature", "0"], "temperature > 0"),
        (["--top-p", "1.5"], r"top_p in \(0, 1\]"),
        (["--prime", "Zebra"], "token 'Z' .* is not in the model's vocabulary"),
    ],
)
def test_bad_sampling_options_fail_with_one_clear_line(trained, args, message, capsys):
    assert main(["generate", "sample", str(trained), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seqlab: error:") and len(err.strip().splitlines()) == 1
    assert re.search(message, err)


def test_training_on_an_empty_or_undecodable_file_fails_clearly(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert main(["generate", "train", "--train", str(empty), "--out-dir", str(tmp_path / "a")]) == 2
    assert "the file has no text" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"caf\xe9\n")
    assert main(["generate", "train", "--train", str(bad), "--out-dir", str(tmp_path / "b")]) == 2
    assert "bad.txt:1" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
