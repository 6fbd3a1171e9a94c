"""Vanishing and exploding gradients: ‖∂L/∂h_k‖ against the distance T − k, for the Elman RNN, LSTM and GRU.

The chapter's claim. Backpropagation through time multiplies one Jacobian per step. For the Elman RNN
h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h) (``seqlab.recurrent.rnn``; row-vector code, column-vector
maths) the step Jacobian is

    J_t = ∂h_t/∂h_{t-1} = diag(1 − h_t²) W_hh,       so   ∂L/∂h_k = (J_T J_{T-1} ⋯ J_{k+1})ᵀ ∂L/∂h_T,

and the product's norm behaves like ρ(W_hh)^{T−k} times the product of the tanh slopes (≤ 1): it vanishes
exponentially when the spectral radius ρ(W_hh) < 1 and can explode when ρ > 1 (Bengio, Simard & Frasconi
1994; Hochreiter 1991; Pascanu, Mikolov & Bengio 2013). The LSTM's cell c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t
has ∂c_t/∂c_{t-1} = diag(f_t) on its direct path — no squashing, no W_hh (Hochreiter & Schmidhuber 1997) —
and the GRU's h_t = (1 − z_t) ⊙ h̃_t + z_t ⊙ h_{t-1} has the same additive skip (Cho et al. 2014), so
their gradients should decay much more slowly than the Elman RNN's at the same initialisation.

What is measured. One layer of each recurrence (D inputs, H units), run in float64 with its public
``step`` one token at a time, so every h_k is a node of the graph; the loss is a random readout of the
LAST output only, L = Σ_b wᵀ h_T^(b), so ∂L/∂h_k (``torch.autograd.grad`` w.r.t. the per-step h_k) is
pure BPTT. The norm ‖∂L/∂h_k‖ is averaged over a batch of random sequences (x_t ~ N(0, s²)). Models:

- ``rnn ρ=0.5``, ``rnn ρ=1``, ``rnn ρ=1.5``, ``rnn ρ=3``: the Elman RNN (tanh) at torch's init with W_hh
  rescaled to that spectral radius, W ← W·ρ/ρ(W) (every eigenvalue scaled alike);
- ``rnn default``: the Elman RNN at torch's init, U(±1/√H), whose ρ(W_hh) ≈ 1/√3 ≈ 0.58;
- ``linear ρ=1.5``: the same recurrence with the identity for tanh, h_t = W_xh x_t + W_hh h_{t-1} + b_h,
  where ∂L/∂h_k = (W_hhᵀ)^{T−k} w exactly: the textbook explosion;
- ``lstm`` and ``gru``: seqlab's defaults (the LSTM's forget-gate bias 1, as the chapter advises; the
  GRU at torch's init), and, to separate the architecture from the initialisation, ``lstm b_f=0``
  (torch's LSTM init) and ``gru b_z=1`` (the update-gate bias raised by 1, so torch's z_t — the share
  of h_{t-1} kept — starts at σ(1) ≈ 0.73 like the LSTM's f_t).

The BPTT product made visible: for the tanh Elman RNNs the Jacobians J_t are formed from the recorded h_t
and multiplied out explicitly, P_k = J_T ⋯ J_{k+1}; the second figure shows the spectral norm ‖P_k‖₂ (how
much the product can amplify any gradient) next to the autograd norm, and the run checks that
P_kᵀ ∂L/∂h_T *is* the autograd gradient (float64, relative error below ``AGREEMENT_TOL``).

Inputs and scales, and what tanh does. Inputs have scale s = 0.1 (``input_scale``): small inputs keep
the ρ = 1 network near its linear regime, where the textbook picture (neither vanishing nor exploding) is
closest; tanh's slopes 1 − h_t² < 1 still make it shrink by a few percent per step. At ρ = 1.5 the tanh
network's state grows until it saturates, and saturation damps the product (1 − h_t² ≪ 1): the measured
per-step factor sits near 1 — between 0.93 and 1.07 over eight draws (H = 64 and 128), at s = 0.1 and at
s = 1 alike — instead of the linear variant's 1.5. So the exploding claim is decided at ρ = 3, where the
tanh network's gradient grows clearly (about 1.25–1.35 per step), and the linear variant shows the
textbook explosion at ρ = 1.5.

What the gated units show at init: the LSTM's slow decay comes from its forget-gate bias (f_t ≈ σ(1));
at torch's init (f_t ≈ 0.5) the LSTM, and the GRU (z_t ≈ 0.5), decay about as fast as the default Elman
RNN. Their advantage is that the gate *can* sit near 1 — by init or by learning — without W_hh in the path.

Decision rules (module constants): vanishing held when the fitted per-step factor of ``rnn ρ=0.5`` is below
``VANISH_MAX_FACTOR``; exploding held when ``rnn ρ=3`` (tanh) grows by more than ``EXPLODE_MIN_FACTOR`` per
step; the LSTM's (GRU's) claim held when it keeps at least ``GATED_MIN_RATIO`` times the default Elman RNN's
gradient norm at distance ``min(100, T − 1)``, both at their default init. The per-step factor is exp of
the least-squares slope of ln‖∂L/∂h_k‖ against T − k. "tiny" decides only the exact BPTT-product check.
Several seeds ("full") are combined by the geometric mean of the norms.

    python -m seqlab.experiments.gradients --setting full
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from seqlab.experiments.common import (
    ExperimentResult,
    Finding,
    Table,
    experiment_main,
    pick_setting,
    seed_everything,
)
from seqlab.recurrent import build_recurrence
from seqlab.recurrent.rnn import ElmanRNN

__all__ = [
    "MINUTES",
    "NAME",
    "SETTINGS",
    "TITLE",
    "bptt_products",
    "decide",
    "hidden_gradients",
    "linear_elman_step",
    "main",
    "per_step_factor",
    "run",
    "set_spectral_radius",
    "spectral_radius",
]

log = logging.getLogger(__name__)

NAME = "gradients"
TITLE = "Vanishing and exploding gradients: ‖∂L/∂h_k‖ against distance"
SETTINGS = {
    "tiny": {"T": 20, "batch": 4, "input_size": 4, "hidden_size": 16, "input_scale": 0.1, "seeds": 1,
             "jacobian_batch": 2},
    "small": {"T": 200, "batch": 32, "input_size": 8, "hidden_size": 64, "input_scale": 0.1, "seeds": 1,
              "jacobian_batch": 4},
    "full": {"T": 1000, "batch": 128, "input_size": 8, "hidden_size": 128, "input_scale": 0.1, "seeds": 3,
             "jacobian_batch": 4},
}  # fmt: skip
# Wall minutes of run() on the 2-core CPU with 2 torch threads, from 1-thread runs on a shared machine:
# tiny ~1 s, small 4 s of CPU (14–26 s wall while other jobs ran), full 84 s of CPU (2.5 min wall). These
# step loops of small float64 matmuls gain little from a second thread, so the 1-thread times are kept.
MINUTES = {"tiny": 0.02, "small": 0.1, "full": 2.5}

RHOS = (0.5, 1.0, 1.5, 3.0)  # spectral radii of the rescaled Elman RNNs
GRU_UPDATE_BIAS = 1.0  # the GRU variant whose update gate starts at σ(1) ≈ 0.73, like the LSTM's f_t
GATED = {  # name → options: seqlab's defaults, then torch's LSTM init and a GRU with the LSTM's gate bias
    "lstm": {},
    "gru": {},
    "lstm b_f=0": {"forget_bias": 0.0},
    f"gru b_z={GRU_UPDATE_BIAS:g}": {},
}
EXPLODE_RHO = 3.0  # the tanh network whose growth decides the exploding claim (ρ=1.5 is marginal)
LINEAR_RHO = 1.5  # the identity-activation variant that shows the textbook explosion
COMPARE_DISTANCE = 100  # distance at which LSTM/GRU are compared with the Elman RNN (capped at T − 1)
VANISH_MAX_FACTOR = 0.95  # ρ=0.5 must lose at least 5% per step
EXPLODE_MIN_FACTOR = 1.01  # tanh ρ=3 must gain at least 1% per step
GATED_MIN_RATIO = 100.0  # LSTM, GRU (each) keep ≥ 100× the default Elman RNN's norm at COMPARE_DISTANCE
AGREEMENT_TOL = 1e-6  # relative error of (Π J)ᵀ g against autograd, float64
UNDERFLOW = 1e-280  # norms below this (float64 underflow territory) are left out of fits and plots


# ------------------------------------------------------------------------------------------ pieces
def spectral_radius(weight: Tensor) -> float:
    """ρ(W) = max |λ_i(W)| of a square matrix."""
    if weight.dim() != 2 or weight.shape[0] != weight.shape[1]:
        raise ValueError(f"spectral_radius: expected a square matrix, got shape {tuple(weight.shape)}")
    return float(torch.linalg.eigvals(weight.detach()).abs().max())


def set_spectral_radius(cell: ElmanRNN, rho: float) -> None:
    """Rescale the cell's W_hh in place so that ρ(W_hh) = ``rho``: W ← W·ρ/ρ(W) (every eigenvalue alike)."""
    if not isinstance(cell, ElmanRNN):
        raise ValueError(f"set_spectral_radius: expected an ElmanRNN, got {type(cell).__name__}")
    if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not (math.isfinite(rho) and rho > 0):
        raise ValueError(f"set_spectral_radius: expected a positive finite spectral radius, got {rho!r}")
    current = spectral_radius(cell.weight_hh)
    with torch.no_grad():
        cell.weight_hh.mul_(rho / current)


