"""Greedy and beam search decoding for any autoregressive model (Sutskever et al. 2014; Wu et al. 2016).

A decoder generates the target Y = y_1 … y_L one token at a time, and scores it by::

    log p(Y | X) = Σ_j log p(y_j | y_<j, X)

The model enters only through a *step function*::

    step(tokens (N,), state) -> (log_probs (N, V), state, attention (N, S) or None)

``tokens`` are the previous tokens (BOS at the first step); ``log_probs`` are normalised
log-probabilities of the next token (so ≤ 0, e.g. a log-softmax); ``state`` is anything the model needs
— a nested structure of tuples, NamedTuples, lists or dicts whose leaves are tensors with the batch N
on dim 0, or None — and may include per-sentence tensors such as the encoder memory and its mask;
``attention`` is the attention weights used for this step, if any. The decoders reorder the state with
``select_state`` (index_select on dim 0 of every leaf) and ``repeat_state``.

Conventions
-----------
- EOS is part of the output: a hypothesis that emits EOS ends with it, its length counts it, its score
  includes log p(EOS | …), and its attention has a row for it. A hypothesis cut at ``max_length`` has no
  EOS. So for every hypothesis, ``log_prob == Σ_{j < length} log p(tokens[j] | tokens[:j], X)``.
- ``max_length`` is the most tokens generated per sentence, EOS included: an int, or a (B,) tensor
  (e.g. derived from the source lengths).
- Tokens past a hypothesis's length are ``pad_id``; attention rows past it are zeros.
- Ties are broken by index (the lower token id; in beam search the earlier beam, then the lower token id;
  among finished hypotheses, the one found first), so results never depend on the device or on which
  other sentences share the batch.

Beam search
-----------
Hypotheses are ranked by the length-normalised score of GNMT (Wu et al. 2016)::

    score(Y) = log p(Y | X) / lp(Y),        lp(Y) = ((5 + |Y|) / 6)^α        (α = 0: the raw log-prob)

All B sentences are decoded at once, k = ``beam_size`` alive hypotheses each, so the step function sees
N = B·k rows (fewer as sentences finish). One step, per sentence:

1. extend each of the k alive hypotheses by each of the V tokens: k·V candidates with
   log p(prefix) + log p(y | prefix) (at the first step only beam 0, which holds BOS, is real);
2. take the 2k best candidates (all have the same length, so raw and normalised ranks agree);
3. the k best candidates that do not end in EOS are the next alive hypotheses (there are at least k of
   the 2k, as each hypothesis has a single EOS extension);
4. candidates among the k best that end in EOS are *finished*: they are set aside in the sentence's
   list of the ``nbest`` best finished hypotheses (by score). An EOS candidate ranked below k is dropped,
   as a plain top-k beam would have dropped it (the rule of fairseq and Hugging Face).

Stopping rule. After generating t tokens, a sentence stops when either

- t = max_length[b]: its alive hypotheses (t tokens, no EOS) join the finished list as candidates; or
- no alive hypothesis can beat the worst of the ``nbest`` finished ones. Log-probs are ≤ 0, so no
  extension of an alive hypothesis has a higher log p than it, and lp is monotone in |Y|, so every
  hypothesis that can still be finished scores at most
  ``max_alive log p / max(lp(t + 1), lp(max_length[b]))``; the sentence stops when this bound is ≤ the
  worst finished score (a later tie would lose to the earlier hypothesis anyway).

The second rule is exact: the result is the one decoding to ``max_length`` would give (provided the
step's log-probs are ≤ 0, which is not checked). It waits for ``nbest`` finished hypotheses rather than
``beam_size`` (as e.g. Hugging Face's does), which stops earlier with the same result, since every later
hypothesis descends from an alive one. With α > 0 the bound divides by lp(max_length), so with a
generous max_length a sentence may decode to the end. Finished sentences leave the batch, so the step
function only sees the rows still decoding. ``beam_search(beam_size=1, length_penalty=0)`` is
``greedy_decode``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.nn import functional as F

__all__ = [
    "BeamSearchResult",
    "GreedyResult",
    "StepFn",
    "beam_search",
    "gnmt_length_penalty",
    "greedy_decode",
    "repeat_state",
    "select_state",
]

StepFn = Callable[[Tensor, Any], tuple[Tensor, Any, Tensor | None]]


class GreedyResult(NamedTuple):
    tokens: Tensor  # (B, L) long; EOS included when emitted, pad_id past each length
    lengths: Tensor  # (B,) long, EOS included
    scores: Tensor  # (B,) log p(Y | X) = Σ_j log p(y_j | y_<j, X)
    attention: Tensor | None  # (B, L, S): row j = the weights used to produce tokens[:, j]; 0 past lengths


class BeamSearchResult(NamedTuple):
    tokens: Tensor  # (B, n, L) long, best first; EOS included when emitted, pad_id past each length
    lengths: Tensor  # (B, n) long, EOS included; 0 for a missing hypothesis
    scores: Tensor  # (B, n) log p(Y | X) / lp(Y), the ranking score; −inf for a missing hypothesis
    log_prob: Tensor  # (B, n) log p(Y | X) = Σ_j log p(y_j | y_<j, X)
    attention: Tensor | None  # (B, n, L, S): row j = the weights used to produce tokens[..., j]


# ---------------------------------------------------------------------- decoder state as a tree of tensors
def _map_state(fn: Callable[[Tensor], Tensor], state: Any) -> Any:
    """Apply ``fn`` to every tensor leaf, rebuilding tuples, NamedTuples, lists and dicts."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return fn(state)
    if isinstance(state, tuple) and hasattr(state, "_fields"):  # a NamedTuple: same type, same fields
        return type(state)(*(_map_state(fn, s) for s in state))
    if isinstance(state, (tuple, list)):
        return type(state)(_map_state(fn, s) for s in state)
    if isinstance(state, dict):
        return {key: _map_state(fn, value) for key, value in state.items()}
    raise ValueError(
        f"decoder state: expected tensors (batch on dim 0) or None, nested in tuples, NamedTuples, lists "
        f"or dicts, got a leaf of type {type(state).__name__}; close over constants in the step function"
    )


