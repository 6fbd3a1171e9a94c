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
ALL = FUSED + VARIANTS


def case_id(case: tuple[str, dict]) -> str:
    name, options = case
    return name + "".join(f"-{k}={v}" for k, v in options.items())


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def randomize_(module: torch.nn.Module, scale: float = 0.5) -> torch.nn.Module:
    """Non-trivial parameters everywhere (LN gains ≠ 1, peepholes ≠ 0), so every term matters."""
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-scale, scale).add_(torch.randn_like(p) * 0.1)
    return module
