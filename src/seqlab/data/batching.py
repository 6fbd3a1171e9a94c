"""Batches of token ids: right-padding, and a sampler that groups sentences of similar length.

Padding to the longest sentence in a batch wastes compute on pad steps; sorting the whole corpus by
length removes the waste but also the randomness SGD wants. ``BucketBatchSampler`` does the usual
compromise: shuffle, cut into chunks of about 50 batches, sort each chunk by length, cut it into
batches, and shuffle the batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import chain

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Sampler

__all__ = ["BucketBatchSampler", "bucket_loaders", "pad_batch"]


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[Tensor, Tensor]:
    """Right-pad id sequences into a (B, T) LongTensor; also return their (B,) lengths.

    T is the longest length. Every sequence needs at least one id (the recurrences reject length 0).
    """
    if isinstance(pad_id, bool) or not isinstance(pad_id, int):
        raise ValueError(f"pad_batch: expected pad_id to be an int, got {pad_id!r}")
    if len(sequences) == 0:
        raise ValueError("pad_batch: expected at least one sequence, got an empty batch")
    lengths = torch.tensor([len(seq) for seq in sequences], dtype=torch.long)  # (B,)
    if int(lengths.min()) == 0:
        k = int((lengths == 0).nonzero()[0])
        raise ValueError(f"pad_batch: sequence {k} is empty; every sequence needs at least one id")
    T = int(lengths.max())
    flat = torch.tensor(list(chain.from_iterable(sequences)), dtype=torch.long)  # (sum of lengths,)
    batch = torch.full((len(sequences), T), pad_id, dtype=torch.long)  # (B, T)
    mask = torch.arange(T)[None, :] < lengths[:, None]  # (B, T); row-major order matches `flat`
    batch[mask] = flat
    return batch, lengths


class BucketBatchSampler(Sampler[list[int]]):
    """Yield batches of dataset indices whose sequences have similar lengths.

    Each epoch: shuffle the indices (if ``shuffle``), cut them into chunks of ``chunk_batches``
    batches, sort every chunk by length (stable), cut it into batches of ``batch_size``, and shuffle
    the order of the batches (if ``shuffle``). Every index appears exactly once per epoch (only the
    last, short batch can be dropped, with ``drop_last``). The order depends only on ``seed`` and the
    epoch: call ``set_epoch`` before each epoch for a fresh one.

    For data-parallel training pass ``num_replicas`` and ``rank``: every replica computes the same
    batch list and takes every ``num_replicas``-th batch starting at ``rank``; the list is first made
    divisible by ``num_replicas`` by repeating its first batches (or, with ``drop_last``, dropping the
    last ones), so all replicas run the same number of steps.
    """

    def __init__(
        self,
        lengths: Sequence[int] | Tensor,
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        chunk_batches: int = 50,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        lengths_arr = np.asarray(lengths.tolist() if isinstance(lengths, Tensor) else list(lengths))
        if lengths_arr.ndim != 1 or (lengths_arr.size and not np.issubdtype(lengths_arr.dtype, np.integer)):
            raise ValueError(
                f"BucketBatchSampler: expected lengths to be a flat sequence of ints, one per example, "
                f"got an array of shape {lengths_arr.shape} and dtype {lengths_arr.dtype}"
            )
        if lengths_arr.size == 0:
            raise ValueError("BucketBatchSampler: expected at least one example, got empty lengths")
        for name, value, low in (
            ("batch_size", batch_size, 1),
            ("chunk_batches", chunk_batches, 1),
            ("num_replicas", num_replicas, 1),
            ("rank", rank, 0),
            ("seed", seed, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(
                    f"BucketBatchSampler: expected {name} to be an integer ≥ {low}, got {value!r}"
                )
        if rank >= num_replicas:
            raise ValueError(
                f"BucketBatchSampler: expected rank < num_replicas={num_replicas}, got rank={rank}"
            )
        self.lengths = lengths_arr.astype(np.int64)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.chunk_batches = chunk_batches
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order ``__iter__`` yields (a different shuffle per epoch)."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"BucketBatchSampler.set_epoch: expected an integer ≥ 0, got {epoch!r}")
        self.epoch = epoch

    def _all_batches(self) -> list[list[int]]:
        n, bs = len(self.lengths), self.batch_size
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        chunk = bs * self.chunk_batches  # a multiple of bs, so only the very last batch can be short
        batches: list[list[int]] = []
        for lo in range(0, n, chunk):
            idx = order[lo : lo + chunk]
            idx = idx[np.argsort(self.lengths[idx], kind="stable")]
            batches.extend(idx[k : k + bs].tolist() for k in range(0, len(idx), bs))
        if self.drop_last and len(batches[-1]) < bs:
            batches.pop()
        if self.shuffle:
            batches = [batches[k] for k in rng.permutation(len(batches))]
        return batches

    def _num_all_batches(self) -> int:
        n, bs = len(self.lengths), self.batch_size
        return n // bs if self.drop_last else -(-n // bs)

    def __len__(self) -> int:
        total, r = self._num_all_batches(), self.num_replicas
        return total // r if self.drop_last else -(-total // r)

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._all_batches()
        r = self.num_replicas
        if r > 1:
            if self.drop_last:
                batches = batches[: len(batches) - len(batches) % r]
            else:
                extra = (-len(batches)) % r
                batches = batches + (batches * (extra // max(len(batches), 1) + 1))[:extra]
        yield from batches[self.rank :: r]


def bucket_loaders(
    train: Sequence,
    dev: Sequence,
    length: Callable,
    collate: Callable,
    batch_size: int,
    seed: int,
) -> tuple[DataLoader, DataLoader]:
    """Training and dev loaders over encoded examples, batched by ``length(example)``.

    The training batches are shuffled with ``seed`` (bucket order and contents); the dev batches are not.
    """
    train_loader = DataLoader(
        train,
        collate_fn=collate,
        batch_sampler=BucketBatchSampler([length(e) for e in train], batch_size, shuffle=True, seed=seed),
    )
    dev_loader = DataLoader(
        dev,
        collate_fn=collate,
        batch_sampler=BucketBatchSampler([length(e) for e in dev], batch_size, shuffle=False),
    )
    return train_loader, dev_loader
