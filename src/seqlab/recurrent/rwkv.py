"""RWKV-4: one RWKV block as a recurrence (Peng et al. 2023, "RWKV: Reinventing RNNs for the Transformer
Era", arXiv 2305.13048; the maths of BlinkDL/RWKV-LM's RWKV-4 model and its RNN-mode inference).

Equations (one step; the block works at width H; ⊙ elementwise, σ the logistic sigmoid)::

    x_t = W_in x_t  (only if D ≠ H; otherwise the input itself)      # the block's residual stream

    time mixing (attention-like, over the past through the state (a, b, p)):
    x'_t = LN₁(x_t)
    k_t = W_k (μ_k ⊙ x'_t + (1 − μ_k) ⊙ x'_{t-1})                    # token shift: interpolate with
    v_t = W_v (μ_v ⊙ x'_t + (1 − μ_v) ⊙ x'_{t-1})                    #   the previous token's x'
    r_t = W_r (μ_r ⊙ x'_t + (1 − μ_r) ⊙ x'_{t-1})
    wkv_t = (Σ_{i<t} e^{(t−1−i)w + k_i} ⊙ v_i + e^{u + k_t} ⊙ v_t)
          / (Σ_{i<t} e^{(t−1−i)w + k_i}       + e^{u + k_t})          # w = −exp(time_decay) < 0, u a bonus
    x_t ← x_t + W_o (σ(r_t) ⊙ wkv_t)

    channel mixing (a token-shifted, squared-ReLU feed-forward, F = ffn_mult·H):
    x''_t = LN₂(x_t)
    k'_t = W'_k (μ'_k ⊙ x''_t + (1 − μ'_k) ⊙ x''_{t-1})               # (F,)
    r'_t = W'_r (μ'_r ⊙ x''_t + (1 − μ'_r) ⊙ x''_{t-1})
    y_t = x_t + σ(r'_t) ⊙ W'_v max(k'_t, 0)²                          # the block's output

WKV as a recurrence, numerically stable (the paper's Appendix / RWKV-LM's RNN mode): the two sums are
kept as a_t·e^{p_t} and b_t·e^{p_t}, with p_t the largest exponent so far, so no exp ever overflows::

    q = max(p_{t-1}, u + k_t)                                          # the output at step t
    wkv_t = (e^{p_{t-1}−q} a_{t-1} + e^{u+k_t−q} v_t) / (e^{p_{t-1}−q} b_{t-1} + e^{u+k_t−q})
    p_t = max(p_{t-1} + w, k_t)                                        # the state update
    a_t = e^{p_{t-1}+w−p_t} a_{t-1} + e^{k_t−p_t} v_t
    b_t = e^{p_{t-1}+w−p_t} b_{t-1} + e^{k_t−p_t}

State: ``x_att`` = x'_{t-1}, ``a``, ``b``, ``p``, ``x_ffn`` = x''_{t-1}, each (B, H). The empty history
is x' = x'' = 0, a = b = 0 and p = −∞ (RWKV-LM uses −1e30), which is what ``initial_state`` returns —
not all zeros. Any (a, b, p) with a = b = 0 means "nothing seen", but p = 0 can underflow b to 0 when
k ≪ 0 and then divide 0 by 0; p = −∞ cannot.

Version and simplifications: RWKV-4 (as in the paper). The block keeps its two LayerNorms and two
residuals (ln1 → time-mix → +, ln2 → channel-mix → +) as in the paper's Figure 2; the model-level ln0
after the embedding, the head and the layer-dependent init ratios belong to the stack/model and are not
here. The init is RWKV-4's for the first layer (decay speeds −5 … 3 across channels, u = log 0.3 with a
zigzag, μ ramps i/H, i/H and (i/H)^½), with torch's default init for the linear maps. W_in is a
bias-free linear map, present only when D ≠ H (RWKV has none: its blocks always read width H).

Fast path (exact, parallel over time): LN, token shift and every projection run on the whole (B, T, ·)
sequence at once; the WKV recurrence runs as

1. the running max p_t = max(p_{t−1} + w, k_t) = max(p_0 + t·w, max_{i≤t} k_i + (t−i)·w), a
   (max, +) scan: inside chunks of ``WKV_CHUNK`` steps one ``cummax`` of k_i − i·w (i the index within
   the chunk, so no large numbers cancel), and across chunks a short loop (T/``WKV_CHUNK`` steps);
2. a_t and b_t as one ``linear_scan`` with the factors e^{p_{t−1}+w−p_t} ≤ 1 and e^{k_t−p_t} ≤ 1 —
   the same stabilised exponent as the recurrence, so nothing overflows at any T;
3. the output wkv_t from (a_{t−1}, b_{t−1}, p_{t−1}) and (u + k_t, v_t), elementwise.

The p_t of step 1 is the recurrence's p_t, so the fast path returns the same state, not just the same
outputs.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import Recurrence, check_sizes
from .scan import linear_scan

__all__ = ["RWKV", "RWKVState"]

# Steps per chunk of the parallel running max (step 1 of the fast path).
WKV_CHUNK = 64


class RWKVState(NamedTuple):
    x_att: Tensor  # (B, H): x'_{t-1} = LN₁ of the previous token, for the time-mix token shift
    a: Tensor  # (B, H): Σ e^{(t−1−i)w + k_i} v_i, scaled by e^{−p}
    b: Tensor  # (B, H): Σ e^{(t−1−i)w + k_i}, scaled by e^{−p}
    p: Tensor  # (B, H): the largest exponent in those sums (−∞ before the first token)
    x_ffn: Tensor  # (B, H): x''_{t-1} = LN₂ of the previous token, for the channel-mix token shift


class RWKV(Recurrence):
    """One RWKV-4 block (time mixing then channel mixing, each with LayerNorm and residual).

    Args:
        input_size: D. If D ≠ H a bias-free linear map W_in: D → H comes first.
        hidden_size: H, the block's width (RWKV's n_embd).
        ffn_mult: the channel mix's hidden width F = ffn_mult·H (4, as in RWKV-4).
    """

    State = RWKVState

    def __init__(self, input_size: int, hidden_size: int, *, ffn_mult: int = 4) -> None:
        super().__init__()
        check_sizes("RWKV", input_size=input_size, hidden_size=hidden_size, ffn_mult=ffn_mult)
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, hidden_size
        self.ffn_mult = ffn_mult
        D, H, F_ = input_size, hidden_size, ffn_mult * hidden_size
        self.input_proj = nn.Linear(D, H, bias=False) if D != H else None  # W_in
        # time mixing
        self.ln1 = nn.LayerNorm(H)
        self.time_decay = nn.Parameter(torch.empty(H))  # w = −exp(time_decay)
        self.time_first = nn.Parameter(torch.empty(H))  # u
        self.time_mix_k = nn.Parameter(torch.empty(H))  # μ_k
        self.time_mix_v = nn.Parameter(torch.empty(H))  # μ_v
        self.time_mix_r = nn.Parameter(torch.empty(H))  # μ_r
        self.key = nn.Linear(H, H, bias=False)  # W_k
        self.value = nn.Linear(H, H, bias=False)  # W_v
        self.receptance = nn.Linear(H, H, bias=False)  # W_r
        self.output = nn.Linear(H, H, bias=False)  # W_o
        # channel mixing
        self.ln2 = nn.LayerNorm(H)
        self.ffn_mix_k = nn.Parameter(torch.empty(H))  # μ'_k
        self.ffn_mix_r = nn.Parameter(torch.empty(H))  # μ'_r
        self.ffn_key = nn.Linear(H, F_, bias=False)  # W'_k
        self.ffn_receptance = nn.Linear(H, H, bias=False)  # W'_r
        self.ffn_value = nn.Linear(F_, H, bias=False)  # W'_v
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """RWKV-4's init for a first layer (see the module docstring); torch's for the linear maps."""
        H = self.hidden_size
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()
        with torch.no_grad():
            ramp = torch.arange(H, dtype=torch.float32) / H  # i/H
            position = torch.arange(H, dtype=torch.float32) / max(H - 1, 1)  # 0 … 1
            self.time_decay.copy_(-5 + 8 * position**0.7)
            zigzag = torch.tensor([(i + 1) % 3 - 1 for i in range(H)], dtype=torch.float32) * 0.5
            self.time_first.copy_(math.log(0.3) + zigzag)
            self.time_mix_k.copy_(ramp)
            self.time_mix_v.copy_(ramp)
            self.time_mix_r.copy_(ramp**0.5)
            self.ffn_mix_k.copy_(ramp)
            self.ffn_mix_r.copy_(ramp)

    def state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size,) * 5

    def initial_state(
        self, batch_size: int, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> RWKVState:
        """The empty history: zeros, except p = −∞ (no exponent seen yet)."""
        zeros = super().initial_state(batch_size, device, dtype)
        return zeros._replace(p=torch.full_like(zeros.p, -math.inf))

    @property
    def fast_path(self) -> str:
        return "parallel WKV (chunked running max + linear_scan)"

    # ------------------------------------------------------------------ the equations
    def reference_step(self, x_t: Tensor, state: RWKVState) -> tuple[Tensor, RWKVState]:
        x = x_t if self.input_proj is None else self.input_proj(x_t)  # (B, H)
        # time mixing
        xa = self.ln1(x)  # x'_t
        mu_k, mu_v, mu_r = self.time_mix_k, self.time_mix_v, self.time_mix_r
        k = self.key(mu_k * xa + (1 - mu_k) * state.x_att)
        v = self.value(mu_v * xa + (1 - mu_v) * state.x_att)
        r = self.receptance(mu_r * xa + (1 - mu_r) * state.x_att)
        w, u = -torch.exp(self.time_decay), self.time_first
        a, b, p = state.a, state.b, state.p
        q = torch.maximum(p, u + k)
        e1, e2 = torch.exp(p - q), torch.exp(u + k - q)
        wkv = (e1 * a + e2 * v) / (e1 * b + e2)
        q = torch.maximum(p + w, k)
        e1, e2 = torch.exp(p + w - q), torch.exp(k - q)
        a, b, p = e1 * a + e2 * v, e1 * b + e2, q
        x = x + self.output(torch.sigmoid(r) * wkv)
        # channel mixing
        xf = self.ln2(x)  # x''_t
        mu_k, mu_r = self.ffn_mix_k, self.ffn_mix_r
        k = self.ffn_key(mu_k * xf + (1 - mu_k) * state.x_ffn)  # (B, F)
        r = self.ffn_receptance(mu_r * xf + (1 - mu_r) * state.x_ffn)
        y = x + torch.sigmoid(r) * self.ffn_value(torch.relu(k) ** 2)
        return y, RWKVState(xa, a, b, p, xf)

    # ------------------------------------------------------------------ fast paths
    def _step(self, x_t: Tensor, state: RWKVState) -> tuple[Tensor, RWKVState]:
        x = x_t if self.input_proj is None else self.input_proj(x_t)
        xa = self.ln1(x)
        r, k, v = self._time_mix_projections(xa, state.x_att)
        wkv, a, b, p = _wkv_step(-torch.exp(self.time_decay), self.time_first, k, v, state)
        x = x + self.output(torch.sigmoid(r) * wkv)
        xf = self.ln2(x)
        return x + self._channel_mix(xf, state.x_ffn), RWKVState(xa, a, b, p, xf)

    def _forward_fast(self, x: Tensor, state: RWKVState, lengths: Tensor | None) -> tuple[Tensor, RWKVState]:
        if self.input_proj is not None:
            x = self.input_proj(x)  # (B, T, H)
        xa = self.ln1(x)  # (B, T, H): x'_t
        r, k, v = self._time_mix_projections(xa, _shift(xa, state.x_att))
        w = -torch.exp(self.time_decay)
        wkv, a, b, p = _wkv_parallel(w, self.time_first, k, v, state)  # (B, T, H) each
        x = x + self.output(torch.sigmoid(r) * wkv)
        xf = self.ln2(x)  # (B, T, H): x''_t
        y = x + self._channel_mix(xf, _shift(xf, state.x_ffn))
        return self._finish(y, (xa, a, b, p, xf), lengths)

    def _time_mix_projections(self, xa: Tensor, prev: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """r, k, v from the token-shift mixes μ ⊙ x' + (1 − μ) ⊙ x'_prev (= lerp(x'_prev, x', μ))."""
        r = self.receptance(torch.lerp(prev, xa, self.time_mix_r))
        k = self.key(torch.lerp(prev, xa, self.time_mix_k))
        v = self.value(torch.lerp(prev, xa, self.time_mix_v))
        return r, k, v

    def _channel_mix(self, xf: Tensor, prev: Tensor) -> Tensor:
        k = self.ffn_key(torch.lerp(prev, xf, self.ffn_mix_k))
        r = self.ffn_receptance(torch.lerp(prev, xf, self.ffn_mix_r))
        return torch.sigmoid(r) * self.ffn_value(torch.relu(k).square())

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        return s + ("" if self.ffn_mult == 4 else f", ffn_mult={self.ffn_mult}")


def _shift(seq: Tensor, prev: Tensor) -> Tensor:
    """Token shift: (B, T, H) → the previous step's value at every step, ``prev`` (B, H) before step 1."""
    return torch.cat([prev[:, None], seq[:, :-1]], dim=1)


