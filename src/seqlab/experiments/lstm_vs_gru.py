"""LSTM vs GRU: the chapter's comparison table checked — parameters, speed, and quality on two tasks.

The chapter's table. The LSTM (Hochreiter & Schmidhuber 1997; forget gate Gers et al. 2000) computes four
blocks per step, i_t, f_t, c̃_t, o_t, and keeps two state vectors (h_t, c_t); the GRU (Cho et al. 2014)
computes three, r_t, z_t, h̃_t, and keeps one::

    LSTM  c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t,   h_t = o_t ⊙ tanh(c_t)
    GRU   h_t = (1 − z_t) ⊙ h̃_t + z_t ⊙ h_{t-1}         (torch's z_t, see ``seqlab.recurrent.gru``)

so the GRU has 3/4 of the LSTM's parameters at the same sizes, should be faster, and is "comparable in
quality" (Chung et al. 2014; Jozefowicz et al. 2015; Greff et al. 2017 found no variant clearly better).

What is measured.

1. Parameters, counted from seqlab's modules (and ``torch.nn.LSTM``) for a few (D, H), against the
   formulas. seqlab keeps torch's two bias vectors per block (``bias_ih + bias_hh``), so an LSTM layer
   has 4·(DH + H² + 2H) parameters and a GRU layer 3·(DH + H² + 2H); the chapter's one-bias formula
   4·(H(D + H) + H) is H·4 smaller.
2. Speed: forward + backward time of one batch through ``Recurrent("lstm")`` and ``Recurrent("gru")``
   (both on torch's fused kernel), median of repeats, the two models alternating; the ratio GRU/LSTM.
3. Quality at equal hidden size H (so the LSTM has 4/3 of the GRU's recurrent parameters — the caveat of
   every equal-H comparison; an equal-parameter GRU would be √(4/3) ≈ 1.15× wider):
   (a) the temporal-order task (Hochreiter & Schmidhuber 1997, experiment 6a): T symbols from {a, b, c, d}
       with X or Y placed once in [0.1T, 0.2T) and once in [0.5T, 0.6T); classify the order (XX, XY, YX,
       YY; chance 25%) from h_T. A long-range task, chosen so it does not repeat the adding problem of
       ``long_range``. Trained with ``common.fit`` (Adam, clipping 1) on fresh batches; scored on 1000
       held-out sequences. Both models see the same batches.
   (b) a character-level language model on Shakespeare (``seqlab.tasks.generation.LanguageModel``, one
       layer, no dropout) trained for a fixed number of steps with ``common.fit`` on random windows of
       the training plays (the same windows for both), scored in bits per character on the validation
       plays (Macbeth, Twelfth Night), read as one stream with the state carried.

Decision rules (module constants): parameters held when the counts equal the formulas and GRU/LSTM = 3/4
exactly; speed held when GRU/LSTM < 1 at every size measured; quality held ("comparable") when the mean
accuracy gap is at most ``ACCURACY_TOLERANCE`` (temporal order) and the mean bpc gap at most
``BPC_TOLERANCE`` (language model). "tiny" decides only the parameter counts.

    python -m seqlab.experiments.lstm_vs_gru --setting full
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import statistics
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.data import Vocab
from seqlab.data.text import text_tokens
from seqlab.experiments.common import (
    ExperimentResult,
    Finding,
    FitLog,
    Table,
    experiment_main,
    fit,
    pick_setting,
    seed_everything,
    time_in_turn,
    trailing_mean,
    window_loss,
)
from seqlab.recurrent import Recurrent

__all__ = [
    "MINUTES",
    "NAME",
    "SETTINGS",
    "TITLE",
    "comparable",
    "count_parameters",
    "formula_parameters",
    "main",
    "run",
    "temporal_order",
]

log = logging.getLogger(__name__)

NAME = "lstm_vs_gru"
TITLE = "LSTM vs GRU: parameters, speed and quality"
SETTINGS = {
    "tiny": {
        "param_sizes": ((1, 8), (8, 16)),
        "speed_sizes": ((4, 10, 8, 16),),  # (B, T, D, H)
        "speed_repeats": 3,
        "order_T": 10, "order_hidden": 8, "order_batch": 16, "order_steps": 5, "order_test": 200,
        "lm_train_chars": 20_000, "lm_valid_chars": 2_000, "lm_embedding": 8, "lm_hidden": 16,
        "lm_batch": 4, "lm_window": 32, "lm_steps": 3, "lm_lr": 1e-2,
        "seeds": 1,
    },
    "small": {
        "param_sizes": ((1, 64), (32, 128), (128, 256), (256, 512)),
        "speed_sizes": ((32, 100, 64, 128), (32, 100, 256, 256)),
        "speed_repeats": 7,
        "order_T": 30, "order_hidden": 32, "order_batch": 32, "order_steps": 500, "order_test": 1000,
        "lm_train_chars": 1_000_000, "lm_valid_chars": 20_000, "lm_embedding": 32, "lm_hidden": 128,
        "lm_batch": 32, "lm_window": 64, "lm_steps": 300, "lm_lr": 1e-2,
        "seeds": 1,
    },
    "full": {
        "param_sizes": ((1, 64), (32, 128), (128, 256), (256, 512), (512, 1024)),
        "speed_sizes": ((32, 100, 64, 128), (32, 100, 256, 256), (32, 100, 512, 512)),
        "speed_repeats": 11,
        "order_T": 45, "order_hidden": 64, "order_batch": 32, "order_steps": 3000, "order_test": 1000,
        "lm_train_chars": None, "lm_valid_chars": None, "lm_embedding": 64, "lm_hidden": 256,
        "lm_batch": 32, "lm_window": 128, "lm_steps": 2000,
        "lm_lr": 3e-3,  # at 1e-2 the H = 256 GRU diverged after ~1100 steps on 2 of 3 seeds, the LSTM not
        "seeds": 3,
    },
}  # fmt: skip
# Wall minutes of run() on the 2-core CPU with 2 torch threads, estimated from 1-thread runs on a shared
# machine: tiny 3 s; small 25 s of CPU (36–76 s wall while other jobs ran); full from measured per-step
# times; measured: full took 38 min of wall (2,275 s) at 1 thread while two other jobs shared the 2 cores.
MINUTES = {"tiny": 0.05, "small": 0.6, "full": 38.0}

MODELS = ("lstm", "gru")
ORDER_SYMBOLS = 6  # a, b, c, d (distractors), X, Y
ORDER_LR = 1e-2
ORDER_CLIP = 1.0
ORDER_SOLVED_LOSS = 0.1  # the step at which the 50-step running loss first drops below this: "solved"
LM_CLIP = 1.0
ACCURACY_TOLERANCE = 0.05  # |acc_GRU − acc_LSTM| ≤ 5 points: comparable
BPC_TOLERANCE = 0.1  # |bpc_GRU − bpc_LSTM| ≤ 0.1 bit per character: comparable


# ------------------------------------------------------------------------------------------ pieces
def count_parameters(module: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def formula_parameters(name: str, input_size: int, hidden_size: int, *, biases: int = 2) -> int:
    """G·(DH + H² + biases·H): G = 4 blocks for the LSTM, 3 for the GRU; torch (and seqlab) keep 2 biases."""
    blocks = {"lstm": 4, "gru": 3}
    if name not in blocks:
        raise ValueError(f"formula_parameters: unknown model {name!r}; known: {', '.join(blocks)}")
    if biases not in (1, 2):
        raise ValueError(f"formula_parameters: expected biases to be 1 or 2, got {biases!r}")
    D, H = input_size, hidden_size
    return blocks[name] * (D * H + H * H + biases * H)


def temporal_order(batch_size: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """The temporal-order task: one-hot inputs (B, T, 6) and classes (B,) in 0 … 3.

    Symbols 0–3 are distractors; symbol 4 (X) or 5 (Y) is placed once in [0.1T, 0.2T) and once in
    [0.5T, 0.6T). The class is 2·[first is Y] + [second is Y]: XX → 0, XY → 1, YX → 2, YY → 3.
    """
    if isinstance(length, bool) or not isinstance(length, int) or length < 10:
        raise ValueError(f"temporal_order: expected a length of at least 10, got {length!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"temporal_order: expected a positive batch size, got {batch_size!r}")
    B, T = batch_size, length
    symbols = torch.randint(0, 4, (B, T), generator=generator)  # (B, T)
    t1 = torch.randint(int(0.1 * T), int(0.2 * T), (B,), generator=generator)
    t2 = torch.randint(int(0.5 * T), int(0.6 * T), (B,), generator=generator)
    first = torch.randint(0, 2, (B,), generator=generator)
    second = torch.randint(0, 2, (B,), generator=generator)
    rows = torch.arange(B)
    symbols[rows, t1] = 4 + first
    symbols[rows, t2] = 4 + second
    return F.one_hot(symbols, ORDER_SYMBOLS).float(), 2 * first + second  # (B, T, 6), (B,)


def _forward_backward(module: nn.Module, x: Tensor) -> None:
    module.zero_grad(set_to_none=True)
    out, _ = module(x)
    out.sum().backward()


def comparable(lstm: Sequence[float], gru: Sequence[float], tolerance: float) -> bool:
    """The rule for "GRU is comparable to LSTM": |mean(gru) − mean(lstm)| ≤ tolerance."""
    if not lstm or not gru:
        raise ValueError("comparable: expected at least one measurement per model, got an empty list")
    return abs(statistics.fmean(gru) - statistics.fmean(lstm)) <= tolerance


# ------------------------------------------------------------------------------------------ parts
def _parameter_table(sizes: Sequence[tuple[int, int]]) -> tuple[Table, bool, list[float]]:
    rows, ok, ratios = [], True, []
    for D, H in sizes:
        lstm = count_parameters(Recurrent("lstm", D, H))
        gru = count_parameters(Recurrent("gru", D, H))
        torch_lstm = count_parameters(nn.LSTM(D, H))
        f_lstm, f_gru = formula_parameters("lstm", D, H), formula_parameters("gru", D, H)
        ok &= lstm == f_lstm == torch_lstm and gru == f_gru and 4 * gru == 3 * lstm
        ratios.append(gru / lstm)
        rows.append(
            (
                str(D),
                str(H),
                f"{formula_parameters('lstm', D, H, biases=1):,}",
                f"{f_lstm:,}",
                f"{lstm:,}",
                f"{torch_lstm:,}",
                f"{f_gru:,}",
                f"{gru:,}",
                f"{gru / lstm:.4f}",
            )
        )
    table = Table(
        "Parameters of one layer: formulas against counts (seqlab and torch.nn.LSTM)",
        (
            "D",
            "H",
            "LSTM 4(H(D+H)+H) (chapter)",
            "LSTM 4(DH+H²+2H)",
            "LSTM counted",
            "torch.nn.LSTM",
            "GRU 3(DH+H²+2H)",
            "GRU counted",
            "GRU/LSTM",
        ),
        tuple(rows),
    )
    return table, bool(ok), ratios


def _speed(
    sizes: Sequence[tuple[int, int, int, int]], repeats: int
) -> tuple[Table, list[float], list[float]]:
    """GRU/LSTM time ratios per size: torch's default CPU path, and with oneDNN switched off."""
    rows, ratios, generic = [], [], []
    for B, T, D, H in sizes:
        modules = {name: Recurrent(name, D, H) for name in MODELS}
        x = torch.randn(B, T, D)  # (B, T, D)
        default = _alternating(modules, x, repeats)
        with _without_onednn():
            plain = _alternating(modules, x, repeats)
        ratios.append(default["gru"] / default["lstm"])
        generic.append(plain["gru"] / plain["lstm"])
        rows.append(
            (
                f"({B}, {T}, {D})",
                str(H),
                f"{default['lstm'] * 1e3:.1f}",
                f"{default['gru'] * 1e3:.1f}",
                f"{ratios[-1]:.2f}",
                f"{plain['lstm'] * 1e3:.1f}",
                f"{plain['gru'] * 1e3:.1f}",
                f"{generic[-1]:.2f}",
            )
        )
    table = Table(
        f"Forward + backward of one batch through the fused kernel, median of {repeats} "
        f"({torch.get_num_threads()} torch thread(s), a shared machine: noisy). On CPU torch runs the "
        "LSTM through oneDNN's fused LSTM when it can; the last three columns switch oneDNN off, so both "
        "run torch's generic kernel (matmul FLOPs: GRU/LSTM = 0.75)",
        ("x (B, T, D)", "H", "LSTM ms", "GRU ms", "GRU/LSTM", "LSTM ms, no oneDNN", "GRU ms, no oneDNN",
         "GRU/LSTM, no oneDNN"),
        tuple(rows),
    )  # fmt: skip
    return table, ratios, generic


