"""The tagger: it learns tiny corpora, decodes only valid tag sequences, and its model folder round-trips."""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict

import pytest
import torch

from seqlab.data import Sentence, allowed_transitions, words_to_bmes
from seqlab.tasks import Tagger, TaggerConfig, model_files
from seqlab.tasks.tagging import bigrams_of

NER = [
    Sentence(("John", "lives", "in", "Paris"), ("B-PER", "O", "O", "B-LOC")),
    Sentence(("Mary", "Smith", "visited", "New", "York"), ("B-PER", "I-PER", "O", "B-LOC", "I-LOC")),
    Sentence(("IBM", "hired", "Ann", "in", "2019"), ("B-ORG", "O", "B-PER", "O", "O")),
]
SEGMENTED = [
    ["我", "喜欢", "自然", "语言", "处理"],
    ["自然语言", "处理", "很", "有趣"],
    ["我", "喜欢", "语言"],
]
SMALL = {"word_dim": 16, "char_dim": 8, "char_hidden": 8, "hidden_size": 16, "dropout": 0.0}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def train(model: Tagger, sentences, steps: int = 60, lr: float = 0.05) -> float:
    batch = model.collate(model.encode(sentences))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = model.training_loss(batch)
        loss.backward()
        opt.step()
    model.eval()
    return loss.item()


@pytest.mark.parametrize("head", ["crf", "softmax"])
@pytest.mark.parametrize("char_encoder", ["lstm", "cnn", "none"])
def test_learns_a_tiny_ner_corpus(char_encoder, head):
    model = Tagger.from_data(NER, TaggerConfig(char_encoder=char_encoder, head=head, **SMALL))
    train(model, NER)
    batch = model.collate(model.encode(NER))
    assert model.validation_metrics([model.validation_outputs(batch)])["f1"] == 1.0
    assert model.predict([s.tokens for s in NER]) == [list(s.tags) for s in NER]


def test_chinese_segmentation_character_level_and_constraints():
    sentences = [Sentence(tuple("".join(ws)), tuple(words_to_bmes(ws))) for ws in SEGMENTED]
    model = Tagger.from_data(sentences, TaggerConfig(scheme="BMES", char_encoder="none", **SMALL))
    train(model, sentences, steps=80)
    metrics = model.validation_metrics([model.validation_outputs(model.collate(model.encode(sentences)))])
    assert metrics["f1"] == 1.0
    # an untrained CRF still only emits valid BMES, whatever the input
    fresh = Tagger.from_data(sentences, TaggerConfig(scheme="BMES", char_encoder="none", **SMALL))
    allowed = allowed_transitions(fresh.tags.tokens, "BMES")
    ids = {t: i for i, t in enumerate(fresh.tags.tokens)}
    for tags in fresh.predict([list("我喜欢自然语言处理"), list("自然语言处理"), list("很")]):
        seq = [ids[t] for t in tags]
        assert allowed.start[seq[0]] and allowed.end[seq[-1]]
        assert all(allowed.transitions[a, b] for a, b in itertools.pairwise(seq))


def test_pos_tagging_reports_accuracy():
    pos = [
        Sentence(("the", "cat", "sat"), ("DT", "NN", "VBD")),
        Sentence(("a", "dog", "ran"), ("DT", "NN", "VBD")),
    ]
    model = Tagger.from_data(pos, TaggerConfig(scheme="none", **SMALL))
    train(model, pos)
    metrics = model.validation_metrics([model.validation_outputs(model.collate(model.encode(pos)))])
    assert metrics == {"accuracy": 1.0}


def test_unseen_gold_tags_at_evaluation_are_scored_not_a_crash():
    model = Tagger.from_data(NER, TaggerConfig(**SMALL))
    scores = model.score([["B-EVENT", "I-EVENT", "O"]], [["O", "O", "O"]])
    assert scores["recall"] == 0.0 and scores["accuracy"] == pytest.approx(1 / 3)


