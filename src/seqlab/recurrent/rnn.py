"""Elman RNN (Elman 1990), the simple recurrent network.

Equations (one step; x_t ∈ R^D, h_t ∈ R^H)::

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)          # nonlinearity="tanh" (or relu)
    y_t = W_hy h_t + b_y                               # optional output layer (output_size=...)

Parameters keep torch's names and layout so weights load from ``torch.nn.RNN`` both ways:
``weight_ih`` = W_xh (H, D), ``weight_hh`` = W_hh (H, H), and the bias b_h is stored as two vectors,
``bias_ih + bias_hh`` (torch's convention; their sum is the b_h of the equation).

The same h_{t-1} ↦ h_t map, applied T times, gives the BPTT product Π_t ∂h_t/∂h_{t-1} =
Π_t diag(1 − h_t²) W_hh — the vanishing/exploding gradient of the chapter when W_hh's spectral
radius is below/above 1.

Fast path: torch's fused ``rnn_tanh``/``rnn_relu`` kernel on these parameters (oneDNN/cuDNN); the
per-token ``step`` uses torch's fused cell op.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor, nn

from .base import Recurrence, check_sizes, mask_from_lengths
from .fused import flatten_for_cudnn

__all__ = ["ElmanRNN", "RNNState"]

NONLINEARITIES = ("tanh", "relu")


class RNNState(NamedTuple):
    h: Tensor  # (B, H)


class ElmanRNN(Recurrence):
    """One Elman RNN layer.

    Args:
        input_size: D, features per step.
        hidden_size: H.
        nonlinearity: ``"tanh"`` (default) or ``"relu"``.
        output_size: if given, add the output layer y_t = W_hy h_t + b_y and return y_t as the
            layer's output (the state stays h_t).
    """

    State = RNNState

    def __init__(
        self, input_size: int, hidden_size: int, *, nonlinearity: str = "tanh", output_size: int | None = None
    ) -> None:
        super().__init__()
        check_sizes("ElmanRNN", input_size=input_size, hidden_size=hidden_size)
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(
                f"ElmanRNN: unknown nonlinearity {nonlinearity!r}; known: {', '.join(NONLINEARITIES)}"
            )
        if output_size is not None:
            check_sizes("ElmanRNN", output_size=output_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.nonlinearity = nonlinearity
        self.output_size = hidden_size if output_size is None else output_size
        H, D = hidden_size, input_size
        self.weight_ih = nn.Parameter(torch.empty(H, D))  # W_xh
        self.weight_hh = nn.Parameter(torch.empty(H, H))  # W_hh
        self.bias_ih = nn.Parameter(torch.empty(H))
        self.bias_hh = nn.Parameter(torch.empty(H))
        self.output = None if output_size is None else nn.Linear(H, output_size)  # W_hy, b_y
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn.RNN's init: every recurrent parameter ~ U(−1/√H, 1/√H)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh):
            nn.init.uniform_(p, -bound, bound)
        if self.output is not None:
            self.output.reset_parameters()

    def state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size,)

    @property
    def fusable(self) -> bool:
        """True when torch's fused kernel computes exactly this layer (always, for the Elman RNN)."""
        return self.output is None

    @property
    def fast_path(self) -> str:
        return "fused kernel" if self.fusable else "fused kernel + output layer"

    @property
    def kernel_mode(self) -> str:
        return f"rnn_{self.nonlinearity}"

    def flatten_parameters(self) -> None:
        flatten_for_cudnn(self.kernel_weights(), self.kernel_mode, self.input_size, self.hidden_size)

    def kernel_weights(self) -> list[Tensor]:
        return [self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh]

    def _phi(self, a: Tensor) -> Tensor:
        return torch.tanh(a) if self.nonlinearity == "tanh" else torch.relu(a)

    def reference_step(self, x_t: Tensor, state: RNNState) -> tuple[Tensor, RNNState]:
        W_xh, W_hh, b_h = self.weight_ih, self.weight_hh, self.bias_ih + self.bias_hh
        h_t = self._phi(x_t @ W_xh.T + state.h @ W_hh.T + b_h)
        y_t = h_t if self.output is None else self.output(h_t)
        return y_t, RNNState(h_t)

    def _step(self, x_t: Tensor, state: RNNState) -> tuple[Tensor, RNNState]:
        cell = torch.rnn_tanh_cell if self.nonlinearity == "tanh" else torch.rnn_relu_cell
        h_t = cell(x_t, state.h, *self.kernel_weights())
        y_t = h_t if self.output is None else self.output(h_t)
        return y_t, RNNState(h_t)

    def _forward_fast(self, x: Tensor, state: RNNState, lengths: Tensor | None) -> tuple[Tensor, RNNState]:
        h, final = self._forward_kernel(x, state, lengths)
        if self.output is not None:
            h = self.output(h)  # (B, T, output_size)
            if lengths is not None:
                h = h * mask_from_lengths(lengths, x.shape[1])[:, :, None]
        return h, final

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, nonlinearity={self.nonlinearity!r}"
        return s + ("" if self.output is None else f", output_size={self.output_size}")
