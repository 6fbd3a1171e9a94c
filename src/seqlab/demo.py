"""`make demo`: build each recurrence, stream a sequence through it, and check every path agrees.

For each recurrence (2 layers, B=4, T=64, D=32, H=64) it runs the same input four ways —

- one pass of ``forward`` (the fast path: torch's fused kernel or a hand-written BPTT),
- ``forward_reference`` (the textbook equations, one step at a time),
- ``step`` token by token (streaming), carrying the state,
- ``forward`` on chunks of 7 steps, carrying the state,

and prints the largest difference from the one-pass result and how long each path takes.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from seqlab.recurrent import Recurrent


def cases(hidden_size: int) -> list[tuple[str, dict]]:
    """Every recurrence and variant of the core, and the modern recurrences, as (registry name, options)."""
    return [
        ("rnn", {}),
        ("lstm", {}),
        ("lstm", {"peephole": True}),
        ("lstm", {"coupled": True}),
        ("lstm", {"layer_norm": True}),
        ("lstm", {"proj_size": hidden_size // 2}),
        ("gru", {}),
        ("gru", {"reset_after": False}),
        ("mingru", {}),
        ("minlstm", {}),
        ("mlstm", {"num_heads": 4}),
        ("slstm", {"num_heads": 4}),
        ("mamba", {}),
        ("rwkv", {}),
    ]


def _timed(fn: Callable[[], torch.Tensor]) -> tuple[torch.Tensor, float]:
    fn()  # warm-up
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run(batch: int = 4, steps: int = 64, input_size: int = 32, hidden_size: int = 64) -> list[dict]:
    """Run every case; return one row per case (also what `main` prints)."""
    torch.manual_seed(0)
    x = torch.randn(batch, steps, input_size)
    rows = []
    for name, options in cases(hidden_size):
        stack = Recurrent(name, input_size, hidden_size, num_layers=2, options=options).eval()

        def one_pass(stack=stack):
            return stack(x)[0]

        def reference(stack=stack):
            return stack.forward_reference(x)[0]

        def stepwise(stack=stack):
            state, outs = None, []
            for x_t in x.unbind(1):
                h_t, state = stack.step(x_t, state)
                outs.append(h_t)
            return torch.stack(outs, dim=1)

        def chunked(stack=stack):
            state, outs = None, []
            for chunk in x.split(7, dim=1):
                out, state = stack(chunk, state)
                outs.append(out)
            return torch.cat(outs, dim=1)

        with torch.inference_mode():
            full, t_full = _timed(one_pass)
            ref, t_ref = _timed(reference)
            step, t_step = _timed(stepwise)
            chunks, _ = _timed(chunked)
        label = name + "".join(f" {k}={v}" for k, v in options.items())
        rows.append(
            {
                "recurrence": label,
                "fast path": stack.fast_path,
                "max |step − pass|": (step - full).abs().max().item(),
                "max |chunks − pass|": (chunks - full).abs().max().item(),
                "max |reference − pass|": (ref - full).abs().max().item(),
                "pass ms": t_full * 1e3,
                "reference ms": t_ref * 1e3,
                "step µs/token": t_step / steps * 1e6,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="seqlab demo", description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    rows = run()
    print(
        f"seqlab demo: 2-layer stacks, B=4, T=64, D=32, H=64, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads\n"
    )
    for r in rows:  # the long descriptions (e.g. the sLSTM's) keep their first words
        r["fast path"] = r["fast path"] if len(r["fast path"]) <= 40 else r["fast path"][:39] + "…"
    width = max(len("fast path"), *(len(r["fast path"]) for r in rows))
    header = (
        f"{'recurrence':26s} {'fast path':{width}s} {'step≡pass':>10s} {'chunks≡pass':>12s} {'ref≡pass':>10s}"
        f" {'pass ms':>8s} {'ref ms':>8s} {'step µs/tok':>12s}"
    )
    print(header)
    print("-" * len(header))
    worst = 0.0
    for r in rows:
        diffs = (r["max |step − pass|"], r["max |chunks − pass|"], r["max |reference − pass|"])
        worst = max(worst, *diffs)
        print(
            f"{r['recurrence']:26s} {r['fast path']:{width}s} "
            + " ".join(f"{d:10.1e}" for d in diffs[:1])
            + f" {diffs[1]:12.1e} {diffs[2]:10.1e} {r['pass ms']:8.2f} {r['reference ms']:8.2f}"
            f" {r['step µs/token']:12.1f}"
        )
    verdict = "agree" if worst < 1e-5 else "DISAGREE"
    print(
        f"\nAll paths {verdict}: largest difference {worst:.1e} (float32). Step-by-step streaming, "
        "chunked streaming and the textbook loop give the one-pass result."
    )
    return 0 if worst < 1e-5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
