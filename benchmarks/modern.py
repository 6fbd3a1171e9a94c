"""Speed of the "recurrent revival" (minGRU/minLSTM, linear scans, …) against named baselines, same run.

    python benchmarks/modern.py [--only mingru,scans,streaming,lengths] [--allocator strict|default]
                                [--device cpu|cuda] [--json PATH] [--quick] [--repeats N]

Sections:

- ``mingru``: one minGRU layer, fwd+bwd and inference, B=16, D=H=256, T=1024, against
  ``torch.nn.GRU(256, 256)`` and — when ``minGRU_pytorch`` is importable — against minGRU-pytorch's
  ``minGRU(256)`` with the same weights (``MinGRU.from_mingru_pytorch``), printing max |ours − theirs|.
  minGRU-pytorch is not a seqlab dependency; install it into a separate environment to run this part.
- ``scans``: every ``linear_scan`` method, fwd+bwd, B=16, S=256, T = 256, 1024, 4096, relative to the
  sequential scan, and each method's float32 error against a float64 loop (max |h − h_ref| / max |h_ref|).
- ``streaming``: every registered recurrence (of rnn, lstm, gru, mingru, minlstm, mlstm, slstm, mamba,
  rwkv) fed one token at a time through ``.step`` at B=1, D=128, each with the hidden size that gives it
  about the parameters of an LSTM(128, 128) (``comparable_size``): µs per token against
  ``torch.nn.LSTM(128, 128)`` called per token, plus the state size in bytes and the parameter count.
- ``lengths``: the same layers, fwd+bwd at T = 256, 1024, 4096 (B=8, D=128), against
  ``torch.nn.LSTM(128, 128)`` at the same T: how the cost grows with the sequence length. mLSTM runs
  in both its parallel (O(T²)) and chunkwise (O(T)) forms.

Every line prints ``ours/<baseline> = r x``; below 1.0 is faster. Contenders alternate call by call and
medians are reported, so drift (and other processes on a shared machine) hits all sides alike. Run with
OMP_NUM_THREADS=1 on a shared machine and say so next to the figures. ``--allocator`` as in
``benchmarks/recurrent.py``.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from recurrent import ensure_allocator, sync
from seqlab.recurrent import RECURRENCES, build_recurrence, register_recurrence
from seqlab.recurrent.mingru import MinGRU, MinLSTM
from seqlab.recurrent.scan import SCAN_METHODS, auto_scan_method, linear_scan, linear_scan_reference

SECTIONS = ("mingru", "scans", "streaming", "lengths")
RECURRENCE_NAMES = ("rnn", "lstm", "gru", "mingru", "minlstm", "mlstm", "slstm", "mamba", "rwkv")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--allocator",
        choices=["strict", "default"],
        default="strict",
        help="glibc malloc settings for every side (CPU only; default: strict)",
    )
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--json", type=Path, help="write results as a JSON list to this path")
    p.add_argument("--quick", action="store_true", help="tiny sizes and few repeats (a smoke test)")
    p.add_argument(
        "--repeats", type=int, default=None, help="timed calls per contender (default 9; quick: 2)"
    )
    p.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated sections, of: {', '.join(SECTIONS)}"
    )
    args = p.parse_args(argv)
    args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(args.sections) - set(SECTIONS))
    if unknown:
        p.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    return args


def compare_many(fns: list[Callable[[], object]], repeats: int, device: str, warmup: int = 1) -> list[float]:
    """Median seconds per call of each function, calling them in turn (round-robin) ``repeats`` times."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, sink in zip(fns, times):
            sync(device)
            start = time.perf_counter()
            fn()
            sync(device)
            sink.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def train_step(forward: Callable[[], torch.Tensor], module: nn.Module) -> Callable[[], None]:
    """fwd + bwd of ``forward()`` (which returns the output tensor), gradients cleared first."""

    def run() -> None:
        module.zero_grad(set_to_none=True)
        forward().sum().backward()

    return run


