"""RNN vs Transformer: the chapter's comparison table, measured on this machine.

The chapter's table:

- **Training.** The recurrence is sequential: h_t = f(x_t, h_{t−1}) needs h_{t−1}, so a sequence of T
  tokens is T dependent steps (O(T) time, no parallelism over time). Self-attention reads all positions
  at once, y_t = Σ_{s≤t} softmax_s(q_t·k_s / √d) v_s, so training is parallel over time, but it scores
  T² pairs: O(T²) time, and O(T²) memory when the attention weights α_{t,s} are kept for the backward pass
  (Vaswani et al. 2017).
- **Generation.** The recurrence carries a fixed state (h_t, c_t): each new token costs the same and the
  memory is O(1) in the position t. A Transformer must attend over its whole past: with a key/value cache
  the cache holds 2 · layers · t · d_model numbers and each token's attention costs O(t); without one it
  re-reads the prefix, O(t) work per token for the feed-forward part alone.

What is measured, with a character LSTM LM and a causal ``torch.nn.TransformerEncoder`` LM of similar
size (``seqlab.tasks.generation.LanguageModel``, dropout 0, random tokens: cost does not depend on the
text):

1. One training step (forward + backward of the cross-entropy), batch B, against T: median wall time, and
   the activation memory of the step. Memory on CPU is counted two ways: the bytes of every distinct
   tensor autograd saves for the backward pass (``torch.autograd.graph.saved_tensors_hooks``: exact,
   portable) and, as a cross-check, the bytes glibc's allocator holds after the forward minus before
   (``mallinfo2``; on other C libraries that column is empty). torch's profiler does not record CPU
   allocations reliably here (it saw 6 events for a whole LSTM step), so it is not used. The Transformer
   runs twice: with torch's default fused attention kernel (on CPU a FlashAttention-style kernel, Dao et al.
   2022, that never stores α) and with the textbook "math" attention (``SDPBackend.MATH``) that stores α —
   the chapter's O(T²).
2. Generation at B = 1 for t = 1 … N: the LSTM through ``LanguageModel.step`` (state carried), the
   Transformer with its key/value cache (``LanguageModel.step``, as ``generate`` runs it), and the
   Transformer re-reading the prefix for every token (what a model without a cache does). Per-token
   latency at positions 1, 2, 4, …, N — the token at p fed the state or cache that the p − 1 tokens
   before it left, every position timed in turn (medians), so load drifting on a shared machine does not
   read as a trend in p — and the bytes of the LSTM state and the KV cache.

Each claim's ``held`` follows the rules in ``RULES`` (see ``decide``).

    python -m seqlab.experiments.rnn_vs_transformer --setting full
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import statistics
import string
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from seqlab.experiments.common import (
    ExperimentResult,
    Finding,
    Table,
    experiment_main,
    pick_setting,
    seed_everything,
    time_in_turn,
)
from seqlab.tasks.generation import KVCache, LanguageModel, LanguageModelConfig

__all__ = [
    "MINUTES",
    "NAME",
    "RULES",
    "SETTINGS",
    "TITLE",
    "Memory",
    "activation_memory",
    "build_models",
    "decide",
    "loglog_slope",
    "main",
    "run",
    "saved_tensor_bytes",
    "state_bytes",
    "training_step",
]

NAME = "rnn_vs_transformer"
TITLE = "RNN vs Transformer: training cost against length, generation cost against position"

# Sizes: the LSTM 2 × 256 and the Transformer 4 layers of width 128 have ≈ 0.85 M parameters each, as in
# benchmarks/generation.py (the Transformer's learned position table, context × 128, comes on top).
SETTINGS = {
    "tiny": {
        "batch_size": 2,
        "lengths": [16, 32, 64],
        "math_max_length": 64,
        "generate_tokens": 24,
        "repeats": 1,
        "embedding_dim": 16,
        "lstm_hidden": 32,
        "lstm_layers": 1,
        "d_model": 32,
        "transformer_layers": 2,
        "heads": 2,
    },
    "small": {
        "batch_size": 4,
        "lengths": [64, 128, 256, 512, 1024, 2048],
        "math_max_length": 1024,
        "generate_tokens": 512,
        "repeats": 3,
        "embedding_dim": 64,
        "lstm_hidden": 256,
        "lstm_layers": 2,
        "d_model": 128,
        "transformer_layers": 4,
        "heads": 4,
    },
    "full": {
        "batch_size": 8,
        "lengths": [64, 128, 256, 512, 1024, 2048, 4096],
        "math_max_length": 2048,
        "generate_tokens": 2048,
        "repeats": 5,
        "embedding_dim": 64,
        "lstm_hidden": 256,
        "lstm_layers": 2,
        "d_model": 128,
        "transformer_layers": 4,
        "heads": 4,
    },
}
# Wall minutes of run() on the 2-core CPU with 2 torch threads, estimated from 1-thread runs on the shared
# machine (tiny 2-4 s, small 23-48 s, full 3.0-4.6 min, depending on the load): a second thread can only
# shorten them, so the 1-thread times, rounded up, are the estimate.
MINUTES = {"tiny": 0.05, "small": 0.6, "full": 4.0}

RULES = {
    # training: at the shortest length the Transformer is at least as fast per token as the LSTM —
    # Transformer µs/token ÷ LSTM µs/token at most this (10 % for timing noise: three 1-thread runs of
    # "small" on the shared machine gave 0.95, 0.97 and 1.01)
    "short_t_ratio": 1.1,
    # training time: (Transformer ÷ LSTM time per step) at max(T) over the same at min(T), at least this.
    # A ratio of two models timed in turn, so load on a shared machine cancels; O(T²) against O(T) makes it
    # grow with T, equal costs keep it at 1.
    "relative_growth": 1.5,
    # memory: log-log slope over the last doubling — of what textbook attention adds on top of the fused
    # kernel at the same T (α and its softmax inputs; the rest of the two runs is the same) at least this,
    # of the LSTM's at most "linear_slope"
    "quadratic_slope": 1.8,
    "linear_slope": 1.2,
    # generation: the LSTM's latency for the token at position N ÷ at position 1 at most this; the
    # Transformer re-reading its prefix: the same ratio at least this (positions timed in turn)
    "stream_flat": 1.3,
    "recompute_growth": 2.0,
}

ALPHABET = string.ascii_letters + string.digits + string.punctuation + " \n"


# ------------------------------------------------------------------------------------------ models
def build_models(setting: dict[str, Any]) -> dict[str, LanguageModel]:
    """{"lstm", "transformer"} language models of the setting's sizes over ``ALPHABET``, dropout 0."""
    context = max(max(setting["lengths"]), setting["generate_tokens"] + 1)
    common = {"embedding_dim": setting["embedding_dim"], "dropout": 0.0}
    lstm = LanguageModelConfig(
        architecture="recurrent",
        recurrence="lstm",
        hidden_size=setting["lstm_hidden"],
        num_layers=setting["lstm_layers"],
        **common,
    )
    transformer = LanguageModelConfig(
        architecture="transformer",
        hidden_size=setting["d_model"],
        num_layers=setting["transformer_layers"],
        num_heads=setting["heads"],
        context=context,
        **common,
    )
    return {
        "lstm": LanguageModel.from_text(ALPHABET, lstm),
        "transformer": LanguageModel.from_text(ALPHABET, transformer),
    }


