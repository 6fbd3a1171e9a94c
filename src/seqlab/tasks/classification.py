"""Sequence classification: the chapter's ``LSTMClassifier`` and BiLSTM + attention, for texts and series.

The chapter's classifier, with its defaults (E = 128, H = 256, 2 layers, both directions, dropout 0.3)::

    x_1 … x_T ─► embedding ─► 2-layer bidirectional LSTM ─► [h→_T; h←_1] ─► dropout ─► linear ─► logits (K)
                 (E)          (any registry recurrence,        pooling                       softmax or
                               dropout between layers)                                       K sigmoids

h→_T is the forward direction's state after each sequence's *own* last token (padding never reaches it)
and h←_1 the backward direction's state once it has read back to the first token — the chapter's
``torch.cat([h_n[-2], h_n[-1]])``, at every sequence's true length. ``pooling`` chooses how the outputs
h_1 … h_T (each [h→_t; h←_t], size dirs·H) become one vector r:

- ``last``: r = [h→_T; h←_1] (the chapter's; h_T with one direction);
- ``mean``: r = (1/T) Σ_t h_t;   ``max``: r = max_t h_t, feature by feature;
- ``attention``, additive attention over time (Yang et al. 2016, "Hierarchical attention networks"; Zhou
  et al. 2016, "Attention-based BiLSTM for relation classification")::

      u_t = tanh(W h_t + b)          (B, T, A)
      α_t = softmax_t(u_wᵀ u_t)      (B, T), 0 on padding
      r   = Σ_t α_t h_t              (B, dirs·H)

  Zhou et al.'s α = softmax(wᵀ tanh(H)) is the case W = I, b = 0. The weights α explain a prediction:
  ``forward`` returns them and ``predict`` reports them per token.

Inputs (``inputs``): ``text``, token ids from ``seqlab.data.tokenize`` (English words, Chinese characters
or jieba words); or ``series``, real-valued sequences (B, T, D) for time-series classification, which skip
the embedding: each feature is standardised with the training set's mean and standard deviation (saved
with the model as buffers, so a loaded model predicts exactly what the saved one did), and a missing value
(NaN) becomes 0 after standardisation, i.e. the training mean.

Heads: multi-class, softmax and cross-entropy; multi-label (``multi_label=True``), K sigmoids and binary
cross-entropy, every label with σ ≥ ``threshold`` predicted. ``class_weights="balanced"`` weighs the loss
against imbalance with the training counts n_k of N examples: w_k = N / (K n_k) for cross-entropy
(scikit-learn's "balanced"), pos_weight_k = (N − n_k) / n_k for binary cross-entropy.

Regularising text inputs, which small sentiment sets need (the Rotten Tomatoes snippets overfit after
two epochs without it): ``word_dropout`` turns each token into ``<unk>`` with probability p in training,
and ``embedding_dropout`` drops entries of the embedded vectors; embeddings start U(±√(3/E))
(``seqlab.nn.init_embedding``).

An empty input (length 0) has no step to pool over: its vector r is zero, the recurrence's initial state,
so its logits are the output layer's bias — a prediction from the empty sequence (``predict`` logs it).

``Classifier`` is a plain ``nn.Module`` that follows ``seqlab.training``'s task protocol and saves to /
loads from a model folder (``save`` / ``Classifier.load``).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.data import Vocab
from seqlab.data.classification import TEXT_TOKENS, Example, tokenize
from seqlab.metrics.classification import classification_scores, multilabel_scores
from seqlab.nn import drop_words, init_embedding
from seqlab.options import check_choices, check_positive_ints
from seqlab.recurrent import RECURRENCES, Recurrent

from .model_files import load_folder, load_weights, save_folder

__all__ = [
    "CLASS_WEIGHTS",
    "INPUTS",
    "POOLINGS",
    "AttentionPooling",
    "ClassificationBatch",
    "Classifier",
    "ClassifierConfig",
    "ClassifierOutput",
    "Prediction",
]

log = logging.getLogger(__name__)

KIND = "classifier"
INPUTS = ("text", "series")
POOLINGS = ("last", "mean", "max", "attention")
CLASS_WEIGHTS = ("none", "balanced")


@dataclass(frozen=True)
class ClassifierConfig:
    """Everything that defines a classifier: its inputs, sizes, pooling and head."""

    inputs: str = "text"  # text (token ids) | series (real-valued (T, D) sequences)
    tokens: str = "word"  # text inputs: word (English) | char | jieba (Chinese words)
    lowercase: bool = True  # text inputs: the token vocabulary lowercases
    min_freq: int = 1  # rarer training tokens map to <unk>
    max_length: int = 512  # longer inputs keep their first max_length tokens / time steps (logged)
    embedding_dim: int = 128  # E (text inputs)
    hidden_size: int = 256  # H, per direction
    num_layers: int = 2
    bidirectional: bool = True
    recurrence: str = "lstm"  # any registry name
    recurrence_options: dict[str, Any] = field(default_factory=dict)
    dropout: float = 0.3  # between recurrent layers and before the output layer
    embedding_dropout: float = 0.0  # text inputs: dropout of the embedded vectors (B, T, E)
    word_dropout: float = 0.0  # text inputs, training: a token becomes <unk> with this probability
    pooling: str = "last"  # last (the chapter's) | mean | max | attention
    attention_size: int = 128  # A, the size of u_t in attention pooling
    multi_label: bool = False  # K sigmoids + binary cross-entropy instead of softmax + cross-entropy
    threshold: float = 0.5  # multi-label: predict every label with σ ≥ threshold
    class_weights: str = "none"  # none | balanced (from the training counts)
    standardize: bool = True  # series inputs: per-feature standardisation with training statistics

    def __post_init__(self) -> None:
        check_choices(
            self,
            {
                "inputs": INPUTS,
                "tokens": TEXT_TOKENS,
                "pooling": POOLINGS,
                "class_weights": CLASS_WEIGHTS,
                "recurrence": tuple(RECURRENCES),
            },
        )
        check_positive_ints(
            self,
            (
                "min_freq",
                "max_length",
                "embedding_dim",
                "hidden_size",
                "num_layers",
                "attention_size",
            ),
        )
        for name in ("dropout", "embedding_dropout", "word_dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ValueError(f"ClassifierConfig: expected {name} in [0, 1), got {value!r}")
        value = self.threshold
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
            raise ValueError(f"ClassifierConfig: expected threshold in (0, 1), got {value!r}")
        if not isinstance(self.recurrence_options, dict):
            raise ValueError(
                "ClassifierConfig: expected recurrence_options to be a mapping, "
                f"got {self.recurrence_options!r}"
            )


class ClassifierOutput(NamedTuple):
    """What ``Classifier.forward`` returns, whatever the pooling."""

    logits: Tensor  # (B, K)
    attention: Tensor | None  # (B, T) α_t with attention pooling (rows sum to 1, 0 on padding); else None


class Prediction(NamedTuple):
    """One input's prediction."""

    labels: tuple[str, ...]  # the predicted label (multi-class), or every label over the threshold
    probabilities: dict[str, float]  # per label: the softmax (multi-class) or its sigmoid (multi-label)
    tokens: tuple[str, ...]  # the tokens the model read (text inputs; () for series)
    attention: tuple[float, ...] | None  # α_t per token / time step, with attention pooling