def _wkv_step(w: Tensor, u: Tensor, k: Tensor, v: Tensor, state: RWKVState):
    """One stabilised WKV step: → wkv_t, a_t, b_t, p_t (each (B, H))."""
    a, b, p = state.a, state.b, state.p
    uk = u + k
    q = torch.maximum(p, uk)
    e1, e2 = torch.exp(p - q), torch.exp(uk - q)
    wkv = torch.addcmul(e1 * a, e2, v) / torch.addcmul(e2, e1, b)
    pw = p + w
    p_t = torch.maximum(pw, k)
    e1, e2 = torch.exp(pw - p_t), torch.exp(k - p_t)
    return wkv, torch.addcmul(e1 * a, e2, v), torch.addcmul(e2, e1, b), p_t


def _wkv_parallel(w: Tensor, u: Tensor, k: Tensor, v: Tensor, state: RWKVState):
    """The WKV recurrence over a whole (B, T, H) sequence, in parallel: → wkv, a, b, p, each (B, T, H)."""
    p = _running_max(k, w, state.p)  # (B, T, H): p_t = max(p_{t−1} + w, k_t)
    p_prev = _shift(p, state.p)  # p_{t−1}
    decay = torch.exp(p_prev + w - p)  # e^{p_{t−1}+w−p_t} ≤ 1
    weight = torch.exp(k - p)  # e^{k_t−p_t} ≤ 1
    ab = linear_scan(
        decay[:, :, None],  # (B, T, 1, H), shared by a and b
        torch.stack([weight * v, weight], dim=2),  # (B, T, 2, H)
        torch.stack([state.a, state.b], dim=1),  # (B, 2, H)
    )
    a, b = ab.unbind(2)  # (B, T, H) each
    a_prev, b_prev = _shift(a, state.a), _shift(b, state.b)
    uk = u + k
    q = torch.maximum(p_prev, uk)
    e1, e2 = torch.exp(p_prev - q), torch.exp(uk - q)
    wkv = (e1 * a_prev + e2 * v) / (e1 * b_prev + e2)
    return wkv, a, b, p