def _leaves(state: Any) -> Iterator[Tensor]:
    """The tensor leaves of ``state``, depth first (the same checks as ``_map_state``)."""
    if isinstance(state, Tensor):
        yield state
    elif isinstance(state, (tuple, list)):
        for s in state:
            yield from _leaves(s)
    elif isinstance(state, dict):
        for s in state.values():
            yield from _leaves(s)
    elif state is not None:
        _map_state(lambda x: x, state)  # raises the ValueError for a bad leaf


def select_state(state: Any, index: Tensor) -> Any:
    """The rows ``index`` (1-D, integer) of every tensor in ``state``: ``x.index_select(0, index)``."""
    if not isinstance(index, Tensor) or index.dim() != 1 or index.is_floating_point():
        got = f"shape {tuple(index.shape)}, dtype {index.dtype}" if isinstance(index, Tensor) else type(index)
        raise ValueError(f"select_state: expected a 1-D integer index tensor, got {got}")
    return _map_state(lambda x: x.index_select(0, index.to(x.device)), state)


def repeat_state(state: Any, k: int) -> Any:
    """Each row of every tensor in ``state`` repeated k times in place: rows b·k … b·k + k − 1 are row b."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"repeat_state: expected k to be a positive integer, got {k!r}")
    return _map_state(lambda x: x.repeat_interleave(k, dim=0), state)


def gnmt_length_penalty(length: Tensor, alpha: float) -> Tensor:
    """GNMT's lp(Y) = ((5 + |Y|) / 6)^α (Wu et al. 2016), elementwise on a float tensor of lengths."""
    return ((5.0 + length) / 6.0) ** alpha


