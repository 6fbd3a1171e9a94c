"""What every experiment returns, and the parts they share.

An experiment module exposes ``NAME``, ``TITLE``, ``SETTINGS`` (``"tiny"`` for the tests, ``"small"`` for
the tour, ``"full"`` for the published numbers), ``MINUTES`` (its measured run time per setting on a
2-core CPU, which the tour uses to fit a budget) and ``run(setting, out_dir, *, seed) -> ExperimentResult``.
The result says, claim by claim, what the chapter says, what was measured here, and whether it held.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "ExperimentResult",
    "Finding",
    "FitLog",
    "Table",
    "environment",
    "experiment_main",
    "fit",
    "fresh_checkpoints",
    "pick_setting",
    "quiet_logs",
    "seed_everything",
    "time_in_turn",
    "trailing_mean",
    "window_loss",
]


@dataclass(frozen=True)
class Finding:
    """One claim of the chapter, checked."""

    claim: str  # what the chapter says, one sentence
    measured: str  # what this run measured, with the numbers
    held: bool | None  # None: this setting is too small to tell


@dataclass(frozen=True)
class Table:
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]  # cells already formatted

    def __post_init__(self) -> None:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.header):
                raise ValueError(
                    f"Table {self.caption!r}: row {i} has {len(row)} cells, the header {len(self.header)}"
                )

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.header) + " |", "|" + "---|" * len(self.header)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


@dataclass(frozen=True)
class ExperimentResult:
    name: str  # the module name, e.g. "gradients"
    title: str
    setting: str
    seed: int
    findings: tuple[Finding, ...]
    tables: tuple[Table, ...] = ()
    figures: tuple[Path, ...] = ()  # PNG files
    settings: Mapping[str, Any] = field(default_factory=dict)  # the resolved setting
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["figures"] = [str(p) for p in self.figures]
        out["settings"] = dict(self.settings)
        return out

    def markdown(self) -> str:
        """Findings, then tables: what ``python -m seqlab.experiments.<name>`` prints."""
        mark = {True: "held", False: "did not hold", None: "not decided at this setting"}
        lines = [f"## {self.title} (setting {self.setting}, seed {self.seed}, {self.seconds:.0f} s)", ""]
        for f in self.findings:
            lines += [f"- **{mark[f.held]}**: {f.claim}", f"  - measured: {f.measured}"]
        for t in self.tables:
            lines += ["", f"{t.caption}", "", t.markdown()]
        lines += ["", *(f"figure: {p}" for p in self.figures)]
        return "\n".join(lines)

    def save(self, out_dir: str | os.PathLike[str]) -> Path:
        """``<out_dir>/<name>.json``: the result and the environment it ran in, whole or not at all."""
        path = Path(out_dir) / f"{self.name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        record = {**self.to_dict(), "environment": environment()}
        tmp.write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, path)
        return path


def pick_setting(settings: Mapping[str, Mapping[str, Any]], setting: str, who: str) -> dict[str, Any]:
    if setting not in settings:
        raise ValueError(f"{who}: unknown setting {setting!r}; known: {', '.join(settings)}")
    return dict(settings[setting])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass


def environment() -> dict[str, Any]:
    """Versions and hardware, for the record next to every figure."""
    import importlib.metadata as md

    def version(name: str) -> str:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return "not installed"

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "seqlab": version("seqlab"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": version("numpy"),
        "lightning": version("lightning"),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
    }


@dataclass
class FitLog:
    losses: list[float] = field(default_factory=list)  # one per step
    grad_norms: list[float] = field(default_factory=list)  # before clipping, one per step
    seconds: float = 0.0

    def tail(self, n: int = 50) -> float:
        """Mean loss of the last n steps: less noisy than the last one."""
        last = self.losses[-n:]
        return sum(last) / max(len(last), 1)


def window_loss(
    model: torch.nn.Module, ids: Tensor, window: int, batch_size: int, generator: torch.Generator
) -> Callable[[int], Tensor]:
    """A ``fit`` loss for a language model on a token stream ``ids`` (N,): each step, next-token
    cross-entropy on ``batch_size`` windows of ``window`` + 1 tokens starting at random places."""
    offsets = torch.arange(window + 1)

    def loss_of_step(step: int) -> Tensor:
        starts = torch.randint(0, len(ids) - window - 1, (batch_size,), generator=generator)
        chunk = ids[starts[:, None] + offsets]  # (B, L + 1)
        logits, _ = model(chunk[:, :-1])  # (B, L, V)
        return torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1)
        )

    return loss_of_step


def trailing_mean(values: Sequence[float], window: int) -> list[float]:
    """The mean of the last ``window`` values (fewer at the start) at every position: smoothed curves."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"trailing_mean: expected window ≥ 1, got {window!r}")
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def fit(
    loss_of_step: Callable[[int], Tensor],
    parameters: Iterable[torch.nn.Parameter],
    *,
    steps: int,
    lr: float,
    clip: float | None = None,
    max_seconds: float | None = None,
    stop: Callable[[FitLog], bool] | None = None,
) -> FitLog:
    """Adam on a loss computed fresh each step (the synthetic tasks draw a new batch every step).

    ``clip`` rescales the gradient to that global norm when it is larger (``clip_grad_norm_``); the
    norm before clipping is logged either way, which is what the exploding-gradient plots show.
    Stops early after ``max_seconds``, or when ``stop(log)`` says so (e.g. once a task is solved). This
    small loop is for the experiments on synthetic data; models
    trained on corpora go through ``seqlab.training``.
    """
    params = [p for p in parameters if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr)
    log = FitLog()
    start = time.perf_counter()
    for step in range(steps):
        loss = loss_of_step(step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, clip if clip is not None else float("inf"))
        optimizer.step()
        log.losses.append(loss.item())
        log.grad_norms.append(norm.item())
        if max_seconds is not None and time.perf_counter() - start > max_seconds:
            break
        if stop is not None and stop(log):
            break
    log.seconds = time.perf_counter() - start
    return log


def time_in_turn(fns: Mapping[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Seconds of each call, the functions called in turn (round-robin) ``repeats`` times after one
    warm-up each, so a slow spell of a shared machine hits them all alike."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"time_in_turn: expected repeats ≥ 1, got {repeats!r}")
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def fresh_checkpoints(run_dir: str | os.PathLike[str]) -> Path:
    """Drop the checkpoints a previous run of this experiment left in ``run_dir``: an experiment is a
    fresh run each time, never a resumed one (the training engine refuses to overwrite them silently)."""
    run_dir = Path(run_dir)
    shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
    return run_dir


def quiet_logs() -> None:
    """Warnings and errors only: an experiment prints its own summary (Lightning logs at INFO)."""
    logging.basicConfig(level=logging.WARNING)
    for name in ("", "lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)


def experiment_main(
    run: Callable[..., ExperimentResult],
    settings: Sequence[str],
    doc: str | None,
    prog: str,
    argv: list[str] | None = None,
) -> int:
    """The command line every experiment module shares: ``--setting --out-dir --seed --threads``."""
    parser = argparse.ArgumentParser(prog=prog, description=(doc or "").split("\n\n")[0])
    parser.add_argument("--setting", choices=list(settings), default="small")
    parser.add_argument("--out-dir", type=Path, default=None, help="default: runs/<experiment>")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args(argv)
    quiet_logs()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    name = prog.rsplit(".", 1)[-1]
    out_dir = args.out_dir or Path("runs") / name
    result = run(args.setting, out_dir, seed=args.seed)
    result.save(out_dir)
    print(result.markdown())
    return 0
