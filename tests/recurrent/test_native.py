"""The fused C step (csrc/lstm_step.c) against the torch-kernel path of the same BPTT, and its build."""

from __future__ import annotations

import ctypes
import logging

import pytest
import torch

from seqlab.recurrent import LSTM, ln_lstm_bptt, lstm_bptt, native
from seqlab.recurrent.lstm_bptt import lstm_sequence

kernels = native.lstm_kernels()
needs_kernels = pytest.mark.skipif(kernels is None, reason=f"fused step: {native.native_status()}")


def run_sequence(gx, h0, c0, W, p, coupled, *, use_kernels: bool, grad_c: bool):
    """Outputs and gradients of lstm_sequence, on the C step or forced onto the torch kernels."""
    leaves = [t.detach().clone().requires_grad_() for t in (gx, h0, c0, W)]
    if p is not None:
        leaves.append(p.detach().clone().requires_grad_())
    original = lstm_bptt.kernels_for
    lstm_bptt.kernels_for = original if use_kernels else (lambda gx: None)
    try:
        hs, cs = lstm_sequence(*leaves[:4], leaves[4] if p is not None else None, coupled)
    finally:
        lstm_bptt.kernels_for = original
    weights = torch.linspace(-1, 1, hs.shape[-1], dtype=hs.dtype)
    loss = (hs * weights).sum() + (cs[:, -1].sum() + 0.3 * cs[:, 1].sum() if grad_c else 0)
    return (hs, cs, *torch.autograd.grad(loss, leaves))


@needs_kernels
@pytest.mark.parametrize("coupled", [False, True], ids=["ifgo", "coupled"])
@pytest.mark.parametrize("peephole", [False, True], ids=["plain", "peephole"])
@pytest.mark.parametrize("grad_c", [False, True], ids=["dh", "dh+dc"])
@pytest.mark.parametrize("size", [(3, 6, 5), (16, 5, 300)], ids=["tiny", "threaded"])  # B·H ≥ 4096 splits
def test_c_step_matches_float64_torch_path(coupled, peephole, grad_c, size):
    B, T, H = size
    G = 3 if coupled else 4
    g = torch.Generator().manual_seed(0)
    gx = torch.randn(B, T, G * H, generator=g)
    h0, c0 = torch.randn(B, H, generator=g), torch.randn(B, H, generator=g)
    W = torch.randn(G * H, H, generator=g) / H**0.5
    p = torch.randn(G - 1, H, generator=g) * 0.5 if peephole else None
    ours = run_sequence(gx, h0, c0, W, p, coupled, use_kernels=True, grad_c=grad_c)
    as64 = [None if t is None else t.double() for t in (gx, h0, c0, W, p)]
    exact = run_sequence(*as64, coupled, use_kernels=False, grad_c=grad_c)
    assert ours[0].dtype == torch.float32
    for a, b in zip(ours, exact, strict=True):
        torch.testing.assert_close(a.double(), b, atol=2e-5, rtol=1e-4)


@needs_kernels
def test_the_layer_takes_the_c_step_for_float32_on_cpu(monkeypatch):
    calls = []
    original = lstm_bptt._forward_native
    monkeypatch.setattr(lstm_bptt, "_forward_native", lambda *a: calls.append(1) or original(*a))
    lstm = LSTM(4, 5, peephole=True)
    lstm(torch.randn(2, 3, 4))
    assert calls == [1]
    lstm.double()(torch.randn(2, 3, 4, dtype=torch.float64))  # float64: the torch path
    assert calls == [1]


@needs_kernels
def test_tanh_and_sigmoid_are_accurate_everywhere():
    x = torch.cat([torch.linspace(-20, 20, 200_001), torch.tensor([0.0, -0.0, 1e-30, 88.0, -100.0])])
    x = torch.cat([x, torch.tensor([float("inf"), float("-inf"), float("nan")])])
    y, s = torch.empty_like(x), torch.empty_like(x)
    kernels.seqlab_tanh_sigmoid(x.numel(), x.data_ptr(), y.data_ptr(), s.data_ptr())
    finite = slice(0, -3)
    assert (y[finite] - torch.tanh(x[finite].double())).abs().max() < 5e-7
    assert (s[finite] - torch.sigmoid(x[finite].double())).abs().max() < 5e-7
    assert y[-3:-1].tolist() == [1.0, -1.0] and s[-3:-1].tolist() == [1.0, 0.0]
    assert y[-1].isnan() and s[-1].isnan()  # NaN propagates: a diverged run must not look healthy


