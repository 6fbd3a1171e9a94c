"""The classifier: last-state pooling as the chapter defines it, padding-invariance, attention weights,
exact save/load, learning tiny text and time-series corpora, multi-label and class weights, bad input."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqlab.data import Example
from seqlab.recurrent import RECURRENCES
from seqlab.tasks import Classifier, ClassifierConfig
from seqlab.tasks.classification import AttentionPooling
from seqlab.tasks.classification_run import evaluate_classifier

TEXTS = [
    ("a great fun film", "pos"),
    ("great acting and a fine plot", "pos"),
    ("fine fun", "pos"),
    ("a dull boring film", "neg"),
    ("boring plot and dull acting", "neg"),
    ("awful", "neg"),
]
TEXT_EXAMPLES = [Example(text=t, labels=(label,), origin=f"tiny:{k}") for k, (t, label) in enumerate(TEXTS)]
SMALL = {"embedding_dim": 8, "hidden_size": 8, "attention_size": 8, "dropout": 0.0}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def series_examples(n: int = 8, seed: int = 0) -> list[Example]:
    """Two classes of 2-feature series of different lengths: a rising or a falling first feature."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        T = int(rng.integers(5, 12))
        t = np.linspace(0, 1, T)
        label = "up" if k % 2 == 0 else "down"
        first = 10 * t if label == "up" else 10 * (1 - t)
        values = np.stack([first + 100, rng.normal(0, 0.1, T)], axis=1)  # offset: standardisation matters
        out.append(Example(series=values, labels=(label,), origin=f"synthetic:{k}"))
    return out


def train(model: Classifier, examples, steps: int = 60, lr: float = 0.05) -> float:
    batch = model.collate(model.encode(examples))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = model.training_loss(batch)
        loss.backward()
        opt.step()
    model.eval()
    return loss.item()


def batch_of(model: Classifier, examples):
    return model.collate(model.encode(examples))


@pytest.mark.parametrize("recurrence", sorted(RECURRENCES))
@pytest.mark.parametrize("bidirectional", [True, False])
def test_last_pooling_is_the_output_at_each_true_length(recurrence, bidirectional):
    """[h→_T; h←_1]: each sequence run alone, forward output at its last token, backward output at 0."""
    config = ClassifierConfig(recurrence=recurrence, bidirectional=bidirectional, num_layers=2, **SMALL)
    model = Classifier.from_data(TEXT_EXAMPLES, config).eval()
    batch = batch_of(model, TEXT_EXAMPLES)
    logits = model(batch.inputs, batch.lengths).logits
    H = config.hidden_size
    for b, n in enumerate(batch.lengths.tolist()):
        alone = model.embedding(batch.inputs[b : b + 1, :n])  # (1, n, E), no padding at all
        h, _ = model.encoder(alone)  # (1, n, dirs·H)
        r = torch.cat([h[0, n - 1, :H], h[0, 0, H:]]) if bidirectional else h[0, n - 1]
        torch.testing.assert_close(logits[b], model.output(r), rtol=0, atol=1e-6)


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
def test_padding_does_not_change_logits(pooling):
    model = Classifier.from_data(TEXT_EXAMPLES, ClassifierConfig(pooling=pooling, **SMALL)).eval()
    together = model(*_inputs(batch_of(model, TEXT_EXAMPLES)))
    for b, example in enumerate(TEXT_EXAMPLES):
        alone = model(*_inputs(batch_of(model, [example])))
        torch.testing.assert_close(alone.logits[0], together.logits[b], rtol=0, atol=1e-6)
        if pooling == "attention":
            n = alone.attention.shape[1]
            torch.testing.assert_close(alone.attention[0], together.attention[b, :n], rtol=0, atol=1e-6)


def _inputs(batch):
    return batch.inputs, batch.lengths


