"""CTC decoding: greedy on known inputs, prefix beam search against brute-force enumeration of every
alignment, n-gram LMs (normalised, saved and loaded) and their shallow fusion, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from seqlab.nn.ctc import (
    NgramLM,
    ctc_collapse,
    ctc_greedy_decode,
    ctc_labeling_log_probs,
    ctc_prefix_beam_search,
)


def one_hot_log_probs(path: list[int], K: int, p: float = 0.9) -> torch.Tensor:
    """(T, K) log-probabilities whose best path is ``path``."""
    probs = torch.full((len(path), K), (1 - p) / (K - 1))
    probs[torch.arange(len(path)), torch.tensor(path)] = p
    return probs.log()


def test_collapse():
    assert ctc_collapse([1, 1, 0, 1, 2, 2, 0, 0]) == [1, 1, 2]
    assert ctc_collapse([0, 0]) == [] and ctc_collapse([3, 3, 3], blank=3) == []


def test_greedy_known_inputs_and_lengths():
    a = one_hot_log_probs([1, 1, 0, 1, 2, 2], 4)
    b = one_hot_log_probs([0, 3, 3, 3, 2, 1], 4)
    out = ctc_greedy_decode(torch.stack([a, b]), torch.tensor([6, 4]))
    assert out[0].tolist() == [1, 1, 2] and out[1].tolist() == [3]  # b's frames after 4 are padding
    with pytest.raises(ValueError, match=r"expected scores of shape \(B, T, K\)"):
        ctc_greedy_decode(a)


@pytest.mark.parametrize(
    ("T", "K", "seed"), [(1, 3, 0), (3, 2, 1), (4, 3, 2), (5, 3, 3), (6, 4, 4), (5, 5, 5)]
)
def test_prefix_beam_search_is_exact_without_pruning(T, K, seed):
    """With room for every prefix, each labeling's probability is the sum over all its alignments."""
    g = torch.Generator().manual_seed(seed)
    lp = (torch.randn(T, K, generator=g, dtype=torch.float64) * 2).log_softmax(-1)
    reference = ctc_labeling_log_probs(lp)
    hyps = ctc_prefix_beam_search(lp, beam_size=10_000)
    got = {tuple(h.tokens.tolist()): h.ctc_log_prob for h in hyps}
    assert set(got) == set(reference)
    for labeling, logp in reference.items():
        assert got[labeling] == pytest.approx(logp, abs=1e-9)
    assert math.isclose(np.logaddexp.reduce(list(got.values())), 0.0, abs_tol=1e-9)  # they sum to 1
    assert tuple(hyps[0].tokens.tolist()) == max(reference, key=reference.get)


@pytest.mark.parametrize("blank", [0, 2])
def test_best_labeling_beats_best_path(blank):
    """Greedy takes the best alignment; the beam finds the labeling with most probability mass."""
    # frames: a or blank, nearly tied. Best path: blank,blank (labeling ∅, p = .36);
    # labeling "a": a∅, ∅a, aa = .24 + .24 + .16 = .64.
    K = 3
    a = 1
    probs = torch.full((2, K), 1e-9)
    probs[:, blank], probs[:, a] = 0.6, 0.4
    lp = (probs / probs.sum(-1, keepdim=True)).log()
    assert ctc_greedy_decode(lp[None], blank=blank)[0].tolist() == []
    best = ctc_prefix_beam_search(lp, beam_size=4, blank=blank)[0]
    assert best.tokens.tolist() == [a] and best.ctc_log_prob == pytest.approx(math.log(0.64), abs=1e-6)


def test_pruned_beam_agrees_on_peaky_outputs():
    torch.manual_seed(0)
    path = torch.randint(0, 6, (80,)).tolist()
    lp = (one_hot_log_probs(path, 6, 0.8) + 0.3 * torch.randn(80, 6)).log_softmax(-1)
    wide = ctc_prefix_beam_search(lp, beam_size=64)[0]
    pruned = ctc_prefix_beam_search(lp, beam_size=8, token_min_logp=-5.0, beam_prune_logp=-10.0)[0]
    assert wide.tokens.tolist() == pruned.tokens.tolist()


