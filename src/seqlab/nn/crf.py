"""Linear-chain conditional random field (Lafferty et al. 2001), the "CRF" of BiLSTM-CRF (Huang et al. 2015).

For emissions e ∈ R^{T×K} (one score per step and tag, e.g. from a BiLSTM) and a tag sequence y, the score
and the distribution are::

    s(y) = start[y_1] + Σ_t e[t, y_t] + Σ_{t>1} transitions[y_{t-1}, y_t] + end[y_T]
    p(y | e) = exp(s(y)) / Z,      log Z = log Σ_y' exp(s(y'))

``transitions[from, to]``. Forbidden moves (e.g. O → I-PER under IOB2) are −inf, never a large negative
number, so no decoder can ever produce them and they carry exactly zero probability.

Algorithms (B sequences at once, any mask):

- log Z by the forward algorithm: α_1 = start + e_1,
  α_t[j] = log Σ_i exp(α_{t-1}[i] + transitions[i, j]) + e_t[j],  log Z = log Σ_j exp(α_T[j] + end[j]);
- the negative log-likelihood log Z − s(y_gold) (the training loss);
- per-token marginals p(y_t = k | e) by forward–backward (they are ∂ log Z / ∂e, computed as such);
- Viterbi (max-product): the best path and its score, as a (B, T) tensor; and the k best paths (n-best).

Fast path. ``log_partition`` runs a custom autograd function: the forward recursion in scaled
probability space (per step one (B, K)×(K, K) product with exp(transitions), one product with the
precomputed exp(emissions), one normalisation), and a hand-written backward pass (the backward
recursion, run as a forward recursion over each sequence reversed within its length, then the
gradients in closed form: marginals for the emissions, expected transition counts for the transitions).
``forward_reference`` / ``viterbi_reference`` are the textbook log-space loops; tests assert the two
agree, and both agree with brute-force enumeration.

Masks. Any boolean (B, T) mask: right-padded with unsorted lengths, but also masks whose first steps are
off (a leading [CLS] or BOS token) or with holes. The CRF runs over each sequence's masked-on positions in
order; outputs are placed back at those positions and masked-off positions of decoded tags hold −1.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor, nn
from torch.autograd.function import FunctionCtx, once_differentiable

__all__ = ["CRF", "PAD_TAG", "Allowed"]

PAD_TAG = -1  # decoded tags at masked-off positions
REDUCTIONS = ("mean", "sum", "token_mean", "none")


class Allowed(NamedTuple):
    """Which moves a tag scheme allows (see ``seqlab.data.schemes.allowed_transitions``)."""

    transitions: Tensor  # (K, K) bool, [from, to]
    start: Tensor  # (K,) bool: may begin a sequence
    end: Tensor  # (K,) bool: may end a sequence


class CRF(nn.Module):
    """A linear-chain CRF over ``num_tags`` tags, with optional hard constraints.

    Args:
        num_tags: K.
        allowed: moves the tag scheme allows; every other transition, start and end is −inf.
    """

    def __init__(self, num_tags: int, *, allowed: Allowed | None = None) -> None:
        super().__init__()
        if isinstance(num_tags, bool) or not isinstance(num_tags, int) or num_tags < 1:
            raise ValueError(f"CRF: expected num_tags to be a positive integer, got {num_tags!r}")
        K = self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.empty(K, K))  # [from, to]
        self.start_transitions = nn.Parameter(torch.empty(K))
        self.end_transitions = nn.Parameter(torch.empty(K))
        if allowed is None:
            allowed = Allowed(
                torch.ones(K, K, dtype=torch.bool),
                torch.ones(K, dtype=torch.bool),
                torch.ones(K, dtype=torch.bool),
            )
        self._check_allowed(allowed)
        self.register_buffer("allowed_transitions", allowed.transitions.clone().bool())
        self.register_buffer("allowed_start", allowed.start.clone().bool())
        self.register_buffer("allowed_end", allowed.end.clone().bool())
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(−0.1, 0.1), as pytorch-crf and most BiLSTM-CRF code."""
        for p in (self.transitions, self.start_transitions, self.end_transitions):
            nn.init.uniform_(p, -0.1, 0.1)

    def _check_allowed(self, allowed: Allowed) -> None:
        K = self.num_tags
        shapes = [tuple(t.shape) if isinstance(t, Tensor) else None for t in allowed]
        if shapes != [(K, K), (K,), (K,)]:
            raise ValueError(
                f"CRF: expected allowed = (transitions ({K}, {K}), start ({K},), end ({K},)) "
                f"boolean tensors, got shapes {shapes}"
            )
        if not allowed.start.any() or not allowed.end.any():
            raise ValueError("CRF: the constraints allow no tag to start or to end a sequence")

    def extra_repr(self) -> str:
        constrained = not bool(
            self.allowed_transitions.all() and self.allowed_start.all() and self.allowed_end.all()
        )
        return f"num_tags={self.num_tags}" + (", constrained" if constrained else "")

    # ------------------------------------------------------------------ effective scores
    def scores(self) -> tuple[Tensor, Tensor, Tensor]:
        """(transitions, start, end) with forbidden moves set to −inf."""
        ninf = float("-inf")
        return (
            self.transitions.masked_fill(~self.allowed_transitions, ninf),
            self.start_transitions.masked_fill(~self.allowed_start, ninf),
            self.end_transitions.masked_fill(~self.allowed_end, ninf),
        )

    # ------------------------------------------------------------------ public API
    def forward(
        self, emissions: Tensor, tags: Tensor, mask: Tensor | None = None, reduction: str = "mean"
    ) -> Tensor:
        """The negative log-likelihood of ``tags``: log Z − s(tags). See ``nll``."""
        return self.nll(emissions, tags, mask, reduction)

    def nll(
        self, emissions: Tensor, tags: Tensor, mask: Tensor | None = None, reduction: str = "mean"
    ) -> Tensor:
        """log Z − s(tags) per sequence; ``reduction``: mean (over sequences), sum, token_mean or none."""
        if reduction not in REDUCTIONS:
            raise ValueError(f"CRF.nll: unknown reduction {reduction!r}; known: {', '.join(REDUCTIONS)}")
        e, y, lengths, _ = self._prepare(emissions, mask, tags)
        nll = _log_partition(e, lengths, *self.scores()) - _path_score(e, y, lengths, *self.scores())
        if reduction == "none":
            return nll
        if reduction == "sum":
            return nll.sum()
        if reduction == "token_mean":
            return nll.sum() / lengths.sum().clamp(min=1)
        return nll.mean()

    def log_partition(self, emissions: Tensor, mask: Tensor | None = None) -> Tensor:
        """log Z per sequence, (B,)."""
        e, _, lengths, _ = self._prepare(emissions, mask)
        return _log_partition(e, lengths, *self.scores())

    def score(self, emissions: Tensor, tags: Tensor, mask: Tensor | None = None) -> Tensor:
        """s(tags) per sequence, (B,)."""
        e, y, lengths, _ = self._prepare(emissions, mask, tags)
        return _path_score(e, y, lengths, *self.scores())

    def marginals(self, emissions: Tensor, mask: Tensor | None = None) -> Tensor:
        """p(y_t = k | emissions), (B, T, K); zeros at masked-off positions."""
        with torch.enable_grad():
            e = emissions.detach().requires_grad_()
            (grad,) = torch.autograd.grad(self.log_partition(e, mask).sum(), e)  # ∂ log Z / ∂e = marginals
        return grad

    def viterbi(self, emissions: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The best path: tags (B, T) (−1 where masked off) and its score s(y*) (B,)."""
        with torch.no_grad():
            e, _, lengths, order = self._prepare(emissions, mask)
            tags, scores = _viterbi(e.detach(), lengths, *(s.detach() for s in self.scores()))
        return _scatter_tags(tags[:, None], order, emissions.shape[1])[:, 0], scores

    def nbest(self, emissions: Tensor, k: int, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The k best paths, best first: tags (B, k, T) and scores (B, k).

        When a sequence has fewer than k paths, the missing ones have score −inf and tags −1.
        """
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"CRF.nbest: expected k to be a positive integer, got {k!r}")
        with torch.no_grad():
            e, _, lengths, order = self._prepare(emissions, mask)
            tags, scores = _nbest(e.detach(), lengths, k, *(s.detach() for s in self.scores()))
        return _scatter_tags(tags, order, emissions.shape[1]), scores

    # ------------------------------------------------------------------ references (slow, obvious)
    def forward_reference(self, emissions: Tensor, mask: Tensor | None = None) -> Tensor:
        """log Z by the textbook log-space forward algorithm, one step at a time."""
        e, _, lengths, _ = self._prepare(emissions, mask)
        return _log_partition_logspace(e, lengths, *self.scores())

    @torch.no_grad()
    def viterbi_reference(self, emissions: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Viterbi with per-sequence Python backtracking: slow, obviously correct."""
        e, _, lengths, order = self._prepare(emissions, mask)
        transitions, start, end = self.scores()
        B, T = e.shape[:2]
        out = torch.full((B, T), PAD_TAG, dtype=torch.long, device=e.device)
        best = torch.zeros(B, dtype=e.dtype, device=e.device)
        for b in range(B):
            n = int(lengths[b])
            if n == 0:
                continue
            delta, back = start + e[b, 0], []
            for t in range(1, n):
                cand = delta[:, None] + transitions  # (K_from, K_to)
                delta, idx = cand.max(dim=0)
                delta = delta + e[b, t]
                back.append(idx)
            final = delta + end
            best[b], last = final.max(dim=0)
            path = [int(last)]
            for idx in reversed(back):
                path.append(int(idx[path[-1]]))
            out[b, :n] = torch.tensor(path[::-1], device=e.device)
        return _scatter_tags(out[:, None], order, emissions.shape[1])[:, 0], best

    # ------------------------------------------------------------------ validation and masks
    def _prepare(self, emissions: Tensor, mask: Tensor | None, tags: Tensor | None = None):
        """Validate; move each sequence's masked-on steps to the front (stable), so the algorithms see
        right-padded sequences with ``lengths``. Returns (emissions, tags, lengths, order)."""
        K = self.num_tags
        if not isinstance(emissions, Tensor) or emissions.dim() != 3 or emissions.shape[-1] != K:
            got = tuple(emissions.shape) if isinstance(emissions, Tensor) else type(emissions).__name__
            raise ValueError(f"CRF: expected emissions of shape (B, T, {K}), got {got}")
        if not emissions.is_floating_point():
            raise ValueError(f"CRF: expected floating-point emissions, got dtype {emissions.dtype}")
        B, T, _ = emissions.shape
        if mask is None:
            mask = torch.ones(B, T, dtype=torch.bool, device=emissions.device)
        elif not isinstance(mask, Tensor) or tuple(mask.shape) != (B, T):
            got = tuple(mask.shape) if isinstance(mask, Tensor) else type(mask).__name__
            raise ValueError(f"CRF: expected a mask of shape ({B}, {T}) like the emissions, got {got}")
        mask = mask.to(device=emissions.device, dtype=torch.bool)
        if tags is not None:
            if not isinstance(tags, Tensor) or tuple(tags.shape) != (B, T):
                got = tuple(tags.shape) if isinstance(tags, Tensor) else type(tags).__name__
                raise ValueError(f"CRF: expected tags of shape ({B}, {T}) like the emissions, got {got}")
            if tags.is_floating_point():
                raise ValueError(f"CRF: expected integer tags, got dtype {tags.dtype}")
            valid = tags[mask]
            if valid.numel() and (int(valid.min()) < 0 or int(valid.max()) >= K):
                bad = valid[(valid < 0) | (valid >= K)][0].item()
                raise ValueError(f"CRF: tags must lie in [0, {K}) on masked-on steps, got {bad}")
        lengths = mask.sum(dim=1)  # (B,)
        if bool((mask[:, :-1] < mask[:, 1:]).any()) or not bool(mask[:, 0].all()):  # not right-padded
            order = torch.argsort((~mask).to(torch.int8), dim=1, stable=True)  # masked-on steps first
            emissions = emissions.gather(1, order[:, :, None].expand(-1, -1, K))
            tags = None if tags is None else tags.gather(1, order)
        else:
            order = None
        if tags is not None:
            on = torch.arange(T, device=tags.device)[None, :] < lengths[:, None]
            tags = torch.where(on, tags, torch.zeros_like(tags)).long()
        return emissions, tags, lengths, order


# ---------------------------------------------------------------------- algorithms on right-padded input
def _path_score(
    e: Tensor, y: Tensor, lengths: Tensor, transitions: Tensor, start: Tensor, end: Tensor
) -> Tensor:
    """s(y) for right-padded sequences, vectorised over B and T."""
    T = e.shape[1]
    on = torch.arange(T, device=e.device)[None, :] < lengths[:, None]  # (B, T)
    emit = e.gather(2, y[:, :, None]).squeeze(2).masked_fill(~on, 0.0).sum(1)
    pairs = on[:, 1:]  # step t-1 → t is inside the sequence
    trans = transitions[y[:, :-1], y[:, 1:]]
    trans = torch.where(pairs, trans, torch.zeros_like(trans)).sum(1)
    last = y.gather(1, (lengths - 1).clamp(min=0)[:, None]).squeeze(1)
    edges = start[y[:, 0]] + end[last]
    return torch.where(lengths > 0, emit + trans + edges, torch.zeros_like(emit))


def _log_partition(e: Tensor, lengths: Tensor, transitions: Tensor, start: Tensor, end: Tensor) -> Tensor:
    """log Z: the fast scaled recursion, with the log-space one for any sequence where it underflows.

    Underflow needs a step whose every allowed tag scores ~87 nats (float32) below the best tag, which
    only hard constraints can force; it is detected (non-finite result) and those rows are redone.
    """
    log_z, bad = _LogPartition.apply(e, lengths, transitions, start, end)
    if bool(bad.any()):
        rows = bad.nonzero().squeeze(1)
        exact = _log_partition_logspace(e[rows], lengths[rows], transitions, start, end)
        log_z = log_z.index_put((rows,), exact)
    return log_z


def _log_partition_logspace(e: Tensor, lengths: Tensor, transitions: Tensor, start: Tensor, end: Tensor):
    """The textbook forward algorithm in log space (differentiable by autograd)."""
    alpha = start + e[:, 0]  # (B, K)
    for t in range(1, e.shape[1]):
        nxt = torch.logsumexp(alpha[:, :, None] + transitions, dim=1) + e[:, t]  # (B, K)
        alpha = torch.where((t < lengths)[:, None], nxt, alpha)
    log_z = torch.logsumexp(alpha + end, dim=1)
    return torch.where(lengths > 0, log_z, torch.zeros_like(log_z))


def _scaled_forward(P: Tensor, E: Tensor, a0: Tensor) -> tuple[Tensor, Tensor]:
    """Scaled forward recursion in probability space.

    P (B, T, K) = exp(e − max_k e) per step, E (K, K) = exp(transitions − c), a0 (B, K) the unnormalised
    first step. Returns every normalised α̂_t (B, T, K) and the normalisers (B, T): α_t = α̂_t Π_{s≤t} n_s.
    Runs over every step; callers read each sequence at its own length.
    """
    B, T = P.shape[:2]
    alphas = torch.empty_like(P)
    norms = torch.empty(B, T, dtype=P.dtype, device=P.device)
    a = a0
    for t, (P_t, out_t) in enumerate(zip(P.unbind(1), alphas.unbind(1))):
        if t > 0:
            a = torch.mm(a, E).mul_(P_t)  # Σ_i α̂_{t-1}[i] E[i, j] · P_t[j]
        n = a.sum(dim=1, keepdim=True)  # (B, 1)
        torch.div(a, n, out=out_t)
        norms[:, t] = n[:, 0]
        a = out_t
    return alphas, norms


class _LogPartition(torch.autograd.Function):
    """log Z with a hand-written backward: ∂ log Z/∂e = marginals, ∂ log Z/∂transitions = expected counts."""

    @staticmethod
    def forward(
        ctx: FunctionCtx, e: Tensor, lengths: Tensor, transitions: Tensor, start: Tensor, end: Tensor
    ) -> Tensor:
        T, K = e.shape[1:]
        on = torch.arange(T, device=e.device)[None, :] < lengths[:, None]  # (B, T)
        e = e.masked_fill(~on[:, :, None], 0.0)  # padded steps: harmless numbers
        e_max = e.amax(dim=2, keepdim=True)  # (B, T, 1)
        P = torch.exp(e - e_max)
        c = _finite_max(transitions)
        E = torch.exp(transitions - c)  # −inf → 0
        s_max = _finite_max(start)
        a0 = torch.exp(start - s_max) * P[:, 0]
        end_max = _finite_max(end)
        end_w = torch.exp(end - end_max)  # (K,)

        alphas, norms = _scaled_forward(P, E, a0)
        last = (lengths - 1).clamp(min=0)
        alpha_last = alphas.gather(1, last[:, None, None].expand(-1, 1, K)).squeeze(1)  # (B, K)
        z_last = alpha_last @ end_w  # (B,)
        steps = torch.arange(T, device=e.device)[None, :]
        log_norms = torch.where(steps < lengths[:, None], norms.log(), torch.zeros_like(norms)).sum(1)
        emit_shift = torch.where(on, e_max[:, :, 0], torch.zeros_like(norms)).sum(1)
        # log Z = Σ_t (log n_t + max e_t) + (L − 1)·c + max start + max end + log(α̂_L · exp(end − max))
        log_z = log_norms + emit_shift + (lengths - 1).clamp(min=0) * c + s_max + end_max + z_last.log()
        log_z = torch.where(lengths > 0, log_z, torch.zeros_like(log_z))
        bad = ~torch.isfinite(log_z)  # underflow; the caller redoes these rows in log space
        log_z = log_z.masked_fill(bad, 0.0)
        ctx.save_for_backward(P, E, end_w, alphas, lengths, transitions, bad)
        ctx.mark_non_differentiable(bad)
        return log_z, bad

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad: Tensor, _grad_bad: Tensor | None):
        P, E, end_w, alphas, lengths, transitions, bad = ctx.saved_tensors
        B, T, K = P.shape
        grad = grad.masked_fill(bad, 0.0)
        # β̂_t = E (P_{t+1} ⊙ β̂_{t+1}), β̂_{L−1} = exp(end), normalised per step. Run forward over each
        # sequence reversed within its length, so that every sequence starts at reversed step 0.
        P_rev = _reverse(P, lengths)
        E_T = E.T.contiguous()
        betas_rev = torch.empty_like(P)
        b = end_w.expand(B, K)
        for s, out_s in enumerate(betas_rev.unbind(1)):
            if s > 0:
                b = torch.mm(b * P_rev[:, s - 1], E_T)  # Σ_j E[i, j] P_{t+1}[j] β̂_{t+1}[j]
            torch.div(b, b.sum(dim=1, keepdim=True), out=out_s)
            b = out_s
        betas = _reverse(betas_rev, lengths)  # (B, T, K)
        # marginals γ_t ∝ α̂_t ⊙ β̂_t, normalised per step (both factors' scales cancel)
        gamma = alphas * betas
        gamma = gamma / gamma.sum(dim=2, keepdim=True).clamp(min=torch.finfo(P.dtype).tiny)
        on = torch.arange(T, device=P.device)[None, :] < lengths[:, None]
        gamma = (gamma * on[:, :, None]).masked_fill(bad[:, None, None], 0.0)
        g = grad[:, None, None]
        d_e = gamma * g
        # pairwise marginals ξ_t[i, j] ∝ α̂_{t-1}[i] E[i, j] P_t[j] β̂_t[j], normalised per step
        left = alphas[:, :-1]  # (B, T−1, K)
        right = P[:, 1:] * betas[:, 1:]
        pair_on = on[:, 1:]
        z = torch.einsum("bti,ij,btj->bt", left, E, right).clamp(min=torch.finfo(P.dtype).tiny)
        w = grad[:, None] * pair_on / z  # (B, T−1)
        counts = torch.einsum("bti,btj->ij", left * w[:, :, None], right) * E  # Σ_b g_b Σ_t ξ_t
        d_trans = torch.where(torch.isfinite(transitions), counts, torch.zeros_like(counts))
        first = gamma[:, 0] * (lengths > 0)[:, None]
        d_start = (first * grad[:, None]).sum(0)
        last = (lengths - 1).clamp(min=0)
        gamma_last = gamma.gather(1, last[:, None, None].expand(-1, 1, K)).squeeze(1)
        d_end = (gamma_last * grad[:, None]).sum(0)
        return d_e, None, d_trans, d_start, d_end


def _finite_max(x: Tensor) -> Tensor:
    """max over the finite entries (0 if there are none), as a 0-dim tensor."""
    m = x.masked_fill(~torch.isfinite(x), float("-inf")).amax()
    return torch.where(torch.isfinite(m), m, torch.zeros_like(m))


def _reverse(x: Tensor, lengths: Tensor) -> Tensor:
    T = x.shape[1]
    t = torch.arange(T, device=x.device)[None, :]
    index = torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)
    return x.gather(1, index[:, :, None].expand_as(x))


def _viterbi(e: Tensor, lengths: Tensor, transitions: Tensor, start: Tensor, end: Tensor):
    """Max-product on right-padded input: tags (B, T) (−1 past each length) and best scores (B,).

    Forward, per step: δ_t = max_i (δ_{t-1}[i] + transitions[i, ·]) + e_t, as candidates laid out
    (K_from, B, K_to) and a max over the leading axis *without* indices (6x cheaper than with them on
    CPU); every step is run and each sequence read at its own last step. Backtracking recomputes the
    argmax only for the chosen tag at each step, from the stored δ — in NumPy on the CPU.
    """
    B, T, K = e.shape
    e_tm = e.transpose(0, 1).contiguous()  # (T, B, K)
    history = torch.empty(T, B, K, dtype=e.dtype, device=e.device)  # δ_t
    best_prev = torch.empty(B, K, dtype=e.dtype, device=e.device)
    cand = torch.empty(K, B, K, dtype=e.dtype, device=e.device)  # contiguous: the max is a slab reduction
    torch.add(start, e_tm[0], out=history[0])
    trans = transitions[:, None, :]  # (K_from, 1, K_to)
    for t in range(1, T):
        torch.add(history[t - 1].T[:, :, None], trans, out=cand)
        torch.amax(cand, dim=0, out=best_prev)
        torch.add(best_prev, e_tm[t], out=history[t])
    last = (lengths - 1).clamp(min=0)
    final = history.gather(0, last[None, :, None].expand(1, -1, K)).squeeze(0) + end  # (B, K)
    best, tag = final.max(dim=1)
    best = torch.where(lengths > 0, best, torch.zeros_like(best))
    if e.device.type == "cpu":
        out = _backtrack_numpy(history.numpy(), transitions.numpy(), tag.numpy(), lengths.numpy())
        return torch.from_numpy(out), best
    out = torch.full((T, B), PAD_TAG, dtype=torch.long, device=e.device)
    for t in range(T - 1, -1, -1):
        inside = t < lengths
        torch.where(inside, tag, out[t], out=out[t])
        if t > 0:  # the predecessor of the chosen tag: argmax_i δ_{t-1}[i] + transitions[i, tag]
            prev = (history[t - 1] + transitions[:, tag].T).argmax(dim=1)
            tag = torch.where(inside, prev, tag)
    return out.T, best


def _backtrack_numpy(history: np.ndarray, transitions: np.ndarray, tag: np.ndarray, lengths: np.ndarray):
    T, B, _ = history.shape
    out = np.full((B, T), PAD_TAG, dtype=np.int64)
    tag = tag.copy()
    for t in range(T - 1, -1, -1):
        inside = t < lengths
        out[inside, t] = tag[inside]
        if t > 0:
            prev = (history[t - 1] + transitions[:, tag].T).argmax(axis=1)
            tag = np.where(inside, prev, tag)
    return out


def _nbest(e: Tensor, lengths: Tensor, k: int, transitions: Tensor, start: Tensor, end: Tensor):
    """k-best Viterbi on right-padded input: tags (B, k, T) (−1 past each length) and scores (B, k)."""
    B, T, K = e.shape
    ninf = float("-inf")
    # delta[b, j, r]: score of the r-th best path ending in tag j at step t
    delta = torch.full((B, K, k), ninf, dtype=e.dtype, device=e.device)
    delta[:, :, 0] = start + e[:, 0]
    back_tag = torch.zeros(B, T, K, k, dtype=torch.long, device=e.device)
    back_rank = torch.zeros(B, T, K, k, dtype=torch.long, device=e.device)
    history = torch.empty(B, T, K, k, dtype=e.dtype, device=e.device)
    history[:, 0] = delta
    for t in range(1, T):
        cand = delta[:, :, None, :] + transitions[None, :, :, None]  # (B, K_from, K_to, k)
        cand = cand.permute(0, 2, 1, 3).reshape(B, K, K * k)  # (B, K_to, K_from·k)
        top, idx = cand.topk(k, dim=2)  # (B, K_to, k)
        delta = top + e[:, t, :, None]
        back_tag[:, t] = idx // k
        back_rank[:, t] = idx % k
        history[:, t] = delta
    last = (lengths - 1).clamp(min=0)
    final = history.gather(1, last[:, None, None, None].expand(-1, 1, K, k)).squeeze(1)  # (B, K, k)
    final = (final + end[None, :, None]).reshape(B, K * k)
    scores, idx = final.topk(min(k, K * k), dim=1)  # (B, k')
    tag, rank = idx // k, idx % k
    out = torch.full((B, k, T), PAD_TAG, dtype=torch.long, device=e.device)
    for t in range(T - 1, -1, -1):  # backtrack; a sequence starts at its own last step
        inside = (t < lengths)[:, None]  # (B, 1)
        out[:, :, t] = torch.where(inside, tag, out[:, :, t])
        if t > 0:
            at = tag * k + rank  # (B, k) index into the (K_to, k) grid of step t
            prev_tag = back_tag[:, t].reshape(B, K * k).gather(1, at)
            prev_rank = back_rank[:, t].reshape(B, K * k).gather(1, at)
            tag = torch.where(inside, prev_tag, tag)
            rank = torch.where(inside, prev_rank, rank)
    valid = torch.isfinite(scores)
    out = torch.where(valid[:, :, None], out, torch.full_like(out, PAD_TAG))
    empty = (lengths == 0)[:, None]  # one path, the empty one, scoring 0
    first = torch.arange(scores.shape[1], device=e.device)[None, :] == 0
    scores = torch.where(empty, torch.where(first, 0.0, ninf).to(scores.dtype), scores)
    return out, scores


def _scatter_tags(tags: Tensor, order: Tensor | None, T: int) -> Tensor:
    """Put tags decoded on compacted sequences back at their original positions. tags: (B, k, T)."""
    if order is None:
        return tags
    out = torch.full_like(tags, PAD_TAG)
    return out.scatter(2, order[:, None, :].expand_as(tags), tags)
