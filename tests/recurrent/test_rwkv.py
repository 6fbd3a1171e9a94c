"""RWKV-4: parallel WKV == step loop == the WKV definition, streaming, lengths, stability, bad input."""

from __future__ import annotations

import math

import pytest
import torch

from seqlab.recurrent import LSTM
from seqlab.recurrent import rwkv as rwkv_module
from seqlab.recurrent.mamba import Mamba
from seqlab.recurrent.rwkv import RWKV, RWKVState, _wkv_parallel

from .conftest import LENGTHS, B, D, H, T, randomize_


def make(input_size: int = D, hidden_size: int = H, dtype=torch.float64, **options) -> RWKV:
    return randomize_(RWKV(input_size, hidden_size, **options)).to(dtype)


def random_state(cell: RWKV, batch: int, dtype=torch.float64) -> RWKVState:
    """A state some history could have produced: b > 0 (a sum of positive terms), any a and p."""
    x_att, a, p, x_ffn = (torch.randn(batch, cell.hidden_size, dtype=dtype) for _ in range(4))
    b = torch.rand(batch, cell.hidden_size, dtype=dtype) + 0.5
    return RWKVState(x_att, a, b, p, x_ffn)


def assert_states_close(a, b, **tol):
    assert type(a) is type(b)
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, **tol)


@pytest.fixture
def small_wkv_chunks(monkeypatch):
    """Chunks of 2 steps for the parallel running max: exercises the loop across chunks."""
    monkeypatch.setattr(rwkv_module, "WKV_CHUNK", 2)


def naive_wkv(w, u, k, v):
    """The paper's definition, unstabilised (fine in float64 at small sizes): (B, T, H) → (B, T, H)."""
    T_ = k.shape[1]
    out = []
    for t in range(T_):
        i = torch.arange(t, dtype=k.dtype)
        weights = torch.exp((t - 1 - i)[None, :, None] * w + k[:, :t])  # (B, t, H)
        bonus = torch.exp(u + k[:, t])
        out.append(((weights * v[:, :t]).sum(1) + bonus * v[:, t]) / (weights.sum(1) + bonus))
    return torch.stack(out, dim=1)


@pytest.mark.parametrize("input_size", [D, H])  # with and without the input projection
@pytest.mark.parametrize("initial", ["empty", "random"])
@pytest.mark.parametrize("with_lengths", [False, True])
@pytest.mark.parametrize("chunks", ["one", "several"])
def test_forward_matches_reference_float64(input_size, initial, with_lengths, chunks, monkeypatch):
    if chunks == "several":
        monkeypatch.setattr(rwkv_module, "WKV_CHUNK", 2)
    cell = make(input_size)
    x = torch.randn(B, T, input_size, dtype=torch.float64)
    state = random_state(cell, B) if initial == "random" else None
    lengths = LENGTHS if with_lengths else None
    out, final = cell(x, state, lengths)
    ref_out, ref_final = cell.forward_reference(x, state, lengths)
    assert out.shape == (B, T, H)
    torch.testing.assert_close(out, ref_out, rtol=1e-10, atol=1e-12)
    assert_states_close(final, ref_final, rtol=1e-10, atol=1e-12)  # the same p, not just the same a/b
    if with_lengths:
        assert torch.all(out[0, 4:] == 0) and torch.all(out[2, 1:] == 0)
        x_garbage = x.clone()
        x_garbage[0, 4:], x_garbage[2, 1:] = 1e3, -7.0
        out_garbage, final_garbage = cell(x_garbage, state, lengths)
        torch.testing.assert_close(out_garbage, out)
        assert_states_close(final_garbage, final)


@pytest.mark.parametrize("chunk", [1, 3, 64])
def test_parallel_wkv_equals_the_definition(chunk, monkeypatch):
    monkeypatch.setattr(rwkv_module, "WKV_CHUNK", chunk)
    H_ = 5
    w = -torch.exp(torch.randn(H_, dtype=torch.float64))
    u, k, v = torch.randn(H_, dtype=torch.float64), *torch.randn(2, 2, 9, H_, dtype=torch.float64)
    empty = RWKV(H_, H_).double().initial_state(2)
    wkv, a, b, p = _wkv_parallel(w, u, k, v, empty)
    torch.testing.assert_close(wkv, naive_wkv(w, u, k, v))
    # the state holds the sums up to t, scaled by e^{-p_t}; p_t is the largest exponent in them
    t = torch.arange(9, dtype=torch.float64)
    exponent = (t[:, None] - t[None, :])[None, :, :, None] * w + k[:, None, :, :]  # (B, t, i, H)
    exponent = exponent.masked_fill((t[None, :] > t[:, None])[None, :, :, None], -math.inf)
    torch.testing.assert_close(p, exponent.amax(dim=2))
    torch.testing.assert_close(b * torch.exp(p), torch.exp(exponent).sum(2))
    torch.testing.assert_close(a * torch.exp(p), (torch.exp(exponent) * v[:, None]).sum(2))


@pytest.mark.parametrize("split", [1, 2, 3, 5])
@pytest.mark.parametrize("initial", ["empty", "random"])
def test_streaming_in_two_calls_equals_one_pass(split, initial, small_wkv_chunks):
    cell = make()
    x = torch.randn(B, T, D, dtype=torch.float64)
    state = random_state(cell, B) if initial == "random" else None
    out, final = cell(x, state)
    out1, mid = cell(x[:, :split], state)
    out2, final2 = cell(x[:, split:], mid)
    torch.testing.assert_close(torch.cat([out1, out2], dim=1), out)
    assert_states_close(final2, final)


