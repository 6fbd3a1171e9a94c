"""Hand-written BPTT for the peephole and coupled LSTMs: the fast training path torch has no kernel for.

Forward (one step; gate order i, f, g, o — or f, g, o when coupled; gx_t = W_ih x_t + b is given, so
the recurrence itself has no bias; p = 0 without peepholes)::

    a_t = gx_t + W_hh h_{t-1}                        # one (B, H)×(H, G·H) matmul
    i_t = σ(a_i + p_i ⊙ c_{t-1})                    # coupled: i_t = 1 − f_t
    f_t = σ(a_f + p_f ⊙ c_{t-1})
    g_t = tanh(a_g)                                  # the chapter's c̃_t
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t                 # coupled: lerp(g_t, c_{t-1}, f_t)
    o_t = σ(a_o + p_o ⊙ c_t)
    h_t = o_t ⊙ tanh(c_t)

Backward. δh_t, δc_t are the total gradients reaching h_t, c_t (from the outputs and from step t+1).
Every factor in brackets depends only on the forward pass, so it is computed for all steps at once
before the reverse loop::

    δa_o     = δh_t ⊙ [tanh(c_t) ⊙ o_t(1 − o_t)]
    δc_t    += δh_t ⊙ [o_t ⊙ (1 − tanh²(c_t)) + p_o ⊙ tanh(c_t) ⊙ o_t(1 − o_t)]
    δa_i     = δc_t ⊙ [g_t ⊙ i_t(1 − i_t)]
    δa_f     = δc_t ⊙ [c_{t-1} ⊙ f_t(1 − f_t)]           # coupled: (c_{t-1} − g_t) for c_{t-1}
    δa_g     = δc_t ⊙ [i_t ⊙ (1 − g_t²)]
    δc_{t-1} = δc_t ⊙ [f_t + p_i ⊙ (…δa_i factor) + p_f ⊙ (…δa_f factor)]   # the forget gate carries it
    δh_{t-1} = ∂L/∂h_{t-1} (from outside) + W_hhᵀ δa_t

    ∂L/∂gx_t = δa_t          ∂L/∂W_hh = Σ_t δa_tᵀ h_{t-1}
    ∂L/∂p_{i,f} = Σ_t δa_{i,f} ⊙ c_{t-1}          ∂L/∂p_o = Σ_t δa_o ⊙ c_t

That leaves five small kernels and one matmul per step backward (ten kernels forward); the weight and
peephole gradients are single reductions over all B·T rows after the loop. The reference is
``LSTM._cell`` run by autograd; the tests assert they agree. Double backward is not supported.

On CPU in float32 the elementwise work of a step runs instead as one fused C loop (``csrc/lstm_step.c``,
the same equations, compiled on first use; see ``native.py``): one matmul and one loop per step, forward
and backward, with no precomputed factors. The torch kernels here remain the path everywhere else
(float64, CUDA, no C compiler), and the tests assert the two agree.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx, once_differentiable

from .native import OutsideGrads, Strided, kernels_for, packed_matmul

__all__ = ["lstm_sequence"]


def lstm_sequence(
    gx: Tensor, h0: Tensor, c0: Tensor, weight_hh: Tensor, peephole: Tensor | None, coupled: bool
) -> tuple[Tensor, Tensor]:
    """Run a peephole and/or coupled LSTM over a whole sequence.

    Args:
        gx: (B, T, G·H) input projections W_ih x_t + b; G = 4 (i, f, g, o) or 3 when coupled (f, g, o).
        h0, c0: (B, H) initial state.
        weight_hh: (G·H, H) recurrent weights.
        peephole: (G − 1, H) diagonal peephole weights (p_i, p_f, p_o or p_f, p_o), or None.
        coupled: i_t = 1 − f_t.

    Returns:
        h_t and c_t for every step t, each (B, T, H).
    """
    return _LSTMSequence.apply(gx, h0, c0, weight_hh, peephole, coupled)


class _LSTMSequence(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: FunctionCtx,
        gx: Tensor,
        h0: Tensor,
        c0: Tensor,
        weight_hh: Tensor,
        peephole: Tensor | None,
        coupled: bool,
    ) -> tuple[Tensor, Tensor]:
        B, T, GH = gx.shape
        H = weight_hh.shape[1]
        G = GH // H
        opts = {"dtype": gx.dtype, "device": gx.device}
        gates = torch.empty(T, B, G, H, **opts)  # activations; time-major: the matmul fills a step in place
        hbuf = torch.empty(B, T + 1, H, **opts)  # [h_0, h_1, …, h_T]: h_{t-1} and h_t are both slices
        cbuf = torch.empty(B, T + 1, H, **opts)
        hbuf[:, 0], cbuf[:, 0] = h0, c0
        tanh_c = torch.empty(B, T, H, **opts)

        kernels = kernels_for(gx)
        loop = _forward_torch if kernels is None else functools.partial(_forward_native, kernels)
        loop(gx, weight_hh, peephole, coupled, gates, hbuf, cbuf, tanh_c)

        ctx.save_for_backward(weight_hh, peephole, gates, hbuf, cbuf, tanh_c)
        ctx.coupled, ctx.kernels = coupled, kernels
        ctx.set_materialize_grads(False)  # an unused cs output costs nothing backward
        return hbuf[:, 1:], cbuf[:, 1:]  # (B, T, H) views

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad_hs: Tensor | None, grad_cs: Tensor | None):
        weight_hh, peephole, gates, hbuf, cbuf, tanh_c = ctx.saved_tensors
        gates = gates.transpose(0, 1)  # (B, T, G, H), a view
        B, T, G, H = gates.shape
        loop = _backward_torch if ctx.kernels is None else functools.partial(_backward_native, ctx.kernels)
        saved = (weight_hh, peephole, ctx.coupled, gates, cbuf, tanh_c)
        delta, dh, dc, d_peephole = loop(grad_hs, grad_cs, *saved)

        d_weight_hh = None
        if ctx.needs_input_grad[3]:  # Σ_t δa_tᵀ h_{t-1}: one matmul over all B·T rows
            rows = B * T
            d_weight_hh = delta.view(rows, G * H).T @ hbuf[:, :-1].reshape(rows, H)
        if not ctx.needs_input_grad[4]:
            d_peephole = None
        d_gx = delta.view(B, T, G * H) if ctx.needs_input_grad[0] else None
        return d_gx, dh, dc, d_weight_hh, d_peephole, None


def _forward_torch(
    gx: Tensor, weight_hh: Tensor, peephole: Tensor | None, coupled: bool, gates, hbuf, cbuf, tanh_c
) -> None:
    """The forward loop as torch kernels: fills gates (T, B, G, H), hbuf[:, 1:], cbuf[:, 1:] and tanh_c."""
    _, B, G, H = gates.shape
    F, Gg, O = G - 3, G - 2, G - 1  # block indices of f, g, o
    W_T = weight_hh.T  # (H, G·H), a view
    p_early = None if peephole is None else peephole[:-1]  # (1 or 2, H)
    h, c = hbuf[:, 0], cbuf[:, 0]
    outs = (gates.transpose(0, 1), hbuf[:, 1:], cbuf[:, 1:], tanh_c)
    for gx_t, a_t, h_t, c_t, tc_t in zip(gx.unbind(1), *(x.unbind(1) for x in outs), strict=True):
        torch.addmm(gx_t, h, W_T, out=a_t.view(B, G * H))  # (B, G, H) pre-activations
        if p_early is not None:  # i and f see c_{t-1}
            a_t[:, : F + 1].addcmul_(p_early, c[:, None])
        a_t[:, : F + 1].sigmoid_()  # i, f (or f)
        f_t, g_t = a_t[:, F], a_t[:, Gg].tanh_()
        if coupled:  # c_t = f ⊙ c + (1 − f) ⊙ g
            torch.lerp(g_t, c, f_t, out=c_t)
        else:
            torch.mul(f_t, c, out=c_t)
            c_t.addcmul_(a_t[:, 0], g_t)
        if peephole is not None:
            a_t[:, O].addcmul_(peephole[-1], c_t)
        o_t = a_t[:, O].sigmoid_()
        torch.tanh(c_t, out=tc_t)
        torch.mul(o_t, tc_t, out=h_t)
        h, c = h_t, c_t


def _forward_native(
    kernels, gx: Tensor, weight_hh: Tensor, peephole: Tensor | None, coupled: bool, gates, hbuf, cbuf, tanh_c
) -> None:
    """The same loop as one matmul and one call of the fused C step (which also adds gx_t) per step."""
    _, B, G, H = gates.shape
    recur = packed_matmul(weight_hh, B)  # h ↦ h W_hhᵀ
    peep, peep_s = _peephole_rows(peephole, G, H)
    p = peep.data_ptr()
    step = kernels.seqlab_lstm_forward_step
    x, a = Strided(gx.contiguous()), Strided(gates.transpose(0, 1))
    c, tc, h = Strided(cbuf), Strided(tanh_c), Strided(hbuf)
    for t, h_prev in enumerate(hbuf[:, :-1].unbind(1)):
        y = recur(h_prev)  # (B, G·H)
        step(B, H, coupled, y.data_ptr(), y.stride(0), x.at(t), x.row, a.at(t), a.row, c.at(t), c.at(t + 1),
             c.row, tc.at(t), tc.row, h.at(t + 1), h.row, p, peep_s)  # fmt: skip


def _backward_torch(grad_hs, grad_cs, weight_hh, peephole, coupled, gates, cbuf, tanh_c):
    """The reverse loop as torch kernels. Returns δa for every step (B, T, G, H), ∂L/∂h_0, ∂L/∂c_0 and
    the peephole weights' gradient (None without peepholes)."""
    B, T, G, H = gates.shape
    F, Gg, O = G - 3, G - 2, G - 1
    n_early = G - 1
    f, g, o = gates[:, :, F], gates[:, :, Gg], gates[:, :, O]
    c_prev = cbuf[:, :-1]  # (B, T, H) view: c_{t-1}
    opts = {"dtype": gates.dtype, "device": gates.device}

    # ---- every factor independent of δh, δc, for all steps at once, written in place into one
    # buffer (no (B, T, H) temporaries: on a 2-core CPU those passes are memory-bound)
    one = torch.ones((), **opts)
    K = torch.empty(B, T, G + 2, H, **opts)  # δa_{i,f,g} = δc ⊙ K[early]; then K_o, K_c, K_cprev
    K_early, K_o, K_c, K_cprev = K[:, :, :n_early], K[:, :, O], K[:, :, G], K[:, :, G + 1]
    K_f, K_g = K[:, :, F], K[:, :, Gg]
    torch.addcmul(o, o, o, value=-1.0, out=K_o).mul_(tanh_c)  # tanh(c_t) ⊙ o(1 − o)
    torch.addcmul(one, tanh_c, tanh_c, value=-1.0, out=K_c).mul_(o)  # o ⊙ (1 − tanh²(c_t))
    if peephole is not None:
        K_c.addcmul_(K_o, peephole[-1])
    if coupled:  # K_cprev's slot is scratch until the end
        torch.sub(c_prev, g, out=K_cprev)
        torch.addcmul(f, f, f, value=-1.0, out=K_f).mul_(K_cprev)  # (c_{t-1} − g) ⊙ f(1 − f)
        torch.sub(one, f, out=K_cprev)
        torch.addcmul(one, g, g, value=-1.0, out=K_g).mul_(K_cprev)  # (1 − f) ⊙ (1 − g²)
    else:
        i = gates[:, :, 0]
        torch.addcmul(i, i, i, value=-1.0, out=K[:, :, 0]).mul_(g)  # g ⊙ i(1 − i)
        torch.addcmul(f, f, f, value=-1.0, out=K_f).mul_(c_prev)  # c_{t-1} ⊙ f(1 − f)
        torch.addcmul(one, g, g, value=-1.0, out=K_g).mul_(i)  # i ⊙ (1 − g²)
    K_cprev.copy_(f)  # δc_{t-1} = δc ⊙ K_cprev
    if peephole is not None:
        K_cprev.addcmul_(K_f, peephole[-2])
        if not coupled:
            K_cprev.addcmul_(K[:, :, 0], peephole[0])

    # ---- the reverse loop: only what needs δh, δc
    delta = torch.empty(B, T, G, H, **opts)  # δa_t
    zeros = torch.zeros(B, H, **opts)
    g_h = grad_hs.unbind(1) if grad_hs is not None else None
    g_c = grad_cs.unbind(1) if grad_cs is not None else None
    dh = g_h[T - 1] if g_h is not None else zeros
    dc = g_c[T - 1].clone() if g_c is not None else zeros.clone()
    steps = list(zip(delta.unbind(1), K_early.unbind(1), K_o.unbind(1), K_c.unbind(1), K_cprev.unbind(1)))
    for t in range(T - 1, -1, -1):
        d_t, K_early_t, K_o_t, K_c_t, K_cprev_t = steps[t]
        dc.addcmul_(dh, K_c_t)
        torch.mul(K_early_t, dc[:, None], out=d_t[:, :n_early])
        torch.mul(K_o_t, dh, out=d_t[:, O])
        dc = dc * K_cprev_t
        if t > 0 and g_c is not None:
            dc.add_(g_c[t - 1])
        dh = _dh_prev(d_t, weight_hh, g_h, t)

    d_peephole = None  # single reductions over all B·T rows
    if peephole is not None:
        d_early = (delta[:, :, : n_early - 1] * c_prev[:, :, None]).sum((0, 1))  # p_i, p_f (or p_f)
        d_o = (delta[:, :, O] * cbuf[:, 1:]).sum((0, 1))
        d_peephole = torch.cat([d_early, d_o[None]], dim=0)
    return delta, dh, dc, d_peephole