def _parameters(model: LanguageModel) -> tuple[int, int]:
    """(all parameters, without the learned position table)."""
    total = sum(p.numel() for p in model.parameters())
    positions = getattr(model.body, "positions", None)
    return total, total - (positions.weight.numel() if positions is not None else 0)


# ------------------------------------------------------------------------------------------ memory
def saved_tensor_bytes(fn: Callable[[], Any]) -> int:
    """Bytes of the distinct storages autograd saves for the backward pass while ``fn()`` runs.

    A storage saved twice (e.g. the same input by two operations) counts once. This is the activation
    memory a training step holds at the end of its forward pass, on any device.
    """
    storages: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(storages.values())


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _libc_in_use() -> Callable[[], int] | None:
    """Bytes glibc's malloc holds now (heap blocks in use + mmapped blocks), or None off glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _MallInfo2

    def in_use() -> int:
        info = mallinfo2()
        return int(info.uordblks + info.hblkhd)

    return in_use


# ------------------------------------------------------------------------------------------ training
class Memory(NamedTuple):
    saved_bytes: int  # autograd's saved tensors (saved_tensor_bytes)
    allocator_bytes: int | None  # glibc bytes after the forward minus before; None off glibc


def _attention_backend(math_attention: bool) -> Any:
    if not math_attention:
        return nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel(SDPBackend.MATH)


def _check_sizes(who: str, batch_size: int, length: int) -> None:
    if batch_size < 1 or length < 1:
        raise ValueError(f"{who}: expected batch_size and length ≥ 1, got {batch_size} and {length}")


def _loss_fn(model: LanguageModel, batch_size: int, length: int) -> Callable[[], Tensor]:
    tokens = torch.randint(len(model.vocab), (batch_size, length + 1))  # (B, T + 1)

    def loss() -> Tensor:
        logits, _ = model(tokens[:, :-1])  # (B, T, V)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))

    return loss


def training_step(model: LanguageModel, batch_size: int, length: int) -> Callable[[], None]:
    """One forward + backward of the next-token cross-entropy on random (B, T) tokens, as a function."""
    _check_sizes("training_step", batch_size, length)
    model.train()
    loss = _loss_fn(model, batch_size, length)

    def step() -> None:
        model.zero_grad(set_to_none=True)
        loss().backward()

    return step


def activation_memory(
    model: LanguageModel, batch_size: int, length: int, *, math_attention: bool = False
) -> Memory:
    """Activation memory of one training step's forward at (B, T), counted two ways (see the docstring).

    ``math_attention`` makes a Transformer use the textbook attention that stores α (B, heads, T, T).
    """
    _check_sizes("activation_memory", batch_size, length)
    model.train()
    model.zero_grad(set_to_none=True)
    loss = _loss_fn(model, batch_size, length)
    with _attention_backend(math_attention):
        in_use = _libc_in_use()
        before = in_use() if in_use else 0
        value = loss()
        allocated = in_use() - before if in_use else None
        del value
        saved = saved_tensor_bytes(loss)
    return Memory(saved, allocated)


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Slope of log y against log x between the last two points: 1 for y ∝ x, 2 for y ∝ x²."""
    if len(x) < 2 or len(x) != len(y):
        raise ValueError(f"loglog_slope: expected two or more (x, y) pairs, got {len(x)} x and {len(y)} y")
    return math.log(y[-1] / y[-2]) / math.log(x[-1] / x[-2])


