"""Stacks of every recurrence: fast path == reference loop == torch.nn, streaming, padding."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqlab.recurrent import BiState, Recurrent

from .conftest import ALL, FUSED, LENGTHS, B, D, H, T, case_id, random_fields, randomize_

LAYOUTS = [(1, False), (2, False), (1, True), (2, True)]
CLOSE = {"atol": 1e-5, "rtol": 1e-5}


def run_and_grad(fn, module: nn.Module, x: torch.Tensor, state, lengths):
    """Outputs, flattened final state, and gradients of a loss touching outputs and final state."""
    out, final = fn(x, state, lengths)
    flat = flatten_state(final)
    weights = torch.linspace(-1, 1, out.shape[-1])
    loss = (out * weights).sum() + sum((s * (i + 1)).sum() * 0.1 for i, s in enumerate(flat))
    leaves = [x, *flatten_state(state), *module.parameters()]
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    return out, flat, [g if g is not None else torch.zeros_like(leaf) for g, leaf in zip(grads, leaves)]


def flatten_state(state) -> list[torch.Tensor]:
    out = []
    for layer in state:
        for direction in layer if isinstance(layer, BiState) else (layer,):
            out.extend(direction)
    return out


def random_state(stack: Recurrent, batch_size: int):
    def noisy(s):
        return type(s)(*random_fields(s, requires_grad=True))

    return tuple(
        BiState(*(noisy(d) for d in layer)) if isinstance(layer, BiState) else noisy(layer)
        for layer in stack.initial_state(batch_size)
    )


@pytest.mark.parametrize("case", ALL, ids=case_id)
@pytest.mark.parametrize("num_layers,bidirectional", LAYOUTS)
@pytest.mark.parametrize("with_lengths", [False, True])
def test_fast_path_matches_reference(case, num_layers, bidirectional, with_lengths):
    name, options = case
    stack = randomize_(
        Recurrent(name, D, H, num_layers=num_layers, bidirectional=bidirectional, options=options)
    )
    x = torch.randn(B, T, D, requires_grad=True)
    state = random_state(stack, B)
    lengths = LENGTHS if with_lengths else None
    fast = run_and_grad(stack.forward, stack, x, state, lengths)
    ref = run_and_grad(stack.forward_reference, stack, x, state, lengths)
    # Exponential gates (sLSTM) amplify float32 rounding through two layers; float64 gradcheck is exact.
    close = {"atol": 1e-4, "rtol": 1e-4} if name == "slstm" else CLOSE
    torch.testing.assert_close(fast[0], ref[0], **close)
    for a, b in zip(fast[1], ref[1]):
        torch.testing.assert_close(a, b, **close)
    for a, b in zip(fast[2], ref[2]):
        torch.testing.assert_close(a, b, **close)


def torch_module(name: str, options: dict, num_layers: int, bidirectional: bool) -> nn.RNNBase:
    kwargs = {"num_layers": num_layers, "bidirectional": bidirectional, "batch_first": True}
    if name == "lstm":
        return nn.LSTM(D, H, proj_size=options.get("proj_size", 0), **kwargs)
    if name == "gru":
        return nn.GRU(D, H, **kwargs)
    return nn.RNN(D, H, nonlinearity=options.get("nonlinearity", "tanh"), **kwargs)


@pytest.mark.parametrize("case", FUSED, ids=case_id)
@pytest.mark.parametrize("num_layers,bidirectional", LAYOUTS)
@pytest.mark.parametrize("with_lengths", [False, True])
def test_matches_torch_nn(case, num_layers, bidirectional, with_lengths):
    """Same weights → same outputs, final states and weight gradients as torch.nn, on both our paths."""
    name, options = case
    ref = torch_module(name, options, num_layers, bidirectional)
    stack = Recurrent.from_torch(ref)
    x = torch.randn(B, T, D)
    lengths = LENGTHS if with_lengths else None

    if lengths is None:
        ref_out, ref_state = ref(x)
    else:
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        ref_out, ref_state = ref(packed)
        ref_out, _ = nn.utils.rnn.pad_packed_sequence(ref_out, batch_first=True, total_length=T)
    ref_state = ref_state if isinstance(ref_state, tuple) else (ref_state,)
    (ref_out * torch.linspace(-1, 1, ref_out.shape[-1])).sum().backward()
    ref_grads = {k: p.grad for k, p in ref.named_parameters()}

    for fn in (stack.forward, stack.forward_reference):
        stack.zero_grad()
        out, state = fn(x, lengths=lengths)
        torch.testing.assert_close(out, ref_out, **CLOSE)
        # torch stacks (layer, direction) on one axis; seqlab keeps them apart
        per_cell = [d for layer in state for d in (layer if isinstance(layer, BiState) else (layer,))]
        for field, ref_field in enumerate(ref_state):
            torch.testing.assert_close(torch.stack([s[field] for s in per_cell]), ref_field, **CLOSE)
        (out * torch.linspace(-1, 1, out.shape[-1])).sum().backward()
        grads = {k: p.grad for k, p in _torch_named_params(stack).items()}
        for key, g in ref_grads.items():
            torch.testing.assert_close(grads[key], g, **CLOSE)


def _torch_named_params(stack: Recurrent) -> dict[str, nn.Parameter]:
    out = {}
    for k, directions in enumerate(stack.layers):
        for d, cell in enumerate(directions):
            for name, p in cell.named_parameters():
                out[f"{name}_l{k}" + ("_reverse" if d else "")] = p
    return out


@pytest.mark.parametrize("case", ALL, ids=case_id)
@pytest.mark.parametrize("num_layers", [1, 2])
def test_streaming_chunks_and_steps_equal_one_pass(case, num_layers):
    name, options = case
    stack = randomize_(Recurrent(name, D, H, num_layers=num_layers, options=options)).double()
    x = torch.randn(B, 11, D, dtype=torch.float64)
    full, full_state = stack(x)

    state, chunks = None, []
    for piece in x.split([1, 3, 2, 5], dim=1):  # uneven chunks
        out, state = stack(piece, state)
        chunks.append(out)
    torch.testing.assert_close(torch.cat(chunks, dim=1), full)
    torch.testing.assert_close(flatten_state(state), flatten_state(full_state))

    state, steps = None, []
    for x_t in x.unbind(1):
        h_t, state = stack.step(x_t, state)
        steps.append(h_t)
    torch.testing.assert_close(torch.stack(steps, dim=1), full)
    torch.testing.assert_close(flatten_state(state), flatten_state(full_state))


@pytest.mark.parametrize("case", ALL, ids=case_id)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_does_not_change_valid_outputs(case, bidirectional):
    """A padded batch gives, per sequence, exactly what that sequence gives alone."""
    name, options = case
    stack = randomize_(
        Recurrent(name, D, H, num_layers=2, bidirectional=bidirectional, options=options)
    ).double()
    x = torch.randn(B, T, D, dtype=torch.float64)
    mask = torch.arange(T)[None, :] < LENGTHS[:, None]
    x = torch.where(mask[:, :, None], x, torch.full_like(x, 1e3))  # garbage in the padding
    for fn in (stack.forward, stack.forward_reference):
        out, state = fn(x, lengths=LENGTHS)
        assert torch.all(out[~mask] == 0), "padded steps must output zeros"
        for b, n in enumerate(LENGTHS.tolist()):
            alone, alone_state = fn(x[b : b + 1, :n])
            torch.testing.assert_close(out[b : b + 1, :n], alone)
            torch.testing.assert_close(
                [s[b : b + 1] for s in flatten_state(state)], flatten_state(alone_state)
            )


def test_bidirectional_backward_starts_at_each_sequences_last_step():
    """The backward direction's first output at t = len−1 sees only x_{len−1}."""
    stack = Recurrent("gru", D, H, bidirectional=True).double()
    x = torch.randn(B, T, D, dtype=torch.float64)
    out, _ = stack(x, lengths=LENGTHS)
    backward_cell = stack.layers[0][1]
    for b, n in enumerate(LENGTHS.tolist()):
        h_last, _ = backward_cell.step(x[b : b + 1, n - 1])
        torch.testing.assert_close(out[b, n - 1, H:], h_last[0])


