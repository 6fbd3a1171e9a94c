"""The CRF and the tagger on CUDA: parity with the references, and a training run through the engine.

    python benchmarks/cuda_tagging_check.py

1. CRF on the GPU, float64: log Z fast vs the log-space reference, gradients, Viterbi vs the reference
   decoder (torch backtracking path, not the CPU NumPy one), n-best's first path = Viterbi, under masks
   with unsorted lengths and a leading step off, with and without IOB2 constraints.
2. A tiny NER tagger trained by ``seqlab.training.fit`` with ``accelerator="gpu"``: it must reach dev
   F1 = 1.0, save, load and predict the same on the GPU.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from seqlab.data import Sentence, allowed_transitions
from seqlab.nn import CRF
from seqlab.tasks import Tagger, TaggerConfig
from seqlab.training import TrainConfig, fit


def crf_parity(device: torch.device) -> bool:
    ok = True
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    for constrained in (False, True):
        torch.manual_seed(0)
        allowed = allowed_transitions(labels, "IOB2") if constrained else None
        crf = CRF(len(labels), allowed=allowed).double().to(device)
        with torch.no_grad():
            for p in crf.parameters():
                p.uniform_(-1, 1)
        B, T = 16, 30
        e = torch.randn(B, T, len(labels), dtype=torch.float64, device=device, requires_grad=True)
        lengths = torch.randint(1, T + 1, (B,), device=device)
        mask = torch.arange(T, device=device)[None, :] < lengths[:, None]
        mask[::3, 0] = False  # a leading step off in every third row
        fast = crf.log_partition(e, mask)
        ref = crf.forward_reference(e, mask)
        g_fast = torch.autograd.grad(fast.sum(), [e, *crf.parameters()])
        g_ref = torch.autograd.grad(ref.sum(), [e, *crf.parameters()])
        tags, scores = crf.viterbi(e, mask)
        ref_tags, ref_scores = crf.viterbi_reference(e, mask)
        best, _ = crf.nbest(e, 3, mask)
        errs = {
            "log Z": (fast - ref).abs().max().item(),
            "grads": max((a - b).abs().max().item() for a, b in zip(g_fast, g_ref)),
            "viterbi score": (scores - ref_scores).abs().max().item(),
        }
        same = torch.equal(tags, ref_tags) and torch.equal(best[:, 0], tags)
        good = all(v < 1e-9 for v in errs.values()) and same
        ok &= good
        print(
            f"{'ok  ' if good else 'FAIL'} CRF on {device} constrained={constrained}: "
            + ", ".join(f"{k} {v:.1e}" for k, v in errs.items())
            + f", identical paths {same}",
            flush=True,
        )
    return ok


def tagger_training(device: torch.device) -> bool:
    sentences = [
        Sentence(("John", "lives", "in", "Paris"), ("B-PER", "O", "O", "B-LOC")),
        Sentence(("Mary", "Smith", "visited", "New", "York"), ("B-PER", "I-PER", "O", "B-LOC", "I-LOC")),
        Sentence(("Ann", "left", "Rome"), ("B-PER", "O", "B-LOC")),
    ] * 4
    torch.manual_seed(0)
    model = Tagger.from_data(
        sentences, TaggerConfig(word_dim=32, char_dim=16, char_hidden=16, hidden_size=32, dropout=0.1)
    )
    data = model.encode(sentences)
    loader = DataLoader(data, batch_size=4, shuffle=True, collate_fn=model.collate)
    dev = DataLoader(data, batch_size=6, collate_fn=model.collate)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = fit(
            model,
            loader,
            dev,
            TrainConfig(
                max_epochs=30,
                lr=0.02,
                monitor="f1",
                mode="max",
                accelerator="gpu",
                devices=1,
                out_dir=Path(tmp) / "run",
                progress_bar=False,
            ),
        )
        seconds = time.perf_counter() - start
        model = model.to(device)
        path = model.save(Path(tmp) / "model")
        loaded = Tagger.load(path, map_location=device)
        tokens = [s.tokens for s in sentences[:3]]
        same = loaded.predict(tokens) == model.predict(tokens) == [list(s.tags) for s in sentences[:3]]
    good = result.best_score == 1.0 and same and next(loaded.parameters()).is_cuda
    print(
        f"{'ok  ' if good else 'FAIL'} tagger trained on {device} by fit(accelerator='gpu'): best dev F1 "
        f"{result.best_score:.3f} in {result.epochs_run} epochs ({seconds:.1f} s); "
        f"reload predicts the same: {same}",
        flush=True,
    )
    return good


def main() -> int:
    if not torch.cuda.is_available():
        print("no CUDA device; nothing to check")
        return 2
    device = torch.device("cuda")
    print(f"# {torch.cuda.get_device_name()} torch={torch.__version__}")
    ok = crf_parity(device)
    ok &= tagger_training(device)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
