"""The seq2seq model: it learns tiny transductions with every attention, decodes alike, round-trips."""

from __future__ import annotations

import logging

import pytest
import torch

from seqlab.data import Pair
from seqlab.tasks.seq2seq import Seq2Seq, Seq2SeqConfig, TeacherForcing

WORDS = ["abc", "hello", "world", "seq", "lab", "model", "abcde", "beam", "dog", "cat"]
REVERSE = [Pair(w, w[::-1]) for w in WORDS]
SMALL = {"embedding_dim": 16, "hidden_size": 24, "dropout": 0.0}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def fit(model: Seq2Seq, pairs, steps: int = 120, lr: float = 0.03) -> float:
    batch = model.collate(model.encode(pairs))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = model.training_loss(batch)
        loss.backward()
        opt.step()
    model.eval()
    return loss.item()


@pytest.mark.parametrize(
    ("attention", "extra"),
    [
        ("none", {}),
        ("bahdanau", {}),
        ("general", {}),
        ("concat", {"input_feeding": False}),
        ("dot", {"bidirectional": False}),
        ("bahdanau", {"recurrence": "gru", "num_layers": 2}),  # any recurrence, stacked
        ("general", {"recurrence": "rnn", "bidirectional": False}),
    ],
)
def test_learns_to_reverse_words_with_every_attention(attention, extra):
    model = Seq2Seq.from_data(REVERSE, Seq2SeqConfig(attention=attention, **SMALL, **extra))
    fit(model, REVERSE)
    batch = model.collate(model.encode(REVERSE))
    assert model.validation_metrics([model.validation_outputs(batch)]) == {
        "accuracy": 1.0,
        "token_error_rate": 0.0,
    }
    outputs = model.translate(WORDS)
    assert [out[0].text for out in outputs] == [w[::-1] for w in WORDS]
    if attention == "none":
        assert outputs[0][0].attention is None
    else:  # one row of α per output token (EOS included), each a distribution over the source
        att = outputs[1][0].attention
        assert att.shape == (len("hello") + 1, len("hello"))
        torch.testing.assert_close(att.sum(dim=1), torch.ones(len("hello") + 1))


def test_batched_beam_search_equals_one_by_one_and_greedy_equals_beam_one():
    model = Seq2Seq.from_data(REVERSE, Seq2SeqConfig(**SMALL))
    fit(model, REVERSE, steps=15)  # half-trained: several competing hypotheses
    sources = ["hello", "ab", "worldly", "cat", "zzq"]
    batched = model.translate(sources, beam_size=4, nbest=3, length_penalty=0.6)
    single = [model.translate([s], beam_size=4, nbest=3, length_penalty=0.6)[0] for s in sources]
    for a, b in zip(batched, single):
        assert [h.tokens for h in a] == [h.tokens for h in b]
        assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-5)
    greedy = model.translate(sources)
    beam1 = model.translate(sources, beam_size=1, nbest=1)
    assert [g[0].tokens for g in greedy] == [b[0].tokens for b in beam1]


def test_padding_does_not_change_the_logits():
    model = Seq2Seq.from_data(REVERSE, Seq2SeqConfig(**SMALL))
    model.eval()
    batch = model.collate(model.encode(REVERSE))
    together = model(batch.source, batch.source_lengths, batch.target)
    for b, pair in enumerate(REVERSE):
        alone = model.collate(model.encode([pair]))
        L = alone.target.shape[1]
        torch.testing.assert_close(
            model(alone.source, alone.source_lengths, alone.target)[0], together[b, :L], atol=1e-5, rtol=1e-5
        )


def test_teacher_forcing_schedules():
    assert TeacherForcing("constant", 0.7, 0.0, 100)(5000) == 0.7
    linear = TeacherForcing("linear", 1.0, 0.2, 100)
    assert [linear(i) for i in (0, 50, 100, 1000)] == pytest.approx([1.0, 0.6, 0.2, 0.2])
    inverse = TeacherForcing("inverse_sigmoid", 1.0, 0.0, 10)
    assert inverse(0) == pytest.approx(10 / 11)
    assert inverse(100) == pytest.approx(10 / (10 + torch.e**10))
    assert inverse(10**9) < 1e-300  # no overflow