def test_mean_and_max_pooling_match_their_definitions():
    for pooling in ("mean", "max"):
        model = Classifier.from_data(TEXT_EXAMPLES, ClassifierConfig(pooling=pooling, **SMALL)).eval()
        batch = batch_of(model, TEXT_EXAMPLES)
        logits = model(batch.inputs, batch.lengths).logits
        h, _ = model.encoder(model.embedding(batch.inputs), lengths=batch.lengths)
        for b, n in enumerate(batch.lengths.tolist()):
            r = h[b, :n].mean(dim=0) if pooling == "mean" else h[b, :n].amax(dim=0)
            torch.testing.assert_close(logits[b], model.output(r), rtol=0, atol=1e-6)


def test_attention_weights_sum_to_one_and_are_zero_on_padding():
    examples = [*TEXT_EXAMPLES, Example(text="", labels=("neg",))]
    model = Classifier.from_data(TEXT_EXAMPLES, ClassifierConfig(pooling="attention", **SMALL)).eval()
    batch = batch_of(model, examples)
    alpha = model(batch.inputs, batch.lengths).attention  # (B, T)
    assert alpha.shape == batch.inputs.shape
    mask = torch.arange(alpha.shape[1])[None, :] < batch.lengths[:, None]
    assert torch.all(alpha[~mask] == 0)
    assert torch.all(alpha >= 0)
    sums = alpha.sum(dim=1)
    torch.testing.assert_close(sums[:-1], torch.ones(len(examples) - 1))
    assert sums[-1] == 0  # the empty input has nothing to attend to
    # the pooled vector really is Σ α_t h_t
    h, _ = model.encoder(model.embedding(batch.inputs), lengths=batch.lengths.clamp(min=1))
    r = (alpha.unsqueeze(-1) * h).sum(dim=1)
    torch.testing.assert_close(model.output(r), model(batch.inputs, batch.lengths).logits)


def test_attention_pooling_gradcheck():
    pool = AttentionPooling(3, 4).double()
    h = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    assert torch.autograd.gradcheck(lambda x: pool(x, mask)[0], (h,))


@pytest.mark.parametrize("pooling", ["last", "attention"])
def test_learns_a_tiny_text_corpus(pooling):
    model = Classifier.from_data(TEXT_EXAMPLES, ClassifierConfig(pooling=pooling, **SMALL))
    train(model, TEXT_EXAMPLES)
    metrics = model.validation_metrics([model.validation_outputs(batch_of(model, TEXT_EXAMPLES))])
    assert metrics["accuracy"] == 1.0 and metrics["macro_f1"] == 1.0
    assert [p.labels[0] for p in model.predict([t for t, _ in TEXTS])] == [label for _, label in TEXTS]


def test_learns_a_synthetic_time_series_and_standardises_with_training_statistics():
    examples = series_examples()
    model = Classifier.from_data(examples, ClassifierConfig(inputs="series", pooling="mean", **SMALL))
    values = np.concatenate([e.series for e in examples]).astype(np.float64)
    torch.testing.assert_close(model.feature_mean, torch.tensor(values.mean(axis=0), dtype=torch.float32))
    torch.testing.assert_close(model.feature_std, torch.tensor(values.std(axis=0), dtype=torch.float32))
    train(model, examples, steps=80)
    assert [p.labels[0] for p in model.predict(examples)] == [e.label for e in examples]
    # a missing value (NaN) reads as the training mean, not as a NaN that would spoil the logits
    gappy = examples[0].series.copy()
    gappy[2, 1] = np.nan
    assert all(np.isfinite(list(model.predict([gappy])[0].probabilities.values())))


@pytest.mark.parametrize("inputs", ["text", "series"])
def test_save_load_gives_identical_logits(tmp_path, inputs):
    examples = TEXT_EXAMPLES if inputs == "text" else series_examples()
    config = ClassifierConfig(inputs=inputs, pooling="attention", class_weights="balanced", **SMALL)
    model = Classifier.from_data(examples, config)
    train(model, examples, steps=5)
    model.save(tmp_path / "model")
    loaded = Classifier.load(tmp_path / "model")
    assert loaded.config == model.config and loaded.labels == model.labels
    batch = batch_of(model, examples)
    a, b = model(batch.inputs, batch.lengths), loaded(batch.inputs, batch.lengths)
    torch.testing.assert_close(a.logits, b.logits, rtol=0, atol=0)
    torch.testing.assert_close(a.attention, b.attention, rtol=0, atol=0)
    torch.testing.assert_close(model.class_weight, loaded.class_weight, rtol=0, atol=0)
    if inputs == "series":
        assert loaded.num_features == 2
        torch.testing.assert_close(model.feature_mean, loaded.feature_mean, rtol=0, atol=0)