# ------------------------------------------------------------------------------------------ generation
def state_bytes(state: Any) -> int:
    """Bytes of every tensor in a (nested tuple / NamedTuple) recurrent state."""
    if isinstance(state, Tensor):
        return state.numel() * state.element_size()
    return sum(state_bytes(s) for s in state)


class Streaming(NamedTuple):
    lstm_ms: list[float]  # one pass t = 1 … N, a single call per token (the picture)
    kv_ms: list[float]
    lstm_state_bytes: list[int]  # after t tokens
    kv_cache_bytes: list[int]
    positions: list[int]  # the probes 1, 2, 4, …, N
    lstm_probe_ms: list[float]  # per probe: median of the calls, all probes timed in turn
    kv_probe_ms: list[float]
    recompute_ms: list[float]


@torch.no_grad()
def _streaming(models: dict[str, LanguageModel], n: int, repeats: int) -> Streaming:
    """One generation pass over N random tokens, then the probes: the token at position p fed the state
    (or cache) left by tokens 1 … p − 1, the probes of each kind timed in turn so drift in the machine's
    load does not read as a trend in p."""
    lstm, transformer = models["lstm"].eval(), models["transformer"].eval()
    tokens = torch.randint(len(lstm.vocab), (1, n))  # (1, N)
    positions = sorted({*(2**k for k in range(n.bit_length()) if 2**k <= n), n})
    state, cache = None, None
    for t in range(min(8, n)):  # warm-up: first calls allocate and pick kernels
        _, state = lstm.step(tokens[:, t], state)
        _, cache = transformer.step(tokens[:, t], cache)
    lstm_ms, kv_ms, lstm_bytes, kv_bytes = [], [], [], []
    state, cache = lstm.body.initial_state(1), None
    before: dict[int, tuple[Any, KVCache | None]] = {}  # position p → (state, cache) after p − 1 tokens
    for t in range(n):
        if t + 1 in positions:
            before[t + 1] = (state, cache)
        start = time.perf_counter()
        _, state = lstm.step(tokens[:, t], state)
        lstm_ms.append(1000 * (time.perf_counter() - start))
        lstm_bytes.append(state_bytes(state))
        start = time.perf_counter()
        _, cache = transformer.step(tokens[:, t], cache)
        kv_ms.append(1000 * (time.perf_counter() - start))
        kv_bytes.append(cache.nbytes)
    # each kind on its own: a long re-read just before a 0.3 ms LSTM step evicts the caches it would use
    lstm_probes: dict[str, Callable[[], Any]] = {}
    kv_probes: dict[str, Callable[[], Any]] = {}
    reread_probes: dict[str, Callable[[], Any]] = {}
    for p in positions:
        token, (s_p, c_p) = tokens[:, p - 1], before[p]
        lstm_probes[str(p)] = lambda token=token, s_p=s_p: lstm.step(token, s_p)
        kv_probes[str(p)] = lambda token=token, c_p=c_p: transformer.step(token, c_p)
        reread_probes[str(p)] = lambda p=p: transformer(tokens[:, :p])[0][:, -1]
    medians = [  # the single steps are cheap: three times the calls
        [1000 * statistics.median(times) for times in time_in_turn(probes, calls).values()]
        for probes, calls in ((lstm_probes, 3 * repeats), (kv_probes, 3 * repeats), (reread_probes, repeats))
    ]
    return Streaming(
        lstm_ms,
        kv_ms,
        lstm_bytes,
        kv_bytes,
        positions,
        *medians,
    )


