"""Streaming and the edge (the chapter's Q5): per-token cost of a live LSTM, model size, int8 quantisation.

The chapter's answer to "why still use an RNN on a device?": a recurrence reads a live stream one token at
a time and carries a fixed state,

    i_t, f_t, g_t, o_t = σ, σ, tanh, σ of (W x_t + U h_{t−1} + b)
    c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t,   h_t = o_t ⊙ tanh(c_t),

so each token costs the same small amount of work and memory (two vectors of H numbers) however long the
stream has run; and its weights (4H(D + H) for one layer) shrink four times under int8 quantisation.
Dynamic int8 quantisation (Jacob et al. 2018; PyTorch's ``quantize_dynamic``) stores the weights of
``nn.LSTM`` and ``nn.Linear`` as int8 with one scale per tensor and quantises each activation on the fly;
it pays when the matrix products dominate — on this CPU the chapter expects it to pay only for large H.

What is measured:

1. For each hidden size H: an LSTM layer (D = embedding size) and its output layer (H → V = 96), fed one
   token at a time at B = 1 with the state carried: µs per token through seqlab's ``Recurrent.step``, through
   ``torch.nn.LSTM`` with the same weights (``Recurrent.to_torch``), and through the int8 copy of the latter;
   the three are called in turn so load on the machine hits them alike (medians). Also one batch (B, T)
   float against int8. Model size: float32 as safetensors, and both float32 and int8 as ``torch.save`` of
   the state dict (int8 packed weights cannot be written as safetensors).
2. Accuracy: a character LSTM LM trained briefly on Shakespeare (``common.fit`` on random windows), then
   bits per character on the validation plays (Macbeth, Twelfth Night) in float32 (seqlab and its torch
   copy, which must agree) and in int8.

``torch.ao.quantization`` warns that it is deprecated in favour of torchao (not a seqlab dependency); it
still works in torch 2.13 and the warning is silenced around the one call.

Each claim's ``held`` follows ``RULES``.

    python -m seqlab.experiments.edge --setting full
"""

from __future__ import annotations

import io
import math
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
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
    time_in_turn,
    window_loss,
)
from seqlab.recurrent import Recurrent
from seqlab.tasks.generation import LanguageModel, LanguageModelConfig, stream_rows

__all__ = [
    "MINUTES",
    "NAME",
    "RULES",
    "SETTINGS",
    "TITLE",
    "TorchLM",
    "bits_per_char",
    "decide",
    "main",
    "quantize",
    "run",
    "serialized_bytes",
]

NAME = "edge"
TITLE = "Streaming and the edge: per-token latency, model size, dynamic int8 quantisation"

SETTINGS = {
    "tiny": {
        "hidden_sizes": [16, 32],
        "embedding_dim": 16,
        "vocab_size": 96,
        "stream_tokens": 20,
        "batch_size": 4,
        "batch_length": 16,
        "repeats": 1,
        "lm_hidden": 32,
        "train_steps": 5,
        "train_seconds": 5.0,
        "train_batch": 4,
        "train_chars": 20000,
        "bptt": 32,
        "eval_chars": 2000,
    },
    "small": {
        "hidden_sizes": [128, 512, 1024],
        "embedding_dim": 64,
        "vocab_size": 96,
        "stream_tokens": 200,
        "batch_size": 32,
        "batch_length": 64,
        "repeats": 5,
        "lm_hidden": 256,
        "train_steps": 400,
        "train_seconds": 20.0,
        "train_batch": 32,
        "train_chars": 1_000_000,
        "bptt": 64,
        "eval_chars": 20000,
    },
    "full": {
        "hidden_sizes": [64, 128, 256, 512, 1024],
        "embedding_dim": 64,
        "vocab_size": 96,
        "stream_tokens": 500,
        "batch_size": 32,
        "batch_length": 128,
        "repeats": 9,
        "lm_hidden": 512,
        "train_steps": 1500,
        "train_seconds": 300.0,
        "train_batch": 32,
        "train_chars": None,  # all the training plays
        "bptt": 128,
        "eval_chars": None,  # the whole validation text
    },
}
# Wall minutes of run() on the 2-core CPU, 1 torch thread while other jobs shared it: tiny 4-7 s, small
# 33-36 s, full 352 s (300 s of it the char LM's training cap). A second thread can only shorten them.
MINUTES = {"tiny": 0.1, "small": 0.6, "full": 6.0}

