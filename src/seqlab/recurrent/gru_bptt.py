"""Hand-written BPTT for the chapter's GRU (``reset_after=False``): an exact, faster training path.

Forward (one step; U = W_hh of shape (3H, H) with row blocks U_r, U_z, U_n; gx_t = W_ih x_t + b_ih + b_hh
already holds every bias, so the recurrence itself has none)::

    r_t = σ(gx_t^r + U_r h_{t-1})
    z_t = σ(gx_t^z + U_z h_{t-1})
    s_t = r_t ⊙ h_{t-1}                                   # the reset state
    h̃_t = tanh(gx_t^n + U_n s_t)
    h_t = (1 − z_t) ⊙ h̃_t + z_t ⊙ h_{t-1}                # = lerp(h̃_t, h_{t-1}, z_t)

Backward. g_t = ∂L/∂h_t from outside (every h_t is an output); δh_t is the total gradient reaching h_t,
δh_T = g_T. Every factor in brackets depends only on the forward pass, so it is computed for all steps
at once before the reverse loop::

    δa_t^n = δh_t ⊙ [(1 − z_t) ⊙ (1 − h̃_t²)]
    δa_t^z = δh_t ⊙ [(h_{t-1} − h̃_t) ⊙ z_t ⊙ (1 − z_t)]
    δs_t   = U_nᵀ δa_t^n
    δa_t^r = δs_t ⊙ [h_{t-1} ⊙ r_t ⊙ (1 − r_t)]
    δh_{t-1} = g_{t-1} + δh_t ⊙ z_t + δs_t ⊙ r_t + U_rᵀ δa_t^r + U_zᵀ δa_t^z     # the BPTT recurrence

    ∂L/∂gx_t = [δa_t^r, δa_t^z, δa_t^n]       ∂L/∂h_0 = δh_0
    ∂L/∂U_{r,z} = Σ_t δa_t^{r,z} h_{t-1}ᵀ      ∂L/∂U_n = Σ_t δa_t^n s_tᵀ

The per-step work is two small matmuls and four elementwise kernels each way; the weight gradient is two
big matmuls over all B·T rows after the loop. The reference is ``GRU(..., reset_after=False)._cell`` run
by autograd; ``tests/recurrent/test_gru_bptt.py`` asserts they agree. Double backward is not supported.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx, once_differentiable

__all__ = ["gru_sequence"]


def gru_sequence(gx: Tensor, h0: Tensor, weight_hh: Tensor) -> Tensor:
    """Run the ``reset_after=False`` GRU over a whole sequence.

    Args:
        gx: (B, T, 3H) input projections W_ih x_t + b_ih + b_hh, gate order r, z, n.
        h0: (B, H) initial state.
        weight_hh: (3H, H) recurrent weights, row blocks r, z, n.

    Returns:
        (B, T, H): h_t for every step t.
    """
    if gx.dim() != 3 or h0.dim() != 2 or weight_hh.dim() != 2:
        raise ValueError(
            "gru_sequence: expected gx (B, T, 3H), h0 (B, H) and weight_hh (3H, H), got shapes "
            f"{tuple(gx.shape)}, {tuple(h0.shape)} and {tuple(weight_hh.shape)}"
        )
    B, T, G = gx.shape
    H = weight_hh.shape[1]
    if G != 3 * H or tuple(weight_hh.shape) != (3 * H, H) or tuple(h0.shape) != (B, H) or T == 0:
        raise ValueError(
            f"gru_sequence: expected gx (B, T≥1, 3H), h0 (B, H) and weight_hh (3H, H) with one B and H, "
            f"got shapes {tuple(gx.shape)}, {tuple(h0.shape)} and {tuple(weight_hh.shape)}"
        )
    if not (gx.dtype == h0.dtype == weight_hh.dtype) or not (gx.device == h0.device == weight_hh.device):
        raise ValueError(
            "gru_sequence: gx, h0 and weight_hh must share one dtype and device, got "
            f"{gx.dtype}/{gx.device}, {h0.dtype}/{h0.device} and {weight_hh.dtype}/{weight_hh.device}"
        )
    return _GRUSequence.apply(gx, h0, weight_hh)


class _GRUSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx: FunctionCtx, gx: Tensor, h0: Tensor, weight_hh: Tensor) -> Tensor:
        B, T, _ = gx.shape
        H = weight_hh.shape[1]
        U_rz_T, U_n_T = weight_hh[: 2 * H].T, weight_hh[2 * H :].T  # (H, 2H), (H, H): views, no copy
        opts = {"dtype": gx.dtype, "device": gx.device}
        rz = torch.empty(B, T, 2 * H, **opts)  # σ(·) of the r and z blocks: [r_t, z_t]
        h_tilde = torch.empty(B, T, H, **opts)
        s = torch.empty(B, T, H, **opts)  # r_t ⊙ h_{t-1}
        hs = torch.empty(B, T, H, **opts)

        h = h0
        steps = zip(gx.unbind(1), rz.unbind(1), h_tilde.unbind(1), s.unbind(1), hs.unbind(1), strict=True)
        for gx_t, rz_t, h_tilde_t, s_t, h_t in steps:
            torch.addmm(gx_t[:, : 2 * H], h, U_rz_T, out=rz_t)
            rz_t.sigmoid_()  # one call for both gates
            torch.mul(rz_t[:, :H], h, out=s_t)
            torch.addmm(gx_t[:, 2 * H :], s_t, U_n_T, out=h_tilde_t)
            h_tilde_t.tanh_()
            torch.lerp(h_tilde_t, h, rz_t[:, H:], out=h_t)  # (1 − z) ⊙ h̃ + z ⊙ h
            h = h_t

        ctx.save_for_backward(h0, weight_hh, hs, rz, h_tilde, s)
        return hs

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad_hs: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
        h0, weight_hh, hs, rz, h_tilde, s = ctx.saved_tensors
        B, T, H = hs.shape
        U_rz, U_n = weight_hh[: 2 * H], weight_hh[2 * H :]  # (2H, H), (H, H)

        # ---- factors that do not depend on δh, for all steps at once
        h_prev = torch.cat([h0[:, None], hs[:, :-1]], dim=1)  # (B, T, H): h_{t-1}
        r, z = rz[..., :H], rz[..., H:]
        one_minus_z = torch.rsub(z, 1.0)
        f_zn = torch.empty(B, T, 2 * H, dtype=hs.dtype, device=hs.device)  # [f_z, f_n] side by side
        f_z, f_n = f_zn[..., :H], f_zn[..., H:]
        torch.sub(h_prev, h_tilde, out=f_z).mul_(z).mul_(one_minus_z)  # (h_{t-1} − h̃) z (1 − z)
        torch.addcmul(one_minus_z, one_minus_z, h_tilde.square(), value=-1.0, out=f_n)  # (1 − h̃²)(1 − z)
        f_r = torch.rsub(r, 1.0).mul_(r).mul_(h_prev)  # h_{t-1} r (1 − r)
        del one_minus_z

        # ---- the reverse loop: only what needs δh
        d_gx = torch.empty(B, T, 3 * H, dtype=hs.dtype, device=hs.device)  # [δa^r, δa^z, δa^n]
        d_s = torch.empty(B, H, dtype=hs.dtype, device=hs.device)
        buffers = (torch.empty_like(d_s), torch.empty_like(d_s))
        g = grad_hs.unbind(1)
        steps = list(zip(d_gx.unbind(1), f_zn.unbind(1), f_r.unbind(1), rz.unbind(1), strict=True))
        dh = g[T - 1]
        for t in range(T - 1, -1, -1):
            d_a, f_zn_t, f_r_t, rz_t = steps[t]
            torch.mul(f_zn_t.view(B, 2, H), dh[:, None], out=d_a[:, H:].view(B, 2, H))  # δa^z, δa^n
            torch.mm(d_a[:, 2 * H :], U_n, out=d_s)
            torch.mul(d_s, f_r_t, out=d_a[:, :H])  # δa^r
            dh_prev = buffers[t % 2]
            if t > 0:
                torch.addmm(g[t - 1], d_a[:, : 2 * H], U_rz, out=dh_prev)
            else:
                torch.mm(d_a[:, : 2 * H], U_rz, out=dh_prev)
            dh_prev.addcmul_(dh, rz_t[:, H:]).addcmul_(d_s, rz_t[:, :H])
            dh = dh_prev

        # ---- weight gradient: two big matmuls over all B·T rows
        d_weight_hh = None
        if ctx.needs_input_grad[2]:
            d_weight_hh = torch.empty_like(weight_hh)
            rows = B * T
            torch.mm(
                d_gx[..., : 2 * H].reshape(rows, 2 * H).T, h_prev.reshape(rows, H), out=d_weight_hh[: 2 * H]
            )
            torch.mm(d_gx[..., 2 * H :].reshape(rows, H).T, s.reshape(rows, H), out=d_weight_hh[2 * H :])
        d_h0 = dh if ctx.needs_input_grad[1] else None  # a fresh buffer, never written again
        return (d_gx if ctx.needs_input_grad[0] else None), d_h0, d_weight_hh
