"""Fused per-step kernels in C for the hand-written BPTT paths, compiled on first use.

Eager PyTorch spends a time step of a peephole or coupled LSTM in about ten small elementwise kernels
forward and five backward (more with layer norm), each a pass over memory and a dispatch; at B = 32,
H = 256 that costs more than the step's matrix product. ``csrc/lstm_step.c`` does the same arithmetic
in one loop per batch row and step, for ``lstm_bptt.py`` and ``ln_lstm_bptt.py`` (the matrix products
stay with torch: ``packed_matmul`` below). It is plain C with no torch headers: it compiles in well under
a second with the system's C compiler, for the CPU it runs on (``-march=native``), into
``<cache>/native/`` (``$SEQLAB_CACHE_DIR``, else ``~/.cache/seqlab``), keyed by the source, the
flags, the compiler and the CPU, and is loaded through ``ctypes``.

Nothing depends on it: with no compiler, a failed build, or ``SEQLAB_NATIVE=0`` in the environment,
the same BPTT runs on torch kernels, and the tests assert the two paths agree.
Only float32 on CPU takes this path.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sysconfig
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from .._cache import cache_dir

__all__ = ["OutsideGrads", "Strided", "kernels_for", "lstm_kernels", "native_status", "packed_matmul"]

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("csrc") / "lstm_step.c"
FLAGS = ("-O3", "-march=native", "-std=c11", "-fPIC", "-shared", "-fopenmp-simd", "-Wno-unknown-pragmas")
LIBS = ("-lm",)

_i, _p = ctypes.c_long, ctypes.c_void_p  # sizes and strides (in floats); pointers
_SIGNATURES = {
    "seqlab_tanh_sigmoid": (_i, _p, _p, _p),
    # B, H, coupled, y, y_s, x, x_s, a, a_s, c_prev, c, c_s, tanh_c, tc_s, h, h_s, peep, peep_s
    "seqlab_lstm_forward_step": (_i, _i, ctypes.c_int, *(_p, _i) * 3, _p, *(_p, _i) * 4),
    # B, H, coupled, a, a_s, c_prev, c, c_s, tanh_c, tc_s, y, y_s, dh_out, dho_s, dc, dc_s, dc_out, dco_s,
    # delta, d_s, peep, peep_s, dpeep, dpeep_s
    "seqlab_lstm_backward_step": (_i, _i, ctypes.c_int, _p, _i, _p, *(_p, _i) * 9),
    # B, H, eps, y, y_s, x, x_s, saved, c_prev, c, c_s, h, h_s, gamma, beta, gamma_c, beta_c
    "seqlab_ln_lstm_forward_step": (_i, _i, ctypes.c_float, *(_p, _i) * 2, _p, _p, *(_p, _i) * 2, *(_p,) * 4),
    # B, H, saved, c_prev, c_s, y, y_s, dh_out, dho_s, dc, dc_s, dc_out, dco_s, delta, d_s,
    # gamma, gamma_c, acc
    "seqlab_ln_lstm_backward_step": (_i, _i, _p, *(_p, _i) * 6, _p, _p, _p),
    "seqlab_ln_row_floats": (_i,),
}
_RESTYPES = {"seqlab_ln_row_floats": _i}

_status = "not loaded yet"


def native_status() -> str:
    """One line on the fused kernels: loaded from where, or why not."""
    lstm_kernels()
    return _status


@functools.cache
def lstm_kernels() -> ctypes.CDLL | None:
    """The compiled ``csrc/lstm_step.c``, or None (then callers use their torch path)."""
    global _status
    if os.environ.get("SEQLAB_NATIVE", "1").strip() in ("0", "false", "no", "off"):
        _status = "disabled by SEQLAB_NATIVE=0"
        return None
    try:
        path = _build(SOURCE)
        lib = ctypes.CDLL(str(path))
    except (OSError, subprocess.SubprocessError, RuntimeError) as err:
        _status = f"unavailable ({err}); using torch kernels"
        log.warning("seqlab: fused LSTM step %s", _status)
        return None
    for name, argtypes in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = argtypes, _RESTYPES.get(name)
    _status = f"loaded from {path}"
    return lib


def _compiler() -> str:
    cc = os.environ.get("CC") or (sysconfig.get_config_var("CC") or "cc").split()[0]
    found = shutil.which(cc) or shutil.which("cc") or shutil.which("gcc")
    if found is None:
        raise RuntimeError(f"no C compiler found (tried $CC, {cc!r}, cc, gcc)")
    return found


def _cpu_id() -> str:
    """The CPU's model and feature flags, so a cache shared between machines never runs a binary
    built for another CPU."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    wanted = ("model name", "flags", "Features", "CPU part")
    return "\n".join(dict.fromkeys(line for line in lines if line.startswith(wanted)))


