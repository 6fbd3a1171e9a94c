"""LSTM (Hochreiter & Schmidhuber 1997; forget gate: Gers et al. 2000) and its variants.

Equations (one step; x_t ∈ R^D, h_t ∈ R^H, ⊙ elementwise; torch's gate order i, f, g, o)::

    i_t = σ(W_ii x_t + W_hi h_{t-1} + b_i)            # input gate: how much new content to write
    f_t = σ(W_if x_t + W_hf h_{t-1} + b_f)            # forget gate: how much of c_{t-1} to keep
    c̃_t = tanh(W_ig x_t + W_hg h_{t-1} + b_g)         # candidate cell content
    o_t = σ(W_io x_t + W_ho h_{t-1} + b_o)            # output gate
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t                  # the additive "highway": ∂c_t/∂c_{t-1} = f_t
    h_t = o_t ⊙ tanh(c_t)

Options (each off by default, except ``forget_bias``):

- ``peephole`` (Gers & Schmidhuber 2000): the gates also see the cell through diagonal weights,
  i_t = σ(… + p_i ⊙ c_{t-1}), f_t = σ(… + p_f ⊙ c_{t-1}), o_t = σ(… + p_o ⊙ c_t).
- ``coupled`` (the chapter's coupled forget–input gate; Greff et al. 2017 "CIFG"): i_t = 1 − f_t.
  There is no input gate to learn, so the weights hold three blocks (f, g, o) instead of four.
- ``layer_norm`` (Ba et al. 2016): each gate's pre-activation is layer-normalised over its H units,
  LN(a) = γ ⊙ (a − μ)/σ + β, and so is the cell before the output squashing: h_t = o_t ⊙ tanh(LN(c_t)).
  The gate LN's shift β plays the role of the gate bias, so this variant has no ``bias_ih/bias_hh``.
- ``forget_bias`` (Gers et al. 2000; Jozefowicz et al. 2015): added to the forget gate's bias after
  torch's U(−1/√H, 1/√H) init. The default 1.0 follows the chapter's tip (remember by default);
  0.0 reproduces ``torch.nn.LSTM``'s init exactly.
- ``proj_size`` (Sak et al. 2014; as ``torch.nn.LSTM(proj_size=...)``): h_t = W_hr (o_t ⊙ tanh(c_t)),
  a P-dimensional h_t; the cell stays H-dimensional.

Parameters keep torch's names and layout (``weight_ih`` (4H, D), ``weight_hh`` (4H, H or P),
``bias_ih``, ``bias_hh``, ``weight_hr`` (P, H)), so a standard LSTM loads ``torch.nn.LSTM`` weights.
The bias of the equations is ``bias_ih + bias_hh``.

Fast paths: the standard configuration (with or without ``proj_size``) runs torch's fused kernel.
Peephole and coupled LSTMs run a hand-written BPTT (`seqlab.recurrent.lstm_bptt`), the layer-norm LSTM
its own (`seqlab.recurrent.ln_lstm_bptt`); any other combination an autograd loop over precomputed
input projections.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import Recurrence, check_sizes
from .fused import flatten_for_cudnn

__all__ = ["LSTM", "LSTMState"]

LN_EPS = 1e-5


class LSTMState(NamedTuple):
    h: Tensor  # (B, H), or (B, P) with a projection
    c: Tensor  # (B, H)


class LSTM(Recurrence):
    """One LSTM layer with the chapter's variants.

    Args:
        input_size: D.
        hidden_size: H, the size of the cell c_t.
        peephole: gates see the cell state (diagonal peephole weights).
        coupled: tie the input gate to the forget gate, i_t = 1 − f_t.
        layer_norm: layer-normalise each gate's pre-activation and the cell.
        forget_bias: added to the forget-gate bias at init (1.0; 0.0 = torch's init).
        proj_size: if > 0, project h_t to this size (must be < hidden_size, as in torch).
    """

    State = LSTMState

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        peephole: bool = False,
        coupled: bool = False,
        layer_norm: bool = False,
        forget_bias: float = 1.0,
        proj_size: int = 0,
    ) -> None:
        super().__init__()
        check_sizes("LSTM", input_size=input_size, hidden_size=hidden_size)
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or not 0 <= proj_size < hidden_size:
            raise ValueError(
                f"LSTM: expected proj_size to be 0 (no projection) or an integer in "
                f"[1, hidden_size={hidden_size}), got {proj_size!r}"
            )
        if (
            not isinstance(forget_bias, (int, float))
            or isinstance(forget_bias, bool)
            or not math.isfinite(forget_bias)
        ):
            raise ValueError(f"LSTM: expected forget_bias to be a finite number, got {forget_bias!r}")
        self.input_size, self.hidden_size, self.proj_size = input_size, hidden_size, proj_size
        self.output_size = proj_size or hidden_size
        self.peephole, self.coupled, self.layer_norm = bool(peephole), bool(coupled), bool(layer_norm)
        self.forget_bias = float(forget_bias)
        self.gates = ("f", "g", "o") if self.coupled else ("i", "f", "g", "o")
        G, H, D, P = len(self.gates), hidden_size, input_size, self.output_size

        self.weight_ih = nn.Parameter(torch.empty(G * H, D))
        self.weight_hh = nn.Parameter(torch.empty(G * H, P))
        if self.layer_norm:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        else:
            self.bias_ih = nn.Parameter(torch.empty(G * H))
            self.bias_hh = nn.Parameter(torch.empty(G * H))
        if self.proj_size:
            self.weight_hr = nn.Parameter(torch.empty(P, H))
        else:
            self.register_parameter("weight_hr", None)
        if self.peephole:  # rows p_i, p_f, p_o (p_f, p_o when coupled)
            self.weight_peephole = nn.Parameter(torch.empty(G - 1, H))
        else:
            self.register_parameter("weight_peephole", None)
        if self.layer_norm:
            self.ln_gate_weight = nn.Parameter(torch.empty(G, H))  # γ per gate
            self.ln_gate_bias = nn.Parameter(torch.empty(G, H))  # β per gate (the gate bias)
            self.ln_cell_weight = nn.Parameter(torch.empty(H))
            self.ln_cell_bias = nn.Parameter(torch.empty(H))
        self.reset_parameters()

    # ------------------------------------------------------------------ parameters
    def reset_parameters(self) -> None:
        """torch.nn.LSTM's init, then ``forget_bias`` added to the forget gate's bias."""
        H = self.hidden_size
        bound = 1.0 / math.sqrt(H)
        for p in (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.weight_hr):
            if p is not None:
                nn.init.uniform_(p, -bound, bound)
        if self.peephole:
            nn.init.uniform_(self.weight_peephole, -bound, bound)
        f = self.gates.index("f")
        with torch.no_grad():
            if self.layer_norm:
                self.ln_gate_weight.fill_(1.0)
                self.ln_gate_bias.zero_()
                self.ln_gate_bias[f] = self.forget_bias
                self.ln_cell_weight.fill_(1.0)
                self.ln_cell_bias.zero_()
            else:
                self.bias_ih[f * H : (f + 1) * H] += self.forget_bias

    def state_sizes(self) -> tuple[int, ...]:
        return (self.output_size, self.hidden_size)

    @property
    def fusable(self) -> bool:
        """True when torch's fused LSTM kernel computes exactly this layer."""
        return not (self.peephole or self.coupled or self.layer_norm)

    kernel_mode = "lstm"

    @property
    def fast_path(self) -> str:
        if self.fusable:
            return "fused kernel"
        return "autograd loop" if self._sequence_fn() is None else "hand-written BPTT"

    def kernel_weights(self) -> list[Tensor]:
        weights = [self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh]
        return weights + ([self.weight_hr] if self.proj_size else [])

    # ------------------------------------------------------------------ the equations
    def _project_input(self, x: Tensor) -> Tensor:
        """W_ih x (+ b): the part of every gate that does not depend on the past. (…, D) → (…, G·H)."""
        bias = None if self.layer_norm else self.bias_ih + self.bias_hh
        return F.linear(x, self.weight_ih, bias)

    def _cell(self, gx_t: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        """One step given the input projection gx_t = W_ih x_t + b: (B, G·H) → h_t, (h_t, c_t)."""
        H = self.hidden_size
        a = gx_t + state.h @ self.weight_hh.T  # (B, G·H) gate pre-activations
        if self.layer_norm:
            a = _layer_norm(a.view(-1, len(self.gates), H), self.ln_gate_weight, self.ln_gate_bias)
            a = a.reshape(-1, len(self.gates) * H)  # (B, G·H)
        pre = dict(zip(self.gates, a.split(H, dim=-1)))
        p = {}  # peephole weights by gate
        if self.peephole:
            p = dict(zip(("f", "o") if self.coupled else ("i", "f", "o"), self.weight_peephole.unbind(0)))
        c = state.c

        f_t = torch.sigmoid(pre["f"] + p["f"] * c if self.peephole else pre["f"])
        if self.coupled:
            i_t = 1.0 - f_t
        else:
            i_t = torch.sigmoid(pre["i"] + p["i"] * c if self.peephole else pre["i"])
        c_hat = torch.tanh(pre["g"])  # c̃_t
        c_t = f_t * c + i_t * c_hat
        o_t = torch.sigmoid(pre["o"] + p["o"] * c_t if self.peephole else pre["o"])
        squashed = torch.tanh(
            _layer_norm(c_t, self.ln_cell_weight, self.ln_cell_bias) if self.layer_norm else c_t
        )
        h_t = o_t * squashed
        if self.proj_size:
            h_t = h_t @ self.weight_hr.T  # (B, P)
        return h_t, LSTMState(h_t, c_t)

    def reference_step(self, x_t: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        return self._cell(self._project_input(x_t), state)

    # ------------------------------------------------------------------ fast paths
    def _step(self, x_t: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        if not self.fusable or self.proj_size:
            return self.reference_step(x_t, state)
        if (
            x_t.shape[0] > 1
            or x_t.device.type != "cpu"
            or (torch.is_grad_enabled() and self.weight_hh.requires_grad)
        ):
            h_t, c_t = torch.lstm_cell(x_t, (state.h, state.c), *self.kernel_weights())
            return h_t, LSTMState(h_t, c_t)
        # Streaming one sequence on CPU, no gradients. One product of [x_t; h_{t-1}] with the stacked
        # [W_ih | W_hh] reads the weights once, as one block; at B=1 it is a matrix-vector product that
        # MKL runs on one thread, so it is split column-wise into one batched product per thread.
        # ~1.6x faster per token than torch.lstm_cell on a 2-core CPU (benchmarks/recurrent.py).
        W, b = self._stacked_weights()
        a = torch.baddbmm(b, torch.cat((x_t, state.h), 1).expand(W.shape[0], 1, -1), W).view(1, -1)  # (1, 4H)
        H = self.hidden_size
        s = a.sigmoid()  # i, f, o (the g block's sigmoid goes unused: one call beats three)
        c_t = torch.addcmul(s[:, H : 2 * H] * state.c, s[:, :H], a[:, 2 * H : 3 * H].tanh())
        h_t = s[:, 3 * H :] * c_t.tanh()
        return h_t, LSTMState(h_t, c_t)

    def _stacked_weights(self) -> tuple[Tensor, Tensor]:
        """[W_ih | W_hh]ᵀ split into n column blocks (n, D+H, 4H/n), and b_ih + b_hh as (n, 1, 4H/n).

        n is the thread count (1, 2 or 4). Cached until a weight is replaced, moved (``_apply`` drops
        the cache) or updated in place (its version counter moves).
        """
        P = self._parameters  # direct: nn.Module.__getattr__ costs a microsecond a name, per token
        w_ih, w_hh, b_ih, b_hh = P["weight_ih"], P["weight_hh"], P["bias_ih"], P["bias_hh"]
        threads = torch.get_num_threads()
        n = 4 if threads >= 4 else min(threads, 2)
        versions = (w_ih._version, w_hh._version, b_ih._version, b_hh._version)
        key = (n, id(w_ih), id(w_hh), id(b_ih), id(b_hh), *versions)
        cache = self.__dict__.get("_stacked_cache")
        if cache is None or cache[0] != key:
            with torch.no_grad():
                W = torch.cat([w_ih, w_hh], dim=1).T  # (D+H, 4H)
                W = W.reshape(W.shape[0], n, -1).transpose(0, 1).contiguous()  # (n, D+H, 4H/n)
                b = (b_ih + b_hh).view(n, 1, -1)
            cache = self.__dict__["_stacked_cache"] = (key, W, b)
        return cache[1], cache[2]

    def flatten_parameters(self) -> None:
        self.__dict__.pop("_stacked_cache", None)  # runs after every .to()/.cuda()/.double()
        if self.fusable:
            flatten_for_cudnn(
                self.kernel_weights(), "lstm", self.input_size, self.hidden_size, proj_size=self.proj_size
            )

    def _forward_fast(self, x: Tensor, state: LSTMState, lengths: Tensor | None) -> tuple[Tensor, LSTMState]:
        if self.fusable:
            return self._forward_kernel(x, state, lengths)
        gx = self._project_input(x)  # (B, T, G·H), one matmul for all steps
        sequence_fn = self._sequence_fn()
        if sequence_fn is None:
            return self._loop(self._cell, gx, state, lengths)
        hs, cs = sequence_fn(gx, state)  # every step's h_t, c_t: (B, T, H) each
        return self._finish(hs, (hs, cs), lengths)

    def _sequence_fn(self):
        """The hand-written BPTT for this configuration, or None for the autograd loop."""
        if self.proj_size:
            return None
        if self.layer_norm:
            if self.peephole or self.coupled:
                return None
            from .ln_lstm_bptt import ln_lstm_sequence

            return lambda gx, s: ln_lstm_sequence(
                gx,
                s.h,
                s.c,
                self.weight_hh,
                self.ln_gate_weight,
                self.ln_gate_bias,
                self.ln_cell_weight,
                self.ln_cell_bias,
                LN_EPS,
            )
        from .lstm_bptt import lstm_sequence

        return lambda gx, s: lstm_sequence(gx, s.h, s.c, self.weight_hh, self.weight_peephole, self.coupled)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for flag in ("peephole", "coupled", "layer_norm"):
            if getattr(self, flag):
                s += f", {flag}=True"
        if self.forget_bias != 1.0:
            s += f", forget_bias={self.forget_bias}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        return s


def _layer_norm(a: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """LN over the last axis: γ ⊙ (a − μ)/√(var + ε) + β, with (…, H)-broadcastable γ, β."""
    mu = a.mean(dim=-1, keepdim=True)
    var = a.var(dim=-1, unbiased=False, keepdim=True)
    return (a - mu) * torch.rsqrt(var + LN_EPS) * weight + bias