def linear_elman_step(cell: ElmanRNN) -> Callable[[Tensor, Any], tuple[Tensor, Any]]:
    """The cell's recurrence with the identity for tanh: h_t = W_xh x_t + W_hh h_{t-1} + b_h."""
    if not isinstance(cell, ElmanRNN):
        raise ValueError(f"linear_elman_step: expected an ElmanRNN, got {type(cell).__name__}")

    def step(x_t: Tensor, state: Any) -> tuple[Tensor, Any]:
        h_t = x_t @ cell.weight_ih.T + state.h @ cell.weight_hh.T + cell.bias_ih + cell.bias_hh  # (B, H)
        return h_t, cell.State(h_t)

    return step


def hidden_gradients(
    step: Callable[[Tensor, Any], tuple[Tensor, Any]], state: Any, x: Tensor, readout: Tensor
) -> tuple[Tensor, Tensor]:
    """Run ``step`` over x (B, T, D) from ``state``; return (h, ∂L/∂h), both (B, T, H), for L = Σ_b wᵀ h_T.

    Each h_k is its own graph node, so ``autograd.grad`` w.r.t. it is the total derivative through every
    later step: pure BPTT, since L reads only the last output.
    """
    if x.dim() != 3:
        raise ValueError(f"hidden_gradients: expected x of shape (B, T, D), got {tuple(x.shape)}")
    hs = []
    for x_t in x.unbind(1):
        h_t, state = step(x_t, state)
        hs.append(h_t)
    if readout.shape != hs[-1].shape[-1:]:
        raise ValueError(
            f"hidden_gradients: expected a readout of shape ({hs[-1].shape[-1]},), got {tuple(readout.shape)}"
        )
    loss = (hs[-1] @ readout).sum()
    grads = torch.autograd.grad(loss, hs)
    return torch.stack([h.detach() for h in hs], 1), torch.stack(grads, 1)  # (B, T, H) each


