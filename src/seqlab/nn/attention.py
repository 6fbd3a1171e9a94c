"""Attention for encoder–decoder models (Bahdanau et al. 2015; Luong et al. 2015).

The encoder turns the source x_1 … x_S into annotations h_1 … h_S (the *keys*, size Hk). At each target
step the decoder state s (the *query*, size Hq) scores every source position, the scores are normalised
over the source, and the context vector is the weighted average of the annotations::

    e_{t,i} = score(s, h_i)                                   alignment scores     (B, S)
    α_{t,i} = exp(e_{t,i}) / Σ_j exp(e_{t,j})                 attention weights    (B, S)
    c_t     = Σ_i α_{t,i} h_i                                 context vector       (B, Hk)

Score functions (``kind``), with A the attention size::

    bahdanau   e_{t,i} = vᵀ tanh(W s_{t−1} + U h_i)           additive; W: A×Hq, U: A×Hk, v: A
    dot        e_{t,i} = s_tᵀ h_i                             needs Hq = Hk
    general    e_{t,i} = s_tᵀ W_a h_i                         W_a: Hq×Hk
    concat     e_{t,i} = vᵀ tanh(W_a [s_t; h_i])              W_a: A×(Hq+Hk), v: A

``bahdanau`` is Bahdanau et al. (2015, appendix A); ``dot``, ``general`` and ``concat`` are Luong et al.
(2015, §3.1). As in the papers there are no biases.

Which decoder state is the query is the caller's choice, not this module's: Bahdanau attends with the
previous state s_{t−1} *before* the decoder RNN step and feeds c_t into it; Luong attends with the
current state s_t *after* the step and combines the two as h̃_t = tanh(W_c [c_t; s_t]).
``bahdanau`` and ``concat`` are the same family of functions (W_a [s; h] = W_a^s s + W_a^h h); they
differ in parametrisation (and so initialisation), one W_a over the concatenation as in Luong's paper.

Keys are fixed while a sentence is decoded, so the part of the score that depends on h_i alone
(U h_i, W_a h_i, W_a^h h_i) is computed once per source by ``prepare``; ``forward`` then costs one
projection of the query plus the scores. Padding: source positions where ``mask`` is False get
e_{t,i} = −inf, hence α_{t,i} = 0 exactly, and contribute nothing to c_t.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["KINDS", "Attention", "AttentionMemory"]

KINDS = ("bahdanau", "dot", "general", "concat")


class AttentionMemory(NamedTuple):
    """The encoder side of attention, computed once per source by ``Attention.prepare``.

    Every field has the batch on dim 0, so a beam search can reorder or repeat it like any decoder state
    (see ``seqlab.nn.decoding.select_state``).
    """

    keys: Tensor  # (B, S, Hk) the annotations h_i
    projected: Tensor | None  # (B, S, A) U h_i or W_a^h h_i; (B, S, Hq) W_a h_i; None for dot
    mask: Tensor  # (B, S) bool, True at real source positions


class Attention(nn.Module):
    """Attention of a decoder state over encoder annotations: ``prepare`` once, then ``forward`` per step.

    Args:
        kind: the score function, one of ``KINDS`` (see the module docstring).
        query_size: Hq, the size of the decoder state s.
        key_size: Hk, the size of the annotations h_i.
        attention_size: A, the hidden size of the additive scores (``bahdanau`` and ``concat``);
            defaults to ``query_size``. ``dot`` and ``general`` have no such layer and ignore it (so a
            model can pass one setting whatever the kind); their ``attention_size`` attribute is None.

    Example::

        attention = Attention("bahdanau", query_size=H, key_size=2 * H)
        memory = attention.prepare(encoder_outputs, mask)   # (B, S, 2H), (B, S)
        context, weights = attention(s_prev, memory)        # (B, 2H), (B, S)
    """

    def __init__(self, kind: str, query_size: int, key_size: int, attention_size: int | None = None) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"Attention: unknown kind {kind!r}; known: {', '.join(KINDS)}")
        for name, value in (("query_size", query_size), ("key_size", key_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Attention: expected {name} to be a positive integer, got {value!r}")
        additive = kind in ("bahdanau", "concat")
        size = attention_size
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise ValueError(
                f"Attention: expected attention_size to be a positive integer or None, got {size!r}"
            )
        if kind == "dot" and query_size != key_size:
            raise ValueError(
                f"Attention: kind 'dot' scores sᵀh and needs query_size == key_size, got query_size="
                f"{query_size} and key_size={key_size}; use kind 'general' (sᵀ W_a h) for different sizes"
            )
        self.kind, self.query_size, self.key_size = kind, query_size, key_size
        self.attention_size = (attention_size or query_size) if additive else None
        A = self.attention_size
        if kind == "bahdanau":
            self.W = nn.Linear(query_size, A, bias=False)
            self.U = nn.Linear(key_size, A, bias=False)
            self.v = nn.Linear(A, 1, bias=False)
        elif kind == "general":
            self.W_a = nn.Linear(key_size, query_size, bias=False)
        elif kind == "concat":
            self.W_a = nn.Linear(query_size + key_size, A, bias=False)  # columns: [s; h]
            self.v = nn.Linear(A, 1, bias=False)

    def extra_repr(self) -> str:
        size = f", attention_size={self.attention_size}" if self.attention_size is not None else ""
        return f"{self.kind!r}, query_size={self.query_size}, key_size={self.key_size}{size}"

    # ------------------------------------------------------------------ public API
    def prepare(self, memory: Tensor, mask: Tensor | None = None) -> AttentionMemory:
        """The keys and their projection, once per source.

        Args:
            memory: the annotations h_i, (B, S, Hk).
            mask: (B, S), True at real source positions; None for no padding. Every row needs one.
        """
        Hk = self.key_size
        if not isinstance(memory, Tensor) or memory.dim() != 3 or memory.shape[-1] != Hk:
            got = tuple(memory.shape) if isinstance(memory, Tensor) else type(memory).__name__
            raise ValueError(f"Attention.prepare: expected memory of shape (B, S, {Hk}), got {got}")
        B, S, _ = memory.shape
        if mask is None:
            mask = torch.ones(B, S, dtype=torch.bool, device=memory.device)
        elif not isinstance(mask, Tensor) or tuple(mask.shape) != (B, S):
            got = tuple(mask.shape) if isinstance(mask, Tensor) else type(mask).__name__
            raise ValueError(
                f"Attention.prepare: expected a mask of shape ({B}, {S}) like the memory, got {got}"
            )
        mask = mask.to(device=memory.device, dtype=torch.bool)
        empty = (~mask.any(dim=1)).nonzero().flatten().tolist()
        if empty:
            raise ValueError(
                f"Attention.prepare: every row of the mask needs at least one real (True) position, "
                f"rows {empty} have none; attention over an empty source is undefined"
            )
        if self.kind == "bahdanau":
            projected = self.U(memory)  # (B, S, A)
        elif self.kind == "general":
            projected = self.W_a(memory)  # (B, S, Hq)
        elif self.kind == "concat":
            projected = F.linear(memory, self.W_a.weight[:, self.query_size :])  # W_a^h h_i, (B, S, A)
        else:
            projected = None
        return AttentionMemory(memory, projected, mask)

    def forward(self, query: Tensor, memory: AttentionMemory) -> tuple[Tensor, Tensor]:
        """context c_t (B, Hk) and weights α_t (B, S) for the decoder state ``query`` (B, Hq)."""
        e = self.score(query, memory)  # (B, S)
        alpha = torch.softmax(e, dim=1)  # (B, S), exactly 0 where masked
        context = torch.bmm(alpha[:, None, :], memory.keys).squeeze(1)  # Σ_i α_i h_i, (B, Hk)
        return context, alpha

    def score(self, query: Tensor, memory: AttentionMemory) -> Tensor:
        """The alignment scores e_t (B, S), −inf at padding positions."""
        self._check(query, memory)
        if self.kind in ("dot", "general"):
            target = memory.keys if self.kind == "dot" else memory.projected  # h_i or W_a h_i, (B, S, Hq)
            e = torch.bmm(target, query[:, :, None]).squeeze(2)  # sᵀ(·), (B, S)
        else:
            if self.kind == "bahdanau":
                Ws = self.W(query)  # (B, A)
            else:
                Ws = F.linear(query, self.W_a.weight[:, : self.query_size])  # W_a^s s, (B, A)
            e = self.v(torch.tanh(memory.projected + Ws[:, None, :])).squeeze(2)  # (B, S)
        return e.masked_fill(~memory.mask, float("-inf"))

    # ------------------------------------------------------------------ validation
    def _check(self, query: Tensor, memory: AttentionMemory) -> None:
        if not isinstance(memory, AttentionMemory):
            raise ValueError(
                f"Attention: expected memory to be an AttentionMemory, got {type(memory).__name__}; "
                "call attention.prepare(memory, mask) once per source and pass its result"
            )
        B = memory.keys.shape[0]
        Hq = self.query_size
        if not isinstance(query, Tensor) or tuple(query.shape) != (B, Hq):
            got = tuple(query.shape) if isinstance(query, Tensor) else type(query).__name__
            raise ValueError(
                f"Attention: expected a query of shape ({B}, {Hq}) (one decoder state per memory row), "
                f"got {got}"
            )
