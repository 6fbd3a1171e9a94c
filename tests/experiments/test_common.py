"""The experiment contract: results round-trip through JSON, tables check their shape, the fit loop clips."""

from __future__ import annotations

import json
import math

import pytest
import torch

from seqlab.experiments.common import (
    ExperimentResult,
    Finding,
    Table,
    environment,
    fit,
    fresh_checkpoints,
    pick_setting,
    time_in_turn,
    trailing_mean,
    window_loss,
)


def _result(tmp_path):
    return ExperimentResult(
        name="demo",
        title="A demo",
        setting="tiny",
        seed=3,
        findings=(Finding("c", "m", True), Finding("c2", "m2", None)),
        tables=(Table("cap", ("a", "b"), (("1", "2"),)),),
        figures=(tmp_path / "f.png",),
        settings={"steps": 4},
        seconds=1.5,
    )


def test_result_saves_as_json_whole(tmp_path):
    path = _result(tmp_path).save(tmp_path / "out")
    assert path == tmp_path / "out" / "demo.json"
    saved = json.loads(path.read_text())
    assert saved["findings"][0] == {"claim": "c", "measured": "m", "held": True}
    assert saved["findings"][1]["held"] is None
    assert saved["tables"][0]["rows"] == [["1", "2"]]
    assert saved["figures"] == [str(tmp_path / "f.png")] and saved["settings"] == {"steps": 4}
    assert saved["environment"]["torch"] == torch.__version__  # versions and hardware, for the record
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["demo.json"]  # no temporary left


def test_markdown_says_which_claims_held(tmp_path):
    text = _result(tmp_path).markdown()
    assert "- **held**: c" in text and "- **not decided at this setting**: c2" in text
    assert "| a | b |\n|---|---|\n| 1 | 2 |" in text


def test_table_rows_must_match_the_header():
    with pytest.raises(ValueError, match=r"row 1 has 1 cells, the header 2"):
        Table("t", ("a", "b"), (("1", "2"), ("3",)))


def test_unknown_setting_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"gradients: unknown setting 'huge'; known: tiny, small"):
        pick_setting({"tiny": {}, "small": {}}, "huge", "gradients")
    assert pick_setting({"tiny": {"T": 3}}, "tiny", "x") == {"T": 3}


def test_fit_logs_the_norm_before_clipping_and_clips_the_step():
    # L = ½‖w‖² has gradient w: at w = (30, 40) the norm is 50; the gradient Adam then sees is w.grad.
    w = torch.nn.Parameter(torch.tensor([30.0, 40.0]))
    log = fit(lambda step: 0.5 * (w**2).sum(), [w], steps=1, lr=0.1, clip=1.0)
    assert log.grad_norms == [50.0] and log.losses == [1250.0]
    assert torch.allclose(w.grad, torch.tensor([0.6, 0.8]))  # rescaled to norm 1, direction kept
    w2 = torch.nn.Parameter(torch.tensor([30.0, 40.0]))
    fit(lambda step: 0.5 * (w2**2).sum(), [w2], steps=1, lr=0.1)
    assert torch.allclose(w2.grad, torch.tensor([30.0, 40.0]))  # no clip: untouched


def test_fit_learns_and_stops_on_time():
    w = torch.nn.Parameter(torch.tensor([3.0]))
    log = fit(lambda step: ((w - 1.0) ** 2).sum(), [w], steps=300, lr=0.1)
    assert abs(w.item() - 1.0) < 1e-2 and log.tail(10) < 1e-3
    quick = fit(lambda step: ((w - 1.0) ** 2).sum(), [w], steps=10**6, lr=0.1, max_seconds=0.0)
    assert len(quick.losses) == 1 and not math.isnan(quick.seconds)


def test_environment_records_versions_and_hardware():
    env = environment()
    assert env["torch"] == torch.__version__ and env["cores"] >= 1
    assert {"seqlab", "python", "numpy", "cpu", "torch_threads", "cuda"} <= set(env)


def test_time_in_turn_calls_each_after_a_warm_up():
    calls = {"a": 0, "b": 0}

    def count(name):
        calls[name] += 1

    times = time_in_turn({"a": lambda: count("a"), "b": lambda: count("b")}, 3)
    assert calls == {"a": 4, "b": 4}
    assert {k: len(v) for k, v in times.items()} == {"a": 3, "b": 3}
    assert all(t >= 0 for v in times.values() for t in v)
    with pytest.raises(ValueError, match=r"expected repeats ≥ 1, got 0"):
        time_in_turn({"a": lambda: None}, 0)


def test_fit_stops_when_told():
    w = torch.nn.Parameter(torch.tensor([3.0]))
    log = fit(
        lambda step: ((w - 1.0) ** 2).sum(), [w], steps=1000, lr=0.1, stop=lambda log: log.losses[-1] < 0.5
    )
    assert log.losses[-1] < 0.5 <= min(log.losses[:-1]) and len(log.losses) < 1000


def test_trailing_mean():
    assert trailing_mean([2.0, 4.0, 6.0, 8.0], 2) == [2.0, 3.0, 5.0, 7.0]
    assert trailing_mean([1.0, 3.0], 5) == [1.0, 2.0]
    with pytest.raises(ValueError, match=r"expected window ≥ 1, got 0"):
        trailing_mean([1.0], 0)


def test_fresh_checkpoints_drops_only_the_old_checkpoints(tmp_path):
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "checkpoints" / "last.ckpt").write_text("old")
    (tmp_path / "run" / "model").mkdir()
    assert fresh_checkpoints(tmp_path / "run") == tmp_path / "run"
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["model"]
    assert fresh_checkpoints(tmp_path / "new") == tmp_path / "new"  # nothing there: nothing to do


def test_window_loss_reads_random_windows_of_the_stream():
    seen = []

    class Uniform(torch.nn.Module):  # logits 0: every next token costs log V
        def forward(self, x):
            seen.append(x.clone())
            return torch.zeros(*x.shape, 5), None

    ids = torch.arange(100) % 5
    loss = window_loss(Uniform(), ids, 8, 3, torch.Generator().manual_seed(0))(0)
    assert torch.isclose(loss, torch.log(torch.tensor(5.0)))
    (x,) = seen
    assert x.shape == (3, 8) and all(((row[1:] - row[:-1]) % 5 == 1).all() for row in x)  # consecutive tokens
