"""Bach chorales as piano rolls: held-out frame NLL of LSTM and GRU models against the published JSB figures.

For each recurrence: train a ``PianoRollModel`` on the chorale split of ``seqlab.data.music.bach_chorales``
(music21's 371 chorales, four voices, hashed by chorale into train/valid/test), keep the epoch with the
lowest valid NLL, and report valid and test NLL in nats per frame next to

- the published JSB Chorales test NLL of Chung et al. (2014), Table 2: GRU 8.54, LSTM 8.67;
- a baseline measured in the same run: every note independent with its training frequency.

Sizes default to ≈ 20k parameters (LSTM 36 units, GRU 46), the per-unit-type budget of Chung et al.'s
music experiments as we read their Table 1. One sampled chorale per recurrence goes to ``--figures`` as
MIDI and PNG.

    OMP_NUM_THREADS=1 python benchmarks/chorales.py \\
        --json benchmarks/results/2026-11-27-cpu/chorales/chorales.json --figures docs/figures

How this differs from JSB (so the numbers are near, not equal, to the published ones): our chorales are
music21's Riemenschneider set (370 with four voices) split by a hash of the name (208 / 82 / 80), not
Allan & Williams' 382 files split 229 / 76 / 77 by Boulanger-Lewandowski et al.; our rolls are read from
the MusicXML scores (JSB from MIDI files), with the same quarter-note sampling at ``--step 1``; we train
with Adam and early stopping on valid NLL, not Chung et al.'s RMSProp with weight noise; and our first
frame is predicted from a start input (it is counted, as every frame is).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path

from _results import write_results  # benchmarks/, the script's own folder
from seqlab.data.music import bach_chorales
from seqlab.tasks.chorales import PianoRollConfig, train_chorales, write_sample
from seqlab.training import TrainConfig

PUBLISHED = {"gru": 8.54, "lstm": 8.67}  # Chung et al. 2014, Table 2, JSB Chorales test NLL (nats/frame)
SIZES = {"lstm": 36, "gru": 46, "rnn": 100}  # ≈ 20k parameters each with 89 inputs and 88 outputs


def run(recurrence: str, args: argparse.Namespace) -> tuple[list[dict], str]:
    config = PianoRollConfig(
        recurrence=recurrence,
        hidden_size=args.hidden_size or SIZES.get(recurrence, 64),
        num_layers=args.num_layers,
        dropout=args.dropout,
        step=args.step,
    )
    train_config = TrainConfig(
        max_epochs=args.epochs,
        lr=args.lr,
        patience=args.patience,
        progress_bar=False,
        out_dir=args.runs / f"{recurrence}-step{args.step:g}-seed{args.seed}",
        log_every_n_steps=1000,
        seed=args.seed,
    )
    start = time.perf_counter()
    result = train_chorales(config, train_config, batch_size=args.batch_size)
    seconds = time.perf_counter() - start
    s, c = result.scores, result.counts
    params = sum(p.numel() for p in result.model.parameters())
    name = f"chorales/step{args.step:g}/{recurrence}"
    published = PUBLISHED.get(recurrence)
    lines = [
        f"== {recurrence.upper()} {config.hidden_size} units ({params} parameters), step {args.step:g} "
        f"quarter notes: {c['train_chorales']}/{c['valid_chorales']}/{c['test_chorales']} chorales "
        f"({c['train_frames']}/{c['valid_frames']}/{c['test_frames']} frames), {c['skipped']} skipped",
        f"epochs {result.result.epochs_run} (best valid at epoch "
        f"{_best_epoch(result.result.history)}), {seconds:.0f} s",
        f"valid NLL {s['valid_nll']:.3f}   test NLL {s['test_nll']:.3f}   "
        f"baseline (note frequencies) {s['baseline_test_nll']:.3f} nats/frame",
        f"test/baseline = {s['test_nll'] / s['baseline_test_nll']:.3f}x",
    ]
    if published is not None:
        lines.append(
            f"test/published JSB ({published}) = {s['test_nll'] / published:.3f}x "
            "(different split and encoding: see the module docstring)"
        )
    rows = [
        {"name": f"{name}/test_nll", "value": s["test_nll"], "unit": "nats/frame", "baseline": published},
        {"name": f"{name}/valid_nll", "value": s["valid_nll"], "unit": "nats/frame", "baseline": None},
        {
            "name": f"{name}/test_nll_vs_note_frequencies",
            "value": s["test_nll"] / s["baseline_test_nll"],
            "unit": "x",
            "baseline": s["baseline_test_nll"],
        },
        {"name": f"{name}/seconds", "value": seconds, "unit": "s", "baseline": None},
    ]
    if args.figures is not None:
        test = bach_chorales("test", step=args.step)
        prime = test.rolls[0][: args.prime]
        stem = args.figures / f"chorale-sample-{recurrence}"
        try:
            midi, png = write_sample(result.model, stem, args.sample_frames, prime=prime, seed=args.seed)
            lines.append(f"sample after the first {args.prime} frames of {test.names[0]}: {midi}, {png}")
        except ValueError as err:  # matplotlib missing
            lines.append(f"(no sample: {err})")
    return rows, "\n".join(lines)


def _best_epoch(history: list[dict]) -> int:
    best = min(history, key=lambda h: h["val_nll"])
    return int(best["epoch"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recurrences", default="lstm,gru")
    parser.add_argument("--step", type=float, default=1.0, help="quarter notes per frame (JSB: 1)")
    parser.add_argument("--hidden-size", type=int, default=None, help="default: ≈20k parameters")
    parser.add_argument("--num-layers", type=int, default=1)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--patience", type=int, default=20)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prime", type=int, default=8, help="frames of a test chorale before the sample")
    parser.add_argument("--sample-frames", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="3 epochs, to check the script runs")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--figures", type=Path, default=None, help="write sample MIDI + PNG here")
    parser.add_argument("--runs", type=Path, default=None, help="training runs (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = 3
    logging.disable(logging.WARNING)  # Lightning's per-run banners
    warnings.filterwarnings("ignore", module="lightning")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="seqlab-chorales-") as tmp:
        args.runs = args.runs or Path(tmp)
        for recurrence in [r.strip() for r in args.recurrences.split(",") if r.strip()]:
            new, text = run(recurrence, args)
            rows += new
            print(text + "\n", flush=True)
    write_results(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