# ------------------------------------------------------------------------------------------ decisions
def decide(measured: dict[str, float]) -> dict[str, bool]:
    """The rules of ``RULES`` applied to the measured ratios and slopes (keys as ``run`` fills them)."""
    r = RULES
    return {
        "short_t": measured["short_t_ratio"] <= r["short_t_ratio"],
        "time_growth": measured["relative_growth"] >= r["relative_growth"],
        "memory": measured["alpha_slope"] >= r["quadratic_slope"]
        and measured["lstm_slope"] <= r["linear_slope"],
        "streaming": measured["lstm_stream_ratio"] <= r["stream_flat"]
        and measured["lstm_state_growth"] == 1.0
        and measured["recompute_growth"] >= r["recompute_growth"],
    }


# ------------------------------------------------------------------------------------------ run
def run(
    setting: str = "small", out_dir: str | Path = "runs/rnn_vs_transformer", *, seed: int = 0
) -> ExperimentResult:
    """Measure both tables, draw them, decide each claim (held is None at ``tiny``)."""
    s = pick_setting(SETTINGS, setting, NAME)
    seed_everything(seed)
    out_dir = Path(out_dir)
    start = time.perf_counter()
    models = build_models(s)
    B, lengths, repeats = s["batch_size"], list(s["lengths"]), s["repeats"]
    seconds: dict[str, list[float]] = {"lstm": [], "transformer": []}
    memory: dict[str, list[Memory]] = {"lstm": [], "transformer": [], "math": []}
    math_max = s["math_max_length"]
    for length in lengths:  # the two models' steps alternate, so load on the machine hits both alike
        timed = time_in_turn({k: training_step(models[k], B, length) for k in seconds}, repeats)
        for k in seconds:
            seconds[k].append(statistics.median(timed[k]))
            memory[k].append(activation_memory(models[k], B, length))
        if length <= math_max:
            memory["math"].append(activation_memory(models["transformer"], B, length, math_attention=True))
    stream = _streaming(models, s["generate_tokens"], repeats)

    per_token = {k: [t / (B * T) * 1e6 for t, T in zip(seconds[k], lengths)] for k in seconds}
    math_lengths = lengths[: len(memory["math"])]
    short_ratio = per_token["transformer"][0] / per_token["lstm"][0]
    measured = {
        "short_t_ratio": short_ratio,
        "transformer_growth": per_token["transformer"][-1] / per_token["transformer"][0],
        "lstm_growth": per_token["lstm"][-1] / per_token["lstm"][0],
        "relative_growth": (per_token["transformer"][-1] / per_token["lstm"][-1]) / short_ratio,
        "math_slope": loglog_slope(math_lengths, [c.saved_bytes for c in memory["math"]]),
        "alpha_slope": loglog_slope(
            math_lengths,
            [m.saved_bytes - f.saved_bytes for m, f in zip(memory["math"], memory["transformer"])],
        ),
        "fused_slope": loglog_slope(lengths, [m.saved_bytes for m in memory["transformer"]]),
        "lstm_slope": loglog_slope(lengths, [m.saved_bytes for m in memory["lstm"]]),
        "lstm_stream_ratio": stream.lstm_probe_ms[-1] / stream.lstm_probe_ms[0],
        "kv_stream_ratio": stream.kv_probe_ms[-1] / stream.kv_probe_ms[0],
        "lstm_state_growth": stream.lstm_state_bytes[-1] / stream.lstm_state_bytes[0],
        "recompute_growth": stream.recompute_ms[-1] / stream.recompute_ms[0],
    }
    held = decide(measured) if setting != "tiny" else dict.fromkeys(decide(measured))
    crossover = next(
        (T for T, a, b in zip(lengths, per_token["transformer"], per_token["lstm"]) if a > b), None
    )
    n = s["generate_tokens"]
    mib = 2.0**20
    params = {k: _parameters(m) for k, m in models.items()}
    findings = (
        Finding(
            "Self-attention is parallel over time, the recurrence sequential: at short lengths the "
            "Transformer trains at least as fast per token as an LSTM of similar size (much faster on "
            "parallel hardware; a CPU thread has little parallelism over time to use).",
            f"B={B}, one fwd+bwd step: Transformer {per_token['transformer'][0]:.1f} µs/token against LSTM "
            f"{per_token['lstm'][0]:.1f} at T={lengths[0]} (ratio {measured['short_t_ratio']:.2f}); "
            + (
                f"the Transformer is first the slower one at T={crossover}"
                if crossover
                else "the Transformer stays faster up to the longest T measured"
            )
            + f". Parameters: LSTM {params['lstm'][0]:,}, Transformer {params['transformer'][1]:,} "
            f"(+{params['transformer'][0] - params['transformer'][1]:,} in its position table).",
            held["short_t"],
        ),
        Finding(
            "Attention's cost grows as T² while the recurrence's grows as T: as T grows, the Transformer's "
            "training step gets dearer relative to the LSTM's.",
            f"Transformer ÷ LSTM time per step: {short_ratio:.2f} at T={lengths[0]}, "
            f"{short_ratio * measured['relative_growth']:.2f} at T={lengths[-1]} "
            f"(×{measured['relative_growth']:.2f}). µs/token from T={lengths[0]} to {lengths[-1]}: "
            f"Transformer ×{measured['transformer_growth']:.2f} "
            f"({per_token['transformer'][0]:.1f} → {per_token['transformer'][-1]:.1f}), LSTM "
            f"×{measured['lstm_growth']:.2f} ({per_token['lstm'][0]:.1f} → {per_token['lstm'][-1]:.1f}).",
            held["time_growth"],
        ),
        Finding(
            "Attention needs O(T²) memory (the weights α of every pair), the recurrence O(T).",
            f"Activation memory saved for backward, log-log slope over the last doubling (T="
            f"{math_lengths[-2]}→{math_lengths[-1]}): what textbook attention adds over the fused kernel "
            f"{measured['alpha_slope']:.2f}, its whole step {measured['math_slope']:.2f} "
            f"({memory['math'][-1].saved_bytes / mib:.0f} MiB at T={math_lengths[-1]}), LSTM "
            f"{measured['lstm_slope']:.2f}; torch's default fused attention kernel "
            f"{measured['fused_slope']:.2f} — it never stores α, so its memory is linear in T while its "
            "time is not.",
            held["memory"],
        ),
        Finding(
            "Generating, the RNN pays the same time and O(1) memory per token; a Transformer's cost "
            "grows with the position (a growing KV cache, or re-reading the prefix without one).",
            f"B=1, the token at position 1 → {n} (probes timed in turn): LSTM step "
            f"{stream.lstm_probe_ms[0]:.3f} → {stream.lstm_probe_ms[-1]:.3f} ms "
            f"(×{measured['lstm_stream_ratio']:.2f}), state {stream.lstm_state_bytes[-1]:,} bytes at "
            "every t; "
            f"Transformer with KV cache {stream.kv_probe_ms[0]:.3f} → {stream.kv_probe_ms[-1]:.3f} ms "
            f"(×{measured['kv_stream_ratio']:.2f}), "
            f"cache {stream.kv_cache_bytes[0]:,} → {stream.kv_cache_bytes[-1]:,} bytes (linear in t); "
            f"re-reading the prefix {stream.recompute_ms[0]:.3f} → {stream.recompute_ms[-1]:.3f} ms "
            f"(×{measured['recompute_growth']:.1f}).",
            held["streaming"],
        ),
    )
    train_rows = []
    for i, T in enumerate(lengths):
        math_cell = f"{memory['math'][i].saved_bytes / mib:.1f}" if i < len(memory["math"]) else "—"
        train_rows.append(
            (
                str(T),
                f"{seconds['lstm'][i] * 1000:.1f}",
                f"{seconds['transformer'][i] * 1000:.1f}",
                f"{per_token['lstm'][i]:.1f}",
                f"{per_token['transformer'][i]:.1f}",
                f"{memory['lstm'][i].saved_bytes / mib:.1f}",
                f"{memory['transformer'][i].saved_bytes / mib:.1f}",
                math_cell,
                _mib(memory["lstm"][i].allocator_bytes),
                _mib(memory["transformer"][i].allocator_bytes),
            )
        )
    train_table = Table(
        f"One training step (fwd+bwd), B={B}, {torch.get_num_threads()} torch thread(s). Memory: MiB saved "
        "for backward (autograd hooks); 'alloc' = glibc bytes held after the forward (cross-check).",
        (
            "T",
            "LSTM ms",
            "Transformer ms",
            "LSTM µs/token",
            "Transformer µs/token",
            "LSTM MiB",
            "Transformer MiB (fused)",
            "Transformer MiB (math)",
            "LSTM alloc MiB",
            "Transformer alloc MiB",
        ),
        tuple(train_rows),
    )
    stream_rows = []
    for i, p in enumerate(stream.positions):
        stream_rows.append(
            (
                str(p),
                f"{stream.lstm_probe_ms[i]:.3f}",
                f"{stream.kv_probe_ms[i]:.3f}",
                f"{stream.recompute_ms[i]:.3f}",
                f"{stream.lstm_state_bytes[p - 1]:,}",
                f"{stream.kv_cache_bytes[p - 1]:,}",
            )
        )
    stream_table = Table(
        "Generating at B=1: ms for the token at position t given the state or cache of the t − 1 before "
        f"it (median of {3 * repeats} calls, re-reading {repeats}; the positions of each kind timed in "
        "turn), state or cache bytes after t tokens",
        ("t", "LSTM step ms", "KV-cache step ms", "re-read prefix ms", "LSTM state bytes", "KV cache bytes"),
        tuple(stream_rows),
    )
    figures = (
        _plot_training(lengths, seconds, memory, math_lengths, B, out_dir / f"{NAME}_training.png"),
        _plot_streaming(stream, out_dir / f"{NAME}_streaming.png"),
    )
    return ExperimentResult(
        name=NAME,
        title=TITLE,
        setting=setting,
        seed=seed,
        findings=findings,
        tables=(train_table, stream_table),
        figures=figures,
        settings={
            **s,
            "parameters": {k: v[0] for k, v in params.items()},
            "measured": measured,
            "rules": RULES,
        },
        seconds=time.perf_counter() - start,
    )


