"""ln_lstm_sequence (hand-written BPTT) against the autograd loop over LSTM(layer_norm=True)._cell."""

from __future__ import annotations

import pytest
import torch

from seqlab.recurrent.ln_lstm_bptt import ln_lstm_sequence
from seqlab.recurrent.lstm import LN_EPS, LSTM, LSTMState

TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


def make(B: int, T: int, H: int, dtype: torch.dtype, seed: int = 0):
    """A layer-norm LSTM with γ ≠ 1, β ≠ 0 (so every LN term matters), its gx and a non-zero state."""
    torch.manual_seed(seed)
    lstm = LSTM(5, H, layer_norm=True).to(dtype)
    with torch.no_grad():
        for p in (lstm.ln_gate_weight, lstm.ln_gate_bias, lstm.ln_cell_weight, lstm.ln_cell_bias):
            p.add_(0.5 * torch.randn_like(p))
    gx = torch.randn(B, T, 4 * H, dtype=dtype, requires_grad=True)
    h0 = torch.randn(B, H, dtype=dtype, requires_grad=True)
    c0 = torch.randn(B, H, dtype=dtype, requires_grad=True)
    return lstm, gx, h0, c0


def params(lstm: LSTM) -> tuple[torch.Tensor, ...]:
    return (lstm.weight_hh, lstm.ln_gate_weight, lstm.ln_gate_bias, lstm.ln_cell_weight, lstm.ln_cell_bias)


def fast(lstm: LSTM, gx: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor):
    return ln_lstm_sequence(gx, h0, c0, *params(lstm), LN_EPS)


def reference(lstm: LSTM, gx: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor):
    """The autograd loop; hs from ``_loop`` itself, every c_t from the same ``_cell`` steps."""
    hs, final = lstm._loop(lstm._cell, gx, LSTMState(h0, c0), None)
    state, cs = LSTMState(h0, c0), []
    for gx_t in gx.unbind(1):
        _, state = lstm._cell(gx_t, state)
        cs.append(state.c)
    cs = torch.stack(cs, dim=1)  # (B, T, H)
    torch.testing.assert_close(cs[:, -1], final.c, rtol=0, atol=0)
    return hs, cs


def grads(loss: torch.Tensor, lstm: LSTM, gx, h0, c0):
    return torch.autograd.grad(loss, (gx, h0, c0, *params(lstm)))


def assert_all_close(got, expected, tol: float) -> None:
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(("B", "T", "H"), [(2, 1, 3), (3, 6, 4), (1, 9, 2)])
def test_matches_autograd_loop(dtype: torch.dtype, B: int, T: int, H: int) -> None:
    lstm, gx, h0, c0 = make(B, T, H, dtype)
    w_h, w_c = torch.randn(B, T, H, dtype=dtype), torch.randn(B, T, H, dtype=dtype)  # into every h_t, c_t
    hs, cs = fast(lstm, gx, h0, c0)
    ref_hs, ref_cs = reference(lstm, gx, h0, c0)
    assert hs.shape == cs.shape == (B, T, H)
    assert_all_close((hs, cs), (ref_hs, ref_cs), TOL[dtype])
    got = grads((hs * w_h).sum() + (cs * w_c).sum(), lstm, gx, h0, c0)
    expected = grads((ref_hs * w_h).sum() + (ref_cs * w_c).sum(), lstm, gx, h0, c0)
    assert_all_close(got, expected, TOL[dtype])


@pytest.mark.parametrize("output", [0, 1])  # 0: h_t only (no gradient reaches cs), 1: c_t only
def test_gradient_into_a_middle_step_only(output: int) -> None:
    B, T, H = 2, 7, 3
    lstm, gx, h0, c0 = make(B, T, H, torch.float64, seed=1)
    t = 3
    got = grads(fast(lstm, gx, h0, c0)[output][:, t].sum(), lstm, gx, h0, c0)
    expected = grads(reference(lstm, gx, h0, c0)[output][:, t].sum(), lstm, gx, h0, c0)
    assert_all_close(got, expected, 1e-10)
    assert torch.all(got[0][:, t + 1 :] == 0)  # later inputs cannot affect step t
    assert torch.any(got[0][:, t] != 0)


def test_gradcheck_float64() -> None:
    lstm, gx, h0, c0 = make(2, 3, 3, torch.float64, seed=2)
    leaves = [p.detach().clone().requires_grad_() for p in params(lstm)]

    def both(*args):
        return ln_lstm_sequence(*args, LN_EPS)

    assert torch.autograd.gradcheck(both, (gx, h0, c0, *leaves))


def test_inputs_without_grad_get_none() -> None:
    lstm, gx, h0, c0 = make(2, 4, 3, torch.float64)
    for p in params(lstm):
        p.requires_grad_(False)
    hs, _ = ln_lstm_sequence(gx, h0.detach(), c0.detach(), *params(lstm), LN_EPS)
    (d_gx,) = torch.autograd.grad(hs.sum(), (gx,))
    assert d_gx.shape == gx.shape


def test_no_grad_path_matches() -> None:
    lstm, gx, h0, c0 = make(3, 5, 4, torch.float64)
    hs, cs = fast(lstm, gx, h0, c0)
    with torch.no_grad():
        hs_ng, cs_ng = fast(lstm, gx, h0, c0)
    assert not hs_ng.requires_grad
    assert_all_close((hs_ng, cs_ng), (hs, cs), 0.0)


def test_module_forward_matches_reference_with_lengths() -> None:
    torch.manual_seed(3)
    lstm = LSTM(5, 4, layer_norm=True).double()
    x = torch.randn(3, 6, 5, dtype=torch.float64)
    lengths = torch.tensor([6, 2, 4])
    out, state = lstm(x, lengths=lengths)
    ref_out, ref_state = lstm.forward_reference(x, lengths=lengths)
    assert_all_close((out, *state), (ref_out, *ref_state), 1e-10)


def test_double_backward_raises() -> None:
    lstm, gx, h0, c0 = make(2, 3, 2, torch.float64)
    hs, _ = fast(lstm, gx, h0, c0)
    (d_gx,) = torch.autograd.grad(hs.square().sum(), (gx,), create_graph=True)
    with pytest.raises(RuntimeError, match="differentiate twice"):
        d_gx.sum().backward()


@pytest.mark.parametrize(
    ("gx_shape", "h_shape", "match"),
    [
        ((2, 3, 12), (2, 4, 1), r"expected gx \(B, T≥1, 4H\)"),
        ((2, 3, 15), (2, 4), r"with one B and H"),
        ((2, 3, 16), (3, 4), r"with one B and H"),
        ((2, 0, 16), (2, 4), r"with one B and H"),
    ],
)
def test_bad_shapes(gx_shape, h_shape, match: str) -> None:
    H = 4
    ln = (torch.ones(4, H), torch.zeros(4, H), torch.ones(H), torch.zeros(H))
    with pytest.raises(ValueError, match=match):
        ln_lstm_sequence(
            torch.zeros(gx_shape),
            torch.zeros(h_shape),
            torch.zeros(h_shape),
            torch.zeros(4 * H, H),
            *ln,
            LN_EPS,
        )


def test_mixed_dtypes_rejected() -> None:
    H = 4
    ln = (torch.ones(4, H), torch.zeros(4, H), torch.ones(H), torch.zeros(H))
    with pytest.raises(ValueError, match="share one dtype and device"):
        ln_lstm_sequence(
            torch.zeros(2, 3, 4 * H),
            torch.zeros(2, H, dtype=torch.float64),
            torch.zeros(2, H),
            torch.zeros(4 * H, H),
            *ln,
            LN_EPS,
        )
