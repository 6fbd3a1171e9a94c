"""The CPU training path for variable lengths (padded kernel calls between distinct lengths) computes what
torch's packed path computes: outputs, final states and every gradient, for each mode and layout."""

from __future__ import annotations

import pytest
import torch
from torch import _VF

from seqlab.recurrent import fused

CASES = [
    # mode, layers, bidirectional, projection
    ("lstm", 1, False, 0),
    ("lstm", 2, True, 0),
    ("lstm", 2, True, 3),
    ("gru", 2, True, 0),
    ("gru", 1, False, 0),
    ("rnn_tanh", 2, True, 0),
    ("rnn_relu", 1, True, 0),
]


def weights_for(mode: str, D: int, H: int, layers: int, dirs: int, proj: int) -> list[torch.Tensor]:
    gates = {"lstm": 4, "gru": 3}.get(mode, 1)
    out = []
    for layer in range(layers):
        size_in = D if layer == 0 else dirs * (proj or H)
        for _ in range(dirs):
            cell = [torch.randn(gates * H, size_in), torch.randn(gates * H, proj or H)]
            cell += [torch.randn(gates * H), torch.randn(gates * H)]
            if proj:
                cell.append(torch.randn(proj, H))
            out += [(0.3 * w).requires_grad_() for w in cell]
    return out


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize(("mode", "layers", "bidirectional", "proj"), CASES)
@pytest.mark.parametrize("lengths", [[7, 3, 7, 1, 5], [4, 4, 2, 4, 4], [6, 6, 6, 6, 6]])
def test_segments_match_the_packed_path(mode, layers, bidirectional, proj, lengths):
    torch.manual_seed(0)
    B, T, D, H = 5, 7, 4, 6
    dirs = 2 if bidirectional else 1
    kernel = getattr(_VF, mode)
    weights = weights_for(mode, D, H, layers, dirs, proj)
    x = torch.randn(B, T, D, requires_grad=True)
    h0 = torch.randn(layers * dirs, B, proj or H, requires_grad=True)
    c0 = torch.randn(layers * dirs, B, H, requires_grad=True)
    hx = (h0, c0) if mode == "lstm" else h0
    lengths_t = torch.tensor(lengths)
    args = (kernel, mode, x, hx, weights, layers, bidirectional, 0.0, True, lengths_t)
    results = [run(*args) for run in (fused._run_packed, fused._run_segments)]
    leaves = [x, h0, *weights] + ([c0] if mode == "lstm" else [])
    grads = []
    for out, state in results:
        state = state if isinstance(state, tuple) else (state,)
        torch.manual_seed(1)
        loss = (out * torch.randn_like(out)).sum() + sum((s * torch.randn_like(s)).sum() for s in state)
        grads.append(torch.autograd.grad(loss, leaves))
    (out_p, state_p), (out_s, state_s) = results
    torch.testing.assert_close(out_s, out_p, rtol=1e-5, atol=1e-5)
    for a, b in zip(
        state_s if isinstance(state_s, tuple) else (state_s,),
        state_p if isinstance(state_p, tuple) else (state_p,),
    ):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    valid = torch.arange(T)[None, :] < lengths_t[:, None]
    assert (out_s[~valid] == 0).all()  # padded steps are zeros, as pad_packed_sequence gives


def test_segments_are_chosen_for_cpu_training_with_few_distinct_lengths():
    w = [torch.zeros(2, requires_grad=True)]
    x = torch.zeros(3, 40, 2)
    few = torch.tensor([40, 39, 39])
    assert fused._use_segments(x, w, few)
    assert not fused._use_segments(torch.zeros(40, 8, 2), w, torch.arange(1, 9).repeat(5))  # 8 lengths, T 8
    assert fused._use_segments(torch.zeros(40, 100, 2), w, torch.arange(1, 101, 4)[:40])  # 25 ≤ 100 // 3
    with torch.no_grad():
        assert not fused._use_segments(x, w, few)  # inference keeps the packed path
    assert not fused._use_segments(x, [torch.zeros(2)], few)  # nothing needs a gradient
