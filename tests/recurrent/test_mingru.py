"""minGRU / minLSTM: fast paths == the equations, lengths, state, streaming, gradcheck, minGRU-pytorch."""

from __future__ import annotations

import pytest
import torch

from seqlab.recurrent.mingru import MinGRU, MinGRUState, MinLSTM, MinLSTMState, g, log_g

from .conftest import LENGTHS, B, D, H, T, randomize_

CLASSES = [MinGRU, MinLSTM]
# (options): every configuration; each scan runs the same function
CONFIGS = [
    {},
    {"scan": "sequential"},
    {"scan": "chunked"},
    {"positive": True},
    {"positive": True, "scan": "log"},
    {"positive": True, "scan": "chunked", "bias": False},
    {"output_size": 3},
    {"positive": True, "scan": "log", "output_size": 3},
]
CASES = [(cls, options) for cls in CLASSES for options in CONFIGS]


def case_id(case) -> str:
    cls, options = case
    return cls.__name__ + "".join(f"-{k}={v}" for k, v in options.items())


def build(case, dtype=torch.float32):
    cls, options = case
    return randomize_(cls(D, H, **options)).to(dtype)


def random_state(layer, batch_size: int = B, dtype=torch.float32):
    """A non-zero state; positive when the layer keeps its states positive."""
    h = torch.randn(batch_size, H, dtype=dtype)
    return layer.State(h.abs() + 0.1 if layer.positive else h)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_fast_path_matches_reference_with_lengths_and_state(case):
    layer = build(case)
    x = torch.randn(B, T, D)
    state = random_state(layer)
    out, final = layer(x, state, lengths=LENGTHS)
    ref_out, ref_final = layer.forward_reference(x, state, lengths=LENGTHS)
    assert out.shape == (B, T, layer.output_size) and isinstance(final, layer.State)
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(final.h, ref_final.h, atol=1e-5, rtol=1e-5)
    assert torch.all(out[2, 1:] == 0)  # past the length-1 sequence's only step
    torch.testing.assert_close(final.h[2], layer.step(x[2:3, 0], layer.State(state.h[2:3]))[1].h[0])


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_chunked_streaming_equals_one_pass(case):
    layer = build(case)
    x = torch.randn(B, T, D)
    state = random_state(layer)
    out, final = layer(x, state)
    parts, s = [], state
    for k0, k1 in ((0, 2), (2, 3), (3, T)):
        o, s = layer(x[:, k0:k1], s)
        parts.append(o)
    torch.testing.assert_close(torch.cat(parts, dim=1), out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(s.h, final.h, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_step_loop_equals_forward(case):
    layer = build(case)
    x = torch.randn(B, T, D)
    state = s = random_state(layer)
    steps = []
    for x_t in x.unbind(1):
        h_t, s = layer.step(x_t, s)
        steps.append(h_t)
    out, final = layer(x, state)
    torch.testing.assert_close(torch.stack(steps, dim=1), out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(s.h, final.h, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_step_equals_reference_step(case):
    layer = build(case)
    x_t, state = torch.randn(B, D), random_state(layer)
    h_fast, s_fast = layer.step(x_t, state)
    h_ref, s_ref = layer.reference_step(x_t, state)
    torch.testing.assert_close(h_fast, h_ref)
    torch.testing.assert_close(s_fast.h, s_ref.h)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_gradcheck_float64(case):
    layer = build(case, torch.float64)
    x = torch.randn(2, 4, D, dtype=torch.float64, requires_grad=True)
    h0 = random_state(layer, 2, torch.float64).h.requires_grad_()
    lengths = torch.tensor([4, 2])

    def f(x, h0):
        out, final = layer(x, layer.State(h0), lengths)
        return out, final.h

    assert torch.autograd.gradcheck(f, (x, h0))


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("scan", ["sequential", "chunked", "log"])
def test_weight_gradients_equal_the_references(cls, scan):
    layer = randomize_(cls(D, H, positive=True, scan=scan)).double()
    x = torch.randn(B, T, D, dtype=torch.float64)
    state = random_state(layer, dtype=torch.float64)
    weight = torch.randn(B, T, H, dtype=torch.float64)
    params = list(layer.parameters())
    got = torch.autograd.grad((layer(x, state, LENGTHS)[0] * weight).sum(), params)
    expected = torch.autograd.grad((layer.forward_reference(x, state, LENGTHS)[0] * weight).sum(), params)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


def test_mingru_on_a_known_case():
    """H = D = 1, W = 0: z = σ(b_z), h̃ = b_h; from h_0 the state moves towards h̃ by a share z each step."""
    layer = MinGRU(1, 1)
    with torch.no_grad():
        layer.weight_ih.zero_()
        layer.bias_ih.copy_(torch.tensor([0.0, 3.0]))  # z = 1/2, h̃ = 3
    out, final = layer(torch.zeros(1, 3, 1), MinGRUState(torch.ones(1, 1)))
    torch.testing.assert_close(out[0, :, 0], torch.tensor([2.0, 2.5, 2.75]))  # 3 − 2·2^{−t}
    assert isinstance(final, MinGRUState)


def test_minlstm_gates_are_normalised():
    """f' = f/(f + i): with f = σ(0) = 1/2 and i = σ(ln 3) = 3/4, f' = 2/5 and i' = 3/5."""
    layer = MinLSTM(1, 1)
    with torch.no_grad():
        layer.weight_ih.zero_()
        layer.bias_ih.copy_(torch.tensor([torch.tensor(3.0).log().item(), 0.0, 10.0]))  # i, f, h̃
    out, _ = layer(torch.zeros(1, 1, 1), MinLSTMState(torch.full((1, 1), 5.0)))
    torch.testing.assert_close(out[0, 0, 0], torch.tensor(0.4 * 5.0 + 0.6 * 10.0))


def test_minlstm_saturated_gates_stay_finite():
    """Both gates underflow to 0 in float32: f/(f + i) is 0/0, the fast path's σ(u) form is not."""
    layer = MinLSTM(1, 1)
    with torch.no_grad():
        layer.weight_ih.zero_()
        layer.bias_ih.copy_(torch.tensor([-200.0, -190.0, 1.0]))  # i, f, h̃
    out, _ = layer(torch.zeros(1, 2, 1), MinLSTMState(torch.ones(1, 1)))
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, torch.ones(1, 2, 1))  # f' ≈ 1: the state is kept


def test_positive_map_g():
    x = torch.linspace(-30, 5, 101, dtype=torch.float64)
    assert torch.all(g(x) > 0)
    torch.testing.assert_close(log_g(x), g(x).log())
    torch.testing.assert_close(
        g(torch.tensor([0.0, 2.0, -1.0])), torch.tensor([0.5, 2.5, torch.sigmoid(torch.tensor(-1.0))])
    )


def test_positive_layer_keeps_states_positive():
    layer = randomize_(MinGRU(D, H, positive=True), scale=3.0)
    out, final = layer(torch.randn(B, T, D) * 5)
    assert torch.all(out > 0) and torch.all(final.h > 0)


def test_parameter_counts_and_options():
    def count(m):
        return sum(p.numel() for p in m.parameters())

    assert count(MinGRU(D, H)) == 2 * (D * H + H)
    assert count(MinLSTM(D, H)) == 3 * (D * H + H)
    assert count(MinGRU(D, H, bias=False, output_size=3)) == 2 * D * H + H * 3
    layer = MinGRU(D, H, positive=True, scan="log", output_size=3)
    assert layer.output_size == 3 and layer.state_sizes() == (H,)
    assert "positive=True" in repr(layer) and "scan='log'" in repr(layer)
    assert layer.fast_path == "one matmul + linear scan (log)"


# ------------------------------------------------------------------------------------------ minGRU-pytorch
@pytest.mark.parametrize("expansion_factor", [1.0, 1.5])
@pytest.mark.parametrize("scan", ["log", "auto"])
def test_reproduces_mingru_pytorch(expansion_factor, scan):
    mingru_pytorch = pytest.importorskip("minGRU_pytorch")
    theirs = mingru_pytorch.minGRU(8, expansion_factor=expansion_factor)
    ours = MinGRU.from_mingru_pytorch(theirs, scan=scan)
    x = torch.randn(2, 9, 8)
    expected, prev_hidden = theirs(x, return_next_prev_hidden=True)
    out, state = ours(x)
    tol = {"atol": 0.0, "rtol": 0.0} if scan == "log" else {"atol": 1e-5, "rtol": 1e-5}
    torch.testing.assert_close(out, expected, **tol)
    torch.testing.assert_close(state.h, prev_hidden[:, 0], **tol)
    # from their (positive) state, in parallel and one step at a time
    torch.testing.assert_close(ours(x, state)[0], theirs(x, prev_hidden=prev_hidden), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.step(x[:, 0], state)[0], theirs(x[:, :1], prev_hidden=prev_hidden)[:, 0])


def test_reproduces_minlstm_of_mingru_pytorch():
    mingru_pytorch = pytest.importorskip("minGRU_pytorch")
    from minGRU_pytorch.minLSTM import minLSTM

    theirs = minLSTM(8)
    ours = MinLSTM.from_mingru_pytorch(theirs)
    x = torch.randn(2, 9, 8)
    torch.testing.assert_close(ours(x)[0], theirs(x), atol=0.0, rtol=0.0)
    assert mingru_pytorch is not None


def test_from_mingru_pytorch_rejects_other_modules():
    with pytest.raises(ValueError, match=r"expected a minGRU_pytorch minGRU .*got Linear"):
        MinGRU.from_mingru_pytorch(torch.nn.Linear(3, 4))


# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("cls", CLASSES)
def test_bad_input(cls):
    name = cls.__name__
    layer = cls(D, H)
    with pytest.raises(ValueError, match=rf"{name}: expected at least one time step"):
        layer(torch.randn(B, 0, D))
    with pytest.raises(ValueError, match=rf"{name}: expected input of shape \(B, T, {D}\)"):
        layer(torch.randn(B, T, D + 1))
    with pytest.raises(
        ValueError, match=rf"{name}: expected state.h of shape \({B}, {H}\), got \({B}, {H + 1}\)"
    ):
        layer(torch.randn(B, T, D), layer.State(torch.zeros(B, H + 1)))
    other = MinLSTMState if cls is MinGRU else MinGRUState
    with pytest.raises(
        ValueError, match=rf"{name}: expected a state {cls.State.__name__}.*got a {other.__name__}"
    ):
        layer(torch.randn(B, T, D), other(torch.zeros(B, H)))


@pytest.mark.parametrize("cls", CLASSES)
def test_bad_options(cls):
    name = cls.__name__
    with pytest.raises(
        ValueError, match=rf"{name}: unknown scan 'fast'; known: auto, sequential, chunked, log"
    ):
        cls(D, H, scan="fast")
    with pytest.raises(ValueError, match=rf"{name}: scan='log' .* needs every h̃_t > 0; pass positive=True"):
        cls(D, H, scan="log")
    with pytest.raises(ValueError, match=rf"{name}: expected hidden_size to be a positive integer, got 0"):
        cls(D, 0)
    with pytest.raises(ValueError, match=rf"{name}: expected output_size to be a positive integer, got -1"):
        cls(D, H, output_size=-1)
