"""The CRF against brute-force enumeration of every tag sequence, on tiny cases."""

from __future__ import annotations

import itertools

import pytest
import torch

from seqlab.nn import CRF, PAD_TAG, Allowed

K = 3
MASKS = {
    "full": [[1, 1, 1, 1], [1, 1, 1, 1]],
    "right-padded unsorted": [[1, 1, 0, 0], [1, 1, 1, 1]],
    "leading step off": [[0, 1, 1, 1], [0, 1, 1, 0]],
    "holes": [[1, 0, 1, 1], [0, 1, 0, 1]],
    "one token": [[0, 0, 1, 0], [1, 0, 0, 0]],
    "empty row": [[0, 0, 0, 0], [1, 1, 1, 0]],
}

# IOB2 over 0=O, 1=B-X, 2=I-X: I-X only after B-X or I-X, never first
IOB2 = Allowed(
    transitions=torch.tensor([[1, 1, 0], [1, 1, 1], [1, 1, 1]], dtype=torch.bool),
    start=torch.tensor([1, 1, 0], dtype=torch.bool),
    end=torch.tensor([1, 1, 1], dtype=torch.bool),
)
# BIOES-like over 0=O, 1=B, 2=E: B must be followed by E, E/O may end, B may not end
STRICT = Allowed(
    transitions=torch.tensor([[1, 1, 0], [0, 0, 1], [1, 1, 0]], dtype=torch.bool),
    start=torch.tensor([1, 1, 0], dtype=torch.bool),
    end=torch.tensor([1, 0, 1], dtype=torch.bool),
)
CONSTRAINTS = {"none": None, "iob2": IOB2, "strict": STRICT}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def make_crf(constraints):
    crf = CRF(K, allowed=CONSTRAINTS[constraints]).double()
    with torch.no_grad():
        for p in crf.parameters():
            p.uniform_(-1.0, 1.0)
    return crf


def enumerate_paths(crf: CRF, e: torch.Tensor, mask: torch.Tensor, b: int):
    """Every tag sequence over row b's masked-on steps with its score: [(score, tags)]."""
    transitions, start, end = (s.detach() for s in crf.scores())
    steps = mask[b].nonzero().flatten().tolist()
    out = []
    for y in itertools.product(range(K), repeat=len(steps)):
        if not steps:
            return []
        s = start[y[0]] + end[y[-1]] + sum(e[b, steps[t], y[t]] for t in range(len(steps)))
        s = s + sum(transitions[y[t - 1], y[t]] for t in range(1, len(steps)))
        out.append((float(s), y))
    return out


def brute_log_z(paths) -> float:
    finite = [s for s, _ in paths if s > float("-inf")]
    return float(torch.logsumexp(torch.tensor(finite, dtype=torch.float64), 0)) if paths else 0.0


@pytest.mark.parametrize("constraints", list(CONSTRAINTS))
@pytest.mark.parametrize("mask_name", list(MASKS))
def test_log_partition_nll_viterbi_and_nbest_match_brute_force(constraints, mask_name):
    crf = make_crf(constraints)
    mask = torch.tensor(MASKS[mask_name], dtype=torch.bool)
    e = torch.randn(2, 4, K, dtype=torch.float64)
    tags = torch.randint(0, K, (2, 4))
    log_z = crf.log_partition(e, mask)
    torch.testing.assert_close(crf.forward_reference(e, mask), log_z)
    viterbi_tags, viterbi_scores = crf.viterbi(e, mask)
    nbest_tags, nbest_scores = crf.nbest(e, 4, mask)
    ref_tags, ref_scores = crf.viterbi_reference(e, mask)
    gold_score = crf.score(e, tags, mask)
    nll = crf.nll(e, tags, mask, reduction="none")
    for b in range(2):
        paths = enumerate_paths(crf, e, mask, b)
        assert log_z[b].item() == pytest.approx(brute_log_z(paths), abs=1e-10)
        steps = mask[b].nonzero().flatten().tolist()
        gold = tuple(tags[b, steps].tolist())
        expect = dict((y, s) for s, y in paths).get(gold, 0.0) if steps else 0.0
        assert gold_score[b].item() == pytest.approx(expect, abs=1e-10)
        assert nll[b].item() == pytest.approx(brute_log_z(paths) - expect, abs=1e-10)
        ranked = sorted(paths, key=lambda p: -p[0])
        for r in range(4):
            if r < len(ranked) and ranked[r][0] > float("-inf"):
                assert nbest_scores[b, r].item() == pytest.approx(ranked[r][0], abs=1e-10)
                decoded = tuple(nbest_tags[b, r, steps].tolist())
                assert dict((y, s) for s, y in paths)[decoded] == pytest.approx(ranked[r][0], abs=1e-10)
            elif steps:
                assert nbest_scores[b, r].item() == float("-inf")
                assert (nbest_tags[b, r] == PAD_TAG).all()
        off = [t for t in range(4) if t not in steps]
        assert (viterbi_tags[b, off] == PAD_TAG).all() and (nbest_tags[b, :, off] == PAD_TAG).all()
        if steps:
            assert viterbi_scores[b].item() == pytest.approx(ranked[0][0], abs=1e-10)
    assert torch.equal(viterbi_tags, ref_tags)
    torch.testing.assert_close(viterbi_scores, ref_scores)


