"""Embedding initialisation and word dropout: the bound, the zero padding row, the rate, padding kept."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqlab.nn import drop_words, init_embedding


def test_init_embedding_bound_and_padding():
    torch.manual_seed(0)
    embedding = nn.Embedding(1000, 48, padding_idx=3)
    init_embedding(embedding)
    W = embedding.weight.detach()
    assert W.abs().max() <= (3 / 48) ** 0.5
    assert torch.equal(W[3], torch.zeros(48))
    assert abs(W.var().item() - 1 / 48) < 0.05 / 48  # U(±a) has variance a²/3 = 1/E


def test_drop_words_rate_keeps_padding_and_returns_input_at_zero():
    torch.manual_seed(0)
    ids = torch.randint(2, 50, (200, 100))
    ids[:, 80:] = 0  # padding
    dropped = drop_words(ids, 0.25, unk_id=1, pad_id=0)
    assert torch.equal(dropped[:, 80:], ids[:, 80:])
    changed = dropped != ids
    assert (dropped[changed] == 1).all()
    assert abs(changed[:, :80].float().mean().item() - 0.25) < 0.01
    assert drop_words(ids, 0.0, unk_id=1, pad_id=0) is ids
    with pytest.raises(ValueError, match=r"expected p in \[0, 1\), got 1.0"):
        drop_words(ids, 1.0, unk_id=1, pad_id=0)
