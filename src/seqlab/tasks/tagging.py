"""Sequence labeling: BiLSTM-CRF for NER, POS tagging and Chinese word segmentation.

The architecture of Lample et al. (2016) and Ma & Hovy (2016), the chapter's "BiLSTM + CRF"::

    word w_t ──► word embedding ──┐
                                  ├─► [·;·] ─► dropout ─► recurrence (default 2-direction LSTM) ─► dropout
    chars of w_t ─► char BiLSTM ──┘        (any registry name)                                    │
                    or char CNN                                           linear ─► emissions (B, T, K)
                                                                                                  │
                                               CRF (transitions constrained by the tag scheme) or softmax

- Character features carry casing, affixes and unknown words; for Chinese one token is one character
  (``Sentence`` from ``seqlab.data.read_bmes``), so ``char_encoder="none"`` is the usual choice there.
- ``bigrams=True`` adds, for token t, embeddings of the bigrams (w_{t−1} w_t) and (w_t w_{t+1}): the
  strongest single feature for Chinese word segmentation (Pei et al. 2014; Chen et al. 2015), where a
  character alone says little about whether a word ends after it.
- The CRF's forbidden moves come from the tag scheme (``IOB1``, ``IOB2``, ``BIOES``, ``BMES``): decoding can
  never produce an invalid sequence. ``scheme="none"`` (e.g. POS tags) allows every move.
- Metrics: entity-span F1 (conlleval) for the entity schemes, word-segmentation F1 (SIGHAN) for BMES,
  token accuracy for ``none``.

``Tagger`` is a plain ``nn.Module``; it follows ``seqlab.training``'s task protocol (``training_loss``,
``validation_outputs``, ``validation_metrics``) so the engine can train it, and saves to / loads from a
model folder (``save`` / ``Tagger.load``).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.data import Sentence, Vocab, allowed_transitions, bmes_to_words, normalize_scheme
from seqlab.metrics import segmentation_scores, span_scores, token_accuracy
from seqlab.nn import CRF, PAD_TAG, drop_words, init_embedding
from seqlab.options import check_choices, check_positive_ints
from seqlab.recurrent import RECURRENCES, Recurrent

from .model_files import load_folder, load_weights, save_folder

__all__ = ["Encoded", "Tagger", "TaggerConfig", "TaggingBatch", "bigrams_of", "load_vectors"]

KIND = "tagger"
HEADS = ("crf", "softmax")
CHAR_ENCODERS = ("lstm", "cnn", "none")


@dataclass(frozen=True)
class TaggerConfig:
    """Everything that defines a tagger's architecture and its vocabularies' options."""

    scheme: str = "IOB2"  # IOB1 | IOB2 | BIOES | BMES | none
    head: str = "crf"  # crf | softmax
    word_dim: int = 100
    char_encoder: str = "lstm"  # lstm (Lample et al.) | cnn (Ma & Hovy) | none
    char_dim: int = 25
    char_hidden: int = 25  # per direction for the char BiLSTM; filters for the CNN
    char_kernel: int = 3
    recurrence: str = "lstm"
    recurrence_options: dict[str, Any] = field(default_factory=dict)
    hidden_size: int = 200  # per direction
    num_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.5  # on the [word; char] features and on the recurrence's outputs
    char_dropout: float = 0.0  # on the character embeddings, inside the char encoder (Ma & Hovy: 0.5)
    word_dropout: float = 0.0  # replace a word by <unk> with this probability in training (Lample et al.)
    bigrams: bool = False  # add embeddings of the bigrams (w_{t-1} w_t) and (w_t w_{t+1}) to token t
    bigram_dim: int = 50
    min_bigram_freq: int = 2  # rarer training bigrams map to <unk>
    lowercase_words: bool = True  # the char features keep the case
    normalize_digits: bool = True
    min_word_freq: int = 1

    def __post_init__(self) -> None:
        if self.scheme != "none":
            object.__setattr__(self, "scheme", normalize_scheme(self.scheme))
        check_choices(self, {"head": HEADS, "char_encoder": CHAR_ENCODERS, "recurrence": tuple(RECURRENCES)})
        check_positive_ints(
            self,
            (
                "word_dim",
                "char_dim",
                "bigram_dim",
                "min_bigram_freq",
                "char_hidden",
                "char_kernel",
                "hidden_size",
                "num_layers",
                "min_word_freq",
            ),
        )
        for name in ("dropout", "char_dropout", "word_dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ValueError(f"TaggerConfig: expected {name} in [0, 1), got {value!r}")


class Encoded(NamedTuple):
    """One sentence as ids, before padding."""

    words: list[int]
    chars: list[list[int]]  # per word
    tags: list[int] | None  # None for prediction
    bigrams: list[int] | None  # the n + 1 ids of ``bigrams_of(tokens)``; None when the tagger uses none


@dataclass
class TaggingBatch:
    """Padded tensors for B sentences of up to T tokens of up to C characters."""

    words: Tensor  # (B, T) word ids, 0 = pad
    chars: Tensor  # (B, T, C) char ids, 0 = pad
    lengths: Tensor  # (B,)
    tags: Tensor | None = None  # (B, T) tag ids (0 where padded), or None for prediction
    bigrams: Tensor | None = None  # (B, T, 2) bigram ids (0 where padded), when the tagger uses bigrams

    def to(self, device: torch.device | str) -> TaggingBatch:
        return TaggingBatch(
            *(None if t is None else t.to(device) for t in (self.words, self.chars, self.lengths, self.tags)),
            bigrams=None if self.bigrams is None else self.bigrams.to(device),
        )


BOS, EOS = "<s>", "</s>"  # the sentence boundaries inside the first and last bigram


def bigrams_of(tokens: Sequence[str]) -> list[str]:
    """The n + 1 bigrams of n tokens, ``<s>``/``</s>`` at the ends: token t sits between bigrams t and t + 1.

    >>> bigrams_of(["自", "然"])
    ['<s> 自', '自 然', '然 </s>']
    """
    padded = [BOS, *tokens, EOS]
    return [f"{a} {b}" for a, b in itertools.pairwise(padded)]


class Tagger(nn.Module):
    """Word (+ character) embeddings → recurrence → CRF or softmax over tags."""

    def __init__(
        self, config: TaggerConfig, words: Vocab, chars: Vocab, tags: Vocab, bigrams: Vocab | None = None
    ) -> None:
        super().__init__()
        self.config, self.words, self.chars, self.tags, self.bigrams = config, words, chars, tags, bigrams
        if tags.pad is not None or tags.unk is not None:
            raise ValueError(
                "Tagger: the tag vocabulary must have no pad/unk entries (Vocab(..., pad=None, unk=None))"
            )
        if config.bigrams != (bigrams is not None):
            raise ValueError(
                f"Tagger: config.bigrams is {config.bigrams} but a bigram vocabulary was "
                f"{'not ' if bigrams is None else ''}given; pass one exactly when bigrams=True"
            )
        K = len(tags)
        c = config
        self.word_embedding = nn.Embedding(len(words), c.word_dim, padding_idx=words.pad_id)
        init_embedding(self.word_embedding)
        bigram_features = 0
        if bigrams is not None:
            self.bigram_embedding = nn.Embedding(len(bigrams), c.bigram_dim, padding_idx=bigrams.pad_id)
            bigram_features = 2 * c.bigram_dim
        char_features = 0
        if c.char_encoder != "none":
            self.char_embedding = nn.Embedding(len(chars), c.char_dim, padding_idx=chars.pad_id)
            if c.char_encoder == "lstm":
                self.char_rnn = Recurrent("lstm", c.char_dim, c.char_hidden, bidirectional=True)
                char_features = 2 * c.char_hidden
            else:
                self.char_cnn = nn.Conv1d(
                    c.char_dim, c.char_hidden, c.char_kernel, padding=c.char_kernel // 2
                )
                char_features = c.char_hidden
        self.dropout = nn.Dropout(c.dropout)
        self.encoder = Recurrent(
            c.recurrence,
            c.word_dim + char_features + bigram_features,
            c.hidden_size,
            num_layers=c.num_layers,
            bidirectional=c.bidirectional,
            dropout=c.dropout if c.num_layers > 1 else 0.0,
            options=c.recurrence_options,
        )
        self.emissions = nn.Linear(self.encoder.output_size, K)
        allowed = None if c.scheme == "none" else allowed_transitions(tags.tokens, c.scheme)
        self.crf = CRF(K, allowed=allowed) if c.head == "crf" else None

    # ------------------------------------------------------------------ building
    @classmethod
    def from_data(cls, sentences: Sequence[Sentence], config: TaggerConfig | None = None) -> Tagger:
        """A fresh tagger whose vocabularies are built from labelled training ``sentences``."""
        config = config or TaggerConfig()
        if not sentences:
            raise ValueError("Tagger.from_data: expected at least one training sentence, got none")
        unlabelled = next((s for s in sentences if s.tags is None), None)
        if unlabelled is not None:
            raise ValueError(f"Tagger.from_data: {unlabelled.source}: training sentences need tags")
        words = Vocab.build(
            (s.tokens for s in sentences),
            min_freq=config.min_word_freq,
            lowercase=config.lowercase_words,
            normalize_digits=config.normalize_digits,
        )
        chars = Vocab.build(list(tok) for s in sentences for tok in s.tokens)
        labels = sorted({t for s in sentences for t in s.tags}, key=_tag_order)
        bigrams = None
        if config.bigrams:
            bigrams = Vocab.build(
                (bigrams_of(s.tokens) for s in sentences),
                min_freq=config.min_bigram_freq,
                lowercase=config.lowercase_words,
                normalize_digits=config.normalize_digits,
            )
        return cls(config, words, chars, Vocab(labels, pad=None, unk=None), bigrams)

    # ------------------------------------------------------------------ the network
    def forward(self, words: Tensor, chars: Tensor, lengths: Tensor, bigrams: Tensor | None = None) -> Tensor:
        """Emission scores (B, T, K) from padded ids: words (B, T), chars (B, T, C), bigrams (B, T, 2)."""
        p = self.config.word_dropout
        if self.training and p > 0 and self.words.unk_id is not None:  # teach the <unk> embedding
            words = drop_words(words, p, unk_id=self.words.unk_id, pad_id=self.words.pad_id)
        features = [self.word_embedding(words)]  # (B, T, word_dim)
        if self.config.char_encoder != "none":
            features.append(self._char_features(chars))  # (B, T, char features)
        if self.bigrams is not None:
            if bigrams is None or bigrams.shape != (*words.shape, 2):
                got = None if bigrams is None else tuple(bigrams.shape)
                raise ValueError(
                    f"Tagger: this tagger uses bigrams; expected bigram ids of shape {(*words.shape, 2)}, "
                    f"got {got} (build batches with Tagger.encode and Tagger.collate)"
                )
            features.append(self.bigram_embedding(bigrams).flatten(2))  # (B, T, 2·bigram_dim)
        x = torch.cat(features, dim=-1) if len(features) > 1 else features[0]
        h, _ = self.encoder(self.dropout(x), lengths=lengths)  # (B, T, dirs·H)
        return self.emissions(self.dropout(h))  # (B, T, K)

    def _char_features(self, chars: Tensor) -> Tensor:
        B, T, C = chars.shape
        flat = chars.reshape(B * T, C)
        n_chars = (flat != self.chars.pad_id).sum(dim=1)  # (B·T,)
        real = n_chars > 0  # padded words have no characters
        emb = F.dropout(self.char_embedding(flat[real]), self.config.char_dropout, self.training)  # (N, C, d)
        if self.config.char_encoder == "lstm":
            _, state = self.char_rnn(emb, lengths=n_chars[real])
            feats = torch.cat([state[0].forward.h, state[0].backward.h], dim=-1)  # (N, 2·char_hidden)
        else:
            conv = self.char_cnn(emb.transpose(1, 2))  # (N, filters, C)
            on = (torch.arange(C, device=chars.device)[None, :] < n_chars[real][:, None])[:, None, :]
            feats = conv.masked_fill(~on, float("-inf")).amax(dim=2)  # max over the word's characters
        out = feats.new_zeros(B * T, feats.shape[-1])
        out[real] = feats
        return out.view(B, T, -1)

    # ------------------------------------------------------------------ the task protocol
    def training_loss(self, batch: TaggingBatch) -> Tensor:
        emissions = self(batch.words, batch.chars, batch.lengths, batch.bigrams)
        mask = _mask(batch.lengths, emissions.shape[1])
        if self.crf is not None:
            return self.crf(emissions, batch.tags, mask, reduction="mean")
        return F.cross_entropy(emissions[mask], batch.tags[mask])

    @torch.no_grad()
    def decode(self, batch: TaggingBatch) -> Tensor:
        """Best tag ids (B, T); −1 on padded steps."""
        emissions = self(batch.words, batch.chars, batch.lengths, batch.bigrams)
        mask = _mask(batch.lengths, emissions.shape[1])
        if self.crf is not None:
            return self.crf.viterbi(emissions, mask)[0]
        return emissions.argmax(dim=-1).masked_fill(~mask, PAD_TAG)

    def validation_outputs(self, batch: TaggingBatch) -> list[tuple[list[str], list[str]]]:
        pred = self.decode(batch).cpu()
        gold = batch.tags.cpu()
        out = []
        for b, n in enumerate(batch.lengths.tolist()):
            out.append((self.tags.decode(gold[b, :n].tolist()), self.tags.decode(pred[b, :n].tolist())))
        return out

    @property
    def default_monitor(self) -> str:
        """What picks the best epoch unless TrainConfig.monitor says otherwise: F1, or accuracy for POS."""
        return "accuracy" if self.config.scheme == "none" else "f1"

    def validation_metrics(self, outputs: Iterable[list[tuple[list[str], list[str]]]]) -> dict[str, float]:
        pairs = [pair for batch in outputs for pair in batch]  # one list of (gold, pred) per batch
        gold, pred = [g for g, _ in pairs], [p for _, p in pairs]
        return self.score(gold, pred)

    def score(self, gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, float]:
        """The task's metrics on tag sequences: span P/R/F1, segmentation P/R/F1, or accuracy."""
        scheme = self.config.scheme
        if scheme == "none":
            return {"accuracy": token_accuracy(gold, pred)}
        if scheme == "BMES":
            chars = [["x"] * len(g) for g in gold]  # the words' characters do not matter, only their spans
            report = segmentation_scores(
                [bmes_to_words(c, g) for c, g in zip(chars, gold)],
                [bmes_to_words(c, p) for c, p in zip(chars, pred)],
            )
        else:
            report = span_scores(gold, pred)
        return {
            "precision": report.precision,
            "recall": report.recall,
            "f1": report.f1,
            "accuracy": token_accuracy(gold, pred),
        }

    # ------------------------------------------------------------------ data in and out
    def encode(self, sentences: Sequence[Sentence | Sequence[str]]) -> list[Encoded]:
        """Sentences → ids (words, chars per word, tags or None, bigrams or None)."""
        out = []
        for s in sentences:
            tokens = s.tokens if isinstance(s, Sentence) else tuple(s)
            tags = s.tags if isinstance(s, Sentence) else None
            where = s.source if isinstance(s, Sentence) else None
            word_ids = self.words.encode(tokens, where=where)
            char_ids = [self.chars.encode(list(tok)) for tok in tokens]
            tag_ids = None if tags is None else self.tags.encode(tags, where=where)
            bigram_ids = None if self.bigrams is None else self.bigrams.encode(bigrams_of(tokens))
            out.append(Encoded(word_ids, char_ids, tag_ids, bigram_ids))
        return out

    def collate(self, examples: Sequence[Encoded]) -> TaggingBatch:
        """Pad encoded examples into a ``TaggingBatch``."""
        B = len(examples)
        T = max(1, max((len(e.words) for e in examples), default=1))
        C = max(1, max((len(c) for e in examples for c in e.chars), default=1))
        words = torch.zeros(B, T, dtype=torch.long)
        chars = torch.zeros(B, T, C, dtype=torch.long)
        tags = torch.zeros(B, T, dtype=torch.long)
        lengths = torch.tensor([len(e.words) for e in examples], dtype=torch.long)
        labelled = all(e.tags is not None for e in examples)
        bigrams = torch.zeros(B, T, 2, dtype=torch.long) if self.bigrams is not None else None
        for b, e in enumerate(examples):
            n = len(e.words)
            words[b, :n] = torch.tensor(e.words, dtype=torch.long)
            for i, c in enumerate(e.chars):
                chars[b, i, : len(c)] = torch.tensor(c, dtype=torch.long)
            if labelled:
                tags[b, :n] = torch.tensor(e.tags, dtype=torch.long)
            if bigrams is not None and n:
                ids = torch.tensor(e.bigrams, dtype=torch.long)  # (n + 1,)
                bigrams[b, :n] = torch.stack([ids[:-1], ids[1:]], dim=-1)  # (n, 2): left, right
        return TaggingBatch(words, chars, lengths, tags if labelled else None, bigrams)

    @torch.no_grad()
    def predict(self, sentences: Sequence[Sentence | Sequence[str]], batch_size: int = 64) -> list[list[str]]:
        """Tags for each sentence (lists of tokens); empty sentences get empty tag lists."""
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        results: list[list[str]] = [[] for _ in sentences]
        todo = [i for i, s in enumerate(sentences) if len(_unlabelled(s)) > 0]
        todo.sort(key=lambda i: len(_unlabelled(sentences[i])))
        for start in range(0, len(todo), batch_size):
            idx = todo[start : start + batch_size]
            batch = self.collate(self.encode([_unlabelled(sentences[i]) for i in idx]))
            pred = self.decode(batch.to(device)).cpu()
            for row, i in enumerate(idx):
                results[i] = self.tags.decode(pred[row, : int(batch.lengths[row])].tolist())
        self.train(was_training)
        return results

    # ------------------------------------------------------------------ model files
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model folder: config.json, model.safetensors, vocab-{words,chars,tags[,bigrams]}.json."""
        vocabs = {"words": self.words, "chars": self.chars, "tags": self.tags}
        if self.bigrams is not None:
            vocabs["bigrams"] = self.bigrams
        return save_folder(path, KIND, asdict(self.config), self.state_dict(), vocabs)

    @classmethod
    def load(cls, path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> Tagger:
        """A tagger from a folder written by ``save``; it predicts exactly what the saved one did."""
        cfg, weights, vocabs, _ = load_folder(path, KIND, TaggerConfig)
        needed = {"words", "chars", "tags"} | ({"bigrams"} if cfg.bigrams else set())
        missing_vocabs = sorted(needed - set(vocabs))
        if missing_vocabs:
            raise ValueError(f"{path}: the model folder lacks the vocabularies {missing_vocabs}")
        model = cls(cfg, vocabs["words"], vocabs["chars"], vocabs["tags"], vocabs.get("bigrams"))
        return load_weights(model, weights, path).to(map_location).eval()

    def init_word_vectors(self, path: str | os.PathLike[str]) -> int:
        """Initialise word embeddings from a word2vec/GloVe text file; returns how many words were found."""
        return load_vectors(path, self.words, self.word_embedding.weight)


def load_vectors(path: str | os.PathLike[str], vocab: Vocab, weight: Tensor) -> int:
    """Copy vectors for the words of ``vocab`` from a word2vec/GloVe text file into ``weight`` (V, D).

    Lines are ``word v_1 … v_D``; a first line ``N D`` (word2vec's header) is skipped. Words are normalised
    as the vocabulary normalises them; the first vector for a normalised word wins.
    """
    D = weight.shape[1]
    found: set[int] = set()
    with open(path, encoding="utf-8") as f, torch.no_grad():
        for lineno, line in enumerate(f, start=1):
            parts = line.rstrip().split(" ")
            if lineno == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                continue  # word2vec header
            if len(parts) != D + 1:
                raise ValueError(
                    f"{path}:{lineno}: expected a word and {D} numbers (the embedding size), "
                    f"got {len(parts) - 1} numbers"
                )
            token = vocab.normalize(parts[0])
            if token in vocab:
                idx = vocab.encode([token])[0]
                if idx not in found and idx != vocab.unk_id:
                    try:
                        weight[idx] = torch.tensor([float(v) for v in parts[1:]], dtype=weight.dtype)
                    except ValueError:
                        raise ValueError(
                            f"{path}:{lineno}: the vector of {parts[0]!r} has a non-number"
                        ) from None
                    found.add(idx)
    return len(found)


def _mask(lengths: Tensor, T: int) -> Tensor:
    return torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]


def _unlabelled(s: Sentence | Sequence[str]) -> Sequence[str]:
    return s.tokens if isinstance(s, Sentence) else s


def _tag_order(tag: str) -> tuple[int, str, str]:
    """O first, then by type, then by prefix: a stable, readable tag vocabulary."""
    if tag == "O":
        return (0, "", "")
    prefix, _, type_ = tag.partition("-")
    return (1, type_, prefix) if type_ else (1, prefix, "")
