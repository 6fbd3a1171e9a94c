"""Pictures: attention heatmaps, score-against-length curves, confusion matrices, forecasts; PNG files by
matplotlib.

matplotlib is an optional dependency (``pip install 'seqlab[plot]'``); it is imported only when a picture
is drawn, with the non-interactive Agg backend, so this works on servers without a display.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["attention_heatmap", "confusion_heatmap", "curves", "forecast_plot"]


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ValueError("drawing pictures needs matplotlib: pip install 'seqlab[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Write to a temporary name, then rename: a failed draw never leaves half a PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        import matplotlib.pyplot as plt

        plt.close(fig)
    return path


def attention_heatmap(translation: Any, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Draw α (target tokens × source tokens) of one output (a ``seqlab.tasks.seq2seq.Translation``).

    Row j shows where the decoder looked while writing target token j (the last row is the end token
    when the output has one). Returns the PNG's path.
    """
    if translation.attention is None:
        raise ValueError(
            "attention_heatmap: this output has no attention weights (a model with attention none)"
        )
    plt = _pyplot()
    weights = translation.attention.detach().float().cpu().numpy()  # (L, S)
    L, S = weights.shape
    rows = [*translation.tokens, "</s>"][:L]
    fig, ax = plt.subplots(figsize=(max(3.0, 0.35 * S + 1.5), max(2.5, 0.3 * L + 1.2)))
    image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(S), [_shown(t) for t in translation.source_tokens], rotation=90, fontsize=8)
    ax.set_yticks(range(L), [_shown(t) for t in rows], fontsize=8)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    if title:
        ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="α")
    return _save(fig, path)


def curves(
    x: Sequence[float] | Sequence[str],
    series: Mapping[str, Sequence[float]],
    path: str | os.PathLike[str],
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    log_y: bool = False,
) -> Path:
    """One line per named series against ``x`` (e.g. accuracy against source length per model).

    ``x`` may be numbers, or labels (e.g. length buckets "5-6") placed at equal steps.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    labels = [str(v) for v in x] if any(isinstance(v, str) for v in x) else None
    positions = list(range(len(x))) if labels else list(x)
    for name, ys in series.items():
        ax.plot(positions[: len(ys)], list(ys), marker="o", markersize=3, label=name)
    if labels:
        ax.set_xticks(positions, labels)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log_y:
        ax.set_yscale("log")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def _shown(token: str) -> str:
    return "␣" if token == " " else token


def confusion_heatmap(
    matrix: Any, labels: Sequence[str], path: str | os.PathLike[str], *, title: str | None = None
) -> Path:
    """Draw a confusion matrix (K × K counts: row = gold label, column = predicted label) as a PNG.

    Each cell shows its count; its colour is the count's share of the row (the recall of the gold label on
    the diagonal), so a rare class reads as clearly as a frequent one. Returns the PNG's path.
    """
    import numpy as np

    counts = np.asarray(matrix)
    K = len(labels)
    if counts.shape != (K, K):
        raise ValueError(
            f"confusion_heatmap: expected a {K} × {K} matrix for {K} labels, got shape {counts.shape}"
        )
    plt = _pyplot()
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape, dtype=float), where=totals > 0)
    size = max(3.0, 0.55 * K + 1.8)
    fig, ax = plt.subplots(figsize=(size + 0.8, size))
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(K), [str(label) for label in labels], rotation=90 if K > 4 else 0, fontsize=8)
    ax.set_yticks(range(K), [str(label) for label in labels], fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    if K <= 30:
        for i in range(K):
            for j in range(K):
                color = "white" if shares[i, j] > 0.5 else "black"
                ax.text(j, i, str(int(counts[i, j])), ha="center", va="center", fontsize=7, color=color)
    if title:
        ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the gold row")
    return _save(fig, path)


def forecast_plot(
    timestamps: Any,
    values: Any,
    path: str | os.PathLike[str],
    *,
    forecasts: Sequence[tuple[str, Any, Any, Any, Any]],
    interval: float = 0.8,
    title: str | None = None,
) -> Path:
    """Draw actual values and forecasts, each with its prediction-interval band, as a PNG.

    ``forecasts``: (label, timestamps, point, lower, upper) per forecast (lower / upper None: no band);
    forecasts with the same label share a colour and one legend entry (e.g. a backtest's origins).
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    ax.plot(timestamps, values, color="black", linewidth=1.0, label="actual")
    colors: dict[str, Any] = {}
    for label, ts, point, lower, upper in forecasts:
        first = label not in colors
        color = colors.setdefault(label, f"C{len(colors)}")
        ax.plot(ts, point, color=color, linewidth=1.4, label=label if first else None)
        if lower is not None and upper is not None:
            band = f"{label} {round(interval * 100)}% interval"
            ax.fill_between(
                ts, lower, upper, color=color, alpha=0.2, linewidth=0, label=band if first else None
            )
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return _save(fig, path)
