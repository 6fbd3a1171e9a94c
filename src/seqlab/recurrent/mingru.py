"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?", arXiv 2410.01201).

Strip the GRU and the LSTM of every dependence of their gates on h_{t-1}, and what is left is a *linear*
recurrence in h, whose coefficients come from x_t alone — so a whole sequence is one matmul plus a
linear scan (`seqlab.recurrent.scan`), not T dependent matmuls.

minGRU (one step; x_t ∈ R^D, h_t ∈ R^H; ⊙ elementwise)::

    z_t = σ(W_z x_t + b_z)                           # update gate, from x_t only
    h̃_t = W_h x_t + b_h                              # candidate, no tanh, no reset gate
    h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t

minLSTM::

    i_t = σ(W_i x_t + b_i),   f_t = σ(W_f x_t + b_f)
    h̃_t = W_h x_t + b_h
    f'_t = f_t / (f_t + i_t),   i'_t = i_t / (f_t + i_t)     # normalised: f'_t + i'_t = 1
    h_t = f'_t ⊙ h_{t-1} + i'_t ⊙ h̃_t                       # no cell, no output gate: h_t is the cell

Both are h_t = a_t ⊙ h_{t-1} + b_t. minLSTM is a minGRU whose update gate is i'_t = σ(u_t) with
u_t = log i_t − log f_t = softplus(−W_f x_t − b_f) − softplus(−W_i x_t − b_i); the fast paths use that
form, which cannot divide 0 by 0 when both gates underflow.

Options:

- ``positive`` (the paper's log-space variant, its Appendix B.3): h̃_t = g(W_h x_t + b_h) with
  g(x) = x + 0.5 for x ≥ 0 and σ(x) otherwise, so every h̃_t > 0 and h_t stays positive from a positive
  h_0. Needed by ``scan="log"``, which takes log h̃_t.
- ``scan``: how the fast path runs the linear recurrence — ``"auto"`` (the default; the sequential scan
  on CPU, see `seqlab.recurrent.scan`), ``"sequential"``, ``"chunked"`` or ``"log"`` (Heinsen's
  log-space scan, as in the paper: log a_t = −softplus(u_t), log b_t = −softplus(−u_t) + log g(·)).
  All four compute the same function; they differ in speed and float rounding.
- ``bias``: ``False`` drops every bias (minGRU-pytorch's layers have none).
- ``output_size``: add y_t = W_out h_t (+ b_out) and return y_t as the layer's output; the state stays
  h_t. With D ≠ H this is minGRU-pytorch's ``expansion_factor`` with ``proj_out``.

Parameters: ``weight_ih`` (G·H, D) and ``bias_ih`` (G·H), row blocks in torch's habit of gates first,
candidate last — minGRU (z, h̃), minLSTM (i, f, h̃) — and ``output`` (an ``nn.Linear``) when
``output_size`` is set. ``from_mingru_pytorch`` copies the weights of minGRU-pytorch's ``minGRU`` /
``minLSTM`` (https://github.com/lucidrains/minGRU-pytorch), whose blocks are ordered (h̃, z) and
(h̃, f, i).

Deliberate deviations from minGRU-pytorch: a non-zero initial state enters the log-space scan as
A_t ⊙ h_0 (any sign) rather than through log h_0 (which needs h_0 > 0); its minLSTM passes h_0
through g in its parallel form but not in its one-step form — seqlab uses h_0 as given in both.

Fast path: one matmul W x + b over the whole (B, T, D) input, then the scan. The sequential scan (what
``"auto"`` picks on CPU) runs as one autograd node, `_GatedScan`: σ, the per-step ``lerp`` and a
hand-written backward, writing the gradient of both blocks into one tensor — about 3x faster than
``torch.nn.GRU`` for fwd+bwd at B=16, D=H=256, T=1024 on one CPU thread (``benchmarks/modern.py``).
The per-token ``step`` is the same maths on one (B, D) row.

Variable lengths: the fast path computes every step, masks the outputs past each length, and gathers
the final state at lengths − 1 (`Recurrence._finish`), which is exact for a forward recurrence.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import FunctionCtx, once_differentiable

from .base import Recurrence, check_sizes
from .scan import SCAN_METHODS, auto_scan_method, linear_scan, log_linear_scan

__all__ = ["MinGRU", "MinGRUState", "MinLSTM", "MinLSTMState", "g", "log_g"]


class MinGRUState(NamedTuple):
    h: Tensor  # (B, H)


class MinLSTMState(NamedTuple):
    h: Tensor  # (B, H)


def g(x: Tensor) -> Tensor:
    """The paper's positive map: x + 0.5 for x ≥ 0, σ(x) below (continuous, > 0, linear growth)."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: Tensor) -> Tensor:
    """log g(x), computed without forming g(x) for x < 0: −softplus(−x) = log σ(x)."""
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


class _MinimalRNN(Recurrence):
    """What minGRU and minLSTM share: h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t with z_t = σ(u_t).

    Subclasses name their row blocks and say how u_t is formed from the gate pre-activations.
    """

    blocks: tuple[str, ...]  # row blocks of weight_ih, the candidate h̃ last
    _mingru_pytorch_class: str  # the matching class of minGRU-pytorch ...
    _mingru_pytorch_projection: str  # ... the name of its input Linear ...
    _mingru_pytorch_blocks: tuple[str, ...]  # ... and that Linear's row blocks

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        positive: bool = False,
        bias: bool = True,
        output_size: int | None = None,
        scan: str = "auto",
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_sizes(name, input_size=input_size, hidden_size=hidden_size)
        if output_size is not None:
            check_sizes(name, output_size=output_size)
        if scan not in SCAN_METHODS:
            raise ValueError(f"{name}: unknown scan {scan!r}; known: {', '.join(SCAN_METHODS)}")
        if scan == "log" and not positive:
            raise ValueError(
                f"{name}: scan='log' works in log space and needs every h̃_t > 0; pass positive=True "
                "(the paper's g), or use scan='auto', 'sequential' or 'chunked', which take any h̃_t"
            )
        self.input_size, self.hidden_size = input_size, hidden_size
        self.output_size = hidden_size if output_size is None else output_size
        self.positive, self.bias, self.scan = bool(positive), bool(bias), scan
        G, H, D = len(self.blocks), hidden_size, input_size
        self.weight_ih = nn.Parameter(torch.empty(G * H, D))
        if self.bias:
            self.bias_ih = nn.Parameter(torch.empty(G * H))
        else:
            self.register_parameter("bias_ih", None)
        self.output = None if output_size is None else nn.Linear(H, output_size, bias=self.bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """nn.Linear's init (these are plain linear maps of x_t): every entry ~ U(−1/√D, 1/√D)."""
        bound = 1.0 / math.sqrt(self.input_size)
        nn.init.uniform_(self.weight_ih, -bound, bound)
        if self.bias_ih is not None:
            nn.init.uniform_(self.bias_ih, -bound, bound)
        if self.output is not None:
            self.output.reset_parameters()

    def state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size,)

    fusable = False  # no torch kernel computes it (`Recurrent` asks every layer)

    @property
    def fast_path(self) -> str:
        return f"one matmul + linear scan ({self.scan})"

    # ------------------------------------------------------------------ the equations
    def _project_input(self, x: Tensor) -> Tensor:
        """W x + b for every block at once: (…, D) → (…, G·H)."""
        return F.linear(x, self.weight_ih, self.bias_ih)

    def _candidate(self, k_h: Tensor) -> Tensor:
        """h̃ from its pre-activation: identity, or g when ``positive``."""
        return g(k_h) if self.positive else k_h

    def _update_logit(self, pre: Tensor) -> tuple[Tensor, Tensor]:
        """(…, G·H) pre-activations → u (the update gate is σ(u)) and h̃'s pre-activation, (…, H) each."""
        raise NotImplementedError

    def _output(self, h: Tensor) -> Tensor:
        return h if self.output is None else self.output(h)

    # ------------------------------------------------------------------ fast paths
    def _step(self, x_t: Tensor, state) -> tuple[Tensor, NamedTuple]:
        u_t, k_h = self._update_logit(self._project_input(x_t))
        h_t = torch.lerp(state.h, self._candidate(k_h), torch.sigmoid(u_t))  # (1 − z) h + z h̃
        return self._output(h_t), self.State(h_t)

    def _forward_fast(self, x: Tensor, state, lengths: Tensor | None) -> tuple[Tensor, NamedTuple]:
        pre = self._project_input(x)  # (B, T, G·H), one matmul for all steps
        method = auto_scan_method(x.device, x.shape[1]) if self.scan == "auto" else self.scan
        if method == "sequential":  # the gates and the scan as one autograd node
            h = _GatedScan.apply(self._gate_input(pre), state.h, self.positive)  # (B, T, H)
            return self._finish(self._output(h), (h,), lengths)
        u, k_h = self._update_logit(pre)  # (B, T, H) each
        if method == "log":
            log_a = -F.softplus(u)  # log(1 − z_t)
            log_b = -F.softplus(-u) + log_g(k_h)  # log(z_t ⊙ h̃_t)
            h = torch.exp(log_linear_scan(log_a, log_b))  # (B, T, H), from h_0 = 0
            h = h + torch.exp(torch.cumsum(log_a, dim=1)) * state.h[:, None]  # + (Π_{s≤t} a_s) ⊙ h_0
        else:
            z = torch.sigmoid(u)
            a = 1.0 - z  # (B, T, H)
            b = z * self._candidate(k_h)  # (B, T, H)
            h = linear_scan(a, b, state.h, method=method)  # (B, T, H)
        return self._finish(self._output(h), (h,), lengths)

    def _gate_input(self, pre: Tensor) -> Tensor:
        """[u, k_h] side by side, (B, T, 2H): what `_GatedScan` reads."""
        return torch.cat(self._update_logit(pre), dim=-1)

    # ------------------------------------------------------------------ minGRU-pytorch
    @classmethod
    def from_mingru_pytorch(cls, module: nn.Module, *, scan: str = "log"):
        """The layer computing what minGRU-pytorch's ``module`` computes, with a copy of its weights.

        ``module`` is a ``minGRU_pytorch.minGRU`` (for ``MinGRU``) or ``minGRU_pytorch.minLSTM`` (for
        ``MinLSTM``). The result has ``positive=True, bias=False`` and an output layer when ``module``
        has one (``proj_out``). ``scan="log"`` runs the same log-space maths as minGRU-pytorch;
        any other scan agrees to float rounding. Its ``prev_hidden`` (B, 1, H) is our
        ``State(prev_hidden[:, 0])``.
        """
        projection = getattr(module, cls._mingru_pytorch_projection, None)
        if not isinstance(projection, nn.Linear) or projection.bias is not None:
            raise ValueError(
                f"{cls.__name__}.from_mingru_pytorch: expected a minGRU_pytorch "
                f"{cls._mingru_pytorch_class} (with a bias-free Linear .{cls._mingru_pytorch_projection}), "
                f"got {type(module).__name__}"
            )
        D = projection.in_features
        G = len(cls.blocks)
        H = projection.out_features // G
        to_out = getattr(module, "to_out", None)
        output_size = to_out.out_features if isinstance(to_out, nn.Linear) else None
        layer = cls(D, H, positive=True, bias=False, output_size=output_size, scan=scan)
        layer = layer.to(device=projection.weight.device, dtype=projection.weight.dtype)
        theirs = dict(zip(cls._mingru_pytorch_blocks, projection.weight.detach().split(H, dim=0)))
        with torch.no_grad():
            layer.weight_ih.copy_(torch.cat([theirs[block] for block in cls.blocks], dim=0))
            if output_size is not None:
                layer.output.weight.copy_(to_out.weight)
        return layer

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.positive:
            s += ", positive=True"
        if not self.bias:
            s += ", bias=False"
        if self.output is not None:
            s += f", output_size={self.output_size}"
        return s + ("" if self.scan == "auto" else f", scan={self.scan!r}")


class MinGRU(_MinimalRNN):
    """One minGRU layer: h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t, gates from x_t only.

    Args:
        input_size: D.
        hidden_size: H.
        positive: pass h̃ through the paper's g (> 0); required by ``scan="log"``.
        bias: ``False`` drops every bias (as minGRU-pytorch).
        output_size: if given, add an output layer H → output_size.
        scan: ``"auto"`` | ``"sequential"`` | ``"chunked"`` | ``"log"``, see `seqlab.recurrent.scan`.
    """

    State = MinGRUState
    blocks = ("z", "h")
    _mingru_pytorch_class = "minGRU"
    _mingru_pytorch_projection = "to_hidden_and_gate"
    _mingru_pytorch_blocks = ("h", "z")

    def reference_step(self, x_t: Tensor, state: MinGRUState) -> tuple[Tensor, MinGRUState]:
        H = self.hidden_size
        W_z, W_h = self.weight_ih[:H], self.weight_ih[H:]
        b_z, b_h = (0.0, 0.0) if self.bias_ih is None else (self.bias_ih[:H], self.bias_ih[H:])
        z_t = torch.sigmoid(x_t @ W_z.T + b_z)
        h_tilde = x_t @ W_h.T + b_h
        if self.positive:
            h_tilde = g(h_tilde)
        h_t = (1 - z_t) * state.h + z_t * h_tilde
        return self._output(h_t), MinGRUState(h_t)

    def _update_logit(self, pre: Tensor) -> tuple[Tensor, Tensor]:
        k_z, k_h = pre.chunk(2, dim=-1)  # z_t = σ(k_z)
        return k_z, k_h

    def _gate_input(self, pre: Tensor) -> Tensor:
        return pre  # already [k_z, k_h]


class MinLSTM(_MinimalRNN):
    """One minLSTM layer: h_t = f'_t ⊙ h_{t-1} + i'_t ⊙ h̃_t with normalised gates from x_t only.

    Args: as `MinGRU`.
    """

    State = MinLSTMState
    blocks = ("i", "f", "h")
    _mingru_pytorch_class = "minLSTM"
    _mingru_pytorch_projection = "to_hidden_and_f_i_gate"
    _mingru_pytorch_blocks = ("h", "f", "i")

    def reference_step(self, x_t: Tensor, state: MinLSTMState) -> tuple[Tensor, MinLSTMState]:
        H = self.hidden_size
        W_i, W_f, W_h = self.weight_ih[:H], self.weight_ih[H : 2 * H], self.weight_ih[2 * H :]
        if self.bias_ih is None:
            b_i = b_f = b_h = 0.0
        else:
            b_i, b_f, b_h = self.bias_ih[:H], self.bias_ih[H : 2 * H], self.bias_ih[2 * H :]
        i_t = torch.sigmoid(x_t @ W_i.T + b_i)
        f_t = torch.sigmoid(x_t @ W_f.T + b_f)
        h_tilde = x_t @ W_h.T + b_h
        if self.positive:
            h_tilde = g(h_tilde)
        f_prime, i_prime = f_t / (f_t + i_t), i_t / (f_t + i_t)
        h_t = f_prime * state.h + i_prime * h_tilde
        return self._output(h_t), MinLSTMState(h_t)

    def _update_logit(self, pre: Tensor) -> tuple[Tensor, Tensor]:
        k_i, k_f, k_h = pre.chunk(3, dim=-1)
        u = F.softplus(-k_f) - F.softplus(-k_i)  # log i_t − log f_t: i'_t = σ(u), f'_t = σ(−u)
        return u, k_h


class _GatedScan(torch.autograd.Function):
    """h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t with z_t = σ(u_t), h̃_t = k_t or g(k_t): one node, two loops.

    Input ``pre`` = [u, k] (B, T, 2H). The forward is one ``lerp`` per step into a preallocated output.
    Backward, with G_t the total gradient reaching h_t (the reverse scan of `seqlab.recurrent.scan`)::

        G_t = ∂L/∂h_t + (1 − z_{t+1}) ⊙ G_{t+1}
        ∂L/∂k_t = G_t ⊙ z_t ⊙ g'(k_t)                       (g' = 1 without ``positive``)
        ∂L/∂u_t = G_t ⊙ (h̃_t − h_{t-1}) ⊙ z_t ⊙ (1 − z_t)
        ∂L/∂h_0 = (1 − z_1) ⊙ G_1

    written straight into one (B, T, 2H) gradient, so the matmul before it gets one contiguous tensor.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, pre: Tensor, h0: Tensor, positive: bool) -> Tensor:
        H = pre.shape[-1] // 2
        u, k = pre[..., :H], pre[..., H:]
        z = torch.sigmoid(u)  # (B, T, H)
        h_tilde = g(k) if positive else k  # (B, T, H)
        h = torch.empty_like(z)  # (B, T, H)
        h_prev = h0
        for h_tilde_t, z_t, h_t in zip(h_tilde.unbind(1), z.unbind(1), h.unbind(1)):
            torch.lerp(h_prev, h_tilde_t, z_t, out=h_t)
            h_prev = h_t
        ctx.positive = positive
        ctx.save_for_backward(pre, h0, z, h_tilde, h)
        return h

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad_h: Tensor) -> tuple[Tensor | None, Tensor | None, None]:
        pre, h0, z, h_tilde, h = ctx.saved_tensors
        T, H = h.shape[1:]
        a = torch.rsub(z, 1.0)  # (B, T, H): 1 − z_t
        G = torch.empty_like(h)  # (B, T, H): total gradient reaching h_t
        grads, a_steps, G_steps = grad_h.unbind(1), a.unbind(1), G.unbind(1)
        G_steps[T - 1].copy_(grads[T - 1])
        for t in range(T - 2, -1, -1):
            torch.addcmul(grads[t], a_steps[t + 1], G_steps[t + 1], out=G_steps[t])

        d_pre = torch.empty_like(pre)  # (B, T, 2H): [∂L/∂u, ∂L/∂k]
        d_u, d_k = d_pre[..., :H], d_pre[..., H:]
        torch.mul(G, z, out=d_k)  # G ⊙ z, before g'
        torch.sub(h_tilde[:, 1:], h[:, :-1], out=d_u[:, 1:])  # h̃_t − h_{t-1}
        torch.sub(h_tilde[:, 0], h0, out=d_u[:, 0])
        d_u.mul_(d_k).mul_(a)  # ⊙ G ⊙ z ⊙ (1 − z)
        if ctx.positive:  # g'(k) = 1 for k ≥ 0, σ'(k) below
            k = pre[..., H:]
            s = torch.sigmoid(k)
            d_k.mul_(torch.where(k >= 0, torch.ones_like(s), s * (1 - s)))
        d_h0 = a[:, 0] * G[:, 0] if ctx.needs_input_grad[1] else None
        return d_pre, d_h0, None