def test_dropout_between_layers_only_in_training():
    stack = Recurrent("lstm", D, H, num_layers=2, dropout=0.5)
    x = torch.randn(B, T, D)
    stack.eval()
    a, _ = stack(x)
    b, _ = stack.forward_reference(x)
    torch.testing.assert_close(a, b, **CLOSE)
    stack.train()
    c, _ = stack(x)
    assert not torch.allclose(a, c), "dropout had no effect in training mode"


def test_torch_state_dict_round_trip():
    ref = nn.LSTM(D, H, num_layers=2, bidirectional=True, proj_size=2, batch_first=True)
    stack = Recurrent.from_torch(ref)
    back = stack.to_torch()
    for key, value in ref.state_dict().items():
        assert torch.equal(back.state_dict()[key], value), key
    x = torch.randn(B, T, D)
    torch.testing.assert_close(back(x)[0], ref(x)[0], atol=0, rtol=0)


def test_forget_bias_zero_reproduces_torch_init():
    torch.manual_seed(1)
    ours = Recurrent("lstm", D, H, num_layers=2, options={"forget_bias": 0.0})
    torch.manual_seed(1)
    ref = nn.LSTM(D, H, num_layers=2)
    for key, value in ref.state_dict().items():
        assert torch.equal(ours.torch_state_dict()[key], value), key

    torch.manual_seed(1)
    ours = Recurrent("lstm", D, H, num_layers=2)  # default forget_bias=1.0
    delta = ours.torch_state_dict()["bias_ih_l0"] - ref.state_dict()["bias_ih_l0"]
    expected = torch.zeros(4 * H)
    expected[H : 2 * H] = 1.0  # only the forget block (gate order i, f, g, o)
    torch.testing.assert_close(delta, expected)


@pytest.mark.parametrize("name", ["lstm", "gru", "rnn"])
def test_fused_path_is_taken_for_standard_configurations(name, monkeypatch):
    import seqlab.recurrent.stack as stack_module

    calls = []
    real = stack_module.fused_rnn
    monkeypatch.setattr(stack_module, "fused_rnn", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    stack = Recurrent(name, D, H, num_layers=2, bidirectional=True)
    stack(torch.randn(B, T, D), lengths=LENGTHS)
    assert calls == [{"rnn": "rnn_tanh"}.get(name, name)], "expected one fused call for the whole stack"