RULES = {
    # streaming: median µs/token of the last half of the stream ÷ the first half, at most this, at every H
    "stream_flat": 1.3,
    # size: float32 bytes ÷ int8 bytes (both torch.save) at the largest H, at least this
    "size_ratio": 3.5,
    # speed: int8 "pays" when the best float32 time ÷ the int8 time is at least this; the claim holds when it
    # pays at the largest H and not at the smallest, both per streamed token and per batch. The best float32
    # per token is the faster of seqlab's step and torch.nn.LSTM called on one step (the latter is slow
    # for large H on CPU: a 1-step call costs ~8× seqlab's step at H=1024 here).
    "pays": 1.2,
    # accuracy: |bpc(int8) − bpc(float32)| at most this many bits per character
    "bpc_change": 0.05,
}


# ------------------------------------------------------------------------------------------ models
class TorchLM(nn.Module):
    """Embedding → ``torch.nn.LSTM`` → linear: a seqlab LSTM language model in torch's modules, so that
    ``quantize_dynamic`` (which knows ``nn.LSTM`` and ``nn.Linear``) can convert it."""

    def __init__(self, embedding: nn.Embedding, lstm: nn.LSTM, output: nn.Linear) -> None:
        super().__init__()
        self.embedding, self.lstm, self.output = embedding, lstm, output

    @classmethod
    def from_language_model(cls, model: LanguageModel) -> TorchLM:
        """The same function as ``model`` (an untied LSTM ``LanguageModel``), weights copied."""
        c = model.config
        if c.architecture != "recurrent" or c.recurrence != "lstm" or c.tie_weights or c.recurrence_options:
            raise ValueError(
                "TorchLM.from_language_model: expected an LSTM LanguageModel without tied weights or "
                f"options, got architecture={c.architecture!r}, recurrence={c.recurrence!r}, "
                f"tie_weights={c.tie_weights}, options={c.recurrence_options}"
            )
        embedding = nn.Embedding.from_pretrained(model.embedding.weight.detach().clone(), freeze=False)
        output = nn.Linear(model.output.in_features, model.output.out_features)
        output.load_state_dict(model.output.state_dict())
        return cls(embedding, model.body.to_torch(), output)

    def forward(self, tokens: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """(B, T) token ids → logits (B, T, V), torch's (h, c) state."""
        h, state = self.lstm(self.embedding(tokens), state)  # (B, T, H)
        return self.output(h), state


def quantize(module: nn.Module) -> nn.Module:
    """A dynamic-int8 copy of ``module``: its ``nn.LSTM`` and ``nn.Linear`` weights stored as int8."""
    if not isinstance(module, nn.Module):
        raise ValueError(f"quantize: expected an nn.Module, got {type(module).__name__}")
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"torch\.ao\.quantization is deprecated")
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor, .* are deprecated")
        return quantize_dynamic(module, {nn.LSTM, nn.Linear}, dtype=torch.qint8)


def serialized_bytes(module: nn.Module, fmt: str = "torch") -> int:
    """Bytes of the module's state dict written with ``torch.save`` (``fmt="torch"``) or as safetensors."""
    if fmt == "torch":
        buffer = io.BytesIO()
        torch.save(module.state_dict(), buffer)
        return buffer.getbuffer().nbytes
    if fmt == "safetensors":
        from safetensors.torch import save

        return len(save({k: v.contiguous() for k, v in module.state_dict().items()}))
    raise ValueError(f"serialized_bytes: unknown format {fmt!r}; known: torch, safetensors")


