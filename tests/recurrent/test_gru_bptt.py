"""gru_sequence (hand-written BPTT) against the autograd loop over GRU(reset_after=False)._cell."""

from __future__ import annotations

import pytest
import torch

from seqlab.recurrent.gru import GRU, GRUState
from seqlab.recurrent.gru_bptt import gru_sequence

TOL = {torch.float64: 1e-12, torch.float32: 1e-5}


def make(B: int, T: int, H: int, dtype: torch.dtype, seed: int = 0):
    torch.manual_seed(seed)
    gru = GRU(5, H, reset_after=False).to(dtype)
    gx = torch.randn(B, T, 3 * H, dtype=dtype, requires_grad=True)
    h0 = torch.randn(B, H, dtype=dtype, requires_grad=True)
    return gru, gx, h0


def reference(gru: GRU, gx: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    hs, _ = gru._loop(gru._cell, gx, GRUState(h0), None)
    return hs  # (B, T, H)


def grads(loss: torch.Tensor, gru: GRU, gx: torch.Tensor, h0: torch.Tensor):
    return torch.autograd.grad(loss, (gx, h0, gru.weight_hh))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(("B", "T", "H"), [(2, 1, 3), (3, 6, 4), (1, 9, 2)])
def test_matches_autograd_loop(dtype: torch.dtype, B: int, T: int, H: int) -> None:
    gru, gx, h0 = make(B, T, H, dtype)
    weights = torch.randn(B, T, H, dtype=dtype)  # gradient flows into every h_t
    expected = reference(gru, gx, h0)
    got = gru_sequence(gx, h0, gru.weight_hh)
    assert got.shape == (B, T, H)
    torch.testing.assert_close(got, expected, rtol=TOL[dtype], atol=TOL[dtype])
    got_grads = grads((got * weights).sum(), gru, gx, h0)
    for g, e in zip(got_grads, grads((expected * weights).sum(), gru, gx, h0), strict=True):
        torch.testing.assert_close(g, e, rtol=TOL[dtype], atol=TOL[dtype])


def test_gradient_into_a_middle_step_only() -> None:
    B, T, H = 2, 7, 3
    gru, gx, h0 = make(B, T, H, torch.float64, seed=1)
    t = 3
    got = grads(gru_sequence(gx, h0, gru.weight_hh)[:, t].sum(), gru, gx, h0)
    expected = grads(reference(gru, gx, h0)[:, t].sum(), gru, gx, h0)
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-12, atol=1e-12)
    assert torch.all(got[0][:, t + 1 :] == 0)  # later inputs cannot affect h_t
    assert torch.any(got[0][:, t] != 0)


def test_gradcheck_float64() -> None:
    _, gx, h0 = make(2, 3, 2, torch.float64, seed=2)
    weight_hh = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(gru_sequence, (gx, h0, weight_hh))


def test_inputs_without_grad_get_none() -> None:
    gru, gx, h0 = make(2, 4, 3, torch.float64)
    gru.weight_hh.requires_grad_(False)
    hs = gru_sequence(gx, h0.detach(), gru.weight_hh)
    (d_gx,) = torch.autograd.grad(hs.sum(), (gx,))
    assert d_gx.shape == gx.shape


def test_module_forward_matches_reference_with_lengths() -> None:
    torch.manual_seed(3)
    gru = GRU(5, 4, reset_after=False).double()
    x = torch.randn(3, 6, 5, dtype=torch.float64)
    lengths = torch.tensor([6, 2, 4])
    out, state = gru(x, lengths=lengths)
    ref_out, ref_state = gru.forward_reference(x, lengths=lengths)
    torch.testing.assert_close(out, ref_out, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(state.h, ref_state.h, rtol=1e-12, atol=1e-12)


def test_double_backward_raises() -> None:
    gru, gx, h0 = make(2, 3, 2, torch.float64)
    loss = gru_sequence(gx, h0, gru.weight_hh).square().sum()  # its δh depends on h, so needs a graph
    (d_gx,) = torch.autograd.grad(loss, (gx,), create_graph=True)
    with pytest.raises(RuntimeError, match="differentiate twice"):
        d_gx.sum().backward()


@pytest.mark.parametrize(
    ("gx_shape", "h0_shape", "w_shape", "match"),
    [
        ((2, 3, 12), (2, 4), (12, 4, 1), r"expected gx \(B, T, 3H\)"),
        ((2, 3, 11), (2, 4), (12, 4), r"with one B and H"),
        ((2, 3, 12), (3, 4), (12, 4), r"with one B and H"),
        ((2, 0, 12), (2, 4), (12, 4), r"T≥1"),
    ],
)
def test_bad_shapes(gx_shape, h0_shape, w_shape, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        gru_sequence(torch.zeros(gx_shape), torch.zeros(h0_shape), torch.zeros(w_shape))


def test_mixed_dtypes_rejected() -> None:
    with pytest.raises(ValueError, match="share one dtype and device"):
        gru_sequence(torch.zeros(2, 3, 12), torch.zeros(2, 4, dtype=torch.float64), torch.zeros(12, 4))
