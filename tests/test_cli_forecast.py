"""``seqlab forecast train|evaluate|predict`` on a small CSV file."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from seqlab.cli import main


@pytest.fixture(scope="module")
def series_csv(tmp_path_factory):
    """Two monthly series in long layout, 48 months each."""
    t = np.arange(48)
    rows = []
    for name, level in (("north", 10.0), ("south", 50.0)):
        values = level + np.sin(2 * np.pi * t / 12) * level / 10 + 0.05 * t
        for ts, v in zip(pd.date_range("2010-01-01", periods=48, freq="MS"), values):
            rows.append({"timestamp": ts.strftime("%Y-%m-%d"), "series_id": name, "value": round(v, 4)})
    path = tmp_path_factory.mktemp("data") / "sales.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained(series_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    args = ["forecast", "train", "--train", str(series_csv), "--lookback", "12", "--horizon", "6"]
    args += ["--hidden-size", "8", "--output", "quantile", "--quantiles", "0.1,0.5,0.9"]
    args += ["--max-epochs", "2", "--out-dir", str(out), "--no-progress-bar"]
    assert main(args) == 0
    return out / "model"


def test_train_writes_a_model_folder_and_prints_a_summary(trained, capsys):
    assert (trained / "model.safetensors").is_file()
    assert json.loads((trained / "config.json").read_text())["config"]["quantiles"] == [0.1, 0.5, 0.9]


def test_predict_writes_future_timestamps_with_interval_columns_and_a_plot(trained, series_csv, tmp_path):
    out, png = tmp_path / "forecast.csv", tmp_path / "forecast.png"
    pytest.importorskip("matplotlib")
    assert (
        main(["forecast", "predict", str(trained), str(series_csv), "--output", str(out), "--plot", str(png)])
        == 0
    )
    frame = pd.read_csv(out)
    assert list(frame.columns[:5]) == ["series_id", "timestamp", "forecast", "lower_80", "upper_80"]
    assert list(frame["series_id"]) == ["north"] * 6 + ["south"] * 6
    assert frame["timestamp"].iloc[0].startswith("2014-01-01")  # the month after the data ends
    assert (frame["lower_80"] <= frame["forecast"]).all() and (frame["forecast"] <= frame["upper_80"]).all()
    assert png.stat().st_size > 1000


def test_evaluate_scores_model_and_baselines(trained, series_csv, capsys):
    capsys.readouterr()
    args = ["forecast", "evaluate", str(trained), str(series_csv), "--origins", "2"]
    assert main([*args, "--baselines", "naive,seasonal_naive"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["series"] == 2 and result["origins"] == 2
    assert set(result["scores"]) == {"model", "naive", "seasonal_naive"}
    assert {"mae", "rmse", "smape", "mase", "coverage"} <= set(result["scores"]["model"])


def test_bad_input_is_one_clear_line(trained, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,value\n2020-01-01,1\n2020-02-01,\n2020-03-01,3\n", encoding="utf-8")
    assert main(["forecast", "predict", str(trained), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "seqlab: error:" in err and "bad.csv:3" in err and "nan='interpolate'" in err
    assert main(["forecast", "predict", str(trained)]) == 2
    assert "give a series FILE, or bundled --series NAME" in capsys.readouterr().err
    assert main(["forecast", "train", "--series", "airline", "--head", "sideways"]) == 2
    assert "unknown head 'sideways'" in capsys.readouterr().err


@pytest.mark.slow
def test_forecasting_benchmark_runs_the_history_only_selection_with_overrides(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "forecasting.py"
    out = tmp_path / "bench.json"
    command = [sys.executable, str(script), "--quick", "--series", "airline", "--history-only"]
    tmp = str(tmp_path)
    proc = subprocess.run(
        [*command, "--set", "naive_anchor=12", "--set", "highway=0", "--json", str(out), "--out", tmp],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    # --quick tests one origin, step 132 of 144: the history is what comes before it
    assert "airline (history before the test origins): 132 steps" in proc.stdout
    assert "highway=0, max_epochs=3, naive_anchor=12" in proc.stdout  # --quick caps the epochs
    names = {r["name"] for r in json.loads(out.read_text())}
    assert "forecast/airline (history before the test origins)/model/mase" in names
    typo = [*command, "--set", "naive_ankor=12", "--out", tmp]
    bad = subprocess.run(typo, capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode != 0
    assert "--set: expected KEY=VALUE" in bad.stderr and "'naive_ankor=12'" in bad.stderr