def test_beam_search_bad_input():
    with pytest.raises(ValueError, match=r"expected \(T, K\) log-probabilities"):
        ctc_prefix_beam_search(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="expected beam_size ≥ 1"):
        ctc_prefix_beam_search(torch.zeros(2, 3), beam_size=0)
    with pytest.raises(ValueError, match="an LM needs labels"):
        ctc_prefix_beam_search(torch.zeros(2, 3), lm=NgramLM.train(["ab"], order=2))


TEXT = ["one two three", "three two one", "two two one", "one one two"]


@pytest.mark.parametrize(("unit", "order"), [("char", 1), ("char", 3), ("word", 2), ("word", 3)])
def test_ngram_is_a_distribution(unit, order):
    lm = NgramLM.train(TEXT, order=order, unit=unit)
    for history in [(), ("t",), ("o", "n"), ("two",), ("x", "y"), ("three", "two")]:
        total = sum(math.exp(lm.log_prob(history, w)) for w in [*lm.vocab, "</s>"])
        assert total == pytest.approx(1.0, abs=1e-9)


def test_ngram_prefers_seen_text_and_round_trips(tmp_path):
    lm = NgramLM.train(TEXT, order=4, unit="char")
    assert lm.sentence_log_prob("one two") > lm.sentence_log_prob("owt eno")
    lm.save(tmp_path / "lm.json")
    again = NgramLM.load(tmp_path / "lm.json")
    assert again.sentence_log_prob("two one") == pytest.approx(lm.sentence_log_prob("two one"))
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    with pytest.raises(ValueError, match="not a seqlab n-gram model"):
        NgramLM.load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="at least one non-blank line"):
        NgramLM.train(["", "  "])
    with pytest.raises(ValueError, match="unknown unit 'morpheme'; known: char, word"):
        NgramLM.train(TEXT, unit="morpheme")


def ambiguous(labels: list[str], first: str, second: str) -> torch.Tensor:
    """Frames that spell ``first`` slightly more probably than ``second`` (same length, one slot differs)."""
    K = len(labels)
    rows = []
    for a, b in zip(first, second):
        p = torch.full((K,), 1e-4)
        if a == b:
            p[labels.index(a)] = 1.0
        else:
            p[labels.index(a)], p[labels.index(b)] = 0.55, 0.45
        rows.append(p / p.sum())
        blank = torch.full((K,), 1e-4)
        blank[0] = 1.0
        rows.append(blank / blank.sum())
    return torch.stack(rows).log()


@pytest.mark.parametrize("unit", ["char", "word"])
def test_shallow_fusion_picks_what_the_lm_knows(unit):
    labels = ["", " ", "e", "n", "o", "w", "t"]
    lp = ambiguous(labels, "ene two", "one two")  # acoustics slightly prefer the misspelling
    assert ctc_prefix_beam_search(lp, beam_size=8)[0].tokens.tolist() == [labels.index(c) for c in "ene two"]
    lm = NgramLM.train(["one two", "two one", "one one"], order=3, unit=unit)
    best = ctc_prefix_beam_search(lp, beam_size=8, lm=lm, labels=labels, lm_weight=1.0)[0]
    assert "".join(labels[i] for i in best.tokens.tolist()) == "one two"
    assert best.lm_log_prob == pytest.approx(lm.sentence_log_prob("one two"))


@pytest.mark.parametrize("seed", range(4))
def test_skipping_hopeless_extensions_changes_nothing(seed):
    """Without an LM the search skips extensions below the beam's weakest staying prefix; with a
    zero-weight LM it cannot, and the beams must be the same."""
    g = torch.Generator().manual_seed(seed)
    lp = (torch.randn(30, 5, generator=g, dtype=torch.float64) * 3).log_softmax(-1)
    labels = ["", "a", "b", "c", " "]
    lm = NgramLM.train(["ab c", "cab"], order=2)
    for beam in (1, 3, 6):
        fast = ctc_prefix_beam_search(lp, beam_size=beam)
        full = ctc_prefix_beam_search(lp, beam_size=beam, lm=lm, labels=labels, lm_weight=0.0)
        assert [h.tokens.tolist() for h in fast] == [h.tokens.tolist() for h in full]
        assert [h.ctc_log_prob for h in fast] == pytest.approx([h.ctc_log_prob for h in full])
