"""Mamba: one selective state-space block as a recurrence (Gu & Dao 2023, "Mamba: Linear-Time Sequence
Modeling with Selective State Spaces", arXiv 2312.00752; the maths of state-spaces/mamba's
``mamba_simple.Mamba`` and ``selective_scan_ref``).

Equations (one step; x_t ∈ R^D, output y_t ∈ R^H; E = expand·H inner channels, N = d_state,
K = d_conv, R = dt_rank = ⌈H/16⌉; ⊙ elementwise, ⊗ outer product)::

    [x̂_t, z_t] = W_in x_t                                   # in_proj: D → 2E, the x branch and the gate
    u_t  = SiLU(conv_t)                                     # causal depthwise conv of width K ...
    conv_t = Σ_{j<K} w_j ⊙ x̂_{t-K+1+j} + b_conv            # ... over the last K inputs of the x branch
    [δ_t, B_t, C_t] = W_x u_t                               # x_proj: E → R + N + N (B_t, C_t ∈ R^N)
    Δ_t  = softplus(W_Δ δ_t + b_Δ)                          # dt_proj: R → E, one step size per channel
    A    = −exp(A_log)                                      # (E, N), S4D-real init A_log[e, n] = log(n+1)
    Ā_t  = exp(Δ_t ⊗ 1 ⊙ A)                                 # zero-order hold: (E, N)
    B̄_t x_t = (Δ_t ⊙ u_t) ⊗ B_t                             # the simplified ZOH input term, see below
    h_t  = Ā_t ⊙ h_{t-1} + B̄_t x_t                          # the selective SSM: (E, N) state
    o_t  = h_t C_t + D ⊙ u_t                                # read-out (E,) plus the skip D
    y_t  = W_out (o_t ⊙ SiLU(z_t))                          # gate, then out_proj: E → H

"Selective": Δ_t, B_t and C_t depend on the input, so the model chooses per token what to write into h
(a large Δ resets the state towards the current input, Δ → 0 keeps it). The exact zero-order hold of B
would be B̄ = (ΔA)⁻¹(exp(ΔA) − I)·ΔB; like the paper's implementation (Section 3.5's note and
``selective_scan_ref``), seqlab uses the Euler-style approximation B̄ ≈ Δ B, which agrees to first order
in Δ.

State: ``conv`` (B, E, K−1), the last K−1 inputs of the convolution (the x branch x̂ before the conv),
and ``ssm`` (B, E, N), the SSM state h. The all-zeros state is the empty history (the conv sees zeros
before the first token, as the reference's left padding does).

Deliberate deviations and choices:

- The block is the *mixer* only: no residual connection and no normalisation inside. Mamba's
  residual block (x + Mixer(Norm(x))) belongs to the stack that layers these recurrences.
- D ≠ H is allowed: in_proj reads D features and out_proj writes H; with D == H the parameter names and
  shapes are those of ``mamba_simple.Mamba(d_model=H)`` (``in_proj``, ``conv1d``, ``x_proj``,
  ``dt_proj``, ``A_log``, ``D``, ``out_proj``), so its ``state_dict`` loads as is.
- Variable lengths: a padded step leaves both states unchanged and outputs zeros. In the parallel form
  padded steps get Δ = 0 (Ā = 1, B̄ = 0: h carries through) and the conv state is gathered as the last
  K−1 *valid* inputs.

Fast path: the whole sequence at once — one in_proj, one ``conv1d`` (the conv state prepended to its
input), one x_proj/dt_proj, and the recurrence h_t = Ā_t ⊙ h_{t−1} + B̄_t x_t as one ``linear_scan``
over (B, T, E, N), inside an autograd Function with a written-out backward (``_SelectiveScan``: the
reverse scan of ∂L/∂h, then one product and reduction per gradient). The (B, T, E, N) tensors are
large, so the time axis is cut into chunks of at most ``SCAN_CHUNK_ELEMENTS`` elements, carrying h; and
under autograd, once B·T·E·N exceeds ``CHECKPOINT_ELEMENTS``, each chunk is checkpointed (its
(B, t, E, N) tensors are recomputed in the backward pass instead of stored), which keeps memory linear
in B·T·E rather than B·T·E·N for long sequences at the price of a second forward scan. The per-token
``step`` is the same equations with fewer kernels (one einsum for the conv, fused multiply-adds for h
and the read-out).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable
from torch.utils.checkpoint import checkpoint

from .base import Recurrence, check_sizes, mask_from_lengths
from .scan import linear_scan

__all__ = ["Mamba", "MambaState"]

# Largest (B, t, E, N) block the parallel scan materialises at once (2^22 numbers = 16 MiB in float32);
# longer sequences are scanned chunk by chunk, carrying h (B=4, H=128, E=256, N=16: 256 steps a chunk).
# 2^20 … 2^24 measured within noise of each other for fwd+bwd at T = 1024 on one CPU thread.
SCAN_CHUNK_ELEMENTS = 2**22
# Under autograd, a sequence with more (B, T, E, N) elements than this (2^24: 64 MiB per tensor in
# float32, two tensors kept per chunk) is checkpointed chunk by chunk instead of keeping every chunk's.
CHECKPOINT_ELEMENTS = 2**24


class MambaState(NamedTuple):
    conv: Tensor  # (B, E, K−1): the last K−1 inputs of the causal conv
    ssm: Tensor  # (B, E, N): the selective SSM's state h


class Mamba(Recurrence):
    """One Mamba block (the mixer: in_proj → conv → selective SSM → gate → out_proj), H = d_model.

    Args:
        input_size: D.
        hidden_size: H, the block's output width (Mamba's d_model).
        d_state: N, the SSM state size per channel (16).
        d_conv: K, the width of the causal depthwise convolution (4).
        expand: E = expand·H inner channels (2).
        dt_rank: R, the rank of the Δ projection; ``None`` for the paper's ⌈H/16⌉.
        dt_min, dt_max: the range Δ is initialised in, log-uniformly (1e-3, 1e-1).
    """

    State = MambaState

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        dt_rank: int | None = None,
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
    ) -> None:
        super().__init__()
        check_sizes("Mamba", input_size=input_size, hidden_size=hidden_size, d_state=d_state, d_conv=d_conv)
        check_sizes("Mamba", expand=expand)
        if dt_rank is not None:
            check_sizes("Mamba", dt_rank=dt_rank)
        for key, value in (("dt_min", dt_min), ("dt_max", dt_max)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise ValueError(f"Mamba: expected {key} to be a positive finite number, got {value!r}")
        if dt_min > dt_max:
            raise ValueError(
                f"Mamba: expected dt_min ≤ dt_max (the range Δ is initialised in), "
                f"got dt_min={dt_min!r} > dt_max={dt_max!r}"
            )
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, hidden_size
        self.d_state, self.d_conv, self.expand = d_state, d_conv, expand
        self.d_inner = expand * hidden_size
        self.dt_rank = math.ceil(hidden_size / 16) if dt_rank is None else dt_rank
        self.dt_min, self.dt_max = float(dt_min), float(dt_max)
        D, E, N, K, R = input_size, self.d_inner, d_state, d_conv, self.dt_rank

        self.in_proj = nn.Linear(D, 2 * E, bias=False)  # W_in: x branch and gate z
        self.conv1d = nn.Conv1d(E, E, K, groups=E)  # depthwise: weight (E, 1, K), bias (E,)
        self.x_proj = nn.Linear(E, R + 2 * N, bias=False)  # W_x: δ, B, C
        self.dt_proj = nn.Linear(R, E)  # W_Δ, b_Δ
        self.A_log = nn.Parameter(torch.empty(E, N))
        self.D = nn.Parameter(torch.empty(E))
        self.out_proj = nn.Linear(E, hidden_size, bias=False)  # W_out
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The reference's init: torch's defaults for the projections and the conv; W_Δ ~ U(±R^−½);
        b_Δ = softplus⁻¹(Δ₀) with Δ₀ log-uniform in [dt_min, dt_max]; A_log = log(1..N); D = 1."""
        for module in (self.in_proj, self.conv1d, self.x_proj, self.out_proj):
            module.reset_parameters()
        bound = self.dt_rank**-0.5
        nn.init.uniform_(self.dt_proj.weight, -bound, bound)
        with torch.no_grad():
            log_lo, log_hi = math.log(self.dt_min), math.log(self.dt_max)
            dt = torch.exp(torch.rand(self.d_inner) * (log_hi - log_lo) + log_lo).clamp(min=1e-4)
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus⁻¹(dt)
            n = torch.arange(1, self.d_state + 1, dtype=torch.float32)
            self.A_log.copy_(torch.log(n).expand(self.d_inner, -1))
            self.D.fill_(1.0)

    def state_sizes(self) -> tuple[tuple[int, int], tuple[int, int]]:
        return ((self.d_inner, self.d_conv - 1), (self.d_inner, self.d_state))

    @property
    def fast_path(self) -> str:
        return "parallel selective scan (linear_scan, chunked over time)"

    # ------------------------------------------------------------------ the equations
    def reference_step(self, x_t: Tensor, state: MambaState) -> tuple[Tensor, MambaState]:
        E, N, R = self.d_inner, self.d_state, self.dt_rank
        x_hat, z = self.in_proj(x_t).split(E, dim=-1)  # (B, E) each
        window = torch.cat([state.conv, x_hat[:, :, None]], dim=2)  # (B, E, K): x̂_{t-K+1..t}
        conv = (window * self.conv1d.weight[:, 0]).sum(-1) + self.conv1d.bias  # (B, E)
        u = F.silu(conv)
        delta_low, B_t, C_t = self.x_proj(u).split([R, N, N], dim=-1)  # (B, R), (B, N), (B, N)
        delta = F.softplus(self.dt_proj(delta_low))  # Δ_t: (B, E)
        A = -torch.exp(self.A_log)  # (E, N)
        A_bar = torch.exp(delta[:, :, None] * A)  # (B, E, N)
        Bx_bar = (delta * u)[:, :, None] * B_t[:, None, :]  # (B, E, N): B̄_t x_t ≈ Δ_t B_t u_t
        h = A_bar * state.ssm + Bx_bar  # (B, E, N)
        o = (h * C_t[:, None, :]).sum(-1) + self.D * u  # (B, E)
        y = self.out_proj(o * F.silu(z))  # (B, H)
        return y, MambaState(window[:, :, 1:], h)

    # ------------------------------------------------------------------ fast paths
    def _step(self, x_t: Tensor, state: MambaState) -> tuple[Tensor, MambaState]:
        E, N, R = self.d_inner, self.d_state, self.dt_rank
        x_hat, z = self.in_proj(x_t).split(E, dim=-1)
        window = torch.cat([state.conv, x_hat[:, :, None]], dim=2)  # (B, E, K)
        u = F.silu(torch.einsum("bek,ek->be", window, self.conv1d.weight[:, 0]) + self.conv1d.bias)
        delta_low, B_t, C_t = self.x_proj(u).split([R, N, N], dim=-1)
        delta = F.softplus(self.dt_proj(delta_low))  # (B, E)
        A_bar = torch.exp(delta[:, :, None] * -torch.exp(self.A_log))  # (B, E, N)
        h = torch.addcmul(A_bar * state.ssm, (delta * u)[:, :, None], B_t[:, None, :])  # (B, E, N)
        o = torch.baddbmm((self.D * u)[:, :, None], h, C_t[:, :, None])[:, :, 0]  # (B, E)
        return self.out_proj(o * F.silu(z)), MambaState(window[:, :, 1:], h)

    def _forward_fast(
        self, x: Tensor, state: MambaState, lengths: Tensor | None
    ) -> tuple[Tensor, MambaState]:
        B, T, _ = x.shape
        E, N, R, K = self.d_inner, self.d_state, self.dt_rank, self.d_conv
        x_hat, z = self.in_proj(x).split(E, dim=-1)  # (B, T, E) each
        conv_in = torch.cat([state.conv, x_hat.transpose(1, 2)], dim=2)  # (B, E, K−1+T)
        conv = F.conv1d(conv_in, self.conv1d.weight, self.conv1d.bias, groups=E)  # (B, E, T)
        u = F.silu(conv).transpose(1, 2)  # (B, T, E)
        delta_low, B_seq, C_seq = self.x_proj(u).split([R, N, N], dim=-1)  # (B, T, R|N|N)
        delta = F.softplus(self.dt_proj(delta_low))  # (B, T, E)
        if lengths is None:
            conv_state = conv_in[:, :, T:]  # (B, E, K−1): the last K−1 inputs
        else:
            mask = mask_from_lengths(lengths, T)  # (B, T)
            delta = delta * mask[:, :, None]  # padded steps: Ā = 1, B̄ = 0, so h carries through
            index = lengths[:, None] + torch.arange(K - 1, device=x.device)  # (B, K−1) into conv_in
            conv_state = conv_in.gather(2, index[:, None, :].expand(B, E, K - 1))  # last K−1 valid
        A = -torch.exp(self.A_log)  # (E, N)
        o, h = _selective_scan(u, delta, A, B_seq, C_seq, state.ssm)  # (B, T, E), (B, E, N)
        y = self.out_proj((o + self.D * u) * F.silu(z))  # (B, T, H)
        if lengths is not None:
            y = y * mask[:, :, None]
        return y, MambaState(conv_state, h)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, d_state={self.d_state}, d_conv={self.d_conv}"
        return s + f", expand={self.expand}, dt_rank={self.dt_rank}"


