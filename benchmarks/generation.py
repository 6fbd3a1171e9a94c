"""Shakespeare character LM: an LSTM and a Transformer of similar size, each with the same wall-clock budget.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/generation.py --model lstm --minutes 30 \\
        --json benchmarks/results/2026-11-27-cpu/generation/lstm.json
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/generation.py --model transformer --minutes 30 --json ...
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/generation.py --model lstm --sample-only   # streaming

Trains ``seqlab.tasks.generation_run.train_language_model`` on the Shakespeare plays (split by play:
validation Macbeth and Twelfth Night, test Hamlet and The Tempest) for ``--minutes`` of wall-clock time
(validating every quarter epoch, keeping the best), then reports validation and test bits per character,
training throughput (characters/s), and generation: characters/s and per-character latency at B = 1 —
the LSTM through ``step`` (one token in, O(1) work), the Transformer re-reading its context for every
new character (no key/value cache in ``nn.TransformerEncoder``). Running the two models at the same
time, one thread each, gives both the same share of a loaded machine.

Target (issue 8): validation bpc ≤ 2.1 within 30 minutes of training on this CPU.

``--corpus essen_abc`` trains on the Essen folk tunes as ABC text (split by tune, ``seqlab.data.music``)
instead, then samples ``--tunes`` tunes per ``--temperature`` (each primed with ``X:1``, ended at the
first blank line, cleaned with the corpus's ``clean_abc``) and reports the share that music21 parses
and that it writes as MIDI (target: ≥ 95 % parse); the first one is written as MIDI.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from seqlab.data.text import shakespeare  # noqa: E402
from seqlab.tasks.generation import LanguageModel, LanguageModelConfig  # noqa: E402
from seqlab.tasks.generation_run import GenerationData, corpus_text, train_language_model  # noqa: E402
from seqlab.training import TrainConfig  # noqa: E402

# Similar parameter counts (≈0.85M): a 2-layer LSTM of 256 units; a 4-layer pre-norm Transformer of width 128.
# (A first try at ≈1.9M — LSTM 2×384, Transformer 4×192 — made too few updates in 30 minutes on one
# thread: validation bpc 2.52 after 18 minutes; see BENCHMARKS.md.)
MODELS = {
    "lstm": {"architecture": "recurrent", "recurrence": "lstm", "hidden_size": 256, "num_layers": 2},
    "transformer": {"architecture": "transformer", "hidden_size": 128, "num_layers": 4, "num_heads": 4},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(MODELS), default="lstm")
    p.add_argument("--corpus", choices=("shakespeare", "essen_abc"), default="shakespeare")
    p.add_argument("--tunes", type=int, default=200, help="essen_abc: tunes to sample and parse")
    p.add_argument("--temperature", default="1.0", help="essen_abc: sampling temperature(s), comma-separated")
    p.add_argument("--minutes", type=float, default=30.0, help="training budget (wall clock)")
    p.add_argument("--out-dir", type=Path, default=None, help="default: runs/charlm/<model>")
    p.add_argument("--bptt", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--dropout", type=float, default=0.1, help="embeddings, between layers, outputs")
    p.add_argument(
        "--schedule", choices=("plateau", "cosine", "wsd"), default="plateau",
        help="plateau: halve the LR when an epoch does not improve; cosine: warm up 200 steps, then decay "
        "to 0 over --epochs (the time limit may stop it first); wsd: warm up 200 steps, hold, and decay "
        "linearly to 0 over the last 20%% of --epochs (size --epochs to what the budget allows)",
    )  # fmt: skip
    p.add_argument("--epochs", type=int, default=1000, help="with cosine or wsd: the schedule's length")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--sample-only", action="store_true", help="time generation of the saved model only")
    p.add_argument("--sample-chars", type=int, default=500)
    p.add_argument("--quick", action="store_true", help="a tiny model and budget (for the tests)")
    p.add_argument("--json", type=Path, help="write [{name, value, unit, baseline}] here")
    return p.parse_args(argv)


PRIME = "ROMEO.\n"  # every timed and printed sample starts here


def time_generation(model: LanguageModel, n: int) -> dict[str, float]:
    """Characters/s and median per-character latency (ms) of streaming generation at B = 1."""
    stamps = []
    start = time.perf_counter()
    for _ in model.generate(PRIME, max_tokens=n, temperature=0.8, seed=0):
        stamps.append(time.perf_counter())
    total = stamps[-1] - start
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    result = {"chars_per_s": n / total, "latency_ms": 1000 * statistics.median(gaps)}
    if not model.recurrent:  # the KV cache serves until the learned positions run out, then the window slides
        cached = model.config.context - len(model.encode(PRIME))
        result["latency_cached_ms"] = 1000 * statistics.median(gaps[: cached - 1])
        result["latency_sliding_ms"] = 1000 * statistics.median(gaps[cached:] or [float("nan")])
    return result


def abc_parse_rate(model: LanguageModel, n: int, temperature: float, name: str, out_dir: Path) -> list[dict]:
    """Sample ``n`` tunes; count those music21 parses, and those it also writes as MIDI (the first of
    which is saved)."""
    from seqlab.data.music import abc_parses, abc_to_midi, clean_abc

    parsed = exported = 0
    first = None
    for k in range(n):
        text = model.sample("X:1\n", max_tokens=1500, temperature=temperature, seed=k, stop="\n\n")
        # the corpus's own clean-up: it also supplies the ABC standard's default L: (from the meter)
        # when a tune has none, which music21 does not (what `seqlab generate sample --output x.mid` does)
        tune = clean_abc("X:1\n" + text.strip() + "\n")
        if abc_parses(tune):
            parsed += 1
            if abc_parses(tune, midi=True):
                exported += 1
                first = first or tune
    print(
        f"{name}: {parsed}/{n} sampled tunes parse with music21, {exported}/{n} also export to MIDI "
        f"(temperature {temperature})"
    )
    if first is not None:
        print(first)
        abc_to_midi(first, out_dir / f"sampled_tune_t{temperature:g}.mid")
    tag = f"{name}/t{temperature:g}"
    return [
        {"name": f"{tag}/abc_parse_rate", "value": parsed / n, "unit": "fraction", "baseline": None},
        {"name": f"{tag}/abc_midi_rate", "value": exported / n, "unit": "fraction", "baseline": None},
    ]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    name = args.model if args.corpus == "shakespeare" else f"{args.corpus}-{args.model}"
    out_dir = args.out_dir or ROOT / "runs/charlm" / name
    sizes = dict(MODELS[args.model])
    data = GenerationData(corpus=args.corpus, bptt=args.bptt, batch_size=args.batch_size)
    if args.quick:
        sizes.update(hidden_size=32, num_layers=1)
        data = GenerationData(corpus=args.corpus, bptt=32, batch_size=8, max_train_chars=20_000)
    config = LanguageModelConfig(embedding_dim=64, dropout=args.dropout, context=args.bptt, **sizes)
    results: list[dict] = []
    if args.sample_only:
        model = LanguageModel.load(out_dir / "model")
    else:
        schedule = (
            {"schedule": "plateau", "plateau_factor": 0.5, "plateau_patience": 0}
            if args.schedule == "plateau"
            else {"schedule": args.schedule, "warmup_steps": 200}
        )
        train_config = TrainConfig(
            max_epochs=args.epochs,
            max_minutes=args.minutes,
            lr=args.lr,
            optimizer="adamw",
            weight_decay=0.01 if args.model == "transformer" else 0.0,
            grad_clip_norm=1.0,
            **schedule,
            val_check_interval=0.25 if not args.quick else 1.0,
            out_dir=out_dir,
            progress_bar=False,
            log_every_n_steps=100,
        )
        start = time.perf_counter()
        model, result = train_language_model(data, config, train_config)
        seconds = time.perf_counter() - start
        steps = result.history[-1]["step"] if result.history else 0
        chars = steps * data.batch_size * data.bptt
        valid_bpc = min(r["val_bpc"] for r in result.history)
        test_text = shakespeare("test") if args.corpus == "shakespeare" else corpus_text(args.corpus, "test")
        test = model.evaluate_text(test_text[: 20_000 if args.quick else None], bptt=args.bptt)
        params = sum(p.numel() for p in model.parameters())
        print(
            f"{name}: {params:,} parameters, {seconds / 60:.1f} min, {steps} steps, "
            f"{chars / seconds:,.0f} training chars/s; best validation bpc {valid_bpc:.3f}, "
            f"test bpc {test['bpc']:.3f}"
        )
        results += [
            {"name": f"{name}/valid_bpc", "value": valid_bpc, "unit": "bits/char", "baseline": None},
            {"name": f"{name}/test_bpc", "value": test["bpc"], "unit": "bits/char", "baseline": None},
            {
                "name": f"{name}/train_chars_per_s",
                "value": chars / seconds,
                "unit": "chars/s",
                "baseline": None,
            },
            {"name": f"{name}/parameters", "value": params, "unit": "count", "baseline": None},
            {"name": f"{name}/train_minutes", "value": seconds / 60, "unit": "min", "baseline": None},
        ]
    if args.corpus == "essen_abc":
        for temperature in (float(t) for t in args.temperature.split(",")):
            results += abc_parse_rate(model, 3 if args.quick else args.tunes, temperature, name, out_dir)
    speed = time_generation(model, 50 if args.quick else args.sample_chars)
    print(
        f"{name}: generation {speed['chars_per_s']:.0f} chars/s, "
        f"{speed['latency_ms']:.2f} ms per character (B=1, median)"
    )
    if "latency_cached_ms" in speed:
        print(
            f"{name}: {speed['latency_cached_ms']:.2f} ms per character while the KV cache has room, "
            f"{speed['latency_sliding_ms']:.2f} ms once the {model.config.context}-position window slides"
        )
    print(model.sample(PRIME, max_tokens=300, temperature=0.8, seed=0))
    results += [
        {
            "name": f"{name}/generate_chars_per_s",
            "value": speed["chars_per_s"],
            "unit": "chars/s",
            "baseline": None,
        },
        {
            "name": f"{name}/generate_latency",
            "value": speed["latency_ms"],
            "unit": "ms/char",
            "baseline": None,
        },
    ]
    results += [
        {"name": f"{name}/generate_{key}", "value": speed[key], "unit": "ms/char", "baseline": None}
        for key in ("latency_cached_ms", "latency_sliding_ms")
        if key in speed
    ]
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
