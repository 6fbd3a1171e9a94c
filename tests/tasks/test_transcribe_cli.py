"""``seqlab transcribe``: train, evaluate, predict (and --stream), lm on the committed clips; synth when
espeak-ng is installed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from seqlab.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "speech"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("asr")
    data = [
        "--train",
        str(FIXTURES / "train.jsonl"),
        "--dev",
        str(FIXTURES / "dev.jsonl"),
        "--batch-size",
        "5",
    ]
    model = ["--n-mels", "16", "--hidden-size", "16", "--num-layers", "1", "--no-bidirectional"]
    code = main(
        [
            "transcribe",
            "train",
            *data,
            *model,
            "--max-epochs",
            "1",
            "--out-dir",
            str(out),
            "--no-progress-bar",
        ]
    )
    assert code == 0
    return out / "model"


def test_train_prints_summary(model_dir, capsys):
    assert (model_dir / "config.json").is_file() and (model_dir / "vocab-chars.json").is_file()


def test_evaluate_and_predict(model_dir, capsys, tmp_path):
    capsys.readouterr()
    assert (
        main(["transcribe", "evaluate", str(model_dir), str(FIXTURES / "test.jsonl"), "--beam-size", "4"])
        == 0
    )
    scores = json.loads(capsys.readouterr().out)
    assert scores["utterances"] == 3 and "wer" in scores and "cer" in scores
    clip = FIXTURES / "test" / "test-00000.wav"
    assert main(["transcribe", "predict", str(model_dir), str(clip), str(FIXTURES / "dev.jsonl")]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 4 and lines[0]["audio"] == str(clip) and isinstance(lines[0]["text"], str)
    assert main(["transcribe", "predict", str(model_dir), str(clip), "--stream", "--chunk-ms", "50"]) == 0
    final = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert {"text", "rtf", "latency_ms_mean", "latency_ms_max"} <= set(final)
    text = tmp_path / "digits.txt"
    text.write_text("one two three\nfour five six\n")
    assert main(["transcribe", "lm", str(text), "--out", str(tmp_path / "lm.json"), "--order", "3"]) == 0
    capsys.readouterr()
    assert main(["transcribe", "predict", str(model_dir), str(clip), "--beam-size", "4",
                 "--lm", str(tmp_path / "lm.json")]) == 0  # fmt: skip
    assert "text" in json.loads(capsys.readouterr().out)


def test_bad_input_is_one_line(model_dir, capsys, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    assert main(["transcribe", "predict", str(model_dir), str(bad)]) == 2
    assert "bad.wav: cannot read audio" in capsys.readouterr().err
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"audio": str(FIXTURES / "test" / "test-00000.wav"), "text": "Ω"}) + "\n")
    assert main(["transcribe", "evaluate", str(model_dir), str(manifest)]) == 2
    assert "m.jsonl:1: the transcript 'Ω' has character(s) outside the alphabet" in capsys.readouterr().err


@pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt-get install espeak-ng)"
)
def test_synth_writes_a_deterministic_voice_split_corpus(tmp_path, capsys):
    args = ["--train", "3", "--dev", "1", "--test", "2", "--engines", "espeak-ng", "--max-digits", "4"]
    assert main(["transcribe", "synth", "--out", str(tmp_path / "a"), *args]) == 0
    assert main(["transcribe", "synth", "--out", str(tmp_path / "b"), *args]) == 0
    for split in ("train", "dev", "test"):
        a = (tmp_path / "a" / f"{split}.jsonl").read_text()
        assert a == (tmp_path / "b" / f"{split}.jsonl").read_text()
    first = tmp_path / "a" / "test" / "test-00000.wav"
    assert first.read_bytes() == (tmp_path / "b" / "test" / "test-00000.wav").read_bytes()
    voices = {
        split: {
            json.loads(line)["voice"].split("+")[-1]
            for line in (tmp_path / "a" / f"{split}.jsonl").read_text().splitlines()
        }
        for split in ("train", "dev", "test")
    }
    assert not voices["test"] & voices["train"] and not voices["dev"] & voices["train"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["speech.py", "--model", "stream", "--corpus", str(FIXTURES)],
        ["ctc_decode.py", "--peer-python", "/nonexistent"],  # the seqlab side alone
    ],
)
def test_benchmarks_quick(args, tmp_path):
    script, *rest = args
    out = tmp_path / "bench.json"
    extra = ["--out-dir", str(tmp_path / "run")] if script == "speech.py" else ["--work-dir", str(tmp_path)]
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick", "--json", str(out), *rest, *extra],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = json.loads(out.read_text())
    assert records and all({"name", "value", "unit", "baseline"} <= set(r) for r in records)