def test_save_load_gives_identical_predictions(tmp_path):
    model = Tagger.from_data(NER, TaggerConfig(**SMALL))
    train(model, NER, steps=10)
    path = model.save(tmp_path / "model")
    assert sorted(p.name for p in path.iterdir()) == [
        "config.json",
        "model.safetensors",
        "vocab-chars.json",
        "vocab-tags.json",
        "vocab-words.json",
    ]
    loaded = Tagger.load(path)
    batch = model.collate(model.encode([*NER, Sentence(("Unknown", "Zzyzx"), None)]))
    torch.testing.assert_close(
        loaded(batch.words, batch.chars, batch.lengths),
        model(batch.words, batch.chars, batch.lengths),
        atol=0,
        rtol=0,
    )
    assert loaded.predict([["Zzyzx", "visited", "Paris"]]) == model.predict([["Zzyzx", "visited", "Paris"]])
    assert loaded.config == model.config


def test_failed_save_leaves_the_old_model_intact(tmp_path, monkeypatch):
    model = Tagger.from_data(NER, TaggerConfig(**SMALL))
    path = model.save(tmp_path / "model")
    before = {p.name: p.read_bytes() for p in path.iterdir()}

    def broken(*args, **kwargs):
        raise OSError("disk full")

    import safetensors.torch

    monkeypatch.setattr(safetensors.torch, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"], "no temporary folder left behind"


def test_load_errors_say_what_is_wrong(tmp_path):
    model = Tagger.from_data(NER, TaggerConfig(**SMALL))
    path = model.save(tmp_path / "model")
    with pytest.raises(ValueError, match=r"does not exist"):
        Tagger.load(tmp_path / "nowhere")
    weights = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(ValueError, match=r"model.safetensors: cannot be read .*truncated"):
        Tagger.load(path)
    path = model.save(tmp_path / "model")
    header = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**header, "kind": "translator"}))
    with pytest.raises(ValueError, match=r"holds a seqlab 'translator' model, expected a 'tagger' model"):
        Tagger.load(path)
    (path / "config.json").write_text(json.dumps({**header, "config": {**header["config"], "depth": 3}}))
    with pytest.raises(ValueError, match=r"config.json does not describe a tagger model .*'depth'"):
        Tagger.load(path)
    (path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"config.json: not valid JSON"):
        Tagger.load(path)
    path = model.save(tmp_path / "model")
    (path / "vocab-tags.json").unlink()
    with pytest.raises(ValueError, match=r"vocab-tags.json: missing"):
        Tagger.load(path)
    with pytest.raises(ValueError, match=r"is not a seqlab model folder"):
        model_files.load_folder(tmp_path, "tagger")


def test_word_vectors_from_glove_and_word2vec_text(tmp_path):
    model = Tagger.from_data(NER, TaggerConfig(**{**SMALL, "word_dim": 3}))
    glove = tmp_path / "vectors.txt"
    glove.write_text("3 3\njohn 1 2 3\nparis 4 5 6\nunrelated 7 8 9\n")
    assert model.init_word_vectors(glove) == 2
    john = model.words.encode(["John"])[0]
    torch.testing.assert_close(model.word_embedding.weight[john], torch.tensor([1.0, 2.0, 3.0]))
    glove.write_text("john 1 2 3\nparis 4 5\n")
    with pytest.raises(ValueError, match=r"vectors.txt:2: expected a word and 3 numbers .*got 2"):
        model.init_word_vectors(glove)


def test_one_token_long_and_empty_sentences():
    model = Tagger.from_data(NER, TaggerConfig(**SMALL))
    out = model.predict([["Paris"], ["word"] * 10_000, []])
    assert len(out[0]) == 1 and len(out[1]) == 10_000 and out[2] == []


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"head": "mlp"}, r"unknown head 'mlp'; known: crf, softmax"),
        ({"char_encoder": "gru"}, r"unknown char_encoder 'gru'; known: lstm, cnn, none"),
        ({"recurrence": "transformer"}, r"unknown recurrence 'transformer'; known: rnn, lstm, gru"),
        ({"scheme": "IOX"}, r"IOX"),
        ({"dropout": 1.0}, r"dropout in \[0, 1\)"),
        ({"hidden_size": 0}, r"hidden_size to be a positive integer"),
    ],
)
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TaggerConfig(**kwargs)


def test_training_sentences_need_tags():
    with pytest.raises(ValueError, match=r"x.conll:3: training sentences need tags"):
        Tagger.from_data([Sentence(("a",), None, "x.conll:3")])