# ------------------------------------------------------------------------------------------ timing
def _stream_latency(D: int, H: int, V: int, s: dict[str, Any]) -> dict[str, Any]:
    """Per-token µs (seqlab step, torch float, torch int8) over a stream, and batch ms, for one H."""
    ours = Recurrent("lstm", D, H).eval()
    output = nn.Linear(H, V)
    float_lm = nn.ModuleDict({"lstm": ours.to_torch(), "output": output}).eval()
    int8_lm = quantize(float_lm)
    n = s["stream_tokens"]
    x = torch.randn(1, n, D)  # (1, N, D) the stream's embedded tokens
    per_token: dict[str, list[float]] = {"seqlab": [], "float32": [], "int8": []}
    with torch.inference_mode():
        states: dict[str, Any] = dict.fromkeys(per_token)

        def ours_step(t: int) -> None:
            h, states["seqlab"] = ours.step(x[:, t], states["seqlab"])  # (1, H)
            output(h)

        def torch_step(name: str, lm: nn.ModuleDict, t: int) -> None:
            h, states[name] = lm["lstm"](x[:, t : t + 1], states[name])  # (1, 1, H)
            lm["output"](h)

        for t in range(n):
            timed = time_in_turn(
                {
                    "seqlab": lambda t=t: ours_step(t),
                    "float32": lambda t=t: torch_step("float32", float_lm, t),
                    "int8": lambda t=t: torch_step("int8", int8_lm, t),
                },
                1,
            )
            for name, seconds in timed.items():
                per_token[name].append(seconds[0] * 1e6)
        batch = torch.randn(s["batch_size"], s["batch_length"], D)  # (B, T, D)
        batch_s = time_in_turn(
            {
                "float32": lambda: float_lm["output"](float_lm["lstm"](batch)[0]),
                "int8": lambda: int8_lm["output"](int8_lm["lstm"](batch)[0]),
            },
            s["repeats"],
        )
    half = n // 2
    return {
        "H": H,
        "median_us": {k: statistics.median(v) for k, v in per_token.items()},
        "p90_us": {k: _quantile(v, 0.9) for k, v in per_token.items()},
        "halves": {
            k: (statistics.median(v[:half]), statistics.median(v[half:])) for k, v in per_token.items()
        },
        "batch_ms": {k: 1000 * statistics.median(v) for k, v in batch_s.items()},
        "state_bytes": 2 * H * 4,
        "parameters": sum(p.numel() for p in float_lm.parameters()),
        "float32_safetensors": serialized_bytes(float_lm, "safetensors"),
        "float32_bytes": serialized_bytes(float_lm),
        "int8_bytes": serialized_bytes(int8_lm),
    }


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ------------------------------------------------------------------------------------------ accuracy
@torch.no_grad()
def bits_per_char(model: nn.Module, ids: Tensor, rows: int = 16) -> float:
    """Bits per character of ``model`` (tokens → (logits, state)) on the stream ``ids`` (N,), read as
    ``rows`` parallel rows each from the zero state: −(1/N') Σ log₂ p(x_{t+1} | x_≤t)."""
    if ids.dim() != 1 or ids.numel() < 2 * rows:
        raise ValueError(
            f"bits_per_char: expected a 1-D stream of at least {2 * rows} token ids, "
            f"got shape {tuple(ids.shape)}"
        )
    grid = stream_rows(ids, rows)  # (rows, N / rows)
    logits, _ = model(grid[:, :-1])  # (rows, L, V)
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), grid[:, 1:].reshape(-1))
    return float(nll) / math.log(2)


def _training_text(max_chars: int | None) -> str:
    """The Shakespeare training plays in name order (``shakespeare("train")``), stopped at the first play
    that brings the text to ``max_chars`` or more (None: all of them)."""
    from seqlab.data.text import SHAKESPEARE_SPLITS, read_text, shakespeare, shakespeare_plays

    if max_chars is None:
        return shakespeare("train")
    held_out = {name for names in SHAKESPEARE_SPLITS.values() for name in names}
    parts: list[str] = []
    size = 0
    for name, path in shakespeare_plays().items():
        if name in held_out:
            continue
        parts.append(read_text(path) + "\n")
        size += len(parts[-1])
        if size >= max_chars:
            break
    return "".join(parts)


def _train_char_lm(s: dict[str, Any], seed: int) -> tuple[LanguageModel, Tensor, FitLog]:
    from seqlab.data.text import shakespeare

    train_text = _training_text(s["train_chars"])
    valid_text = shakespeare("valid")
    if s["eval_chars"] is not None:
        valid_text = valid_text[: s["eval_chars"]]
    config = LanguageModelConfig(
        architecture="recurrent",
        recurrence="lstm",
        embedding_dim=s["embedding_dim"],
        hidden_size=s["lm_hidden"],
        num_layers=1,
        dropout=0.0,
    )
    model = LanguageModel.from_text(train_text, config)
    train_ids = torch.tensor(model.encode(train_text, unknown="unk"))
    valid_ids = torch.tensor(model.encode(valid_text, unknown="unk"))
    generator = torch.Generator().manual_seed(seed)
    loss = window_loss(model, train_ids, s["bptt"], s["train_batch"], generator)
    model.train()
    log = fit(
        loss, model.parameters(), steps=s["train_steps"], lr=3e-3, clip=1.0, max_seconds=s["train_seconds"]
    )
    return model.eval(), valid_ids, log


