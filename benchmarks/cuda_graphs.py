"""Do CUDA graphs rescue the launch-bound variants on GPU? Eager vs `torch.cuda.make_graphed_callables`.

    python benchmarks/cuda_graphs.py [--json PATH]

The peephole / coupled / layer-norm LSTMs and the chapter's GRU run ~15 small kernels per time step;
on a GPU the launches, not the arithmetic, set their speed. A CUDA graph replays a whole captured
training step's kernels with one launch. For each variant (B=32, T=100, D=128, H=256), in one run:
eager fwd+bwd, graphed fwd+bwd, and torch.nn's cuDNN layer of the same size as the baseline; plus a
check that the graphed outputs and gradients equal the eager ones.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from seqlab.recurrent import Recurrent

VARIANTS = [
    ("lstm-peephole", "lstm", {"peephole": True}, nn.LSTM),
    ("lstm-coupled", "lstm", {"coupled": True}, nn.LSTM),
    ("lstm-layer_norm", "lstm", {"layer_norm": True}, nn.LSTM),
    ("gru-reset_before", "gru", {"reset_after": False}, nn.GRU),
]


def timed(fn, repeats: int = 20) -> float:
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class OutputOnly(nn.Module):
    """Graphed callables want tensors out, not (outputs, state)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)[0]


def train_step(module: nn.Module, call, x: torch.Tensor):
    def run() -> None:
        module.zero_grad(set_to_none=True)
        call(x).sum().backward()

    return run


def measure(
    name: str, recurrence: str, options: dict, torch_cls: type, B: int, T: int, D: int, H: int
) -> dict:
    torch.manual_seed(0)
    eager = Recurrent(recurrence, D, H, options=options).cuda()
    graphed_module = Recurrent(recurrence, D, H, options=options).cuda()
    graphed_module.load_state_dict(eager.state_dict())
    x = torch.randn(B, T, D, device="cuda", requires_grad=True)
    graphed = torch.cuda.make_graphed_callables(OutputOnly(graphed_module), (x,))
    baseline = OutputOnly(torch_cls(D, H, batch_first=True).cuda())
    eager_out = OutputOnly(eager)

    # the graphed step computes what the eager step computes (capture's warm-up may leave .grad set).
    # Compare the gradients before the next replay: a replay may reuse the memory of the graph's
    # gradient outputs, so like any graphed training step, consume them (optimizer.step) first.
    for p in (*eager.parameters(), *graphed_module.parameters()):
        p.grad = None
    out_e = eager_out(x)
    (out_e * 1.5).sum().backward()
    out_g = graphed(x)
    (out_g * 1.5).sum().backward()
    grads = zip(eager.parameters(), graphed_module.parameters())
    diff = max((out_e - out_g).abs().max().item(), *((p.grad - q.grad).abs().max().item() for p, q in grads))

    t_eager = timed(train_step(eager, eager_out, x))
    t_graph = timed(train_step(graphed_module, graphed, x))
    t_base = timed(train_step(baseline, baseline, x))
    print(
        f"{name:18s} eager {t_eager * 1e3:7.2f} ms  graphed {t_graph * 1e3:7.2f} ms  "
        f"cuDNN {t_base * 1e3:6.2f} ms  → graphed/cuDNN = {t_graph / t_base:.2f}x "
        f"(eager {t_eager / t_base:.2f}x), |Δ| = {diff:.1e}",
        flush=True,
    )
    return {
        "name": f"{name}/B{B}-T{T}-D{D}-H{H}/train-graphed",
        "value": round(t_graph * 1e3, 3),
        "unit": "ms",
        "baseline": round(t_base * 1e3, 3),
        "baseline_name": f"torch.nn.{torch_cls.__name__} (cuDNN)",
        "eager_ms": round(t_eager * 1e3, 3),
        "graphed_vs_eager_max_abs_diff": diff,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device; nothing to measure")
        return 2
    print(f"# {torch.cuda.get_device_name()} torch={torch.__version__}")
    results = [measure(*variant, B=32, T=100, D=128, H=256) for variant in VARIANTS]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
