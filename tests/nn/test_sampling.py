"""Temperature, top-k and top-p filtering on known distributions; seeded draws; bad settings."""

from __future__ import annotations

import math

import pytest
import torch

from seqlab.nn.sampling import filter_logits, sample_next

PROBS = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
LOGITS = PROBS.log()


def kept(log_p: torch.Tensor) -> list[int]:
    return torch.isfinite(log_p[0]).nonzero().flatten().tolist()


def test_temperature_scales_the_logits_before_the_softmax():
    z = torch.tensor([[1.0, 2.0, 4.0]])
    torch.testing.assert_close(filter_logits(z, temperature=0.5), (z / 0.5).log_softmax(-1))
    flat = filter_logits(z, temperature=1e6).exp()
    torch.testing.assert_close(flat, torch.full_like(flat, 1 / 3), atol=1e-5, rtol=0)


def test_top_k_keeps_the_k_most_likely_and_renormalises():
    log_p = filter_logits(torch.tensor([[1.0, 3.0, 2.0, 0.0]]), top_k=2)
    assert kept(log_p) == [1, 2]
    e = math.exp(1.0)
    torch.testing.assert_close(log_p.exp()[0, [1, 2]], torch.tensor([e / (e + 1), 1 / (e + 1)]))


def test_top_k_ties_keep_the_lower_ids():
    assert kept(filter_logits(torch.zeros(1, 5), top_k=2)) == [0, 1]


@pytest.mark.parametrize(
    ("p", "expected"),
    [(0.5, [0]), (0.51, [0, 1]), (0.7, [0, 1]), (0.8, [0, 1]), (0.81, [0, 1, 2]), (1.0, [0, 1, 2, 3])],
)
def test_top_p_keeps_the_smallest_set_that_reaches_p(p, expected):
    log_p = filter_logits(LOGITS, top_p=p)
    assert kept(log_p) == expected
    mass = PROBS[0, expected].sum()
    torch.testing.assert_close(log_p.exp()[0, expected], PROBS[0, expected] / mass)


def test_banned_tokens_are_never_drawn():
    z = torch.tensor([[10.0, 0.0, 0.0]])
    draws = sample_next(z.expand(200, 3), banned=[0], generator=torch.Generator().manual_seed(0))
    assert set(draws.tolist()) == {1, 2}


def test_seeded_draws_are_reproducible_and_follow_the_distribution():
    z = LOGITS.expand(4000, 4)
    a = sample_next(z, generator=torch.Generator().manual_seed(3))
    b = sample_next(z, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    freq = torch.bincount(a, minlength=4).float() / 4000
    torch.testing.assert_close(freq, PROBS[0], atol=0.03, rtol=0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"temperature": 0.0}, "temperature > 0, got 0.0; for the most likely token use greedy"),
        ({"temperature": -1}, "temperature > 0"),
        ({"top_k": 0}, "top_k to be a positive integer"),
        ({"top_p": 0.0}, r"top_p in \(0, 1\]"),
        ({"top_p": 1.5}, r"top_p in \(0, 1\]"),
    ],
)
def test_bad_settings_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        filter_logits(LOGITS, **options)
