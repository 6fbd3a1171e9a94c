"""seqlab's recurrent classifier on UCR/UEA problems, next to 1-NN DTW measured in the same run and published.

    python benchmarks/uea.py [--problems GunPoint BasicMotions] [--seeds 3] [--seed 0] [--threads 1]
                             [--json PATH]

For each problem (a ``uea:<Name>`` corpus, from the ``.ts`` files that sktime 1.2.0 ships):

* seqlab: a bidirectional LSTM classifier (``MODEL``: H=64, one layer, max pooling over time, per-feature
  standardisation) trained with Adam on the official TRAIN file less a seeded dev hold-out
  (``dev_fraction`` of each class), keeping the epoch with the lowest dev loss (see ``seqlab_accuracy``),
  and scored on the official TEST file. One run per seed (the seed sets the dev hold-out, the initial
  weights and the batch order); the table gives the mean and the min–max.
* 1-NN DTW, measured: the archive's baseline, on the whole official TRAIN → TEST split. Full warping
  window, squared Euclidean point cost, as the UCR archive defines DTW; multivariate series use the
  dependent DTW_D (one warping path for all D features, point cost summed over them) and, for the
  comparison with the UEA paper, the independent DTW_I (per-feature DTW distances added up).
  It is the plain O(T²) dynamic programme in numpy, vectorised over all (test, train) pairs
  (``dtw_distances``), because sktime's DTW needs numba, which seqlab does not install; each run first
  checks it against the textbook double loop (``dtw_reference``) on a few pairs.
* 1-NN DTW, published: the archive's figure for the same split (``PUBLISHED`` gives each source).

The ratio seqlab / DTW compares the seqlab mean with the DTW measured here.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from seqlab.data.classification import Example, uea
from seqlab.tasks import ClassifierConfig
from seqlab.tasks.classification_run import (
    ClassificationData,
    evaluate_classifier,
    train_classifier,
)
from seqlab.training import TrainConfig

UCR_2018 = (
    "Dau et al., 'The UCR Time Series Archive', arXiv:1810.07758 (2018), "
    "archive table: error of 1-NN DTW with full window (w=100%)"
)
UEA_2018 = (
    "Bagnall et al., 'The UEA multivariate time series classification archive, 2018', "
    "arXiv:1811.00075, table of benchmark accuracies (1-NN DTW_D / DTW_I, full window)"
)


@dataclass(frozen=True)
class Published:
    """The archive's 1-NN accuracies for one problem on its official TRAIN/TEST split."""

    dtw: float  # full-window DTW; DTW_D for multivariate problems
    dtw_i: float | None  # multivariate: independent DTW_I
    euclidean: float
    source: str


PUBLISHED = {
    "GunPoint": Published(dtw=1 - 0.093, dtw_i=None, euclidean=1 - 0.087, source=UCR_2018),
    "ItalyPowerDemand": Published(dtw=1 - 0.050, dtw_i=None, euclidean=1 - 0.045, source=UCR_2018),
    "BasicMotions": Published(dtw=0.975, dtw_i=1.000, euclidean=0.676, source=UEA_2018),
    # sktime ships JapaneseVowels with its variable lengths (7–29 steps), the 2018 UEA release padded it to
    # equal length: DTW_D measured here matches (0.949), DTW_I does not (0.949 here vs 0.959).
    "JapaneseVowels": Published(dtw=0.949, dtw_i=0.959, euclidean=0.924, source=UEA_2018),
}


# --------------------------------------------------------------------------------------------- DTW
def dtw_reference(a: np.ndarray, b: np.ndarray) -> float:
    """Full-window DTW_D between (Ta, D) and (Tb, D): the textbook double loop, squared Euclidean cost."""
    Ta, Tb = len(a), len(b)
    acc = np.full((Ta + 1, Tb + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, Ta + 1):
        for j in range(1, Tb + 1):
            cost = float(((a[i - 1] - b[j - 1]) ** 2).sum())
            acc[i, j] = cost + min(acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])
    return float(acc[Ta, Tb])


