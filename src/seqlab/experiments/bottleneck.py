"""The fixed-context bottleneck: Seq2Seq without attention vs with Bahdanau attention, by source length.

The chapter: an encoder that squeezes the whole source into one vector c makes long inputs hard, and
attention (c_t = Σ α_{t,i} h_i, a fresh context per output step) removes the bottleneck. Here both
models are trained on the same data with the same sizes, epochs and seed — only ``attention`` differs
(``none``, where c = [h→_S; h←_1] is fed at every step, vs ``bahdanau``) — and their held-out exact-match
accuracy and token error rate are reported per source length.

Data: English grapheme → phoneme (CMUdict, ``seqlab.data.cmudict_g2p``): real words of 1 to 20+ letters,
each a fixed amount of information per letter, so longer sources need more of the encoder's memory.

    python -m seqlab.experiments.bottleneck --setting small --out-dir runs/bottleneck
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from seqlab.data import Pair, cmudict_g2p
from seqlab.metrics import exact_match, phoneme_error_rate

__all__ = ["SETTINGS", "BottleneckResult", "LengthRow", "markdown", "plot", "run"]

log = logging.getLogger(__name__)

SETTINGS = {  # the same budget for both models; "tiny" only checks that everything runs
    "tiny": {"train_pairs": 300, "test_pairs": 200, "epochs": 1, "hidden_size": 16},
    "small": {"train_pairs": 20000, "test_pairs": 3000, "epochs": 4, "hidden_size": 128},
    "full": {"train_pairs": None, "test_pairs": None, "epochs": 10, "hidden_size": 256},
}
BUCKETS = ((1, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 99))  # source letters, inclusive


@dataclass(frozen=True)
class LengthRow:
    letters: str  # the bucket, e.g. "9-10"
    words: int
    accuracy: dict[str, float]  # by model name
    token_error_rate: dict[str, float]


@dataclass(frozen=True)
class BottleneckResult:
    rows: list[LengthRow]
    overall: dict[str, dict[str, float]]  # model → {"accuracy", "token_error_rate", "train_minutes"}
    figure: Path
    table: Path


def run(
    setting: str = "small",
    out_dir: str | Path = "runs/bottleneck",
    *,
    seed: int = 0,
    threads: int | None = None,
) -> BottleneckResult:
    """Train both models, score them by source length; writes bottleneck.png, .csv and .json."""
    import torch

    from seqlab.tasks.seq2seq import Seq2SeqConfig
    from seqlab.tasks.seq2seq_run import TransductionData, train_seq2seq
    from seqlab.training import TrainConfig

    if setting not in SETTINGS:
        raise ValueError(f"bottleneck: unknown setting {setting!r}; known: {', '.join(SETTINGS)}")
    if threads is not None:
        torch.set_num_threads(threads)
    s = SETTINGS[setting]
    out_dir = Path(out_dir)
    test = cmudict_g2p("test", seed=seed)
    if s["test_pairs"] is not None:
        test = test[: s["test_pairs"]]
    data = TransductionData(corpus="cmudict_g2p", max_train_pairs=s["train_pairs"], split_seed=seed)
    models, overall, hyps = {}, {}, {}
    for attention in ("none", "bahdanau"):
        config = Seq2SeqConfig(
            source_tokens="char",
            target_tokens="word",
            attention=attention,
            hidden_size=s["hidden_size"],
            dropout=0.2,
        )
        train_config = TrainConfig(
            max_epochs=s["epochs"],
            lr=2e-3,
            seed=seed,
            out_dir=out_dir / attention,
            progress_bar=False,
            log_every_n_steps=100,
        )
        start = time.perf_counter()
        model, _ = train_seq2seq(data, config, train_config)
        minutes = (time.perf_counter() - start) / 60
        models[attention] = model
        hyps[attention] = [out[0].text for out in model.translate([p.source for p in test])]
        overall[attention] = {**_scores(hyps[attention], test), "train_minutes": round(minutes, 2)}
    rows = []
    for low, high in BUCKETS:
        idx = [i for i, p in enumerate(test) if low <= len(p.source) <= high]
        if not idx:
            continue
        bucket = [test[i] for i in idx]
        scores = {name: _scores([hyps[name][i] for i in idx], bucket) for name in models}
        rows.append(
            LengthRow(
                f"{low}-{high}" if high < 99 else f"{low}+",
                len(idx),
                {name: sc["accuracy"] for name, sc in scores.items()},
                {name: sc["token_error_rate"] for name, sc in scores.items()},
            )
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    table = out_dir / "bottleneck.csv"
    with open(table, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["letters", "words", *(f"accuracy_{m}" for m in models), *(f"per_{m}" for m in models)]
        )
        for r in rows:
            writer.writerow(
                [r.letters, r.words, *(f"{r.accuracy[m]:.4f}" for m in models)]
                + [f"{r.token_error_rate[m]:.4f}" for m in models]
            )
    figure = plot(rows, out_dir / "bottleneck.png", setting)
    (out_dir / "bottleneck.json").write_text(json.dumps({"setting": setting, "overall": overall}, indent=2))
    return BottleneckResult(rows, overall, figure, table)


def plot(rows: Sequence[LengthRow], path: str | Path, setting: str) -> Path:
    """Word accuracy against source length, one line per model."""
    from seqlab.plots import curves

    models = list(rows[0].accuracy)
    return curves(
        [r.letters for r in rows],
        {f"attention {m}": [r.accuracy[m] for r in rows] for m in models},
        path,
        xlabel="source length (letters)",
        ylabel="word accuracy (exact match)",
        title=f"CMUdict G2P, same budget ({setting}): fixed context vs attention",
    )


def _scores(hyps: Sequence[str], pairs: Sequence[Pair]) -> dict[str, float]:
    refs = [p.references for p in pairs]
    return {
        "accuracy": exact_match(hyps, refs),
        "token_error_rate": phoneme_error_rate(
            [h.split() for h in hyps], [[r.split() for r in rs] for rs in refs]
        ),
    }


def markdown(result: BottleneckResult) -> str:
    """The per-length table as Markdown."""
    models = list(result.overall)
    head = "| letters | words | " + " | ".join(f"accuracy {m}" for m in models) + " | "
    head += " | ".join(f"PER {m}" for m in models) + " |"
    lines = [head, "|" + "---|" * (2 + 2 * len(models))]
    for r in result.rows:
        cells = [f"{r.accuracy[m]:.3f}" for m in models] + [f"{r.token_error_rate[m]:.3f}" for m in models]
        lines.append(f"| {r.letters} | {r.words} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m seqlab.experiments.bottleneck", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="small")
    parser.add_argument("--out-dir", type=Path, default=Path("runs/bottleneck"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run(args.setting, args.out_dir, seed=args.seed, threads=args.threads)
    print(markdown(result))
    print(json.dumps(result.overall))
    print(f"figure: {result.figure}\ntable: {result.table}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