def _alternating(modules: Mapping[str, nn.Module], x: Tensor, repeats: int) -> dict[str, float]:
    """Median forward + backward seconds per model, timed in turn."""
    times = time_in_turn(
        {name: functools.partial(_forward_backward, m, x) for name, m in modules.items()}, repeats
    )
    return {name: statistics.median(v) for name, v in times.items()}


@contextlib.contextmanager
def _without_onednn() -> Iterator[None]:
    """torch's oneDNN (mkldnn) kernels off inside, restored after."""
    with warnings.catch_warnings():  # torch warns about TF32 on Intel GPUs whenever the flags are set
        warnings.filterwarnings("ignore", message=".*TF32 acceleration on top of oneDNN.*")
        with torch.backends.mkldnn.flags(enabled=False):
            yield


class _OrderClassifier(nn.Module):
    def __init__(self, name: str, hidden_size: int) -> None:
        super().__init__()
        self.body = Recurrent(name, ORDER_SYMBOLS, hidden_size)
        self.head = nn.Linear(hidden_size, 4)

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.body(x)  # (B, T, H)
        return self.head(out[:, -1])  # (B, 4)


def _temporal_order_run(name: str, s: Mapping[str, Any], seed: int) -> tuple[float, int | None, FitLog]:
    """Accuracy on held-out sequences, the step at which it was solved (or None), the training log."""
    seed_everything(seed)
    model = _OrderClassifier(name, s["order_hidden"])
    batches = torch.Generator().manual_seed(seed)  # the same batches for both models

    def loss_of_step(step: int) -> Tensor:
        x, y = temporal_order(s["order_batch"], s["order_T"], batches)
        return F.cross_entropy(model(x), y)

    fit_log = fit(loss_of_step, model.parameters(), steps=s["order_steps"], lr=ORDER_LR, clip=ORDER_CLIP)
    x, y = temporal_order(s["order_test"], s["order_T"], torch.Generator().manual_seed(10_000 + seed))
    with torch.no_grad():
        accuracy = float((model(x).argmax(-1) == y).float().mean())
    return accuracy, _solved_at(fit_log.losses), fit_log