def infer_step(forward: Callable[[], torch.Tensor]) -> Callable[[], None]:
    def run() -> None:
        with torch.inference_mode():
            forward()

    return run


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    allocator = ensure_allocator(args.allocator, args.device)
    device = torch.device(args.device)
    repeats = args.repeats or (2 if args.quick else 9)
    torch.manual_seed(0)
    print(
        f"# device={device} threads={torch.get_num_threads()} torch={torch.__version__} allocator={allocator}"
    )
    results: list[dict] = []

    def record(name: str, value: float, base: float | None, unit: str, baseline: str | None = None) -> None:
        """One figure; with a ``base`` (the baseline's figure, same run) also the ratio ours/baseline."""
        scale = {"ms": 1e3, "us": 1e6}.get(unit, 1.0)
        line = f"{name:52s} ours {value * scale:10.4g} {unit:6s}"
        entry = {"name": name, "value": round(value * scale, 6), "unit": unit, "baseline": None}
        if base is not None:
            ratio = value / base
            line += f" {baseline} {base * scale:10.4g} {unit:6s} ours/{baseline} = {ratio:.2f}x"
            entry.update(baseline=round(base * scale, 6), baseline_name=baseline, ratio=round(ratio, 4))
        print(line, flush=True)
        results.append({**entry, "device": str(device), "allocator": allocator})

    if "mingru" in args.sections:
        mingru_benchmark(args, device, repeats, record)
    if "scans" in args.sections:
        scans_benchmark(args, device, repeats, record)
    names = available_recurrences()
    if "streaming" in args.sections:
        streaming_benchmark(args, device, repeats, names, record)
    if "lengths" in args.sections:
        lengths_benchmark(args, device, repeats, names, record)

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return results


# ------------------------------------------------------------------------------------------- sections
def mingru_benchmark(args, device: torch.device, repeats: int, record) -> None:
    """minGRU layer vs torch.nn.GRU, and vs minGRU-pytorch with the same weights."""
    B, T, D, H = (4, 32, 16, 16) if args.quick else (16, 1024, 256, 256)
    shape = f"B{B}-T{T}-D{D}-H{H}"
    x = torch.randn(B, T, D, device=device)
    x_grad = x.clone().requires_grad_()
    ours = MinGRU(D, H).to(device)
    gru = nn.GRU(D, H, batch_first=True).to(device)
    print(f"# mingru: ours = MinGRU({D}, {H}), fast path {ours.fast_path!r}")
    t_ours, t_base = compare_many(
        [train_step(lambda: ours(x_grad)[0], ours), train_step(lambda: gru(x_grad)[0], gru)],
        repeats,
        str(device),
    )
    record(f"mingru/{shape}/train", t_ours, t_base, "ms", "torch.nn.GRU")
    t_ours, t_base = compare_many(
        [infer_step(lambda: ours(x)[0]), infer_step(lambda: gru(x)[0])], repeats, str(device)
    )
    record(f"mingru/{shape}/inference", t_ours, t_base, "ms", "torch.nn.GRU")

    try:
        from minGRU_pytorch import minGRU
    except ImportError:
        print("# minGRU_pytorch not importable: skipping the comparison with minGRU-pytorch")
        return
    theirs = minGRU(D).to(device)  # dim = D, hidden D (expansion 1), no output projection
    if D != H:
        return
    same = MinGRU.from_mingru_pytorch(theirs, scan="auto")  # same weights, our default scan
    same_log = MinGRU.from_mingru_pytorch(theirs, scan="log")  # same weights, their log-space maths
    with torch.no_grad():
        ref = theirs(x)
        diff = (same(x)[0] - ref).abs().max().item()
        diff_log = (same_log(x)[0] - ref).abs().max().item()
    print(f"# mingru: max |ours − minGRU-pytorch| = {diff:.3g} (scan=auto), {diff_log:.3g} (scan=log)")
    with torch.no_grad():  # who is closer to the exact function? the float64 step loop decides
        exact = copy.deepcopy(same).double().forward_reference(x.double())[0]
        err_ours = (same(x)[0].double() - exact).abs().max().item()
        err_theirs = (ref.double() - exact).abs().max().item()
    print(
        f"# mingru: max |· − float64 loop|: ours (scan=auto) {err_ours:.3g}, minGRU-pytorch {err_theirs:.3g}"
    )
    record(f"mingru-same-weights/{shape}/max-abs-error-vs-float64", err_ours, None, "abs")
    record(f"minGRU-pytorch/{shape}/max-abs-error-vs-float64", err_theirs, None, "abs")
    record(f"mingru-same-weights/{shape}/max-abs-diff-vs-minGRU-pytorch", diff, None, "abs")
    record(f"mingru-same-weights-scan=log/{shape}/max-abs-diff-vs-minGRU-pytorch", diff_log, None, "abs")
    t_ours, t_log, t_theirs = compare_many(
        [
            train_step(lambda: same(x_grad)[0], same),
            train_step(lambda: same_log(x_grad)[0], same_log),
            train_step(lambda: theirs(x_grad), theirs),
        ],
        repeats,
        str(device),
    )
    record(f"mingru-same-weights/{shape}/train", t_ours, t_theirs, "ms", "minGRU-pytorch")
    record(f"mingru-same-weights-scan=log/{shape}/train", t_log, t_theirs, "ms", "minGRU-pytorch")
    t_ours, t_theirs = compare_many(
        [infer_step(lambda: same(x)[0]), infer_step(lambda: theirs(x))], repeats, str(device)
    )
    record(f"mingru-same-weights/{shape}/inference", t_ours, t_theirs, "ms", "minGRU-pytorch")


