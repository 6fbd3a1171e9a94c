"""The long-range experiment: its data generators, its decision rules and a tiny end-to-end run."""

from __future__ import annotations

import json

import pytest
import torch

from seqlab.experiments import long_range
from seqlab.experiments.long_range import (
    ADDING_BASELINE_MSE,
    COPY_SOLVED_ACCURACY,
    IGNORE,
    SOLVED_MSE,
    ablation_held,
    adding_problem,
    copy_held,
    copy_task,
    gated_held,
    headline_held,
    solved,
    steps_to_solve,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("long_range")
    return long_range.run("tiny", out_dir, seed=0), out_dir


# ---------------------------------------------------------------------------------------------- adding
def test_adding_problem_has_one_marker_per_half_and_sums_the_marked_values():
    x, y = adding_problem(500, 11, generator=torch.Generator().manual_seed(0))
    assert x.shape == (500, 11, 2) and y.shape == (500,)
    u, m = x[..., 0], x[..., 1]
    assert ((u >= 0) & (u < 1)).all()
    assert set(m.unique().tolist()) == {0.0, 1.0}
    assert (m[:, :5].sum(1) == 1).all() and (m[:, 5:].sum(1) == 1).all()  # T // 2 = 5: halves [0, 5), [5, 11)
    first, second = m[:, :5].argmax(1), 5 + m[:, 5:].argmax(1)
    rows = torch.arange(500)
    torch.testing.assert_close(y, u[rows, first] + u[rows, second])


def test_adding_problem_by_hand_for_length_two():
    x, y = adding_problem(3, 2, generator=torch.Generator().manual_seed(1))
    assert (x[..., 1] == 1).all()  # T = 2: both steps are marked, so y is the sum of both values
    torch.testing.assert_close(y, x[..., 0].sum(1))


def test_always_answering_one_scores_one_sixth():
    _, y = adding_problem(200_000, 20, generator=torch.Generator().manual_seed(0))
    mse = (y - 1.0).pow(2).mean().item()  # Var(u_a + u_b) = 2/12; sd of the estimate ≈ 0.0004
    assert mse == pytest.approx(1 / 6, abs=0.002)
    assert mse == pytest.approx(ADDING_BASELINE_MSE, abs=0.002)


def test_adding_problem_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"adding_problem: expected length to be an integer ≥ 2.*got 1"):
        adding_problem(4, 1)
    with pytest.raises(
        ValueError, match=r"adding_problem: expected batch_size to be a positive integer, got 0"
    ):
        adding_problem(0, 10)


# ---------------------------------------------------------------------------------------------- copy
def test_copy_task_targets_are_the_first_symbols_at_the_last_steps():
    S, T, K = 4, 6, 8
    tokens, targets = copy_task(50, T, symbols=S, alphabet=K, generator=torch.Generator().manual_seed(0))
    assert tokens.shape == targets.shape == (50, T + 2 * S)
    assert ((tokens[:, :S] >= 0) & (tokens[:, :S] < K)).all()
    assert (tokens[:, S : S + T - 1] == K).all()  # T − 1 blanks
    assert (tokens[:, S + T - 1] == K + 1).all()  # the delimiter
    assert (tokens[:, S + T :] == K).all()  # S blanks while the model answers
    assert torch.equal(targets[:, -S:], tokens[:, :S])
    assert (targets[:, :-S] == IGNORE).all()


def test_copy_task_by_hand():
    torch.manual_seed(3)
    tokens, targets = copy_task(1, 2, symbols=2, alphabet=3)
    a, b = tokens[0, :2].tolist()
    assert tokens[0].tolist() == [a, b, 3, 4, 3, 3]  # symbols, one blank, delimiter, two blanks
    assert targets[0].tolist() == [IGNORE, IGNORE, IGNORE, IGNORE, a, b]


def test_copy_task_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"copy_task: expected symbols to be a positive integer, got 0"):
        copy_task(4, 10, symbols=0)
    with pytest.raises(ValueError, match=r"copy_task: expected alphabet to be an integer ≥ 2, got 1"):
        copy_task(4, 10, alphabet=1)


# ---------------------------------------------------------------------------------------------- rules
def test_solved_rule():
    assert solved(0.0099) and not solved(SOLVED_MSE) and not solved(ADDING_BASELINE_MSE)


def test_steps_to_solve_finds_the_first_window_below_the_threshold():
    losses = [0.2] * 10 + [0.001] * 10
    # window 4: the mean of steps 11..14 is the first below 0.01 → step 14; window 1: step 11
    assert steps_to_solve(losses, window=4) == 14
    assert steps_to_solve(losses, window=1) == 11
    assert steps_to_solve([0.2] * 100, window=5) is None
    assert steps_to_solve([0.001] * 3, window=5) is None  # fewer steps than one window
    with pytest.raises(ValueError, match=r"steps_to_solve: expected window to be a positive integer, got 0"):
        steps_to_solve(losses, window=0)


def test_headline_rule():
    assert headline_held(200, lstm_mse=0.002, rnn_mse=0.16) is True
    assert headline_held(200, lstm_mse=0.002, rnn_mse=0.005) is False  # the RNN solved it too
    assert headline_held(200, lstm_mse=0.05, rnn_mse=0.16) is False  # the LSTM did not solve it
    assert headline_held(50, lstm_mse=0.002, rnn_mse=0.16) is None  # not the claim's T


