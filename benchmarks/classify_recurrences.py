"""The chapter's LSTM-vs-GRU table, checked with numbers: one classifier, split and budget per recurrence.

    python benchmarks/classify_recurrences.py [--corpus rotten_tomatoes] [--epochs 6] [--json PATH]

Every recurrence gets the same data (the corpus's seeded split), the same classifier around it (embedding,
1-layer bidirectional recurrence, pooling, dropout, linear), the same optimizer, learning rate, epochs and
seed. The best dev epoch is scored on test. Reported per recurrence: test accuracy and macro-F1 (and the
best dev accuracy), the recurrence's own parameters and the whole model's, seconds per epoch (training
plus validation, wall clock, one run after the other — sensitive to whatever else the machine does), and
a steadier speed figure: milliseconds per training step (forward + backward + Adam) on the same 20
training batches, measured after training with the models taking turns, median of the rounds. Ratios
against the LSTM row, as the chapter states its claim ("GRU: ~25% fewer parameters, faster").

Recurrences are given as ``name`` or ``name:option=value,...``, e.g. ``gru:reset_after=False`` (the textbook
GRU) or ``lstm:peephole=True``.
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from seqlab.tasks import ClassifierConfig
from seqlab.tasks.classification_run import (
    ClassificationData,
    corpus_examples,
    evaluate_classifier,
    train_classifier,
)
from seqlab.training import TrainConfig

DEFAULT = "rnn,gru,gru:reset_after=False,lstm,lstm:peephole=True,lstm:coupled=True"


def parse_recurrence(spec: str) -> tuple[str, dict[str, object]]:
    """``"gru:reset_after=False"`` → ``("gru", {"reset_after": False})``."""
    name, _, rest = spec.partition(":")
    options = {}
    for item in filter(None, rest.split(";")):
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--recurrences: expected option=value in {spec!r}, got {item!r}")
        options[key.strip()] = ast.literal_eval(value.strip())
    return name.strip(), options


def step_times(models: list, examples: list, rounds: int, batches: int = 20) -> list[float]:
    """Median ms per training step (forward, backward, Adam) of each model on the same batches, in turns."""
    examples = sorted(examples, key=lambda e: len(e.text))  # a spread of lengths, like an epoch's buckets
    stride = max(len(examples) // batches, 1)
    picked = [examples[k * stride : k * stride + 32] for k in range(batches)]
    plans = []
    for model in models:
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
        plans.append((model, optimizer, [model.collate(model.encode(b)) for b in picked]))
    times: list[list[float]] = [[] for _ in models]
    for _ in range(rounds + 1):  # the first round warms up
        for k, (model, optimizer, batched) in enumerate(plans):
            start = time.perf_counter()
            for batch in batched:
                optimizer.zero_grad()
                model.training_loss(batch).backward()
                optimizer.step()
            times[k].append((time.perf_counter() - start) * 1000 / len(batched))
    return [statistics.median(t[1:]) for t in times]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="rotten_tomatoes")
    parser.add_argument(
        "--recurrences",
        default=DEFAULT,
        help=f"comma-separated; options after a colon, separated by ';' (default: {DEFAULT})",
    )
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--max-train-examples", type=int, default=None, help="a seeded subset (quick runs)")
    parser.add_argument("--embedding-dim", type=int, default=100)
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--pooling", default="max")
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--word-dropout", type=float, default=0.2)
    parser.add_argument("--embedding-dropout", type=float, default=0.3)
    parser.add_argument("--min-freq", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.002)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=7, help="timing rounds (models take turns)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    data = ClassificationData(corpus=args.corpus, max_train_examples=args.max_train_examples)
    test = corpus_examples(data, "test")
    rows, models = [], []
    for spec in args.recurrences.split(","):
        name, options = parse_recurrence(spec)
        config = ClassifierConfig(
            tokens="char" if args.corpus == "chinese_reviews" else "word",
            min_freq=args.min_freq,
            embedding_dim=args.embedding_dim,
            hidden_size=args.hidden_size,
            num_layers=1,
            recurrence=name,
            recurrence_options=options,
            dropout=args.dropout,
            word_dropout=args.word_dropout,
            embedding_dropout=args.embedding_dropout,
            pooling=args.pooling,
        )
        with tempfile.TemporaryDirectory() as out:
            train_config = TrainConfig(
                max_epochs=args.epochs, lr=args.lr, seed=args.seed, out_dir=out, progress_bar=False
            )
            start = time.perf_counter()
            model, result = train_classifier(data, config, train_config)
            seconds = time.perf_counter() - start
        scores = evaluate_classifier(model.eval(), test)
        row = {
            "recurrence": spec,
            "test_accuracy": scores["accuracy"],
            "test_macro_f1": scores["macro_f1"],
            "best_dev_accuracy": result.best_score,
            "recurrence_parameters": sum(p.numel() for p in model.encoder.parameters()),
            "parameters": sum(p.numel() for p in model.parameters()),
            "seconds_per_epoch": seconds / result.epochs_run,
        }
        rows.append(row)
        models.append(model)
        print(json.dumps(row), flush=True)

    for row, ms in zip(rows, step_times(models, corpus_examples(data, "train"), args.rounds)):
        row["ms_per_step"] = ms

    lstm = next((r for r in rows if r["recurrence"] == "lstm"), None)
    print()
    print("| recurrence | test accuracy | macro-F1 | best dev | recurrence parameters | vs LSTM", end="")
    print(" | s / epoch | ms / step | vs LSTM |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        p_ratio = f"{r['recurrence_parameters'] / lstm['recurrence_parameters']:.2f}x" if lstm else ""
        t_ratio = f"{r['ms_per_step'] / lstm['ms_per_step']:.2f}x" if lstm else ""
        print(
            f"| `{r['recurrence']}` | {r['test_accuracy']:.3f} | {r['test_macro_f1']:.3f} | "
            f"{r['best_dev_accuracy']:.3f} | {r['recurrence_parameters']:,} | {p_ratio} | "
            f"{r['seconds_per_epoch']:.1f} | {r['ms_per_step']:.1f} | {t_ratio} |"
        )
    if args.json:
        records = []
        for r in rows:
            tag = f"{args.corpus} {r['recurrence']}"
            records += [
                {
                    "name": f"{tag} test accuracy",
                    "value": r["test_accuracy"],
                    "unit": "accuracy",
                    "baseline": None,
                },
                {
                    "name": f"{tag} recurrence parameters",
                    "value": r["recurrence_parameters"],
                    "unit": "parameters",
                    "baseline": lstm["recurrence_parameters"] if lstm else None,
                },
                {
                    "name": f"{tag} seconds per epoch",
                    "value": r["seconds_per_epoch"],
                    "unit": "s",
                    "baseline": None,
                },
                {
                    "name": f"{tag} training step",
                    "value": r["ms_per_step"],
                    "unit": "ms",
                    "baseline": lstm["ms_per_step"] if lstm else None,
                },
            ]
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(records, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
