"""Attention against the formulas written out per example, position by position."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

from seqlab.nn import ATTENTION_KINDS, Attention, AttentionMemory

B, S, HQ, HK, A = 3, 5, 4, 6, 7
LENGTHS = [5, 2, 1]  # unsorted would do too; one row has a single real position


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def sizes(kind: str) -> tuple[int, int, int | None]:
    """(query_size, key_size, attention_size) for a kind: dot needs Hq = Hk, only additive kinds take A."""
    if kind == "dot":
        return HK, HK, None
    return HQ, HK, (A if kind in ("bahdanau", "concat") else None)


def make(kind: str) -> Attention:
    attention = Attention(kind, *sizes(kind)).double()
    with torch.no_grad():
        for p in attention.parameters():
            p.uniform_(-1.0, 1.0)
    return attention


def inputs(kind: str):
    Hq, Hk, _ = sizes(kind)
    query = torch.randn(B, Hq, dtype=torch.float64)
    keys = torch.randn(B, S, Hk, dtype=torch.float64)
    mask = torch.arange(S)[None, :] < torch.tensor(LENGTHS)[:, None]
    return query, keys, mask


def reference(attention: Attention, s: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One example: s (Hq,), h (n, Hk) its real positions only. The module docstring's equations."""
    kind = attention.kind
    e = []
    for i in range(h.shape[0]):
        if kind == "bahdanau":  # vᵀ tanh(W s + U h_i)
            W, U, v = attention.W.weight, attention.U.weight, attention.v.weight[0]
            e_i = torch.dot(v, torch.tanh(W @ s + U @ h[i]))
        elif kind == "dot":  # sᵀ h_i
            e_i = torch.dot(s, h[i])
        elif kind == "general":  # sᵀ W_a h_i
            e_i = torch.dot(s, attention.W_a.weight @ h[i])
        else:  # concat: vᵀ tanh(W_a [s; h_i])
            e_i = torch.dot(attention.v.weight[0], torch.tanh(attention.W_a.weight @ torch.cat([s, h[i]])))
        e.append(e_i)
    e = torch.stack(e)
    alpha = torch.exp(e) / torch.exp(e).sum()
    c = sum(alpha[i] * h[i] for i in range(h.shape[0]))
    return c, alpha


@pytest.mark.parametrize("kind", ATTENTION_KINDS)
def test_matches_the_formulas_per_example(kind):
    attention = make(kind)
    query, keys, mask = inputs(kind)
    memory = attention.prepare(keys, mask)
    assert isinstance(memory, AttentionMemory)
    context, weights = attention(query, memory)
    assert context.shape == (B, sizes(kind)[1]) and weights.shape == (B, S)
    for b, n in enumerate(LENGTHS):
        c, alpha = reference(attention, query[b], keys[b, :n])
        torch.testing.assert_close(context[b], c)
        torch.testing.assert_close(weights[b, :n], alpha)


@pytest.mark.parametrize("kind", ATTENTION_KINDS)
def test_weights_sum_to_one_and_are_exactly_zero_on_padding(kind):
    attention = make(kind)
    query, keys, mask = inputs(kind)
    _, weights = attention(query, attention.prepare(keys, mask))
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(B, dtype=torch.float64))
    assert (weights[~mask] == 0).all()
    assert (weights[mask] > 0).all()
    assert (attention.score(query, attention.prepare(keys, mask))[~mask] == float("-inf")).all()


@pytest.mark.parametrize("kind", ATTENTION_KINDS)
def test_padding_does_not_change_results(kind):
    attention = make(kind)
    query, keys, mask = inputs(kind)
    context, weights = attention(query, attention.prepare(keys, mask))
    # the same batch with 3 more garbage positions, masked, inserted in the middle of the padding
    garbage = 1e3 * torch.randn(B, 3, keys.shape[2], dtype=torch.float64)
    padded_keys = torch.cat([keys, garbage], dim=1)
    padded_mask = torch.cat([mask, torch.zeros(B, 3, dtype=torch.bool)], dim=1)
    padded_context, padded_weights = attention(query, attention.prepare(padded_keys, padded_mask))
    torch.testing.assert_close(padded_context, context)
    torch.testing.assert_close(padded_weights[:, :S], weights)
    assert (padded_weights[:, S:] == 0).all()
    # and each row alone, unpadded
    for b, n in enumerate(LENGTHS):
        c, w = attention(query[b : b + 1], attention.prepare(keys[b : b + 1, :n]))
        torch.testing.assert_close(c[0], context[b])
        torch.testing.assert_close(w[0], weights[b, :n])


