"""Single layers: gradcheck, per-token step == reference step, parameter counts, init, options."""

from __future__ import annotations

import pytest
import torch

from seqlab.recurrent import GRU, LSTM, ElmanRNN, build_recurrence, recurrence_options
from seqlab.recurrent.lstm_bptt import lstm_sequence

from .conftest import ALL, LENGTHS, B, D, H, T, case_id, random_fields, randomize_


@pytest.mark.parametrize("case", ALL, ids=case_id)
@pytest.mark.parametrize("reference", [False, True], ids=["fast", "reference"])
def test_gradcheck_float64(case, reference):
    name, options = case
    cell = randomize_(build_recurrence(name, D, H, options)).double()
    x = torch.randn(2, 4, D, dtype=torch.float64, requires_grad=True)
    state = random_fields(cell.initial_state(2, dtype=torch.float64), requires_grad=True)
    run = cell.forward_reference if reference else cell.forward
    lengths = torch.tensor([4, 2])

    def f(x, *state):
        out, final = run(x, cell.State(*state), lengths)
        return (out, *final)

    assert torch.autograd.gradcheck(f, (x, *state))


@pytest.mark.parametrize("coupled", [False, True])
@pytest.mark.parametrize("peephole", [False, True])
def test_lstm_bptt_gradcheck_including_weights(coupled, peephole):
    G, Hs = (3 if coupled else 4), 3
    gx = torch.randn(2, 5, G * Hs, dtype=torch.float64, requires_grad=True)
    h0, c0 = (torch.randn(2, Hs, dtype=torch.float64, requires_grad=True) for _ in range(2))
    W = (torch.randn(G * Hs, Hs, dtype=torch.float64) * 0.5).requires_grad_()
    p = (torch.randn(G - 1, Hs, dtype=torch.float64) * 0.5).requires_grad_() if peephole else None
    inputs = (gx, h0, c0, W) + ((p,) if peephole else ())

    def f(gx, h0, c0, W, p=None):
        return lstm_sequence(gx, h0, c0, W, p, coupled)

    assert torch.autograd.gradcheck(f, inputs)


@pytest.mark.parametrize("case", ALL, ids=case_id)
def test_step_equals_reference_step(case):
    name, options = case
    cell = randomize_(build_recurrence(name, D, H, options))
    state = cell.State(*random_fields(cell.initial_state(B)))
    x_t = torch.randn(B, D)
    h_fast, s_fast = cell.step(x_t, state)
    h_ref, s_ref = cell.reference_step(x_t, state)
    torch.testing.assert_close(h_fast, h_ref)
    torch.testing.assert_close(tuple(s_fast), tuple(s_ref))
    assert isinstance(s_fast, cell.State)


@pytest.mark.parametrize("case", ALL, ids=case_id)
def test_step_loop_from_a_random_state_equals_forward(case):
    name, options = case
    cell = randomize_(build_recurrence(name, D, H, options)).double()
    x = torch.randn(B, T, D, dtype=torch.float64)
    state = start = cell.State(*random_fields(cell.initial_state(B, dtype=torch.float64)))
    outputs = []
    for x_t in x.unbind(1):
        y_t, state = cell.step(x_t, state)
        outputs.append(y_t)
    out, final = cell(x, start)
    torch.testing.assert_close(torch.stack(outputs, dim=1), out)
    torch.testing.assert_close(tuple(state), tuple(final))


@pytest.mark.parametrize("case", ALL, ids=case_id)
def test_layer_fast_path_matches_reference_with_lengths(case):
    name, options = case
    cell = randomize_(build_recurrence(name, D, H, options))
    x = torch.randn(B, T, D)
    out, state = cell(x, lengths=LENGTHS)
    ref_out, ref_state = cell.forward_reference(x, lengths=LENGTHS)
    assert out.shape == (B, T, cell.output_size)
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(tuple(state), tuple(ref_state), atol=1e-5, rtol=1e-5)


def test_parameter_counts_match_the_chapters_table():
    """LSTM has 4 blocks, GRU 3, the Elman RNN 1, each of (D·H + H² + H) — plus torch's second bias."""
    Dx, Hx = 128, 256
    block = Dx * Hx + Hx * Hx + Hx
    extra_bias = Hx  # torch (and seqlab) store b as bias_ih + bias_hh: one more H per block

    def count(m):
        return sum(p.numel() for p in m.parameters())

    assert count(ElmanRNN(Dx, Hx)) == 1 * (block + extra_bias)
    assert count(LSTM(Dx, Hx)) == 4 * (block + extra_bias)
    assert count(GRU(Dx, Hx)) == 3 * (block + extra_bias)
    assert count(LSTM(Dx, Hx, coupled=True)) == 3 * (block + extra_bias)  # no input gate
    assert count(LSTM(Dx, Hx, peephole=True)) == 4 * (block + extra_bias) + 3 * Hx
    assert count(torch.nn.LSTM(Dx, Hx)) == count(LSTM(Dx, Hx))