def _solved_at(losses: Sequence[float], window: int = 50) -> int | None:
    """First step whose running mean loss over ``window`` steps is below ``ORDER_SOLVED_LOSS``."""
    for end in range(window, len(losses) + 1):
        if sum(losses[end - window : end]) / window < ORDER_SOLVED_LOSS:
            return end
    return None


def _lm_data(s: Mapping[str, Any]) -> tuple[str, str]:
    from seqlab.data.text import shakespeare

    train, valid = shakespeare("train"), shakespeare("valid")
    if s["lm_train_chars"] is not None:
        train = train[: s["lm_train_chars"]]
    if s["lm_valid_chars"] is not None:
        valid = valid[: s["lm_valid_chars"]]
    return train, valid


def _language_model_run(
    name: str, s: Mapping[str, Any], seed: int, valid: str, vocab: Vocab, ids: Tensor
) -> tuple[float, int, FitLog]:
    """Validation bits per character after ``lm_steps`` steps, the model's parameters, the training log."""
    from seqlab.tasks.generation import LanguageModel, LanguageModelConfig

    seed_everything(seed)
    config = LanguageModelConfig(
        level="char",
        recurrence=name,
        embedding_dim=s["lm_embedding"],
        hidden_size=s["lm_hidden"],
        num_layers=1,
        dropout=0.0,
    )
    model = LanguageModel(config, vocab)
    windows = torch.Generator().manual_seed(seed)  # the same windows for both models
    loss_of_step = window_loss(model, ids, s["lm_window"], s["lm_batch"], windows)
    fit_log = fit(loss_of_step, model.parameters(), steps=s["lm_steps"], lr=s["lm_lr"], clip=LM_CLIP)
    bpc = model.evaluate_text(valid, bptt=256, unknown="unk")["bpc"]
    return bpc, count_parameters(model.body), fit_log