def test_word_dropout_feeds_unk_in_training_only():
    model = Tagger.from_data(NER, TaggerConfig(**{**SMALL, "word_dropout": 0.5}))
    seen = []
    model.word_embedding.register_forward_pre_hook(lambda _, args: seen.append(args[0].clone()))
    batch = model.collate(model.encode(NER))
    model.train()
    model(batch.words, batch.chars, batch.lengths)
    model.eval()
    model(batch.words, batch.chars, batch.lengths)
    unk, pad = model.words.unk_id, model.words.pad_id
    real = batch.words != pad
    assert (seen[0][real] == unk).any() and (seen[0][~real] == pad).all()
    assert torch.equal(seen[1], batch.words)


def test_bigrams_of_puts_each_token_between_two_bigrams():
    assert bigrams_of(["自", "然", "语"]) == ["<s> 自", "自 然", "然 语", "语 </s>"]
    assert bigrams_of([]) == ["<s> </s>"]


def test_bigram_features_batch_layout_learning_and_round_trip(tmp_path):
    sentences = [Sentence(tuple("".join(ws)), tuple(words_to_bmes(ws))) for ws in SEGMENTED]
    config = TaggerConfig(scheme="BMES", char_encoder="none", bigrams=True, bigram_dim=8, min_bigram_freq=1)
    model = Tagger.from_data(sentences, TaggerConfig(**{**asdict(config), **SMALL}))
    # every training bigram is in the vocabulary, and an unseen one maps to <unk>
    assert "自 然" in model.bigrams and "<s> 我" in model.bigrams
    assert model.bigrams.encode(["猫 狗"]) == [model.bigrams.unk_id]
    # token t gets bigrams t (left) and t + 1 (right); padding stays 0
    batch = model.collate(model.encode([list("我喜欢"), list("很")]))
    ids = model.bigrams.encode(["<s> 我", "我 喜", "喜 欢", "欢 </s>"])
    assert batch.bigrams[0].tolist() == [[ids[0], ids[1]], [ids[1], ids[2]], [ids[2], ids[3]]]
    assert batch.bigrams[1, 1:].tolist() == [[0, 0], [0, 0]]
    train(model, sentences, steps=80)
    assert (
        model.validation_metrics([model.validation_outputs(model.collate(model.encode(sentences)))])["f1"]
        == 1.0
    )
    path = model.save(tmp_path / "model")
    assert (path / "vocab-bigrams.json").exists()
    loaded = Tagger.load(path)
    batch = model.collate(model.encode([list("我喜欢自然语言处理"), list("猫")]))
    torch.testing.assert_close(
        loaded(batch.words, batch.chars, batch.lengths, batch.bigrams),
        model(batch.words, batch.chars, batch.lengths, batch.bigrams),
        atol=0,
        rtol=0,
    )
    with pytest.raises(ValueError, match=r"uses bigrams; expected bigram ids of shape \(2, 9, 2\), got None"):
        model(batch.words, batch.chars, batch.lengths)
    (path / "vocab-bigrams.json").unlink()
    with pytest.raises(ValueError, match=r"vocab-bigrams.json: missing"):
        Tagger.load(path)


def test_word_embeddings_start_with_unit_variance_vectors():
    model = Tagger.from_data(NER, TaggerConfig(word_dim=48, char_encoder="none"))
    weight = model.word_embedding.weight.detach()
    bound = (3 / 48) ** 0.5
    assert weight.abs().max() <= bound and weight[model.words.pad_id].abs().max() == 0
    assert 0.7 < (weight[1:] ** 2).sum(dim=1).mean() < 1.3  # E‖e‖² = d · bound² / 3 = 1


def test_char_dropout_acts_on_the_character_embeddings_only_in_training():
    model = Tagger.from_data(NER, TaggerConfig(**{**SMALL, "char_dropout": 0.5}))
    seen = []
    model.char_rnn.register_forward_pre_hook(lambda _, args: seen.append(args[0].clone()))
    batch = model.collate(model.encode(NER))
    model.train()
    model(batch.words, batch.chars, batch.lengths)
    model.eval()
    model(batch.words, batch.chars, batch.lengths)
    real = seen[1] != 0  # evaluation: the embeddings as they are (padding characters embed to 0)
    dropped = (seen[0][real] == 0).float().mean()  # training: about half of them zeroed
    assert 0.35 < dropped < 0.65
