"""The vanishing/exploding-gradient experiment: its pieces against known answers, and the tiny run."""

from __future__ import annotations

import json
import math

import pytest
import torch

from seqlab.experiments import gradients
from seqlab.experiments.gradients import (
    bptt_products,
    decide,
    hidden_gradients,
    linear_elman_step,
    per_step_factor,
    set_spectral_radius,
    spectral_radius,
)
from seqlab.recurrent import build_recurrence


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("gradients")
    return gradients.run("tiny", out, seed=3), out


def _orthogonal_elman(H: int, rho: float, seed: int = 0):
    """An Elman RNN with W_hh = ρ·Q (Q orthogonal) and zero biases: from h_0 = 0 with zero inputs the state
    stays 0, tanh'(0) = 1, so ∂L/∂h_k = (ρ Qᵀ)^{T−k} w and ‖∂L/∂h_k‖ = ρ^{T−k} ‖w‖ exactly."""
    torch.manual_seed(seed)
    cell = build_recurrence("rnn", 3, H).double()
    Q, _ = torch.linalg.qr(torch.randn(H, H, dtype=torch.float64))
    with torch.no_grad():
        cell.weight_hh.copy_(rho * Q)
        cell.bias_ih.zero_()
        cell.bias_hh.zero_()
    return cell


