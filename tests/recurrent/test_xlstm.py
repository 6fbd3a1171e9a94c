"""xLSTM's mLSTM and sLSTM: every form against the reference loop and the paper's unstabilised equations,
streaming, gradcheck, long sequences, and bad input."""

from __future__ import annotations

import math

import pytest
import torch
from torch.func import functional_call

from seqlab.recurrent import LSTM
from seqlab.recurrent.xlstm import MLSTM, SLSTM

from .conftest import randomize_

B, T, D, H, HEADS = 3, 7, 4, 4, 2
LENGTHS = torch.tensor([4, 7, 1])  # unsorted, with a length-1 sequence
MLSTM_FORMS = [("recurrent", 64), ("parallel", 64), ("chunkwise", 3), ("chunkwise", 64), ("auto", 2)]
# (class, options): the configurations under test; every mLSTM one runs in every form.
CASES = [
    (MLSTM, {}),
    (MLSTM, {"head_norm": False}),
    (MLSTM, {"forget_gate": "exp"}),
    (SLSTM, {}),
    (SLSTM, {"forget_gate": "exp"}),
]


def case_id(case) -> str:
    cls, options = case
    return cls.__name__ + "".join(f"-{k}={v}" for k, v in options.items())


def build(cls, options, form=None, chunk_size=64, dtype=torch.float64):
    if form is not None:
        options = {**options, "form": form, "chunk_size": chunk_size}
    return randomize_(cls(D, H, num_heads=HEADS, **options)).to(dtype)


def random_state(cell, batch_size, dtype=torch.float64):
    """A non-zero state; the sLSTM's normaliser n stays positive, as it is after any step."""
    fields = [torch.randn(batch_size, *_shape(n), dtype=dtype) for n in cell.state_sizes()]
    if isinstance(cell, SLSTM):
        fields[2] = torch.rand(batch_size, H, dtype=dtype) + 0.5
    return cell.State(*fields)


def _shape(n):
    return (n,) if isinstance(n, int) else n


FORM_CASES = [
    (cls, options, form, chunk)
    for cls, options in CASES
    for form, chunk in (MLSTM_FORMS if cls is MLSTM else [(None, 64)])
]


def form_case_id(case) -> str:
    cls, options, form, chunk = case
    name = case_id((cls, options))
    return name if form is None else f"{name}-{form}" + (f"{chunk}" if form == "chunkwise" else "")


def assert_same(a, b, tol=1e-10, msg=None):
    torch.testing.assert_close(a, b, atol=tol, rtol=tol, msg=msg)


# ----------------------------------------------------------------------------------- fast == reference
@pytest.mark.parametrize("case", FORM_CASES, ids=form_case_id)
def test_forward_matches_reference_with_lengths_and_state(case):
    cls, options, form, chunk = case
    cell = build(cls, options, form, chunk)
    x = torch.randn(B, T, D, dtype=torch.float64)
    state = random_state(cell, B)
    out, final = cell(x, state, LENGTHS)
    ref_out, ref_final = cell.forward_reference(x, state, LENGTHS)
    assert out.shape == (B, T, H)
    assert isinstance(final, cell.State)
    assert_same(out, ref_out)
    assert_same(tuple(final), tuple(ref_final))
    assert torch.all(out[2, 1:] == 0) and torch.all(out[0, 4:] == 0)  # padded steps output zeros


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_step_equals_reference_step(case):
    cell = build(*case)
    state = random_state(cell, B)
    x_t = torch.randn(B, D, dtype=torch.float64)
    h_fast, s_fast = cell.step(x_t, state)
    h_ref, s_ref = cell.reference_step(x_t, state)
    assert isinstance(s_fast, cell.State)
    assert_same(h_fast, h_ref)
    assert_same(tuple(s_fast), tuple(s_ref))


