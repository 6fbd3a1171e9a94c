"""Language models for generation: next-token prediction over a long text, sampled with control.

The chapter's whole argument rests on next-step prediction: a recurrence reads x_1 … x_t and predicts
x_{t+1}. ``LanguageModel`` is that model over characters or words::

    x_1 … x_T ─► embedding (E) ─► dropout ─► recurrent stack (any registry recurrence, H) ─► dropout
              ─► [projection H → E when the weights are tied] ─► linear ─► logits over V tokens

trained to minimise the cross-entropy −(1/N) Σ_t log p(x_{t+1} | x_≤t), reported as

    loss (nats per token),   ppl = exp(loss),   bpc = loss / ln 2 (bits per character, char models).

Stateful training (truncated BPTT)
----------------------------------
The training text is one long stream of N tokens. It is laid out as B parallel rows of N/B consecutive
tokens (``stream_rows``), and cut along time into windows of L tokens (``bptt``). Window k of every
row continues window k − 1, so the model *carries* its recurrent state from one batch to the next and
detaches it at the boundary: gradients flow back at most L steps, but the state has seen everything
since the start of the row. The first window of an epoch starts from zeros. Validation reads its text the
same way, so each token is predicted from its whole past, as it would be when generating.

With several processes (DDP), each process takes every world-size-th row of each window (a rank-aware
batch sampler), so every row still sees its windows in order.

Weight tying (Press & Wolf 2017; Inan et al. 2017): the output layer reuses the embedding matrix; when
H ≠ E a linear projection H → E comes first.

The Transformer baseline
------------------------
``architecture="transformer"`` swaps the recurrence for torch's ``TransformerEncoder`` with a causal
mask, learned positions and the same embedding/output layers: the chapter's RNN-vs-Transformer
comparison under one training loop. It carries no state between training windows: each is read on its
own, and validation scores each token with at least ``bptt / 2`` tokens of context (windows overlap by
half). Generating, it keeps a key/value cache (``KVCache``): each layer stores the keys and values of every
position read so far, so a new token costs one attention over t cached positions — O(t) work and memory
per token, against the recurrence's O(1) ``step``; the chapter's streaming claim, measurable with
``benchmarks/generation.py``. Its learned positions stop at ``context``: once the cache is full, each new
token re-reads the last ``context`` tokens (the window slides, so every position changes).

Sampling
--------
``generate`` yields tokens as they are produced: it reads the priming text once (one ``forward`` pass),
then feeds each new token through ``step`` (the recurrence, or the Transformer's cache) — never re-running
the prefix. Controls:
temperature, top-k, top-p (``seqlab.nn.sampling``), a seed, ``greedy`` (the most likely token), and
``beam_continue`` for the most likely continuation under beam search (``seqlab.nn.beam_search``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.data import Vocab
from seqlab.data.text import TEXT_LEVELS, join_tokens, text_tokens
from seqlab.nn import beam_search, init_embedding
from seqlab.nn.sampling import check_sampling, sample_next
from seqlab.options import check_choices, check_positive_ints
from seqlab.recurrent import RECURRENCES, Recurrent

from .model_files import load_folder, load_weights, save_folder

__all__ = [
    "ARCHITECTURES",
    "UNKNOWN_POLICIES",
    "KVCache",
    "LMBatch",
    "LanguageModel",
    "LanguageModelConfig",
    "StreamSampler",
    "StreamWindows",
    "stream_loader",
    "stream_rows",
]

KIND = "language_model"
ARCHITECTURES = ("recurrent", "transformer")
UNKNOWN_POLICIES = ("error", "skip", "unk")


@dataclass(frozen=True)
class LanguageModelConfig:
    """Everything that defines a language model: its tokens, architecture and sizes."""

    level: str = "char"  # char | word
    min_freq: int = 1  # rarer training tokens map to <unk>
    architecture: str = "recurrent"  # recurrent | transformer (the baseline of the RNN-vs-Transformer claim)
    recurrence: str = "lstm"  # any registry name
    recurrence_options: dict[str, Any] = field(default_factory=dict)
    embedding_dim: int = 128  # E
    hidden_size: int = 512  # H (the Transformer's d_model)
    num_layers: int = 2
    dropout: float = 0.2  # on the embeddings, between layers, before the output layer
    tie_weights: bool = False  # the output layer reuses the embedding matrix
    num_heads: int = 4  # transformer: attention heads
    context: int = 256  # transformer: the most positions it can attend over (learned positions)

    def __post_init__(self) -> None:
        check_choices(
            self,
            {"level": TEXT_LEVELS, "architecture": ARCHITECTURES, "recurrence": tuple(RECURRENCES)},
        )
        check_positive_ints(
            self, ("min_freq", "embedding_dim", "hidden_size", "num_layers", "num_heads", "context")
        )
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)):
            raise ValueError(f"LanguageModelConfig: expected dropout in [0, 1), got {self.dropout!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"LanguageModelConfig: expected dropout in [0, 1), got {self.dropout!r}")
        if self.architecture == "transformer" and self.hidden_size % self.num_heads:
            raise ValueError(
                f"LanguageModelConfig: the Transformer's hidden_size {self.hidden_size} must be divisible "
                f"by num_heads {self.num_heads}"
            )


class LMBatch(NamedTuple):
    """One window of the token stream: predict ``targets`` from ``inputs``."""

    inputs: Tensor  # (B, L) token ids
    targets: Tensor  # (B, L) the next token of each input
    first: bool  # the first window of the stream: start from the zero state
    skip: int = 0  # leading positions that are context only (not scored)


# ------------------------------------------------------------------------------------------ batching
def stream_rows(ids: Sequence[int] | Tensor, batch_size: int) -> Tensor:
    """A token stream (N,) laid out as (B, N // B) rows of consecutive tokens (the tail is dropped)."""
    ids = torch.as_tensor(ids, dtype=torch.long)
    n = ids.numel() // batch_size
    if n < 2:
        raise ValueError(
            f"stream_rows: {ids.numel()} tokens are too few for {batch_size} rows of at least 2 tokens; "
            "use a smaller batch size or more text"
        )
    return ids[: n * batch_size].view(batch_size, n)  # (B, N/B)


class StreamWindows(torch.utils.data.Dataset):
    """Consecutive windows of ``length`` tokens over (B, N) rows; item k is window k (an ``LMBatch``).

    ``overlap`` > 0 starts each window ``overlap`` tokens early and marks those tokens context-only
    (``skip``), for models that carry no state (the Transformer): every scored token then has at least
    ``overlap`` tokens of context.
    """

    def __init__(self, rows: Tensor, length: int, overlap: int = 0) -> None:
        if not 0 <= overlap < length:
            raise ValueError(f"StreamWindows: expected 0 ≤ overlap < length {length}, got {overlap}")
        self.rows, self.length, self.overlap = rows, length, overlap
        stride = length - overlap
        span = rows.shape[1] - 1  # positions with a next token
        self.starts = [0, *range(length, span, stride)] if overlap else list(range(0, span, length))

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, key: int | tuple[int, int, int]) -> LMBatch:
        k, rank, world = key if isinstance(key, tuple) else (key, 0, 1)
        start = self.starts[k]
        skip = 0
        if self.overlap and k > 0:
            start, skip = start - self.overlap, self.overlap
        end = min(start + self.length, self.rows.shape[1] - 1)
        rows = self.rows[rank::world]
        return LMBatch(rows[:, start:end], rows[:, start + 1 : end + 1], k == 0, skip)