def test_empty_history_is_p_minus_infinity_and_equals_any_empty_sum():
    cell = make()
    empty = cell.initial_state(B)
    assert torch.all(empty.p == -math.inf) and all(torch.all(s == 0) for s in (empty.a, empty.b))
    x = torch.randn(B, T, D, dtype=torch.float64)
    out, _ = cell(x)
    out_p0, _ = cell(x, empty._replace(p=torch.zeros_like(empty.p)))  # a = b = 0: p is irrelevant
    torch.testing.assert_close(out_p0, out)


def test_block_structure_layer_norms_and_residuals():
    """With both mixes' output maps zeroed, the block is the identity on its residual stream."""
    cell = make(hidden_size=H, input_size=H)
    with torch.no_grad():
        cell.output.weight.zero_()
        cell.ffn_value.weight.zero_()
    x = torch.randn(B, T, H, dtype=torch.float64)
    out, state = cell(x)
    torch.testing.assert_close(out, x)
    torch.testing.assert_close(state.x_att, cell.ln1(x[:, -1]))
    torch.testing.assert_close(state.x_ffn, cell.ln2(x[:, -1]))
    projected = make(input_size=D)
    with torch.no_grad():
        projected.output.weight.zero_()
        projected.ffn_value.weight.zero_()
    x = torch.randn(B, T, D, dtype=torch.float64)
    torch.testing.assert_close(projected(x)[0], projected.input_proj(x))


def test_init_follows_rwkv4():
    cell = RWKV(8, 8)
    assert cell.input_proj is None and RWKV(4, 8).input_proj.weight.shape == (8, 4)
    torch.testing.assert_close(cell.time_decay[[0, -1]], torch.tensor([-5.0, 3.0]))
    w = -torch.exp(cell.time_decay)
    assert torch.all(w < 0) and torch.all(w[1:] < w[:-1])  # faster decay further along the channels
    torch.testing.assert_close(cell.time_mix_k, torch.arange(8.0) / 8)
    assert cell.ffn_key.weight.shape == (32, 8) and RWKV(8, 8, ffn_mult=2).ffn_key.weight.shape == (16, 8)


@pytest.mark.parametrize("path", ["fast", "reference", "chunked"])
def test_gradcheck_float64(path, monkeypatch):
    if path == "chunked":
        monkeypatch.setattr(rwkv_module, "WKV_CHUNK", 2)
    cell = make(4, 4, ffn_mult=1)
    x = torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True)
    state = tuple(s.requires_grad_() for s in random_state(cell, 2))
    run = cell.forward_reference if path == "reference" else cell.forward
    lengths = torch.tensor([5, 2])

    def f(x, *state):
        out, final = run(x, cell.State(*state), lengths)
        return (out, *final)

    assert torch.autograd.gradcheck(f, (x, *state))


def test_gradcheck_parameters_from_the_empty_state(small_wkv_chunks):
    cell = make(4, 4, ffn_mult=1)
    names = [name for name, _ in cell.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in cell.parameters())
    x = torch.randn(2, 5, 4, dtype=torch.float64)

    def f(*params):
        out, final = torch.func.functional_call(cell, dict(zip(names, params)), (x,))
        return out, final.a, final.b, final.p

    assert torch.autograd.gradcheck(f, params)


@pytest.mark.slow
def test_long_sequence_stable_and_gradients_finite():
    """T = 4096 with keys far outside exp's range (|k| ≈ 400) and fast and slow decays: the stabilised
    exponent keeps every step finite, and the parallel form still matches the step loop in float32."""
    cell = RWKV(2, 4, ffn_mult=1)
    with torch.no_grad():
        cell.key.weight.mul_(200.0)
        cell.time_decay.copy_(torch.tensor([-6.0, -1.0, 2.0, 5.0]))  # w from −0.0025 to −148
    x = torch.randn(2, 4096, 2, requires_grad=True)
    out, final = cell(x, lengths=torch.tensor([4096, 3000]))
    assert torch.isfinite(out).all() and all(torch.isfinite(s).all() for s in final)
    (out.square().mean() + final.a.sum()).backward()
    assert torch.isfinite(x.grad).all() and all(torch.isfinite(p.grad).all() for p in cell.parameters())
    with torch.no_grad():
        ref_out, ref_final = cell.forward_reference(x[:, :1024])
        fast_out, fast_final = cell(x[:, :1024])
    torch.testing.assert_close(fast_out, ref_out, rtol=1e-4, atol=1e-4)
    # the loop adds w to p once per step (float32 rounding accumulates); the chunked max adds j·w
    torch.testing.assert_close(fast_final.p, ref_final.p, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize(
    "options,match",
    [
        ({"ffn_mult": 0}, r"RWKV: expected ffn_mult to be a positive integer, got 0"),
        ({"ffn_mult": 1.5}, r"expected ffn_mult to be a positive integer, got 1.5"),
    ],
)
def test_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        RWKV(D, H, **options)


def test_bad_input_and_state():
    cell = RWKV(D, H)
    x = torch.randn(B, T, D)
    with pytest.raises(ValueError, match=r"RWKV: expected at least one time step"):
        cell(torch.randn(B, 0, D))
    with pytest.raises(ValueError, match=r"RWKV: expected input of shape \(B, T, 4\), got \(3, 6, 5\)"):
        cell(torch.randn(B, T, D + 1))
    with pytest.raises(ValueError, match=r"expected a state RWKVState.*got a LSTMState .*another recurrence"):
        cell(x, LSTM(D, H).initial_state(B))
    with pytest.raises(ValueError, match=r"expected a state RWKVState.*got a MambaState"):
        cell(x, Mamba(D, H).initial_state(B))
    with pytest.raises(ValueError, match=r"expected state.p of shape \(3, 5\), got \(2, 5\)"):
        cell(x, cell.initial_state(B)._replace(p=torch.zeros(2, H)))