# ---------------------------------------------------------------------- greedy
@torch.no_grad()
def greedy_decode(
    step: StepFn,
    state: Any,
    *,
    bos_id: int,
    eos_id: int,
    max_length: int | Tensor,
    pad_id: int = 0,
    batch_size: int | None = None,
) -> GreedyResult:
    """The most probable next token at every step, until EOS or ``max_length``.

    Args:
        step: ``step(tokens (N,), state) -> (log_probs (N, V), state, attention (N, S) or None)``.
        state: the initial decoder state, batch B on dim 0 of every tensor.
        bos_id, eos_id: the first input token; the token that ends a hypothesis.
        max_length: the most tokens generated, EOS included: an int or a (B,) integer tensor.
        pad_id: fills ``tokens`` past each length.
        batch_size: B, needed only when neither ``state`` nor ``max_length`` holds a tensor.
    """
    name = "greedy_decode"
    _check_ids(name, bos_id=bos_id, eos_id=eos_id, pad_id=pad_id)
    B, max_len = _batch_and_max_length(name, state, max_length, batch_size)
    L_max = int(max_len.max())
    active = torch.arange(B, device=max_len.device)  # sentences still decoding
    tokens = torch.full((B,), bos_id, dtype=torch.long, device=max_len.device)  # (B_a,) previous tokens
    shapes = _StepShapes()
    out_tokens = out_lengths = scores = out_attention = None
    for t in range(L_max):
        log_probs, state, attention = _call_step(name, step, tokens, state, active.numel(), shapes, eos_id)
        if out_tokens is None:  # allocate on the model's device and dtype
            device = log_probs.device
            active, max_len = active.to(device), max_len.to(device)
            out_tokens = torch.full((B, L_max), pad_id, dtype=torch.long, device=device)
            out_lengths = torch.zeros(B, dtype=torch.long, device=device)
            scores = torch.zeros(B, dtype=log_probs.dtype, device=device)
            if attention is not None:
                out_attention = attention.new_zeros(B, L_max, attention.shape[1])
        y = log_probs.argmax(dim=1)  # (B_a,), the first maximum on ties
        best = log_probs.gather(1, y[:, None]).squeeze(1)  # (B_a,)
        _check_not_nan(name, best)
        out_tokens[active, t] = y
        out_lengths[active] = t + 1
        scores[active] += best
        if out_attention is not None:
            out_attention[active, t] = attention
        going = (y != eos_id) & (max_len[active] > t + 1)  # (B_a,)
        if not bool(going.any()):
            break
        rows = going.nonzero().squeeze(1)
        active, tokens, state = active[rows], y[rows], select_state(state, rows)
    L = int(out_lengths.max())
    return GreedyResult(
        out_tokens[:, :L], out_lengths, scores, None if out_attention is None else out_attention[:, :L]
    )


# ---------------------------------------------------------------------- beam search
class _Finished(NamedTuple):
    """The ``nbest`` best finished hypotheses of every sentence, best first (−inf: an empty slot)."""

    scores: Tensor  # (B, n) log p / lp
    log_prob: Tensor  # (B, n)
    lengths: Tensor  # (B, n)
    tokens: Tensor  # (B, n, L_max)
    attention: Tensor | None  # (B, n, L_max, S)


