"""GRU (Cho et al. 2014), in both the chapter's and torch/cuDNN's convention.

Equations (one step; torch's gate order r, z, n; ⊙ elementwise)::

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)          # reset gate
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)          # update gate (torch's meaning, see below)

    reset_after=False  (the chapter's and Cho et al.'s form: reset the state, then multiply)
    h̃_t = tanh(W_in x_t + b_in + W_hn (r_t ⊙ h_{t-1}) + b_hn)  # = tanh(W·[r_t ⊙ h_{t-1}, x_t] + b)

    reset_after=True   (torch.nn.GRU and cuDNN: multiply, then reset)
    h̃_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))

    h_t = (1 − z_t) ⊙ h̃_t + z_t ⊙ h_{t-1}                    # torch's update

The chapter writes the update as h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t: its z_t is the share of the
*new* content, torch's z_t the share of the *old* state, so z_chapter = 1 − z_torch — the same family
of functions with the update gate's weights and bias negated. seqlab keeps torch's z_t so weights load
from ``torch.nn.GRU`` both ways and torch's kernels can run them.

``reset_after=True`` lets the recurrent matmul W_h h_{t-1} for all three blocks happen before r_t is
known (one (B, H)×(H, 3H) product per step), which is why cuDNN chose it. The two forms are different
functions; neither's weights can be converted into the other's.

Parameters keep torch's names: ``weight_ih`` (3H, D), ``weight_hh`` (3H, H), ``bias_ih``, ``bias_hh``.

Fast paths: ``reset_after=True`` runs torch's fused GRU kernel; ``reset_after=False`` a hand-written BPTT
(`seqlab.recurrent.gru_bptt`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import Recurrence, check_sizes
from .fused import flatten_for_cudnn

__all__ = ["GRU", "GRUState"]


class GRUState(NamedTuple):
    h: Tensor  # (B, H)


class GRU(Recurrence):
    """One GRU layer.

    Args:
        input_size: D.
        hidden_size: H.
        reset_after: ``True`` (default) for torch/cuDNN's form, ``False`` for the chapter's.
    """

    State = GRUState

    def __init__(self, input_size: int, hidden_size: int, *, reset_after: bool = True) -> None:
        super().__init__()
        check_sizes("GRU", input_size=input_size, hidden_size=hidden_size)
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, hidden_size
        self.reset_after = bool(reset_after)
        H, D = hidden_size, input_size
        self.weight_ih = nn.Parameter(torch.empty(3 * H, D))
        self.weight_hh = nn.Parameter(torch.empty(3 * H, H))
        self.bias_ih = nn.Parameter(torch.empty(3 * H))
        self.bias_hh = nn.Parameter(torch.empty(3 * H))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn.GRU's init: every parameter ~ U(−1/√H, 1/√H)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh):
            nn.init.uniform_(p, -bound, bound)

    def state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size,)

    @property
    def fusable(self) -> bool:
        return self.reset_after

    kernel_mode = "gru"

    @property
    def fast_path(self) -> str:
        return "fused kernel" if self.fusable else "hand-written BPTT"

    def flatten_parameters(self) -> None:
        if self.fusable:
            flatten_for_cudnn(self.kernel_weights(), "gru", self.input_size, self.hidden_size)

    def kernel_weights(self) -> list[Tensor]:
        return [self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh]

    # ------------------------------------------------------------------ the equations
    def _project_input(self, x: Tensor) -> Tensor:
        """Everything that does not depend on h_{t-1}: W_ih x + b_ih + the foldable part of b_hh."""
        H = self.hidden_size
        b_hh = self.bias_hh
        if self.reset_after:  # b_hn sits inside r_t ⊙ (…), so it cannot be folded
            b_hh = torch.cat([b_hh[: 2 * H], torch.zeros_like(b_hh[2 * H :])])
        return F.linear(x, self.weight_ih, self.bias_ih + b_hh)  # (…, 3H)

    def _cell(self, gx_t: Tensor, state: GRUState) -> tuple[Tensor, GRUState]:
        H, h = self.hidden_size, state.h
        W_hrz, W_hn = self.weight_hh[: 2 * H], self.weight_hh[2 * H :]
        gx_rz, gx_n = gx_t[:, : 2 * H], gx_t[:, 2 * H :]
        r_t, z_t = torch.sigmoid(gx_rz + h @ W_hrz.T).chunk(2, dim=-1)
        if self.reset_after:
            h_tilde = torch.tanh(gx_n + r_t * (h @ W_hn.T + self.bias_hh[2 * H :]))
        else:
            h_tilde = torch.tanh(gx_n + (r_t * h) @ W_hn.T)
        h_t = (1.0 - z_t) * h_tilde + z_t * h
        return h_t, GRUState(h_t)

    def reference_step(self, x_t: Tensor, state: GRUState) -> tuple[Tensor, GRUState]:
        return self._cell(self._project_input(x_t), state)

    # ------------------------------------------------------------------ fast paths
    def _step(self, x_t: Tensor, state: GRUState) -> tuple[Tensor, GRUState]:
        if self.reset_after:
            h_t = torch.gru_cell(x_t, state.h, *self.kernel_weights())
            return h_t, GRUState(h_t)
        return self.reference_step(x_t, state)

    def _forward_fast(self, x: Tensor, state: GRUState, lengths: Tensor | None) -> tuple[Tensor, GRUState]:
        if self.fusable:
            return self._forward_kernel(x, state, lengths)
        from .gru_bptt import gru_sequence

        gx = self._project_input(x)  # (B, T, 3H)
        hs = gru_sequence(gx, state.h, self.weight_hh)  # (B, T, H), every step
        return self._finish(hs, (hs,), lengths)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, reset_after={self.reset_after}"
