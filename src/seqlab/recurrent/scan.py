"""Linear scans: h_t = a_t ⊙ h_{t-1} + b_t over a whole sequence, without a per-step autograd graph.

Every "modern" recurrence (minGRU/minLSTM, Mamba's selective SSM, RWKV's WKV, xLSTM's mLSTM memory) is,
once its gates are computed from the input alone, this first-order *linear* recurrence::

    h_t = a_t ⊙ h_{t-1} + b_t,      t = 1..T,      h_0 given (zeros by default)

with a_t, b_t of shape (B, T, *S) — S is the state's shape, a vector (H,) or a matrix (heads, K, V).
Unrolled, h_t = A_t ⊙ h_0 + Σ_{s≤t} (A_t / A_s) ⊙ b_s with A_t = Π_{s≤t} a_s, which is why it can be
computed in parallel over t. Three exact methods, all differentiable, all tested against
``linear_scan_reference`` (the plain Python loop under autograd):

``"sequential"``
    The loop, as a custom autograd Function: the forward writes into a preallocated output and builds no
    graph; the backward is the reverse linear scan of the gradient (g_t = ∂L/∂h_t in total)::

        g_T = ∂L/∂h_T,      g_t = ∂L/∂h_t + a_{t+1} ⊙ g_{t+1}
        ∂L/∂b_t = g_t,      ∂L/∂a_t = g_t ⊙ h_{t-1},      ∂L/∂h_0 = a_1 ⊙ g_1

    Two cheap loops of one fused multiply-add per step, instead of an autograd node per step.

``"chunked"`` (blocked scan)
    Split T into T/L chunks of L steps (padding the tail with a = 1, b = 0, which changes nothing). Run
    the recurrence inside every chunk at once, from zero (L steps over a B·T/L batch); carry the
    chunk-end states across chunks (T/L steps); then add the carried-in state, scaled by the cumulative
    product of a within the chunk::

        h_{k,l} = h^local_{k,l} + (Π_{j≤l} a_{k,j}) ⊙ c_{k-1},     c_k = h_{k,L}     (c_0 = h_0)

    L + T/L sequential steps instead of T, and no division, so it is as stable as the loop.

``"log"`` (Heinsen 2023, "Efficient parallelization of a ubiquitous sequential computation")
    log h_t = a*_t + logcumsumexp_{s≤t}(log b_s − a*_s) with a*_t = Σ_{s≤t} log a_s: two cumulative ops,
    fully parallel. Needs a > 0; b of either sign is split into its positive and negative parts
    (h = scan(b⁺) − scan(b⁻)). Its precision degrades with T: a*_t grows like t·log a, and the final
    a*_t + (…) cancels, leaving a relative error ≈ |a*_T|·ε (about 1e-4 to 1e-3 in float32 at T = 4096).
    ``log_linear_scan`` is the same scan for callers that already work in log space (positive b).

``"auto"`` picks by device and T from the measurements in ``benchmarks/modern.py --only scans``
(see ``auto_scan_method``): the sequential scan on CPU, where it was fastest at every T measured; the
chunked one on CUDA for T > 64 (untested here).

Broadcasting: a may have size-1 axes where b does not (e.g. a per-key decay a (B, T, heads, K, 1) for a
matrix state b (B, T, heads, K, V)); the time axes must match. h0 and the result have the broadcast shape.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx, once_differentiable

__all__ = ["SCAN_METHODS", "auto_scan_method", "linear_scan", "linear_scan_reference", "log_linear_scan"]

SCAN_METHODS = ("auto", "sequential", "chunked", "log")


def linear_scan(
    a: Tensor, b: Tensor, h0: Tensor | None = None, *, method: str = "auto", chunk_size: int | None = None
) -> Tensor:
    """h_t = a_t ⊙ h_{t-1} + b_t for t = 1..T.

    Args:
        a: (B, T, *S) decay / forget factors (may broadcast against b on the state axes).
        b: (B, T, *S) inputs.
        h0: (B, *S) initial state, or None for zeros.
        method: ``"sequential"`` | ``"chunked"`` | ``"log"`` | ``"auto"`` (chosen by device and T).
        chunk_size: L for ``"chunked"``; default ≈ √T (a power of two), which minimises L + T/L steps.

    Returns:
        h: (B, T, *S), every step's state; h[:, -1] is the final one.
    """
    shape = _check("linear_scan", a, b, h0)
    if method not in SCAN_METHODS:
        raise ValueError(f"linear_scan: unknown method {method!r}; known: {', '.join(SCAN_METHODS)}")
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1
    ):
        raise ValueError(f"linear_scan: expected chunk_size to be a positive integer, got {chunk_size!r}")
    if method == "auto":
        method = auto_scan_method(b.device, shape[1])
    if method == "sequential":
        return _SequentialScan.apply(a, b, h0)
    if method == "chunked":
        return _chunked_scan(a, b, h0, chunk_size)
    if bool((a <= 0).any()):
        raise ValueError(
            "linear_scan: method='log' needs every a_t > 0 (it takes log a_t), got a ≤ 0; "
            "use method='sequential' or 'chunked', which accept any a"
        )
    return _log_scan_any_sign(a, b, h0, shape)


def log_linear_scan(log_a: Tensor, log_b: Tensor, log_h0: Tensor | None = None) -> Tensor:
    """Heinsen (2023) log-space scan for positive b: returns log h_t, via ``torch.logcumsumexp``.

    Args:
        log_a: (B, T, *S) log a_t (any real; a_t = exp(log_a) > 0).
        log_b: (B, T, *S) log b_t (−inf for b_t = 0).
        log_h0: (B, *S) log h_0, or None for h_0 = 0.

    Returns:
        (B, T, *S): log h_t, where h_t = a_t ⊙ h_{t-1} + b_t.
    """
    _check("log_linear_scan", log_a, log_b, log_h0, names=("log_a", "log_b", "log_h0"))
    a_star = torch.cumsum(log_a, dim=1)  # (B, T, *S): log A_t = Σ_{s≤t} log a_s
    # log(b_s / A_s). b_s = 0 stays a constant −inf: logcumsumexp's gradient there is nan, and the true
    # gradient (through exp(log b_s) = 0) is zero, so no route may lead back to log_b or a*
    terms = torch.where(log_b == -math.inf, -math.inf, log_b - a_star)
    if log_h0 is not None:  # h_0 enters as a step "s = 0" with A_0 = 1
        terms = torch.cat([log_h0.expand_as(terms[:, 0])[:, None], terms], dim=1)  # (B, 1 + T, *S)
        return (a_star + torch.logcumsumexp(terms, dim=1)[:, 1:]).contiguous()
    return a_star + torch.logcumsumexp(terms, dim=1)


def linear_scan_reference(a: Tensor, b: Tensor, h0: Tensor | None = None) -> Tensor:
    """The plain Python loop under autograd: slow, obviously correct. The tests' reference."""
    _check("linear_scan_reference", a, b, h0)
    h = torch.zeros_like(b[:, 0] * a[:, 0]) if h0 is None else h0
    out = []
    for a_t, b_t in zip(a.unbind(1), b.unbind(1)):
        h = a_t * h + b_t
        out.append(h)
    return torch.stack(out, dim=1)


