"""The tour plans to a budget, survives a failing experiment, and writes a self-contained report."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest

from seqlab import cli
from seqlab.experiments import tour
from seqlab.experiments.common import ExperimentResult, Finding, Table

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def _fake(name: str, minutes: dict[str, float], *, fails: bool = False):
    def run(setting, out_dir, *, seed=0):
        if fails:
            raise RuntimeError("out of <memory>")
        out_dir.mkdir(parents=True, exist_ok=True)
        figure = out_dir / "curve.png"
        figure.write_bytes(PNG)
        return ExperimentResult(
            name=name,
            title=f"{name} <title>",
            setting=setting,
            seed=seed,
            findings=(
                Finding(
                    "the chapter says <this>", f"measured at {setting}", None if setting == "tiny" else True
                ),
            ),
            tables=(Table("a & b", ("x", "y"), (("1", "2.5e-07"),)),),
            figures=(figure,),
            settings={"T": 3},
            seconds=0.1,
        )

    return SimpleNamespace(
        NAME=name, TITLE=f"{name} <title>", SETTINGS={key: {} for key in minutes}, MINUTES=minutes, run=run
    )


@pytest.fixture
def fakes(monkeypatch):
    modules = {
        "a": _fake("a", {"tiny": 0.1, "small": 2.0, "full": 20.0}),
        "b": _fake("b", {"tiny": 0.1, "small": 3.0, "full": 5.0}),
        "c": _fake("c", {"tiny": 0.1, "small": 1.0}, fails=True),
    }
    monkeypatch.setattr(tour, "EXPERIMENTS", tuple(modules))

    def module(name):
        if name not in modules:
            raise ValueError(f"tour: unknown experiment {name!r}; known: {', '.join(modules)}")
        return modules[name]

    monkeypatch.setattr(tour, "_module", module)
    return modules


@pytest.mark.parametrize(
    "budget, expected",
    [
        (0, {"a": "tiny", "b": "tiny", "c": "tiny"}),
        (2.2, {"a": "small", "b": "tiny", "c": "tiny"}),  # a fits first; b's 3 would not
        (6.5, {"a": "small", "b": "small", "c": "small"}),
        (8.5, {"a": "small", "b": "full", "c": "small"}),  # a's full (20) never fits, b's does
        (100, {"a": "full", "b": "full", "c": "small"}),  # c has no full setting
    ],
)
def test_plan_moves_experiments_up_while_the_budget_allows(fakes, budget, expected):
    chosen = tour.plan(budget)
    assert chosen == expected
    assert tour.planned_minutes(chosen) <= max(budget, 0.3) + 1e-9


def test_plan_rejects_a_negative_budget_and_unknown_names(fakes):
    with pytest.raises(ValueError, match=r"expected a budget of 0 or more minutes, got -1"):
        tour.plan(-1)
    with pytest.raises(ValueError, match=r"unknown experiment 'zz'; known: a, b, c"):
        tour.run_tour(1, only=["zz"])


def test_a_failing_experiment_is_reported_and_the_tour_goes_on(fakes, tmp_path):
    started, finished = [], []
    result = tour.run_tour(
        6.5,
        tmp_path,
        seed=7,
        settings={"b": "full"},
        on_start=lambda name, title, setting: started.append((name, setting)),
        on_done=lambda name, r: finished.append(name),
    )
    # b's full (5 min) is fixed and counts against the budget: a's small no longer fits, c's does
    assert started == [("a", "tiny"), ("b", "full"), ("c", "small")] and finished == ["a", "b", "c"]
    failure = result.results[2]
    assert isinstance(failure, tour.Failure) and failure.error == "RuntimeError: out of <memory>"
    saved = json.loads((tmp_path / "tour.json").read_text())
    assert saved["plan"] == {"a": "tiny", "b": "full", "c": "small"} and saved["seed"] == 7
    assert saved["results"][2]["failed"] is True and saved["results"][1]["findings"][0]["held"] is True
    assert (tmp_path / "a" / "a.json").is_file()  # each experiment's own record


def test_report_is_self_contained_and_escapes_text(fakes, tmp_path):
    result = tour.run_tour(0, tmp_path)
    page = result.report.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count('src="data:image/png;base64,') == 2  # a and b drew one figure each
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from anywhere
    assert "the chapter says &lt;this&gt;" in page and "<this>" not in page
    assert "RuntimeError: out of &lt;memory&gt;" in page and "experiment failed" in page
    assert "python -m seqlab.experiments.a --setting tiny --seed 0" in page
    assert '<td class="num">2.5e-07</td>' in page and "a &amp; b" in page
    assert "not decided here" in page  # tiny decides nothing
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporaries


def test_unknown_setting_override(fakes, tmp_path):
    with pytest.raises(ValueError, match=r"unknown setting 'full' for c; known: tiny, small"):
        tour.run_tour(0, tmp_path, settings={"c": "full"})
    with pytest.raises(ValueError, match=r"a setting for 'a', which this tour does not run \(b\)"):
        tour.run_tour(0, tmp_path, only=["b"], settings={"a": "tiny"})


def test_cli_tour_prints_the_plan_progress_and_report(fakes, tmp_path, capsys):
    code = cli.main(["tour", "--budget", "2.2", "--only", "a,b", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 0
    assert "2 experiments, about 2 min planned (budget 2.2 min): a (small), b (tiny)" in captured.out
    assert "a: 1 held, 0 did not, 0 not decided" in captured.out + captured.err
    assert f"report: {tmp_path / 'report.html'}" in captured.out
    assert cli.main(["tour", "--budget", "0", "--out", str(tmp_path)]) == 1  # c fails: the exit code says so


def test_cli_setting_overrides_the_plan(fakes, tmp_path, capsys):
    assert (
        cli.main(["tour", "--budget", "0", "--only", "a", "--setting", "a=full", "--out", str(tmp_path)]) == 0
    )
    assert "a (full)" in capsys.readouterr().out
    assert cli.main(["tour", "--only", "a", "--setting", "a:full", "--out", str(tmp_path)]) == 2
    assert "expected --setting EXPERIMENT=SETTING, got 'a:full'" in capsys.readouterr().err
    assert cli.main(["tour", "--only", "a", "--setting", "a=huge", "--out", str(tmp_path)]) == 2
    assert "unknown setting 'huge' for a; known: tiny, small, full" in capsys.readouterr().err