def _mib(n: int | None) -> str:
    return "n/a" if n is None else f"{n / 2**20:.1f}"


def _plot_training(lengths, seconds, memory, math_lengths, B, path: Path) -> Path:
    from seqlab.plots import _pyplot, _save

    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for key, label in (("lstm", "LSTM"), ("transformer", "Transformer")):
        left.plot(lengths, [t * 1000 for t in seconds[key]], marker="o", label=label)
    left.set(xscale="log", yscale="log", xlabel="sequence length T", ylabel=f"ms per training step (B={B})")
    left.set_title("time of one fwd+bwd step", fontsize=10)
    mib = 2.0**20
    right.plot(lengths, [m.saved_bytes / mib for m in memory["lstm"]], marker="o", label="LSTM")
    right.plot(
        lengths, [m.saved_bytes / mib for m in memory["transformer"]], marker="o", label="Transformer (fused)"
    )
    right.plot(
        math_lengths,
        [m.saved_bytes / mib for m in memory["math"]],
        marker="s",
        label="Transformer (math, stores α)",
    )
    right.set(xscale="log", yscale="log", xlabel="sequence length T", ylabel="MiB saved for backward")
    right.set_title("activation memory", fontsize=10)
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    return _save(fig, path)


def _plot_streaming(stream: Streaming, path: Path) -> Path:
    from seqlab.plots import _pyplot, _save

    plt = _pyplot()
    n = len(stream.lstm_ms)
    positions = list(range(1, n + 1))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    series = (
        ("LSTM step (state carried)", stream.lstm_ms, stream.lstm_probe_ms),
        ("Transformer, KV cache", stream.kv_ms, stream.kv_probe_ms),
        ("Transformer, re-read prefix", None, stream.recompute_ms),
    )
    for k, (label, one_pass, probes) in enumerate(series):
        color = f"C{k}"
        if one_pass is not None:
            left.plot(positions, _smooth(one_pass), color=color, alpha=0.35, linewidth=1)
        left.plot(stream.positions, probes, color=color, marker="o", label=label)
    left.set(xlabel="position t", ylabel="ms per generated token (B=1)", xscale="log", yscale="log")
    left.set_xscale("log", base=2)
    left.set_title("per-token latency (points: timed in turn; faint: one pass)", fontsize=10)
    right.plot(positions, stream.lstm_state_bytes, label="LSTM state (h, c)")
    right.plot(positions, stream.kv_cache_bytes, label="Transformer KV cache")
    right.set(xlabel="position t", ylabel="bytes", yscale="log")
    right.set_xscale("log", base=2)
    right.set_title("memory carried between tokens", fontsize=10)
    for ax in (left, right):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    return _save(fig, path)


def _smooth(values: Sequence[float], width: int = 9) -> list[float]:
    half = width // 2
    return [statistics.median(values[max(0, i - half) : i + half + 1]) for i in range(len(values))]


def main(argv: list[str] | None = None) -> int:
    return experiment_main(run, SETTINGS, __doc__, "python -m seqlab.experiments.rnn_vs_transformer", argv)


if __name__ == "__main__":
    raise SystemExit(main())