# ------------------------------------------------------------------------------------------ decisions
def decide(measured: dict[str, Any]) -> dict[str, bool]:
    """``RULES`` applied to the measurements (keys as ``run`` fills them)."""
    r = RULES
    speedups = measured["speedups"]  # best float32 ÷ int8 µs/token, by increasing H
    batch = measured["batch_speedups"]  # float32 ÷ int8 ms per batch
    return {
        "streaming": max(measured["stream_ratios"]) <= r["stream_flat"],
        "size": measured["size_ratio"] >= r["size_ratio"],
        "speed": speedups[-1] >= r["pays"] > speedups[0] and batch[-1] >= r["pays"] > batch[0],
        "accuracy": abs(measured["bpc_change"]) <= r["bpc_change"],
    }


# ------------------------------------------------------------------------------------------ run
def run(setting: str = "small", out_dir: str | Path = "runs/edge", *, seed: int = 0) -> ExperimentResult:
    """Time the streaming LSTM at each H, float32 against int8, and score a char LM both ways."""
    s = pick_setting(SETTINGS, setting, NAME)
    seed_everything(seed)
    out_dir = Path(out_dir)
    start = time.perf_counter()
    D, V = s["embedding_dim"], s["vocab_size"]
    sizes = [_stream_latency(D, H, V, s) for H in s["hidden_sizes"]]

    lm, valid_ids, train_log = _train_char_lm(s, seed)
    torch_lm = TorchLM.from_language_model(lm).eval()
    int8_lm = quantize(torch_lm)
    bpc = {
        "seqlab float32": bits_per_char(lm, valid_ids),
        "torch float32": bits_per_char(torch_lm, valid_ids),
        "int8": bits_per_char(int8_lm, valid_ids),
    }
    lm_size = {"float32": serialized_bytes(torch_lm), "int8": serialized_bytes(int8_lm)}

    best_float = [min(z["median_us"]["float32"], z["median_us"]["seqlab"]) for z in sizes]
    speedups = [f / z["median_us"]["int8"] for f, z in zip(best_float, sizes)]
    torch_speedups = [z["median_us"]["float32"] / z["median_us"]["int8"] for z in sizes]
    batch_speedups = [z["batch_ms"]["float32"] / z["batch_ms"]["int8"] for z in sizes]
    stream_ratios = [z["halves"]["seqlab"][1] / z["halves"]["seqlab"][0] for z in sizes]
    measured = {
        "speedups": speedups,
        "torch_speedups": torch_speedups,
        "batch_speedups": batch_speedups,
        "stream_ratios": stream_ratios,
        "size_ratio": sizes[-1]["float32_bytes"] / sizes[-1]["int8_bytes"],
        "bpc": bpc,
        "bpc_change": bpc["int8"] - bpc["torch float32"],
        "lm_size": lm_size,
        "train_seconds": train_log.seconds,
        "train_steps": len(train_log.losses),
    }
    held = decide(measured) if setting != "tiny" else dict.fromkeys(decide(measured))
    Hs = [z["H"] for z in sizes]
    pays_at = [H for H, r in zip(Hs, speedups) if r >= RULES["pays"]]
    batch_pays_at = [H for H, r in zip(Hs, batch_speedups) if r >= RULES["pays"]]

    def us(key: str) -> str:
        return ", ".join(f"H={z['H']}: {z['median_us'][key]:.0f}" for z in sizes)

    findings = (
        Finding(
            "A streaming LSTM pays a fixed, small cost per token: the state (h_t, c_t) is carried, nothing "
            "is re-read, however long the stream.",
            f"B=1, {s['stream_tokens']} tokens, µs/token (median) through Recurrent.step + output layer: "
            f"{us('seqlab')}; second half ÷ first half of the stream: "
            + ", ".join(f"{r:.2f}" for r in stream_ratios)
            + "; state "
            + ", ".join(f"{z['state_bytes']:,}" for z in sizes)
            + " bytes.",
            held["streaming"],
        ),
        Finding(
            "Dynamic int8 quantisation makes the model about four times smaller.",
            "torch.save bytes float32 → int8: "
            + ", ".join(f"H={z['H']}: {z['float32_bytes']:,} → {z['int8_bytes']:,}" for z in sizes)
            + f" (×{measured['size_ratio']:.2f} at H={Hs[-1]}); the char LM (H={s['lm_hidden']}) "
            f"{lm_size['float32']:,} → {lm_size['int8']:,} bytes.",
            held["size"],
        ),
        Finding(
            "On this CPU int8 pays only for large hidden sizes.",
            "best float32 ÷ int8 time per streamed token (B=1): "
            + ", ".join(f"H={H}: ×{r:.2f}" for H, r in zip(Hs, speedups))
            + " (against torch.nn.LSTM's 1-step call alone: "
            + ", ".join(f"×{r:.2f}" for r in torch_speedups)
            + f"); per batch (B={s['batch_size']}, T={s['batch_length']}, fused kernel): "
            + ", ".join(f"H={H}: ×{r:.2f}" for H, r in zip(Hs, batch_speedups))
            + f". It pays (≥ ×{RULES['pays']}) per token at H ∈ {pays_at or 'none'}, per batch at H ∈ "
            f"{batch_pays_at or 'none'}.",
            held["speed"],
        ),
        Finding(
            "Quantising the weights to int8 barely changes the model's accuracy.",
            f"char LM 1×{s['lm_hidden']} trained {len(train_log.losses)} steps "
            f"({train_log.seconds:.0f} s) on Shakespeare, validation bpc "
            f"({valid_ids.numel():,} chars): seqlab float32 {bpc['seqlab float32']:.4f}, torch float32 "
            f"{bpc['torch float32']:.4f}, int8 {bpc['int8']:.4f} (change {measured['bpc_change']:+.4f}).",
            held["accuracy"],
        ),
    )
    table = Table(
        f"Streaming LSTM (D={D}, V={V}) at B=1, {torch.get_num_threads()} torch thread(s): "
        "median µs per token; "
        f"batch B={s['batch_size']}, T={s['batch_length']} in ms; sizes in bytes",
        (
            "H",
            "parameters",
            "seqlab step µs",
            "torch float32 µs",
            "torch int8 µs",
            "best float32 ÷ int8",
            "batch float32 ms",
            "batch int8 ms",
            "float32 safetensors",
            "int8 (torch.save)",
        ),
        tuple(
            (
                str(z["H"]),
                f"{z['parameters']:,}",
                f"{z['median_us']['seqlab']:.0f}",
                f"{z['median_us']['float32']:.0f}",
                f"{z['median_us']['int8']:.0f}",
                f"×{r:.2f}",
                f"{z['batch_ms']['float32']:.1f}",
                f"{z['batch_ms']['int8']:.1f}",
                f"{z['float32_safetensors']:,}",
                f"{z['int8_bytes']:,}",
            )
            for z, r in zip(sizes, speedups)
        ),
    )
    figure = _plot(sizes, s, out_dir / f"{NAME}.png")
    return ExperimentResult(
        name=NAME,
        title=TITLE,
        setting=setting,
        seed=seed,
        findings=findings,
        tables=(table,),
        figures=(figure,),
        settings={**s, "measured": measured, "rules": RULES},
        seconds=time.perf_counter() - start,
    )


