"""Token embeddings for task models: the initialisation and the two input-side regularisers.

- ``init_embedding``: each entry U(±√(3/d)), so each d-dimensional vector has an expected squared norm
  of 1 (Lample et al. 2016; Ma & Hovy 2016). torch's default N(0, 1) gives vectors of norm ≈ √d, which
  saturates the first LSTM's gates and slows early training.
- ``drop_words``: in training, replace each real token by ``<unk>`` with probability p (word dropout,
  Lample et al. 2016; Iyyer et al. 2015 drop the word altogether). The ``<unk>`` vector learns to stand
  for a word the model has not seen, and the model learns not to lean on any single word.
- Dropout of the embedded vectors (``nn.Dropout`` on (B, T, E)) needs nothing from here.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["drop_words", "init_embedding"]


def init_embedding(embedding: nn.Embedding) -> None:
    """Fill ``embedding.weight`` with U(±√(3/d)) in place; the padding row stays zero."""
    bound = (3.0 / embedding.embedding_dim) ** 0.5
    with torch.no_grad():
        embedding.weight.uniform_(-bound, bound)
        if embedding.padding_idx is not None:
            embedding.weight[embedding.padding_idx].zero_()


def drop_words(ids: Tensor, p: float, *, unk_id: int, pad_id: int) -> Tensor:
    """``ids`` with each non-pad entry replaced by ``unk_id`` with probability ``p`` (a new tensor).

    Call it in training only; ``p = 0`` returns ``ids`` itself.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"drop_words: expected p in [0, 1), got {p!r}")
    if p == 0.0:
        return ids
    drop = (torch.rand(ids.shape, device=ids.device) < p) & (ids != pad_id)
    return ids.masked_fill(drop, unk_id)
