"""pad_batch and BucketBatchSampler: shapes, coverage, determinism, data-parallel splits."""

from __future__ import annotations

import random

import pytest
import torch
from torch.utils.data import DataLoader

from seqlab.data import BucketBatchSampler, pad_batch


def test_pad_batch():
    batch, lengths = pad_batch([[5, 6, 7], [8], [9, 10]], pad_id=0)
    assert batch.dtype == torch.long and lengths.dtype == torch.long
    assert batch.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]]
    assert lengths.tolist() == [3, 1, 2]
    batch, _ = pad_batch([[1], [2, 3]], pad_id=-100)
    assert batch.tolist() == [[1, -100], [2, 3]]


def test_pad_batch_reference_on_random_lengths():
    rng = random.Random(0)
    seqs = [[rng.randrange(100) for _ in range(rng.randrange(1, 30))] for _ in range(40)]
    batch, lengths = pad_batch(seqs, pad_id=7)
    for row, seq, n in zip(batch.tolist(), seqs, lengths.tolist()):
        assert n == len(seq) and row == seq + [7] * (batch.shape[1] - n)


@pytest.mark.parametrize(
    ("seqs", "pad_id", "match"),
    [
        ([], 0, r"expected at least one sequence"),
        ([[1], []], 0, r"sequence 1 is empty"),
        ([[1]], 0.0, r"pad_id to be an int"),
    ],
)
def test_pad_batch_bad_input(seqs, pad_id, match):
    with pytest.raises(ValueError, match=match):
        pad_batch(seqs, pad_id)


def lengths_of(n: int, seed: int = 0) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(1, 60) for _ in range(n)]


@pytest.mark.parametrize(
    ("n", "batch_size", "drop_last"), [(1000, 16, False), (1000, 16, True), (7, 3, False), (5, 8, False)]
)
@pytest.mark.parametrize("shuffle", [True, False])
def test_every_index_once_per_epoch(n, batch_size, drop_last, shuffle):
    sampler = BucketBatchSampler(
        lengths_of(n), batch_size, shuffle=shuffle, drop_last=drop_last, chunk_batches=4
    )
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler)
        flat = [i for b in batches for i in b]
        assert len(flat) == len(set(flat))
        assert all(len(b) == batch_size for b in batches[:-1] if not shuffle)
        assert sum(len(b) < batch_size for b in batches) <= (0 if drop_last else 1)
        if drop_last:
            assert len(flat) == n // batch_size * batch_size
        else:
            assert sorted(flat) == list(range(n))


def test_batches_group_similar_lengths():
    lengths = lengths_of(2000)
    sampler = BucketBatchSampler(lengths, 32, seed=1)
    padded = sum(len(b) * max(lengths[i] for i in b) for b in sampler)
    random_batches = [list(range(k, min(k + 32, 2000))) for k in range(0, 2000, 32)]
    padded_random = sum(len(b) * max(lengths[i] for i in b) for b in random_batches)
    assert padded < 0.7 * padded_random


def test_deterministic_for_seed_and_epoch():
    lengths = lengths_of(500)
    a = BucketBatchSampler(lengths, 10, seed=3)
    b = BucketBatchSampler(torch.tensor(lengths), 10, seed=3)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    a.set_epoch(0)
    assert list(a) == first
    assert list(BucketBatchSampler(lengths, 10, seed=4)) != first
    assert list(BucketBatchSampler(lengths, 10, shuffle=False)) == list(
        BucketBatchSampler(lengths, 10, shuffle=False, seed=9)
    )


@pytest.mark.parametrize(("n", "drop_last"), [(103, False), (103, True), (2, False)])
def test_replicas_split_the_epoch(n, drop_last):
    replicas = [
        BucketBatchSampler(lengths_of(n), 10, num_replicas=3, rank=r, drop_last=drop_last) for r in range(3)
    ]
    parts = [list(s) for s in replicas]
    assert len({len(p) for p in parts}) == 1 and all(len(p) == len(s) for p, s in zip(parts, replicas))
    flat = [i for p in parts for b in p for i in b]
    if drop_last:
        assert len(flat) == len(set(flat))
    else:
        assert set(flat) == set(range(n))


def test_works_as_a_dataloader_batch_sampler():
    data = [list(range(n)) for n in lengths_of(50)]
    loader = DataLoader(
        data, batch_sampler=BucketBatchSampler([len(x) for x in data], 8), collate_fn=pad_batch
    )
    seen = sum(int(lengths.shape[0]) for _, lengths in loader)
    assert seen == 50


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lengths": [], "batch_size": 2}, r"expected at least one example"),
        ({"lengths": [1.5, 2], "batch_size": 2}, r"flat sequence of ints"),
        ({"lengths": [[1, 2]], "batch_size": 2}, r"flat sequence of ints"),
        ({"lengths": [1, 2], "batch_size": 0}, r"expected batch_size to be an integer ≥ 1, got 0"),
        (
            {"lengths": [1, 2], "batch_size": 2, "rank": 2, "num_replicas": 2},
            r"expected rank < num_replicas=2",
        ),
        ({"lengths": [1, 2], "batch_size": 2, "seed": -1}, r"expected seed to be an integer ≥ 0"),
    ],
)
def test_sampler_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BucketBatchSampler(**kwargs)
    with pytest.raises(ValueError, match=r"set_epoch: expected an integer ≥ 0, got -1"):
        BucketBatchSampler([1], 1).set_epoch(-1)