def test_gradient_norm_is_rho_to_the_distance_on_an_orthogonal_linear_regime():
    H, T, rho = 6, 12, 0.8
    cell = _orthogonal_elman(H, rho)
    x = torch.zeros(2, T, 3, dtype=torch.float64)
    w = torch.randn(H, dtype=torch.float64)
    h, g = hidden_gradients(cell.step, cell.initial_state(2, dtype=torch.float64), x, w)
    assert torch.equal(h, torch.zeros_like(h))
    distance = torch.arange(T - 1, -1, -1, dtype=torch.float64)  # position k = 1 … T ↔ T − k
    expected = rho**distance * w.norm()  # (T,)
    torch.testing.assert_close(g.norm(dim=-1), expected.expand(2, T), rtol=1e-12, atol=0)
    norms, applied = bptt_products(cell.weight_hh, h, w)
    torch.testing.assert_close(norms, (rho**distance).expand(2, T), rtol=1e-12, atol=0)  # ‖ρ^d Q^d‖₂
    torch.testing.assert_close(applied, g, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("linear", [False, True])
def test_explicit_jacobian_product_equals_autograd(linear):
    torch.manual_seed(1)
    B, T, D, H = 3, 9, 2, 5
    cell = build_recurrence("rnn", D, H).double()
    set_spectral_radius(cell, 1.3)
    x = torch.randn(B, T, D, dtype=torch.float64)
    w = torch.randn(H, dtype=torch.float64)
    step = linear_elman_step(cell) if linear else cell.step
    h, g = hidden_gradients(step, cell.initial_state(B, dtype=torch.float64), x, w)
    assert h[:, -1].abs().max() < (float("inf") if linear else 1.0)
    norms, applied = bptt_products(cell.weight_hh, h, w, linear=linear)
    assert applied.shape == g.shape == (B, T, H) and norms.shape == (B, T)
    error = ((applied - g).norm(dim=-1) / g.norm(dim=-1)).max()
    assert error < 1e-6
    assert torch.equal(applied[:, -1], w.expand(B, H))  # P_T = I
    # the spectral norm bounds the gradient: ‖Pᵀ w‖ ≤ ‖P‖₂ ‖w‖
    assert (g.norm(dim=-1) <= norms * w.norm() * (1 + 1e-12)).all()


def test_hidden_gradients_of_lstm_are_zero_nowhere_and_equal_the_readout_at_t():
    torch.manual_seed(2)
    cell = build_recurrence("lstm", 2, 4).double()
    x = torch.randn(2, 5, 2, dtype=torch.float64)
    w = torch.randn(4, dtype=torch.float64)
    h, g = hidden_gradients(cell.step, cell.initial_state(2, dtype=torch.float64), x, w)
    torch.testing.assert_close(g[:, -1], w.expand(2, 4))
    out, _ = cell(x)  # the step loop computed what forward computes
    torch.testing.assert_close(h, out)
    assert (g.norm(dim=-1) > 0).all()


def test_set_spectral_radius_rescales_every_eigenvalue():
    torch.manual_seed(0)
    cell = build_recurrence("rnn", 2, 8).double()
    before = torch.linalg.eigvals(cell.weight_hh)
    r = spectral_radius(cell.weight_hh)
    set_spectral_radius(cell, 1.5)
    assert spectral_radius(cell.weight_hh) == pytest.approx(1.5, rel=1e-12)
    after = torch.linalg.eigvals(cell.weight_hh)
    torch.testing.assert_close(after.abs().sort().values, (before.abs() * 1.5 / r).sort().values)


@pytest.mark.parametrize("rho", [0.0, -1.0, float("inf"), True, "1"])
def test_set_spectral_radius_rejects_bad_radii(rho):
    cell = build_recurrence("rnn", 2, 4)
    with pytest.raises(ValueError, match="expected a positive finite spectral radius"):
        set_spectral_radius(cell, rho)


def test_bad_arguments_are_refused():
    lstm = build_recurrence("lstm", 2, 4)
    with pytest.raises(ValueError, match="expected an ElmanRNN, got LSTM"):
        set_spectral_radius(lstm, 1.0)
    with pytest.raises(ValueError, match="expected an ElmanRNN, got LSTM"):
        linear_elman_step(lstm)
    with pytest.raises(ValueError, match="expected a square matrix"):
        spectral_radius(torch.zeros(2, 3))
    rnn = build_recurrence("rnn", 2, 4)
    with pytest.raises(ValueError, match=r"expected a readout of shape \(4,\), got \(5,\)"):
        hidden_gradients(rnn.step, rnn.initial_state(1), torch.zeros(1, 3, 2), torch.zeros(5))
    with pytest.raises(ValueError, match=r"expected x of shape \(B, T, D\)"):
        hidden_gradients(rnn.step, rnn.initial_state(1), torch.zeros(3, 2), torch.zeros(4))
    with pytest.raises(ValueError, match=r"expected h of shape \(B, T, 4\)"):
        bptt_products(rnn.weight_hh, torch.zeros(1, 3, 5), torch.zeros(4))
    with pytest.raises(ValueError, match="expected a 1-D sequence of norms"):
        per_step_factor(torch.ones(2, 2))


def test_per_step_factor_recovers_a_geometric_rate_and_skips_underflow_and_overflow():
    d = torch.arange(30, dtype=torch.float64)
    assert per_step_factor(0.5**d) == pytest.approx(0.5, rel=1e-12)
    assert per_step_factor(3.0 * 1.2**d) == pytest.approx(1.2, rel=1e-12)
    with_underflow = torch.cat([0.5**d, torch.zeros(5, dtype=torch.float64)])
    assert per_step_factor(with_underflow) == pytest.approx(0.5, rel=1e-12)
    with_overflow = torch.cat([1.5**d, torch.full((3,), float("inf"), dtype=torch.float64)])
    assert per_step_factor(with_overflow) == pytest.approx(1.5, rel=1e-12)
    assert math.isnan(per_step_factor([1.0]))


def _factors(**changes):
    base = {"rnn ρ=0.5": 0.5, "rnn ρ=3": 1.3}
    return {**base, **changes}


def test_decision_rules_on_constructed_measurements():
    ratios = {"lstm": 1e10, "gru": 1e3}
    assert decide(_factors(), ratios, 1e-12) == {
        "vanish": True,
        "explode": True,
        "lstm": True,
        "gru": True,
        "agree": True,
    }
    held = decide(_factors(**{"rnn ρ=0.5": 0.99, "rnn ρ=3": 0.98}), {"lstm": 5e2, "gru": 0.3}, 1e-3)
    assert held == {"vanish": False, "explode": False, "lstm": True, "gru": False, "agree": False}
    assert decide(_factors(), ratios, float("nan"))["agree"] is False
    undecided = decide(_factors(), ratios, 1e-12, decided=False)
    assert undecided == {"vanish": None, "explode": None, "lstm": None, "gru": None, "agree": True}


def test_tiny_run_reports_every_claim(tiny):
    result, out = tiny
    assert (result.name, result.setting, result.seed) == ("gradients", "tiny", 3)
    assert result.settings == gradients.SETTINGS["tiny"]
    assert len(result.findings) == 5
    # tiny decides only the exact check; the BPTT product agrees with autograd
    assert [f.held for f in result.findings] == [None, None, None, None, True]
    assert all(f.claim and f.measured for f in result.findings)
    assert "relative error of" in result.findings[-1].measured
    (table,) = result.tables
    T = gradients.SETTINGS["tiny"]["T"]
    assert table.header[-1] == f"d = {T - 1}" and len(table.header) == 6
    assert [row[0] for row in table.rows] == [
        "rnn ρ=0.5",
        "rnn ρ=1",
        "rnn ρ=1.5",
        "rnn ρ=3",
        "rnn default",
        "linear ρ=1.5",
        "lstm",
        "gru",
        "lstm b_f=0",
        "gru b_z=1",
    ]
    rho = {row[0]: row[1] for row in table.rows}
    assert (rho["rnn ρ=0.5"], rho["rnn ρ=3"], rho["lstm"]) == ("0.50", "3.00", "—")
    assert all(float(row[3]) == float(table.rows[0][3]) for row in table.rows)  # ∂L/∂h_T = w for all
    assert [p.name for p in result.figures] == ["gradients.png", "gradients_bptt.png"]
    for path in result.figures:
        assert path.parent == out and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tiny_result_round_trips_through_json(tiny, tmp_path):
    result, _ = tiny
    path = result.save(tmp_path)
    assert path == tmp_path / "gradients.json"
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert loaded.pop("environment")["torch"] == torch.__version__
    assert loaded == json.loads(json.dumps(result.to_dict()))
    assert [f["held"] for f in loaded["findings"]] == [None, None, None, None, True]
    assert loaded["figures"] == [str(p) for p in result.figures]


def test_unknown_setting():
    with pytest.raises(ValueError, match=r"gradients: unknown setting 'huge'; known: tiny, small, full"):
        gradients.run("huge")


def test_settings_and_minutes_cover_the_same_names():
    assert set(gradients.SETTINGS) == set(gradients.MINUTES) == {"tiny", "small", "full"}
