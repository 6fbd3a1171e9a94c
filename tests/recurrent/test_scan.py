"""Linear scans: every method == the Python loop, forward and backward; log-space scan; bad input."""

from __future__ import annotations

import pytest
import torch

from seqlab.recurrent.scan import (
    SCAN_METHODS,
    auto_scan_method,
    linear_scan,
    linear_scan_reference,
    log_linear_scan,
)

METHODS = [m for m in SCAN_METHODS if m != "auto"]
f64 = torch.float64


def coefficients(*shape: int, dtype=f64, requires_grad: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """a in (0, 1) (a gate), b of either sign."""
    a = torch.rand(*shape, dtype=dtype) * 0.98 + 0.01
    b = torch.randn(*shape, dtype=dtype)
    return a.requires_grad_(requires_grad), b.requires_grad_(requires_grad)


def test_reference_loop_on_a_known_case():
    """a = 1/2, b = 1 from h0 = 0: h_t = 2 − 2^{1−t}; from h0 = 4: h_t = 2 + 2^{1-t}."""
    a, b = torch.full((1, 5, 1), 0.5, dtype=f64), torch.ones(1, 5, 1, dtype=f64)
    t = torch.arange(1, 6, dtype=f64)[None, :, None]
    torch.testing.assert_close(linear_scan_reference(a, b), 2 - 2.0 ** (1 - t))
    h0 = torch.full((1, 1), 4.0, dtype=f64)
    for method in SCAN_METHODS:
        torch.testing.assert_close(linear_scan(a, b, h0, method=method), 2 + 2.0 ** (1 - t))


@pytest.mark.parametrize("method", SCAN_METHODS)
@pytest.mark.parametrize("with_h0", [False, True], ids=["zero-h0", "h0"])
@pytest.mark.parametrize("T", [1, 7, 20])
def test_every_method_equals_the_loop(method, with_h0, T):
    a, b = coefficients(3, T, 4)
    h0 = torch.randn(3, 4, dtype=f64) if with_h0 else None
    expected = linear_scan_reference(a, b, h0)
    for chunk_size in (None, 3, 4):  # 3 and 4: T not a multiple of the chunk (T=7, 20 and 7)
        out = linear_scan(a, b, h0, method=method, chunk_size=chunk_size)
        assert out.shape == (3, T, 4)
        torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("method", SCAN_METHODS)
def test_matrix_state_with_broadcast_decay(method):
    """a (B, T, K, 1) decays the rows of a (B, T, K, V) state, as a per-key decay does."""
    a, _ = coefficients(2, 9, 3, 1)
    _, b = coefficients(2, 9, 3, 4)
    h0 = torch.randn(2, 3, 4, dtype=f64)
    out = linear_scan(a, b, h0, method=method, chunk_size=4)
    torch.testing.assert_close(out, linear_scan_reference(a, b, h0), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("with_h0", [False, True], ids=["zero-h0", "h0"])
def test_gradcheck_float64(method, with_h0):
    a, b = coefficients(2, 7, 3, requires_grad=True)
    inputs = (a, b) + ((torch.randn(2, 3, dtype=f64, requires_grad=True),) if with_h0 else ())

    def f(a, b, h0=None):
        return linear_scan(a, b, h0, method=method, chunk_size=3)

    assert torch.autograd.gradcheck(f, inputs)


@pytest.mark.parametrize("method", METHODS)
def test_gradcheck_broadcast_decay(method):
    a, _ = coefficients(2, 5, 2, 1, requires_grad=True)
    _, b = coefficients(2, 5, 2, 3, requires_grad=True)
    h0 = torch.randn(2, 2, 3, dtype=f64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, b, h0: linear_scan(a, b, h0, method=method, chunk_size=2), (a, b, h0)
    )


@pytest.mark.parametrize("method", METHODS)
def test_gradients_equal_autograd_through_the_loop(method):
    a, b = coefficients(4, 33, 6, requires_grad=True)
    h0 = torch.randn(4, 6, dtype=f64, requires_grad=True)
    weight = torch.randn(4, 33, 6, dtype=f64)  # a loss that weighs every step differently
    expected = torch.autograd.grad((linear_scan_reference(a, b, h0) * weight).sum(), (a, b, h0))
    got = torch.autograd.grad((linear_scan(a, b, h0, method=method) * weight).sum(), (a, b, h0))
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=1e-9, atol=1e-9)


def test_sequential_scan_with_only_some_inputs_requiring_grad():
    a, b = coefficients(2, 6, 3)
    b.requires_grad_()
    h0 = torch.randn(2, 3, dtype=f64)
    (grad_b,) = torch.autograd.grad(linear_scan(a, b, h0, method="sequential").sum(), b)
    (expected,) = torch.autograd.grad(linear_scan_reference(a, b, h0).sum(), b)
    torch.testing.assert_close(grad_b, expected)


@pytest.mark.parametrize("method", SCAN_METHODS)
def test_runs_under_inference_mode(method):
    a, b = coefficients(2, 9, 3)
    with torch.inference_mode():
        out = linear_scan(a, b, method=method)
    torch.testing.assert_close(out, linear_scan_reference(a, b))


@pytest.mark.parametrize("with_h0", [False, True], ids=["zero-h0", "h0"])
def test_log_linear_scan_equals_the_loop_for_positive_b(with_h0):
    a = torch.rand(2, 12, 3, dtype=f64) * 0.98 + 0.01
    b = torch.rand(2, 12, 3, dtype=f64) + 0.1
    h0 = torch.rand(2, 3, dtype=f64) + 0.1 if with_h0 else None
    log_h = log_linear_scan(a.log(), b.log(), None if h0 is None else h0.log())
    torch.testing.assert_close(log_h.exp(), linear_scan_reference(a, b, h0), rtol=1e-10, atol=1e-10)


def test_log_linear_scan_gradcheck_and_zero_inputs():
    """b_t = 0 is log b_t = −inf: allowed, and it must not turn any gradient into nan."""
    log_a = torch.randn(2, 6, 3, dtype=f64, requires_grad=True)
    log_b = torch.randn(2, 6, 3, dtype=f64)
    log_b[:, :2] = -torch.inf  # nothing written for the first two steps
    log_b.requires_grad_()
    log_h0 = torch.randn(2, 3, dtype=f64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, h0: log_linear_scan(a, log_b.detach(), h0), (log_a, log_h0))
    log_linear_scan(log_a, log_b).exp().sum().backward()
    assert torch.isfinite(log_a.grad).all() and torch.isfinite(log_b.grad).all()


@pytest.mark.parametrize("method", SCAN_METHODS)
def test_long_sequence_gradients_finite_and_log_precision(method):
    """T = 4096 in float32: finite gradients everywhere; the log scan's error stays below 1e-2."""
    z = torch.sigmoid(torch.randn(2, 4096, 8))
    a, b = (1 - z).requires_grad_(), (z * torch.randn(2, 4096, 8)).requires_grad_()
    h0 = torch.randn(2, 8, requires_grad=True)
    out = linear_scan(a, b, h0, method=method)
    out.square().sum().backward()
    for grad in (a.grad, b.grad, h0.grad):
        assert torch.isfinite(grad).all()
    with torch.no_grad():
        ref = linear_scan_reference(a.double(), b.double(), h0.double())
    rel = ((out.double() - ref).abs().max() / ref.abs().max()).item()
    assert rel < (1e-2 if method == "log" else 1e-5)


def test_auto_is_the_sequential_scan_on_cpu():
    assert auto_scan_method(torch.device("cpu"), 4096) == "sequential"
    assert auto_scan_method(torch.device("cuda"), 4096) == "chunked"
    assert auto_scan_method(torch.device("cuda"), 8) == "sequential"


# ------------------------------------------------------------------------------------------ bad input
def test_unknown_method():
    a, b = coefficients(2, 3, 4)
    with pytest.raises(ValueError, match=r"unknown method 'parallel'; known: auto, sequential, chunked, log"):
        linear_scan(a, b, method="parallel")


def test_zero_time_steps():
    a, b = coefficients(2, 0, 4)
    with pytest.raises(ValueError, match=r"at least one time step, got b of shape \(2, 0, 4\)"):
        linear_scan(a, b)


def test_wrong_h0_shape():
    a, b = coefficients(2, 3, 4)
    with pytest.raises(ValueError, match=r"expected h0 of shape \(B, \*S\) = \(2, 4\).*got \(2, 1, 4\)"):
        linear_scan(a, b, torch.zeros(2, 1, 4, dtype=f64))


def test_mismatched_a_and_b():
    a, _ = coefficients(2, 3, 4)
    _, b = coefficients(2, 5, 4)
    with pytest.raises(ValueError, match=r"one rank and one time axis.*\(2, 3, 4\) and \(2, 5, 4\)"):
        linear_scan(a, b)
    _, b = coefficients(2, 3, 5)
    with pytest.raises(ValueError, match=r"does not broadcast"):
        linear_scan(a, b)


def test_rank_dtype_and_device_checks():
    with pytest.raises(ValueError, match=r"expected a of shape \(B, T, \*S\).*rank ≥ 2"):
        linear_scan(torch.rand(3), torch.rand(3))
    with pytest.raises(ValueError, match=r"floating-point b, got dtype torch.int64"):
        linear_scan(torch.rand(2, 3), torch.ones(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"must share one dtype"):
        linear_scan(torch.rand(2, 3), torch.rand(2, 3, dtype=f64))


def test_log_method_needs_positive_a():
    a, b = coefficients(2, 3, 4)
    a[0, 1, 2] = 0.0
    with pytest.raises(ValueError, match=r"method='log' needs every a_t > 0"):
        linear_scan(a, b, method="log")


def test_bad_chunk_size():
    a, b = coefficients(2, 3, 4)
    with pytest.raises(ValueError, match=r"chunk_size to be a positive integer, got 0"):
        linear_scan(a, b, method="chunked", chunk_size=0)
