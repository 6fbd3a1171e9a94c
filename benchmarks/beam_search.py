"""Decoding throughput of a seq2seq model: beam search (k = 5) against greedy, batched against one by one.

    python benchmarks/beam_search.py --model runs/g2p/model [--corpus cmudict_g2p] [--json PATH]

All four ways decode the same held-out sources in one run; figures are sequences per second, and the
ratios say what a beam costs and what batching buys. Without ``--model`` a freshly initialised G2P-sized
model is used (its outputs run to the length limit, so it measures the worst case, not typical use).
Batched and one-by-one beam search must give the same best outputs; the script checks it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from seqlab.tasks.seq2seq import Seq2Seq, Seq2SeqConfig
from seqlab.tasks.seq2seq_run import TransductionData, corpus_pairs


def throughput(
    model: Seq2Seq, sources: list[str], *, beam_size: int, batch_size: int
) -> tuple[float, list[str]]:
    """Sequences per second, and the best outputs."""
    start = time.perf_counter()
    outputs = model.translate(sources, beam_size=beam_size, batch_size=batch_size)
    seconds = time.perf_counter() - start
    return len(sources) / seconds, [out[0].text for out in outputs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", type=Path, help="a seq2seq model folder (default: a fresh G2P-sized model)"
    )
    parser.add_argument("--corpus", default="cmudict_g2p")
    parser.add_argument("--sources", type=int, default=1000, help="held-out sources decoded batched")
    parser.add_argument("--single", type=int, default=200, help="of those, decoded one by one")
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    pairs = corpus_pairs(TransductionData(corpus=args.corpus), "test")[: args.sources]
    if args.model is not None:
        model = Seq2Seq.load(args.model)
    else:
        torch.manual_seed(0)
        model = Seq2Seq.from_data(pairs, Seq2SeqConfig(target_tokens="word", max_target_length=30)).eval()
    sources = [p.source for p in pairs]
    few = sources[: args.single]
    k = args.beam_size
    model.translate(few[:8], beam_size=k)  # warm-up

    greedy, _ = throughput(model, sources, beam_size=1, batch_size=args.batch_size)
    beam, beam_out = throughput(model, sources, beam_size=k, batch_size=args.batch_size)
    greedy_1, _ = throughput(model, few, beam_size=1, batch_size=1)
    beam_1, beam_1_out = throughput(model, few, beam_size=k, batch_size=1)
    same = beam_out[: len(few)] == beam_1_out
    threads = torch.get_num_threads()
    print(
        f"{len(sources)} sources batched ({args.batch_size}), {len(few)} one by one; torch threads {threads}"
    )
    print(f"greedy, batched:        {greedy:9.1f} sequences/s")
    print(f"beam k={k}, batched:     {beam:9.1f} sequences/s   greedy/beam = {greedy / beam:.2f}x")
    print(
        f"greedy, one by one:     {greedy_1:9.1f} sequences/s   batched/one-by-one = {greedy / greedy_1:.1f}x"
    )
    print(f"beam k={k}, one by one:  {beam_1:9.1f} sequences/s   batched/one-by-one = {beam / beam_1:.1f}x")
    print(f"batched beam search == one by one (best outputs): {same}")
    if args.json:
        records = [
            {"name": "greedy_batched", "value": greedy, "unit": "sequences/s", "baseline": None},
            {"name": f"beam{k}_batched", "value": beam, "unit": "sequences/s", "baseline": greedy},
            {"name": "greedy_one_by_one", "value": greedy_1, "unit": "sequences/s", "baseline": greedy},
            {"name": f"beam{k}_one_by_one", "value": beam_1, "unit": "sequences/s", "baseline": beam},
            {"name": "beam_batched_equals_one_by_one", "value": float(same), "unit": "bool", "baseline": 1.0},
        ]
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(records, indent=2) + "\n")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