def test_scheduled_sampling_with_epsilon_zero_feeds_the_models_own_predictions():
    config = Seq2SeqConfig(teacher_forcing=0.0, **SMALL)
    model = Seq2Seq.from_data(REVERSE, config)
    model.train()  # dropout 0, so train mode only switches the schedule on
    batch = model.collate(model.encode(REVERSE[:3]))
    logits = model(batch.source, batch.source_lengths, batch.target)
    state = model.start(batch.source, batch.source_lengths)
    y = batch.target.new_full((3,), model.target_vocab.bos_id)
    for t in range(batch.target.shape[1]):
        logits_t, state, _ = model.step(y, state)
        torch.testing.assert_close(logits[:, t], logits_t)
        y = logits_t.argmax(dim=-1)  # not the gold token
    model.eval()  # evaluation always reads the gold tokens
    gold_fed = model(batch.source, batch.source_lengths, batch.target)
    assert not torch.allclose(gold_fed, logits)


def test_update_count_is_kept_in_the_weights():
    model = Seq2Seq.from_data(REVERSE, Seq2SeqConfig(**SMALL))
    fit(model, REVERSE, steps=3)
    assert int(model.updates) == 3
    model.eval()
    model.training_loss(model.collate(model.encode(REVERSE)))  # validation does not count
    assert model.state_dict()["updates"].item() == 3


@pytest.mark.parametrize("tokens", ["char", "bpe"])
def test_save_load_gives_identical_outputs(tmp_path, tokens):
    pairs = [Pair(f"{w} {v}", f"{v} {w}") for w in WORDS for v in WORDS[:4]]
    config = Seq2SeqConfig(source_tokens=tokens, target_tokens=tokens, bpe_vocab_size=60, **SMALL)
    model = Seq2Seq.from_data(pairs, config)
    fit(model, pairs, steps=5)
    path = model.save(tmp_path / "model")
    assert sorted(p.name for p in path.iterdir()) == [
        "config.json",
        "model.safetensors",
        "tokenizer-source.json",
        "tokenizer-target.json",
        "vocab-source.json",
        "vocab-target.json",
    ]
    loaded = Seq2Seq.load(path)
    batch = model.collate(model.encode(pairs[:6]))
    torch.testing.assert_close(
        loaded(batch.source, batch.source_lengths, batch.target),
        model(batch.source, batch.source_lengths, batch.target),
        atol=0,
        rtol=0,
    )
    for ours, theirs in zip(
        loaded.translate(["hello dog", "cat"], beam_size=3, nbest=2),
        model.translate(["hello dog", "cat"], beam_size=3, nbest=2),
    ):
        assert [(h.text, h.score) for h in ours] == [(h.text, h.score) for h in theirs]
        assert all(torch.equal(a.attention, b.attention) for a, b in zip(ours, theirs))
    (path / "tokenizer-target.json").unlink()
    with pytest.raises(ValueError, match=r"tokenizer-target.json: missing"):
        Seq2Seq.load(path)


def test_unseen_characters_empty_lines_and_long_sources(caplog):
    model = Seq2Seq.from_data(REVERSE, Seq2SeqConfig(max_source_length=8, **SMALL))
    outputs = model.translate(["héllo→", "", "   "])
    assert outputs[1][0].text == "" and outputs[2][0].text == ""
    assert isinstance(outputs[0][0].text, str)  # unknown characters → <unk>, no crash
    with pytest.raises(ValueError, match=r"input: the source has 12 tokens, more than max_source_length 8"):
        model.translate(["abcdefghijkl"])
    with pytest.raises(ValueError, match=r"train.tsv:7: the source has 9 tokens"):
        model.encode([Pair("abcdefghi", "x", origin="train.tsv:7")])
    cut = Seq2Seq.from_data(REVERSE, Seq2SeqConfig(max_source_length=8, truncate_source=True, **SMALL))
    with caplog.at_level(logging.WARNING):
        cut.translate(["abcdefghijkl"])
    assert "source of 12 tokens truncated to max_source_length 8" in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"attention": "luong"}, r"unknown attention 'luong'; known: none, bahdanau, dot, general, concat"),
        ({"attention": "dot"}, r"dot attention .* use attention 'general'"),
        (
            {"tie_embeddings": True, "embedding_dim": 8, "hidden_size": 16},
            r"embedding_dim must equal hidden_size",
        ),
        ({"teacher_forcing": 1.5}, r"teacher_forcing in \[0, 1\]"),
        ({"teacher_forcing_schedule": "exp"}, r"unknown teacher_forcing_schedule 'exp'"),
        ({"source_tokens": "sentencepiece"}, r"unknown source_tokens"),
    ],
)
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Seq2SeqConfig(**kwargs)