def _plot(sizes: list[dict[str, Any]], s: dict[str, Any], path: Path) -> Path:
    from seqlab.plots import _pyplot, _save

    plt = _pyplot()
    Hs = [z["H"] for z in sizes]
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 3.6))
    for key, label in (("seqlab", "seqlab step"), ("float32", "torch float32"), ("int8", "torch int8")):
        left.plot(Hs, [z["median_us"][key] for z in sizes], marker="o", label=label)
    left.set(xlabel="hidden size H", ylabel="µs per token (B=1)", xscale="log", yscale="log")
    left.set_title("streaming latency per token", fontsize=10)
    for key, label in (("float32", "float32"), ("int8", "int8")):
        middle.plot(Hs, [z["batch_ms"][key] for z in sizes], marker="o", label=label)
    middle.set(xlabel="hidden size H", ylabel="ms per batch", xscale="log", yscale="log")
    middle.set_title(f"batch B={s['batch_size']}, T={s['batch_length']}", fontsize=10)
    right.plot(Hs, [z["float32_safetensors"] for z in sizes], marker="o", label="float32 (safetensors)")
    right.plot(Hs, [z["int8_bytes"] for z in sizes], marker="o", label="int8 (torch.save)")
    right.set(xlabel="hidden size H", ylabel="bytes", xscale="log", yscale="log")
    right.set_title("model size", fontsize=10)
    for ax in (left, middle, right):
        ax.set_xscale("log", base=2)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    return _save(fig, path)


def main(argv: list[str] | None = None) -> int:
    return experiment_main(run, SETTINGS, __doc__, "python -m seqlab.experiments.edge", argv)


if __name__ == "__main__":
    raise SystemExit(main())