def _backward_native(kernels, grad_hs, grad_cs, weight_hh, peephole, coupled, gates, cbuf, tanh_c):
    """The reverse loop as one call of the fused C step and one matmul per step."""
    B, T, G, H = gates.shape
    opts = {"dtype": gates.dtype, "device": gates.device}
    recur = packed_matmul(weight_hh.T.contiguous(), B)  # δa ↦ δa W_hh
    peep, peep_s = _peephole_rows(peephole, G, H)
    p = peep.data_ptr()
    outside = OutsideGrads(grad_hs, grad_cs, B, T, H)
    delta = torch.empty(B, T, G, H, **opts)
    d_peep = torch.zeros(B, G - 1, H, **opts)  # per batch row: the C step sums each thread's own rows
    dc = outside.dc_last
    a, c, tc, d = Strided(gates), Strided(cbuf), Strided(tanh_c), Strided(delta)
    step = kernels.seqlab_lstm_backward_step
    peepholes = p, peep_s, d_peep.data_ptr(), (G - 1) * H  # the weights, and their gradients' sums
    y, y_ptr = None, outside.none  # y = W_hhᵀ δa_{t+1}: none after the last step
    for t in range(T - 1, -1, -1):
        step(B, H, coupled, a.at(t), a.row, c.at(t), c.at(t + 1), c.row, tc.at(t), tc.row, *y_ptr,
             *outside.h(t), dc.data_ptr(), H, *outside.c_prev(t), d.at(t), d.row, *peepholes)  # fmt: skip
        y = recur(delta[:, t].view(B, G * H))  # (B, H)
        y_ptr = y.data_ptr(), y.stride(0)
    return delta, y, dc, None if peephole is None else d_peep.sum(0)  # y: ∂L/∂h_0 = W_hhᵀ δa_0


def _dh_prev(d_t: Tensor, weight_hh: Tensor, g_h, t: int) -> Tensor:
    """δh_{t-1} = W_hhᵀ δa_t, plus the gradient of the output h_{t-1} from outside."""
    d_t = d_t.reshape(d_t.shape[0], -1)  # (B, G·H)
    if t > 0 and g_h is not None:
        return torch.addmm(g_h[t - 1], d_t, weight_hh)
    return torch.mm(d_t, weight_hh)


def _peephole_rows(peephole: Tensor | None, G: int, H: int) -> tuple[Tensor, int]:
    """The peephole weights as the C step takes them: rows and the stride between them (a single
    zero row with stride 0 when there are none)."""
    if peephole is None:
        return torch.zeros(H), 0
    peephole = peephole.detach().contiguous()
    return peephole, peephole.stride(0)