class StreamSampler:
    """Batch sampler for ``StreamWindows``: the windows in order, each as one batch of this process's rows.

    Rank-aware (``num_replicas``, ``rank``), so the training engine gives each process its own rows and
    Lightning does not shuffle or shard the windows.
    """

    def __init__(self, num_windows: int, num_replicas: int = 1, rank: int = 0) -> None:
        self.num_windows, self.num_replicas, self.rank = num_windows, num_replicas, rank

    def __len__(self) -> int:
        return self.num_windows

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        for k in range(self.num_windows):
            yield [(k, self.rank, self.num_replicas)]


def _first(items: list[LMBatch]) -> LMBatch:
    return items[0]


def stream_loader(windows: StreamWindows) -> torch.utils.data.DataLoader:
    """The windows in order, one ``LMBatch`` per step, with a rank-aware ``StreamSampler``."""
    return torch.utils.data.DataLoader(windows, batch_sampler=StreamSampler(len(windows)), collate_fn=_first)


# ------------------------------------------------------------------------------------------ model
class _CausalTransformer(nn.Module):
    """torch's TransformerEncoder with a causal mask and learned positions: (B, L, E) → (B, L, H)."""

    def __init__(self, config: LanguageModelConfig) -> None:
        super().__init__()
        H = config.hidden_size
        self.context = config.context
        self.input = nn.Linear(config.embedding_dim, H) if config.embedding_dim != H else nn.Identity()
        self.positions = nn.Embedding(config.context, H)
        nn.init.normal_(self.positions.weight, std=0.02)
        layer = nn.TransformerEncoderLayer(
            H, config.num_heads, 4 * H, config.dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, config.num_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(H)

    def forward(self, x: Tensor) -> Tensor:
        T = x.shape[1]
        if self.context < T:
            raise ValueError(
                f"LanguageModel: the Transformer attends over at most context={self.context} positions, "
                f"got a window of {T}; use a shorter bptt or a larger context"
            )
        h = self.input(x) + self.positions.weight[:T]  # (B, T, H)
        mask = nn.Transformer.generate_square_subsequent_mask(T, device=x.device, dtype=h.dtype)
        return self.norm(self.encoder(h, mask=mask, is_causal=True))  # (B, T, H)

    @torch.no_grad()
    def extend(self, x: Tensor, cache: KVCache | None = None) -> tuple[Tensor, KVCache]:
        """``forward`` for inference with a key/value cache: (B, T, E) → (B, T, H) and the longer cache.

        Without a cache, x is read from position 0 (T ≤ context, causal); with one, x is the next single
        position (T = 1), attending over everything cached. Each pre-norm layer is written out —
        h += W_o·attention(q, [K; k], [V; v]) with q, k, v = W_qkv·LN₁(h), then h += FFN(LN₂(h)) — on
        ``nn.TransformerEncoderLayer``'s own weights: the same numbers as ``forward`` at every position
        (the tests check it). No dropout: this path is for generating.
        """
        start = 0 if cache is None else cache.length
        B, T, _ = x.shape
        if cache is not None and T != 1:
            raise ValueError(f"LanguageModel: a cached step reads one position at a time, got {T}")
        if start + T > self.context:
            raise ValueError(
                f"LanguageModel: the Transformer attends over at most context={self.context} positions; "
                f"{start} cached + {T} new do not fit"
            )
        h = self.input(x) + self.positions.weight[start : start + T]  # (B, T, H)
        H = h.shape[-1]
        keys, values = [], []
        for i, layer in enumerate(self.encoder.layers):
            attention = layer.self_attn
            heads = attention.num_heads
            qkv = F.linear(layer.norm1(h), attention.in_proj_weight, attention.in_proj_bias)
            q, k, v = (z.view(B, T, heads, H // heads).transpose(1, 2) for z in qkv.chunk(3, -1))
            if cache is not None:  # (B, heads, start + 1, H / heads)
                k = torch.cat([cache.keys[i], k], dim=2)
                v = torch.cat([cache.values[i], v], dim=2)
            keys.append(k)
            values.append(v)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=cache is None and T > 1)
            h = h + attention.out_proj(a.transpose(1, 2).reshape(B, T, H))
            h = h + layer.linear2(layer.activation(layer.linear1(layer.norm2(h))))
        return self.norm(h), KVCache(tuple(keys), tuple(values))


class KVCache(NamedTuple):
    """The Transformer's generation state: per layer, the keys and values of every position read so far,
    each (B, heads, t, H / heads)."""

    keys: tuple[Tensor, ...]
    values: tuple[Tensor, ...]

    @property
    def length(self) -> int:
        """Positions cached (t)."""
        return self.keys[0].shape[2]

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (*self.keys, *self.values))


class LanguageModel(nn.Module):
    """A character or word language model (see the module docstring).

    Build one from text with ``LanguageModel.from_text(text, config)``; train it with
    ``seqlab.training.fit`` on ``StreamWindows`` (``seqlab.tasks.generation_run.train_language_model``
    does both); sample with ``generate`` / ``sample``.
    """

    default_monitor = "loss"

    def __init__(self, config: LanguageModelConfig, vocab: Vocab) -> None:
        super().__init__()
        if vocab.unk is None:
            raise ValueError("LanguageModel: the vocabulary needs an <unk> entry")
        self.config, self.vocab = config, vocab
        V, E, H = len(vocab), config.embedding_dim, config.hidden_size
        self.embedding = nn.Embedding(V, E)
        if config.tie_weights:  # the output layer shares it: unit-norm rows keep the first logits small
            init_embedding(self.embedding)
        # else torch's N(0, 1): for a character LM (2×256 LSTM, Shakespeare) it trains faster than
        # U(±√(3/E)) — train bpc 2.93 against 3.26 after 285 identical steps — as the larger inputs
        # reach the gates through input weights of scale 1/√H
        self.dropout = nn.Dropout(config.dropout)
        if config.architecture == "recurrent":
            self.body: nn.Module = Recurrent(
                config.recurrence,
                E,
                H,
                num_layers=config.num_layers,
                dropout=config.dropout if config.num_layers > 1 else 0.0,
                options=config.recurrence_options,
            )
            out = self.body.output_size
        else:
            self.body = _CausalTransformer(config)
            out = H
        self.projection = nn.Linear(out, E) if config.tie_weights and out != E else None
        self.output = nn.Linear(E if config.tie_weights else out, V)
        if config.tie_weights:
            self.output.weight = self.embedding.weight
        self.banned = [i for i in (vocab.pad_id, vocab.unk_id) if i is not None]
        self._carry: dict[bool, Any] = {}  # training mode → the state carried between windows

    @classmethod
    def from_text(cls, text: str, config: LanguageModelConfig) -> LanguageModel:
        """A new (untrained) model whose vocabulary is the tokens of ``text`` seen ≥ ``min_freq`` times."""
        tokens = text_tokens(text, config.level)
        if not tokens:
            raise ValueError("LanguageModel.from_text: the training text has no tokens")
        vocab = Vocab.build([tokens], min_freq=config.min_freq)
        return cls(config, vocab)

    @property
    def recurrent(self) -> bool:
        return self.config.architecture == "recurrent"

    @property
    def device(self) -> torch.device:
        return self.embedding.weight.device

    # ------------------------------------------------------------------ forward
    def forward(self, tokens: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """(B, T) token ids → logits (B, T, V) and the recurrent state after the last token (None for the
        Transformer)."""
        x = self.dropout(self.embedding(tokens))  # (B, T, E)
        if self.recurrent:
            h, state = self.body(x, state)  # (B, T, H)
        else:
            h, state = self.body(x), None
        return self._logits(h), state

    def _logits(self, h: Tensor) -> Tensor:
        h = self.dropout(h)
        if self.projection is not None:
            h = self.projection(h)
        return self.output(h)  # (..., V)

    def step(self, token: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """One token per sequence, (B,) → logits (B, V) and the new state.

        The state is the recurrence's (O(1) in the tokens read) or, for the Transformer, its ``KVCache``
        (O(t); inference only, and at most ``context`` positions).
        """
        if self.recurrent:
            h, state = self.body.step(self.dropout(self.embedding(token)), state)  # (B, H)
            return self._logits(h), state
        if state is not None and not isinstance(state, KVCache):
            raise ValueError(
                f"LanguageModel.step: a Transformer's state is a KVCache, got {type(state).__name__}"
            )
        h, cache = self.body.extend(self.embedding(token)[:, None], state)  # (B, 1, H)
        return self._logits(h[:, 0]), cache

    # ------------------------------------------------------------------ training protocol
    def _window_nll(self, batch: LMBatch) -> tuple[Tensor, int]:
        """Summed NLL of the batch's scored targets, carrying the state across windows (recurrent)."""
        state = None
        if self.recurrent and not batch.first:
            state = self._carry.get(self.training)
            if state is not None and _batch_of(state) != batch.inputs.shape[0]:
                state = None
        logits, state = self(batch.inputs, state)
        if self.recurrent:
            self._carry[self.training] = _detach(state)
        logits, targets = logits[:, batch.skip :], batch.targets[:, batch.skip :]
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum")
        return nll, targets.numel()

    def training_loss(self, batch: LMBatch) -> Tensor:
        nll, n = self._window_nll(batch)
        return nll / n

    def validation_outputs(self, batch: LMBatch) -> tuple[float, int]:
        nll, n = self._window_nll(batch)
        return float(nll), n

    def validation_metrics(self, outputs: list[tuple[float, int]]) -> dict[str, float]:
        total = sum(nll for nll, _ in outputs)
        n = sum(count for _, count in outputs)
        return self.scores(total / max(n, 1))

    def scores(self, loss: float) -> dict[str, float]:
        """Mean NLL in nats per token → {loss, ppl, and bpc for character models}."""
        out = {"loss": loss, "ppl": math.exp(min(loss, 700.0))}
        if self.config.level == "char":
            out["bpc"] = loss / math.log(2)
        return out

    # ------------------------------------------------------------------ text in and out
    def encode(self, text: str, *, unknown: str = "error", where: str = "text") -> list[int]:
        """``text`` → token ids. Tokens outside the vocabulary: ``unknown="error"`` (a ValueError naming
        the first, with its position), ``"skip"`` (dropped) or ``"unk"`` (mapped to ``<unk>``)."""
        if unknown not in UNKNOWN_POLICIES:
            raise ValueError(f"unknown={unknown!r} is not a policy; known: {', '.join(UNKNOWN_POLICIES)}")
        tokens = text_tokens(text, self.config.level)
        if unknown != "unk":
            missing = [k for k, t in enumerate(tokens) if self.vocab.normalize(t) not in self.vocab]
            if missing and unknown == "error":
                k = missing[0]
                raise ValueError(
                    f"{where}: token {tokens[k]!r} (token {k + 1} of {len(tokens)}) is not in the model's "
                    f"vocabulary of {len(self.vocab)} tokens ({len(missing)} such token(s) in all); pass "
                    "unknown='skip' to drop them or unknown='unk' to read them as <unk>"
                )
            drop = set(missing)
            tokens = [t for k, t in enumerate(tokens) if k not in drop]
        return self.vocab.encode(tokens)

    def decode(self, ids: Sequence[int]) -> str:
        return join_tokens(self.vocab.decode(ids), self.config.level)

    @torch.no_grad()
    def evaluate_text(self, text: str, *, bptt: int = 256, unknown: str = "unk") -> dict[str, float]:
        """Loss, perplexity (and bpc) of ``text`` read as one stream, with state carried across windows
        (recurrent) or windows overlapping by half (Transformer; ``bptt`` is capped at its context)."""
        if not self.recurrent:
            bptt = min(bptt, self.config.context)
        was_training = self.training
        self.eval()
        ids = self.encode(text, unknown=unknown)
        rows = stream_rows(ids, 1).to(self.device)
        windows = StreamWindows(rows, bptt, 0 if self.recurrent else bptt // 2)
        total, n = 0.0, 0
        for k in range(len(windows)):
            nll, count = self._window_nll(windows[k])
            total, n = total + float(nll), n + count
        self.train(was_training)
        return {**self.scores(total / n), "tokens": n}

    # ------------------------------------------------------------------ generation
    def _prime(self, prime: str, unknown: str) -> list[int]:
        ids = self.encode(prime, unknown=unknown, where="prime")
        if not ids:
            raise ValueError(
                "generate: the priming text has no tokens the model knows; give a prime such as '\\n' "
                "or a few words of the training text"
            )
        return ids

    @torch.no_grad()
    def generate(
        self,
        prime: str = "\n",
        *,
        max_tokens: int = 200,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        greedy: bool = False,
        seed: int | None = None,
        unknown: str = "error",
        stop: str | None = None,
    ) -> Iterator[str]:
        """Yield up to ``max_tokens`` new tokens (strings) one by one, continuing ``prime``.

        The prime is read once; each new token goes through ``step`` (recurrent models). ``greedy``
        takes the most likely token; otherwise tokens are drawn with temperature / top-k / top-p from a
        generator seeded with ``seed``. ``stop``: end after producing this text (e.g. ``"\\n\\n"``).
        """
        if not greedy:
            check_sampling(temperature, top_k, top_p)
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0:
            raise ValueError(f"generate: expected max_tokens to be an integer ≥ 0, got {max_tokens!r}")
        was_training = self.training
        self.eval()
        try:
            generator = None
            if seed is not None:
                generator = torch.Generator(device=self.device).manual_seed(seed)
            ids = self._prime(prime, unknown)
            context = torch.tensor([ids], device=self.device)  # (1, P)
            logits, state = self._read(context)  # (1, V)
            recent = ""
            for _ in range(max_tokens):
                if greedy:
                    z = logits.clone()
                    z[:, self.banned] = float("-inf")
                    token = z.argmax(-1)  # (1,)
                else:
                    token = sample_next(
                        logits,
                        temperature=temperature,
                        top_k=top_k,
                        top_p=top_p,
                        banned=self.banned,
                        generator=generator,
                    )
                text = self.vocab.decode([int(token)])[0]
                yield text
                if stop is not None:
                    recent = (recent + text)[-len(stop) :]
                    if recent == stop:
                        return
                if not self.recurrent:  # the window to re-read once the positions run out
                    context = torch.cat([context, token[:, None]], dim=1)[:, -self.config.context :]
                if self.recurrent or state.length < self.config.context:
                    logits, state = self.step(token, state)
                else:  # the Transformer's learned positions are used up: slide the window, re-read it
                    logits, state = self._read(context)
        finally:
            self.train(was_training)

    def _read(self, tokens: Tensor) -> tuple[Tensor, Any]:
        """Read (B, T) tokens from scratch: the logits after the last (B, V) and the state (or cache)."""
        if self.recurrent:
            logits, state = self(tokens)
            return logits[:, -1], state
        h, cache = self.body.extend(self.embedding(tokens))
        return self._logits(h[:, -1]), cache

    def sample(self, prime: str = "\n", **options: Any) -> str:
        """The generated continuation of ``prime`` as one string (see ``generate`` for the options)."""
        return join_tokens(list(self.generate(prime, **options)), self.config.level)

    @torch.no_grad()
    def beam_continue(
        self, prime: str = "\n", *, max_tokens: int = 50, beam_size: int = 5, unknown: str = "error"
    ) -> str:
        """The most likely continuation of ``max_tokens`` tokens under beam search (recurrent models)."""
        if not self.recurrent:
            raise ValueError("LanguageModel.beam_continue: beam search needs a recurrent model")
        was_training = self.training
        self.eval()
        ids = self._prime(prime, unknown)
        state = None
        if len(ids) > 1:
            _, state = self(torch.tensor([ids[:-1]], device=self.device))
        if state is None:
            state = self.body.initial_state(1, self.device, self.embedding.weight.dtype)
        banned = self.banned

        def step(tokens: Tensor, state: Any) -> tuple[Tensor, Any, None]:
            logits, state = self.step(tokens, state)
            logits[:, banned] = float("-inf")
            return logits.log_softmax(-1), state, None

        result = beam_search(
            step,
            state,
            beam_size=beam_size,
            bos_id=ids[-1],
            eos_id=self.vocab.unk_id,  # banned: never produced, so every hypothesis runs to max_tokens
            max_length=max_tokens,
            batch_size=1,
        )
        self.train(was_training)
        return self.decode(result.tokens[0, 0, : int(result.lengths[0, 0])].tolist())

    # ------------------------------------------------------------------ model files
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model folder: config, weights, vocabulary."""
        weights = self.state_dict()
        if self.config.tie_weights:
            del weights["output.weight"]  # the embedding matrix itself (safetensors stores it once)
        return save_folder(path, KIND, asdict(self.config), weights, {"tokens": self.vocab})

    @classmethod
    def load(cls, path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> LanguageModel:
        """A model from a folder written by ``save``; it predicts exactly what the saved one did."""
        cfg, weights, vocabs, _ = load_folder(path, KIND, LanguageModelConfig)
        if "tokens" not in vocabs:
            raise ValueError(f"{path}: the model folder lacks its token vocabulary")
        model = cls(cfg, vocabs["tokens"])
        if cfg.tie_weights:
            weights.setdefault("output.weight", weights.get("embedding.weight"))
        return load_weights(model, weights, path).to(map_location).eval()


def _detach(state: Any) -> Any:
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, tuple):
        items = [_detach(s) for s in state]
        return type(state)(*items) if hasattr(state, "_fields") else tuple(items)
    return state


def _batch_of(state: Any) -> int:
    while not isinstance(state, Tensor):
        state = state[0]
    return state.shape[0]