def _running_max(k: Tensor, w: Tensor, p0: Tensor) -> Tensor:
    """p_t = max(p_{t−1} + w, k_t) from p_0 for every t: (B, T, H), a (max, +) scan.

    Within a chunk of C steps, max_{i≤j} (k_i + (j−i)w) = j·w + cummax_i(k_i − i·w) with i, j counted
    from the chunk's start (|i·w| ≤ C|w|, so little cancels); the max entering each chunk comes from a
    loop over the chunks, P_{n+1} = max(P_n + C·w, chunk n's last value).
    """
    B, T, H = k.shape
    C = min(WKV_CHUNK, T)
    n = -(-T // C)  # chunks
    k = F.pad(k, (0, 0, 0, n * C - T)).view(B, n, C, H)  # the padded tail is discarded below
    j = torch.arange(C, dtype=k.dtype, device=k.device)[:, None]  # (C, 1)
    within = torch.cummax(k - j * w, dim=2).values + j * w  # (B, n, C, H)
    entering = [p0]  # P_n: the p before chunk n
    for m in range(n - 1):
        entering.append(torch.maximum(entering[-1] + C * w, within[:, m, -1]))
    P = torch.stack(entering, dim=1)  # (B, n, H)
    p = torch.maximum(P[:, :, None] + (j + 1) * w, within)  # (B, n, C, H)
    return p.reshape(B, n * C, H)[:, :T]