@pytest.mark.parametrize("kind", ATTENTION_KINDS)
def test_memory_rows_can_be_reordered_like_a_beam(kind):
    attention = make(kind)
    query, keys, mask = inputs(kind)
    memory = attention.prepare(keys, mask)
    index = torch.tensor([2, 0, 0, 1])
    reordered = AttentionMemory(*(None if x is None else x.index_select(0, index) for x in memory))
    context, weights = attention(query[index], reordered)
    expect_context, expect_weights = attention(query, memory)
    torch.testing.assert_close(context, expect_context[index])
    torch.testing.assert_close(weights, expect_weights[index])


class PrepareAndAttend(torch.nn.Module):
    """prepare + forward as one module call, so that functional_call swaps the parameters for both."""

    def __init__(self, attention: Attention, mask: torch.Tensor) -> None:
        super().__init__()
        self.attention, self.mask = attention, mask

    def forward(self, query, keys):
        return self.attention(query, self.attention.prepare(keys, self.mask))


@pytest.mark.parametrize("kind", ATTENTION_KINDS)
def test_gradcheck(kind):
    attention = make(kind)
    query, keys, mask = inputs(kind)
    module = PrepareAndAttend(attention, mask)
    names = [name for name, _ in module.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in module.parameters()]

    def f(query, keys, *params):
        return functional_call(module, dict(zip(names, params)), (query, keys))

    assert torch.autograd.gradcheck(f, (query.requires_grad_(), keys.requires_grad_(), *params))


def test_errors():
    with pytest.raises(ValueError, match=r"unknown kind 'luong'; known: bahdanau, dot, general, concat"):
        Attention("luong", 4, 4)
    with pytest.raises(ValueError, match=r"needs query_size == key_size, got query_size=4"):
        Attention("dot", 4, 6)
    with pytest.raises(ValueError, match=r"expected query_size to be a positive integer, got 0"):
        Attention("general", 0, 6)
    with pytest.raises(ValueError, match=r"expected attention_size to be a positive integer or None, got -1"):
        Attention("bahdanau", 4, 6, attention_size=-1)
    attention = Attention("bahdanau", 4, 6)
    with pytest.raises(ValueError, match=r"expected memory of shape \(B, S, 6\), got \(2, 3, 5\)"):
        attention.prepare(torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match=r"expected memory of shape \(B, S, 6\), got \(3, 6\)"):
        attention.prepare(torch.randn(3, 6))
    with pytest.raises(ValueError, match=r"expected a mask of shape \(2, 3\) like the memory, got \(2, 4\)"):
        attention.prepare(torch.randn(2, 3, 6), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"rows \[1\] have none"):
        attention.prepare(torch.randn(2, 3, 6), torch.tensor([[1, 0, 0], [0, 0, 0]], dtype=torch.bool))
    memory = attention.prepare(torch.randn(2, 3, 6))
    with pytest.raises(ValueError, match=r"expected a query of shape \(2, 4\) .*got \(2, 5\)"):
        attention(torch.randn(2, 5), memory)
    with pytest.raises(ValueError, match=r"expected a query of shape \(2, 4\) .*got \(3, 4\)"):
        attention(torch.randn(3, 4), memory)
    with pytest.raises(ValueError, match=r"call attention.prepare\(memory, mask\)"):
        attention(torch.randn(2, 4), torch.randn(2, 3, 6))


def test_repr_and_default_attention_size():
    assert Attention("bahdanau", 4, 6).attention_size == 4
    assert Attention("general", 4, 6).attention_size is None
    assert Attention("general", 4, 6, attention_size=8).attention_size is None  # ignored: no such layer
    assert "attention_size=8" in repr(Attention("concat", 4, 6, attention_size=8))