@pytest.mark.parametrize("constraints", list(CONSTRAINTS))
def test_marginals_match_brute_force(constraints):
    crf = make_crf(constraints)
    mask = torch.tensor(MASKS["leading step off"], dtype=torch.bool)
    e = torch.randn(2, 4, K, dtype=torch.float64)
    marginals = crf.marginals(e, mask)
    for b in range(2):
        paths = enumerate_paths(crf, e, mask, b)
        log_z = brute_log_z(paths)
        steps = mask[b].nonzero().flatten().tolist()
        expect = torch.zeros(4, K, dtype=torch.float64)
        for s, y in paths:
            for i, t in enumerate(steps):
                expect[t, y[i]] += torch.exp(torch.tensor(s - log_z))
        torch.testing.assert_close(marginals[b], expect)


@pytest.mark.parametrize("constraints", list(CONSTRAINTS))
def test_gradcheck_log_partition(constraints):
    crf = make_crf(constraints)
    mask = torch.tensor(MASKS["right-padded unsorted"], dtype=torch.bool)
    e = torch.randn(2, 4, K, dtype=torch.float64, requires_grad=True)
    params = [
        p.detach().clone().requires_grad_()
        for p in (crf.transitions, crf.start_transitions, crf.end_transitions)
    ]

    def f(e, transitions, start, end):
        with torch.no_grad():
            crf.transitions.copy_(transitions)
            crf.start_transitions.copy_(start)
            crf.end_transitions.copy_(end)
        # route the gradient through the inputs, as the module's parameters would receive it
        ninf = float("-inf")
        eff = (
            transitions.masked_fill(~crf.allowed_transitions, ninf),
            start.masked_fill(~crf.allowed_start, ninf),
            end.masked_fill(~crf.allowed_end, ninf),
        )
        from seqlab.nn.crf import _log_partition

        return _log_partition(e, mask.sum(1), *eff)

    assert torch.autograd.gradcheck(f, (e, *params))


def test_gradients_match_the_log_space_reference():
    crf = make_crf("iob2")
    mask = torch.tensor(MASKS["holes"], dtype=torch.bool)
    e = torch.randn(2, 4, K, dtype=torch.float64, requires_grad=True)
    tags = torch.randint(0, 2, (2, 4))
    fast = torch.autograd.grad(crf.nll(e, tags, mask), [e, *crf.parameters()])
    ref_loss = (crf.forward_reference(e, mask) - crf.score(e, tags, mask)).mean()
    ref = torch.autograd.grad(ref_loss, [e, *crf.parameters()])
    for a, b in zip(fast, ref):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("constraints", ["iob2", "strict"])