def test_lstm_gate_math_on_a_known_case():
    """H=1, all weights zero, biases chosen: every gate value is known in closed form."""
    cell = LSTM(1, 1, forget_bias=0.0)
    with torch.no_grad():
        for p in cell.parameters():
            p.zero_()
        cell.bias_ih.copy_(torch.tensor([0.0, 2.0, 1.0, -1.0]))  # i, f, g, o
    sig = torch.sigmoid
    c_prev = torch.tensor([[0.5]])
    h, s = cell.step(torch.zeros(1, 1), cell.State(torch.zeros(1, 1), c_prev))
    c = sig(torch.tensor(2.0)) * 0.5 + sig(torch.tensor(0.0)) * torch.tanh(torch.tensor(1.0))
    torch.testing.assert_close(s.c, c.reshape(1, 1))
    torch.testing.assert_close(h, (sig(torch.tensor(-1.0)) * torch.tanh(c)).reshape(1, 1))


def test_coupled_lstm_input_gate_is_one_minus_forget():
    cell = LSTM(1, 1, coupled=True, forget_bias=0.0)
    with torch.no_grad():
        for p in cell.parameters():
            p.zero_()
        cell.bias_ih.copy_(torch.tensor([1.5, 0.7, 0.0]))  # f, g, o
    f = torch.sigmoid(torch.tensor(1.5))
    _, s = cell.step(torch.zeros(1, 1), cell.State(torch.zeros(1, 1), torch.full((1, 1), 2.0)))
    torch.testing.assert_close(s.c, (f * 2.0 + (1 - f) * torch.tanh(torch.tensor(0.7))).reshape(1, 1))


def test_gru_conventions_differ_and_chapter_update_maps_to_torch():
    """reset_after changes the function; the chapter's z is 1 − torch's z."""
    a = GRU(D, H, reset_after=True)
    b = GRU(D, H, reset_after=False)
    b.load_state_dict(a.state_dict())
    x, h = torch.randn(B, D), torch.randn(B, H)
    assert not torch.allclose(a.step(x, a.State(h))[0], b.step(x, b.State(h))[0])

    cell = randomize_(GRU(D, H, reset_after=False))
    h_t, _ = cell.step(x, cell.State(h))
    W_ih, W_hh, b_ih, b_hh = cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh
    r = torch.sigmoid(x @ W_ih[:H].T + b_ih[:H] + h @ W_hh[:H].T + b_hh[:H])
    z_torch = torch.sigmoid(x @ W_ih[H : 2 * H].T + b_ih[H : 2 * H] + h @ W_hh[H : 2 * H].T + b_hh[H : 2 * H])
    h_tilde = torch.tanh(x @ W_ih[2 * H :].T + b_ih[2 * H :] + (r * h) @ W_hh[2 * H :].T + b_hh[2 * H :])
    z_chapter = 1 - z_torch
    torch.testing.assert_close(h_t, (1 - z_chapter) * h + z_chapter * h_tilde)


def test_elman_output_layer_and_relu():
    cell = ElmanRNN(D, H, nonlinearity="relu", output_size=2)
    x, h = torch.randn(B, D), torch.randn(B, H)
    y, s = cell.step(x, cell.State(h))
    h_t = torch.relu(x @ cell.weight_ih.T + h @ cell.weight_hh.T + cell.bias_ih + cell.bias_hh)
    torch.testing.assert_close(s.h, h_t)
    torch.testing.assert_close(y, cell.output(h_t))
    assert y.shape == (B, 2)


def test_layer_norm_lstm_forget_bias_lives_in_the_gate_norm_shift():
    cell = LSTM(D, H, layer_norm=True, forget_bias=2.0)
    assert cell.bias_ih is None
    assert torch.all(cell.ln_gate_bias[1] == 2.0) and torch.all(cell.ln_gate_bias[[0, 2, 3]] == 0)


def test_recurrence_options_lists_defaults():
    opts = recurrence_options("lstm")
    assert opts == {
        "peephole": False,
        "coupled": False,
        "layer_norm": False,
        "forget_bias": 1.0,
        "proj_size": 0,
    }
    assert recurrence_options("gru") == {"reset_after": True}


@pytest.mark.parametrize("batch", [1, 3])
def test_lstm_streaming_inference_step_equals_reference(batch):
    """The no-grad per-token path (stacked weights, split product at B=1) is the same function."""
    cell = randomize_(LSTM(D, H))
    x_t = torch.randn(batch, D)
    state = cell.State(torch.randn(batch, H), torch.randn(batch, H))
    with torch.inference_mode():
        h_fast, s_fast = cell.step(x_t, state)
    h_ref, s_ref = cell.reference_step(x_t, state)
    torch.testing.assert_close(h_fast, h_ref)
    torch.testing.assert_close(tuple(s_fast), tuple(s_ref))


def test_lstm_streaming_cache_follows_weight_updates_and_dtype():
    cell = randomize_(LSTM(D, H))
    x_t, state = torch.randn(1, D), cell.initial_state(1)
    with torch.no_grad():
        cell.step(x_t, state)  # fills the cache
        cell.bias_hh.add_(0.5)  # an optimizer-style in-place update
        torch.testing.assert_close(cell.step(x_t, state)[0], cell.reference_step(x_t, state)[0])
        cell.double()
        state64 = cell.initial_state(1)
        h, _ = cell.step(x_t.double(), state64)
        assert h.dtype == torch.float64
        torch.testing.assert_close(h, cell.reference_step(x_t.double(), state64)[0])
