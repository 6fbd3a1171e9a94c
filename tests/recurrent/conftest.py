"""Shared cases for the recurrent tests: every recurrence and variant, at tiny sizes."""

from __future__ import annotations

import pytest
import torch

B, T, D, H = 3, 6, 4, 5
LENGTHS = torch.tensor([4, 6, 1])  # unsorted, with a length-1 sequence

# (recurrence, options): every configuration the core supports. The first group runs on torch's
# fused kernels, the second on hand-written BPTT, the last on the autograd loop.
FUSED = [
    ("rnn", {}),
    ("rnn", {"nonlinearity": "relu"}),
    ("lstm", {}),
    ("lstm", {"forget_bias": 0.0}),
    ("lstm", {"proj_size": 3}),
    ("gru", {}),
]
VARIANTS = [
    ("rnn", {"output_size": 3}),
    ("lstm", {"peephole": True}),
    ("lstm", {"coupled": True}),
    ("lstm", {"peephole": True, "coupled": True}),
    ("lstm", {"layer_norm": True}),
    ("lstm", {"layer_norm": True, "peephole": True, "coupled": True}),
    ("lstm", {"peephole": True, "proj_size": 3}),
    ("gru", {"reset_after": False}),
]
# The recurrent revival: linear recurrences (minGRU, minLSTM, Mamba's selective SSM), RWKV's WKV, xLSTM.
MODERN = [
    ("mingru", {}),
    ("mingru", {"positive": True, "scan": "log"}),
    ("minlstm", {}),
    ("mamba", {"d_state": 3, "d_conv": 3, "expand": 2}),
    ("rwkv", {}),
    ("mlstm", {"num_heads": 1, "form": "parallel"}),
    ("mlstm", {"num_heads": 1, "form": "chunkwise", "chunk_size": 4}),
    ("slstm", {"num_heads": 5}),
]
ALL = FUSED + VARIANTS + MODERN


def case_id(case: tuple[str, dict]) -> str:
    name, options = case
    return name + "".join(f"-{k}={v}" for k, v in options.items())


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def random_fields(state, requires_grad: bool = False) -> tuple[torch.Tensor, ...]:
    """Random values shaped like the fields of ``state``, ones some history could have produced: RWKV's
    denominator b is a sum of positive terms, so it is drawn positive."""
    fields = []
    for name, t in zip(type(state)._fields, state):
        value = torch.rand_like(t) + 0.5 if type(state).__name__ == "RWKVState" and name == "b" else None
        value = torch.randn_like(t) if value is None else value
        fields.append(value.requires_grad_(requires_grad))
    return tuple(fields)


def randomize_(module: torch.nn.Module, scale: float = 0.5) -> torch.nn.Module:
    """Non-trivial parameters everywhere (LN gains ≠ 1, peepholes ≠ 0), so every term matters."""
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-scale, scale).add_(torch.randn_like(p) * 0.1)
    return module