def bptt_products(weight_hh: Tensor, h: Tensor, g: Tensor, *, linear: bool = False) -> tuple[Tensor, Tensor]:
    """The BPTT product multiplied out: P_k = J_T ⋯ J_{k+1} with J_t = diag(1 − h_t²) W_hh (tanh) or W_hh.

    ``h``: (B, T, H) the recorded hidden states; ``g``: (H,) or (B, H), ∂L/∂h_T. Returns, for every
    position k = 1 … T (P_T = I), the spectral norms ‖P_k‖₂ (B, T) and the vectors P_kᵀ g (B, T, H) —
    which must equal the autograd ∂L/∂h_k. Only the running product is kept, never all T matrices.
    """
    if h.dim() != 3 or h.shape[-1] != weight_hh.shape[0]:
        raise ValueError(
            f"bptt_products: expected h of shape (B, T, {weight_hh.shape[0]}), got {tuple(h.shape)}"
        )
    B, T, H = h.shape
    W = weight_hh.detach()
    g = g.detach().expand(B, H)
    P = torch.eye(H, dtype=h.dtype, device=h.device).expand(B, H, H)  # (B, H, H): P_T = I
    norms, applied = [], []
    for k in range(T - 1, -1, -1):  # positions T … 1 (0-based index k); P_k uses J_{k+1} = J at index k+1
        if k < T - 1:
            slope = torch.ones_like(h[:, k + 1]) if linear else 1.0 - h[:, k + 1] ** 2  # (B, H)
            J = slope[:, :, None] * W  # (B, H, H): diag(1 − h²) W_hh
            P = P @ J
        norms.append(torch.linalg.matrix_norm(P, ord=2))  # (B,)
        applied.append((P.transpose(1, 2) @ g[:, :, None]).squeeze(-1))  # (B, H): P_kᵀ g
    return torch.stack(norms[::-1], 1), torch.stack(applied[::-1], 1)


