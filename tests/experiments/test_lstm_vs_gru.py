"""The LSTM-vs-GRU experiment: parameter formulas, the temporal-order data, the rules, and the tiny run."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from seqlab.experiments import lstm_vs_gru
from seqlab.experiments.lstm_vs_gru import (
    comparable,
    count_parameters,
    formula_parameters,
    temporal_order,
)
from seqlab.recurrent import Recurrent


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("lstm_vs_gru")
    return lstm_vs_gru.run("tiny", out, seed=1), out


@pytest.mark.parametrize(("D", "H"), [(1, 1), (3, 5), (16, 8)])
def test_parameter_formulas_match_counts_of_ours_and_torchs(D, H):
    lstm = 4 * (D * H + H * H + 2 * H)
    gru = 3 * (D * H + H * H + 2 * H)
    assert formula_parameters("lstm", D, H) == lstm == count_parameters(Recurrent("lstm", D, H))
    assert formula_parameters("gru", D, H) == gru == count_parameters(Recurrent("gru", D, H))
    assert count_parameters(nn.LSTM(D, H)) == lstm and count_parameters(nn.GRU(D, H)) == gru
    assert formula_parameters("lstm", D, H, biases=1) == 4 * (H * (D + H) + H)  # the chapter's
    assert 4 * gru == 3 * lstm


def test_count_parameters_skips_frozen_ones():
    module = Recurrent("gru", 2, 3)
    module.layers[0][0].bias_hh.requires_grad_(False)
    assert count_parameters(module) == formula_parameters("gru", 2, 3) - 9


def test_formula_parameters_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown model 'rnn'; known: lstm, gru"):
        formula_parameters("rnn", 2, 3)
    with pytest.raises(ValueError, match="expected biases to be 1 or 2, got 3"):
        formula_parameters("lstm", 2, 3, biases=3)


def test_temporal_order_targets_follow_the_two_marked_symbols():
    T = 40
    x, y = temporal_order(500, T, torch.Generator().manual_seed(0))
    assert x.shape == (500, T, 6) and y.shape == (500,)
    assert torch.equal(x.sum(-1), torch.ones(500, T))  # one-hot
    symbols = x.argmax(-1)  # (B, T)
    for b in range(500):
        (marked,) = torch.nonzero(symbols[b] >= 4, as_tuple=True)
        assert len(marked) == 2
        t1, t2 = marked.tolist()
        assert 4 <= t1 < 8 and 20 <= t2 < 24  # [0.1T, 0.2T) and [0.5T, 0.6T)
        first, second = int(symbols[b, t1]) - 4, int(symbols[b, t2]) - 4  # 0 = X, 1 = Y
        assert int(y[b]) == 2 * first + second
    assert set(y.tolist()) == {0, 1, 2, 3}


def test_temporal_order_hand_built_case():
    """The class names: XX → 0, XY → 1, YX → 2, YY → 3, read off the generated symbols."""
    x, y = temporal_order(64, 10, torch.Generator().manual_seed(5))
    symbols = x.argmax(-1)  # (B, 10): marked at t1 = 1 (only [1, 2)) and t2 = 5 (only [5, 6))
    names = {0: "XX", 1: "XY", 2: "YX", 3: "YY"}
    letters = {4: "X", 5: "Y"}
    for b in range(64):
        assert names[int(y[b])] == letters[int(symbols[b, 1])] + letters[int(symbols[b, 5])]


def test_temporal_order_rejects_bad_sizes():
    g = torch.Generator()
    with pytest.raises(ValueError, match="expected a length of at least 10, got 5"):
        temporal_order(4, 5, g)
    with pytest.raises(ValueError, match="expected a positive batch size, got 0"):
        temporal_order(0, 20, g)


def test_comparable_rule():
    assert comparable([0.90, 0.92], [0.88, 0.90], 0.05)
    assert not comparable([0.90], [0.80], 0.05)
    assert not comparable([2.0], [2.2], 0.1)  # worse by more than the tolerance
    assert not comparable([2.2], [2.0], 0.1)  # better by more than the tolerance is not "comparable" either
    assert comparable([2.0], [2.05], 0.1)
    with pytest.raises(ValueError, match="at least one measurement per model"):
        comparable([], [1.0], 0.1)


def test_solved_at_is_the_first_window_below_the_threshold():
    losses = [1.0] * 60 + [0.0] * 60
    # the running mean of 50 drops below 0.1 once at most 4 of its 50 losses are 1.0: at step 60 + 46
    assert lstm_vs_gru._solved_at(losses) == 106
    assert lstm_vs_gru._solved_at([1.0] * 100) is None


def test_onednn_switch_is_restored():
    before = torch.backends.mkldnn.enabled
    with lstm_vs_gru._without_onednn():
        assert torch.backends.mkldnn.enabled is False
    assert torch.backends.mkldnn.enabled == before


def test_tiny_run_reports_every_claim(tiny):
    result, out = tiny
    s = lstm_vs_gru.SETTINGS["tiny"]
    assert (result.name, result.setting, result.seed) == ("lstm_vs_gru", "tiny", 1)
    assert len(result.findings) == 4
    assert [f.held for f in result.findings] == [True, None, None, None]  # only the counts decide at tiny
    assert "0.7500" in result.findings[0].measured
    params, speed, quality = result.tables
    assert len(params.rows) == len(s["param_sizes"]) and len(params.header) == 9
    assert all(row[-1] == "0.7500" and row[3] == row[4] == row[5] for row in params.rows)
    assert len(speed.rows) == len(s["speed_sizes"]) and len(speed.header) == 8
    assert all(float(cell) > 0 for row in speed.rows for cell in row[2:])
    assert [row[0] for row in quality.rows] == [f"temporal order T={s['order_T']}", "Shakespeare char LM"]
    for row in quality.rows:
        assert float(row[4]) == pytest.approx(float(row[3]) - float(row[2]), abs=1.5e-3)
    accuracy = [float(v) for v in quality.rows[0][2:4]]
    assert all(0.0 <= a <= 1.0 for a in accuracy)
    bpc = [float(v) for v in quality.rows[1][2:4]]
    assert all(0.0 < b < 10.0 for b in bpc)
    (figure,) = result.figures
    assert figure == out / "lstm_vs_gru.png" and figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tiny_result_round_trips_through_json(tiny, tmp_path):
    result, _ = tiny
    path = result.save(tmp_path)
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert loaded.pop("environment")["torch"] == torch.__version__
    assert loaded == json.loads(json.dumps(result.to_dict()))
    assert loaded["name"] == "lstm_vs_gru" and loaded["settings"]["seeds"] == 1
    assert loaded["settings"]["speed_sizes"] == [list(z) for z in lstm_vs_gru.SETTINGS["tiny"]["speed_sizes"]]
    assert [f["held"] for f in loaded["findings"]] == [True, None, None, None]


def test_unknown_setting():
    with pytest.raises(ValueError, match=r"lstm_vs_gru: unknown setting 'huge'; known: tiny, small, full"):
        lstm_vs_gru.run("huge")


def test_settings_and_minutes_cover_the_same_names():
    assert set(lstm_vs_gru.SETTINGS) == set(lstm_vs_gru.MINUTES) == {"tiny", "small", "full"}