def test_disabled_by_environment(monkeypatch):
    monkeypatch.setattr(native, "_status", native._status)
    monkeypatch.setenv("SEQLAB_NATIVE", "0")
    assert native.lstm_kernels.__wrapped__() is None
    assert "SEQLAB_NATIVE=0" in native._status


def test_a_failed_build_falls_back_with_a_warning(monkeypatch, tmp_path, caplog):
    monkeypatch.setattr(native, "_status", native._status)
    monkeypatch.setenv("SEQLAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CC", "false")  # a "compiler" that always fails
    with caplog.at_level(logging.WARNING, logger="seqlab.recurrent.native"):
        assert native.lstm_kernels.__wrapped__() is None
    assert "false failed" in caplog.text and "using torch kernels" in caplog.text
    assert not list(tmp_path.rglob("*.so"))  # nothing half-written left in the cache


@needs_kernels
def test_built_once_into_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("SEQLAB_CACHE_DIR", str(tmp_path))
    first = native._build(native.SOURCE)
    assert first.parent == tmp_path / "native" and first.suffix == ".so"
    stamp = first.stat().st_mtime_ns
    assert native._build(native.SOURCE) == first and first.stat().st_mtime_ns == stamp
    assert list(first.parent.iterdir()) == [first]  # no temporary files left
    ctypes.CDLL(str(first)).seqlab_lstm_forward_step  # noqa: B018 — it exports the step
    if native._openmp_flags():  # torch's libgomp is loaded: rows are split across its threads
        assert b"GOMP_parallel" in first.read_bytes()


def run_ln_sequence(args, *, use_kernels: bool, grad_c: bool):
    """Outputs and gradients of ln_lstm_sequence, on the C step or forced onto the torch kernels."""
    leaves = [t.detach().clone().requires_grad_() for t in args]
    original = ln_lstm_bptt.kernels_for
    ln_lstm_bptt.kernels_for = original if use_kernels else (lambda gx: None)
    try:
        hs, cs = ln_lstm_bptt.ln_lstm_sequence(*leaves, 1e-5)
        with torch.no_grad():  # the inference loop keeps one step's buffers: same numbers
            hs_no_grad, cs_no_grad = ln_lstm_bptt.ln_lstm_sequence(*leaves, 1e-5)
    finally:
        ln_lstm_bptt.kernels_for = original
    torch.testing.assert_close((hs_no_grad, cs_no_grad), (hs, cs), atol=0, rtol=0)
    weights = torch.linspace(-1, 1, hs.shape[-1], dtype=hs.dtype)
    loss = (hs * weights).sum() + (cs[:, -1].sum() + 0.3 * cs[:, 1].sum() if grad_c else 0)
    return (hs, cs, *torch.autograd.grad(loss, leaves))


@needs_kernels
@pytest.mark.parametrize("grad_c", [False, True], ids=["dh", "dh+dc"])
@pytest.mark.parametrize("size", [(3, 6, 5), (16, 5, 300)], ids=["tiny", "threaded"])
def test_layer_norm_c_step_matches_float64_torch_path(grad_c, size):
    B, T, H = size
    g = torch.Generator().manual_seed(0)
    args = (
        torch.randn(B, T, 4 * H, generator=g),  # gx
        torch.randn(B, H, generator=g),  # h0
        torch.randn(B, H, generator=g),  # c0
        torch.randn(4 * H, H, generator=g) / H**0.5,  # W_hh
        1 + 0.5 * torch.randn(4, H, generator=g),  # γ, β of the gates, γ_c, β_c of the cell
        0.5 * torch.randn(4, H, generator=g),
        1 + 0.5 * torch.randn(H, generator=g),
        0.5 * torch.randn(H, generator=g),
    )
    ours = run_ln_sequence(args, use_kernels=True, grad_c=grad_c)
    exact = run_ln_sequence([a.double() for a in args], use_kernels=False, grad_c=grad_c)
    for a, b in zip(ours, exact, strict=True):
        torch.testing.assert_close(a.double(), b, atol=5e-5, rtol=1e-4)