@pytest.mark.parametrize("case", FORM_CASES, ids=form_case_id)
def test_step_loop_equals_forward(case):
    cls, options, form, chunk = case
    cell = build(cls, options, form, chunk)
    x = torch.randn(B, T, D, dtype=torch.float64)
    state = random_state(cell, B)
    out, final = cell(x, state)
    s, hs = state, []
    for x_t in x.unbind(1):
        h_t, s = cell.step(x_t, s)
        hs.append(h_t)
    assert_same(torch.stack(hs, dim=1), out)
    assert_same(tuple(s), tuple(final))


@pytest.mark.parametrize("case", FORM_CASES, ids=form_case_id)
def test_chunked_streaming_equals_one_pass(case):
    cls, options, form, chunk = case
    cell = build(cls, options, form, chunk)
    x = torch.randn(B, T, D, dtype=torch.float64)
    state = random_state(cell, B)
    out, final = cell(x, state)
    out1, s = cell(x[:, :3], state)
    out2, s = cell(x[:, 3:], s)
    assert_same(torch.cat([out1, out2], dim=1), out)
    assert_same(tuple(s), tuple(final))


# ----------------------------------------------------------------------------------- the mLSTM's forms
@pytest.mark.parametrize("options", [{}, {"forget_gate": "exp"}], ids=["sigmoid", "exp"])
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
def test_mlstm_forms_agree_in_value_and_gradient(options, lengths):
    """parallel == chunkwise (chunk sizes that do and do not divide T, and ≥ T) == recurrent, and so are
    the gradients with respect to the input, the start state and every parameter."""
    x = torch.randn(B, T, D, dtype=torch.float64)
    base = build(MLSTM, options)
    state = random_state(base, B)
    results = []
    for form, chunk in [("recurrent", 64), ("parallel", 64)] + [("chunkwise", c) for c in (1, 2, 3, 5, 7, 9)]:
        cell = build(MLSTM, options, form, chunk)
        cell.load_state_dict(base.state_dict())
        x_ = x.clone().requires_grad_()
        state_ = tuple(s.clone().requires_grad_() for s in state)
        out, final = cell(x_, cell.State(*state_), lengths)
        loss = (out * torch.linspace(-1, 1, H, dtype=torch.float64)).sum() + sum(f.sum() for f in final)
        loss.backward()
        grads = [x_.grad, *(s.grad for s in state_), *(p.grad for p in cell.parameters())]
        results.append((f"{form}{chunk}", out, tuple(final), grads))
    _, out0, final0, grads0 = results[0]
    for name, out, final, grads in results[1:]:
        assert_same(out, out0, msg=name)
        assert_same(final, final0, msg=name)
        for g, g0 in zip(grads, grads0):
            assert_same(g, g0, msg=name)


def test_mlstm_auto_form_follows_the_length():
    cell = MLSTM(D, H, num_heads=HEADS, chunk_size=16)
    assert cell.form_for(8) == "parallel"
    assert cell.form_for(4096) == "chunkwise"
    cell.form = "recurrent"
    assert cell.form_for(8) == "recurrent" and cell.fast_path == "recurrent"


