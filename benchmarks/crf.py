"""seqlab's CRF against pytorch-crf 0.7.2, measured in the same run, with identical NLL and paths checked.

    pip install pytorch-crf==0.7.2      # or: pip install -e ".[bench]"
    python benchmarks/crf.py [--json PATH] [--quick] [--device cpu|cuda]

B=32, T=50, random lengths in [1, T] (right-padded; pytorch-crf needs the first step on), K ∈ {9, 20}.
Cases: NLL forward+backward, and Viterbi decoding. Ratios are pytorch-crf / seqlab (> 1: seqlab faster).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from seqlab.nn import CRF


def timed_pair(ours, theirs, repeats: int, device: str) -> tuple[float, float]:
    """Median seconds of each, alternating call by call."""
    for _ in range(3):
        ours()
        theirs()
    t_ours, t_theirs = [], []
    for _ in range(repeats):
        for fn, sink in ((ours, t_ours), (theirs, t_theirs)):
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            if device == "cuda":
                torch.cuda.synchronize()
            sink.append(time.perf_counter() - start)
    return statistics.median(t_ours), statistics.median(t_theirs)


def _nll_steps(ours, theirs, emissions, tags, mask):
    def run_ours():
        emissions.grad = None
        ours.zero_grad(set_to_none=True)
        ours.nll(emissions, tags, mask, reduction="sum").backward()

    def run_theirs():
        emissions.grad = None
        theirs.zero_grad(set_to_none=True)
        (-theirs(emissions, tags, mask, reduction="sum")).backward()

    return run_ours, run_theirs


def _decoders(ours, theirs, emissions, mask):
    def run_ours():
        with torch.no_grad():
            ours.viterbi(emissions, mask)

    def run_theirs():
        with torch.no_grad():
            theirs.decode(emissions, mask)

    return run_ours, run_theirs


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few repeats (a smoke test)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    try:
        from torchcrf import CRF as TorchCRF
    except ImportError:
        raise SystemExit("benchmarks/crf.py needs pytorch-crf: pip install pytorch-crf==0.7.2") from None

    device = torch.device(args.device)
    B, T, repeats = (4, 6, 3) if args.quick else (32, 50, 30)
    print(f"# device={device} threads={torch.get_num_threads()} torch={torch.__version__} B={B} T={T}")
    results = []
    for K in (9, 20):
        torch.manual_seed(0)
        ours = CRF(K).to(device)
        theirs = TorchCRF(K, batch_first=True).to(device)
        with torch.no_grad():  # the same parameters on both sides
            ours.transitions.copy_(theirs.transitions)
            ours.start_transitions.copy_(theirs.start_transitions)
            ours.end_transitions.copy_(theirs.end_transitions)
        emissions = torch.randn(B, T, K, device=device, requires_grad=True)
        tags = torch.randint(0, K, (B, T), device=device)
        lengths = torch.randint(1, T + 1, (B,), device=device)
        mask = torch.arange(T, device=device)[None, :] < lengths[:, None]

        nll_ours = ours.nll(emissions, tags, mask, reduction="sum")
        nll_theirs = -theirs(emissions, tags, mask, reduction="sum")
        nll_diff = abs(nll_ours.item() - nll_theirs.item()) / abs(nll_theirs.item())
        paths_ours, _ = ours.viterbi(emissions, mask)
        paths_theirs = theirs.decode(emissions, mask)
        same_paths = all(paths_ours[b, : len(p)].tolist() == p for b, p in enumerate(paths_theirs))

        ours_nll, theirs_nll = _nll_steps(ours, theirs, emissions, tags, mask)
        ours_decode, theirs_decode = _decoders(ours, theirs, emissions, mask)

        for case, fn_ours, fn_theirs in (
            ("nll fwd+bwd", ours_nll, theirs_nll),
            ("viterbi", ours_decode, theirs_decode),
        ):
            t_ours, t_theirs = timed_pair(fn_ours, fn_theirs, repeats, device.type)
            speedup = t_theirs / t_ours
            name = f"crf/{case.replace(' ', '-')}/B{B}-T{T}-K{K}"
            print(
                f"{name:34s} seqlab {t_ours * 1e3:7.2f} ms   pytorch-crf {t_theirs * 1e3:7.2f} ms   "
                f"pytorch-crf/seqlab = {speedup:.2f}x",
                flush=True,
            )
            results.append(
                {
                    "name": name,
                    "value": round(t_ours * 1e3, 4),
                    "unit": "ms",
                    "baseline": round(t_theirs * 1e3, 4),
                    "baseline_name": "pytorch-crf 0.7.2",
                    "speedup": round(speedup, 3),
                }
            )
        print(f"{'':34s} NLL relative difference {nll_diff:.1e}; identical Viterbi paths: {same_paths}")
        results.append(
            {
                "name": f"crf/agreement/K{K}",
                "value": nll_diff,
                "unit": "relative NLL difference",
                "baseline": 0.0,
                "identical_paths": same_paths,
            }
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