@dataclass
class ClassificationBatch:
    """Padded inputs for B examples of up to T steps."""

    inputs: Tensor  # (B, T) token ids (0 = pad), or (B, T, D) values (0 where padded)
    lengths: Tensor  # (B,) true lengths; 0 for an empty input
    targets: Tensor | None = None  # (B,) class ids, or (B, K) 0/1 for multi-label; None for prediction

    def to(self, device: torch.device | str) -> ClassificationBatch:
        targets = None if self.targets is None else self.targets.to(device)
        return ClassificationBatch(self.inputs.to(device), self.lengths.to(device), targets)


class Encoded(NamedTuple):
    """One example as model inputs, before padding."""

    inputs: list[int] | np.ndarray  # token ids, or a (T, D) float32 array
    target: int | list[int] | None  # a class id, the label ids (multi-label), or None
    tokens: tuple[str, ...]  # the tokens read (text), after truncation


class AttentionPooling(nn.Module):
    """r = Σ_t α_t h_t, α_t = softmax_t(u_wᵀ tanh(W h_t + b)) over the unmasked steps (Yang et al. 2016)."""

    def __init__(self, input_size: int, attention_size: int) -> None:
        super().__init__()
        self.W = nn.Linear(input_size, attention_size)  # W, b
        self.u_w = nn.Parameter(torch.empty(attention_size))  # the "context vector"
        nn.init.normal_(self.u_w, std=attention_size**-0.5)

    def forward(self, h: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """h (B, T, dirs·H), mask (B, T) bool, every row with a True → r (B, dirs·H), α (B, T)."""
        u = torch.tanh(self.W(h))  # (B, T, A)
        e = (u @ self.u_w).masked_fill(~mask, float("-inf"))  # (B, T)
        alpha = torch.softmax(e, dim=1)  # (B, T), exactly 0 on padding
        return (alpha.unsqueeze(-1) * h).sum(dim=1), alpha


class Classifier(nn.Module):
    """Embedding (text) or standardisation (series) → recurrence → pooling → dropout → linear (K)."""

    def __init__(
        self,
        config: ClassifierConfig,
        labels: Vocab,
        tokens: Vocab | None = None,
        num_features: int | None = None,
    ) -> None:
        super().__init__()
        c = self.config = config
        self.labels, self.tokens, self.num_features = labels, tokens, num_features
        if labels.pad is not None or labels.unk is not None or len(labels) < 1:
            raise ValueError(
                "Classifier: the label vocabulary must have entries and no pad/unk "
                "(Vocab(..., pad=None, unk=None))"
            )
        if c.inputs == "text":
            if tokens is None or tokens.pad_id != 0:
                raise ValueError("Classifier: text inputs need a token vocabulary with pad at id 0")
            self.embedding = nn.Embedding(len(tokens), c.embedding_dim, padding_idx=0)
            init_embedding(self.embedding)
            self.embedding_dropout = nn.Dropout(c.embedding_dropout)
            D = c.embedding_dim
        else:
            if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
                raise ValueError(f"Classifier: series inputs need num_features ≥ 1 (D), got {num_features!r}")
            self.register_buffer("feature_mean", torch.zeros(num_features))  # (D,)
            self.register_buffer("feature_std", torch.ones(num_features))  # (D,)
            D = num_features
        K = len(labels)
        self.encoder = Recurrent(
            c.recurrence,
            D,
            c.hidden_size,
            num_layers=c.num_layers,
            bidirectional=c.bidirectional,
            dropout=c.dropout if c.num_layers > 1 else 0.0,
            options=c.recurrence_options,
        )
        self.attention = (
            AttentionPooling(self.encoder.output_size, c.attention_size) if c.pooling == "attention" else None
        )
        self.dropout = nn.Dropout(c.dropout)
        self.output = nn.Linear(self.encoder.output_size, K)
        # w_k of the cross-entropy, or pos_weight_k of the binary cross-entropy; ones for class_weights="none"
        self.register_buffer("class_weight", torch.ones(K))  # (K,)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_data(cls, examples: Sequence[Example], config: ClassifierConfig | None = None) -> Classifier:
        """A fresh classifier with vocabularies, class weights and feature statistics from ``examples``."""
        config = config or ClassifierConfig()
        if not examples:
            raise ValueError("Classifier.from_data: expected at least one training example, got none")
        for e in examples:
            if e.labels is None:
                raise ValueError(f"Classifier.from_data: {e.origin}: training examples need labels")
            if not config.multi_label and len(e.labels) != 1:
                raise ValueError(
                    f"Classifier.from_data: {e.origin}: has labels {list(e.labels)}; a multi-class task "
                    "needs exactly one label per example (or set multi_label)"
                )
            if (config.inputs == "text") != (e.text is not None):
                raise ValueError(
                    f"Classifier.from_data: {e.origin}: the config says inputs={config.inputs!r}, the "
                    f"example is a {'text' if e.text is not None else 'series'}"
                )
        counts = Counter(label for e in examples for label in e.labels)
        labels = Vocab(sorted(counts), pad=None, unk=None)
        tokens = None
        num_features = None
        if config.inputs == "text":
            tokens = Vocab.build(
                (tokenize(e.text, config.tokens)[: config.max_length] for e in examples),
                min_freq=config.min_freq,
                lowercase=config.lowercase,
            )
        else:
            dims = {e.series.shape[1] for e in examples}
            if len(dims) > 1:
                raise ValueError(
                    "Classifier.from_data: the training series have different numbers of features "
                    f"{sorted(dims)}"
                )
            num_features = dims.pop()
        model = cls(config, labels, tokens, num_features)
        with torch.no_grad():
            if config.class_weights == "balanced":
                n = torch.tensor([counts[label] for label in labels.tokens], dtype=torch.float32)  # (K,)
                N, K = len(examples), len(labels)
                model.class_weight.copy_((N - n) / n if config.multi_label else N / (K * n))
            if num_features is not None and config.standardize:
                mean, std = _feature_statistics([e.series[: config.max_length] for e in examples])
                model.feature_mean.copy_(mean)
                model.feature_std.copy_(std)
        return model

    # ------------------------------------------------------------------ the network
    def forward(self, inputs: Tensor, lengths: Tensor) -> ClassifierOutput:
        """Logits (B, K) (and α (B, T) with attention pooling) from padded inputs and their lengths."""
        x = self._features(inputs)  # (B, T, E) or (B, T, D)
        B, T = x.shape[:2]
        if lengths.shape != (B,):
            raise ValueError(f"Classifier: expected lengths of shape ({B},), got {tuple(lengths.shape)}")
        empty = lengths == 0  # (B,)
        steps = lengths.clamp(min=1)  # an empty input reads one pad step; its result is zeroed below
        h, state = self.encoder(x, lengths=steps)  # (B, T, dirs·H)
        mask = torch.arange(T, device=h.device)[None, :] < steps[:, None]  # (B, T)
        alpha = None
        if self.config.pooling == "last":
            r = self._last(h, state, steps)
        elif self.config.pooling == "mean":
            r = (h * mask.unsqueeze(-1)).sum(dim=1) / steps.unsqueeze(-1).to(h.dtype)
        elif self.config.pooling == "max":
            r = h.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=1)
        else:
            r, alpha = self.attention(h, mask)
        r = r.masked_fill(empty.unsqueeze(-1), 0.0)  # (B, dirs·H)
        if alpha is not None:
            alpha = alpha.masked_fill(empty.unsqueeze(-1), 0.0)
        return ClassifierOutput(self.output(self.dropout(r)), alpha)

    def _features(self, inputs: Tensor) -> Tensor:
        if self.config.inputs == "text":
            if inputs.dim() != 2 or inputs.is_floating_point():
                raise ValueError(
                    f"Classifier: text inputs are token ids of shape (B, T), got {inputs.dtype} of shape "
                    f"{tuple(inputs.shape)} (build batches with Classifier.encode and Classifier.collate)"
                )
            p = self.config.word_dropout
            if self.training and p > 0 and self.tokens.unk_id is not None:
                inputs = drop_words(inputs, p, unk_id=self.tokens.unk_id, pad_id=self.tokens.pad_id)
            return self.embedding_dropout(self.embedding(inputs))  # (B, T, E)
        D = self.num_features
        if inputs.dim() != 3 or inputs.shape[-1] != D:
            raise ValueError(
                f"Classifier: series inputs are values of shape (B, T, {D}), got {tuple(inputs.shape)}"
            )
        x = (inputs - self.feature_mean) / self.feature_std
        return torch.nan_to_num(x, nan=0.0)  # a missing value becomes the training mean

    def _last(self, h: Tensor, state: tuple[Any, ...], steps: Tensor) -> Tensor:
        """[h→_T; h←_1] of the top layer at each sequence's true length (h_T with one direction)."""
        top = state[-1]
        directions = (top.forward, top.backward) if self.config.bidirectional else (top,)
        size = h.shape[-1] // len(directions)
        finals = []
        for d, s in enumerate(directions):
            h_final = getattr(s, "h", None)
            if h_final is None or h_final.shape[-1] != size:  # a recurrence whose state is not its output
                t = steps - 1 if d == 0 else torch.zeros_like(steps)  # forward ends at T, backward at 1
                h_final = h[torch.arange(h.shape[0], device=h.device), t, d * size : (d + 1) * size]
            finals.append(h_final)
        return torch.cat(finals, dim=-1) if len(finals) > 1 else finals[0]

    # ------------------------------------------------------------------ the task protocol
    def training_loss(self, batch: ClassificationBatch) -> Tensor:
        return self._loss(self(batch.inputs, batch.lengths).logits, batch.targets)

    def _loss(self, logits: Tensor, targets: Tensor) -> Tensor:
        weight = self.class_weight if self.config.class_weights == "balanced" else None
        if self.config.multi_label:
            return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), pos_weight=weight)
        return F.cross_entropy(logits, targets, weight=weight)

    def validation_outputs(self, batch: ClassificationBatch) -> tuple[Tensor, Tensor]:
        return self(batch.inputs, batch.lengths).logits.cpu(), batch.targets.cpu()

    default_monitor = "accuracy"  # what picks the best epoch unless TrainConfig.monitor says otherwise

    def validation_metrics(self, outputs: Iterable[tuple[Tensor, Tensor]]) -> dict[str, float]:
        outputs = list(outputs)
        logits = torch.cat([o[0] for o in outputs])
        targets = torch.cat([o[1] for o in outputs])
        with torch.no_grad():
            loss = float(
                self._loss(logits.to(self.class_weight.device), targets.to(self.class_weight.device))
            )
        if self.config.multi_label:
            gold = [self._label_set(row) for row in targets]
            pred = [self._label_set(row) for row in torch.sigmoid(logits) >= self.config.threshold]
            scores = multilabel_scores(gold, pred, self.labels.tokens)
            return {
                "loss": loss,
                "accuracy": scores["accuracy"],
                "macro_f1": scores["macro_f1"],
                "micro_f1": scores["micro_f1"],
            }
        gold = self.labels.decode(targets.tolist())
        pred = self.labels.decode(logits.argmax(dim=-1).tolist())
        return {"loss": loss, **classification_scores(gold, pred, self.labels.tokens)}

    def _label_set(self, row: Tensor) -> tuple[str, ...]:
        return tuple(self.labels.decode(row.nonzero().flatten().tolist()))

    # ------------------------------------------------------------------ data in and out
    def encode(self, examples: Sequence[Example | str | np.ndarray]) -> list[Encoded]:
        """Examples (or bare texts / (T, D) arrays) → model inputs and targets; long inputs are cut."""
        out = []
        cut = 0
        limit = self.config.max_length
        for k, e in enumerate(examples):
            e = _as_example(e, k)
            if self.config.inputs == "text":
                if e.text is None:
                    raise ValueError(f"{e.origin}: this classifier reads texts, got a series")
                toks = tokenize(e.text, self.config.tokens)
                cut += len(toks) > limit
                toks = toks[:limit]
                inputs: list[int] | np.ndarray = self.tokens.encode(toks)
            else:
                if e.series is None:
                    raise ValueError(
                        f"{e.origin}: this classifier reads series of {self.num_features} features, "
                        "got a text"
                    )
                if e.series.shape[1] != self.num_features:
                    raise ValueError(
                        f"{e.origin}: expected a series of {self.num_features} features, "
                        f"got {e.series.shape[1]}"
                    )
                toks = ()
                cut += e.series.shape[0] > limit
                inputs = e.series[:limit]
            out.append(Encoded(inputs, None if e.labels is None else self._target(e), tuple(toks)))
        if cut:
            log.warning(
                "%d input(s) longer than max_length %d were cut to their first %d steps", cut, limit, limit
            )
        return out

    def _target(self, e: Example) -> int | list[int]:
        unseen = [label for label in e.labels if label not in self.labels]
        if unseen:
            raise ValueError(
                f"{e.origin}: label {unseen[0]!r} was not seen in training; the model knows "
                f"{', '.join(self.labels.tokens)}"
            )
        ids = self.labels.encode(e.labels)
        if self.config.multi_label:
            return ids
        if len(ids) != 1:
            raise ValueError(f"{e.origin}: expected one label for a multi-class model, got {list(e.labels)}")
        return ids[0]

    def collate(self, examples: Sequence[Encoded]) -> ClassificationBatch:
        """Pad encoded examples into a ``ClassificationBatch``."""
        B = len(examples)
        if B == 0:
            raise ValueError("Classifier.collate: expected at least one example, got none")
        lengths = torch.tensor([len(e.inputs) for e in examples], dtype=torch.long)  # (B,)
        T = max(1, int(lengths.max()))
        if self.config.inputs == "text":
            inputs = torch.zeros(B, T, dtype=torch.long)  # (B, T)
            for b, e in enumerate(examples):
                inputs[b, : len(e.inputs)] = torch.tensor(e.inputs, dtype=torch.long)
        else:
            inputs = torch.zeros(B, T, self.num_features)  # (B, T, D)
            for b, e in enumerate(examples):
                inputs[b, : len(e.inputs)] = torch.from_numpy(np.asarray(e.inputs, dtype=np.float32))
        if any(e.target is None for e in examples):
            return ClassificationBatch(inputs, lengths)
        if self.config.multi_label:
            targets = torch.zeros(B, len(self.labels))  # (B, K)
            for b, e in enumerate(examples):
                targets[b, e.target] = 1.0
        else:
            targets = torch.tensor([e.target for e in examples], dtype=torch.long)  # (B,)
        return ClassificationBatch(inputs, lengths, targets)

    @torch.no_grad()
    def predict(
        self, examples: Sequence[Example | str | np.ndarray], batch_size: int = 64
    ) -> list[Prediction]:
        """Labels, probabilities (and α per token with attention pooling) for each input.

        An empty input gets the prediction of the empty sequence (see the module docstring), with a
        warning in the log.
        """
        was_training = self.training
        self.eval()
        device = self.class_weight.device
        items = [_as_example(e, k) for k, e in enumerate(examples)]
        encoded = self.encode([Example(e.text, e.series, None, e.origin) for e in items])
        empty = [e.origin for e, enc in zip(items, encoded) if len(enc.inputs) == 0]
        if empty:
            log.warning(
                "%d empty input(s) (first: %s): predicted from the empty sequence", len(empty), empty[0]
            )
        results: list[Prediction | None] = [None] * len(items)
        order = sorted(range(len(items)), key=lambda i: len(encoded[i].inputs))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = self.collate([encoded[i] for i in idx]).to(device)
            out = self(batch.inputs, batch.lengths)
            if self.config.multi_label:
                probs = torch.sigmoid(out.logits).cpu()
            else:
                probs = torch.softmax(out.logits, dim=-1).cpu()
            alpha = None if out.attention is None else out.attention.cpu()
            for row, i in enumerate(idx):
                p = probs[row]
                if self.config.multi_label:
                    chosen = self._label_set(p >= self.config.threshold)
                else:
                    chosen = (self.labels.tokens[int(p.argmax())],)
                n = len(encoded[i].inputs)
                weights = None if alpha is None else tuple(alpha[row, :n].tolist())
                results[i] = Prediction(
                    chosen,
                    dict(zip(self.labels.tokens, p.tolist())),
                    encoded[i].tokens,
                    weights,
                )
        self.train(was_training)
        return results

    # ------------------------------------------------------------------ model files
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model folder: config, weights (feature statistics included), vocabularies."""
        vocabs = {"labels": self.labels}
        if self.tokens is not None:
            vocabs["tokens"] = self.tokens
        files = {"series": {"num_features": self.num_features}} if self.num_features is not None else None
        return save_folder(path, KIND, asdict(self.config), self.state_dict(), vocabs, files)

    @classmethod
    def load(cls, path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> Classifier:
        """A classifier from a folder written by ``save``; it predicts exactly what the saved one did."""
        cfg, weights, vocabs, files = load_folder(path, KIND, ClassifierConfig)
        needed = {"labels"} | ({"tokens"} if cfg.inputs == "text" else set())
        missing = sorted(needed - set(vocabs)) + (
            ["series"] if cfg.inputs == "series" and "series" not in files else []
        )
        if missing:
            raise ValueError(f"{path}: the model folder lacks {missing}")
        num_features = files["series"].get("num_features") if cfg.inputs == "series" else None
        model = cls(cfg, vocabs["labels"], vocabs.get("tokens"), num_features)
        return load_weights(model, weights, path).to(map_location).eval()


def _as_example(e: Example | str | np.ndarray, k: int) -> Example:
    if isinstance(e, Example):
        return e
    if isinstance(e, str):
        return Example(text=e, origin=f"input {k + 1}")
    if isinstance(e, (np.ndarray, Tensor)):
        return Example(series=np.asarray(e), origin=f"input {k + 1}")
    raise ValueError(
        f"Classifier: expected Example, str or a (T, D) array at position {k}, got {type(e).__name__}"
    )


def _feature_statistics(series: Sequence[np.ndarray]) -> tuple[Tensor, Tensor]:
    """Per-feature mean and standard deviation over every (non-missing) time step; std 1 where it is 0."""
    values = np.concatenate(series, axis=0).astype(np.float64)  # (ΣT, D)
    present = ~np.isnan(values)
    n = present.sum(axis=0)  # (D,)
    filled = np.where(present, values, 0.0)
    mean = filled.sum(axis=0) / np.maximum(n, 1)
    var = (np.where(present, values - mean, 0.0) ** 2).sum(axis=0) / np.maximum(n, 1)
    std = np.sqrt(var)
    std = np.where((std > 0) & np.isfinite(std), std, 1.0)
    return torch.tensor(mean, dtype=torch.float32), torch.tensor(std, dtype=torch.float32)