@pytest.mark.parametrize("form", ["recurrent", "parallel", "chunkwise"])
def test_mlstm_exponential_input_gate_is_stabilised(form):
    """ĩ ≈ 200 would overflow exp() even in float64 without the stabiliser m_t."""
    cell = build(MLSTM, {}, form, chunk_size=3, dtype=torch.float32)
    with torch.no_grad():
        cell.bias_ih[4 * H : 4 * H + HEADS] = 200.0  # b_i
    x = torch.randn(B, T, D)
    out, final = cell(x, lengths=LENGTHS)
    ref_out, ref_final = cell.forward_reference(x, lengths=LENGTHS)
    assert torch.isfinite(out).all() and all(torch.isfinite(s).all() for s in final)
    torch.testing.assert_close(out, ref_out, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(tuple(final), tuple(ref_final), atol=1e-4, rtol=1e-4)


# ----------------------------------------------------------------------------------- the paper's equations
def test_mlstm_matches_the_papers_unstabilised_equations():
    """The paper's C̄_t = f_t C̄_{t-1} + i_t v_t k_tᵀ, h̃_t = C̄_t q_t / max(|n̄_tᵀ q_t|, 1), i_t = exp(ĩ_t),
    f_t = σ(f̃_t), from a zero state: no stabiliser, so moderate gates only."""
    cell = build(MLSTM, {"head_norm": False})
    x = torch.randn(2, 5, D, dtype=torch.float64)
    out, final = cell(x)
    d = H // HEADS
    W_q, W_k, W_v, W_o, w_i, w_f = cell.weight_ih.split((H, H, H, H, HEADS, HEADS))
    b_q, b_k, b_v, b_o, b_i, b_f = cell.bias_ih.split((H, H, H, H, HEADS, HEADS))
    C = torch.zeros(2, HEADS, d, d, dtype=torch.float64)  # C̄ as v kᵀ (d_v × d_k), the paper's layout
    n = torch.zeros(2, HEADS, d, dtype=torch.float64)
    for t in range(5):
        x_t = x[:, t]
        q = (x_t @ W_q.T + b_q).view(2, HEADS, d)
        k = (x_t @ W_k.T + b_k).view(2, HEADS, d) / math.sqrt(d)
        v = (x_t @ W_v.T + b_v).view(2, HEADS, d)
        i = torch.exp(x_t @ w_i.T + b_i)[..., None]
        f = torch.sigmoid(x_t @ w_f.T + b_f)[..., None]
        C = f[..., None] * C + i[..., None] * v[..., :, None] * k[..., None, :]
        n = f * n + i * k
        h_tilde = (C @ q[..., None])[..., 0] / torch.clamp((n * q).sum(-1).abs(), min=1.0)[..., None]
        h = torch.sigmoid(x_t @ W_o.T + b_o) * h_tilde.flatten(1)
        assert_same(out[:, t], h)
    scale = torch.exp(final.m)  # stored values are the paper's times exp(−m)
    assert_same(final.C.transpose(-1, -2) * scale[..., None, None], C)
    assert_same(final.n * scale[..., None], n)


def test_mlstm_known_one_step_answer():
    """Zero weights, chosen biases, zero state: h = σ(b_o) · (q·k) v / max(|q·k|, 1) with i = e^0 = 1."""
    cell = MLSTM(2, 2, num_heads=1, head_norm=False)
    with torch.no_grad():
        cell.weight_ih.zero_()
        cell.bias_ih.copy_(torch.tensor([1.0, 2.0, 0.5, 1.0, 3.0, -1.0, 0.5, 0.0, 0.0, 2.0]))
    q, k, v = torch.tensor([1.0, 2.0]), torch.tensor([0.5, 1.0]) / math.sqrt(2), torch.tensor([3.0, -1.0])
    h, _ = cell.step(torch.zeros(1, 2))
    qk = (q @ k).item()
    expected = torch.sigmoid(torch.tensor([0.5, 0.0])) * qk * v / max(abs(qk), 1.0)
    torch.testing.assert_close(h[0], expected)


def test_slstm_matches_the_papers_unstabilised_equations():
    """c̄_t = f_t c̄_{t-1} + i_t z_t, n̄_t = f_t n̄_{t-1} + i_t, h_t = o_t c̄_t / n̄_t, i_t = exp(ĩ_t)."""
    cell = build(SLSTM, {})
    x = torch.randn(2, 5, D, dtype=torch.float64)
    out, final = cell(x)
    W, R, b = cell.weight_ih, cell.recurrent_matrix(), cell.bias
    h, c, n = (torch.zeros(2, H, dtype=torch.float64) for _ in range(3))
    for t in range(5):
        i_pre, f_pre, z_pre, o_pre = (x[:, t] @ W.T + h @ R.T + b).split(H, dim=-1)
        i, f = torch.exp(i_pre), torch.sigmoid(f_pre)
        c = f * c + i * torch.tanh(z_pre)
        n = f * n + i
        h = torch.sigmoid(o_pre) * c / n
        assert_same(out[:, t], h)
    assert_same(final.c * torch.exp(final.m), c)
    assert_same(final.n * torch.exp(final.m), n)


def test_slstm_recurrent_weights_are_block_diagonal_per_head():
    """With one unit per head, h_{t-1}'s unit 0 reaches only unit 0's gates."""
    cell = randomize_(SLSTM(D, H, num_heads=H)).double()
    R = cell.recurrent_matrix()
    assert R.shape == (4 * H, H)
    off_block = ~torch.eye(H, dtype=torch.bool).repeat(4, 1)
    assert torch.all(R[off_block] == 0)
    x_t, state = torch.randn(B, D, dtype=torch.float64), random_state(cell, B)
    h1, _ = cell.step(x_t, state)
    h2, _ = cell.step(x_t, state._replace(h=state.h + torch.eye(H, dtype=torch.float64)[0]))
    assert torch.all(h1[:, 1:] == h2[:, 1:]) and not torch.allclose(h1[:, 0], h2[:, 0])


# ----------------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("case", FORM_CASES, ids=form_case_id)
def test_gradcheck_float64_input_state_and_weights(case):
    cls, options, form, chunk = case
    torch.manual_seed(1)
    cell = build(cls, options, form, chunk)  # B=2, T=5, D=4, H=4, 2 heads below
    x = torch.randn(2, 5, D, dtype=torch.float64, requires_grad=True)
    state = tuple(s.requires_grad_() for s in random_state(cell, 2))
    names = [name for name, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in cell.parameters()]
    lengths = torch.tensor([5, 2])

    def f(x, *rest):
        state_, weights = rest[: len(state)], rest[len(state) :]
        out, final = functional_call(cell, dict(zip(names, weights)), (x, cell.State(*state_), lengths))
        return (out, *final)

    assert torch.autograd.gradcheck(f, (x, *state, *params))


@pytest.mark.slow
@pytest.mark.parametrize(
    "cls,form",
    [(MLSTM, "chunkwise"), (MLSTM, "recurrent"), (SLSTM, None)],
    ids=["mlstm-chunkwise", "mlstm-recurrent", "slstm"],
)
def test_gradients_finite_on_long_sequences(cls, form):
    cell = cls(4, 4, num_heads=2, **({} if form is None else {"form": form}))
    x = torch.randn(2, 4096, 4, requires_grad=True)
    out, final = cell(x, lengths=torch.tensor([4096, 3000]))
    (out.sum() + sum(s.sum() for s in final)).backward()
    assert torch.isfinite(out).all()
    assert torch.isfinite(x.grad).all() and x.grad[:, 0].abs().sum() > 0  # reaches the first step
    assert all(torch.isfinite(p.grad).all() for p in cell.parameters())


# ----------------------------------------------------------------------------------- init and options
def test_init_follows_the_official_code():
    m = MLSTM(8, 8, num_heads=4)
    w_i, w_f = m.weight_ih[32:36], m.weight_ih[36:]
    assert torch.all(w_i == 0) and torch.all(w_f == 0)
    torch.testing.assert_close(m.bias_ih[36:], torch.linspace(3.0, 6.0, 4))
    assert torch.all(m.bias_ih[:32] == 0) and torch.all(m.norm_weight == 1)
    s = SLSTM(8, 8, num_heads=2)
    assert torch.all(s.weight_hh == 0)
    torch.testing.assert_close(s.bias[8:16], torch.linspace(3.0, 6.0, 4).repeat(2))
    assert torch.all(s.bias[:8] == 0) and torch.all(s.bias[16:] == 0)


def test_state_sizes_and_initial_state():
    m = MLSTM(D, 8, num_heads=2)
    assert m.state_sizes() == ((2, 4, 4), (2, 4), (2,))
    state = m.initial_state(3)
    assert [tuple(s.shape) for s in state] == [(3, 2, 4, 4), (3, 2, 4), (3, 2)]
    assert SLSTM(D, 8, num_heads=2).state_sizes() == (8, 8, 8, 8)
    assert MLSTM(D, 8, num_heads=2, head_norm=False).norm_weight is None
    assert "form='chunkwise'" in repr(MLSTM(D, 8, num_heads=2, form="chunkwise"))


def test_forget_gate_variants_differ():
    x = torch.randn(B, T, D)
    for cls in (MLSTM, SLSTM):
        a = randomize_(cls(D, H, num_heads=HEADS))
        b = cls(D, H, num_heads=HEADS, forget_gate="exp")
        b.load_state_dict(a.state_dict())
        assert not torch.allclose(a(x)[0], b(x)[0])


def test_float32_forms_agree_on_a_realistic_width():
    cell = MLSTM(16, 32, num_heads=4)
    x = torch.randn(2, 150, 16)
    outs = []
    for form in ("recurrent", "parallel", "chunkwise", "auto"):  # auto: chunkwise at T=150
        cell.form = form
        outs.append(cell(x, lengths=torch.tensor([150, 77])))
    for out, final in outs[1:]:
        torch.testing.assert_close(out, outs[0][0], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(tuple(final), tuple(outs[0][1]), atol=1e-5, rtol=1e-4)


# ----------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("cls", [MLSTM, SLSTM])
def test_heads_must_divide_the_width(cls):
    with pytest.raises(ValueError, match=r"num_heads=3 does not divide hidden_size=8.*\[1, 2, 4, 8\]"):
        cls(D, 8, num_heads=3)
    with pytest.raises(ValueError, match=r"expected num_heads to be a positive integer, got 0"):
        cls(D, 8, num_heads=0)


@pytest.mark.parametrize("cls", [MLSTM, SLSTM])
def test_unknown_forget_gate(cls):
    with pytest.raises(ValueError, match=r"unknown forget_gate 'tanh'; known: sigmoid, exp"):
        cls(D, H, num_heads=HEADS, forget_gate="tanh")


def test_unknown_form_and_bad_chunk_size():
    with pytest.raises(ValueError, match=r"unknown form 'scan'; known: auto, parallel, chunkwise, recurrent"):
        MLSTM(D, H, num_heads=HEADS, form="scan")
    cell = MLSTM(D, H, num_heads=HEADS)
    with pytest.raises(ValueError, match=r"unknown form 'quadratic'"):
        cell.form = "quadratic"
    with pytest.raises(ValueError, match=r"expected chunk_size to be a positive integer, got 0"):
        MLSTM(D, H, num_heads=HEADS, chunk_size=0)


@pytest.mark.parametrize("cls", [MLSTM, SLSTM])
def test_another_recurrences_state_is_refused(cls):
    cell = cls(D, H, num_heads=HEADS)
    other = SLSTM(D, H, num_heads=HEADS) if cls is MLSTM else MLSTM(D, H, num_heads=HEADS)
    with pytest.raises(ValueError, match=rf"expected a state {cls.State.__name__}.*the state of another"):
        cell.step(torch.randn(B, D), other.initial_state(B))
    with pytest.raises(ValueError, match=r"the state of another recurrence"):
        cell(torch.randn(B, T, D), LSTM(D, H).initial_state(B))


def test_bad_state_shape_and_empty_input():
    cell = MLSTM(D, H, num_heads=HEADS)
    state = cell.initial_state(B)
    with pytest.raises(ValueError, match=r"expected state.C of shape \(3, 2, 2, 2\), got \(3, 2, 2\)"):
        cell(torch.randn(B, T, D), state._replace(C=torch.zeros(B, 2, 2)))
    for c in (cell, SLSTM(D, H, num_heads=HEADS)):
        with pytest.raises(ValueError, match=r"at least one time step"):
            c(torch.randn(B, 0, D))
        with pytest.raises(ValueError, match=r"expected x_t of shape \(B, 4\), got \(3, 7, 4\)"):
            c.step(torch.randn(B, T, D))
