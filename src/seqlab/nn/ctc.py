"""CTC decoding: greedy, prefix beam search with optional n-gram shallow fusion, and a brute-force reference.

A CTC model (Graves et al. 2006) emits, at every frame t, a distribution y_t over K symbols: the labels and
a *blank* ∅. An alignment π ∈ {1…K}^T maps to a labeling by B: merge repeated symbols, then drop blanks
(B(a a ∅ a b b) = a a b). The probability of a labeling is the sum over its alignments,
P(l | x) = Σ_{π ∈ B⁻¹(l)} Π_t y_t(π_t).

- ``ctc_greedy_decode``: B(argmax_k y_t(k)) — the best *alignment*'s labeling.
- ``ctc_prefix_beam_search``: the best *labeling*, approximately: keeps the ``beam_size`` best prefixes ℓ,
  each with two probabilities over the frames so far — p_b(ℓ) of the alignments that end in ∅ and p_nb(ℓ)
  of those that end in ℓ's last symbol — and at frame t::

      p_b'(ℓ)   = (p_b(ℓ) + p_nb(ℓ)) · y_t(∅)                  stay, emit ∅
      p_nb'(ℓ)  = p_nb(ℓ) · y_t(ℓ_last)                         stay, repeat the last symbol
      p_nb'(ℓc) = (p_b(ℓ) + p_nb(ℓ)) · y_t(c)    if c ≠ ℓ_last   extend
                =  p_b(ℓ) · y_t(c)               if c = ℓ_last   (a repeat needs a ∅ in between)

  summing (log-sum-exp) the contributions that reach the same prefix. With shallow fusion a prefix is ranked
  by log P_ctc(ℓ) + α log P_LM(ℓ) + β |ℓ| (``lm_weight`` α, ``insertion_bonus`` β); a character LM scores
  each symbol as it is added, a word LM each word when the following space (or the end) completes it.
  Prefixes live in a trie (node ids), so extending one is a dictionary look-up and the LM state of each
  prefix is computed once. The loop is plain Python over floats: a well-trained model's frames are
  peaky, pruning leaves a handful of prefixes and symbols per frame, and NumPy's per-call cost would
  dominate (an earlier vectorised version was 1.9x slower than pyctcdecode; this one is faster — see
  ``benchmarks/ctc_decode.py``).
  Pruning as in pyctcdecode: symbols with log y_t < ``token_min_logp`` are skipped (the frame's best symbol
  never is), and prefixes more than ``beam_prune_logp`` below the frame's best are dropped.
- ``ctc_labeling_log_probs``: the exact log P(l | x) of every labeling by enumerating all K^T alignments —
  the slow, obviously-correct reference the tests hold the beam search to (tiny T and K only).
- ``NgramLM``: a character or word n-gram model trained from text, with interpolated Kneser–Ney-style
  smoothing (absolute discounting; continuation counts for the lower orders), saved as JSON.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from seqlab.data._io import atomic_write_text

__all__ = [
    "LM_UNITS",
    "CTCHypothesis",
    "NgramLM",
    "ctc_collapse",
    "ctc_greedy_decode",
    "ctc_labeling_log_probs",
    "ctc_prefix_beam_search",
]

LM_UNITS = ("char", "word")
_BOS, _EOS = "<s>", "</s>"


# ---------------------------------------------------------------------------------------------- greedy
def ctc_collapse(ids: Sequence[int], blank: int = 0) -> list[int]:
    """B(π): merge repeats, drop blanks — ``ctc_collapse([1, 1, 0, 1, 2, 2]) == [1, 1, 2]``."""
    out, previous = [], None
    for i in ids:
        if i != previous and i != blank:
            out.append(i)
        previous = i
    return out


def ctc_greedy_decode(log_probs: Tensor, lengths: Tensor | None = None, blank: int = 0) -> list[Tensor]:
    """Best-path decoding of (B, T, K) scores: per utterance, the collapsed argmax ids (a 1-D LongTensor)."""
    if log_probs.dim() != 3:
        raise ValueError(
            f"ctc_greedy_decode: expected scores of shape (B, T, K), got {tuple(log_probs.shape)}"
        )
    B, T, _ = log_probs.shape
    if lengths is None:
        lengths = torch.full((B,), T, dtype=torch.long)
    ids = log_probs.argmax(dim=-1)  # (B, T)
    previous = torch.cat([torch.full_like(ids[:, :1], -1), ids[:, :-1]], dim=1)  # (B, T)
    valid = torch.arange(T, device=ids.device)[None, :] < lengths.to(ids.device)[:, None]
    keep = (ids != blank) & (ids != previous) & valid  # (B, T)
    return [ids[b][keep[b]].cpu() for b in range(B)]


# ---------------------------------------------------------------------------------------------- reference
def ctc_labeling_log_probs(log_probs: Tensor | np.ndarray, blank: int = 0) -> dict[tuple[int, ...], float]:
    """Exact log P(l | x) of every labeling l with P > 0, by enumerating all K^T alignments (tiny inputs)."""
    lp = np.asarray(log_probs, dtype=np.float64)
    T, K = lp.shape
    if K**T > 2_000_000:
        raise ValueError(f"ctc_labeling_log_probs: K^T = {K}^{T} alignments is too many to enumerate")
    sums: dict[tuple[int, ...], list[float]] = defaultdict(list)
    for path in itertools.product(range(K), repeat=T):
        sums[tuple(ctc_collapse(path, blank))].append(float(lp[np.arange(T), path].sum()))
    return {label: float(np.logaddexp.reduce(v)) for label, v in sums.items()}


# ---------------------------------------------------------------------------------------------- n-gram LM
class NgramLM:
    """A character or word n-gram language model with interpolated Kneser–Ney-style smoothing.

    P(w | h) = max(c(h w) − d, 0) / c(h) + d · N₁₊(h •) / c(h) · P(w | h'), h' = h without its first
    token, ending in a uniform distribution over the vocabulary and ``</s>``. c are raw counts at the
    highest order and continuation counts (the number of distinct tokens seen before) at lower orders, as
    in Kneser–Ney; an unseen history backs off entirely to h'. Sentences are padded with ``<s>``
    (order − 1 times) and end in ``</s>``. ``unit="char"``: tokens are the characters of a line (spaces
    included); ``unit="word"``: the whitespace-separated words.
    """

    def __init__(
        self,
        order: int,
        unit: str,
        counts: Sequence[dict[tuple[str, ...], dict[str, int]]],
        vocab: Sequence[str],
        discount: float = 0.75,
    ) -> None:
        if unit not in LM_UNITS:
            raise ValueError(f"NgramLM: unknown unit {unit!r}; known: {', '.join(LM_UNITS)}")
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise ValueError(f"NgramLM: expected order to be a positive integer, got {order!r}")
        if not 0.0 < discount < 1.0:
            raise ValueError(f"NgramLM: expected discount in (0, 1), got {discount!r}")
        self.order, self.unit, self.discount = order, unit, float(discount)
        self.counts = [dict(c) for c in counts]  # counts[k]: history of k tokens → {token: count}
        self.totals = [{h: sum(c.values()) for h, c in level.items()} for level in self.counts]
        self.vocab = tuple(vocab)
        self._uniform = 1.0 / (len(self.vocab) + 1)  # + </s>
        self._cache: dict[tuple[tuple[str, ...], str], float] = {}

    @classmethod
    def train(
        cls, lines: Iterable[str], order: int = 5, unit: str = "char", discount: float = 0.75
    ) -> NgramLM:
        """Count the n-grams of ``lines`` (one sentence each; blank lines skipped)."""
        if unit not in LM_UNITS:
            raise ValueError(f"NgramLM.train: unknown unit {unit!r}; known: {', '.join(LM_UNITS)}")
        top: Counter[tuple[str, ...]] = Counter()
        vocab: set[str] = set()
        for line in lines:
            tokens = _tokens(line, unit)
            if not tokens:
                continue
            vocab.update(tokens)
            padded = [_BOS] * (order - 1) + tokens + [_EOS]
            for i in range(order - 1, len(padded)):
                top[tuple(padded[i - order + 1 : i + 1])] += 1
        if not top:
            raise ValueError("NgramLM.train: expected at least one non-blank line of text, got none")
        counts: list[dict[tuple[str, ...], dict[str, int]]] = [defaultdict(dict) for _ in range(order)]
        for gram, n in top.items():
            counts[order - 1][gram[:-1]][gram[-1]] = n
        # continuation counts: c_k(h w) = number of distinct u with c_{k+1}(u h w) > 0
        for k in range(order - 2, -1, -1):
            continuation: Counter[tuple[str, ...]] = Counter()
            for history, following in counts[k + 1].items():
                for w in following:
                    continuation[(*history[1:], w)] += 1
            for gram, n in continuation.items():
                counts[k][gram[:-1]][gram[-1]] = n
        return cls(order, unit, [dict(c) for c in counts], sorted(vocab), discount)

    def log_prob(self, history: Sequence[str], token: str) -> float:
        """ln P(token | the last order − 1 tokens of ``history``) (``history`` may start with ``<s>``)."""
        h = tuple(history)[-(self.order - 1) :] if self.order > 1 else ()
        if len(h) < self.order - 1:
            h = (_BOS,) * (self.order - 1 - len(h)) + h
        key = (h, token)
        if key not in self._cache:
            self._cache[key] = math.log(max(self._prob(h, token), 1e-300))
        return self._cache[key]

    def _prob(self, h: tuple[str, ...], token: str) -> float:
        lower = self._prob(h[1:], token) if h else self._uniform
        following = self.counts[len(h)].get(h)
        if not following:
            return lower
        total = self.totals[len(h)][h]
        d = self.discount
        return max(following.get(token, 0) - d, 0.0) / total + d * len(following) / total * lower

    def sentence_log_prob(self, text: str) -> float:
        """ln P of a whole sentence, ``</s>`` included."""
        tokens = _tokens(text, self.unit)
        history: list[str] = []
        total = 0.0
        for t in [*tokens, _EOS]:
            total += self.log_prob(history, t)
            history.append(t)
        return total

    def save(self, path: str | os.PathLike[str]) -> None:
        data = {
            "format": "seqlab.ngram",
            "order": self.order,
            "unit": self.unit,
            "discount": self.discount,
            "vocab": list(self.vocab),
            "counts": [
                [[list(h), sorted(c.items())] for h, c in sorted(level.items())] for level in self.counts
            ],
        }
        atomic_write_text(path, json.dumps(data, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NgramLM:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"{path}: language model file does not exist") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: not a seqlab n-gram model ({err})") from None
        if not isinstance(data, dict) or data.get("format") != "seqlab.ngram":
            raise ValueError(f"{path}: not a seqlab n-gram model (expected format 'seqlab.ngram')")
        counts = [{tuple(h): dict(c) for h, c in level} for level in data["counts"]]
        return cls(data["order"], data["unit"], counts, data["vocab"], data["discount"])

    # -------------------------------------------------- what the beam search needs
    def start(self) -> tuple:
        """The state before any character: (history, partial word)."""
        return ((), "")

    def advance(self, state: tuple, char: str) -> tuple[tuple, float]:
        """Feed one output *character*; return the new state and the log-probability it adds."""
        history, partial = state
        if self.unit == "char":
            return ((*history, char)[-(self.order - 1) :] if self.order > 1 else (), ""), self.log_prob(
                history, char
            )
        if char != " ":
            return (history, partial + char), 0.0
        if not partial:  # a second space: no new word
            return state, 0.0
        logp = self.log_prob(history, partial)
        return ((*history, partial)[-(self.order - 1) :] if self.order > 1 else (), ""), logp

    def finish(self, state: tuple) -> float:
        """The log-probability of ending here: the last (partial) word, then ``</s>``."""
        history, partial = state
        total = 0.0
        if self.unit == "word" and partial:
            total += self.log_prob(history, partial)
            history = (*history, partial)
        return total + self.log_prob(history, _EOS)


def _tokens(line: str, unit: str) -> list[str]:
    line = " ".join(line.split())
    return list(line) if unit == "char" else line.split()


# ---------------------------------------------------------------------------------------------- beam search
class CTCHypothesis(NamedTuple):
    """One result of ``ctc_prefix_beam_search``, best first."""

    tokens: Tensor  # (L,) the labeling's ids
    score: float  # log P_ctc + α log P_LM + β L: what the beam ranks by
    ctc_log_prob: float  # log P_ctc(labeling) summed over the alignments the beam kept
    lm_log_prob: float  # log P_LM (0 without an LM)


class _Trie:
    """Prefixes as node ids: node 0 is the empty prefix; child[(node, c)] → node."""

    def __init__(self, lm: NgramLM | None) -> None:
        self.child: dict[tuple[int, int], int] = {}
        self.parent, self.last, self.length = [-1], [-1], [0]
        self.lm_state = [lm.start() if lm is not None else None]
        self.lm_score = [0.0]

    def extend(self, node: int, c: int, lm: NgramLM | None, labels: Sequence[str] | None) -> int:
        key = (node, c)
        found = self.child.get(key)
        if found is not None:
            return found
        new = len(self.parent)
        self.child[key] = new
        self.parent.append(node)
        self.last.append(c)
        self.length.append(self.length[node] + 1)
        if lm is not None:
            state, logp = lm.advance(self.lm_state[node], labels[c])
            self.lm_state.append(state)
            self.lm_score.append(self.lm_score[node] + logp)
        else:
            self.lm_state.append(None)
            self.lm_score.append(0.0)
        return new

    def tokens(self, node: int) -> list[int]:
        out = []
        while node > 0:
            out.append(self.last[node])
            node = self.parent[node]
        return out[::-1]


def ctc_prefix_beam_search(
    log_probs: Tensor | np.ndarray,
    *,
    beam_size: int = 16,
    blank: int = 0,
    lm: NgramLM | None = None,
    labels: Sequence[str] | None = None,
    lm_weight: float = 0.5,
    insertion_bonus: float = 0.0,
    token_min_logp: float = -float("inf"),
    beam_prune_logp: float = -float("inf"),
    top: int | None = None,
) -> list[CTCHypothesis]:
    """The best labelings of one utterance's (T, K) log-probabilities, best first (``top`` of them).

    ``lm`` needs ``labels`` (id → character; the blank's entry is ignored). With ``beam_size`` at least the
    number of distinct prefixes and no pruning, the search is exact: each labeling's ``ctc_log_prob`` is
    log P(l | x) (the tests check this against ``ctc_labeling_log_probs``).
    """
    lp = log_probs.detach().cpu().double().numpy() if isinstance(log_probs, Tensor) else np.asarray(log_probs)
    lp = lp.astype(np.float64, copy=False)
    if lp.ndim != 2:
        raise ValueError(f"ctc_prefix_beam_search: expected (T, K) log-probabilities, got shape {lp.shape}")
    K = lp.shape[1]
    if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"ctc_prefix_beam_search: expected beam_size ≥ 1, got {beam_size!r}")
    if not 0 <= blank < K:
        raise ValueError(f"ctc_prefix_beam_search: blank {blank} is not an id of the K={K} symbols")
    if lm is not None and (labels is None or len(labels) != K):
        raise ValueError(
            f"ctc_prefix_beam_search: an LM needs labels, one string per symbol (K={K}), "
            f"got {None if labels is None else len(labels)}"
        )
    alpha = lm_weight if lm is not None else 0.0
    trie = _Trie(lm)
    neg_inf = -math.inf
    # per frame, the symbols worth extending by: above token_min_logp, and the best one always
    symbols = lp.copy()
    symbols[:, blank] = neg_inf
    worth = symbols >= token_min_logp  # (T, K)
    if K > 1:
        worth[np.arange(len(lp)), symbols.argmax(axis=1)] = True
    worth[:, blank] = False
    frames = zip(lp.tolist(), (np.flatnonzero(row).tolist() for row in worth))  # Python floats and ints
    beam: dict[int, tuple[float, float]] = {0: (0.0, neg_inf)}  # trie node → (log p_b, log p_nb)
    for y, candidates in frames:
        nxt: dict[int, list[float]] = {}
        for node, (pb, pnb) in beam.items():
            total = _logaddexp(pb, pnb)
            entry = nxt.setdefault(node, [neg_inf, neg_inf])
            entry[0] = _logaddexp(entry[0], total + y[blank])  # stay, emit ∅
            last = trie.last[node]
            if node:
                entry[1] = _logaddexp(entry[1], pnb + y[last])  # stay, repeat the last symbol
            for c in candidates:  # extend by c (a repeat of the last symbol needs a ∅ in between)
                v = (pb if c == last else total) + y[c]
                if v == neg_inf:
                    continue
                child_entry = nxt.setdefault(trie.extend(node, c, lm, labels), [neg_inf, neg_inf])
                child_entry[1] = _logaddexp(child_entry[1], v)
        scored = [
            (_logaddexp(pb, pnb) + alpha * trie.lm_score[node] + insertion_bonus * trie.length[node], node)
            for node, (pb, pnb) in nxt.items()
        ]
        floor = max(scored)[0] + beam_prune_logp  # as pyctcdecode: hopeless prefixes leave the beam
        scored = [item for item in scored if item[0] >= floor]
        if len(scored) > beam_size:
            scored = heapq.nlargest(beam_size, scored)
        beam = {node: tuple(nxt[node]) for _, node in scored}
    nodes = list(beam)
    ctc = np.array([_logaddexp(*beam[n]) for n in nodes])
    lm_scores = np.array(
        [trie.lm_score[n] + lm.finish(trie.lm_state[n]) if lm is not None else 0.0 for n in nodes]
    )
    lengths = np.array([trie.length[n] for n in nodes], dtype=np.float64)
    final = ctc + alpha * lm_scores + insertion_bonus * lengths
    order = sorted(range(len(nodes)), key=lambda i: (-final[i], trie.tokens(nodes[i])))
    if top is not None:
        order = order[:top]
    return [
        CTCHypothesis(
            torch.tensor(trie.tokens(nodes[i]), dtype=torch.long),
            float(final[i]),
            float(ctc[i]),
            float(lm_scores[i]),
        )
        for i in order
    ]


def _logaddexp(a: float, b: float) -> float:
    """log(eᵃ + eᵇ) for Python floats (−inf allowed): math on two numbers beats a NumPy call ~10x."""
    if a < b:
        a, b = b, a
    if b == -math.inf:
        return a
    return a + math.log1p(math.exp(b - a))