# ---------------------------------------------------------------------------------------------- methods
def auto_scan_method(device: torch.device, T: int) -> str:
    """The method ``"auto"`` stands for on this device at this length: the fastest exact one measured.

    CPU (``benchmarks/modern.py --only scans``: B=16, S=256, one thread, fwd+bwd): the work is memory-bound
    and one fused multiply-add per step costs little, so the plain loop wins at every T measured
    (256–4096); the chunked scan does about three times its memory traffic (two scans, a cumprod, the
    correction) and measured 2–5x slower, the log scan 40–60x slower (CPU's logcumsumexp) and less precise.
    CUDA: the loop launches T tiny kernels; the chunked scan launches L + T/L of them, so it is the
    default there for T > 64. Untested here (no GPU in this project's CI): measure before relying on it.
    """
    if device.type == "cuda" and T > 64:
        return "chunked"
    return "sequential"


def _default_chunk(T: int) -> int:
    """A power of two near √T: minimises the L + T/L sequential steps."""
    return max(1, 2 ** round(math.log2(math.sqrt(T))))


def _chunked_scan(a: Tensor, b: Tensor, h0: Tensor | None, chunk_size: int | None) -> Tensor:
    B, T = b.shape[:2]
    L = min(chunk_size or _default_chunk(T), T)
    n = -(-T // L)  # number of chunks
    pad = n * L - T
    if pad:  # a = 1, b = 0 past the end: the state carries through unchanged
        a = torch.cat([a, a.new_ones(a.shape[0], pad, *a.shape[2:])], dim=1)
        b = torch.cat([b, b.new_zeros(b.shape[0], pad, *b.shape[2:])], dim=1)
    a_chunks = a.reshape(a.shape[0] * n, L, *a.shape[2:])  # (B·n, L, *S)
    b_chunks = b.reshape(B * n, L, *b.shape[2:])  # (B·n, L, *S)
    local = _SequentialScan.apply(a_chunks, b_chunks, None)  # (B·n, L, *S), every chunk from zero
    local = local.reshape(B, n, L, *local.shape[2:])  # (B, n, L, *S)
    decay = torch.cumprod(a.reshape(a.shape[0], n, L, *a.shape[2:]), dim=2)  # (B, n, L, *S): Π_{j≤l} a
    # the state entering each chunk: c_k = decay_{k,L} ⊙ c_{k-1} + local_{k,L}, from c_0 = h0
    ends = _SequentialScan.apply(decay[:, :, -1], local[:, :, -1], h0)  # (B, n, *S): c_1..c_n
    if h0 is None:  # the first chunk starts from zero: nothing to add to it
        carried = local[:, 1:] + decay[:, 1:] * ends[:, :-1, None]  # (B, n - 1, L, *S)
        h = torch.cat([local[:, :1], carried], dim=1)
    else:
        start = torch.cat([h0[:, None], ends[:, :-1]], dim=1)  # (B, n, *S): c_0..c_{n-1}
        h = local + decay * start[:, :, None]  # (B, n, L, *S)
    h = h.reshape(B, n * L, *h.shape[3:])  # (B, T + pad, *S)
    return h[:, :T] if pad else h


def _log_scan_any_sign(a: Tensor, b: Tensor, h0: Tensor | None, shape: torch.Size) -> Tensor:
    """Heinsen's scan for b of any sign: h = scan(a, b⁺, h0⁺) − scan(a, b⁻, h0⁻), each in log space."""
    log_a = torch.log(a)
    parts = []
    for sign in (1.0, -1.0):
        log_b = _log_positive_part(sign * b)
        log_h0 = None if h0 is None else _log_positive_part(sign * h0)
        log_b = log_b.expand(shape)
        parts.append(torch.exp(log_linear_scan(log_a.expand(shape), log_b, log_h0)))
    return parts[0] - parts[1]


def _log_positive_part(x: Tensor) -> Tensor:
    """log max(x, 0), −inf where x ≤ 0, with a finite gradient (the −inf entries get none)."""
    positive = x > 0
    return torch.where(positive, torch.log(torch.where(positive, x, torch.ones_like(x))), -math.inf)


class _SequentialScan(torch.autograd.Function):
    """The loop, forward and backward, as two preallocated passes (see the module docstring)."""

    @staticmethod
    def forward(ctx: FunctionCtx, a: Tensor, b: Tensor, h0: Tensor | None) -> Tensor:
        shape = torch.broadcast_shapes(a.shape, b.shape)
        h = torch.empty(shape, dtype=b.dtype, device=b.device)  # (B, T, *S)
        h_prev = h0
        for a_t, b_t, h_t in zip(a.unbind(1), b.unbind(1), h.unbind(1)):
            if h_prev is None:
                h_t.copy_(b_t)  # h_1 = a_1 ⊙ 0 + b_1
            else:
                torch.addcmul(b_t, a_t, h_prev, out=h_t)
            h_prev = h_t
        ctx.save_for_backward(a, h0, h)
        ctx.b_shape = b.shape
        return h

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad_h: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
        a, h0, h = ctx.saved_tensors
        T = h.shape[1]
        g = torch.empty_like(h)  # (B, T, *S): total gradient reaching h_t
        grads, a_steps, g_steps = grad_h.unbind(1), a.unbind(1), g.unbind(1)
        g_steps[T - 1].copy_(grads[T - 1])
        for t in range(T - 2, -1, -1):
            torch.addcmul(grads[t], a_steps[t + 1], g_steps[t + 1], out=g_steps[t])

        d_a = d_b = d_h0 = None
        if ctx.needs_input_grad[0]:
            d_a = torch.empty_like(h)  # g_t ⊙ h_{t-1}
            torch.mul(g[:, 1:], h[:, :-1], out=d_a[:, 1:])
            if h0 is None:
                d_a[:, 0].zero_()
            else:
                torch.mul(g[:, 0], h0, out=d_a[:, 0])
            d_a = d_a.sum_to_size(a.shape)
        if ctx.needs_input_grad[1]:
            d_b = g.sum_to_size(ctx.b_shape)
        if h0 is not None and ctx.needs_input_grad[2]:
            d_h0 = (a[:, 0] * g[:, 0]).sum_to_size(h0.shape)
        return d_a, d_b, d_h0


# ---------------------------------------------------------------------------------------------- checks
def _check(
    name: str,
    a: Tensor,
    b: Tensor,
    h0: Tensor | None,
    names: tuple[str, str, str] = ("a", "b", "h0"),
) -> torch.Size:
    """Validate (a, b, h0); return the broadcast (B, T, *S) shape."""
    na, nb, nh = names
    for label, t in ((na, a), (nb, b)):
        if not isinstance(t, Tensor):
            raise ValueError(
                f"{name}: expected {label} to be a Tensor of shape (B, T, *S), got {type(t).__name__}"
            )
        if t.dim() < 2:
            raise ValueError(
                f"{name}: expected {label} of shape (B, T, *S) (batch-first, rank ≥ 2), "
                f"got shape {tuple(t.shape)}"
            )
        if not t.is_floating_point():
            raise ValueError(f"{name}: expected a floating-point {label}, got dtype {t.dtype}")
    if a.dim() != b.dim() or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{name}: expected {na} and {nb} of one rank and one time axis (B, T, *S), "
            f"got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    try:
        shape = torch.broadcast_shapes(a.shape, b.shape)
    except RuntimeError:
        raise ValueError(
            f"{name}: {na} of shape {tuple(a.shape)} does not broadcast against {nb} of shape "
            f"{tuple(b.shape)}; only size-1 axes may differ"
        ) from None
    if shape[1] == 0:
        raise ValueError(f"{name}: expected at least one time step, got {nb} of shape {tuple(b.shape)}")
    if a.dtype != b.dtype or a.device != b.device:
        raise ValueError(
            f"{name}: {na} and {nb} must share one dtype and device, "
            f"got {a.dtype}/{a.device} and {b.dtype}/{b.device}"
        )
    if h0 is not None:
        expected = (shape[0], *shape[2:])
        if not isinstance(h0, Tensor) or tuple(h0.shape) != expected:
            got = tuple(h0.shape) if isinstance(h0, Tensor) else type(h0).__name__
            raise ValueError(
                f"{name}: expected {nh} of shape (B, *S) = {expected} (the state before step 1), got {got}"
            )
        if h0.dtype != b.dtype or h0.device != b.device:
            raise ValueError(
                f"{name}: {nh} must have {nb}'s dtype and device {b.dtype}/{b.device}, "
                f"got {h0.dtype}/{h0.device}"
            )
    return shape
