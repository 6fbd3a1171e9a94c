"""Mamba: parallel scan == step loop == reference maths, streaming, lengths, gradients, bad input."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from seqlab.recurrent import LSTM
from seqlab.recurrent import mamba as mamba_module
from seqlab.recurrent.mamba import Mamba, MambaState

from .conftest import LENGTHS, B, D, H, T, randomize_

OPTIONS = {"d_state": 3, "d_conv": 4, "expand": 2}


def make(input_size: int = D, hidden_size: int = H, dtype=torch.float64, **options) -> Mamba:
    cell = Mamba(input_size, hidden_size, **{**OPTIONS, **options})
    return randomize_(cell).to(dtype)


def random_state(cell: Mamba, batch: int, dtype=torch.float64) -> MambaState:
    return cell.State(*(torch.randn(batch, *size, dtype=dtype) for size in cell.state_sizes()))


def assert_states_close(a, b, **tol):
    assert type(a) is type(b)
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, **tol)


def small_scan_chunks(monkeypatch, elements: int, checkpointed: bool) -> None:
    """Cut the parallel scan into chunks of ``elements`` (B, t, E, N) numbers."""
    monkeypatch.setattr(mamba_module, "SCAN_CHUNK_ELEMENTS", elements)
    monkeypatch.setattr(mamba_module, "CHECKPOINT_ELEMENTS", 0 if checkpointed else 2**40)


@pytest.mark.parametrize("d_conv", [1, 2, 4])
@pytest.mark.parametrize("initial", ["zeros", "random"])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_forward_matches_reference_float64(d_conv, initial, with_lengths):
    cell = make(d_conv=d_conv)
    x = torch.randn(B, T, D, dtype=torch.float64)
    state = random_state(cell, B) if initial == "random" else None
    lengths = LENGTHS if with_lengths else None
    out, final = cell(x, state, lengths)
    ref_out, ref_final = cell.forward_reference(x, state, lengths)
    assert out.shape == (B, T, H)
    torch.testing.assert_close(out, ref_out, rtol=1e-10, atol=1e-12)
    assert_states_close(final, ref_final, rtol=1e-10, atol=1e-12)
    if with_lengths:  # padded steps output zeros, whatever the padding holds
        assert torch.all(out[0, 4:] == 0) and torch.all(out[2, 1:] == 0)
        x_garbage = x.clone()
        x_garbage[0, 4:], x_garbage[2, 1:] = 1e3, -7.0
        out_garbage, final_garbage = cell(x_garbage, state, lengths)
        torch.testing.assert_close(out_garbage, out)
        assert_states_close(final_garbage, final)


@pytest.mark.parametrize("checkpointed", [False, True])
def test_time_chunked_scan_matches_one_block(checkpointed, monkeypatch):
    small_scan_chunks(monkeypatch, 2 * B * 2 * H * 3, checkpointed)  # 2 steps
    cell = make()
    x = torch.randn(B, T, D, dtype=torch.float64)
    state = random_state(cell, B)
    out, final = cell(x, state, LENGTHS)
    ref_out, ref_final = cell.forward_reference(x, state, LENGTHS)
    torch.testing.assert_close(out, ref_out)
    assert_states_close(final, ref_final)


@pytest.mark.parametrize("split", [1, 2, 3, 5])  # 1, 2: inside the conv window (K − 1 = 3)
@pytest.mark.parametrize("initial", ["zeros", "random"])
def test_streaming_in_two_calls_equals_one_pass(split, initial):
    cell = make()
    x = torch.randn(B, T, D, dtype=torch.float64)
    state = random_state(cell, B) if initial == "random" else None
    out, final = cell(x, state)
    out1, mid = cell(x[:, :split], state)
    out2, final2 = cell(x[:, split:], mid)
    torch.testing.assert_close(torch.cat([out1, out2], dim=1), out)
    assert_states_close(final2, final)


def test_streaming_with_lengths_in_the_first_call():
    """A sequence that ended in the first call keeps its state through the padded steps."""
    cell = make()
    x = torch.randn(B, T, D, dtype=torch.float64)
    lengths = torch.tensor([2, 3, 1])
    _, mid = cell(x[:, :3], lengths=lengths)
    _, ref_mid = cell.forward_reference(x[:, :3], lengths=lengths)
    assert_states_close(mid, ref_mid)
    for b, n in enumerate(lengths.tolist()):
        _, alone = cell(x[b : b + 1, :n])
        assert_states_close(MambaState(*(s[b : b + 1] for s in mid)), alone)


def test_matches_the_reference_implementations_maths():
    """An independent transcription of state-spaces/mamba: ``Mamba.forward``'s slow path (conv1d with
    left padding K−1, cut to T) and ``selective_scan_ref`` (deltaA, deltaB_u, x = deltaA·x + deltaB_u)."""
    cell = make(d_state=4, d_conv=3)
    x = torch.randn(2, 9, D, dtype=torch.float64)
    E, N, R, K = cell.d_inner, cell.d_state, cell.dt_rank, cell.d_conv

    xz = (cell.in_proj.weight @ x.reshape(-1, D).T).reshape(2 * E, 2, 9).permute(1, 0, 2)  # (B, 2E, L)
    x_b, z = xz.chunk(2, dim=1)  # (B, E, L)
    x_b = F.silu(F.conv1d(x_b, cell.conv1d.weight, cell.conv1d.bias, padding=K - 1, groups=E)[..., :9])
    x_dbl = cell.x_proj(x_b.transpose(1, 2).reshape(-1, E))
    dt, B_, C_ = torch.split(x_dbl, [R, N, N], dim=-1)
    dt = (cell.dt_proj.weight @ dt.T).reshape(E, 2, 9).permute(1, 0, 2)  # (B, E, L)
    delta = F.softplus(dt + cell.dt_proj.bias[:, None])
    B_ = B_.reshape(2, 9, N).transpose(1, 2)  # (B, N, L)
    C_ = C_.reshape(2, 9, N).transpose(1, 2)
    A = -torch.exp(cell.A_log)
    deltaA = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))
    deltaB_u = torch.einsum("bdl,bnl,bdl->bdln", delta, B_, x_b)
    h = x.new_zeros(2, E, N)
    ys = []
    for i in range(9):
        h = deltaA[:, :, i] * h + deltaB_u[:, :, i]
        ys.append(torch.einsum("bdn,bn->bd", h, C_[:, :, i]))
    y = torch.stack(ys, dim=2) + x_b * cell.D[:, None]  # (B, E, L)
    y = y * F.silu(z)
    expected = cell.out_proj(y.transpose(1, 2))

    out, final = cell(x)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(final.ssm, h)


def test_init_follows_the_paper():
    cell = Mamba(8, 32)  # defaults: d_state 16, d_conv 4, expand 2
    assert cell.d_inner == 64 and cell.dt_rank == 2  # ⌈32/16⌉
    assert cell.state_sizes() == ((64, 3), (64, 16))
    torch.testing.assert_close(-torch.exp(cell.A_log), -torch.arange(1.0, 17.0).expand(64, -1))
    assert torch.all(cell.D == 1)
    dt0 = F.softplus(cell.dt_proj.bias)
    assert dt0.min() >= 1e-3 * (1 - 1e-4) and dt0.max() <= 1e-1 * (1 + 1e-4)
    names = {"in_proj.weight", "conv1d.weight", "conv1d.bias", "x_proj.weight", "dt_proj.weight"}
    names |= {"dt_proj.bias", "A_log", "D", "out_proj.weight"}
    assert set(cell.state_dict()) == names  # mamba_simple.Mamba's names: its weights load as is
    assert cell.x_proj.weight.shape == (2 + 2 * 16, 64) and cell.in_proj.weight.shape == (128, 8)


def test_padded_steps_keep_the_state_delta_zero():
    """Δ → 0 leaves h unchanged (Ā = 1, B̄ = 0): what the parallel form does at padded steps."""
    cell = make()
    with torch.no_grad():
        cell.dt_proj.bias.fill_(-60.0)  # softplus(−60) ≈ 1e-26
        cell.dt_proj.weight.zero_()
    state = random_state(cell, B)
    _, new = cell.step(torch.randn(B, D, dtype=torch.float64), state)
    torch.testing.assert_close(new.ssm, state.ssm)


@pytest.mark.parametrize("path", ["fast", "reference", "time-chunked"])
def test_gradcheck_float64(path, monkeypatch):
    if path == "time-chunked":
        small_scan_chunks(monkeypatch, 2 * 2 * 8 * 3, checkpointed=True)  # 2 steps
    cell = make(4, 4, d_state=3)
    x = torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True)
    state = tuple(s.requires_grad_() for s in random_state(cell, 2))
    run = cell.forward_reference if path == "reference" else cell.forward
    lengths = torch.tensor([5, 2])

    def f(x, *state):
        out, final = run(x, cell.State(*state), lengths)
        return (out, *final)

    assert torch.autograd.gradcheck(f, (x, *state))


@pytest.mark.slow
def test_gradcheck_parameters_through_the_time_chunked_scan(monkeypatch):
    small_scan_chunks(monkeypatch, 2 * 2 * 8 * 3, checkpointed=True)
    cell = make(4, 4, d_state=3)
    names = [name for name, _ in cell.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in cell.parameters())
    x = torch.randn(2, 5, 4, dtype=torch.float64)

    def f(*params):
        out, final = torch.func.functional_call(cell, dict(zip(names, params)), (x,))
        return out, final.ssm

    assert torch.autograd.gradcheck(f, params)


@pytest.mark.slow
def test_gradients_finite_on_a_long_sequence(monkeypatch):
    monkeypatch.setattr(mamba_module, "SCAN_CHUNK_ELEMENTS", 2 * 4 * 2 * 512)  # 8 chunks of 512 steps
    monkeypatch.setattr(mamba_module, "CHECKPOINT_ELEMENTS", 0)  # checkpointed
    cell = Mamba(2, 4, d_state=2, expand=1).float()
    x = torch.randn(2, 4096, 2, requires_grad=True)
    out, final = cell(x, lengths=torch.tensor([4096, 3000]))
    (out.square().mean() + final.ssm.sum()).backward()
    assert torch.isfinite(out).all() and torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in cell.parameters())
    assert x.grad[:, :100].abs().sum() > 0


def test_float32_module_and_state_dtype():
    cell = Mamba(D, H, d_state=3)
    out, state = cell(torch.randn(B, T, D))
    assert out.dtype == torch.float32 and state.ssm.dtype == torch.float32
    assert cell.initial_state(2).conv.shape == (2, 2 * H, 3)


@pytest.mark.parametrize(
    "options,match",
    [
        ({"d_state": 0}, r"Mamba: expected d_state to be a positive integer, got 0"),
        ({"d_conv": 2.5}, r"expected d_conv to be a positive integer, got 2.5"),
        ({"expand": True}, r"expected expand to be a positive integer, got True"),
        ({"dt_rank": -1}, r"expected dt_rank to be a positive integer, got -1"),
        ({"dt_min": 0.0}, r"expected dt_min to be a positive finite number, got 0.0"),
        ({"dt_max": math.inf}, r"expected dt_max to be a positive finite number, got inf"),
        ({"dt_min": 0.2, "dt_max": 0.1}, r"expected dt_min ≤ dt_max .* got dt_min=0.2 > dt_max=0.1"),
    ],
)
def test_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        Mamba(D, H, **options)


def test_bad_input_and_state():
    cell = Mamba(D, H, d_state=3)
    x = torch.randn(B, T, D)
    with pytest.raises(ValueError, match=r"Mamba: expected at least one time step"):
        cell(torch.randn(B, 0, D))
    with pytest.raises(
        ValueError, match=r"expected a state MambaState.*got a LSTMState .*another recurrence"
    ):
        cell(x, LSTM(D, H).initial_state(B))
    bad = cell.initial_state(B)._replace(conv=torch.zeros(B, 2 * H, 4))
    with pytest.raises(ValueError, match=r"expected state.conv of shape \(3, 10, 3\), got \(3, 10, 4\)"):
        cell(x, bad)
    with pytest.raises(ValueError, match=r"expected x_t of shape \(B, 4\), got \(3, 5\)"):
        cell.step(torch.randn(B, 5))