def _padded(series: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(N, T, D) float64 zero-padded to the longest series, and the (N,) lengths."""
    lengths = np.array([len(s) for s in series])
    out = np.zeros((len(series), lengths.max(), series[0].shape[1]))
    for n, s in enumerate(series):
        out[n, : len(s)] = s
    return out, lengths


def dtw_distances(
    queries: list[np.ndarray], references: list[np.ndarray], chunk: int = 2_000_000
) -> np.ndarray:
    """(Q, R) full-window DTW_D distances (squared Euclidean point cost) between (T, D) series.

    The same recurrence as ``dtw_reference``, run for all (query, reference) pairs at once: the Python
    loop goes over the cells (i, j) of the cost matrix, numpy over the pairs. Series of different lengths
    are zero-padded; a cell only depends on cells above and to its left, so the padding never reaches
    acc[len(query), len(reference)], which is read off when row len(query) is done.
    """
    Y, len_y = _padded(references)  # (R, Ty, D)
    R, Ty, _ = Y.shape
    out = np.empty((len(queries), R))
    step = max(1, chunk // (R * Ty))
    for start in range(0, len(queries), step):
        X, len_x = _padded(queries[start : start + step])  # (Q, Tx, D)
        Q, Tx, _ = X.shape
        prev = np.full((Q, R, Ty + 1), np.inf)  # acc[i - 1, :] for every pair
        prev[:, :, 0] = 0.0
        for i in range(1, Tx + 1):
            cost = ((X[:, None, i - 1, None, :] - Y[None, :, :, :]) ** 2).sum(-1)  # (Q, R, Ty)
            diag_up = np.minimum(
                prev[:, :, :-1], prev[:, :, 1:]
            )  # (Q, R, Ty): min(acc[i-1, j-1], acc[i-1, j])
            row = np.full((Q, R, Ty + 1), np.inf)
            for j in range(1, Ty + 1):
                row[:, :, j] = cost[:, :, j - 1] + np.minimum(diag_up[:, :, j - 1], row[:, :, j - 1])
            done = len_x == i
            if done.any():
                out[start : start + Q][done] = np.take_along_axis(row[done], len_y[None, :, None], axis=-1)[
                    ..., 0
                ]
            prev = row
    return out


def one_nn_accuracy(distances: np.ndarray, train_labels: list[str], test_labels: list[str]) -> float:
    """Accuracy of predicting each test series' label as its nearest training series' (first on ties)."""
    nearest = distances.argmin(axis=1)
    return float(np.mean([train_labels[k] == gold for k, gold in zip(nearest, test_labels)]))


def dtw_baseline(train: list[Example], test: list[Example]) -> dict[str, float]:
    """Measured 1-NN accuracies on the official split: DTW_D (= DTW for one feature) and, if D > 1, DTW_I."""
    x_train = [e.series.astype(np.float64) for e in train]
    x_test = [e.series.astype(np.float64) for e in test]
    y_train, y_test = [e.label for e in train], [e.label for e in test]
    fast = dtw_distances(x_test[:3], x_train[:4])
    slow = np.array([[dtw_reference(a, b) for b in x_train[:4]] for a in x_test[:3]])
    if not np.allclose(fast, slow, rtol=1e-9, atol=1e-9):
        raise RuntimeError(f"dtw_distances disagrees with dtw_reference: {fast} vs {slow}")
    result = {"dtw": one_nn_accuracy(dtw_distances(x_test, x_train), y_train, y_test)}
    if x_train[0].shape[1] > 1:
        per_feature = sum(
            dtw_distances([x[:, [d]] for x in x_test], [x[:, [d]] for x in x_train])
            for d in range(x_train[0].shape[1])
        )
        result["dtw_i"] = one_nn_accuracy(per_feature, y_train, y_test)
    return result


def official_train(name: str) -> list[Example]:
    """The whole official TRAIN file in its own order (``uea`` splits it into train and valid)."""
    examples = uea(name, "train") + uea(name, "valid")
    return sorted(examples, key=lambda e: int(e.origin.rsplit(":", 1)[1]))


# ------------------------------------------------------------------------------------------ seqlab
MODEL = ClassifierConfig(
    inputs="series",
    hidden_size=64,
    num_layers=1,
    bidirectional=True,
    recurrence="lstm",
    pooling="max",
    dropout=0.1,
    standardize=True,
)


def seqlab_accuracy(name: str, seed: int, args: argparse.Namespace) -> tuple[float, float, int]:
    """(test accuracy, training seconds, kept epoch) of one seqlab run.

    ``--select loss`` (the default) keeps the epoch with the lowest dev loss rather than the classifier's
    default, the best dev accuracy: a dev hold-out of 4–5 series reaches 100% within a few dozen epochs,
    so the first such epoch — far from converged — would be kept.
    """
    data = ClassificationData(
        corpus=f"uea:{name}", split_seed=seed, dev_fraction=args.dev_fraction, batch_size=args.batch_size
    )
    with tempfile.TemporaryDirectory() as out_dir:
        config = TrainConfig(
            max_epochs=args.epochs,
            optimizer="adam",
            lr=args.lr,
            seed=seed,
            monitor=args.select,
            out_dir=Path(out_dir),
            accelerator="cpu",
            progress_bar=False,
        )
        start = time.perf_counter()
        model, result = train_classifier(data, MODEL, config)
        seconds = time.perf_counter() - start
    pick = min if result.mode == "min" else max
    kept = pick(result.history, key=lambda h: h[f"val_{result.monitor}"])["epoch"]
    accuracy = evaluate_classifier(model.eval(), uea(name, "test"))["accuracy"]
    return accuracy, seconds, int(kept)


@dataclass(frozen=True)
class Row:
    """One problem's figures."""

    name: str
    accuracies: tuple[float, ...]  # seqlab, one per seed
    train_seconds: float  # seqlab, mean per run
    measured: dict[str, float]  # 1-NN accuracies measured here: dtw (DTW_D) and, if D > 1, dtw_i
    published: Published | None

    @property
    def mean(self) -> float:
        return statistics.fmean(self.accuracies)


def table(rows: list[Row]) -> str:
    """The results table: seqlab next to 1-NN DTW measured here and published."""
    head = (
        f"{'problem':16s} {'seqlab mean (min–max)':>23s} {'1-NN DTW here':>14s} {'published':>10s} "
        f"{'seqlab/DTW':>11s}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        spread = f"{r.mean:.3f} ({min(r.accuracies):.3f}–{max(r.accuracies):.3f})"
        pub = f"{r.published.dtw:.3f}" if r.published else "—"
        ratio = f"{r.mean / r.measured['dtw']:.3f}x"
        lines.append(f"{r.name:16s} {spread:>23s} {r.measured['dtw']:14.3f} {pub:>10s} {ratio:>11s}")
        if "dtw_i" in r.measured:
            pub_i = f"{r.published.dtw_i:.3f}" if r.published and r.published.dtw_i else "—"
            lines.append(f"{'  DTW_I':16s} {'':>23s} {r.measured['dtw_i']:14.3f} {pub_i:>10s}")
    lines.append("")
    lines.append("1-NN DTW: full window, squared Euclidean cost; multivariate rows DTW_D, then DTW_I.")
    for source in sorted({r.published.source for r in rows if r.published}):
        lines.append(f"published: {source}")
    seconds = ", ".join(f"{r.name} {r.train_seconds:.0f} s" for r in rows)
    lines.append(f"seqlab training time per run (mean over seeds): {seconds}")
    return "\n".join(lines)


def records(row: Row) -> list[dict]:
    """The ``--json`` entries of one problem."""
    out = [
        {
            "name": f"uea/{row.name}/seqlab-accuracy",
            "value": round(row.mean, 4),
            "unit": "test accuracy",
            "baseline": round(row.measured["dtw"], 4),
            "baseline_name": "1-NN DTW, full window"
            + (", DTW_D" if "dtw_i" in row.measured else "")
            + ", measured in the same run",
            "ratio": round(row.mean / row.measured["dtw"], 4),
            "min": round(min(row.accuracies), 4),
            "max": round(max(row.accuracies), 4),
            "per_seed": [round(a, 4) for a in row.accuracies],
            "train_seconds_mean": round(row.train_seconds, 1),
            "published_dtw": row.published.dtw if row.published else None,
        }
    ]
    for key in ("dtw", "dtw_i"):
        if key in row.measured:
            out.append(
                {
                    "name": f"uea/{row.name}/1nn-{key.replace('_', '-')}-accuracy",
                    "value": round(row.measured[key], 4),
                    "unit": "test accuracy",
                    "baseline": getattr(row.published, key) if row.published else None,
                    "baseline_name": row.published.source if row.published else "not published here",
                }
            )
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", nargs="+", default=["GunPoint", "BasicMotions"])
    parser.add_argument("--seeds", type=int, default=3, help="seqlab runs per problem: seed, seed+1, ...")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--dev-fraction", type=float, default=0.1)
    parser.add_argument("--select", choices=("loss", "accuracy"), default="loss", help="the dev figure")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    print(
        f"# threads={torch.get_num_threads()} torch={torch.__version__}; seqlab: {MODEL.recurrence} "
        f"H={MODEL.hidden_size} layers={MODEL.num_layers} bidirectional={MODEL.bidirectional} "
        f"pooling={MODEL.pooling} dropout={MODEL.dropout}; adam lr={args.lr} batch={args.batch_size} "
        f"epochs={args.epochs}, best dev {args.select} kept; dev_fraction={args.dev_fraction}; "
        f"seeds {args.seed}..{args.seed + args.seeds - 1}",
        flush=True,
    )
    rows = []
    for name in args.problems:
        train, test = official_train(name), uea(name, "test")
        start = time.perf_counter()
        measured = dtw_baseline(train, test)
        dtw_seconds = time.perf_counter() - start
        runs = [seqlab_accuracy(name, seed, args) for seed in range(args.seed, args.seed + args.seeds)]
        print(
            f"{name}: TRAIN {len(train)} TEST {len(test)} D={train[0].series.shape[1]}; 1-NN DTW took "
            f"{dtw_seconds:.1f} s; seqlab per seed: "
            + ", ".join(f"{a:.3f} (epoch {e} kept, {s:.0f} s)" for a, s, e in runs),
            flush=True,
        )
        rows.append(
            Row(
                name=name,
                accuracies=tuple(r[0] for r in runs),
                train_seconds=statistics.fmean(r[1] for r in runs),
                measured=measured,
                published=PUBLISHED.get(name),
            )
        )
    print()
    print(table(rows))
    results = [record for row in rows for record in records(row)]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
