"""Long-range dependencies: the adding problem and the copy task, success against sequence length.

The chapter's claim: the Elman RNN's h_t = tanh(W_xh x_t + W_hh h_{t-1} + b) carries a gradient through
the product Π_t ∂h_t/∂h_{t-1} = Π_t diag(1 − h_t²) W_hh, which vanishes over long gaps, so it cannot
learn a dependency hundreds of steps back. The LSTM's cell c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t is updated
additively (∂c_t/∂c_{t-1} = diag(f_t), close to 1 while the forget gate is open), so it can
(Hochreiter & Schmidhuber 1997). Two practical tips come with it: clip the gradient's norm (Pascanu et
al. 2013), and start the forget-gate bias at 1 so that f_t = σ(·) starts near 0.73 (Gers et al. 2000;
Jozefowicz et al. 2015 found this closes most of the gap to the best architectures they searched).

Tasks, both drawn fresh every step (so the training loss of a step is an unbiased test estimate):

- **Adding problem** (Hochreiter & Schmidhuber 1997, in the form of Le et al. 2015 and Arjovsky et al.
  2016): input x_t = (u_t, m_t), u_t ~ U(0, 1), m_t ∈ {0, 1} with exactly two 1s, one in each half of
  the sequence; target y = Σ_t m_t u_t. Always answering 1 (the mean) scores MSE = Var(u_a + u_b) =
  2 · 1/12 = 1/6 ≈ 0.167; the problem counts as *solved* when the test MSE is below ``SOLVED_MSE`` = 0.01.
  Model: one recurrent layer, then a Linear readout of the last output h_T.
- **Copy task** (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): S symbols drawn from an alphabet
  of 8, then T − 1 blanks, a delimiter and S more blanks (T + 2S steps); after the delimiter the model
  must output the S symbols in order. Model: one recurrent layer, then a Linear readout of every step.
  Deviation from Arjovsky: the cross-entropy is taken on the S copied positions only (not on the blanks
  too), and the metric is the accuracy on those S symbols; the memoryless baseline is chance, 1/8
  (cross-entropy log 8 per copied symbol). Solved: accuracy ≥ ``COPY_SOLVED_ACCURACY``.

What runs (sizes per setting in ``SETTINGS``): (1) the headline — RNN and LSTM on the adding problem at
T = 200 — and two LSTM ablations (no gradient clipping; forget-gate bias 0 instead of 1) at the setting's
``ablation_length``, learning curves of the MSE per step; (2) the adding problem at several T for every
recurrence in ``seqlab.recurrent`` (rnn, lstm, gru, mingru, minlstm, mlstm, slstm, mamba, rwkv); (3) the
copy task at several T. Every model gets the same recipe and the same data for a given T and seed. The
recipe, found here for the LSTM at T = 200 on one CPU thread: H = 64, batch 64, Adam lr 1e-2, clipping
at norm 1. The MSE sits on the 1/6 plateau for ~1500 steps, then drops below 0.01 within ~300 (seed 0:
step 1883, ~2 min). An adding run stops once the mean training MSE of ``SOLVED_WINDOW`` steps is below
``STOP_MSE`` (a third of "solved"): the curve has nothing more to show, and a model that never solves
the task (the Elman RNN) gets every step. ``small`` (the tour's) runs the headline at T = 200 and the
ablations at T = 50; ``full`` runs everything at T = 200 and sweeps every recurrence.

The rules that decide each finding are ``SOLVED_MSE``, ``SOLVED_WINDOW`` (steps-to-solve: the first
step at which the mean training MSE of the last ``SOLVED_WINDOW`` steps is below ``SOLVED_MSE``),
``COPY_SOLVED_ACCURACY`` and the functions ``headline_held``, ``ablation_held``, ``gated_held``
and ``copy_held``.

    python -m seqlab.experiments.long_range --setting full
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from seqlab.experiments.common import (
    ExperimentResult,
    Finding,
    FitLog,
    Table,
    experiment_main,
    fit,
    pick_setting,
    seed_everything,
    trailing_mean,
)
from seqlab.recurrent import Recurrent

__all__ = [
    "ADDING_BASELINE_MSE",
    "COPY_SOLVED_ACCURACY",
    "IGNORE",
    "MINUTES",
    "NAME",
    "SETTINGS",
    "SOLVED_MSE",
    "TITLE",
    "ablation_held",
    "adding_problem",
    "copy_held",
    "copy_task",
    "gated_held",
    "headline_held",
    "run",
    "solved",
    "steps_to_solve",
]

log = logging.getLogger(__name__)

NAME = "long_range"
TITLE = "Long-range dependencies: the adding problem and the copy task"

ADDING_BASELINE_MSE = 1.0 / 6.0  # always answering 1: Var(u_a + u_b) = 2/12
SOLVED_MSE = 0.01  # the adding problem is solved below this test MSE (Le et al. 2015; Arjovsky et al. 2016)
SOLVED_WINDOW = 50  # steps-to-solve: the trailing mean of this many training MSEs falls below SOLVED_MSE
STOP_MSE = SOLVED_MSE / 3  # training stops once the trailing mean is this far below "solved"
COPY_SOLVED_ACCURACY = 0.9  # the copy task counts as solved at this accuracy on the copied symbols
COPY_ALPHABET = 8
HEADLINE_LENGTH = 200  # the chapter's claim is about T = 200
GATED = ("lstm", "gru")  # the gated recurrences the chapter compares with the Elman RNN
ALL_MODELS = ("rnn", "lstm", "gru", "mingru", "minlstm", "mlstm", "slstm", "mamba", "rwkv")
IGNORE = -100  # copy-task target at the steps that are not scored (cross_entropy's ignore_index)

SETTINGS = {
    "tiny": {  # checks that everything runs; decides nothing
        "hidden_size": 8,
        "batch_size": 16,
        "lr": 1e-2,
        "clip": 1.0,
        "test_size": 200,
        "headline_length": 10,
        "headline_steps": 30,
        "ablation_length": 10,
        "adding_lengths": (10, 20),
        "adding_models": ALL_MODELS,
        "adding_steps": 6,
        "copy_symbols": 3,
        "copy_lengths": (5,),
        "copy_models": ("rnn", "lstm", "mingru"),
        "copy_steps": 6,
    },
    "small": {  # the headline at T = 200 (~2000 LSTM steps, stopped once solved); the ablations at T = 50
        "hidden_size": 64,
        "batch_size": 64,
        "lr": 1e-2,
        "clip": 1.0,
        "test_size": 1000,
        "headline_length": 200,
        "headline_steps": 2500,
        "ablation_length": 50,
        "adding_lengths": (50, 100),
        "adding_models": ("rnn", "lstm", "gru", "mingru", "minlstm"),
        "adding_steps": 800,
        "copy_symbols": 5,
        "copy_lengths": (10, 20),
        "copy_models": ("rnn", "lstm", "gru", "mingru"),
        "copy_steps": 600,
    },
    "full": {
        "hidden_size": 64,
        "batch_size": 64,
        "lr": 1e-2,
        "clip": 1.0,
        "test_size": 2000,
        "headline_length": 200,
        "headline_steps": 3000,
        "ablation_length": 200,
        "adding_lengths": (50, 100, 200),
        "adding_models": ALL_MODELS,
        "adding_steps": 1500,
        "copy_symbols": 5,
        "copy_lengths": (10, 20, 50),
        "copy_models": ALL_MODELS,
        "copy_steps": 1500,
    },
}
# Wall minutes on the 2-core CPU with 1 torch thread while other jobs shared it: tiny 4 s, small 233 s
# (372 s in a loaded tour), full 2,925 s (Mamba's sweep alone ~24 min). Small recurrences gain little
# from a second thread.
MINUTES = {"tiny": 0.1, "small": 4.0, "full": 50.0}


# ---------------------------------------------------------------------------------------------- data
def adding_problem(
    batch_size: int, length: int, *, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """A batch of the adding problem: inputs (B, T, 2) = (value u_t, marker m_t), targets (B,) = Σ m_t u_t.

    u_t ~ U(0, 1); the markers are exactly two 1s, one in [0, T/2) and one in [T/2, T).
    """
    _check_positive("adding_problem", batch_size=batch_size)
    if isinstance(length, bool) or not isinstance(length, int) or length < 2:
        raise ValueError(
            f"adding_problem: expected length to be an integer ≥ 2 (one marker per half), got {length!r}"
        )
    B, T, half = batch_size, length, length // 2
    u = torch.rand(B, T, generator=generator)  # (B, T)
    first = torch.randint(0, half, (B,), generator=generator)
    second = torch.randint(half, T, (B,), generator=generator)
    m = torch.zeros(B, T)
    rows = torch.arange(B)
    m[rows, first] = 1.0
    m[rows, second] = 1.0
    return torch.stack([u, m], dim=-1), (u * m).sum(dim=1)  # (B, T, 2), (B,)


def copy_task(
    batch_size: int,
    length: int,
    *,
    symbols: int = 10,
    alphabet: int = COPY_ALPHABET,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """A batch of the copy task: tokens (B, T + 2S) and targets (B, T + 2S), S = ``symbols``.

    Tokens: 0 … alphabet−1 are symbols, ``alphabet`` is the blank, ``alphabet + 1`` the delimiter.
    A row is S random symbols, T − 1 blanks, the delimiter, S blanks. Its targets are the S symbols at
    the last S steps and ``IGNORE`` (−100, cross_entropy's ignore_index) everywhere else.
    """
    _check_positive("copy_task", batch_size=batch_size, length=length, symbols=symbols)
    if isinstance(alphabet, bool) or not isinstance(alphabet, int) or alphabet < 2:
        raise ValueError(f"copy_task: expected alphabet to be an integer ≥ 2, got {alphabet!r}")
    B, S, T = batch_size, symbols, length
    blank, delimiter = alphabet, alphabet + 1
    data = torch.randint(0, alphabet, (B, S), generator=generator)  # (B, S)
    tokens = torch.full((B, T + 2 * S), blank, dtype=torch.long)  # (B, T + 2S)
    tokens[:, :S] = data
    tokens[:, S + T - 1] = delimiter
    targets = torch.full_like(tokens, IGNORE)
    targets[:, -S:] = data
    return tokens, targets


# ---------------------------------------------------------------------------------------------- rules
def solved(mse: float) -> bool:
    """The adding problem's success criterion: test MSE below ``SOLVED_MSE``."""
    return mse < SOLVED_MSE


def steps_to_solve(losses: Sequence[float], window: int = SOLVED_WINDOW) -> int | None:
    """The first step (1-based) after which the mean of the last ``window`` losses is below ``SOLVED_MSE``."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"steps_to_solve: expected window to be a positive integer, got {window!r}")
    total = 0.0
    for i, loss in enumerate(losses):
        total += loss
        if i >= window:
            total -= losses[i - window]
        if i + 1 >= window and total / window < SOLVED_MSE:
            return i + 1
    return None


def headline_held(length: int, lstm_mse: float, rnn_mse: float) -> bool | None:
    """LSTM solves the adding problem at T = 200 and the Elman RNN does not.

    None when the setting ran another T: the claim is about T = 200.
    """
    if length != HEADLINE_LENGTH:
        return None
    return solved(lstm_mse) and not solved(rnn_mse)


def ablation_held(with_tip: int | None, without_tip: int | None) -> bool | None:
    """A training tip helps if, with it, the LSTM solves the problem in fewer steps than without it.

    Arguments are steps-to-solve (None: not solved in the budget). Neither solved: None (too small a
    budget to tell); only the run without the tip solved: False.
    """
    if with_tip is None and without_tip is None:
        return None
    if with_tip is None:
        return False
    return without_tip is None or with_tip < without_tip


def gated_held(longest_solved: Mapping[str, int]) -> bool | None:
    """Gated recurrences (LSTM, GRU) solve longer adding problems than the Elman RNN.

    ``longest_solved`` maps a model to the longest T it solved (0: none). None when no model solved
    any length (the budget was too small to tell).
    """
    if not any(longest_solved.values()):
        return None
    rnn = longest_solved.get("rnn", 0)
    return all(longest_solved.get(name, 0) > rnn for name in GATED)


def copy_held(accuracy: Mapping[str, float]) -> bool | None:
    """At the longest delay, a gated recurrence copies (accuracy ≥ ``COPY_SOLVED_ACCURACY``) and the RNN not.

    ``accuracy`` maps a model to its copy accuracy at the longest T. None when no model copied.
    """
    if not any(acc >= COPY_SOLVED_ACCURACY for acc in accuracy.values()):
        return None
    gated = any(accuracy.get(name, 0.0) >= COPY_SOLVED_ACCURACY for name in GATED)
    return gated and accuracy.get("rnn", 0.0) < COPY_SOLVED_ACCURACY


# ---------------------------------------------------------------------------------------------- models
class _Reader(nn.Module):
    """One recurrent layer and a Linear readout: of h_T (``last=True``) or of every h_t."""

    def __init__(self, name: str, input_size: int, hidden_size: int, out: int, options: Mapping[str, Any]):
        super().__init__()
        self.recurrent = Recurrent(name, input_size, hidden_size, options=options)
        self.readout = nn.Linear(self.recurrent.output_size, out)

    def forward(self, x: Tensor, *, last: bool) -> Tensor:
        h, _ = self.recurrent(x)  # (B, T, H)
        return self.readout(h[:, -1] if last else h)  # (B, out) or (B, T, out)


@dataclass(frozen=True)
class _Run:
    model: str
    length: int
    log: FitLog
    score: float  # adding: test MSE; copy: test accuracy


def _train_adding(
    name: str,
    length: int,
    s: Mapping[str, Any],
    *,
    steps: int,
    seed: int,
    clip: float | None,
    options: Mapping[str, Any] | None = None,
) -> _Run:
    seed_everything(seed)
    model = _Reader(name, 2, s["hidden_size"], 1, options or {})
    data = torch.Generator().manual_seed(seed * 1000 + length)  # the same batches for every model
    test_x, test_y = adding_problem(
        s["test_size"], length, generator=torch.Generator().manual_seed(seed + 10**6)
    )

    def loss_of_step(step: int) -> Tensor:
        x, y = adding_problem(s["batch_size"], length, generator=data)
        return (model(x, last=True).squeeze(-1) - y).pow(2).mean()

    def well_solved(fit_log: FitLog) -> bool:  # the curve has nothing more to show
        return len(fit_log.losses) >= SOLVED_WINDOW and fit_log.tail(SOLVED_WINDOW) < STOP_MSE

    fit_log = fit(loss_of_step, model.parameters(), steps=steps, lr=s["lr"], clip=clip, stop=well_solved)
    with torch.no_grad():
        mse = (model(test_x, last=True).squeeze(-1) - test_y).pow(2).mean().item()
    log.info("adding %s T=%d: test MSE %.4f in %.1f s", name, length, mse, fit_log.seconds)
    return _Run(name, length, fit_log, mse)


def _train_copy(name: str, length: int, s: Mapping[str, Any], *, steps: int, seed: int) -> _Run:
    seed_everything(seed)
    K, S = COPY_ALPHABET, s["copy_symbols"]
    model = _Reader(name, K + 2, s["hidden_size"], K, {})
    data = torch.Generator().manual_seed(seed * 1000 + length + 7)
    test_tokens, test_targets = copy_task(
        s["test_size"], length, symbols=S, generator=torch.Generator().manual_seed(seed + 2 * 10**6)
    )

    def loss_of_step(step: int) -> Tensor:
        tokens, targets = copy_task(s["batch_size"], length, symbols=S, generator=data)
        logits = model(nn.functional.one_hot(tokens, K + 2).float(), last=False)  # (B, T + 2S, K)
        return nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE)

    fit_log = fit(loss_of_step, model.parameters(), steps=steps, lr=s["lr"], clip=s["clip"])
    with torch.no_grad():
        logits = model(nn.functional.one_hot(test_tokens, K + 2).float(), last=False)
        accuracy = (logits[:, -S:].argmax(-1) == test_targets[:, -S:]).float().mean().item()
    log.info("copy %s T=%d: accuracy %.3f in %.1f s", name, length, accuracy, fit_log.seconds)
    return _Run(name, length, fit_log, accuracy)


# ---------------------------------------------------------------------------------------------- run
def run(
    setting: str = "small", out_dir: str | Path = "runs/long_range", *, seed: int = 0
) -> ExperimentResult:
    """Train every model of the setting on both tasks; write three figures; decide the findings."""
    s = pick_setting(SETTINGS, setting, "long_range")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"long_range: expected seed to be a non-negative integer, got {seed!r}")
    out_dir = Path(out_dir)
    start = time.perf_counter()
    T_head = s["headline_length"]

    # (1) the headline at T = 200 (or the setting's T), with the two LSTM ablations
    trained: dict[tuple, _Run] = {}  # a run the sweep shares with the headline is trained once

    def adding_run(
        name: str, T: int, steps: int, clip: float | None, forget_bias: float | None = None
    ) -> _Run:
        options = {} if forget_bias is None else {"forget_bias": forget_bias}
        key = (name, T, steps, clip, forget_bias)
        if key not in trained:
            trained[key] = _train_adding(name, T, s, steps=steps, seed=seed, clip=clip, options=options)
        return trained[key]

    n_head, clip, T_abl = s["headline_steps"], s["clip"], s["ablation_length"]
    head = {  # the LSTM's default forget-gate bias is 1
        f"rnn, T = {T_head}": adding_run("rnn", T_head, n_head, clip),
        f"lstm, T = {T_head}": adding_run("lstm", T_head, n_head, clip),
        f"lstm, T = {T_abl}": adding_run("lstm", T_abl, n_head, clip),
        f"lstm, no clipping, T = {T_abl}": adding_run("lstm", T_abl, n_head, None),
        f"lstm, forget bias 0, T = {T_abl}": adding_run("lstm", T_abl, n_head, clip, forget_bias=0.0),
    }
    solve_at = {label: steps_to_solve(r.log.losses) for label, r in head.items()}

    # (2) the adding problem against T, (3) the copy task against T
    adding = {
        (name, T): adding_run(name, T, s["adding_steps"], clip)
        for T in s["adding_lengths"]
        for name in s["adding_models"]
    }
    copying = {
        (name, T): _train_copy(name, T, s, steps=s["copy_steps"], seed=seed)
        for T in s["copy_lengths"]
        for name in s["copy_models"]
    }

    figures = (
        _plot_headline(head, out_dir / "long_range_headline.png", setting),
        _plot_against_length(
            {name: [adding[name, T].score for T in s["adding_lengths"]] for name in s["adding_models"]},
            s["adding_lengths"],
            out_dir / "long_range_adding.png",
            ylabel="test MSE",
            title=f"adding problem, {s['adding_steps']} steps each ({setting})",
            lines={"always 1 (1/6)": ADDING_BASELINE_MSE, f"solved ({SOLVED_MSE})": SOLVED_MSE},
            log_y=True,
        ),
        _plot_against_length(
            {name: [copying[name, T].score for T in s["copy_lengths"]] for name in s["copy_models"]},
            s["copy_lengths"],
            out_dir / "long_range_copy.png",
            ylabel="accuracy on the copied symbols",
            title=f"copy task, S = {s['copy_symbols']}, {s['copy_steps']} steps each ({setting})",
            lines={"chance (1/8)": 1.0 / COPY_ALPHABET},
            log_y=False,
        ),
    )
    findings = _findings(s, setting, head, solve_at, adding, copying)
    tables = _tables(s, head, solve_at, adding, copying)
    return ExperimentResult(
        name=NAME,
        title=TITLE,
        setting=setting,
        seed=seed,
        findings=findings,
        tables=tables,
        figures=figures,
        settings=s,
        seconds=time.perf_counter() - start,
    )


def _findings(s, setting, head, solve_at, adding, copying) -> tuple[Finding, ...]:
    T_head, T_abl, tiny = s["headline_length"], s["ablation_length"], setting == "tiny"
    lstm, rnn = head[f"lstm, T = {T_head}"], head[f"rnn, T = {T_head}"]

    def at(label: str) -> str:
        n = solve_at[label]
        return f"solved at step {n}" if n is not None else f"not solved in {s['headline_steps']} steps"

    headline = headline_held(T_head, lstm.score, rnn.score)
    measured = (
        f"T = {T_head}, {s['headline_steps']} steps of batch {s['batch_size']}, H = {s['hidden_size']}: "
        f"test MSE LSTM {lstm.score:.4f} ({at(f'lstm, T = {T_head}')}), "
        f"RNN {rnn.score:.4f} ({at(f'rnn, T = {T_head}')}); "
        f"always answering 1 scores {ADDING_BASELINE_MSE:.3f}, solved means < {SOLVED_MSE}"
    )
    if T_head != HEADLINE_LENGTH:
        measured += f" (this setting runs T = {T_head}, not {HEADLINE_LENGTH}: not decided here)"

    def ablation(tip: str, without: str, claim: str) -> Finding:
        with_tip, without = f"lstm, T = {T_abl}", f"{without}, T = {T_abl}"
        w, wo = head[with_tip], head[without]
        return Finding(
            claim=claim,
            measured=(
                f"LSTM at T = {T_abl} with {tip}: {at(with_tip)}, test MSE {w.score:.4f}, largest gradient "
                f"norm {max(w.log.grad_norms):.3g}; without: {at(without)}, test MSE {wo.score:.4f}, "
                f"largest gradient norm {max(wo.log.grad_norms):.3g} (one seed)"
            ),
            held=None if tiny else ablation_held(solve_at[with_tip], solve_at[without]),
        )

    longest = {
        name: max((T for T in s["adding_lengths"] if solved(adding[name, T].score)), default=0)
        for name in s["adding_models"]
    }
    gated = gated_held(longest) if {"rnn", *GATED} <= set(longest) else None
    T_copy = max(s["copy_lengths"])
    copy_acc = {name: copying[name, T_copy].score for name in s["copy_models"]}
    return (
        Finding(
            claim=(
                f"LSTM solves the adding problem at T = {HEADLINE_LENGTH} (test MSE < {SOLVED_MSE}, against "
                f"{ADDING_BASELINE_MSE:.3f} for always answering 1) where the Elman RNN fails"
            ),
            measured=measured,
            held=None if tiny else headline,
        ),
        ablation(
            "gradient clipping at norm 1",
            "lstm, no clipping",
            "Clipping the gradient norm (Pascanu et al. 2013) makes the LSTM learn the long dependency "
            "sooner",
        ),
        ablation(
            "forget-gate bias 1",
            "lstm, forget bias 0",
            "A forget-gate bias of 1 instead of 0 makes the LSTM learn the long dependency sooner "
            "(Jozefowicz et al. 2015)",
        ),
        Finding(
            claim="The gated recurrences (LSTM, GRU) solve the adding problem at longer T than the Elman RNN",
            measured=f"longest T solved (0: none) in {s['adding_steps']} steps: "
            + ", ".join(f"{name} {T}" for name, T in longest.items()),
            held=None if tiny else gated,
        ),
        Finding(
            claim=(
                "Copying S symbols across a delay of T steps needs memory the Elman RNN lacks: a gated "
                f"recurrence copies them (accuracy ≥ {COPY_SOLVED_ACCURACY}) where the RNN stays below"
            ),
            measured=(
                f"S = {s['copy_symbols']}, T = {T_copy}, {s['copy_steps']} steps: accuracy "
                + ", ".join(f"{name} {acc:.3f}" for name, acc in copy_acc.items())
                + f" (chance {1 / COPY_ALPHABET:.3f})"
            ),
            held=None if tiny else copy_held(copy_acc),
        ),
    )


def _tables(s, head, solve_at, adding, copying) -> tuple[Table, ...]:
    def step(n: int | None) -> str:
        return "—" if n is None else str(n)

    headline = Table(
        caption=(
            f"Adding problem: the Elman RNN and the LSTM at T = {s['headline_length']}, the LSTM's ablations "
            f"at T = {s['ablation_length']} (training stops once the mean MSE of {SOLVED_WINDOW} steps is "
            f"below {STOP_MSE:.4f})"
        ),
        header=("model", "test MSE", "solved", "steps to solve", "max grad norm", "seconds"),
        rows=tuple(
            (
                label,
                f"{r.score:.4f}",
                "yes" if solved(r.score) else "no",
                step(solve_at[label]),
                f"{max(r.log.grad_norms):.3g}",
                f"{r.log.seconds:.0f}",
            )
            for label, r in head.items()
        ),
    )
    adding_table = _against_length(
        f"Adding problem, test MSE after {s['adding_steps']} steps "
        f"(solved: < {SOLVED_MSE}; always answering 1: {ADDING_BASELINE_MSE:.3f})",
        adding,
        s["adding_models"],
        s["adding_lengths"],
        digits=4,
    )
    copy_table = _against_length(
        f"Copy task, accuracy on the {s['copy_symbols']} copied symbols after {s['copy_steps']} steps "
        f"(chance {1 / COPY_ALPHABET:.3f})",
        copying,
        s["copy_models"],
        s["copy_lengths"],
        digits=3,
    )
    return headline, adding_table, copy_table


def _against_length(
    caption: str,
    runs: Mapping[tuple[str, int], _Run],
    models: Sequence[str],
    lengths: Sequence[int],
    digits: int,
) -> Table:
    """One row per model: its score at every T, and the seconds all its runs took."""
    return Table(
        caption=caption,
        header=("model", *(f"T = {T}" for T in lengths), "seconds"),
        rows=tuple(
            (
                name,
                *(f"{runs[name, T].score:.{digits}f}" for T in lengths),
                f"{sum(runs[name, T].log.seconds for T in lengths):.0f}",
            )
            for name in models
        ),
    )


# ---------------------------------------------------------------------------------------------- plots
def _plot_headline(head: Mapping[str, _Run], path: Path, setting: str) -> Path:
    from seqlab.plots import _pyplot, _save

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    for label, r in head.items():
        steps = range(1, len(r.log.losses) + 1)
        ax.plot(steps, trailing_mean(r.log.losses, 25), linewidth=1.2, label=f"{label} (test {r.score:.3g})")
    ax.axhline(ADDING_BASELINE_MSE, color="grey", linestyle="--", linewidth=1, label="always 1: 1/6")
    ax.axhline(SOLVED_MSE, color="black", linestyle=":", linewidth=1, label=f"solved: {SOLVED_MSE}")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("MSE (fresh batch, mean of 25 steps)")
    ax.set_title(f"adding problem: learning curves ({setting})", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


def _plot_against_length(
    series: Mapping[str, Sequence[float]],
    lengths: Sequence[int],
    path: Path,
    *,
    ylabel: str,
    title: str,
    lines: Mapping[str, float],
    log_y: bool,
) -> Path:
    from seqlab.plots import _pyplot, _save

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    for name, ys in series.items():
        ax.plot(list(lengths), list(ys), marker="o", markersize=4, label=name)
    for (label, y), style in zip(lines.items(), ("--", ":"), strict=False):
        ax.axhline(y, color="grey", linestyle=style, linewidth=1, label=label)
    if log_y:
        ax.set_yscale("log")
    ax.set_xticks(list(lengths))
    ax.set_xlabel("T (sequence length / delay)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, path)


def _check_positive(who: str, **values: Any) -> None:
    for key, v in values.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{who}: expected {key} to be a positive integer, got {v!r}")


def main(argv: list[str] | None = None) -> int:
    return experiment_main(run, SETTINGS, __doc__, "python -m seqlab.experiments.long_range", argv)


if __name__ == "__main__":
    raise SystemExit(main())
