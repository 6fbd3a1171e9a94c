"""CTC prefix beam search: seqlab against pyctcdecode (no LM) on a recogniser's outputs.

Same best text? How fast?

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ctc_decode.py --model runs/speech/bilstm/model \\
        --manifest runs/speech/corpus/test.jsonl \\
        --json benchmarks/results/2026-11-27-cpu/speech/ctc_decode.json

The seqlab side runs here: it computes the model's log-probabilities for the manifest's clips, writes them
to ``--work-dir``, decodes them with ``seqlab.nn.ctc_prefix_beam_search`` and then runs *this script* with
``--side pyctcdecode`` in the peer environment (``--peer-python``, default ``.venv-bench-ctc/bin/python``),
which decodes the same arrays with ``pyctcdecode.build_ctcdecoder(labels).decode`` and reports its texts
and time. pyctcdecode pins numpy < 2, so it lives in its own venv::

    python -m venv .venv-bench-ctc && .venv-bench-ctc/bin/pip install pyctcdecode   # 0.5.0, numpy 1.26

Both sides use the same beam width and pyctcdecode's default pruning (a symbol is skipped at a frame when
its log-probability is below −5, unless it is the frame's best; candidates more than 10 below the frame's
best are dropped), one thread, and time only the decoding calls (best of ``--repeats`` passes). Texts are
compared after merging runs of spaces (pyctcdecode rebuilds its text from words).
``--quick``: an untrained tiny model on the committed test clips (for the tests).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "speech"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--side", choices=("seqlab", "pyctcdecode"), default="seqlab")
    p.add_argument("--model", type=Path, default=ROOT / "runs/speech/bilstm/model")
    p.add_argument("--manifest", type=Path, default=ROOT / "runs/speech/corpus/test.jsonl")
    p.add_argument("--limit", type=int, default=200, help="clips to decode")
    p.add_argument("--beam-size", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--work-dir", type=Path, default=ROOT / "runs/ctc_decode")
    p.add_argument("--peer-python", type=Path, default=ROOT / ".venv-bench-ctc/bin/python")
    p.add_argument("--logits", type=Path, help="pyctcdecode side: the .npz the seqlab side wrote")
    p.add_argument("--out", type=Path, help="pyctcdecode side: where to write its texts and time")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", type=Path, help="write [{name, value, unit, baseline}] here")
    return p.parse_args(argv)


def record(name: str, value: float, unit: str, baseline: float) -> dict:
    return {"name": name, "value": value, "unit": unit, "baseline": baseline}


def best_time(fn, repeats: int) -> tuple[float, list[str]]:
    best, out = float("inf"), []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def run_peer(args: argparse.Namespace) -> None:
    from pyctcdecode import build_ctcdecoder

    data = np.load(args.logits)
    labels = json.loads(str(data["labels"]))
    arrays = [data[f"u{i}"] for i in range(int(data["count"]))]
    decoder = build_ctcdecoder(labels)

    def decode() -> list[str]:
        return [
            decoder.decode(a, beam_width=args.beam_size, beam_prune_logp=-10.0, token_min_logp=-5.0)
            for a in arrays
        ]

    seconds, texts = best_time(decode, args.repeats)
    import pyctcdecode

    version = getattr(pyctcdecode, "__version__", "?")
    args.out.write_text(json.dumps({"seconds": seconds, "texts": texts, "version": version}))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.side == "pyctcdecode":
        run_peer(args)
        return
    sys.path.insert(0, str(ROOT / "src"))
    import torch

    from seqlab.data.audio import read_manifest
    from seqlab.nn.ctc import ctc_prefix_beam_search
    from seqlab.tasks.speech import SpeechConfig, SpeechRecognizer

    torch.set_num_threads(1)
    if args.quick:
        utts = read_manifest(FIXTURES / "train.jsonl")
        torch.manual_seed(0)
        model = SpeechRecognizer.from_data(utts, SpeechConfig(n_mels=16, hidden_size=16, num_layers=1)).eval()
        with torch.no_grad():
            model.output.weight.mul_(20)  # peaky outputs, like a trained model's
        args.repeats, args.beam_size = 1, 8
    else:
        model = SpeechRecognizer.load(args.model)
        utts = read_manifest(args.manifest)[: args.limit]
    with torch.no_grad():
        arrays = []
        for u in utts:
            f = model.audio_features(u.audio)[None]
            lengths = torch.tensor([f.shape[1]])
            lp, _, _ = model(model.normalize(f, lengths), lengths)
            arrays.append(lp[0].double().numpy())
    labels = ["", *model.chars.tokens[1:]]
    args.work_dir.mkdir(parents=True, exist_ok=True)
    npz = args.work_dir / "logits.npz"
    np.savez(npz, labels=json.dumps(labels), count=len(arrays), **{f"u{i}": a for i, a in enumerate(arrays)})

    def decode() -> list[str]:
        out = []
        for a in arrays:
            best = ctc_prefix_beam_search(
                a, beam_size=args.beam_size, token_min_logp=-5.0, beam_prune_logp=-10.0, top=1
            )[0]
            out.append(model.decode_ids(best.tokens))
        return out

    ours_s, ours = best_time(decode, args.repeats)
    frames = sum(len(a) for a in arrays)
    result = {
        "clips": len(arrays),
        "frames": frames,
        "beam_size": args.beam_size,
        "seqlab_seconds": ours_s,
    }
    records = [
        {"name": f"ctc-decode/seqlab/beam{args.beam_size}", "value": ours_s, "unit": "s", "baseline": ours_s}
    ]
    if args.peer_python.is_file():
        peer_out = args.work_dir / "pyctcdecode.json"
        cmd = [str(args.peer_python), __file__, "--side", "pyctcdecode", "--logits", str(npz)]
        cmd += ["--out", str(peer_out), "--beam-size", str(args.beam_size), "--repeats", str(args.repeats)]
        subprocess.run(cmd, check=True, env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PATH": ""})
        peer = json.loads(peer_out.read_text())
        same = sum(" ".join(a.split()) == " ".join(b.split()) for a, b in zip(ours, peer["texts"]))
        differ = [(a, b) for a, b in zip(ours, peer["texts"]) if " ".join(a.split()) != " ".join(b.split())]
        result.update(
            pyctcdecode_seconds=peer["seconds"],
            pyctcdecode_version=peer["version"],
            speedup=peer["seconds"] / ours_s,
            identical_best=same / len(arrays),
            differences=differ[:5],
        )
        records += [
            record(f"ctc-decode/pyctcdecode/beam{args.beam_size}", peer["seconds"], "s", ours_s),
            record("ctc-decode/pyctcdecode÷seqlab", peer["seconds"] / ours_s, "x", 1.0),
            record("ctc-decode/identical-best", same / len(arrays), "fraction", 1.0),
        ]
        print(f"seqlab {ours_s:.3f} s, pyctcdecode {peer['seconds']:.3f} s: pyctcdecode/seqlab = "
              f"{peer['seconds'] / ours_s:.2f}x; identical best hypothesis {same}/{len(arrays)}")  # fmt: skip
    else:
        print(f"seqlab {ours_s:.3f} s; no peer environment at {args.peer_python}", file=sys.stderr)
    print(json.dumps(result, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(records, indent=2) + "\n")
        args.json.with_name(args.json.stem + "-summary.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