def per_step_factor(norms: Sequence[float] | Tensor) -> float:
    """exp of the least-squares slope of ln(norm) against distance; ``norms[d]`` is at distance d.

    < 1: the gradient shrinks by that factor per step back in time; > 1: it grows. Norms that underflowed
    (≤ ``UNDERFLOW``) are left out; fewer than two usable points give NaN.
    """
    values = torch.as_tensor(norms, dtype=torch.float64)
    if values.dim() != 1:
        raise ValueError(
            f"per_step_factor: expected a 1-D sequence of norms, got shape {tuple(values.shape)}"
        )
    d = torch.arange(len(values), dtype=torch.float64)
    keep = (values > UNDERFLOW) & values.isfinite()
    if int(keep.sum()) < 2:
        return float("nan")
    d, y = d[keep], values[keep].log()
    slope = ((d - d.mean()) * (y - y.mean())).sum() / ((d - d.mean()) ** 2).sum()
    return float(slope.exp())


def decide(
    factors: Mapping[str, float], ratios: Mapping[str, float], max_rel_error: float, *, decided: bool = True
) -> dict[str, bool | None]:
    """The documented rules, on the measured per-step factors, norm ratios and BPTT agreement error."""
    agree = bool(max_rel_error < AGREEMENT_TOL)
    if not decided:
        return {"vanish": None, "explode": None, "lstm": None, "gru": None, "agree": agree}
    return {
        "vanish": bool(factors["rnn ρ=0.5"] < VANISH_MAX_FACTOR),
        "explode": bool(factors[f"rnn ρ={EXPLODE_RHO:g}"] > EXPLODE_MIN_FACTOR),
        "lstm": bool(ratios["lstm"] >= GATED_MIN_RATIO),
        "gru": bool(ratios["gru"] >= GATED_MIN_RATIO),
        "agree": agree,
    }