def _mean_std(values: Sequence[float], digits: int) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.fmean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


# ------------------------------------------------------------------------------------------ the run
def run(
    setting: str = "small", out_dir: str | Path = "runs/lstm_vs_gru", *, seed: int = 0
) -> ExperimentResult:
    """Count, time and train both models; write lstm_vs_gru.png (the training curves) into ``out_dir``."""
    s = pick_setting(SETTINGS, setting, NAME)
    start = time.perf_counter()
    out_dir = Path(out_dir)
    decided = setting != "tiny"
    seeds = [seed + i for i in range(s["seeds"])]

    param_table, params_ok, param_ratios = _parameter_table(s["param_sizes"])
    speed_table, speed_ratios, generic_ratios = _speed(s["speed_sizes"], s["speed_repeats"])

    order: dict[str, list[tuple[float, int | None, FitLog]]] = {m: [] for m in MODELS}
    lm: dict[str, list[tuple[float, int, FitLog]]] = {m: [] for m in MODELS}
    train, valid = _lm_data(s)
    tokens = text_tokens(train, "char")
    vocab = Vocab.build([tokens])  # as LanguageModel.from_text builds it
    ids = torch.tensor(vocab.encode(tokens))  # (N,)
    for k in seeds:
        for name in MODELS:
            order[name].append(_temporal_order_run(name, s, k))
            lm[name].append(_language_model_run(name, s, k, valid, vocab, ids))
            log.info("lstm_vs_gru: seed %d %s: order acc %.3f, bpc %.3f", k, name, order[name][-1][0],
                     lm[name][-1][0])  # fmt: skip

    acc = {m: [r[0] for r in order[m]] for m in MODELS}
    solved = {m: [r[1] for r in order[m]] for m in MODELS}
    bpc = {m: [r[0] for r in lm[m]] for m in MODELS}
    lm_params = {m: lm[m][0][1] for m in MODELS}
    acc_ok = comparable(acc["lstm"], acc["gru"], ACCURACY_TOLERANCE)
    bpc_ok = comparable(bpc["lstm"], bpc["gru"], BPC_TOLERANCE)
    speed_ok = all(r < 1.0 for r in speed_ratios)

    def solved_text(m: str) -> str:
        steps = [str(v) if v is not None else "never" for v in solved[m]]
        return "/".join(steps)

    seeds_text = f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
    findings = (
        Finding(
            "A GRU layer has 3/4 of an LSTM layer's parameters (three gate blocks against four).",
            f"counted = formula for every (D, H) in {list(map(tuple, s['param_sizes']))}: LSTM "
            f"4(DH + H² + 2H) (= torch.nn.LSTM's count; the chapter's one-bias 4(H(D+H)+H) is 4H less), "
            f"GRU 3(DH + H² + 2H); GRU/LSTM = {', '.join(f'{r:.4f}' for r in param_ratios)}.",
            params_ok,
        ),
        Finding(
            "The GRU is faster than the LSTM (less computation per step).",
            f"forward + backward, fused kernel, GRU/LSTM time = "
            f"{', '.join(f'{r:.2f}' for r in speed_ratios)} at (B, T, D, H) = "
            f"{', '.join(str(tuple(z)) for z in s['speed_sizes'])} ({torch.get_num_threads()} thread(s), "
            f"shared CPU: noisy); with oneDNN (which only the LSTM uses on CPU) off, "
            f"{', '.join(f'{r:.2f}' for r in generic_ratios)} — the matmul FLOP ratio is 0.75. "
            "Rule: < 1 at every size on torch's default path.",
            speed_ok if decided else None,
        ),
        Finding(
            "On a long-range task the GRU is comparable to the LSTM.",
            f"temporal order, T = {s['order_T']}, H = {s['order_hidden']}, {s['order_steps']} steps of "
            f"{s['order_batch']}: held-out accuracy LSTM {_mean_std(acc['lstm'], 3)}, GRU "
            f"{_mean_std(acc['gru'], 3)} (chance 0.25); solved (running loss < {ORDER_SOLVED_LOSS}) at step "
            f"{solved_text('lstm')} (LSTM), {solved_text('gru')} (GRU); {seeds_text}. "
            f"Rule: |gap| ≤ {ACCURACY_TOLERANCE}.",
            acc_ok if decided else None,
        ),
        Finding(
            "On real data (character-level Shakespeare) the GRU is comparable to the LSTM.",
            f"validation bits per character after {s['lm_steps']} steps (window {s['lm_window']}, batch "
            f"{s['lm_batch']}, H = {s['lm_hidden']}): LSTM {_mean_std(bpc['lstm'], 3)}, GRU "
            f"{_mean_std(bpc['gru'], 3)}; {seeds_text}. Equal H: the LSTM layer has "
            f"{lm_params['lstm']:,} recurrent parameters, the GRU {lm_params['gru']:,}. "
            f"Rule: |gap| ≤ {BPC_TOLERANCE} bpc.",
            bpc_ok if decided else None,
        ),
    )
    quality = Table(
        f"Quality at equal hidden size ({seeds_text}; mean ± std over seeds when several)",
        ("task", "metric", "LSTM", "GRU", "GRU − LSTM"),
        (
            (
                f"temporal order T={s['order_T']}",
                "held-out accuracy",
                _mean_std(acc["lstm"], 3),
                _mean_std(acc["gru"], 3),
                f"{statistics.fmean(acc['gru']) - statistics.fmean(acc['lstm']):+.3f}",
            ),
            (
                "Shakespeare char LM",
                "validation bpc",
                _mean_std(bpc["lstm"], 3),
                _mean_std(bpc["gru"], 3),
                f"{statistics.fmean(bpc['gru']) - statistics.fmean(bpc['lstm']):+.3f}",
            ),
        ),
    )
    figure = _plot(order, lm, out_dir / "lstm_vs_gru.png", setting, s)
    return ExperimentResult(
        name=NAME,
        title=TITLE,
        setting=setting,
        seed=seed,
        findings=findings,
        tables=(param_table, speed_table, quality),
        figures=(figure,),
        settings=s,
        seconds=time.perf_counter() - start,
    )


