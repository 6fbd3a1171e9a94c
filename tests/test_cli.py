"""The command line, the demo and the benchmark script stay runnable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from seqlab import demo
from seqlab.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_recurrences_lists_names_and_options(capsys):
    assert main(["recurrences"]) == 0
    out = capsys.readouterr().out
    assert "lstm" in out and "peephole=False" in out and "reset_after=True" in out


def test_demo_paths_agree():
    rows = demo.run(batch=2, steps=9, input_size=3, hidden_size=4)
    assert len(rows) == len(demo.cases(4))
    for row in rows:
        for key in ("max |step − pass|", "max |chunks − pass|", "max |reference − pass|"):
            assert row[key] < 1e-5, (row["recurrence"], key, row[key])


def test_unknown_command_exits_with_usage(capsys):
    with pytest.raises(SystemExit) as err:
        main(["nope"])
    assert err.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def run_benchmark(script: str, tmp_path) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """Run ``benchmarks/<script> --quick --json``; return the process and the JSON it wrote."""
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc, json.loads(out.read_text())


@pytest.mark.slow
def test_benchmark_quick_writes_json(tmp_path):
    proc, results = run_benchmark("recurrent.py", tmp_path)
    names = {r["name"] for r in results}
    assert "lstm/B4-T8-D8-H16/train" in names and "lstm-stream/B1-2x16/per-token" in names
    for r in results:
        assert {"name", "value", "unit", "baseline"} <= set(r)
        assert r["value"] > 0 and r["baseline"] > 0
    assert "ours/torch.nn.LSTM = " in proc.stdout


@pytest.mark.slow
def test_crf_benchmark_quick_agrees_with_pytorch_crf(tmp_path):
    _, results = run_benchmark("crf.py", tmp_path)
    agreement = [r for r in results if r["name"].startswith("crf/agreement")]
    assert agreement and all(r["identical_paths"] and r["value"] < 1e-5 for r in agreement)