# ------------------------------------------------------------------------------------------ the run
def _models(D: int, H: int) -> dict[str, tuple[Any, Callable[..., Any], bool]]:
    """name → (cell, step function, linear?) in float64; the caller seeds."""
    models: dict[str, tuple[Any, Callable[..., Any], bool]] = {}
    base = build_recurrence("rnn", D, H).double()
    for rho in RHOS:
        cell = build_recurrence("rnn", D, H).double()
        cell.load_state_dict(base.state_dict())
        set_spectral_radius(cell, rho)
        models[f"rnn ρ={rho:g}"] = (cell, cell.step, False)
    models["rnn default"] = (base, base.step, False)
    linear = build_recurrence("rnn", D, H).double()
    linear.load_state_dict(base.state_dict())
    set_spectral_radius(linear, LINEAR_RHO)
    models[f"linear ρ={LINEAR_RHO:g}"] = (linear, linear_elman_step(linear), True)
    for name, options in GATED.items():
        cell = build_recurrence(name.split()[0], D, H, options).double()
        if name == f"gru b_z={GRU_UPDATE_BIAS:g}":
            with torch.no_grad():  # torch's z_t (gate 1 of r, z, n) is the share of h_{t-1} that is kept
                cell.bias_ih[H : 2 * H] += GRU_UPDATE_BIAS
        models[name] = (cell, cell.step, False)
    return models


def _one_seed(s: Mapping[str, Any], seed: int) -> tuple[dict[str, Tensor], dict[str, Tensor], float, dict]:
    """Per-model mean ‖∂L/∂h‖ by distance, mean ‖Π J‖₂ by distance (tanh Elman), max agreement error."""
    seed_everything(seed)
    T, B, D, H = s["T"], s["batch"], s["input_size"], s["hidden_size"]
    models = _models(D, H)
    x = torch.randn(B, T, D, dtype=torch.float64) * s["input_scale"]  # (B, T, D)
    readout = torch.randn(H, dtype=torch.float64) / math.sqrt(H)  # w: L = Σ_b wᵀ h_T
    grads, products, rho = {}, {}, {}
    max_error = 0.0
    for name, (cell, step, linear) in models.items():
        h, g = hidden_gradients(step, cell.initial_state(B, dtype=torch.float64), x, readout)
        grads[name] = _norm(g).mean(0).flip(0)  # (T,) indexed by distance T − k
        if isinstance(cell, ElmanRNN):
            rho[name] = spectral_radius(cell.weight_hh)
        if name.startswith("rnn ρ") or linear:
            n = s["jacobian_batch"]
            norms, applied = bptt_products(cell.weight_hh, h[:n], readout, linear=linear)
            products[name] = norms.mean(0).flip(0)  # (T,)
            scale = _norm(g[:n]).clamp_min(torch.finfo(g.dtype).tiny)  # (n, T)
            error = float((_norm(applied - g[:n]) / scale).max())
            max_error = error if math.isnan(error) else max(max_error, error)  # NaN must fail the rule
    return grads, products, max_error, rho


