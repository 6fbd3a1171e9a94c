"""Speed of seqlab's recurrences against torch.nn, measured in the same run.

    python benchmarks/recurrent.py [--allocator strict|default] [--device cpu|cuda] [--json PATH] [--quick]

Every line prints a ratio ``ours / baseline``; below 1.0 is faster than the baseline. Baselines:

- standard RNN/LSTM/GRU through seqlab  vs  torch.nn.RNN/LSTM/GRU (same weights, same kernel);
- peephole / coupled / layer-norm LSTM  vs  torch.nn.LSTM of the same size (no fused kernel exists for
  them, so the question is what the variant costs over the standard layer);
- GRU with reset_after=False            vs  torch.nn.GRU of the same size;
- streaming, µs per token               vs  torch.nn.LSTM called once per token.

Timings alternate ours/baseline call by call and report medians, so drift hits both sides alike.

``--allocator strict`` (the default) re-runs the script under glibc malloc settings that stop large
buffers from being returned to the OS and re-faulted on every call (see ../shared/NOTES.md); both sides
run under the same settings either way, and the JSON records which.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlab.recurrent import Recurrent

STRICT_MALLOC = {
    "MALLOC_MMAP_THRESHOLD_": "33554432",
    "MALLOC_TRIM_THRESHOLD_": "17179869184",
    "MALLOC_TOP_PAD_": "536870912",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--allocator",
        choices=["strict", "default"],
        default="strict",
        help="glibc malloc settings for both sides (CPU only; default: strict)",
    )
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--json", type=Path, help="write results as a JSON list to this path")
    p.add_argument("--quick", action="store_true", help="tiny sizes and few repeats (a smoke test)")
    p.add_argument("--repeats", type=int, default=None, help="timed calls per side (default 15; quick: 2)")
    p.add_argument("--only", default=None, help="run only cases whose name contains this text")
    return p.parse_args(argv)


def ensure_allocator(mode: str, device: str) -> str:
    """Re-exec under the strict malloc settings if asked and not yet set. Returns the mode in force."""
    if device != "cpu":
        return "n/a (cuda)"
    active = all(os.environ.get(k) == v for k, v in STRICT_MALLOC.items())
    if mode == "strict" and not active:
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **STRICT_MALLOC})
    if mode == "default":
        for k in STRICT_MALLOC:
            if k in os.environ:
                os.execve(
                    sys.executable,
                    [sys.executable, *sys.argv],
                    {k: v for k, v in os.environ.items() if k not in STRICT_MALLOC},
                )
    return mode


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def compare(
    ours: Callable[[], object], base: Callable[[], object], repeats: int, device: str, warmup: int = 3
) -> tuple[float, float]:
    """Median seconds per call of each, alternating the two."""
    for _ in range(warmup):
        ours()
        base()
    sync(device)
    t_ours, t_base = [], []
    for _ in range(repeats):
        for fn, sink in ((ours, t_ours), (base, t_base)):
            sync(device)
            start = time.perf_counter()
            fn()
            sync(device)
            sink.append(time.perf_counter() - start)
    return statistics.median(t_ours), statistics.median(t_base)


def train_step(module: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def run() -> None:
        module.zero_grad(set_to_none=True)
        out = module(x)[0]
        out.sum().backward()

    return run


def infer_step(module: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def run() -> None:
        with torch.inference_mode():
            module(x)

    return run


def torch_baseline(kind: str, D: int, H: int, num_layers: int = 1) -> nn.Module:
    cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind]
    return cls(D, H, num_layers=num_layers, batch_first=True)


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    allocator = ensure_allocator(args.allocator, args.device)
    device = torch.device(args.device)
    repeats = args.repeats or (2 if args.quick else 15)
    torch.manual_seed(0)

    if args.quick:
        shapes = [("B4-T8-D8-H16", 4, 8, 8, 16)]
        stream_hidden = 16
    else:
        shapes = [
            ("B32-T100-D128-H256", 32, 100, 128, 256),
            ("B32-T1000-D128-H256", 32, 1000, 128, 256),
            ("B32-T100-D128-H1024", 32, 100, 128, 1024),
        ]
        stream_hidden = 256
    variants = [  # (name, recurrence, options, baseline kind)
        ("lstm", "lstm", {}, "lstm"),
        ("gru", "gru", {}, "gru"),
        ("rnn", "rnn", {}, "rnn"),
        ("lstm-peephole", "lstm", {"peephole": True}, "lstm"),
        ("lstm-coupled", "lstm", {"coupled": True}, "lstm"),
        ("lstm-layer_norm", "lstm", {"layer_norm": True}, "lstm"),
        ("gru-reset_before", "gru", {"reset_after": False}, "gru"),
    ]
    baseline_names = {"lstm": "torch.nn.LSTM", "gru": "torch.nn.GRU", "rnn": "torch.nn.RNN"}
    print(
        f"# device={device} threads={torch.get_num_threads()} torch={torch.__version__} allocator={allocator}"
    )

    results: list[dict] = []

    def record(name: str, ours: float, base: float, unit: str, baseline: str) -> None:
        scale = 1e3 if unit == "ms" else 1e6
        ratio = ours / base
        print(
            f"{name:55s} ours {ours * scale:9.1f} {unit}   {baseline} {base * scale:9.1f} {unit}   "
            f"ours/{baseline} = {ratio:.2f}x",
            flush=True,
        )
        results.append(
            {
                "name": name,
                "value": round(ours * scale, 3),
                "unit": unit,
                "baseline": round(base * scale, 3),
                "baseline_name": baseline,
                "ratio": round(ratio, 4),
                "device": str(device),
                "allocator": allocator,
            }
        )

    # Streaming first: per-token timings are small and sensitive to what the process did before
    # (after the T=1000 cases both sides measured up to 2.5x slower here, in the same ratio or not).
    if not args.only or "stream" in args.only:
        stream_benchmark(stream_hidden, repeats, device, record)

    for shape_name, B, T, D, H in shapes:
        x = torch.randn(B, T, D, device=device)
        x_grad = x.clone().requires_grad_()
        for name, recurrence, options, kind in variants:
            is_variant = bool(options)
            if shape_name != shapes[0][0] and is_variant and "T1000" not in shape_name:
                continue  # the H=1024 shape is for the fused kernels; variants get T=1000 and the base shape
            case = f"{name}/{shape_name}"
            if args.only and args.only not in case:
                continue
            ours = Recurrent(recurrence, D, H, options=options).to(device)
            base = torch_baseline(kind, D, H).to(device)
            if not is_variant:
                ours.load_torch_state_dict(base.state_dict())
            n = max(2, repeats // 3) if T >= 1000 or H >= 1024 else repeats
            t_ours, t_base = compare(train_step(ours, x_grad), train_step(base, x_grad), n, args.device)
            record(f"{case}/train", t_ours, t_base, "ms", baseline_names[kind])
            t_ours, t_base = compare(infer_step(ours, x), infer_step(base, x), n, args.device)
            record(f"{case}/inference", t_ours, t_base, "ms", baseline_names[kind])

    # Variable lengths, training: what a tagger or classifier does every batch. The baseline is the
    # usual torch recipe, a bidirectional nn.LSTM/GRU on pack_padded_sequence.
    length_shapes = (
        [("B8-T12-D8-H16", 8, 12, 8, 16)]
        if args.quick
        else [
            ("B32-T50-D128-H256", 32, 50, 128, 256),
            ("B32-T200-D128-H256", 32, 200, 128, 256),
        ]
    )
    for shape_name, B, T, D, H in length_shapes:
        x_grad = torch.randn(B, T, D, device=device, requires_grad=True)
        spreads = {
            "bucketed": torch.randint(max(T - 3, 1), T + 1, (B,)),
            "random": torch.randint(1, T + 1, (B,)),
        }
        for kind in ("lstm", "gru"):
            for spread, lengths in spreads.items():
                case = f"{kind}-bidirectional-lengths-{spread}/{shape_name}"
                if args.only and args.only not in case:
                    continue
                base = nn.LSTM if kind == "lstm" else nn.GRU
                base = base(D, H, batch_first=True, bidirectional=True).to(device)
                ours = Recurrent(kind, D, H, bidirectional=True).to(device)
                ours.load_torch_state_dict(base.state_dict())
                t_ours, t_base = compare(
                    lengths_step(ours, x_grad, lengths, packed=False),
                    lengths_step(base, x_grad, lengths, packed=True),
                    repeats,
                    args.device,
                )
                record(f"{case}/train", t_ours, t_base, "ms", f"{baseline_names[kind]} (packed)")

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return results


def lengths_step(
    module: nn.Module, x: torch.Tensor, lengths: torch.Tensor, *, packed: bool
) -> Callable[[], None]:
    """fwd + bwd with variable lengths: seqlab's ``lengths=``, or torch's PackedSequence recipe."""

    def run() -> None:
        module.zero_grad(set_to_none=True)
        if packed:
            seq = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out = pad_packed_sequence(module(seq)[0], batch_first=True, total_length=x.shape[1])[0]
        else:
            out = module(x, lengths=lengths)[0]
        out.sum().backward()

    return run


def stream_benchmark(H: int, repeats: int, device: torch.device, record) -> None:
    """µs per token, B=1, a 2-layer LSTM fed one token at a time with the state carried."""
    D, tokens = H, 200
    base = nn.LSTM(D, H, num_layers=2, batch_first=True).to(device)
    ours = Recurrent.from_torch(base).to(device)
    xs = torch.randn(tokens, 1, D, device=device)

    def run_ours() -> None:
        with torch.inference_mode():
            state = None
            for x_t in xs:
                _, state = ours.step(x_t, state)

    def run_base() -> None:
        with torch.inference_mode():
            state = None
            for x_t in xs:
                _, state = base(x_t[:, None], state)

    t_ours, t_base = compare(run_ours, run_base, max(3, repeats // 3), str(device), warmup=1)
    record(
        f"lstm-stream/B1-2x{H}/per-token", t_ours / tokens, t_base / tokens, "us", "torch.nn.LSTM per token"
    )


if __name__ == "__main__":
    main()