def _plot(order: Mapping[str, list], lm: Mapping[str, list], path: Path, setting: str, s: Mapping) -> Path:
    from seqlab.plots import _pyplot, _save

    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 3.8))
    colors = {"lstm": "tab:blue", "gru": "tab:orange"}
    for name in MODELS:
        for k, (_, _, fit_log) in enumerate(order[name]):
            axes[0].plot(trailing_mean(fit_log.losses, 20), color=colors[name], alpha=0.9,
                         label=name.upper() if k == 0 else None)  # fmt: skip
        for k, (_, _, fit_log) in enumerate(lm[name]):
            bits = [v / math.log(2) for v in trailing_mean(fit_log.losses, 10)]
            axes[1].plot(bits, color=colors[name], alpha=0.9, label=name.upper() if k == 0 else None)
    axes[0].axhline(math.log(4), color="grey", linestyle=":", linewidth=1, label="chance (ln 4)")
    axes[0].set_title(f"temporal order, T = {s['order_T']}, H = {s['order_hidden']}", fontsize=10)
    axes[0].set_ylabel("training cross-entropy (nats, smoothed)")
    axes[1].set_title(f"Shakespeare characters, H = {s['lm_hidden']}", fontsize=10)
    axes[1].set_ylabel("training bits per character (smoothed)")
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"LSTM vs GRU at equal hidden size ({setting})", fontsize=11)
    return _save(fig, path)


def main(argv: list[str] | None = None) -> int:
    return experiment_main(run, SETTINGS, __doc__, "python -m seqlab.experiments.lstm_vs_gru", argv)


if __name__ == "__main__":
    raise SystemExit(main())
