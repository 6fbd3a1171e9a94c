"""Greedy and beam search against a slow per-hypothesis reference, brute-force enumeration and each other.

The step model is a tiny random decoder (embedding → tanh cell → dot attention over a per-sentence
memory with padding → log-softmax) written with row-wise products and sums, no matmul: BLAS kernels
change their summation order with the number of rows, so a matmul model could differ in the last bit
between a batch and one sentence alone; this one gives bit-identical rows whatever the batch, so the
decoders can be compared exactly.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import pytest
import torch
from torch import Tensor

from seqlab.nn import (
    Attention,
    AttentionMemory,
    beam_search,
    gnmt_length_penalty,
    greedy_decode,
    repeat_state,
    select_state,
)

EOS, PAD = 1, -1
NINF = float("-inf")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


class Memory(NamedTuple):
    keys: Tensor  # (N, S, H)
    mask: Tensor  # (N, S)


class State(NamedTuple):
    h: Tensor  # (N, H)
    memory: Memory
    unused: None  # a None leaf, carried along


class RowwiseModel:
    """V output tokens; input ids 0 … V (id V is BOS, an input-only token)."""

    def __init__(self, V: int, H: int = 3, eos_bias: float = 0.0) -> None:
        self.V, self.H, self.bos = V, H, V
        self.E = torch.randn(V + 1, H, dtype=torch.float64)
        self.W = torch.randn(H, 2 * H, dtype=torch.float64)
        self.O = 2.0 * torch.randn(V, 2 * H, dtype=torch.float64)
        self.bias = torch.zeros(V, dtype=torch.float64)
        self.bias[EOS] = eos_bias
        self.calls = 0

    def initial_state(self, lengths: list[int], S: int) -> State:
        B = len(lengths)
        keys = torch.randn(B, S, self.H, dtype=torch.float64)
        mask = torch.arange(S)[None, :] < torch.tensor(lengths)[:, None]
        return State(torch.randn(B, self.H, dtype=torch.float64), Memory(keys, mask), None)

    def step(self, tokens: Tensor, state: State):
        self.calls += 1
        x = torch.cat([self.E[tokens], state.h], dim=1)  # (N, 2H)
        h = torch.tanh((x[:, None, :] * self.W).sum(-1))  # (N, H)
        keys, mask = state.memory
        e = (keys * h[:, None, :]).sum(-1).masked_fill(~mask, NINF)  # (N, S)
        alpha = torch.softmax(e, dim=1)
        c = (alpha[:, :, None] * keys).sum(1)  # (N, H)
        logits = (torch.cat([h, c], dim=1)[:, None, :] * self.O).sum(-1) + self.bias  # (N, V)
        return torch.log_softmax(logits, dim=1), state._replace(h=h), alpha


def row(state, b: int):
    return select_state(state, torch.tensor([b]))


# ---------------------------------------------------------------------- slow references
def reference_beam_search(model, state, *, k, n, max_length, alpha):
    """One sentence, hypotheses as Python lists, every step up to max_length (no early stopping), every
    finished hypothesis kept. Returns [(score, log_prob, tokens, attention rows)], best first."""
    alive = [([], torch.zeros((), dtype=torch.float64), [], state)]
    finished = []
    for t in range(max_length):
        candidates = []  # in index order: beam, then token
        for tokens, log_prob, rows, st in alive:
            last = tokens[-1] if tokens else model.bos
            log_probs, st2, attention = model.step(torch.tensor([last]), st)
            for y in range(model.V):
                candidates.append((log_prob + log_probs[0, y], [*tokens, y], [*rows, attention[0]], st2))
        candidates.sort(key=lambda c: -float(c[0]))  # stable: ties keep index order
        alive = []
        for rank, (log_prob, tokens, rows, st) in enumerate(candidates[: 2 * k]):
            length = torch.tensor(float(t + 1), dtype=torch.float64)
            score = log_prob / gnmt_length_penalty(length, alpha)
            if tokens[-1] == EOS:
                if rank < k:
                    finished.append((score, log_prob, tokens, rows))
            elif len(alive) < k:
                alive.append((tokens, log_prob, rows, st))
                if t + 1 == max_length:
                    finished.append((score, log_prob, tokens, rows))
    finished.sort(key=lambda f: -float(f[0]))  # stable: ties keep the order found
    return finished[:n]


def enumerate_hypotheses(model, state, *, max_length, alpha):
    """Every output sequence (ending in EOS, or cut at max_length), scored: [(score, log_prob, tokens)]."""
    out = []
    others = [y for y in range(model.V) if y != EOS]
    for length in range(1, max_length + 1):
        for prefix in itertools.product(others, repeat=length - 1):
            endings = [EOS, *others] if length == max_length else [EOS]
            for last in endings:
                tokens = [*prefix, last]
                log_prob, st, previous = torch.zeros((), dtype=torch.float64), state, model.bos
                for y in tokens:
                    log_probs, st, _ = model.step(torch.tensor([previous]), st)
                    log_prob, previous = log_prob + log_probs[0, y], y
                length_t = torch.tensor(float(length), dtype=torch.float64)
                out.append((log_prob / gnmt_length_penalty(length_t, alpha), log_prob, tokens))
    out.sort(key=lambda h: -float(h[0]))
    return out


def assert_hypothesis(result, b: int, r: int, score, log_prob, tokens, rows=None):
    L = len(tokens)
    assert result.lengths[b, r].item() == L
    assert result.tokens[b, r, :L].tolist() == tokens
    assert (result.tokens[b, r, L:] == PAD).all()
    assert result.scores[b, r].item() == float(score)
    assert result.log_prob[b, r].item() == float(log_prob)
    if rows is not None:
        assert torch.equal(result.attention[b, r, :L], torch.stack(rows))
        assert (result.attention[b, r, L:] == 0).all()


# ---------------------------------------------------------------------- the tests
@pytest.mark.parametrize("alpha", [0.0, 0.8])
@pytest.mark.parametrize(("k", "n"), [(1, 1), (3, 1), (3, 3), (5, 2)])
def test_matches_the_reference_beam_search(k, n, alpha):
    model = RowwiseModel(V=5)
    lengths = [4, 2, 3]
    state = model.initial_state(lengths, S=4)
    max_length = torch.tensor([5, 3, 6])
    result = beam_search(
        model.step,
        state,
        beam_size=k,
        bos_id=model.bos,
        eos_id=EOS,
        max_length=max_length,
        length_penalty=alpha,
        nbest=n,
        pad_id=PAD,
    )
    B = len(lengths)
    assert result.tokens.shape[:2] == (B, n) and result.attention.shape[:2] == (B, n)
    assert result.attention.shape[3] == 4
    for b in range(B):
        expect = reference_beam_search(
            model, row(state, b), k=k, n=n, max_length=int(max_length[b]), alpha=alpha
        )
        for r, hypothesis in enumerate(expect):
            assert_hypothesis(result, b, r, *hypothesis)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_wide_beam_finds_the_brute_force_nbest(alpha):
    V, L, n = 4, 4, 6
    model = RowwiseModel(V=V)
    state = model.initial_state([3, 1], S=3)
    result = beam_search(
        model.step,
        state,
        beam_size=V**L,
        bos_id=model.bos,
        eos_id=EOS,
        max_length=L,
        length_penalty=alpha,
        nbest=n,
        pad_id=PAD,
    )
    for b in range(2):
        ranked = enumerate_hypotheses(model, row(state, b), max_length=L, alpha=alpha)
        assert len(ranked) == 1 + 3 + 9 + 27 + 81
        assert len({float(s) for s, _, _ in ranked[: n + 1]}) == n + 1  # no ties to blur the check
        for r in range(n):
            assert_hypothesis(result, b, r, *ranked[r])


def test_batched_equals_one_sentence_at_a_time():
    model = RowwiseModel(V=6)
    lengths = [5, 2, 4, 1]
    state = model.initial_state(lengths, S=5)
    for max_length in (5, torch.tensor([6, 3, 5, 4])):
        for alpha in (0.0, 0.8):
            kwargs = dict(
                beam_size=3, bos_id=model.bos, eos_id=EOS, length_penalty=alpha, nbest=2, pad_id=PAD
            )
            batched = beam_search(model.step, state, max_length=max_length, **kwargs)
            for b in range(len(lengths)):
                m = max_length if isinstance(max_length, int) else max_length[b : b + 1]
                alone = beam_search(model.step, row(state, b), max_length=m, **kwargs)
                L = alone.tokens.shape[2]
                assert torch.equal(batched.tokens[b, :, :L], alone.tokens[0])
                assert (batched.tokens[b, :, L:] == PAD).all()
                assert torch.equal(batched.attention[b, :, :L], alone.attention[0])
                for field in ("lengths", "scores", "log_prob"):
                    assert torch.equal(getattr(batched, field)[b], getattr(alone, field)[0])


@pytest.mark.parametrize("max_length", [1, 4, torch.tensor([7, 1, 3])])
def test_greedy_equals_beam_of_one(max_length):
    model = RowwiseModel(V=5)
    state = model.initial_state([3, 1, 2], S=3)
    kwargs = dict(bos_id=model.bos, eos_id=EOS, max_length=max_length, pad_id=PAD)
    greedy = greedy_decode(model.step, state, **kwargs)
    beam = beam_search(model.step, state, beam_size=1, **kwargs)
    assert torch.equal(greedy.tokens, beam.tokens[:, 0])
    assert torch.equal(greedy.lengths, beam.lengths[:, 0])
    assert torch.equal(greedy.scores, beam.scores[:, 0])
    assert torch.equal(greedy.scores, beam.log_prob[:, 0])
    assert torch.equal(greedy.attention, beam.attention[:, 0])


def test_greedy_picks_the_argmax_and_stops_at_eos():
    model = RowwiseModel(V=5, eos_bias=1.0)
    state = model.initial_state([3, 2, 1, 3], S=3)
    result = greedy_decode(model.step, state, bos_id=model.bos, eos_id=EOS, max_length=6, pad_id=PAD)
    assert result.tokens.shape[1] == int(result.lengths.max())
    for b in range(4):
        st, previous, log_prob = row(state, b), model.bos, torch.zeros((), dtype=torch.float64)
        for j in range(int(result.lengths[b])):
            log_probs, st, attention = model.step(torch.tensor([previous]), st)
            previous = int(log_probs[0].argmax())
            log_prob = log_prob + log_probs[0, previous]
            assert result.tokens[b, j].item() == previous
            assert torch.equal(result.attention[b, j], attention[0])
        assert previous == EOS or int(result.lengths[b]) == 6
        assert result.scores[b].item() == log_prob.item()
        assert (result.tokens[b, int(result.lengths[b]) :] == PAD).all()


@pytest.mark.parametrize(
    ("eos_bias", "alpha", "early"), [(3.0, 0.0, True), (8.0, 0.6, True), (3.0, 0.6, False)]
)
def test_stops_early_with_the_same_result(eos_bias, alpha, early):
    """The stopping rule is exact: the result of decoding every step to max_length, in fewer steps."""
    model = RowwiseModel(V=5, eos_bias=eos_bias)
    state = model.initial_state([2], S=2)
    result = beam_search(
        model.step,
        state,
        beam_size=3,
        bos_id=model.bos,
        eos_id=EOS,
        max_length=40,
        length_penalty=alpha,
        nbest=3,
        pad_id=PAD,
    )
    assert (model.calls < 40) == early  # the last case: the best hypothesis is cut at max_length
    assert early or result.lengths[0, 0] == 40
    expect = reference_beam_search(model, state, k=3, n=3, max_length=40, alpha=alpha)
    for r, hypothesis in enumerate(expect):
        assert_hypothesis(result, 0, r, *hypothesis)


class Bahdanau(torch.nn.Module):
    """A decoder on the Attention module: c_t from s_{t−1}, then s_t = GRU([emb(y_{t−1}); c_t], s_{t−1})."""

    def __init__(self, V: int, H: int, kind: str) -> None:
        super().__init__()
        self.embedding = torch.nn.Embedding(V + 1, H)
        self.attention = Attention(kind, H, H)
        self.cell = torch.nn.GRUCell(2 * H, H)
        self.out = torch.nn.Linear(2 * H, V)

    def step(self, tokens: Tensor, state: tuple[Tensor, AttentionMemory]):
        s, memory = state
        c, alpha = self.attention(s, memory)
        s = self.cell(torch.cat([self.embedding(tokens), c], dim=1), s)
        return torch.log_softmax(self.out(torch.cat([s, c], dim=1)), dim=1), (s, memory), alpha


@pytest.mark.parametrize("kind", ["bahdanau", "general"])
@torch.no_grad()
def test_attention_rows_line_up_with_tokens(kind):
    V, H = 7, 4
    model = Bahdanau(V, H, kind)
    memory = model.attention.prepare(
        torch.randn(3, 5, H), torch.arange(5)[None, :] < torch.tensor([[5], [2], [4]])
    )
    state = (torch.randn(3, H), memory)
    result = beam_search(
        model.step, state, beam_size=4, bos_id=V, eos_id=EOS, max_length=6, nbest=3, length_penalty=0.5
    )
    assert result.attention.shape[:3] == result.tokens.shape
    for b in range(3):
        for r in range(3):
            L = int(result.lengths[b, r])
            st, previous, log_prob = select_state(state, torch.tensor([b])), V, 0.0
            for j in range(L):  # teacher-force the hypothesis: row j is the attention that produced token j
                log_probs, st, attention = model.step(torch.tensor([previous]), st)
                previous = int(result.tokens[b, r, j])
                log_prob += float(log_probs[0, previous])
                torch.testing.assert_close(result.attention[b, r, j], attention[0])
            assert float(result.log_prob[b, r]) == pytest.approx(log_prob, abs=1e-5)
            assert (result.attention[b, r, L:] == 0).all()
            assert (result.tokens[b, r, L:] == 0).all()  # the default pad_id
            lengths = result.lengths[b, r].to(result.scores.dtype)
            torch.testing.assert_close(
                result.scores[b, r], result.log_prob[b, r] / gnmt_length_penalty(lengths, 0.5)
            )
        assert (result.attention[b, :, :, memory.mask[b].sum() :] == 0).all()  # padding gets no weight
        assert (result.scores[b, :-1] >= result.scores[b, 1:]).all()  # best first


def test_missing_hypotheses_and_a_stateless_step():
    """V = 2 (EOS and one token), max_length 2: only 3 hypotheses exist, and the step keeps no state."""
    table = torch.log_softmax(
        torch.randn(3, 2, dtype=torch.float64), dim=1
    )  # previous token (2 = BOS) → next

    def step(tokens, state):
        return table[tokens], state, None

    result = beam_search(
        step, None, beam_size=4, bos_id=2, eos_id=EOS, max_length=2, nbest=4, pad_id=PAD, batch_size=2
    )
    assert result.attention is None
    assert result.lengths[:, 3].tolist() == [0, 0]
    assert result.scores[:, 3].tolist() == [NINF, NINF]
    assert (result.tokens[:, 3] == PAD).all()
    expect = sorted(
        [([1], table[2, 1]), ([0, 1], table[2, 0] + table[0, 1]), ([0, 0], table[2, 0] + table[0, 0])],
        key=lambda h: -float(h[1]),
    )
    for b in range(2):
        for r, (tokens, log_prob) in enumerate(expect):
            assert result.tokens[b, r, : len(tokens)].tolist() == tokens
            assert result.scores[b, r].item() == log_prob.item()
    greedy = greedy_decode(step, None, bos_id=2, eos_id=EOS, max_length=2, batch_size=2)
    assert greedy.attention is None and greedy.tokens.shape == (2, int(greedy.lengths.max()))


def test_ties_are_broken_by_index():
    """Uniform log-probs: every hypothesis of a length ties; the lower beam, then token id, wins."""

    def step(tokens, state):
        return torch.full((tokens.shape[0], 4), -torch.log(torch.tensor(4.0))), state, None

    kw = dict(bos_id=9, eos_id=0, max_length=3, pad_id=PAD, batch_size=1)
    result = beam_search(step, None, beam_size=3, nbest=3, **kw)
    # step 1: EOS (token 0) ranks first; alive 1, 2, 3. Step 2: 1→EOS ranks first; alive 1 1, 1 2, 1 3.
    # Step 3 (max_length): 1 1 EOS ranks first, ahead of 1 1 1 … which tie with it on the raw log-prob.
    assert result.tokens[0].tolist() == [[0, PAD, PAD], [1, 0, PAD], [1, 1, 0]]
    greedy = greedy_decode(step, None, **kw)
    assert greedy.tokens.tolist() == [[0]]
    # 2k candidates and EOS only among the best k: with EOS = 3, it ranks 4th of beam 0 and never finishes
    result = beam_search(step, None, beam_size=3, nbest=3, **{**kw, "eos_id": 3})
    assert result.tokens[0].tolist() == [[0, 0, 0], [0, 0, 1], [0, 0, 2]]


# ---------------------------------------------------------------------- state helpers
def test_select_and_repeat_state_keep_the_structure():
    memory = Memory(torch.arange(6).view(3, 2), torch.tensor([True, False, True]))
    state = (State(torch.arange(3), memory, None), [torch.arange(3) * 10], {"x": torch.arange(3) + 100})
    picked = select_state(state, torch.tensor([2, 0, 0]))
    assert type(picked) is tuple and type(picked[0]) is State and type(picked[0].memory) is Memory
    assert picked[0].unused is None and type(picked[1]) is list and set(picked[2]) == {"x"}
    assert picked[0].h.tolist() == [2, 0, 0] and picked[0].memory.keys.tolist() == [[4, 5], [0, 1], [0, 1]]
    assert picked[1][0].tolist() == [20, 0, 0] and picked[2]["x"].tolist() == [102, 100, 100]
    repeated = repeat_state(state, 2)
    assert repeated[0].h.tolist() == [0, 0, 1, 1, 2, 2]
    assert repeated[0].memory.mask.tolist() == [True, True, False, False, True, True]
    assert select_state(None, torch.tensor([0])) is None


def test_state_helper_errors():
    with pytest.raises(ValueError, match=r"got a leaf of type int; close over constants"):
        select_state((torch.zeros(2), 3), torch.tensor([0]))
    with pytest.raises(ValueError, match=r"expected a 1-D integer index tensor, got shape \(1, 1\)"):
        select_state(torch.zeros(2), torch.tensor([[0]]))
    with pytest.raises(ValueError, match=r"expected k to be a positive integer, got 0"):
        repeat_state(torch.zeros(2), 0)


# ---------------------------------------------------------------------- errors
def test_argument_errors():
    model = RowwiseModel(V=4)
    state = model.initial_state([2, 1], S=2)
    kw = dict(bos_id=model.bos, eos_id=EOS, max_length=3)
    with pytest.raises(ValueError, match=r"expected beam_size to be a positive integer, got 0"):
        beam_search(model.step, state, beam_size=0, **kw)
    with pytest.raises(ValueError, match=r"expected nbest ≤ beam_size, got nbest=3 > beam_size=2"):
        beam_search(model.step, state, beam_size=2, nbest=3, **kw)
    with pytest.raises(ValueError, match=r"expected length_penalty to be a real number"):
        beam_search(model.step, state, beam_size=2, length_penalty=None, **kw)
    with pytest.raises(ValueError, match=r"expected max_length ≥ 1, got 0"):
        greedy_decode(model.step, state, bos_id=model.bos, eos_id=EOS, max_length=0)
    with pytest.raises(
        ValueError, match=r"batch sizes disagree: max_length says 3, the state has 2 on dim 0"
    ):
        greedy_decode(model.step, state, bos_id=model.bos, eos_id=EOS, max_length=torch.tensor([3, 3, 3]))
    with pytest.raises(ValueError, match=r"expected max_length to be an int or a \(B,\) integer tensor"):
        greedy_decode(model.step, state, bos_id=model.bos, eos_id=EOS, max_length=torch.tensor([3.0, 3.0]))
    with pytest.raises(
        ValueError, match=r"cannot tell the batch size: the state holds no tensor; pass batch_size"
    ):
        greedy_decode(model.step, None, bos_id=model.bos, eos_id=EOS, max_length=3)
    with pytest.raises(ValueError, match=r"expected eos_id to be a token id ≥ 0, got -1"):
        beam_search(model.step, state, beam_size=2, bos_id=model.bos, eos_id=-1, max_length=3)


def wrap(model, first=None, later=None):
    """model.step with its output (log_probs, state, attention) altered by first() at the first call and
    by later() at the others."""
    calls = []

    def step(tokens, state):
        out = model.step(tokens, state)
        change = first if not calls else later
        calls.append(None)
        return out if change is None else change(*out)

    return step


@pytest.mark.parametrize("decode", ["greedy", "beam"])
def test_bad_step_outputs(decode):
    model = RowwiseModel(V=4)
    state = model.initial_state([2, 2], S=2)

    def run(step, eos_id=EOS):
        kw = dict(bos_id=model.bos, eos_id=eos_id, max_length=5)
        if decode == "greedy":
            return greedy_decode(step, state, **kw)
        return beam_search(step, state, beam_size=2, **kw)

    N = 2 if decode == "greedy" else 4
    with pytest.raises(ValueError, match=r"must return \(log_probs, state, attention\), got a tuple of 2"):
        run(lambda tokens, state: model.step(tokens, state)[:2])
    with pytest.raises(ValueError, match=rf"expected step log_probs of shape \({N}, V\).*got \({N}, 4, 1\)"):
        run(lambda tokens, state: (model.step(tokens, state)[0][..., None], state, None))
    with pytest.raises(ValueError, match=rf"expected step log_probs of shape \({N}, V\).*got \(1, 4\)"):
        run(lambda tokens, state: (model.step(tokens, state)[0][:1], state, None))
    with pytest.raises(ValueError, match=r"eos_id=7 must be one of them"):
        run(model.step, eos_id=7)
    with pytest.raises(ValueError, match=r"vocabulary changed from V=4 to V=3"):
        run(wrap(model, later=lambda lp, st, a: (lp[:, :3], st, a)))
    with pytest.raises(
        ValueError, match=r"expected step attention None \(as at the first step\), got \(\d+, 2\)"
    ):
        run(wrap(model, first=lambda lp, st, a: (lp, st, None)))
    with pytest.raises(
        ValueError, match=r"expected step attention \(\d+, 2\) \(as at the first step\), got None"
    ):
        run(wrap(model, later=lambda lp, st, a: (lp, st, None)))
    with pytest.raises(
        ValueError, match=r"expected step attention of shape \(\d+, S\) or None, got \(\d+, 2, 1\)"
    ):
        run(wrap(model, first=lambda lp, st, a: (lp, st, a[..., None])))
    with pytest.raises(ValueError, match=rf"batch {N} on dim 0, got shape \(1, 3\)"):
        run(lambda tokens, state: (model.step(tokens, state)[0], state._replace(h=state.h[:1]), None))
    with pytest.raises(ValueError, match=r"returned NaN log-probabilities"):
        run(lambda tokens, state: (model.step(tokens, state)[0] * torch.nan, state, None))
