"""Hand-written BPTT for the layer-norm LSTM (Ba et al. 2016): its fast training path.

Forward (per step, gate order i, f, g, o; gx_t = W_ih x_t is given, there is no bias)::

    a_t      = gx_t + W_hh h_{t-1}                       # one (B, H)×(H, 4H) matmul
    n_k      = (a_k − μ(a_k)) / σ(a_k)                   # per gate k ∈ {i, f, g, o}, over its H units,
    â_k      = γ_k ⊙ n_k + β_k                           # σ(a) = √(var(a) + ε), biased variance
    i_t, f_t, o_t = σ(â_i), σ(â_f), σ(â_o)
    g_t      = tanh(â_g)                                 # c̃_t of the chapter
    c_t      = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    m_t      = (c_t − μ(c_t)) / σ(c_t)                   # the cell's LN, with γ_c, β_c
    s_t      = tanh(γ_c ⊙ m_t + β_c)
    h_t      = o_t ⊙ s_t

Backward, from the last step to the first, with dh_t, dc_t the total gradients reaching h_t, c_t
(from the outputs and from step t+1), and LNᵀ the layer norm's backward::

    δĉ_t     = dh_t ⊙ o_t ⊙ (1 − s_t²)                   # gradient at γ_c ⊙ m_t + β_c
    dc_t    += LNᵀ(γ_c ⊙ δĉ_t; m_t, σ(c_t))              # the path c_t → h_t
    δâ_i     = dc_t ⊙ g_t ⊙ i_t(1 − i_t)
    δâ_f     = dc_t ⊙ c_{t-1} ⊙ f_t(1 − f_t)
    δâ_g     = dc_t ⊙ i_t ⊙ (1 − g_t²)
    δâ_o     = dh_t ⊙ s_t ⊙ o_t(1 − o_t)
    δa_k     = LNᵀ(γ_k ⊙ δâ_k; n_k, σ(a_k))              # per gate
    dc_{t-1} = f_t ⊙ dc_t  (+ the gradient of the output c_{t-1})
    dh_{t-1} = W_hhᵀ δa_t  (+ the gradient of the output h_{t-1})

    with LNᵀ(δ; n, σ) = (δ − mean(δ) − n ⊙ mean(δ ⊙ n)) / σ, the means over the H units.

Parameter gradients: ∂L/∂gx_t = δa_t, ∂L/∂W_hh = Σ_t δa_tᵀ h_{t-1} (one matmul after the loop),
∂L/∂β_k = Σ δâ_k, ∂L/∂γ_k = Σ δâ_k ⊙ n_k, ∂L/∂β_c = Σ δĉ, ∂L/∂γ_c = Σ δĉ ⊙ m (sums over batch and time).

Speed (the point of this file): every factor that does not depend on dh/dc — the
bracketed products above (K), f_t, n_t and 1/σ — is kept from the forward pass, computed while it is in
cache, so the reverse loop is one matmul and a dozen small kernels per step; both LNᵀ run as torch's
fused layer-norm backward (the gates' with x̂ = n_t given, μ = 0, 1/σ = 1, then the 1/σ factor).
tanh is several times slower than σ on CPU, so the forward computes tanh(x) = 2σ(2x) − 1 with the g rows
of γ, β (and γ_c, β_c) doubled: one σ call for all four gates.

On CPU in float32 a step runs instead as one fused C loop per batch row (``csrc/lstm_step.c``, the same
equations, layer norms included; see ``native.py``): forward, the matmul and one call; backward, one
call and the matmul. The torch kernels here remain the path everywhere else (float64, CUDA, no C
compiler), and the tests assert the two agree.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .native import OutsideGrads, Strided, kernels_for, packed_matmul

__all__ = ["ln_lstm_sequence"]

_ln = torch.ops.aten.native_layer_norm  # → (LN(x), μ, 1/σ)
_ln_backward = torch.ops.aten.native_layer_norm_backward
_sigmoid_backward = torch.ops.aten.sigmoid_backward.grad_input  # grad ⊙ y(1 − y)
_tanh_backward = torch.ops.aten.tanh_backward.grad_input  # grad ⊙ (1 − y²)


def ln_lstm_sequence(
    gx: Tensor,
    h0: Tensor,
    c0: Tensor,
    weight_hh: Tensor,
    ln_gate_weight: Tensor,
    ln_gate_bias: Tensor,
    ln_cell_weight: Tensor,
    ln_cell_bias: Tensor,
    eps: float,
) -> tuple[Tensor, Tensor]:
    """Run the layer-norm LSTM over all steps: gx (B, T, 4H) → h_t, c_t for every t, each (B, T, H).

    ``gx`` is W_ih x (no bias), ``h0``/``c0`` the (B, H) initial state, ``weight_hh`` (4H, H),
    ``ln_gate_weight``/``ln_gate_bias`` γ, β of the four gates (4, H), ``ln_cell_weight``/
    ``ln_cell_bias`` γ_c, β_c of the cell (H,). Lengths are the caller's business: every step is
    computed, and gradients may reach any h_t and c_t.
    """
    args = (gx, h0, c0, weight_hh, ln_gate_weight, ln_gate_bias, ln_cell_weight, ln_cell_bias)
    _check(*args)
    grad = torch.is_grad_enabled() and any(a.requires_grad for a in args)
    kernels = kernels_for(gx)
    if kernels is not None:
        if grad:
            return _NativeLNLSTMSequence.apply(*args, eps, kernels)
        hs, cbuf, _ = _forward_native(kernels, *args, eps, keep=False)
        return hs, cbuf[:, 1:]
    if grad:
        return _LNLSTMSequence.apply(*args, eps)
    hs, cs, _ = _forward(*args, eps, keep=False)
    return hs, cs


def _check(gx, h0, c0, weight_hh, gamma, beta, gamma_c, beta_c) -> None:
    shapes = ", ".join(str(tuple(a.shape)) for a in (gx, h0, c0, weight_hh, gamma, beta, gamma_c, beta_c))
    expected = (
        "gx (B, T≥1, 4H), h0 and c0 (B, H), weight_hh (4H, H), ln_gate_weight and ln_gate_bias "
        "(4, H), ln_cell_weight and ln_cell_bias (H,)"
    )
    if gx.dim() != 3 or h0.dim() != 2:
        raise ValueError(f"ln_lstm_sequence: expected {expected}, got shapes {shapes}")
    B, T, _ = gx.shape
    H = h0.shape[1]
    wanted = [(B, T, 4 * H), (B, H), (B, H), (4 * H, H), (4, H), (4, H), (H,), (H,)]
    tensors = (gx, h0, c0, weight_hh, gamma, beta, gamma_c, beta_c)
    if T < 1 or any(tuple(a.shape) != w for a, w in zip(tensors, wanted, strict=True)):
        raise ValueError(f"ln_lstm_sequence: expected {expected} with one B and H, got shapes {shapes}")
    if len({(a.dtype, a.device) for a in tensors}) != 1:
        got = ", ".join(f"{a.dtype}/{a.device}" for a in tensors)
        raise ValueError(f"ln_lstm_sequence: all tensors must share one dtype and device, got {got}")


def _forward(gx, h0, c0, weight_hh, gamma, beta, gamma_c, beta_c, eps, keep):
    """The forward loop; with ``keep`` it also returns what the backward needs."""
    B, T, _ = gx.shape
    H = h0.shape[-1]
    kw = {"dtype": gx.dtype, "device": gx.device}

    scale = gx.new_ones(4, 1)
    scale[2] = 2.0  # tanh(x) = 2σ(2x) − 1 for the g gate
    gamma2, beta2 = gamma * scale, beta * scale  # (4, H)
    gamma_c2, beta_c2 = 2.0 * gamma_c, 2.0 * beta_c  # (H,)
    W_t = weight_hh.t()  # (H, 4H)
    minus_one = gx.new_full((), -1.0)

    hs = torch.empty(B, T, H, **kw)  # the output, batch-first
    cbuf = torch.empty(T + 1, B, H, **kw)  # c_{-1} = c0, c_0, …
    cbuf[0] = c0
    a = torch.empty(B, 4, H, **kw)  # scratch: a_t
    a_flat = a.view(B, 4 * H)
    z = torch.empty(B, 4, H, **kw)  # scratch: the activations i, f, g, o
    i_t, f_t, g_t, o_t = z.unbind(1)
    s = torch.empty(B, H, **kw)  # scratch: s_t
    if keep:
        K = torch.empty(4, T, B, H, **kw)  # δâ_t = [dc_t, dc_t, dc_t, dh_t] ⊙ K_t, gate-major
        K_c = torch.empty(T, B, H, **kw)  # δĉ_t = dh_t ⊙ K_c,t
        f_buf = torch.empty(T, B, H, **kw)  # f_t, which carries dc back
        per_step = zip(*(k.unbind(0) for k in (*K.unbind(0), K_c, f_buf)), strict=True)
    stats, stats_c = [], []  # (n_t, 1/σ) of the gates' LN and (μ, 1/σ) of the cell's, per step

    h, c = h0, cbuf[0]
    for gx_t, c_t, h_t in zip(gx.unbind(1), cbuf[1:].unbind(0), hs.unbind(1), strict=True):
        torch.addmm(gx_t, h, W_t, out=a_flat)
        n, _, rstd = _ln(a, (H,), None, None, eps)
        torch.addcmul(beta2, n, gamma2, out=z)
        z.sigmoid_()
        torch.add(minus_one, g_t, alpha=2.0, out=g_t)  # σ(2â) → tanh(â)
        torch.mul(f_t, c, out=c_t)
        c_t.addcmul_(i_t, g_t)
        cell, mu_c, rstd_c = _ln(c_t, (H,), gamma_c2, beta_c2, eps)  # 2 (γ_c ⊙ m_t + β_c)
        torch.sigmoid(cell, out=s)
        torch.add(minus_one, s, alpha=2.0, out=s)
        h = torch.mul(o_t, s, out=h_t)
        if keep:  # the backward's factors, while they are in cache
            K_i, K_f, K_g, K_o, K_c_t, f_keep = next(per_step)
            _sigmoid_backward(g_t, i_t, grad_input=K_i)  # g ⊙ i(1 − i)
            _sigmoid_backward(c, f_t, grad_input=K_f)  # c_{t-1} ⊙ f(1 − f)
            _tanh_backward(i_t, g_t, grad_input=K_g)  # i ⊙ (1 − g²)
            _sigmoid_backward(s, o_t, grad_input=K_o)  # s ⊙ o(1 − o)
            _tanh_backward(o_t, s, grad_input=K_c_t)  # o ⊙ (1 − s²)
            f_keep.copy_(f_t)
            stats.append((n, rstd))
            stats_c.append((mu_c, rstd_c))
        c = c_t

    cs = cbuf[1:].transpose(0, 1)  # (B, T, H), a view
    saved = (K, K_c, f_buf, cbuf, stats, stats_c) if keep else None
    return hs, cs, saved


class _LNLSTMSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, gx, h0, c0, weight_hh, gamma, beta, gamma_c, beta_c, eps):
        hs, cs, (K, K_c, f_buf, cbuf, stats, stats_c) = _forward(
            gx, h0, c0, weight_hh, gamma, beta, gamma_c, beta_c, eps, keep=True
        )
        ctx.save_for_backward(K, K_c, f_buf, hs, h0, cbuf, weight_hh, gamma, gamma_c, beta_c)
        ctx.stats = stats, stats_c
        ctx.set_materialize_grads(False)  # an unused output (often cs) costs nothing
        return hs, cs

    @staticmethod
    @once_differentiable
    def backward(ctx, d_hs, d_cs):
        K, K_c, f, hs, h0, cbuf, weight_hh, gamma, gamma_c, beta_c = ctx.saved_tensors
        stats, stats_c = ctx.stats
        need = ctx.needs_input_grad
        need_gate_ln, need_cell_ln = need[4] or need[5], need[6] or need[7]
        _, T, B, H = K.shape
        kw = {"dtype": K.dtype, "device": K.device}

        d_gx = torch.empty(B, T, 4 * H, **kw)  # δa_t, batch-first like gx
        d_hat = torch.empty(B, 4, H, **kw)  # scratch: δâ_t
        d_hat_ifg, d_hat_o = d_hat[:, :3], d_hat[:, 3]
        d_n = torch.empty(B, 4, H, **kw)  # scratch: γ ⊙ δâ_t
        if need_gate_ln:
            d_beta = torch.zeros(B, 4, H, **kw)  # Σ_t δâ_t (summed over B at the end)
            d_gamma = torch.zeros(B, 4, H, **kw)  # Σ_t δâ_t ⊙ n_t
        d_cell = []  # per step: Σ_b δĉ ⊙ m, Σ_b δĉ
        zero_mean = torch.zeros(B, 4, 1, dtype=stats[0][1].dtype, device=K.device)
        unit_rstd = torch.ones_like(zero_mean)
        K_ifg, K_o = K[:3].permute(1, 2, 0, 3), K[3]  # (T, B, 3, H), (T, B, H)
        W = weight_hh  # (4H, H)
        mask, mask_c = [True, False, False], [True, need_cell_ln, need_cell_ln]

        dc = None
        for t in range(T - 1, -1, -1):
            if t == T - 1:
                dh = d_hs[:, t] if d_hs is not None else torch.zeros(B, H, **kw)
            elif d_hs is not None:
                dh = torch.addmm(d_hs[:, t], d_gx[:, t + 1], W)
            else:
                dh = torch.mm(d_gx[:, t + 1], W)
            mu_c, rstd_c = stats_c[t]
            dc_next = dc
            dc, d_gamma_c, d_beta_c = _ln_backward(
                dh * K_c[t], cbuf[t + 1], (H,), mu_c, rstd_c, gamma_c, beta_c, mask_c
            )
            if need_cell_ln:
                d_cell.append((d_gamma_c, d_beta_c))
            if dc_next is not None:
                dc.addcmul_(f[t + 1], dc_next)
            if d_cs is not None:
                dc.add_(d_cs[:, t])
            torch.mul(K_ifg[t], dc[:, None], out=d_hat_ifg)
            torch.mul(K_o[t], dh, out=d_hat_o)
            n, rstd = stats[t]
            if need_gate_ln:
                d_beta.add_(d_hat)
                d_gamma.addcmul_(d_hat, n)
            torch.mul(d_hat, gamma, out=d_n)
            d_a = _ln_backward(d_n, n, (H,), zero_mean, unit_rstd, None, None, mask)[0]  # σ ⊙ δa_t
            torch.mul(d_a, rstd, out=d_gx[:, t].view(B, 4, H))

        dh0 = d_gx[:, 0] @ W if need[1] else None
        dc0 = f[0] * dc if need[2] else None
        d_weight_hh = None
        if need[3]:
            h_prev = torch.cat([h0[:, None], hs[:, :-1]], dim=1)  # (B, T, H)
            d_weight_hh = d_gx.view(B * T, 4 * H).t() @ h_prev.view(B * T, H)  # Σ_t δa_tᵀ h_{t-1}
        d_gamma_out = d_beta_out = d_gamma_c_out = d_beta_c_out = None
        if need_gate_ln:
            d_gamma_out, d_beta_out = d_gamma.sum(0), d_beta.sum(0)
        if need_cell_ln:
            d_gamma_c_out, d_beta_c_out = (torch.stack(x).sum(0) for x in zip(*d_cell, strict=True))
        return d_gx, dh0, dc0, d_weight_hh, d_gamma_out, d_beta_out, d_gamma_c_out, d_beta_c_out, None


# ---- the fused C step (CPU, float32)


def _forward_native(kernels, gx, h0, c0, weight_hh, gamma, beta, gamma_c, beta_c, eps, keep=True):
    """The forward loop as one matmul and one call of the C step per step. Returns hs (B, T, H), the
    cells [c_0, c_1, …] (B, T + 1, H) and, with ``keep``, what the backward needs per step (T, B, ·)."""
    B, T, _ = gx.shape
    H = h0.shape[-1]
    kw = {"dtype": gx.dtype, "device": gx.device}
    hbuf, cbuf = torch.empty(B, T + 1, H, **kw), torch.empty(B, T + 1, H, **kw)
    hbuf[:, 0], cbuf[:, 0] = h0, c0
    saved = torch.empty(T if keep else 1, B, kernels.seqlab_ln_row_floats(H), **kw)  # n, activations, …
    slot = saved.stride(0) * 4 if keep else 0  # bytes from one step's block to the next
    recur = packed_matmul(weight_hh, B)  # h ↦ h W_hhᵀ
    params = [p.detach().contiguous() for p in (gamma, beta, gamma_c, beta_c)]
    ptrs = [p.data_ptr() for p in params]
    x, c, h = Strided(gx.contiguous()), Strided(cbuf), Strided(hbuf)
    step = kernels.seqlab_ln_lstm_forward_step
    for t, h_prev in enumerate(hbuf[:, :-1].unbind(1)):
        y = recur(h_prev)  # (B, 4H)
        step(B, H, eps, y.data_ptr(), y.stride(0), x.at(t), x.row, saved.data_ptr() + t * slot, c.at(t),
             c.at(t + 1), c.row, h.at(t + 1), h.row, *ptrs)  # fmt: skip
    return hbuf[:, 1:], cbuf, (saved, hbuf)


class _NativeLNLSTMSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, gx, h0, c0, weight_hh, gamma, beta, gamma_c, beta_c, eps, kernels):
        hs, cbuf, (saved, hbuf) = _forward_native(
            kernels, gx, h0, c0, weight_hh, gamma, beta, gamma_c, beta_c, eps
        )
        ctx.save_for_backward(saved, hbuf, cbuf, weight_hh, gamma, gamma_c)
        ctx.kernels = kernels
        ctx.set_materialize_grads(False)  # an unused output (often cs) costs nothing
        return hs, cbuf[:, 1:]

    @staticmethod
    @once_differentiable
    def backward(ctx, d_hs, d_cs):
        saved, hbuf, cbuf, weight_hh, gamma, gamma_c = ctx.saved_tensors
        T, B, _ = saved.shape
        H = hbuf.shape[-1]
        kw = {"dtype": saved.dtype, "device": saved.device}
        recur = packed_matmul(weight_hh.T.contiguous(), B)  # δa ↦ δa W_hh
        outside = OutsideGrads(d_hs, d_cs, B, T, H)
        d_gx = torch.empty(B, T, 4 * H, **kw)  # δa_t, batch-first like gx
        acc = torch.zeros(B, 10, H, **kw)  # per batch row: ∂γ (4), ∂β (4), ∂γ_c, ∂β_c
        dc = outside.dc_last
        gamma, gamma_c = gamma.detach().contiguous(), gamma_c.detach().contiguous()
        params = gamma.data_ptr(), gamma_c.data_ptr(), acc.data_ptr()  # and the sums of their gradients
        c, d = Strided(cbuf), Strided(d_gx)
        step = ctx.kernels.seqlab_ln_lstm_backward_step
        y, y_ptr = None, outside.none  # y = W_hhᵀ δa_{t+1}: none after the last step
        for t in range(T - 1, -1, -1):
            step(B, H, saved[t].data_ptr(), c.at(t), c.row, *y_ptr, *outside.h(t), dc.data_ptr(), H,
                 *outside.c_prev(t), d.at(t), d.row, *params)  # fmt: skip
            y = recur(d_gx[:, t])  # (B, H)
            y_ptr = y.data_ptr(), y.stride(0)

        need = ctx.needs_input_grad
        d_weight_hh = None
        if need[3]:  # Σ_t δa_tᵀ h_{t-1}: one matmul over all B·T rows
            d_weight_hh = d_gx.view(B * T, 4 * H).T @ hbuf[:, :-1].reshape(B * T, H)
        sums = acc.sum(0)  # (10, H)
        d_gamma, d_beta, d_gamma_c, d_beta_c = sums[:4], sums[4:8], sums[8], sums[9]
        return d_gx, y, dc, d_weight_hh, d_gamma, d_beta, d_gamma_c, d_beta_c, None, None