def test_tied_embeddings_share_one_matrix():
    model = Seq2Seq.from_data(REVERSE, Seq2SeqConfig(tie_embeddings=True, embedding_dim=16, hidden_size=16))
    assert model.output.weight is model.target_embedding.weight


@pytest.mark.parametrize("attention", ["bahdanau", "none"])
def test_batched_teacher_forcing_equals_the_step_loop(attention):
    # Bahdanau (or no) attention takes the output layers out of the loop; logits and gradients must not change
    model = Seq2Seq.from_data(REVERSE, Seq2SeqConfig(attention=attention, num_layers=2, **SMALL)).train()
    batch = model.collate(model.encode(REVERSE))

    def logits_and_grads(fn):
        model.zero_grad()
        logits = fn()
        (logits * torch.linspace(-1, 1, logits.numel()).view_as(logits)).sum().backward()
        return logits.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]

    batched = logits_and_grads(lambda: model(batch.source, batch.source_lengths, batch.target))
    state = model.start(batch.source, batch.source_lengths)
    looped = logits_and_grads(lambda: model._step_by_step(state, batch.target, 1.0))
    torch.testing.assert_close(batched[0], looped[0], rtol=1e-5, atol=1e-6)
    assert len(batched[1]) == len(looped[1])
    for a, b in zip(batched[1], looped[1]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("recurrence", ["mingru", "minlstm", "mlstm", "slstm", "mamba", "rwkv"])
def test_every_registry_recurrence_can_encode_and_decode(recurrence):
    """States without a vector h (mLSTM's matrix memory, Mamba's conv/SSM states) start the decoder from
    its zeros; h and c, where a state has them, go through the bridge."""
    options = {"num_heads": 2} if recurrence in ("mlstm", "slstm") else {}
    pairs = [Pair("abc", "x y z"), Pair("ab", "x y"), Pair("c", "z")]
    config = Seq2SeqConfig(
        recurrence=recurrence,
        recurrence_options=options,
        hidden_size=8,
        embedding_dim=4,
        num_layers=2,
        source_tokens="char",
        target_tokens="word",
    )
    torch.manual_seed(0)
    model = Seq2Seq.from_data(pairs, config)
    assert set(model.bridge) == {"h", "c"} & set(model.decoder.initial_state(1)[0]._fields)
    loss = model.training_loss(model.collate(model.encode(pairs)))
    loss.backward()
    assert torch.isfinite(loss) and all(
        torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None
    )
    assert len(model.translate(["abc", "c"], beam_size=2)) == 2


def test_the_fixed_context_is_the_final_forward_and_first_backward_output():
    pairs = [Pair("abcd", "x y"), Pair("ab", "y")]
    torch.manual_seed(0)
    model = Seq2Seq.from_data(pairs, Seq2SeqConfig(attention="none", hidden_size=6, embedding_dim=4,
                                                   source_tokens="char", target_tokens="word"))  # fmt: skip
    model.eval()  # no dropout on the embeddings
    batch = model.collate(model.encode(pairs))
    state = model.start(batch.source, batch.source_lengths)
    _, final = model.encoder(model.source_embedding(batch.source), lengths=batch.source_lengths)
    top = final[-1]
    torch.testing.assert_close(state.feed, torch.cat([top.forward.h, top.backward.h], dim=-1))