def test_constraints_are_never_violated(constraints):
    allowed = CONSTRAINTS[constraints]
    crf = CRF(K, allowed=allowed)
    e = torch.randn(64, 12, K) * 10  # emissions that would love to break the rules
    lengths = torch.randint(1, 13, (64,))
    mask = torch.arange(12)[None, :] < lengths[:, None]
    tags, _ = crf.viterbi(e, mask)
    paths, _ = crf.nbest(e, 3, mask)
    for seq in [*tags, *paths.reshape(-1, 12)]:
        seq = seq[seq != PAD_TAG].tolist()
        if not seq:
            continue
        assert allowed.start[seq[0]] and allowed.end[seq[-1]]
        assert all(allowed.transitions[a, b] for a, b in itertools.pairwise(seq))


def test_underflowing_emissions_fall_back_to_log_space():
    """Constraints can force a tag scoring 300 nats below the best: the scaled recursion underflows."""
    crf = CRF(K, allowed=STRICT)
    e = torch.zeros(2, 3, K)
    e[0, :, 0] = 300.0
    e.requires_grad_()
    log_z = crf.log_partition(e)
    assert torch.isfinite(log_z).all()
    torch.testing.assert_close(log_z, crf.forward_reference(e))
    (grad,) = torch.autograd.grad(log_z.sum(), e)
    assert torch.isfinite(grad).all()


def test_long_sequence_is_stable():
    crf = CRF(5)
    e = torch.randn(2, 10_000, 5) * 3
    log_z = crf.log_partition(e)
    torch.testing.assert_close(log_z, crf.forward_reference(e), rtol=1e-5, atol=1e-2)
    tags, _ = crf.viterbi(e)
    assert tags.shape == (2, 10_000) and (tags >= 0).all()


@pytest.mark.parametrize("reduction", ["mean", "sum", "token_mean", "none"])
def test_reductions(reduction):
    crf = make_crf("none")
    e = torch.randn(2, 4, K, dtype=torch.float64)
    tags = torch.randint(0, K, (2, 4))
    mask = torch.tensor(MASKS["right-padded unsorted"], dtype=torch.bool)
    per_seq = crf.nll(e, tags, mask, reduction="none")
    expect = {"mean": per_seq.mean(), "sum": per_seq.sum(), "token_mean": per_seq.sum() / 6, "none": per_seq}
    torch.testing.assert_close(crf(e, tags, mask, reduction=reduction), expect[reduction])


@pytest.mark.parametrize(
    "call,match",
    [
        (
            lambda c: c.nll(torch.randn(2, 4, 5), torch.zeros(2, 4, dtype=torch.long)),
            r"emissions of shape \(B, T, 3\)",
        ),
        (
            lambda c: c.nll(torch.randn(2, 4, 3), torch.zeros(2, 3, dtype=torch.long)),
            r"tags of shape \(2, 4\)",
        ),
        (lambda c: c.nll(torch.randn(2, 4, 3), torch.full((2, 4), 3)), r"tags must lie in \[0, 3\).*got 3"),
        (
            lambda c: c.viterbi(torch.randn(2, 4, 3), torch.ones(2, 5, dtype=torch.bool)),
            r"mask of shape \(2, 4\)",
        ),
        (
            lambda c: c.nll(torch.randn(2, 4, 3), torch.zeros(2, 4, dtype=torch.long), reduction="avg"),
            r"unknown reduction 'avg'; known: mean, sum, token_mean, none",
        ),
        (lambda c: c.nbest(torch.randn(2, 4, 3), 0), r"k to be a positive integer, got 0"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call(CRF(K))


def test_bad_constraints():
    with pytest.raises(ValueError, match=r"allow no tag to start"):
        CRF(
            2,
            allowed=Allowed(
                torch.ones(2, 2, dtype=torch.bool),
                torch.zeros(2, dtype=torch.bool),
                torch.ones(2, dtype=torch.bool),
            ),
        )
    with pytest.raises(ValueError, match=r"expected allowed = \(transitions \(2, 2\)"):
        CRF(
            2,
            allowed=Allowed(
                torch.ones(3, 3, dtype=torch.bool),
                torch.ones(2, dtype=torch.bool),
                torch.ones(2, dtype=torch.bool),
            ),
        )
