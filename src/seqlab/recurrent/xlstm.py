"""xLSTM's two cells: the mLSTM (matrix memory) and the sLSTM (scalar memory, memory mixing).

Beck et al. 2024, "xLSTM: Extended Long Short-Term Memory" (arXiv 2405.04517). Both replace the LSTM's
sigmoid input gate by an *exponential* one, i_t = exp(ĩ_t), which can outweigh everything stored so
far; a stabiliser m_t (the log of the largest weight in the memory) keeps every exp() argument ≤ 0.
Stored values are the paper's scaled by exp(−m_t) (C_t = C̄_t e^{−m_t}, …), which changes no output.

mLSTM (per head, d = H / num_heads; ĩ_t, f̃_t, m_t are one scalar per head; the gates see x_t only)::

    q_t = W_q x_t + b_q                            # query  (d)
    k_t = (W_k x_t + b_k) / √d                     # key    (d)
    v_t = W_v x_t + b_v                            # value  (d)
    ĩ_t = w_i · x_t + b_i                          # input gate, pre-activation: i_t = exp(ĩ_t)
    f̃_t = w_f · x_t + b_f,   log f_t = log σ(f̃_t) # forget gate (forget_gate="exp": log f_t = f̃_t)
    o_t = σ(W_o x_t + b_o)                         # output gate (H, all heads)
    m_t = max(log f_t + m_{t-1}, ĩ_t)              # stabiliser
    i'_t = exp(ĩ_t − m_t),   f'_t = exp(log f_t + m_{t-1} − m_t)
    C_t = f'_t C_{t-1} + i'_t k_t v_tᵀ             # matrix memory (d × d)
    n_t = f'_t n_{t-1} + i'_t k_t                  # normaliser (d)
    h̃_t = C_tᵀ q_t / max(|n_tᵀ q_t|, exp(−m_t))   # the paper's C̄ q / max(|n̄ᵀq|, 1), stabilised
    h_t = o_t ⊙ GN(h̃_t)                           # heads concatenated; GN: per-head norm (below)

Choices: ``head_norm=True`` (default, as the official code) normalises each head's h̃_t to zero mean and
unit variance, then scales by a learned γ (H; no shift): GN(h̃) = γ ⊙ (h̃ − μ)/√(σ² + 1e-5).
``head_norm=False`` gives h_t = o_t ⊙ h̃_t. C is stored as k vᵀ (d_k × d_v) like the official code, so
the read-out is C_tᵀ q_t (the paper writes C = v kᵀ and C q: the same numbers). The paper's q, k, v
biases are kept (the official code drops them); the denominator has no ``+ 1e-6`` (the official code
adds one), so all three forms compute exactly the equations above.

Because the gates depend on x_t only, the mLSTM has a parallel form. With F_t = Σ_{r≤t} log f_r and a
start state (C_0, n_0, m_0), the unstabilised memory is C̄_t = e^{F_t + m_0} C_0 + Σ_{s≤t} e^{F_t − F_s +
ĩ_s} k_s v_sᵀ, so row t of the "D matrix" holds log D_ts = F_t − F_s + ĩ_s (s ≤ t) plus one column,
F_t + m_0, for the start state; its row maximum is exactly the recurrence's m_t. Three forms, one function:

- ``recurrent``: the step loop above over precomputed projections; O(T) memory, T sequential steps.
- ``parallel``: the whole D matrix at once; O(T²) time and memory, no loop.
- ``chunkwise``: the parallel form inside chunks of ``chunk_size`` steps, the state carried from chunk
  to chunk by the recurrence on chunks; O(T·chunk_size) memory, T/chunk_size sequential steps.
- ``auto`` (default): ``parallel`` up to T = 96, ``chunkwise`` above (fwd+bwd timings on a 2-core CPU;
  see ``AUTO_PARALLEL_MAX_T``).

Every form starts from any state and returns the final one, so streaming in pieces equals one pass.
Padded steps (``lengths``) are made no-ops inside the parallel forms: log f_t = 0 and ĩ_t = −inf give
f'_t = 1, i'_t = 0 and m_t = m_{t-1}, so the state passes through unchanged, and their outputs are zeroed.

sLSTM (torch's gate order i, f, z, o; R_* block-diagonal with num_heads blocks of (H/heads × H/heads))::

    z_t = tanh(W_z x_t + R_z h_{t-1} + b_z)        # cell input
    ĩ_t = W_i x_t + R_i h_{t-1} + b_i              # input gate, pre-activation: i_t = exp(ĩ_t)
    f̃_t = W_f x_t + R_f h_{t-1} + b_f,  log f_t = log σ(f̃_t)   # (forget_gate="exp": log f_t = f̃_t)
    o_t = σ(W_o x_t + R_o h_{t-1} + b_o)
    m_t = max(log f_t + m_{t-1}, ĩ_t)
    i'_t = exp(ĩ_t − m_t),   f'_t = exp(log f_t + m_{t-1} − m_t)
    c_t = f'_t c_{t-1} + i'_t z_t
    n_t = f'_t n_{t-1} + i'_t
    h_t = o_t ⊙ c_t / n_t

The recurrent weights R mix h_{t-1} into every gate, so the sLSTM has no parallel form. Its fast path
computes W x_t + b for all steps as one matmul and loops over time doing one batched (per head) matmul
and the elementwise updates. The default forget gate is the sigmoid (log σ, as the official code);
the official code also sets m_t = ĩ_t while n_{t-1} is all zeros, which only rescales (c, n, m) by a
common factor and never changes h_t — seqlab does not.

Initialisation (official code, ``small_init``): input weights ~ N(0, 2/(5D)) (Nguyen & Salazar 2019);
mLSTM gate weights w_i, w_f = 0, b_i ~ N(0, 0.1²), b_f = linspace(3, 6) over heads (long memory at start:
σ(3) = 0.95, σ(6) = 0.998), other biases 0, γ = 1; sLSTM R = 0 (the official default), b_f = linspace(3, 6)
over each head's units, other biases 0.

Parameters: MLSTM ``weight_ih`` (4H + 2·heads, D), rows [W_q; W_k; W_v; W_o; w_i; w_f], and ``bias_ih``
in the same order, plus ``norm_weight`` γ (H) with ``head_norm``. SLSTM ``weight_ih`` (4H, D), rows
[W_i; W_f; W_z; W_o], ``bias`` (4H), and ``weight_hh`` (heads, 4·d, d): block k is head k's
[R_i; R_f; R_z; R_o] in torch's (4·H, H) layout.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import Recurrence, check_sizes, mask_from_lengths

__all__ = ["AUTO_PARALLEL_MAX_T", "MLSTM", "SLSTM", "MLSTMState", "SLSTMState"]

FORMS = ("auto", "parallel", "chunkwise", "recurrent")
FORGET_GATES = ("sigmoid", "exp")
# form="auto" takes the parallel form up to this many steps and the chunkwise form above. Measured on a
# 2-core CPU, OMP_NUM_THREADS=1, B=4, D=H=128, 4 heads, fwd+bwd, chunk_size=64: parallel/chunkwise =
# 1.00x at T=64, 1.09x at 128, 1.7x at 256, 6x at 1024, 40x at 4096 (12 s and 5.9 GB against 0.3 s).
AUTO_PARALLEL_MAX_T = 96
NORM_EPS = 1e-5


class MLSTMState(NamedTuple):
    C: Tensor  # (B, heads, d, d) matrix memory, scaled by exp(−m)
    n: Tensor  # (B, heads, d) normaliser, scaled by exp(−m)
    m: Tensor  # (B, heads) stabiliser


class SLSTMState(NamedTuple):
    h: Tensor  # (B, H)
    c: Tensor  # (B, H) cell, scaled by exp(−m)
    n: Tensor  # (B, H) normaliser, scaled by exp(−m)
    m: Tensor  # (B, H) stabiliser


def _check_heads(name: str, hidden_size: int, num_heads: int) -> None:
    check_sizes(name, num_heads=num_heads)
    if hidden_size % num_heads:
        divisors = [k for k in range(1, hidden_size + 1) if hidden_size % k == 0]
        raise ValueError(
            f"{name}: num_heads={num_heads} does not divide hidden_size={hidden_size}; every head gets "
            f"hidden_size / num_heads units, so pick num_heads from {divisors}"
        )


def _check_forget_gate(name: str, forget_gate: str) -> None:
    if forget_gate not in FORGET_GATES:
        raise ValueError(f"{name}: unknown forget_gate {forget_gate!r}; known: {', '.join(FORGET_GATES)}")


def _log_forget(f_tilde: Tensor, forget_gate: str) -> Tensor:
    """log f_t from the pre-activation f̃_t: log σ(f̃_t) (sigmoid gate) or f̃_t itself (exp gate)."""
    return F.logsigmoid(f_tilde) if forget_gate == "sigmoid" else f_tilde


def _small_init_(weight: Tensor, fan_in: int) -> None:
    nn.init.normal_(weight, mean=0.0, std=math.sqrt(2.0 / (5.0 * fan_in)))


# ====================================================================================================== mLSTM
class MLSTM(Recurrence):
    """One mLSTM layer (xLSTM's matrix-memory cell) with multiple heads.

    Args:
        input_size: D.
        hidden_size: H, split into ``num_heads`` heads of d = H / num_heads (d × d memory each).
        num_heads: number of heads; must divide ``hidden_size``.
        head_norm: normalise each head's h̃_t before the output gate (official code; default True).
        forget_gate: ``"sigmoid"`` (log f = log σ(f̃), default) or ``"exp"`` (log f = f̃).
        form: how ``forward`` runs a sequence: ``"auto"``, ``"parallel"``, ``"chunkwise"`` or
            ``"recurrent"`` (the same function; see the module docstring). Can be changed later.
        chunk_size: steps per chunk of the chunkwise form (need not divide T).
    """

    State = MLSTMState

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        num_heads: int = 4,
        head_norm: bool = True,
        forget_gate: str = "sigmoid",
        form: str = "auto",
        chunk_size: int = 64,
    ) -> None:
        super().__init__()
        check_sizes("MLSTM", input_size=input_size, hidden_size=hidden_size, chunk_size=chunk_size)
        _check_heads("MLSTM", hidden_size, num_heads)
        _check_forget_gate("MLSTM", forget_gate)
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, hidden_size
        self.num_heads, self.head_size = num_heads, hidden_size // num_heads
        self.head_norm, self.forget_gate = bool(head_norm), forget_gate
        self.form, self.chunk_size = form, chunk_size
        H, NH, D = hidden_size, num_heads, input_size
        self._blocks = (H, H, H, H, NH, NH)  # rows of weight_ih: q, k, v, o, i, f
        self.weight_ih = nn.Parameter(torch.empty(4 * H + 2 * NH, D))
        self.bias_ih = nn.Parameter(torch.empty(4 * H + 2 * NH))
        if self.head_norm:
            self.norm_weight = nn.Parameter(torch.empty(H))  # γ
        else:
            self.register_parameter("norm_weight", None)
        self.reset_parameters()

    @property
    def form(self) -> str:
        return self._form

    @form.setter
    def form(self, form: str) -> None:
        if form not in FORMS:
            raise ValueError(f"MLSTM: unknown form {form!r}; known: {', '.join(FORMS)}")
        self._form = form

    def reset_parameters(self) -> None:
        """The official code's init (module docstring): long memory at start, near-neutral input gate."""
        H, NH = self.hidden_size, self.num_heads
        with torch.no_grad():
            _small_init_(self.weight_ih, self.input_size)
            self.weight_ih[4 * H :].zero_()  # w_i, w_f
            self.bias_ih.zero_()
            nn.init.normal_(self.bias_ih[4 * H : 4 * H + NH], mean=0.0, std=0.1)  # b_i
            self.bias_ih[4 * H + NH :] = torch.linspace(3.0, 6.0, NH)  # b_f
            if self.norm_weight is not None:
                self.norm_weight.fill_(1.0)

    def state_sizes(self) -> tuple[tuple[int, ...], ...]:
        NH, d = self.num_heads, self.head_size
        return ((NH, d, d), (NH, d), (NH,))

    @property
    def fast_path(self) -> str:
        chunkwise = f"chunkwise (chunk_size={self.chunk_size})"
        if self.form == "auto":
            return f"parallel for T ≤ {AUTO_PARALLEL_MAX_T}, {chunkwise} above"
        return chunkwise if self.form == "chunkwise" else self.form

    def form_for(self, T: int) -> str:
        """The form ``forward`` uses for a T-step sequence."""
        if self.form != "auto":
            return self.form
        return "parallel" if T <= AUTO_PARALLEL_MAX_T else "chunkwise"

    # ------------------------------------------------------------------ the equations
    def _normalize(self, h_tilde: Tensor, fused: bool = True) -> Tensor:
        """Each head's (…, d) vector to zero mean, unit variance (if head_norm); γ comes after `_concat`.
        ``fused=False`` spells the formula out (the reference step); ``True`` is torch's layer_norm."""
        if self.norm_weight is None:
            return h_tilde
        if fused:
            return F.layer_norm(h_tilde, (self.head_size,), eps=NORM_EPS)
        mu = h_tilde.mean(dim=-1, keepdim=True)
        var = h_tilde.var(dim=-1, unbiased=False, keepdim=True)
        return (h_tilde - mu) * torch.rsqrt(var + NORM_EPS)

    def _concat(self, h_tilde: Tensor) -> Tensor:
        """(…, heads, d) → (…, H): heads concatenated, times γ (if head_norm)."""
        h = h_tilde.flatten(-2)
        return h if self.norm_weight is None else h * self.norm_weight

    def reference_step(self, x_t: Tensor, state: MLSTMState) -> tuple[Tensor, MLSTMState]:
        NH, d = self.num_heads, self.head_size
        W_q, W_k, W_v, W_o, w_i, w_f = self.weight_ih.split(self._blocks)
        b_q, b_k, b_v, b_o, b_i, b_f = self.bias_ih.split(self._blocks)
        C, n, m = state  # (B, heads, d, d), (B, heads, d), (B, heads)

        q_t = (x_t @ W_q.T + b_q).view(-1, NH, d)  # (B, heads, d)
        k_t = (x_t @ W_k.T + b_k).view(-1, NH, d) / math.sqrt(d)
        v_t = (x_t @ W_v.T + b_v).view(-1, NH, d)
        i_tilde = x_t @ w_i.T + b_i  # (B, heads)
        log_f = _log_forget(x_t @ w_f.T + b_f, self.forget_gate)  # (B, heads)
        o_t = torch.sigmoid(x_t @ W_o.T + b_o)  # (B, H)

        m_t = torch.maximum(log_f + m, i_tilde)
        i_prime = torch.exp(i_tilde - m_t)  # i'_t
        f_prime = torch.exp(log_f + m - m_t)  # f'_t
        C_t = f_prime[..., None, None] * C + i_prime[..., None, None] * (
            k_t[..., :, None] * v_t[..., None, :]
        )
        n_t = f_prime[..., None] * n + i_prime[..., None] * k_t
        numerator = torch.einsum("bhkv,bhk->bhv", C_t, q_t)  # C_tᵀ q_t
        denominator = torch.maximum(torch.einsum("bhk,bhk->bh", n_t, q_t).abs(), torch.exp(-m_t))
        h_tilde = numerator / denominator[..., None]  # (B, heads, d)
        h_t = o_t * self._concat(self._normalize(h_tilde, fused=False))  # (B, H)
        return h_t, MLSTMState(C_t, n_t, m_t)

    # ------------------------------------------------------------------ fast paths
    def _project(self, x: Tensor) -> tuple[Tensor, ...]:
        """All of x's projections in one matmul. (B, T, D) → q, k, v (B, heads, T, d), ĩ, log f
        (B, heads, T), and the output gate's pre-activation (B, T, H)."""
        B, T, _ = x.shape
        NH, d = self.num_heads, self.head_size
        q, k, v, o_pre, i_tilde, f_tilde = F.linear(x, self.weight_ih, self.bias_ih).split(self._blocks, -1)
        q, k, v = (a.view(B, T, NH, d).transpose(1, 2) for a in (q, k, v))  # (B, heads, T, d)
        log_f = _log_forget(f_tilde, self.forget_gate)
        return q, k / math.sqrt(d), v, i_tilde.transpose(1, 2), log_f.transpose(1, 2), o_pre

    def _forward_fast(
        self, x: Tensor, state: MLSTMState, lengths: Tensor | None
    ) -> tuple[Tensor, MLSTMState]:
        T = x.shape[1]
        q, k, v, i_tilde, log_f, o_pre = self._project(x)
        mask = None
        if lengths is not None:  # padded steps become no-ops: f'_t = 1, i'_t = 0, m_t = m_{t-1}
            mask = mask_from_lengths(lengths, T)  # (B, T)
            i_tilde = i_tilde.masked_fill(~mask[:, None, :], -math.inf)
            log_f = log_f.masked_fill(~mask[:, None, :], 0.0)
        form = self.form_for(T)
        if form == "recurrent":
            h_tilde, final = mlstm_recurrent(q, k, v, i_tilde, log_f, state)
        else:
            chunk_size = T if form == "parallel" else self.chunk_size
            h_tilde, final = mlstm_chunkwise(q, k, v, i_tilde, log_f, state, chunk_size)
        h_tilde = self._normalize(h_tilde).transpose(1, 2)  # (B, T, heads, d)
        h = torch.sigmoid(o_pre) * self._concat(h_tilde)  # (B, T, H)
        if mask is not None:
            h = h * mask[:, :, None]
        return h, MLSTMState(*final)

    def _step(self, x_t: Tensor, state: MLSTMState) -> tuple[Tensor, MLSTMState]:
        """One token, with as few ops as the equations allow (streaming cost is per-op overhead)."""
        B, NH, d = x_t.shape[0], self.num_heads, self.head_size
        q, k, v, o_pre, i_tilde, f_tilde = F.linear(x_t, self.weight_ih, self.bias_ih).split(self._blocks, -1)
        log_f = _log_forget(f_tilde, self.forget_gate)  # (B, heads)
        C, n, m = state
        m_t = torch.maximum(log_f + m, i_tilde)
        i_prime = torch.exp(i_tilde - m_t).view(B, NH, 1) / math.sqrt(d)  # i'_t, with k's 1/√d
        f_prime = torch.exp(log_f + m - m_t).view(B, NH, 1)
        ik = i_prime * k.view(B, NH, d)  # i'_t k_t
        C_t = torch.addcmul(f_prime[..., None] * C, ik[..., :, None], v.view(B, NH, 1, d))
        n_t = f_prime * n + ik
        q = q.view(B, NH, 1, d)
        numerator = (q @ C_t).view(B, NH, d)  # C_tᵀ q_t
        denominator = torch.maximum((q @ n_t[..., None]).view(B, NH).abs(), torch.exp(-m_t))
        h_tilde = numerator / denominator[..., None]
        h_t = torch.sigmoid(o_pre) * self._concat(self._normalize(h_tilde))  # (B, H)
        return h_t, MLSTMState(C_t, n_t, m_t)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, num_heads={self.num_heads}"
        if not self.head_norm:
            s += ", head_norm=False"
        if self.forget_gate != "sigmoid":
            s += f", forget_gate={self.forget_gate!r}"
        if self.form != "auto":
            s += f", form={self.form!r}"
        if self.chunk_size != 64:
            s += f", chunk_size={self.chunk_size}"
        return s


def mlstm_recurrent(
    q: Tensor, k: Tensor, v: Tensor, i_tilde: Tensor, log_f: Tensor, state: MLSTMState
) -> tuple[Tensor, MLSTMState]:
    """The mLSTM's recurrent form over precomputed projections.

    q, k (scaled by 1/√d), v: (B, heads, T, d); i_tilde, log_f: (B, heads, T); state (C, n, m) as in
    ``MLSTMState``. Returns h̃ (B, heads, T, d) and the final state.
    """
    C, n, m = state
    h_tildes = []
    # unbind, not indexing: indexing's backward writes a full-size zero tensor for every step
    for q_t, k_t, v_t, i_t, log_f_t in zip(*(a.unbind(2) for a in (q, k, v, i_tilde, log_f))):
        m_t = torch.maximum(log_f_t + m, i_t)  # (B, heads)
        i_prime = torch.exp(i_t - m_t)[..., None]  # (B, heads, 1)
        f_prime = torch.exp(log_f_t + m - m_t)[..., None]
        C = f_prime[..., None] * C + (i_prime * k_t)[..., :, None] * v_t[..., None, :]  # (B, heads, d, d)
        n = f_prime * n + i_prime * k_t  # (B, heads, d)
        numerator = (q_t[..., None, :] @ C).squeeze(-2)  # C_tᵀ q_t: (B, heads, d)
        denominator = torch.maximum((n * q_t).sum(-1).abs(), torch.exp(-m_t))  # (B, heads)
        h_tildes.append(numerator / denominator[..., None])
        m = m_t
    return torch.stack(h_tildes, dim=2), MLSTMState(C, n, m)  # (B, heads, T, d)


def mlstm_chunkwise(
    q: Tensor, k: Tensor, v: Tensor, i_tilde: Tensor, log_f: Tensor, state: MLSTMState, chunk_size: int
) -> tuple[Tensor, MLSTMState]:
    """The mLSTM's chunkwise form; with ``chunk_size >= T`` it is the parallel (D-matrix) form.

    Same arguments and result as `mlstm_recurrent`. T is padded up to a multiple of L = chunk_size with
    no-op steps (log f = 0, ĩ = −inf). Within chunk j, with b_t = Σ log f over the chunk up to t:

    - the chunk's own writes reach its end with log weights a_s = b_L − b_s + ĩ_s; the state is carried
      from chunk to chunk by m' = max(b_L + m, max_s a_s),
      C' = e^{b_L + m − m'} C + Σ_s e^{a_s − m'} k_s v_sᵀ (and n' alike);
    - step t reads log D_ts = b_t − b_s + ĩ_s (s ≤ t) and the chunk's start state with log weight
      b_t + m; the row maximum of these is the recurrence's m_t.
    """
    C0, n0, m0 = state
    B, NH, T, d = q.shape
    L = min(chunk_size, T)
    N = -(-T // L)  # chunks
    pad = N * L - T
    if pad:
        q, k, v = (F.pad(a, (0, 0, 0, pad)) for a in (q, k, v))
        i_tilde = F.pad(i_tilde, (0, pad), value=-math.inf)
        log_f = F.pad(log_f, (0, pad), value=0.0)
    q, k, v = (a.reshape(B, NH, N, L, d) for a in (q, k, v))  # (B, heads, N, L, d)
    i_tilde = i_tilde.reshape(B, NH, N, L)
    b = log_f.reshape(B, NH, N, L).cumsum(-1)  # (B, heads, N, L)
    b_L = b[..., -1]  # (B, heads, N): log of the whole chunk's forget product

    # Each chunk's writes, summed as they stand at its end, relative to their own maximum. A chunk of
    # padding only has a_s = −inf; its maximum is clamped to a finite number so e^{a − max} is 0, not NaN.
    a = b_L[..., None] - b + i_tilde  # (B, heads, N, L)
    a_max = a.amax(-1).clamp_min(torch.finfo(a.dtype).min)  # (B, heads, N)
    k_weighted = k * torch.exp(a - a_max[..., None])[..., None]  # (B, heads, N, L, d)
    kv = k_weighted.transpose(-1, -2) @ v  # (B, heads, N, d, d)
    k_sum = k_weighted.sum(-2)  # (B, heads, N, d)

    # The recurrence on chunks: the state at the start of every chunk, and the final state.
    C, n, m = C0, n0, m0
    starts = []
    for b_L_j, a_max_j, kv_j, k_sum_j in zip(*(a.unbind(2) for a in (b_L, a_max, kv, k_sum))):
        starts.append((C, n, m))
        m_next = torch.maximum(b_L_j + m, a_max_j)  # (B, heads)
        decay = torch.exp(b_L_j + m - m_next)[..., None]  # (B, heads, 1)
        scale = torch.exp(a_max_j - m_next)[..., None]
        C = decay[..., None] * C + scale[..., None] * kv_j
        n = decay * n + scale * k_sum_j
        m = m_next
    C_start, n_start, m_start = (torch.stack(s, dim=2) for s in zip(*starts))  # (B, heads, N, …)

    # Outputs: the D matrix within each chunk, plus the chunk's start state. log D_ts = b_t − c_s (s ≤ t)
    # with c_s = b_s − ĩ_s, so its row maximum is b_t − min_{s≤t} c_s: a cumulative minimum, no L × L pass.
    # h̃_t does not depend on the stabiliser m_t (it cancels between numerator and denominator), so m_t
    # is computed without gradient; the state's m above is not.
    c = b - i_tilde  # (B, heads, N, L)
    log_g = b + m_start[..., None]  # (B, heads, N, L): log weight of the start state in step t
    with torch.no_grad():
        m_t = torch.maximum(b - c.cummin(-1).values, log_g)  # (B, heads, N, L): the recurrence's m_t
    causal = torch.ones(L, L, dtype=torch.bool, device=q.device).tril()
    log_D = ((b - m_t)[..., :, None] - c[..., None, :]).masked_fill(~causal, -math.inf)  # log D_ts − m_t
    S = (q @ k.transpose(-1, -2)) * torch.exp(log_D)  # (B, heads, N, L, L)
    g = torch.exp(log_g - m_t)[..., None]  # (B, heads, N, L, 1)
    numerator = S @ v + g * (q @ C_start)  # (B, heads, N, L, d)
    denominator = S.sum(-1) + g[..., 0] * (q @ n_start[..., None])[..., 0]  # (B, heads, N, L)
    h_tilde = numerator / torch.maximum(denominator.abs(), torch.exp(-m_t))[..., None]
    h_tilde = h_tilde.reshape(B, NH, N * L, d)[:, :, :T]  # (B, heads, T, d)
    return h_tilde, MLSTMState(C, n, m)


# ====================================================================================================== sLSTM
class SLSTM(Recurrence):
    """One sLSTM layer (xLSTM's scalar-memory cell with exponential gating and per-head memory mixing).

    Args:
        input_size: D.
        hidden_size: H.
        num_heads: number of heads; the recurrent weights are block-diagonal with one
            (H/heads × H/heads) block per head and gate. Must divide ``hidden_size``.
        forget_gate: ``"sigmoid"`` (log f = log σ(f̃), default) or ``"exp"`` (log f = f̃).
    """

    State = SLSTMState

    def __init__(
        self, input_size: int, hidden_size: int, *, num_heads: int = 4, forget_gate: str = "sigmoid"
    ) -> None:
        super().__init__()
        check_sizes("SLSTM", input_size=input_size, hidden_size=hidden_size)
        _check_heads("SLSTM", hidden_size, num_heads)
        _check_forget_gate("SLSTM", forget_gate)
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, hidden_size
        self.num_heads, self.head_size = num_heads, hidden_size // num_heads
        self.forget_gate = forget_gate
        H, D, d = hidden_size, input_size, self.head_size
        self.weight_ih = nn.Parameter(torch.empty(4 * H, D))  # [W_i; W_f; W_z; W_o]
        self.bias = nn.Parameter(torch.empty(4 * H))
        self.weight_hh = nn.Parameter(torch.empty(num_heads, 4 * d, d))  # per head [R_i; R_f; R_z; R_o]
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The official code's init (module docstring): R = 0, forget biases linspace(3, 6) per head."""
        H, d = self.hidden_size, self.head_size
        with torch.no_grad():
            _small_init_(self.weight_ih, self.input_size)
            self.weight_hh.zero_()
            self.bias.zero_()
            self.bias[H : 2 * H] = torch.linspace(3.0, 6.0, d).repeat(self.num_heads)

    def state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size,) * 4

    @property
    def fast_path(self) -> str:
        return "autograd loop over precomputed input projections (one batched per-head matmul a step)"

    def recurrent_matrix(self) -> Tensor:
        """R as one dense (4H, H) matrix, block-diagonal within each gate: rows [R_i; R_f; R_z; R_o]."""
        d = self.head_size
        blocks = self.weight_hh.split(d, dim=1)  # per gate: (heads, d, d)
        return torch.cat([torch.block_diag(*R_gate.unbind(0)) for R_gate in blocks], dim=0)

    def reference_step(self, x_t: Tensor, state: SLSTMState) -> tuple[Tensor, SLSTMState]:
        H = self.hidden_size
        W_i, W_f, W_z, W_o = self.weight_ih.split(H)
        R_i, R_f, R_z, R_o = self.recurrent_matrix().split(H)
        b_i, b_f, b_z, b_o = self.bias.split(H)
        h, c, n, m = state

        z_t = torch.tanh(x_t @ W_z.T + h @ R_z.T + b_z)
        i_tilde = x_t @ W_i.T + h @ R_i.T + b_i
        log_f = _log_forget(x_t @ W_f.T + h @ R_f.T + b_f, self.forget_gate)
        o_t = torch.sigmoid(x_t @ W_o.T + h @ R_o.T + b_o)
        m_t = torch.maximum(log_f + m, i_tilde)
        i_prime = torch.exp(i_tilde - m_t)  # i'_t
        f_prime = torch.exp(log_f + m - m_t)  # f'_t
        c_t = f_prime * c + i_prime * z_t
        n_t = f_prime * n + i_prime
        h_t = o_t * c_t / n_t
        return h_t, SLSTMState(h_t, c_t, n_t, m_t)

    # ------------------------------------------------------------------ fast paths
    def _run(self, gx: Tensor, state: SLSTMState) -> tuple[list[tuple[Tensor, ...]], SLSTMState]:
        """The loop. gx = W x + b as (T, heads, B, 4·d), gate-major within a head; state fields are
        turned into (heads, B, d). Returns every step's (h, c, n, m) in that layout, and the last."""
        B, NH, d = gx.shape[2], self.num_heads, self.head_size
        R = self.weight_hh.transpose(1, 2)  # (heads, d, 4·d): h (B, d) @ R → that head's 4 gates
        h, c, n, m = (s.reshape(B, NH, d).transpose(0, 1) for s in state)  # (heads, B, d)
        steps = []
        for gx_t in gx.unbind(0):
            a = torch.baddbmm(gx_t, h, R)  # (heads, B, 4·d)
            i_tilde, f_tilde, z_pre, o_pre = a.chunk(4, dim=-1)
            log_f = _log_forget(f_tilde, self.forget_gate)
            m_t = torch.maximum(log_f + m, i_tilde)
            i_prime = torch.exp(i_tilde - m_t)
            f_prime = torch.exp(log_f + m - m_t)
            c = f_prime * c + i_prime * torch.tanh(z_pre)
            n = f_prime * n + i_prime
            h = torch.sigmoid(o_pre) * c / n
            m = m_t
            steps.append((h, c, n, m))
        return steps, _from_heads(SLSTMState(h, c, n, m))

    def _gates_by_head(self, x: Tensor) -> Tensor:
        """(B, T, D) → W x + b as (T, heads, B, 4·d): one matmul for every step."""
        B, T, _ = x.shape
        NH, d = self.num_heads, self.head_size
        gx = F.linear(x, self.weight_ih, self.bias).view(B, T, 4, NH, d)  # (B, T, gate, head, d)
        return gx.permute(1, 3, 0, 2, 4).reshape(T, NH, B, 4 * d)

    def _step(self, x_t: Tensor, state: SLSTMState) -> tuple[Tensor, SLSTMState]:
        """One token on (B, H) tensors: the per-head recurrent product is one bmm, the rest elementwise."""
        B, NH, d, H = x_t.shape[0], self.num_heads, self.head_size, self.hidden_size
        h, c, n, m = state
        Rh = torch.bmm(h.reshape(B, NH, d).transpose(0, 1), self.weight_hh.transpose(1, 2))  # (heads, B, 4·d)
        Rh = Rh.view(NH, B, 4, d).permute(1, 2, 0, 3).reshape(B, 4 * H)  # gate-major, like W x
        a = torch.addmm(Rh, x_t, self.weight_ih.T) + self.bias  # (B, 4H)
        i_tilde, f_tilde, z_pre, o_pre = a.split(H, dim=1)
        log_f = _log_forget(f_tilde, self.forget_gate)
        m_t = torch.maximum(log_f + m, i_tilde)
        i_prime = torch.exp(i_tilde - m_t)
        f_prime = torch.exp(log_f + m - m_t)
        c_t = torch.addcmul(f_prime * c, i_prime, torch.tanh(z_pre))
        n_t = f_prime * n + i_prime
        h_t = torch.sigmoid(o_pre) * c_t / n_t
        return h_t, SLSTMState(h_t, c_t, n_t, m_t)

    def _forward_fast(
        self, x: Tensor, state: SLSTMState, lengths: Tensor | None
    ) -> tuple[Tensor, SLSTMState]:
        steps, final = self._run(self._gates_by_head(x), state)
        if lengths is None:
            return _stack_heads([s[0] for s in steps]), final
        every_step = tuple(_stack_heads(field) for field in zip(*steps))  # 4 × (B, T, H)
        return self._finish(every_step[0], every_step, lengths)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, num_heads={self.num_heads}"
        return s + ("" if self.forget_gate == "sigmoid" else f", forget_gate={self.forget_gate!r}")


def _from_heads(state: SLSTMState) -> SLSTMState:
    """(heads, B, d) fields → (B, H)."""
    return SLSTMState(*(s.transpose(0, 1).flatten(1) for s in state))


def _stack_heads(steps: list[Tensor] | tuple[Tensor, ...]) -> Tensor:
    """T × (heads, B, d) → (B, T, H)."""
    stacked = torch.stack(steps, dim=0)  # (T, heads, B, d)
    return stacked.permute(2, 0, 1, 3).flatten(2)
