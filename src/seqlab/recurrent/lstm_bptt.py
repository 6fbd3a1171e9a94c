"""Hand-written BPTT for the peephole and coupled LSTMs: the fast training path torch has no kernel for.

Forward (per step, gate order i, f, g, o — or f, g, o when coupled; gx_t = W_ih x_t + b is given)::

    a_t   = gx_t + W_hh h_{t-1}                      # one (B, H)×(H, G·H) matmul
    i_t   = σ(a_i + p_i ⊙ c_{t-1})                  # (coupled: i_t = 1 − f_t)
    f_t   = σ(a_f + p_f ⊙ c_{t-1})
    g_t   = tanh(a_g)                                # c̃_t of the chapter
    c_t   = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    o_t   = σ(a_o + p_o ⊙ c_t)
    h_t   = o_t ⊙ tanh(c_t)                          # p = 0 without peepholes

Backward, from the last step to the first, with dh_t, dc_t the total gradients reaching h_t, c_t
(from the outputs and from step t+1)::

    δa_o    = dh_t ⊙ tanh(c_t) ⊙ o_t(1 − o_t)
    dc_t   += dh_t ⊙ o_t ⊙ (1 − tanh²(c_t)) + δa_o ⊙ p_o
    δa_i    = dc_t ⊙ g_t ⊙ i_t(1 − i_t)
    δa_f    = dc_t ⊙ c_{t-1} ⊙ f_t(1 − f_t)            # coupled: (c_{t-1} − g_t) in place of c_{t-1}
    δa_g    = dc_t ⊙ i_t ⊙ (1 − g_t²)
    dc_{t-1} = dc_t ⊙ f_t + δa_i ⊙ p_i + δa_f ⊙ p_f      # the forget gate carries the gradient back
    dh_{t-1} = W_hhᵀ δa_t

Every factor that does not depend on dh/dc (the bracketed products above) is computed for all steps at
once before the reverse loop, which leaves six small kernels per step; ∂L/∂W_hh = Σ_t δa_tᵀ h_{t-1}
and the peephole gradients are single reductions after the loop, and ∂L/∂gx_t = δa_t.

Forward uses one sigmoid for i, f, g (and o without peepholes): tanh(x) = 2σ(2x) − 1, with the g rows
of gx and W_hh pre-scaled by 2. Buffers are time-major internally so every step writes contiguous rows.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

__all__ = ["lstm_sequence"]


def lstm_sequence(gx: Tensor, h0: Tensor, c0: Tensor, weight_hh: Tensor, peephole: Tensor | None,
                  coupled: bool) -> tuple[Tensor, Tensor]:
    """Run the LSTM over all steps: gx (B, T, G·H) → h_t, c_t for every t, each (B, T, H)."""
    return _LSTMSequence.apply(gx, h0, c0, weight_hh, peephole, coupled)


class _LSTMSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, gx, h0, c0, weight_hh, peephole, coupled):
        B, T, GH = gx.shape
        H = h0.shape[-1]
        G = GH // H
        g = G - 2  # index of the g block: 1 (f, g, o) or 2 (i, f, g, o)
        n_early = G - 1  # gates computed before c_t: i, f, g (or f, g)

        scale = gx.new_ones(G, H)
        scale[g] = 2.0  # tanh(x) = 2σ(2x) − 1
        scale = scale.view(GH)
        gx2 = torch.empty(T, B, GH, dtype=gx.dtype, device=gx.device)
        torch.mul(gx.transpose(0, 1), scale, out=gx2)  # (T, B, G·H), time-major, g rows doubled
        W2 = (weight_hh * scale[:, None]).t().contiguous()  # (H, G·H)

        gates = torch.empty(T, B, G, H, dtype=gx.dtype, device=gx.device)  # activations i, f, g, o
        hbuf = torch.empty(T + 1, B, H, dtype=gx.dtype, device=gx.device)  # h_{-1}=h0, h_0, …
        cbuf = torch.empty(T + 1, B, H, dtype=gx.dtype, device=gx.device)
        tanh_c = torch.empty(T, B, H, dtype=gx.dtype, device=gx.device)
        hbuf[0], cbuf[0] = h0, c0
        if peephole is not None:
            p_early = peephole[: n_early - 1]  # p_i, p_f (or p_f): (·, H)
            p_o = peephole[-1]
        tmp = torch.empty(B, H, dtype=gx.dtype, device=gx.device)

        h, c = hbuf[0], cbuf[0]
        for gx_t, s_t, h_next, c_next, tc_t in zip(
            gx2.unbind(0), gates.unbind(0), hbuf[1:].unbind(0), cbuf[1:].unbind(0), tanh_c.unbind(0)
        ):
            a = torch.addmm(gx_t, h, W2).view(B, G, H)  # (B, G, H)
            if peephole is None:
                torch.sigmoid(a, out=s_t)
            else:
                a[:, : n_early - 1].addcmul_(p_early, c[:, None])
                torch.sigmoid(a[:, :n_early], out=s_t[:, :n_early])
            g_t = s_t[:, g]
            g_t.mul_(2.0).sub_(1.0)  # σ(2a) → tanh(a)
            f_t = s_t[:, g - 1]
            if coupled:  # c_t = g + f ⊙ (c − g)
                torch.sub(c, g_t, out=tmp)
                torch.addcmul(g_t, f_t, tmp, out=c_next)
            else:
                torch.mul(f_t, c, out=c_next)
                c_next.addcmul_(s_t[:, 0], g_t)
            if peephole is not None:
                torch.sigmoid(torch.addcmul(a[:, G - 1], p_o, c_next), out=s_t[:, G - 1])
            torch.tanh(c_next, out=tc_t)
            torch.mul(s_t[:, G - 1], tc_t, out=h_next)
            h, c = h_next, c_next

        ctx.save_for_backward(gates, hbuf, cbuf, tanh_c, weight_hh, peephole)
        ctx.coupled = coupled
        hs, cs = hbuf[1:].transpose(0, 1), cbuf[1:].transpose(0, 1)  # (B, T, H) views
        return hs, cs

    @staticmethod
    @once_differentiable
    def backward(ctx, d_hs, d_cs):
        gates, hbuf, cbuf, tanh_c, weight_hh, peephole = ctx.saved_tensors
        coupled = ctx.coupled
        T, B, G, H = gates.shape
        g = G - 2
        n_early = G - 1
        o = gates[:, :, G - 1]  # (T, B, H)
        f = gates[:, :, g - 1]
        g_act = gates[:, :, g]
        c_prev, c_cur = cbuf[:-1], cbuf[1:]

        # ---- every factor independent of dh/dc, for all steps at once
        K_o = tanh_c * o * (1 - o)  # δa_o = dh ⊙ K_o
        K_c = o * (1 - tanh_c * tanh_c)  # dc += dh ⊙ K_c (+ δa_o ⊙ p_o)
        if peephole is not None:
            K_c = K_c + K_o * peephole[-1]
        K_early = torch.empty(T, B, n_early, H, dtype=gates.dtype, device=gates.device)  # δa_{i,f,g} = dc ⊙ K
        dsig_f = f * (1 - f)
        if coupled:
            K_early[:, :, 0] = (c_prev - g_act) * dsig_f
            K_early[:, :, 1] = (1 - f) * (1 - g_act * g_act)
        else:
            i = gates[:, :, 0]
            K_early[:, :, 0] = g_act * i * (1 - i)
            K_early[:, :, 1] = c_prev * dsig_f
            K_early[:, :, 2] = i * (1 - g_act * g_act)
        K_cprev = f.clone()  # dc_{t-1} = dc_t ⊙ f_t (+ peephole terms)
        if peephole is not None:  # dc_{t-1} gains δa_i ⊙ p_i + δa_f ⊙ p_f
            K_cprev += (K_early[:, :, : n_early - 1] * peephole[: n_early - 1]).sum(2)

        d_hs = None if d_hs is None else d_hs.transpose(0, 1)  # (T, B, H)
        d_cs = None if d_cs is None else d_cs.transpose(0, 1)
        delta = torch.empty(T, B, G, H, dtype=gates.dtype, device=gates.device)  # δa_t
        dh = torch.zeros(B, H, dtype=gates.dtype, device=gates.device)  # from step t+1
        dc = torch.zeros(B, H, dtype=gates.dtype, device=gates.device)
        W = weight_hh.view(G * H, H)
        for t in range(T - 1, -1, -1):
            if d_hs is not None:
                dh = dh + d_hs[t]
            if d_cs is not None:
                dc = dc + d_cs[t]
            dc = torch.addcmul(dc, dh, K_c[t])
            d_t = delta[t]
            torch.mul(K_early[t], dc[:, None], out=d_t[:, :n_early])
            torch.mul(K_o[t], dh, out=d_t[:, G - 1])
            dc = dc * K_cprev[t]
            dh = torch.mm(d_t.view(B, G * H), W)

        delta_flat = delta.view(T * B, G * H)
        d_weight_hh = delta_flat.t() @ hbuf[:-1].reshape(T * B, H)  # Σ_t δa_tᵀ h_{t-1}
        d_peephole = None
        if peephole is not None:
            d_early = (delta[:, :, : n_early - 1] * c_prev[:, :, None]).sum((0, 1))  # (·, H)
            d_o = (delta[:, :, G - 1] * c_cur).sum((0, 1))
            d_peephole = torch.cat([d_early, d_o[None]], dim=0)
        d_gx = delta.view(T, B, G * H).transpose(0, 1)  # (B, T, G·H)
        return d_gx, dh, dc, d_weight_hh, d_peephole, None
