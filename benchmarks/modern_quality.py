"""Every recurrence as a Shakespeare character LM: similar parameter budget, same wall-clock training time.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/modern_quality.py --recurrences lstm,gru,mingru \\
        --minutes 5 --json benchmarks/results/2026-11-27-cpu/modern/quality-a.json

One recurrent layer between a 64-wide character embedding and the output layer
(``seqlab.tasks.generation.LanguageModel``), its hidden size chosen so that the recurrent layer has about
the parameters of an LSTM(64, 256) (≈330k; ``benchmarks/modern.py``'s ``comparable_size``). Each model
trains for ``--minutes`` of wall-clock time on the Shakespeare plays (truncated BPTT, 128 characters × 32
rows, AdamW 2e-3), validating every tenth of an epoch on the held-out plays; the table reports the best
validation bits per character, the training throughput, and the parameters. ``transformer`` is the
causal Transformer baseline of ``benchmarks/generation.py`` at a similar total size. Run two processes
with disjoint ``--recurrences`` lists, one thread each, to use both cores of a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from modern import comparable_size  # noqa: E402
from seqlab.tasks.generation import LanguageModelConfig  # noqa: E402
from seqlab.tasks.generation_run import GenerationData, train_language_model  # noqa: E402
from seqlab.training import TrainConfig  # noqa: E402

E = 64
TARGET = 4 * 256 * (E + 256) + 8 * 256  # the parameters of one LSTM(64, 256) layer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recurrences", default="lstm,gru,rnn,mingru,minlstm,mlstm,slstm,mamba,rwkv,transformer")
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--out-dir", type=Path, default=ROOT / "runs/modern-quality")
    p.add_argument("--quick", action="store_true", help="tiny budget and data (a smoke test)")
    p.add_argument("--json", type=Path)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    data = GenerationData(corpus="shakespeare", bptt=128, batch_size=32)
    if args.quick:
        data = GenerationData(corpus="shakespeare", bptt=32, batch_size=4, max_train_chars=20_000)
    results = []
    for name in args.recurrences.split(","):
        if name == "transformer":
            config = LanguageModelConfig(
                architecture="transformer", embedding_dim=E, hidden_size=96, num_layers=3, num_heads=4,
                context=data.bptt, dropout=0.1,
            )  # fmt: skip
        else:
            size = comparable_size(name, E, TARGET)
            config = LanguageModelConfig(
                recurrence=name, embedding_dim=E, hidden_size=size, num_layers=1, dropout=0.1
            )
        train_config = TrainConfig(
            max_epochs=1000,
            max_minutes=args.minutes,
            optimizer="adamw",
            lr=2e-3,
            val_check_interval=0.1 if not args.quick else 1.0,
            out_dir=args.out_dir / name,
            progress_bar=False,
            seed=0,
        )
        start = time.perf_counter()
        model, result = train_language_model(data, config, train_config)
        seconds = time.perf_counter() - start
        steps = result.history[-1]["step"]
        body = sum(p.numel() for p in model.body.parameters())
        total = sum(p.numel() for p in model.parameters())
        bpc = min(r["val_bpc"] for r in result.history)
        speed = steps * data.batch_size * data.bptt / seconds
        print(
            f"{name:12s} H={config.hidden_size:4d} layer params {body:8,d} total {total:8,d}  "
            f"best valid bpc {bpc:.3f}  {speed:8,.0f} train chars/s  {steps} steps",
            flush=True,
        )
        sizes = {"hidden_size": config.hidden_size, "layer_params": body, "params": total}
        results += [
            {
                "name": f"quality-{name}/valid_bpc",
                "value": bpc,
                "unit": "bits/char",
                "baseline": None,
                **sizes,
            },
            {
                "name": f"quality-{name}/train_chars_per_s",
                "value": speed,
                "unit": "chars/s",
                "baseline": None,
            },
        ]
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
