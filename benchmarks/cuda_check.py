"""Parity of every recurrence on CUDA, then the speed benchmark on CUDA — one prepared script.

    python benchmarks/cuda_check.py [--json PATH] [--skip-bench]

Parity, in float32 with TF32 off (cuDNN otherwise rounds matmul inputs to 10 mantissa bits):
for each recurrence × {1, 2 layers} × {uni, bi} × {full, padded}, the largest difference in outputs,
final states and all gradients between

- seqlab's fast path on CUDA (cuDNN kernel or hand-written BPTT) and its reference loop on CUDA,
- the fast path on CUDA and the reference loop on CPU in float64,
- for standard configurations, torch.nn.{RNN,LSTM,GRU} on CUDA (cuDNN) with the same weights.

Any warning raised along the way (e.g. cuDNN complaining about non-contiguous weights) is reported.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from seqlab.recurrent import BiState, Recurrent

CASES = [
    ("rnn", {}),
    ("rnn", {"nonlinearity": "relu"}),
    ("lstm", {}),
    ("lstm", {"proj_size": 3}),
    ("gru", {}),
    ("rnn", {"output_size": 3}),
    ("lstm", {"peephole": True}),
    ("lstm", {"coupled": True}),
    ("lstm", {"layer_norm": True}),
    ("lstm", {"peephole": True, "coupled": True}),
    ("gru", {"reset_after": False}),
]
B, T, D, H = 3, 6, 4, 5
TOL = 1e-5


def flat(state):
    return [t for layer in state for d in (layer if isinstance(layer, BiState) else (layer,)) for t in d]


def run(stack, fn, x, lengths):
    x = x.detach().clone().requires_grad_()
    out, state = fn(x, None, lengths)
    loss = (out * torch.linspace(-1, 1, out.shape[-1], device=x.device, dtype=x.dtype)).sum()
    loss = loss + sum((s * 0.1 * (i + 1)).sum() for i, s in enumerate(flat(state)))
    grads = torch.autograd.grad(loss, [x, *stack.parameters()], allow_unused=True)
    return [out, *flat(state), *(g for g in grads if g is not None)]


def max_diff(a, b):
    """Largest normwise relative difference over the tensors: max|u − v| / max(max|v|, 1)."""
    return max(
        ((u.double().cpu() - v.double().cpu()).abs().max() / v.double().abs().max().clamp(min=1.0)).item()
        for u, v in zip(a, b)
    )


def parity(device: torch.device) -> tuple[list[dict], bool]:
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    rows, ok = [], True
    lengths_cpu = torch.tensor([4, 6, 1])
    for name, options in CASES:
        for num_layers in (1, 2):
            for bidirectional in (False, True):
                for padded in (False, True):
                    torch.manual_seed(0)
                    cpu = Recurrent(
                        name, D, H, num_layers=num_layers, bidirectional=bidirectional, options=options
                    ).double()
                    with torch.no_grad():
                        for p in cpu.parameters():
                            p.uniform_(-0.5, 0.5)
                    gpu = Recurrent(
                        name, D, H, num_layers=num_layers, bidirectional=bidirectional, options=options
                    )
                    gpu.load_state_dict({k: v.float() for k, v in cpu.state_dict().items()})
                    gpu = gpu.to(device)
                    x = torch.randn(B, T, D, dtype=torch.float64)
                    lengths = lengths_cpu if padded else None
                    lengths_dev = lengths  # on the CPU, as users pass them to torch; seqlab moves them
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        fast = run(gpu, gpu.forward, x.float().to(device), lengths_dev)
                        ref_gpu = run(gpu, gpu.forward_reference, x.float().to(device), lengths_dev)
                        ref_cpu = run(cpu, cpu.forward_reference, x, lengths)
                        row = {
                            "case": f"{name}{options}-L{num_layers}-{'bi' if bidirectional else 'uni'}"
                            f"-{'padded' if padded else 'full'}",
                            "path": gpu.fast_path,
                            "fast_vs_reference_cuda": max_diff(fast, ref_gpu),
                            "fast_cuda_vs_reference_cpu64": max_diff(fast, ref_cpu),
                        }
                        if gpu.fusable:
                            row["fast_vs_torch_nn_cuda"] = torch_diff(gpu, x.float().to(device), lengths)
                    row["warnings"] = sorted({str(w.message)[:120] for w in caught})
                    worst = max(v for k, v in row.items() if k.startswith("fast"))
                    row["ok"] = worst < TOL and not row["warnings"]
                    ok &= row["ok"]
                    rows.append(row)
                    print(
                        f"{'ok  ' if row['ok'] else 'FAIL'} {row['case']:60s} {row['path']:18s} "
                        + " ".join(f"{k}={v:.1e}" for k, v in row.items() if k.startswith("fast"))
                        + (f" warnings={row['warnings']}" if row["warnings"] else ""),
                        flush=True,
                    )
    return rows, ok


def torch_diff(stack: Recurrent, x: torch.Tensor, lengths) -> float:
    ref = stack.to_torch()
    ours, _ = stack(x, lengths=None if lengths is None else lengths.to(x.device))
    if lengths is None:
        theirs, _ = ref(x)
    else:
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        theirs, _ = nn.utils.rnn.pad_packed_sequence(ref(packed)[0], batch_first=True, total_length=T)
    return (ours - theirs).abs().max().item()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--bench-json", type=Path)
    parser.add_argument("--skip-bench", action="store_true")
    parser.add_argument("--device", default="cuda", help="cpu runs the same checks here (a dry run)")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            print("no CUDA device; nothing to check")
            return 2
        print(
            f"# {torch.cuda.get_device_name()} torch={torch.__version__} "
            f"cudnn={torch.backends.cudnn.version()}"
        )
    rows, ok = parity(device)
    warned = sum(bool(r["warnings"]) for r in rows)
    print(
        f"# parity: {sum(r['ok'] for r in rows)}/{len(rows)} cases within {TOL:g} (normwise relative), "
        f"{warned} with warnings"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    if not args.skip_bench:
        import recurrent

        torch.backends.cudnn.allow_tf32 = True  # the benchmark runs torch's defaults on both sides
        bench_args = ["--device", args.device] + (["--json", str(args.bench_json)] if args.bench_json else [])
        recurrent.main(bench_args)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
