"""Bad input: each a ValueError that says what was expected and what came."""

from __future__ import annotations

import pytest
import torch

from seqlab.recurrent import LSTM, BiState, Recurrent, build_recurrence, register_recurrence

from .conftest import B, D, H, T


@pytest.fixture(params=["layer", "stack"])
def model(request):
    if request.param == "layer":
        return LSTM(D, H)
    return Recurrent("lstm", D, H, num_layers=2)


@pytest.mark.parametrize(
    "x,match",
    [
        (torch.randn(T, D), r"expected input of shape \(B, T, 4\) .*got rank 2"),
        (torch.randn(B, T, D + 1), r"expected input of shape \(B, T, 4\), got \(3, 6, 5\)"),
        (torch.randn(B, 0, D), r"at least one time step"),
        (torch.randint(0, 5, (B, T, D)), r"floating-point input, got dtype torch.int64"),
    ],
)
def test_bad_input(model, x, match):
    with pytest.raises(ValueError, match=match):
        model(x)


@pytest.mark.parametrize(
    "lengths,match",
    [
        (torch.tensor([[3, 3, 3]]), r"lengths of shape \(3,\).*got shape \(1, 3\)"),
        (torch.tensor([3, 3]), r"lengths of shape \(3,\).*got shape \(2,\)"),
        (torch.tensor([3, 0, 2]), r"every length must be ≥ 1, got a length of 0"),
        (torch.tensor([3, 7, 2]), r"cannot exceed the input's time axis T=6, got a length of 7"),
        (torch.tensor([3.0, 2.0, 1.0]), r"integer lengths, got dtype torch.float32"),
        ([3, 2, 1], r"1-D integer tensor .*got list"),
    ],
)
def test_bad_lengths(model, lengths, match):
    with pytest.raises(ValueError, match=match):
        model(torch.randn(B, T, D), lengths=lengths)


def test_bad_state_for_a_layer():
    cell = LSTM(D, H)
    x = torch.randn(B, T, D)
    with pytest.raises(ValueError, match=r"expected state.c of shape \(3, 5\), got \(2, 5\)"):
        cell(x, cell.State(torch.zeros(B, H), torch.zeros(2, H)))
    with pytest.raises(
        ValueError, match=r"expected a state LSTMState\(h=\(B=3, 5\), c=\(B=3, 5\)\), got a Tensor"
    ):
        cell(x, torch.zeros(B, H))
    with pytest.raises(ValueError, match=r"expected x_t of shape \(B, 4\), got \(3, 6, 4\)"):
        cell.step(x)


def test_bad_state_for_a_stack():
    stack = Recurrent("gru", D, H, num_layers=2, bidirectional=True)
    x = torch.randn(B, T, D)
    good = stack.initial_state(B)
    with pytest.raises(ValueError, match=r"tuple of 2 per-layer BiState"):
        stack(x, good[:1])
    with pytest.raises(ValueError, match=r"state\[1\] to be a BiState"):
        stack(x, (good[0], good[1].forward))
    with pytest.raises(ValueError, match=r"layer 0.*state.h of shape \(3, 5\), got \(3, 4\)"):
        stack(x, (BiState(good[0].forward, type(good[0].backward)(torch.zeros(B, 4))), good[1]))
    with pytest.raises(ValueError, match=r"bidirectional stack cannot run step by step"):
        stack.step(x[:, 0])


def test_bad_state_for_a_streaming_stack():
    stack = Recurrent("lstm", D, H, num_layers=2)
    x_t = torch.randn(B, D)
    good = stack.initial_state(B)
    _, state = stack.step(x_t, good)  # what step returns goes back in
    stack.step(x_t, state)
    with pytest.raises(ValueError, match=r"tuple of 2 per-layer states"):
        stack.step(x_t, good[:1])
    with pytest.raises(ValueError, match=r"layer 1.*state.c of shape \(3, 5\), got \(3, 4\)"):
        stack.step(x_t, (good[0], type(good[1])(good[1].h, torch.zeros(B, 4))))
    with pytest.raises(ValueError, match=r"layer 0.*state.h of shape \(3, 5\), got \(2, 5\)"):
        stack.step(x_t, stack.initial_state(2))
    gru_state = Recurrent("gru", D, H, num_layers=2).initial_state(B)
    with pytest.raises(ValueError, match=r"layer 0.*expected a state LSTMState.*got a GRUState"):
        stack.step(x_t, gru_state)


def test_unknown_recurrence_lists_the_known_ones():
    with pytest.raises(
        ValueError,
        match=r"unknown recurrence 'lstmm'; known: gru, lstm, mamba, mingru, minlstm, mlstm, rnn, rwkv, sl",
    ):
        Recurrent("lstmm", D, H)


def test_unknown_option_lists_the_accepted_ones():
    with pytest.raises(ValueError, match=r"unknown option\(s\) 'peepholes'; it accepts: peephole=False"):
        build_recurrence("lstm", D, H, {"peepholes": True})


@pytest.mark.parametrize("dropout", [-0.1, 1.0, 1.5, True])
def test_dropout_outside_unit_interval(dropout):
    with pytest.raises(ValueError, match=r"expected dropout in \[0, 1\), got"):
        Recurrent("lstm", D, H, num_layers=2, dropout=dropout)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            {"proj_size": H},
            r"proj_size to be 0 \(no projection\) or an integer in \[1, hidden_size=5\), got 5",
        ),
        ({"forget_bias": float("nan")}, r"forget_bias to be a finite number"),
    ],
)
def test_bad_lstm_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LSTM(D, H, **kwargs)


@pytest.mark.parametrize("size", [0, -3, 2.5, True])
def test_bad_sizes(size):
    with pytest.raises(ValueError, match=r"hidden_size to be a positive integer"):
        Recurrent("gru", D, size)


def test_bad_nonlinearity():
    with pytest.raises(ValueError, match=r"unknown nonlinearity 'sigmoid'; known: tanh, relu"):
        build_recurrence("rnn", D, H, {"nonlinearity": "sigmoid"})


def test_register_rejects_non_recurrences_and_clashes():
    with pytest.raises(ValueError, match=r"expected a Recurrence subclass"):
        register_recurrence("linear", torch.nn.Linear)
    with pytest.raises(ValueError, match=r"'lstm' is already registered to LSTM"):
        register_recurrence("lstm", type("Other", (LSTM,), {}))


def test_torch_interop_errors():
    stack = Recurrent("lstm", D, H, options={"peephole": True})
    with pytest.raises(ValueError, match=r"torch has no module for 'lstm' with options \{'peephole': True\}"):
        stack.to_torch()
    plain = Recurrent("lstm", D, H)
    with pytest.raises(ValueError, match=r"missing: \['bias_hh_l0'\]; unexpected: none"):
        plain.load_torch_state_dict({k: v for k, v in plain.torch_state_dict().items() if k != "bias_hh_l0"})


def test_state_of_another_recurrence_is_refused_even_when_shapes_match():
    from seqlab.recurrent import GRU, ElmanRNN, RNNState

    rnn, gru = ElmanRNN(4, 5), GRU(4, 5)
    _, rnn_state = rnn.step(torch.zeros(2, 4))
    assert isinstance(rnn_state, RNNState)
    with pytest.raises(ValueError, match=r"GRU: expected a state GRUState.*got a RNNState"):
        gru.step(torch.zeros(2, 4), rnn_state)
    gru.step(torch.zeros(2, 4), tuple(rnn_state))  # a plain tuple of the right shapes is accepted