def run(setting: str = "small", out_dir: str | Path = "runs/gradients", *, seed: int = 0) -> ExperimentResult:
    """Measure ‖∂L/∂h_k‖ for every model; write gradients.png and gradients_bptt.png into ``out_dir``."""
    s = pick_setting(SETTINGS, setting, NAME)
    start = time.perf_counter()
    out_dir = Path(out_dir)
    seeds = [seed + i for i in range(s["seeds"])]
    runs = [_one_seed(s, k) for k in seeds]
    # geometric mean over seeds (the norms span hundreds of orders of magnitude)
    grads = {m: _geomean([r[0][m] for r in runs]) for m in runs[0][0]}
    products = {m: _geomean([r[1][m] for r in runs]) for m in runs[0][1]}
    errors = [r[2] for r in runs]
    max_error = float("nan") if any(math.isnan(e) for e in errors) else max(errors)
    rho = {m: sum(r[3][m] for r in runs) / len(runs) for m in runs[0][3]}
    T = s["T"]
    d_cmp = min(COMPARE_DISTANCE, T - 1)
    factors = {m: per_step_factor(v) for m, v in grads.items()}
    ratios = {m: float(grads[m][d_cmp] / grads["rnn default"][d_cmp]) for m in GATED}
    held = decide(factors, ratios, max_error, decided=setting != "tiny")
    log.info("gradients: per-step factors %s", factors)

    figures = (
        _plot_gradients(grads, out_dir / "gradients.png", setting, s),
        _plot_products(grads, products, out_dir / "gradients_bptt.png", setting),
    )
    lin, bz = f"linear ρ={LINEAR_RHO:g}", f"gru b_z={GRU_UPDATE_BIAS:g}"
    findings = (
        Finding(
            "With ρ(W_hh) < 1 the Elman RNN's gradient vanishes exponentially with the distance T − k.",
            f"ρ=0.5: ‖∂L/∂h‖ shrinks by a factor {factors['rnn ρ=0.5']:.3f} per step "
            f"({_e(grads['rnn ρ=0.5'][0])} at distance 0, {_e(grads['rnn ρ=0.5'][d_cmp])} at {d_cmp}); "
            f"ρ=1: factor {factors['rnn ρ=1']:.3f} (tanh's slopes < 1 still shrink it a little). "
            f"Rule: factor < {VANISH_MAX_FACTOR}.",
            held["vanish"],
        ),
        Finding(
            "With ρ(W_hh) > 1 the gradient can explode.",
            f"tanh, ρ=3: grows by {factors['rnn ρ=3']:.3f} per step ({_e(grads['rnn ρ=3'][0])} → "
            f"{_e(grads['rnn ρ=3'][T - 1])} over {T - 1} steps); tanh, ρ=1.5: {factors['rnn ρ=1.5']:.3f} "
            f"per step — saturation (1 − h_t² ≪ 1) pins it near 1, above or below depending on the draw; "
            f"the linear variant at ρ=1.5 grows by {factors[lin]:.3f} per step (→ {_e(grads[lin][T - 1])}). "
            f"Rule: tanh ρ=3 factor > {EXPLODE_MIN_FACTOR}.",
            held["explode"],
        ),
        Finding(
            "The LSTM's gradient decays much more slowly than the Elman RNN's (the additive cell path).",
            f"at distance {d_cmp}, default init: LSTM (forget-gate bias 1) {_e(grads['lstm'][d_cmp])} "
            f"against the Elman RNN's (ρ={rho['rnn default']:.2f}) {_e(grads['rnn default'][d_cmp])}, "
            f"ratio {ratios['lstm']:.1e}; per-step factor {factors['lstm']:.3f} vs "
            f"{factors['rnn default']:.3f}. With torch's init (b_f=0, f_t ≈ 0.5) the ratio is only "
            f"{ratios['lstm b_f=0']:.1e} (factor {factors['lstm b_f=0']:.3f}): at init the gain comes from "
            f"the forget-gate bias. Rule: ratio ≥ {GATED_MIN_RATIO:g}.",
            held["lstm"],
        ),
        Finding(
            "The GRU's gradient decays much more slowly than the Elman RNN's (the additive update).",
            f"at distance {d_cmp}, default init (torch's): GRU {_e(grads['gru'][d_cmp])} against the Elman "
            f"RNN's {_e(grads['rnn default'][d_cmp])}, ratio {ratios['gru']:.1e}; per-step factor "
            f"{factors['gru']:.3f} vs {factors['rnn default']:.3f}: z_t ≈ σ(0) = 0.5 keeps only half of "
            f"h_(t-1) per step. With the update-gate bias at {GRU_UPDATE_BIAS:g} (z_t ≈ 0.73, as the LSTM's "
            f"f_t) the ratio is {ratios[bz]:.1e} (factor {factors[bz]:.3f}). "
            f"Rule: ratio ≥ {GATED_MIN_RATIO:g}.",
            held["gru"],
        ),
        Finding(
            "The gradient is the BPTT product Π ∂h_t/∂h_{t-1} applied to ∂L/∂h_T.",
            f"(J_T ⋯ J_{{k+1}})ᵀ ∂L/∂h_T with J_t = diag(1 − h_t²) W_hh multiplied out explicitly equals "
            f"autograd's ∂L/∂h_k to a relative error of {max_error:.1e} (float64, every k, "
            f"{s['jacobian_batch']} sequences × {len(products)} networks). Rule: < {AGREEMENT_TOL:g}.",
            held["agree"],
        ),
    )
    distances = sorted({0, min(10, T - 1), d_cmp, T - 1})
    rows = tuple(
        (
            m,
            f"{rho[m]:.2f}" if m in rho else "—",
            f"{factors[m]:.3f}",
            *(_e(grads[m][d]) for d in distances),
        )
        for m in grads
    )
    table = Table(
        f"Mean ‖∂L/∂h_k‖ by distance T − k (T = {T}, batch {s['batch']}, H = {s['hidden_size']}, "
        f"input scale {s['input_scale']}, {len(seeds)} seed(s), float64)",
        ("model", "ρ(W_hh)", "factor per step", *(f"d = {d}" for d in distances)),
        rows,
    )
    return ExperimentResult(
        name=NAME,
        title=TITLE,
        setting=setting,
        seed=seed,
        findings=findings,
        tables=(table,),
        figures=figures,
        settings=s,
        seconds=time.perf_counter() - start,
    )