def _openmp_flags() -> tuple[str, ...]:
    """``-fopenmp`` when this process already runs GNU OpenMP (torch's libgomp.so.1 on Linux wheels):
    the built library then binds to that same runtime and thread pool. Anything else (another OpenMP,
    or no way to tell) gets a single-threaded build rather than a second runtime fighting for cores."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return ()
    return ("-fopenmp",) if "/libgomp" in maps else ()


def _build(source: Path) -> Path:
    cc = _compiler()
    flags = (*FLAGS, *_openmp_flags(), *LIBS)  # the cache key hashes exactly what the compiler is given
    version = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    key = hashlib.sha256(
        b"\0".join(s.encode() for s in (source.read_text(), " ".join(flags), version, _cpu_id()))
    ).hexdigest()[:16]
    path = cache_dir() / "native" / f"{source.stem}-{key}.so"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=path.parent)  # built aside, then renamed: atomic,
    os.close(fd)  # so processes building at once (DDP ranks) never load a half-written file
    try:
        cmd = [cc, str(source), "-o", tmp, *flags]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{cc} failed: {done.stderr.strip()[-500:]}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    log.info("seqlab: compiled %s → %s", source.name, path)
    return path


# ---- helpers for the Python loops that call the steps


def kernels_for(x: Tensor) -> ctypes.CDLL | None:
    """The compiled steps if they apply to this input (float32 on CPU) and are available, else None."""
    if x.device.type != "cpu" or x.dtype != torch.float32:
        return None
    return lstm_kernels()


def packed_matmul(weight: Tensor, batch: int) -> Callable[[Tensor], Tensor]:
    """x ↦ x Wᵀ for an (out, in) weight, called once per time step: oneDNN's small-matrix product with
    the weight packed once for this batch size where torch has it (at B = 32, H = 256 about 1.6x faster
    than ``torch.mm`` on this CPU), else ``torch.mm``."""
    try:
        packed = torch.ops.mkldnn._reorder_linear_weight(weight, batch)
    except (AttributeError, RuntimeError, NotImplementedError):  # no oneDNN in this torch build
        W_T = weight.T
        return lambda x: torch.mm(x, W_T)
    linear = torch.ops.mkldnn._linear_pointwise
    return lambda x: linear(x, packed, None, "none", [], "")


class Strided:
    """Pointer arithmetic over a (B, T, …) float32 buffer whose trailing dimensions are contiguous: the
    address of step t of batch row 0 and the stride between batch rows in floats, as the C steps take
    them. It holds the tensor, so the memory outlives every address handed out."""

    __slots__ = ("base", "row", "step", "tensor")

    def __init__(self, x: Tensor) -> None:
        self.tensor = x
        self.base, self.row, self.step = x.data_ptr(), x.stride(0), x.stride(1) * 4

    def at(self, t: int) -> int:
        return self.base + t * self.step


class OutsideGrads:
    """What the reverse loops hand the C steps of the gradients reaching h_t and c_t from outside the
    recurrence (the loss through the outputs): (address, row stride) per step, or a row of zeros with
    stride 0 where none comes, so the C step adds it unconditionally. Also a zero row (``none``) for any
    other missing operand, and the δc the reverse loop starts from."""

    def __init__(self, grad_hs: Tensor | None, grad_cs: Tensor | None, B: int, T: int, H: int) -> None:
        self._zero_row = torch.zeros(H)
        self.none = self._zero_row.data_ptr(), 0
        self._h = None if grad_hs is None else Strided(grad_hs.contiguous())
        self._c = None if grad_cs is None else Strided(grad_cs.contiguous())
        self.dc_last = torch.zeros(B, H) if grad_cs is None else grad_cs[:, T - 1].contiguous()

    def h(self, t: int) -> tuple[int, int]:
        """The gradient of the output h_t."""
        return self.none if self._h is None else (self._h.at(t), self._h.row)

    def c_prev(self, t: int) -> tuple[int, int]:
        """The gradient of the output c_{t-1} (none for c_{-1}, the initial state)."""
        return self.none if self._c is None or t == 0 else (self._c.at(t - 1), self._c.row)