def scans_benchmark(args, device: torch.device, repeats: int, record) -> None:
    """Each linear_scan method, fwd+bwd, relative to the sequential one; float32 error vs a float64 loop."""
    B, S = (2, 8) if args.quick else (16, 256)
    lengths = (16, 64) if args.quick else (256, 1024, 4096)
    methods = [m for m in SCAN_METHODS if m != "auto"]
    for T in lengths:
        # minGRU-like coefficients: a = 1 − z with z = σ(·), b = z ⊙ h̃
        z = torch.sigmoid(torch.randn(B, T, S, device=device))
        a, b = (1 - z).requires_grad_(), (z * torch.randn(B, T, S, device=device)).requires_grad_()
        h0 = torch.randn(B, S, device=device)

        def run(method: str, a=a, b=b, h0=h0) -> Callable[[], None]:
            def step() -> None:
                a.grad = b.grad = None
                linear_scan(a, b, h0, method=method).sum().backward()

            return step

        n = max(2, repeats // 3) if T >= 4096 else repeats
        times = compare_many([run(m) for m in methods], n, str(device))
        with torch.no_grad():
            ref = linear_scan_reference(a.double(), b.double(), h0.double())
            scale = ref.abs().max().item()
            errors = {
                m: (linear_scan(a, b, h0, method=m).double() - ref).abs().max().item() / scale
                for m in methods
            }
        shape = f"B{B}-T{T}-S{S}"
        print(f"# scans {shape}: auto = {auto_scan_method(device, T)}")
        for method, t in zip(methods, times):
            record(f"scan-{method}/{shape}/train", t, times[0], "ms", "sequential")
        for method in methods:
            record(f"scan-{method}/{shape}/rel-error-vs-float64-loop", errors[method], None, "rel")


def available_recurrences() -> list[str]:
    """The names of RECURRENCE_NAMES that can be built: the registered ones, plus minGRU/minLSTM."""
    for name, cls in (("mingru", MinGRU), ("minlstm", MinLSTM)):
        if name not in RECURRENCES:  # until registry.py lists them
            register_recurrence(name, cls)
    skipped = [n for n in RECURRENCE_NAMES if n not in RECURRENCES]
    if skipped:
        print(f"# not registered, skipped: {', '.join(skipped)}")
    return [n for n in RECURRENCE_NAMES if n in RECURRENCES]


def comparable_size(name: str, D: int, target: int, options: dict | None = None) -> int:
    """The hidden size (a multiple of 8) whose layer has the parameter count closest to ``target``."""

    def params(H: int) -> int:
        return sum(p.numel() for p in build_recurrence(name, D, H, options).parameters())

    lo, hi = 1, 8 * D  # in units of 8; the count grows with H, so bisect for the first H at or above target
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if params(8 * mid) < target else (lo, mid)
    return min((8 * max(lo - 1, 1), 8 * lo), key=lambda H: abs(params(H) - target))


def _variants(names: list[str]) -> list[tuple[str, str, dict]]:
    """(label, registry name, options): each name, and mLSTM in both of its training forms."""
    out = []
    for name in names:
        if name == "mlstm":
            out += [
                ("mlstm-parallel", name, {"form": "parallel"}),
                ("mlstm-chunkwise", name, {"form": "chunkwise"}),
            ]
        else:
            out.append((name, name, {}))
    return out


def streaming_benchmark(args, device: torch.device, repeats: int, names: list[str], record) -> None:
    """µs per token at B=1 through .step, against torch.nn.LSTM called once per token."""
    D = H = 16 if args.quick else 128
    tokens = 20 if args.quick else 200
    xs = torch.randn(tokens, 1, D, device=device)
    lstm = nn.LSTM(D, H, batch_first=True).to(device)

    def run_base() -> None:
        with torch.inference_mode():
            state = None
            for x_t in xs:
                _, state = lstm(x_t[:, None], state)

    base_params = sum(p.numel() for p in lstm.parameters())
    for name in names:
        size = comparable_size(name, D, base_params)
        layer = build_recurrence(name, D, size).to(device).eval()

        def run_ours(layer=layer) -> None:
            with torch.inference_mode():
                state = None
                for x_t in xs:
                    _, state = layer.step(x_t, state)

        t_ours, t_base = compare_many([run_ours, run_base], max(3, repeats // 2), str(device))
        tag = f"stream-{name}/B1-D{D}-H{size}"
        record(f"{tag}/per-token", t_ours / tokens, t_base / tokens, "us", "torch.nn.LSTM")
        state_bytes = sum(s.numel() * s.element_size() for s in layer.initial_state(1, device))
        params = sum(p.numel() for p in layer.parameters())
        record(f"{tag}/state", state_bytes, 2 * H * 4, "bytes", "torch.nn.LSTM")
        record(f"{tag}/parameters", params, base_params, "params", "torch.nn.LSTM")


def lengths_benchmark(args, device: torch.device, repeats: int, names: list[str], record) -> None:
    """fwd+bwd at growing T, against torch.nn.LSTM at the same T (comparable parameter counts)."""
    B, D, H = (2, 16, 16) if args.quick else (8, 128, 128)
    lengths = (16, 64) if args.quick else (256, 1024, 4096)
    lstm = nn.LSTM(D, H, batch_first=True).to(device)
    base_params = sum(p.numel() for p in lstm.parameters())
    for T in lengths:
        x = torch.randn(B, T, D, device=device, requires_grad=True)
        n = max(2, repeats // 3) if T >= 4096 else repeats
        for label, name, options in _variants(names):
            size = comparable_size(name, D, base_params, options)
            layer = build_recurrence(name, D, size, options).to(device)
            t_ours, t_base = compare_many(
                [
                    train_step(lambda layer=layer, x=x: layer(x)[0], layer),
                    train_step(lambda x=x: lstm(x)[0], lstm),
                ],
                n,
                str(device),
            )
            record(f"length-{label}/B{B}-T{T}-D{D}-H{size}/train", t_ours, t_base, "ms", "torch.nn.LSTM")


if __name__ == "__main__":
    main()