@torch.no_grad()
def beam_search(
    step: StepFn,
    state: Any,
    *,
    beam_size: int,
    bos_id: int,
    eos_id: int,
    max_length: int | Tensor,
    length_penalty: float = 0.0,
    nbest: int = 1,
    pad_id: int = 0,
    batch_size: int | None = None,
) -> BeamSearchResult:
    """The ``nbest`` best hypotheses of a beam of ``beam_size`` per sentence (see the module docstring).

    Args:
        step: ``step(tokens (N,), state) -> (log_probs (N, V), state, attention (N, S) or None)``.
        state: the initial decoder state, batch B on dim 0 of every tensor (repeated k times here).
        beam_size: k, alive hypotheses per sentence.
        bos_id, eos_id: the first input token; the token that ends a hypothesis.
        max_length: the most tokens generated, EOS included: an int or a (B,) integer tensor.
        length_penalty: α of lp(Y) = ((5 + |Y|) / 6)^α; 0 ranks by the raw log-prob.
        nbest: n ≤ k, the hypotheses returned per sentence, best first. A sentence with fewer than n
            possible hypotheses gets score −inf, length 0 and pad tokens in the missing slots.
        pad_id: fills ``tokens`` past each length.
        batch_size: B, needed only when neither ``state`` nor ``max_length`` holds a tensor.
    """
    name = "beam_search"
    alpha, lp = length_penalty, gnmt_length_penalty
    for arg, value in (("beam_size", beam_size), ("nbest", nbest)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected {arg} to be a positive integer, got {value!r}")
    if nbest > beam_size:
        raise ValueError(
            f"{name}: expected nbest ≤ beam_size, got nbest={nbest} > beam_size={beam_size}; "
            f"a beam of {beam_size} keeps at most {beam_size} hypotheses alive, so raise beam_size"
        )
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha != alpha:
        raise ValueError(f"{name}: expected length_penalty to be a real number α, got {alpha!r}")
    _check_ids(name, bos_id=bos_id, eos_id=eos_id, pad_id=pad_id)
    B, max_len = _batch_and_max_length(name, state, max_length, batch_size)
    k, n = beam_size, nbest
    L_max = int(max_len.max())
    ninf = float("-inf")

    state = repeat_state(state, k)  # (B·k, …): row b·k + j is beam j of sentence b
    active = torch.arange(B, device=max_len.device)  # (B_a,) the sentences still decoding
    tokens = torch.full((B * k,), bos_id, dtype=torch.long, device=max_len.device)  # (B_a·k,)
    shapes = _StepShapes()
    alive_lp = history = attention_history = finished = None
    for t in range(L_max):  # generating token t + 1
        B_a = active.numel()
        log_probs, state, attention = _call_step(name, step, tokens, state, B_a * k, shapes, eos_id)
        V = log_probs.shape[1]
        if alive_lp is None:  # first step: allocate on the model's device and dtype
            device, dtype = log_probs.device, log_probs.dtype
            active, max_len = active.to(device), max_len.to(device)
            alive_lp = torch.full((B, k), ninf, dtype=dtype, device=device)
            alive_lp[:, 0] = 0.0  # only beam 0 (BOS) is real; the others must not yield duplicates
            history = torch.empty(B, k, 0, dtype=torch.long, device=device)  # (B_a, k, t) alive tokens
            S = None if attention is None else attention.shape[1]
            if S is not None:
                attention_history = attention.new_empty(B, k, 0, S)  # (B_a, k, t, S)
            finished = _Finished(
                torch.full((B, n), ninf, dtype=dtype, device=device),
                torch.full((B, n), ninf, dtype=dtype, device=device),
                torch.zeros(B, n, dtype=torch.long, device=device),
                torch.full((B, n, L_max), pad_id, dtype=torch.long, device=device),
                None if S is None else attention.new_zeros(B, n, L_max, S),
            )

        # 1–2. extend every alive hypothesis by every token; the 2k best candidates, best first
        cand_lp = alive_lp[:, :, None] + log_probs.view(B_a, k, V)  # (B_a, k, V) log p(prefix + y)
        top_lp, top = _topk_stable(cand_lp.view(B_a, k * V), 2 * k)  # (B_a, 2k)
        _check_not_nan(name, top_lp[:, 0])
        parent, y = top // V, top % V  # (B_a, 2k) beam index of the prefix, new token
        is_eos = y == eos_id
        cand_tokens = torch.cat([_gather_beams(history, parent), y[:, :, None]], dim=2)  # (B_a, 2k, t+1)
        cand_attention = None
        if attention_history is not None:
            weights = _gather_beams(attention.view(B_a, k, -1), parent)  # (B_a, 2k, S) that produced y
            cand_attention = torch.cat([_gather_beams(attention_history, parent), weights[:, :, None]], dim=2)

        # 3. the next alive hypotheses: the k best candidates not ending in EOS (stable: rank order kept)
        keep = torch.sort(is_eos.to(torch.uint8), dim=1, stable=True).indices[:, :k]  # (B_a, k) ranks
        alive_lp = top_lp.gather(1, keep)  # (B_a, k), best first (V ≥ 2, so none of them ends in EOS)
        is_alive = torch.zeros_like(is_eos).scatter_(1, keep, True)  # (B_a, 2k)

        # 4. finished: EOS among the k best; and, at a sentence's max_length, its alive hypotheses
        at_max = max_len[active] == t + 1  # (B_a,)
        in_top_k = torch.arange(2 * k, device=device)[None, :] < k
        done_now = torch.isfinite(top_lp) & ((is_eos & in_top_k) | (is_alive & at_max[:, None]))
        if bool(done_now.any()):
            length = torch.full((), t + 1, dtype=dtype, device=device)
            cand_scores = torch.where(done_now, top_lp / lp(length, alpha), ninf)  # (B_a, 2k)
            _keep_best_finished(finished, active, cand_scores, top_lp, cand_tokens, cand_attention, pad_id)

        # 5. stop a sentence at its max_length, or when no alive hypothesis can beat its worst finished
        best_alive = alive_lp[:, 0]  # (B_a,)
        longest = torch.maximum(
            lp(torch.full_like(best_alive, t + 2), alpha), lp(max_len[active].to(dtype), alpha)
        )
        bound = best_alive / longest  # ≥ the score of any hypothesis that can still finish
        worst = finished.scores[active, n - 1]  # (B_a,), −inf while fewer than n are finished
        stop = at_max | (best_alive == ninf) | (bound <= worst)
        if bool(stop.all()):
            break

        # the sentences still decoding; their state rows reordered to follow each alive beam's parent
        rows = (~stop).nonzero().squeeze(1)  # (B_a',) positions in the active list
        alive_parent = parent.gather(1, keep)[rows]  # (B_a', k)
        state = select_state(state, (rows[:, None] * k + alive_parent).view(-1))  # (B_a'·k, …)
        active, alive_lp = active[rows], alive_lp[rows]
        history = _gather_beams(cand_tokens, keep)[rows]  # (B_a', k, t+1)
        if attention_history is not None:
            attention_history = _gather_beams(cand_attention, keep)[rows]  # (B_a', k, t+1, S)
        tokens = y.gather(1, keep)[rows].view(-1)  # (B_a'·k,)

    # missing hypotheses (fewer than n possible): length 0, pad tokens
    missing = ~torch.isfinite(finished.scores)  # (B, n)
    lengths = finished.lengths.masked_fill(missing, 0)
    L = int(lengths.max())
    out_tokens = finished.tokens[:, :, :L].masked_fill(missing[:, :, None], pad_id)
    out_attention = None if finished.attention is None else finished.attention[:, :, :L]
    return BeamSearchResult(out_tokens, lengths, finished.scores, finished.log_prob, out_attention)


def _keep_best_finished(
    finished: _Finished,
    active: Tensor,
    cand_scores: Tensor,
    cand_lp: Tensor,
    cand_tokens: Tensor,
    cand_attention: Tensor | None,
    pad_id: int,
) -> None:
    """Merge, in place, the new finished candidates (score > −inf) of the sentences ``active`` into the
    n best kept in ``finished``.

    cand_*: (B_a, 2k, …) with t + 1 tokens. The kept list stays sorted, best first; on ties the hypothesis
    already kept wins, then the better-ranked candidate.
    """
    has_new = torch.isfinite(cand_scores).any(dim=1)  # (B_a,) only these sentences change
    rows = has_new.nonzero().squeeze(1)
    b = active[rows]  # (R,) sentence ids
    n, L_max = finished.tokens.shape[1:]
    t1 = cand_tokens.shape[2]
    scores, pick = _topk_stable(torch.cat([finished.scores[b], cand_scores[rows]], dim=1), n)  # (R, n)
    length = torch.full_like(cand_lp[rows], t1, dtype=torch.long)  # (R, 2k)
    log_prob = torch.cat([finished.log_prob[b], cand_lp[rows]], dim=1).gather(1, pick)
    lengths = torch.cat([finished.lengths[b], length], dim=1).gather(1, pick)
    padded = F.pad(cand_tokens[rows], (0, L_max - t1), value=pad_id)
    tokens = _gather_beams(torch.cat([finished.tokens[b], padded], dim=1), pick)  # (R, n, L_max)
    finished.scores[b], finished.log_prob[b], finished.lengths[b] = scores, log_prob, lengths
    finished.tokens[b] = tokens
    if finished.attention is not None:
        padded = F.pad(cand_attention[rows], (0, 0, 0, L_max - t1))  # (R, 2k, L_max, S)
        finished.attention[b] = _gather_beams(torch.cat([finished.attention[b], padded], dim=1), pick)


def _gather_beams(x: Tensor, index: Tensor) -> Tensor:
    """``x[r, index[r, j]]`` for x (R, k, …) and index (R, m): (R, m, …)."""
    expanded = index.view(*index.shape, *([1] * (x.dim() - 2))).expand(*index.shape, *x.shape[2:])
    return x.gather(1, expanded)


def _topk_stable(x: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The k largest entries of each row of x (R, C), best first, ties broken by the lower index.

    ``torch.topk`` leaves the order of equal values unspecified, and which of them it keeps at the
    boundary. The k it returns are put in (value, index) order here; a row where the (k+1)-th largest
    equals the k-th (an equal value was left out, perhaps with a lower index: rare exact ties, or −inf
    beams at the first step) is redone with a stable sort of the whole row.
    """
    C = x.shape[1]
    k = min(k, C)
    values, index = x.topk(min(k + 1, C), dim=1)  # one more, to see a tie at the boundary
    tied = values[:, k] == values[:, k - 1] if k < C else torch.zeros_like(values[:, 0], dtype=torch.bool)
    index, by_index = index[:, :k].sort(dim=1)  # the k in index order, then stably by value
    values, by_value = values[:, :k].gather(1, by_index).sort(dim=1, descending=True, stable=True)
    index = index.gather(1, by_value)
    if bool(tied.any()):
        rows = tied.nonzero().squeeze(1)
        row_values, row_index = torch.sort(x[rows], dim=1, descending=True, stable=True)
        values[rows], index[rows] = row_values[:, :k], row_index[:, :k]
    return values, index


def _check_not_nan(name: str, best: Tensor) -> None:
    """NaN ranks above every number in topk and argmax, so checking the chosen values is enough."""
    if bool(torch.isnan(best).any()):
        raise ValueError(f"{name}: the step function returned NaN log-probabilities")


# ---------------------------------------------------------------------- validation
def _check_ids(name: str, **ids: int) -> None:
    for arg, value in ids.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name}: expected {arg} to be an integer token id, got {value!r}")
        if arg != "pad_id" and value < 0:
            raise ValueError(f"{name}: expected {arg} to be a token id ≥ 0, got {value}")


def _batch_and_max_length(
    name: str, state: Any, max_length: int | Tensor, batch_size: int | None
) -> tuple[int, Tensor]:
    """B (from batch_size, max_length or the state, which must agree) and max_length as a (B,) tensor."""
    leaves = list(_leaves(state))
    sources = []
    if batch_size is not None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"{name}: expected batch_size to be a positive integer, got {batch_size!r}")
        sources.append(("batch_size", batch_size))
    if isinstance(max_length, Tensor):
        if max_length.dim() != 1 or max_length.is_floating_point() or max_length.dtype == torch.bool:
            raise ValueError(
                f"{name}: expected max_length to be an int or a (B,) integer tensor, "
                f"got shape {tuple(max_length.shape)}, dtype {max_length.dtype}"
            )
        sources.append(("max_length", max_length.shape[0]))
    elif isinstance(max_length, bool) or not isinstance(max_length, int):
        raise ValueError(
            f"{name}: expected max_length to be an int or a (B,) integer tensor, got {max_length!r}"
        )
    for leaf in leaves:
        if leaf.dim() == 0:
            raise ValueError(f"{name}: expected every state tensor to have the batch on dim 0, got a scalar")
        sources.append(("the state", leaf.shape[0]))
    if not sources:
        raise ValueError(f"{name}: cannot tell the batch size: the state holds no tensor; pass batch_size")
    B = sources[0][1]
    for what, size in sources:
        if size != B:
            raise ValueError(
                f"{name}: batch sizes disagree: {sources[0][0]} says {B}, {what} has {size} on dim 0"
            )
    if B == 0:
        raise ValueError(f"{name}: expected at least one sentence, got a batch of 0")
    device = leaves[0].device if leaves else torch.device("cpu")
    if isinstance(max_length, Tensor):
        max_len = max_length.to(device=device, dtype=torch.long)
    else:
        max_len = torch.full((B,), max_length, dtype=torch.long, device=device)
    if bool((max_len < 1).any()):
        raise ValueError(f"{name}: expected max_length ≥ 1, got {max_len.min().item()}")
    return B, max_len


class _StepShapes:
    """V, and S (None: no attention), as first returned by the step function: later steps must agree."""

    def __init__(self) -> None:
        self.first = True
        self.V: int | None = None
        self.S: int | None = None


def _call_step(
    name: str, step: StepFn, tokens: Tensor, state: Any, N: int, shapes: _StepShapes, eos_id: int
) -> tuple[Tensor, Any, Tensor | None]:
    """Run the step function on N rows and check what it returns."""
    out = step(tokens, state)
    if not isinstance(out, tuple) or len(out) != 3:
        got = f"a tuple of {len(out)}" if isinstance(out, tuple) else type(out).__name__
        raise ValueError(f"{name}: the step function must return (log_probs, state, attention), got {got}")
    log_probs, state, attention = out
    if not isinstance(log_probs, Tensor) or log_probs.dim() != 2 or log_probs.shape[0] != N:
        got = tuple(log_probs.shape) if isinstance(log_probs, Tensor) else type(log_probs).__name__
        raise ValueError(
            f"{name}: expected step log_probs of shape ({N}, V), one row per input token, got {got}"
        )
    if not log_probs.is_floating_point():
        raise ValueError(f"{name}: expected floating-point step log_probs, got dtype {log_probs.dtype}")
    if attention is not None and (not isinstance(attention, Tensor) or attention.dim() != 2):
        got = tuple(attention.shape) if isinstance(attention, Tensor) else type(attention).__name__
        raise ValueError(f"{name}: expected step attention of shape ({N}, S) or None, got {got}")
    V, S = log_probs.shape[1], None if attention is None else attention.shape[1]
    if shapes.first:
        if V < 2 or eos_id >= V:
            raise ValueError(
                f"{name}: the step function's vocabulary has V={V} tokens; eos_id={eos_id} must be one of "
                "them and at least one other token is needed"
            )
        shapes.first, shapes.V, shapes.S = False, V, S
    elif V != shapes.V:
        raise ValueError(f"{name}: the step function's vocabulary changed from V={shapes.V} to V={V}")
    if S != shapes.S or (attention is not None and attention.shape[0] != N):
        want = "None" if shapes.S is None else f"({N}, {shapes.S})"
        got = "None" if attention is None else tuple(attention.shape)
        raise ValueError(f"{name}: expected step attention {want} (as at the first step), got {got}")
    for leaf in _leaves(state):
        if leaf.dim() == 0 or leaf.shape[0] != N:
            raise ValueError(
                f"{name}: expected every tensor of the step's state to have the batch {N} on dim 0, "
                f"got shape {tuple(leaf.shape)}"
            )
    return log_probs, state, attention