def test_multi_label_learns_and_thresholds():
    data = [
        ("goal scored in the match", ("sports",)),
        ("election vote counted", ("politics",)),
        ("minister plays in the match", ("politics", "sports")),
        ("weather is mild", ()),
    ]
    examples = [Example(text=t, labels=labels) for t, labels in data]
    model = Classifier.from_data(examples, ClassifierConfig(multi_label=True, pooling="max", **SMALL))
    assert model.labels.tokens == ("politics", "sports")
    train(model, examples, steps=80)
    predictions = model.predict([t for t, _ in data])
    assert [p.labels for p in predictions] == [labels for _, labels in data]
    assert all(0 < v < 1 for p in predictions for v in p.probabilities.values())
    metrics = model.validation_metrics([model.validation_outputs(batch_of(model, examples))])
    assert metrics["accuracy"] == 1.0 and metrics["micro_f1"] == 1.0


def test_balanced_class_weights_come_from_training_counts():
    examples = [Example(text=f"w{k}", labels=("a" if k < 3 else "b",)) for k in range(4)]  # 3 a, 1 b
    model = Classifier.from_data(examples, ClassifierConfig(class_weights="balanced", **SMALL))
    torch.testing.assert_close(model.class_weight, torch.tensor([4 / (2 * 3), 4 / (2 * 1)]))
    batch = batch_of(model, examples)
    logits = model(batch.inputs, batch.lengths).logits
    expected = F.cross_entropy(logits, batch.targets, weight=model.class_weight)
    torch.testing.assert_close(model.training_loss(batch), expected)
    multi = Classifier.from_data(
        examples, ClassifierConfig(class_weights="balanced", multi_label=True, **SMALL)
    )
    torch.testing.assert_close(multi.class_weight, torch.tensor([1 / 3, 3.0]))  # (N − n_k) / n_k


def test_empty_text_gets_a_prediction_and_a_warning(caplog):
    model = Classifier.from_data(TEXT_EXAMPLES, ClassifierConfig(**SMALL))
    with caplog.at_level(logging.WARNING, logger="seqlab.tasks.classification"):
        (empty, other) = model.predict(["", "great film"])
    assert "empty input(s) (first: input 1): predicted from the empty sequence" in caplog.text
    assert empty.tokens == () and len(empty.labels) == 1
    bias = torch.softmax(model.output.bias, dim=0).tolist()  # the empty sequence pools to the zero vector
    assert list(empty.probabilities.values()) == pytest.approx(bias)
    assert other.tokens == ("great", "film")


def test_unseen_label_at_evaluation_is_reported_not_a_crash(caplog):
    model = Classifier.from_data(TEXT_EXAMPLES, ClassifierConfig(**SMALL))
    train(model, TEXT_EXAMPLES)
    test = [*TEXT_EXAMPLES, Example(text="a fine film", labels=("mixed",), origin="test.csv:8")]
    with caplog.at_level(logging.WARNING):
        result = evaluate_classifier(model, test)
    assert result["unseen_labels"] == {"mixed": 1}
    assert "never seen in training (counted as errors): mixed ×1" in caplog.text
    assert result["accuracy"] == pytest.approx(6 / 7)
    assert result["confusion"]["labels"] == ["neg", "pos", "mixed"]
    assert result["report"]["mixed"]["recall"] == 0.0
    with pytest.raises(
        ValueError, match=r"test.csv:8: label 'mixed' was not seen in training; the model knows"
    ):
        model.encode(test)  # training itself never gets an unknown label silently