def _norm(v: Tensor) -> Tensor:
    """‖v‖ over the last axis without overflow (the linear ρ=1.5 network reaches 1e176; its square is inf)."""
    top = v.abs().amax(-1, keepdim=True).clamp_min(torch.finfo(v.dtype).tiny)
    return top.squeeze(-1) * (v / top).norm(dim=-1)


def _geomean(series: list[Tensor]) -> Tensor:
    """Geometric mean over seeds, per distance; 0 (underflow) where any seed underflowed there."""
    stacked = torch.stack(series)  # (seeds, T)
    ok = (stacked > UNDERFLOW).all(0)  # (T,)
    mean = stacked.clamp_min(UNDERFLOW).log().mean(0).exp()
    return torch.where(ok, mean, torch.zeros_like(mean))


def _e(value: Tensor | float) -> str:
    value = float(value)
    return f"{value:.2e}" if value > UNDERFLOW else f"< {UNDERFLOW:.0e} (underflow)"


def _plot_gradients(grads: Mapping[str, Tensor], path: Path, setting: str, s: Mapping[str, Any]) -> Path:
    from seqlab.plots import _pyplot, _save

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    for name, norms in grads.items():
        d = torch.arange(len(norms))
        keep = (norms > UNDERFLOW) & norms.isfinite()
        style = ":" if name.startswith("linear") else "-"
        ax.plot(d[keep].numpy(), norms[keep].numpy(), style, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("distance T − k (steps back from the loss)")
    ax.set_ylabel("mean ‖∂L/∂h_k‖")
    ax.set_title(
        f"BPTT gradient vs distance ({setting}: H={s['hidden_size']}, input scale {s['input_scale']})",
        fontsize=10,
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _save(fig, path)


def _plot_products(
    grads: Mapping[str, Tensor], products: Mapping[str, Tensor], path: Path, setting: str
) -> Path:
    from seqlab.plots import _pyplot, _save

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for color, (name, norms) in zip(colors, products.items()):
        d = torch.arange(len(norms))
        keep = norms > UNDERFLOW
        ax.plot(d[keep].numpy(), norms[keep].numpy(), "--", color=color, label=f"{name}: ‖Π J_t‖₂")
        g = grads[name]
        keep = g > UNDERFLOW
        ax.plot(d[keep].numpy(), g[keep].numpy(), "-", color=color, label=f"{name}: autograd ‖∂L/∂h_k‖")
    ax.set_yscale("log")
    ax.set_xlabel("distance T − k")
    ax.set_ylabel("norm")
    ax.set_title(
        f"BPTT product J_T ⋯ J_(k+1), J_t = diag(1 − h_t²) W_hh (linear: W_hh) ({setting})", fontsize=9
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _save(fig, path)


def main(argv: list[str] | None = None) -> int:
    return experiment_main(run, SETTINGS, __doc__, "python -m seqlab.experiments.gradients", argv)


if __name__ == "__main__":
    raise SystemExit(main())