def _selective_scan(
    u: Tensor, delta: Tensor, A: Tensor, B_seq: Tensor, C_seq: Tensor, h0: Tensor
) -> tuple[Tensor, Tensor]:
    """h_t = exp(Δ_t A) ⊙ h_{t−1} + (Δ_t u_t) ⊗ B_t; o_t = h_t C_t. → o (B, T, E), final h (B, E, N).

    Cuts the time axis into chunks of at most ``SCAN_CHUNK_ELEMENTS`` (B, t, E, N) elements and carries
    h across them; under autograd, past ``CHECKPOINT_ELEMENTS`` in all, each chunk is checkpointed, so
    its (B, t, E, N) tensors are recomputed in the backward pass rather than kept for the whole sequence.
    """
    B, T, E = u.shape
    per_step = B * E * A.shape[1]
    steps = max(1, SCAN_CHUNK_ELEMENTS // per_step)
    if steps >= T:
        return _scan_chunk(u, delta, A, B_seq, C_seq, h0)
    save_memory = (
        per_step * T > CHECKPOINT_ELEMENTS
        and torch.is_grad_enabled()
        and any(t.requires_grad for t in (u, delta, A, B_seq, C_seq, h0))
    )
    outputs, h = [], h0
    for s in range(0, T, steps):
        chunk = (u[:, s : s + steps], delta[:, s : s + steps], A, B_seq[:, s : s + steps])
        chunk += (C_seq[:, s : s + steps], h)
        if save_memory:
            o, h = checkpoint(_scan_chunk, *chunk, use_reentrant=False)
        else:
            o, h = _scan_chunk(*chunk)
        outputs.append(o)
    return torch.cat(outputs, dim=1), h


def _scan_chunk(
    u: Tensor, delta: Tensor, A: Tensor, B_seq: Tensor, C_seq: Tensor, h0: Tensor
) -> tuple[Tensor, Tensor]:
    """One block of time steps: → o (B, t, E), the final h (B, E, N)."""
    return _SelectiveScan.apply(u, delta, A, B_seq, C_seq, h0)


class _SelectiveScan(torch.autograd.Function):
    """The selective scan with a hand-written backward (Mamba's ``selective_scan_ref`` maths).

    Forward, with Ā_t = exp(Δ_t ⊗ A) and B̄_t x_t = (Δ_t ⊙ u_t) ⊗ B_t, all (B, t, E, N)::

        h_t = Ā_t ⊙ h_{t−1} + B̄_t x_t          (linear_scan)
        o_t = h_t C_t

    Backward, with g_t = ∂L/∂h_t in total (the reverse linear scan) and s_t = ∂L/∂(Δ_t A)::

        g_t = (∂L/∂o_t) ⊗ C_t + Ā_{t+1} ⊙ g_{t+1}       (+ ∂L/∂h_T at t = T)
        ∂L/∂C_t = h_tᵀ ∂L/∂o_t           ∂L/∂B_t = g_tᵀ (Δ_t ⊙ u_t)      ∂L/∂h_0 = Ā_1 ⊙ g_1
        ∂L/∂(Δ_t ⊙ u_t) = g_t B_t         s_t = g_t ⊙ h_{t−1} ⊙ Ā_t
        ∂L/∂Δ_t = u_t ⊙ g_t B_t + s_t A    ∂L/∂u_t = Δ_t ⊙ g_t B_t    ∂L/∂A = Σ_{b,t} s_t ⊙ Δ_t

    Compared with autograd through the same forward, this reuses the (B, t, E, N) buffers in place and
    skips the products autograd keeps for the exp and the broadcasts.
    """

    @staticmethod
    def forward(ctx, u, delta, A, B_seq, C_seq, h0):
        A_bar = torch.exp(delta[..., None] * A)  # (B, t, E, N)
        Bx_bar = (delta * u)[..., None] * B_seq[:, :, None, :]  # (B, t, E, N)
        h = linear_scan(A_bar, Bx_bar, h0)  # (B, t, E, N)
        o = (h * C_seq[:, :, None, :]).sum(-1)  # (B, t, E)
        ctx.save_for_backward(u, delta, A, B_seq, C_seq, h0, A_bar, h)
        return o, h[:, -1].clone()  # not a view: the caller may keep or modify the state

    @staticmethod
    @once_differentiable
    def backward(ctx, d_o, d_hT):
        u, delta, A, B_seq, C_seq, h0, A_bar, h = ctx.saved_tensors
        T = u.shape[1]
        g = d_o[..., None] * C_seq[:, :, None, :]  # (B, t, E, N): ∂L/∂h_t through o_t
        g[:, -1] += d_hT
        for t in range(T - 2, -1, -1):  # the reverse scan, in place
            g[:, t].addcmul_(A_bar[:, t + 1], g[:, t + 1])
        d_h0 = A_bar[:, 0] * g[:, 0]
        d_C = (d_o[..., None, :] @ h)[..., 0, :]  # (B, t, N)
        d_delta_u = (g * B_seq[:, :, None, :]).sum(-1)  # (B, t, E)
        d_B = ((delta * u)[..., None, :] @ g)[..., 0, :]  # (B, t, N)
        s = g.mul_(A_bar)  # s_t = g_t ⊙ Ā_t ⊙ h_{t−1}, in g's buffer
        s[:, 1:] *= h[:, :-1]
        s[:, 0] *= h0
        d_delta_A = (s * A).sum(-1)  # (B, t, E): s_t A
        d_A = (s * delta[..., None]).sum((0, 1))  # (E, N)
        d_u = d_delta_u * delta
        d_delta = torch.addcmul(d_delta_A, d_delta_u, u)
        return d_u, d_delta, d_A, d_B, d_C, d_h0
