"""Speech recognition on synthetic real audio: BiLSTM-CTC on held-out voices, and a streaming LSTM-CTC.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/speech.py --model bilstm --corpus runs/speech/corpus \\
        --out-dir runs/speech/bilstm --results benchmarks/results/2026-11-27-cpu/speech
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/speech.py --model stream ...   # unidirectional + streaming

The corpus (``seqlab transcribe synth``; made here if ``--corpus`` has no manifests) is espeak-ng and
flite speaking digit strings of 3–8 digits; the test voices never occur in training. The script trains
(``seqlab.tasks.speech_run.train_speech``), then scores the test manifest with greedy decoding and with
prefix beam search (WER, CER, per voice), and for ``--model stream`` streams the test clips in 100 ms
chunks: real-time factor, per-chunk latency, and whether every final text equals the offline greedy one.
Targets (issue 7): WER ≤ 5 %, CER ≤ 3 % on held-out voices; streaming RTF ≤ 0.1.
``--resume`` continues an interrupted or finished run from ``OUT_DIR/checkpoints/last.ckpt`` (raise
``--epochs`` to train longer). ``--quick``: a tiny run for the tests.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from seqlab.data.audio import read_manifest  # noqa: E402
from seqlab.data.synth_speech import SynthConfig, synthesize_corpus  # noqa: E402
from seqlab.tasks.speech import SpeechConfig, SpeechRecognizer  # noqa: E402
from seqlab.tasks.speech_run import SpeechData, evaluate_speech, streaming_benchmark, train_speech  # noqa: E402
from seqlab.training import TrainConfig  # noqa: E402

MODEL_FIELDS = ("n_mels", "subsample", "hidden_size", "num_layers", "bidirectional")
MODELS = {
    # offline: 3-layer BiLSTM; streaming: 3-layer unidirectional LSTM, a little wider
    "bilstm": {"bidirectional": True, "hidden_size": 160, "num_layers": 3},
    "stream": {"bidirectional": False, "hidden_size": 224, "num_layers": 3},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(MODELS), default="bilstm")
    p.add_argument("--corpus", type=Path, default=ROOT / "runs/speech/corpus")
    p.add_argument("--train-clips", type=int, default=3000)
    p.add_argument("--out-dir", type=Path, default=None, help="default: runs/speech/<model>")
    p.add_argument("--results", type=Path, default=None, help="folder for <model>-*.json results")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--n-mels", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--beam-size", type=int, default=8)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--quick", action="store_true", help="a tiny corpus and model (for the tests)")
    p.add_argument("--json", type=Path, help="also write [{name, value, unit, baseline}] here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("seqlab.data.audio").setLevel(logging.WARNING)
    torch.set_num_threads(args.threads)
    if args.quick:
        args.train_clips, args.epochs, args.n_mels = 24, 1, 32
    out_dir = args.out_dir or ROOT / "runs/speech" / args.model
    if not (args.corpus / "train.jsonl").is_file():
        n = args.train_clips
        synth = SynthConfig(train=n, dev=max(4, n // 15), test=max(4, n // 8), seed=0)
        synthesize_corpus(args.corpus, synth)
    sizes = dict(MODELS[args.model])
    if args.quick:
        sizes.update(hidden_size=16, num_layers=1)
    config = SpeechConfig(n_mels=args.n_mels, subsample=3, dropout=0.15, **sizes)
    train_config = TrainConfig(
        max_epochs=args.epochs,
        lr=args.lr,
        schedule="plateau",
        plateau_factor=0.5,
        plateau_patience=2,
        patience=6,
        out_dir=out_dir,
        progress_bar=False,
        seed=0,
    )
    data = SpeechData(train=str(args.corpus / "train.jsonl"), dev=str(args.corpus / "dev.jsonl"),
                      batch_size=args.batch_size)  # fmt: skip
    start = time.perf_counter()
    model, result = train_speech(data, config, train_config, resume=args.resume)
    train_s = time.perf_counter() - start
    model = SpeechRecognizer.load(out_dir / "model")
    test_path = args.corpus / "test.jsonl"
    test = read_manifest(test_path)
    meta = [json.loads(line) for line in test_path.read_text().splitlines() if line.strip()]
    greedy = evaluate_speech(
        model, test, by="voice", metadata=[{"voice": m["voice"].split(":")[0]} for m in meta]
    )
    beam = evaluate_speech(model, test, beam_size=args.beam_size)
    summary = {
        "model": args.model,
        "config": {k: getattr(config, k) for k in MODEL_FIELDS},
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_utterances": len(read_manifest(args.corpus / "train.jsonl")),
        "test_utterances": len(test),
        "epochs": result.epochs_run,
        "best_dev_cer": result.best_score,
        "train_seconds": round(train_s, 1),
        "history": result.history,
        "test_greedy": greedy,
        f"test_beam{args.beam_size}": beam,
    }
    records = [
        {"name": f"speech/{args.model}/test-{k}", "value": v, "unit": "fraction", "baseline": target}
        for k, v, target in (
            ("wer-greedy", greedy["wer"], 0.05),
            ("cer-greedy", greedy["cer"], 0.03),
            ("wer-beam", beam["wer"], 0.05),
            ("cer-beam", beam["cer"], 0.03),
        )
    ]
    if args.model == "stream":
        streaming = streaming_benchmark(model, test[: 8 if args.quick else 100], chunk_ms=100.0)
        summary["streaming"] = streaming
        records += [
            {"name": "speech/stream/rtf", "value": streaming["rtf"], "unit": "x", "baseline": 0.1},
            {"name": "speech/stream/latency-mean", "value": streaming["latency_ms_mean"], "unit": "ms",
             "baseline": 100.0},
            {"name": "speech/stream/final-equals-offline", "value": streaming["final_equals_offline"],
             "unit": "fraction", "baseline": 1.0},
        ]  # fmt: skip
    text = json.dumps(summary, indent=2, default=str)
    print(text)
    if args.results is not None:
        args.results.mkdir(parents=True, exist_ok=True)
        (args.results / f"{args.model}-summary.json").write_text(text + "\n")
    if args.json is not None:
        args.json.write_text(json.dumps(records, indent=2) + "\n")


if __name__ == "__main__":
    main()