def test_long_inputs_are_cut_with_a_warning(caplog):
    model = Classifier.from_data(TEXT_EXAMPLES, ClassifierConfig(max_length=3, **SMALL))
    with caplog.at_level(logging.WARNING):
        (encoded,) = model.encode(["great acting and a fine plot"])
    assert encoded.tokens == ("great", "acting", "and")
    assert "1 input(s) longer than max_length 3 were cut" in caplog.text


def test_bad_configs_and_inputs():
    with pytest.raises(ValueError, match=r"unknown pooling 'sum'; known: last, mean, max, attention"):
        ClassifierConfig(pooling="sum")
    with pytest.raises(ValueError, match=r"unknown recurrence 'transformer'; known: .*lstm"):
        ClassifierConfig(recurrence="transformer")
    with pytest.raises(ValueError, match=r"unknown class_weights 'auto'; known: none, balanced"):
        ClassifierConfig(class_weights="auto")
    with pytest.raises(ValueError, match=r"expected threshold in \(0, 1\), got 1.5"):
        ClassifierConfig(threshold=1.5)
    with pytest.raises(
        ValueError, match=r"tiny:0: has labels \['a', 'b'\]; a multi-class task needs exactly"
    ):
        Classifier.from_data([Example(text="x", labels=("a", "b"), origin="tiny:0")], ClassifierConfig())
    with pytest.raises(ValueError, match=r"the config says inputs='series', the example is a text"):
        Classifier.from_data(TEXT_EXAMPLES, ClassifierConfig(inputs="series"))
    model = Classifier.from_data(series_examples(), ClassifierConfig(inputs="series", **SMALL))
    with pytest.raises(ValueError, match=r"input 1: expected a series of 2 features, got 3"):
        model.predict([np.zeros((4, 3))])
    with pytest.raises(ValueError, match=r"series inputs are values of shape \(B, T, 2\), got \(1, 4\)"):
        model(torch.zeros(1, 4), torch.tensor([4]))
    with pytest.raises(ValueError, match=r"expected word_dropout in \[0, 1\), got 1.0"):
        ClassifierConfig(word_dropout=1.0)
    with pytest.raises(ValueError, match=r"expected embedding_dropout in \[0, 1\), got -0.1"):
        ClassifierConfig(embedding_dropout=-0.1)


def test_input_regularisers_act_in_training_only():
    config = ClassifierConfig(**{**SMALL, "word_dropout": 0.5, "embedding_dropout": 0.5})
    model = Classifier.from_data(TEXT_EXAMPLES, config)
    batch = batch_of(model, TEXT_EXAMPLES)
    model.eval()
    first = model(batch.inputs, batch.lengths).logits
    assert torch.equal(first, model(batch.inputs, batch.lengths).logits)  # deterministic at evaluation
    model.train()
    seen = [model(batch.inputs, batch.lengths).logits for _ in range(3)]
    assert not torch.equal(seen[0], seen[1])  # a fresh mask each call
    # word dropout replaces real tokens by <unk>, never padding
    unk, pad = model.tokens.unk_id, model.tokens.pad_id
    inputs = batch.inputs
    captured = []
    handle = model.embedding.register_forward_hook(lambda m, args, out: captured.append(args[0]))
    model(inputs, batch.lengths)
    handle.remove()
    ids = captured[0]
    changed = ids != inputs
    assert changed.any()
    assert (ids[changed] == unk).all()
    assert (ids[inputs == pad] == pad).all()


def test_token_embeddings_start_with_unit_norm_vectors():
    model = Classifier.from_data(TEXT_EXAMPLES, ClassifierConfig(**{**SMALL, "embedding_dim": 300}))
    W = model.embedding.weight.detach()  # (V, E)
    assert W.abs().max() <= (3 / 300) ** 0.5
    assert torch.equal(W[0], torch.zeros(300))  # padding
    assert 0.9 < W[1:].pow(2).sum(dim=1).mean() < 1.1  # E · (3/E) / 3 = 1