def test_ablation_rule():
    assert ablation_held(800, 1500) is True
    assert ablation_held(800, None) is True
    assert ablation_held(1500, 800) is False
    assert ablation_held(None, 800) is False
    assert ablation_held(None, None) is None


def test_gated_rule():
    assert gated_held({"rnn": 0, "lstm": 100, "gru": 50}) is True
    assert gated_held({"rnn": 50, "lstm": 100, "gru": 50}) is False  # the GRU did no better than the RNN
    assert gated_held({"rnn": 0, "lstm": 0, "gru": 0, "mamba": 0}) is None


def test_copy_rule():
    assert copy_held({"rnn": 0.13, "lstm": 0.5, "gru": COPY_SOLVED_ACCURACY}) is True
    assert copy_held({"rnn": 0.95, "lstm": 0.99, "gru": 0.99}) is False  # the RNN copies too
    assert copy_held({"rnn": 0.13, "lstm": 0.2, "mingru": 0.95}) is False  # no gated LSTM/GRU copies
    assert copy_held({"rnn": 0.13, "lstm": 0.2, "gru": 0.3}) is None


# ---------------------------------------------------------------------------------------------- run
def test_tiny_run_result(tiny):
    result, _ = tiny
    assert result.name == "long_range" and result.setting == "tiny" and result.seed == 0
    assert result.settings == long_range.SETTINGS["tiny"]
    assert len(result.findings) == 5
    assert all(f.held is None for f in result.findings)  # tiny decides nothing
    assert all(f.claim and f.measured for f in result.findings)
    assert "T = 10" in result.findings[0].measured
    assert result.seconds > 0


def test_tiny_run_tables(tiny):
    result, _ = tiny
    s = long_range.SETTINGS["tiny"]
    head, adding, copying = result.tables
    assert [r[0] for r in head.rows] == [  # tiny runs the ablations at the headline's T: lstm once
        "rnn, T = 10",
        "lstm, T = 10",
        "lstm, no clipping, T = 10",
        "lstm, forget bias 0, T = 10",
    ]
    assert len(head.header) == 6
    assert [r[0] for r in adding.rows] == list(s["adding_models"])
    assert len(adding.header) == 2 + len(s["adding_lengths"])
    assert [r[0] for r in copying.rows] == list(s["copy_models"])
    assert len(copying.header) == 2 + len(s["copy_lengths"])
    for row in adding.rows:
        assert all(float(cell) > 0 for cell in row[1:-1])  # MSEs
    for row in copying.rows:
        assert all(0.0 <= float(cell) <= 1.0 for cell in row[1:-1])  # accuracies


def test_a_run_shared_by_the_headline_and_the_sweep_is_trained_once(tmp_path, monkeypatch):
    setting = {
        **long_range.SETTINGS["tiny"],
        "headline_steps": 4,
        "adding_steps": 4,  # same T and steps: the sweep's rnn and lstm at T = 10 are the headline's
        "adding_lengths": (10,),
        "adding_models": ("rnn", "lstm", "gru"),
        "copy_models": ("rnn",),
    }
    monkeypatch.setitem(long_range.SETTINGS, "tiny", setting)
    calls = []
    train = long_range._train_adding

    def counting(name, length, s, **kwargs):
        calls.append((name, length, kwargs["clip"], kwargs["options"]))
        return train(name, length, s, **kwargs)

    monkeypatch.setattr(long_range, "_train_adding", counting)
    result = long_range.run("tiny", tmp_path)
    assert calls == [
        ("rnn", 10, 1.0, {}),
        ("lstm", 10, 1.0, {}),
        ("lstm", 10, None, {}),
        ("lstm", 10, 1.0, {"forget_bias": 0.0}),
        ("gru", 10, 1.0, {}),
    ]
    head, adding, _ = result.tables
    assert adding.rows[0][1] == head.rows[0][1] and adding.rows[1][1] == head.rows[1][1]  # rnn, lstm


def test_tiny_run_figures_and_json(tiny):
    result, out_dir = tiny
    assert [p.name for p in result.figures] == [
        "long_range_headline.png",
        "long_range_adding.png",
        "long_range_copy.png",
    ]
    for path in result.figures:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads(result.save(out_dir).read_text(encoding="utf-8"))
    assert saved.pop("environment")["torch"] == torch.__version__
    assert saved == json.loads(json.dumps(result.to_dict(), default=str))
    assert saved["findings"][0]["held"] is None and saved["settings"]["headline_length"] == 10


def test_unknown_setting_and_bad_seed():
    with pytest.raises(ValueError, match=r"long_range: unknown setting 'huge'; known: tiny, small, full"):
        long_range.run("huge")
    with pytest.raises(ValueError, match=r"long_range: expected seed to be a non-negative integer, got -1"):
        long_range.run("tiny", seed=-1)


def test_main_prints_the_markdown(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(
        long_range.SETTINGS, "tiny", {**long_range.SETTINGS["tiny"], "adding_models": ("rnn",)}
    )
    assert long_range.main(["--setting", "tiny", "--out-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("## Long-range dependencies")
    assert (tmp_path / "long_range.json").is_file()
