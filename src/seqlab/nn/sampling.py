"""Sampling the next token from a model's logits: temperature, top-k and top-p (nucleus).

For logits z ∈ R^V, the sampling distribution is::

    p_i ∝ exp(z_i / τ)                          temperature τ > 0: τ < 1 sharpens, τ > 1 flattens
    top-k: keep the k largest p_i               (Fan et al. 2018)
    top-p: keep the smallest set of most-probable tokens whose mass reaches p ∈ (0, 1]
                                                (Holtzman et al. 2020, "The curious case of neural text
                                                degeneration"); the token that crosses p is kept
    renormalise over the kept tokens, draw one

Ties at the top-k boundary keep the lower token ids (a stable sort), so a seeded draw is reproducible.
``banned`` token ids (e.g. ``<pad>``, ``<unk>``) get probability 0 before anything else.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["check_sampling", "filter_logits", "sample_next"]


def check_sampling(temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Raise a ValueError unless temperature > 0, top_k ≥ 1 (or None) and top_p ∈ (0, 1] (or None)."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
        raise ValueError(
            f"sampling: expected temperature > 0, got {temperature!r}; for the most likely token use "
            "greedy decoding instead of temperature 0"
        )
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"sampling: expected top_k to be a positive integer or None, got {top_k!r}")
    if top_p is not None and (
        isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1
    ):
        raise ValueError(f"sampling: expected top_p in (0, 1] or None, got {top_p!r}")


def filter_logits(
    logits: Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    banned: Sequence[int] = (),
) -> Tensor:
    """(N, V) logits → (N, V) log-probabilities of the sampling distribution (−inf where filtered out)."""
    check_sampling(temperature, top_k, top_p)
    z = logits.float() / temperature  # (N, V)
    if banned:
        z = z.clone()
        z[:, list(banned)] = float("-inf")
    if top_k is not None and top_k < z.shape[-1]:
        order = torch.sort(z, dim=-1, descending=True, stable=True).indices  # (N, V)
        drop = order[:, top_k:]
        z = z.scatter(-1, drop, float("-inf"))
    if top_p is not None and top_p < 1:
        probs, order = torch.sort(z.softmax(-1), dim=-1, descending=True, stable=True)  # (N, V)
        before = probs.cumsum(-1) - probs  # mass of the tokens ranked above each one
        drop_sorted = before >= top_p  # the token that crosses p has before < p, so it stays
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        z = z.masked_fill(drop, float("-inf"))
    return z.log_softmax(-1)


def sample_next(
    logits: Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    banned: Sequence[int] = (),
    generator: torch.Generator | None = None,
) -> Tensor:
    """One token id per row of (N, V) ``logits``, drawn from the filtered distribution → (N,)."""
    log_p = filter_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p, banned=banned)
    return torch.multinomial(log_p.exp(), 1, generator=generator).squeeze(-1)
