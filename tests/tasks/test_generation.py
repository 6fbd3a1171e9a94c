"""LanguageModel: stream batching, the carried state, sampling through step, save/load, learning."""

from __future__ import annotations

import math

import pytest
import torch

from seqlab.tasks.generation import (
    KVCache,
    LanguageModel,
    LanguageModelConfig,
    StreamSampler,
    StreamWindows,
    stream_loader,
    stream_rows,
)
from seqlab.tasks.generation_run import GenerationData, load_texts, train_language_model
from seqlab.training import TrainConfig, fit

TEXT = "the cat sat on the mat. a dog ate the hat!\n" * 6


def tiny(text: str = TEXT, **options) -> LanguageModel:
    torch.manual_seed(0)
    defaults = {"hidden_size": 12, "embedding_dim": 6, "num_layers": 2, "dropout": 0.0}
    model = LanguageModel.from_text(text, LanguageModelConfig(**{**defaults, **options}))
    return model.eval()


# ------------------------------------------------------------------------------------------ batching
def test_stream_rows_lay_the_stream_out_row_by_row_and_drop_the_tail():
    rows = stream_rows(list(range(23)), 4)
    assert rows.tolist() == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13, 14], [15, 16, 17, 18, 19]]
    with pytest.raises(ValueError, match="too few for 4 rows"):
        stream_rows([1, 2, 3, 4, 5], 4)


def test_windows_cover_every_position_once_with_next_token_targets():
    rows = torch.arange(40).view(2, 20)
    windows = StreamWindows(rows, 6)
    seen = torch.cat([windows[k].inputs for k in range(len(windows))], dim=1)
    assert torch.equal(seen, rows[:, :-1])
    for k in range(len(windows)):
        w = windows[k]
        assert torch.equal(w.targets, w.inputs + 1) and w.first == (k == 0) and w.skip == 0


def test_overlapping_windows_score_each_position_once_with_context():
    rows = torch.arange(30).view(1, 30)
    windows = StreamWindows(rows, 8, overlap=4)
    scored = torch.cat([windows[k].inputs[:, windows[k].skip :] for k in range(len(windows))], dim=1)
    assert torch.equal(scored, rows[:, :-1])
    assert all(windows[k].skip == 4 and windows[k].inputs.shape[1] <= 8 for k in range(1, len(windows)))


def test_the_sampler_gives_each_process_its_own_rows_in_window_order():
    rows = torch.arange(24).view(4, 6)
    windows = StreamWindows(rows, 5)
    sampler = StreamSampler(len(windows), num_replicas=2, rank=1)
    (key,) = next(iter(sampler))
    assert windows[key].inputs.tolist() == [[6, 7, 8, 9, 10], [18, 19, 20, 21, 22]]


# ------------------------------------------------------------------------------------------ the model
@pytest.mark.parametrize("recurrence", ["lstm", "gru", "rnn"])
def test_carrying_the_state_across_windows_equals_reading_the_whole_stream(recurrence):
    model = tiny(recurrence=recurrence)
    whole = model.evaluate_text(TEXT, bptt=10_000)
    for bptt in (1, 7, 64):
        assert model.evaluate_text(TEXT, bptt=bptt)["loss"] == pytest.approx(whole["loss"], rel=1e-5)
    assert whole["tokens"] == len(TEXT) - 1
    assert whole["bpc"] == pytest.approx(whole["loss"] / math.log(2))
    assert whole["ppl"] == pytest.approx(math.exp(whole["loss"]))


def test_training_windows_carry_the_state_and_restart_at_the_first_window():
    model = tiny()
    ids = model.encode(TEXT)
    windows = StreamWindows(stream_rows(ids, 1), 9)
    with torch.no_grad():
        total = sum(model.validation_outputs(windows[k])[0] for k in range(len(windows)))
        again = model.validation_outputs(windows[0])[0]  # the first window resets the carried state
        first = model.validation_outputs(windows[0])[0]
    assert total / (len(ids) - 1) == pytest.approx(model.evaluate_text(TEXT)["loss"], rel=1e-5)
    assert again == pytest.approx(first)


def test_the_transformer_is_causal():
    model = tiny(architecture="transformer", num_layers=1, num_heads=2, context=32)
    ids = torch.tensor([model.encode("the cat sat on")])
    changed = ids.clone()
    changed[0, -1] = model.vocab.encode(["d"])[0]
    with torch.no_grad():
        a, b = model(ids)[0], model(changed)[0]
    torch.testing.assert_close(a[:, :-1], b[:, :-1])
    assert not torch.allclose(a[:, -1], b[:, -1])


def test_the_transformer_kv_cache_step_gives_the_full_forward_at_every_position():
    model = tiny(architecture="transformer", num_layers=2, num_heads=2, context=16)
    tokens = torch.randint(len(model.vocab), (3, 16))  # (B, T): up to the last position
    with torch.no_grad():
        reference, _ = model(tokens)  # (B, T, V)
    cache, steps = None, []
    for t in range(tokens.shape[1]):
        logits, cache = model.step(tokens[:, t], cache)
        steps.append(logits)
    torch.testing.assert_close(torch.stack(steps, 1), reference, atol=1e-5, rtol=1e-5)
    assert isinstance(cache, KVCache) and cache.length == 16
    assert cache.nbytes == 2 * 2 * 3 * 16 * 12 * 4  # (k, v) · layers · B · t · H floats of 4 bytes


def test_the_transformer_step_refuses_a_full_cache_and_a_foreign_state():
    model = tiny(architecture="transformer", num_layers=1, num_heads=2, context=4)
    cache = None
    for _ in range(4):
        _, cache = model.step(torch.zeros(1, dtype=torch.long), cache)
    with pytest.raises(ValueError, match=r"at most context=4 positions; 4 cached \+ 1 new do not fit"):
        model.step(torch.zeros(1, dtype=torch.long), cache)
    lstm_state = tiny().step(torch.zeros(1, dtype=torch.long))[1]
    with pytest.raises(ValueError, match=r"a Transformer's state is a KVCache, got tuple"):
        model.step(torch.zeros(1, dtype=torch.long), lstm_state)


@pytest.mark.parametrize("architecture,context", [("recurrent", 64), ("transformer", 64), ("transformer", 8)])
def test_greedy_generation_through_step_equals_rereading_the_prefix(architecture, context):
    # context 8 < 5 + 12 tokens: the Transformer's cache fills, then its window slides
    model = tiny(architecture=architecture, num_heads=2, context=context)
    prime = "the c"
    tokens = list(model.generate(prime, max_tokens=12, greedy=True))
    ids = model.encode(prime)
    for token in tokens:
        with torch.no_grad():
            logits = model(torch.tensor([ids[-context:]]))[0][0, -1]
        logits[model.banned] = float("-inf")
        assert model.vocab.decode([int(logits.argmax())])[0] == token
        ids.append(int(logits.argmax()))


def test_sampling_is_reproducible_with_a_seed_and_top_k_1_is_greedy():
    model = tiny()
    a = model.sample("the", max_tokens=40, seed=5, temperature=1.5)
    assert a == model.sample("the", max_tokens=40, seed=5, temperature=1.5)
    assert a != model.sample("the", max_tokens=40, seed=6, temperature=1.5)
    assert model.sample("the", max_tokens=20, top_k=1, seed=1) == model.sample(
        "the", max_tokens=20, greedy=True
    )
    assert "<unk>" not in model.sample("the", max_tokens=200, seed=0, temperature=3.0)


def test_beam_search_of_width_1_is_greedy_and_wider_beams_score_at_least_as_well():
    model = tiny()
    greedy = model.sample("the ", max_tokens=10, greedy=True)
    assert model.beam_continue("the ", max_tokens=10, beam_size=1) == greedy
    wide = model.beam_continue("the ", max_tokens=10, beam_size=4)

    def log_p(continuation: str) -> float:
        ids = model.encode("the " + continuation)
        with torch.no_grad():
            logp = model(torch.tensor([ids[:-1]]))[0].log_softmax(-1)[0]
        return float(sum(logp[t, i] for t, i in enumerate(ids[1:]) if t >= 3))

    assert log_p(wide) >= log_p(greedy) - 1e-5


def test_stop_ends_generation_after_the_stop_text():
    model = tiny()
    text = model.sample("the", max_tokens=300, seed=0, stop=" ")
    assert text.endswith(" ") and " " not in text[:-1]


def test_priming_text_outside_the_vocabulary_follows_the_policy():
    model = tiny()
    with pytest.raises(ValueError, match=r"prime: token 'Z' \(token 5 of 6\) is not in the model's vocab"):
        model.sample("the Zq", max_tokens=3)
    assert len(model.sample("the Zq", max_tokens=3, unknown="skip")) == 3
    assert len(model.sample("Z", max_tokens=3, unknown="unk")) == 3
    with pytest.raises(ValueError, match="no tokens the model knows"):
        model.sample("ZZ", unknown="skip")
    with pytest.raises(ValueError, match="temperature > 0"):
        model.sample("the", temperature=0)
    with pytest.raises(ValueError, match=r"top_p in \(0, 1\]"):
        model.sample("the", top_p=1.2)


@pytest.mark.parametrize("tie", [False, True])
def test_save_and_load_give_identical_predictions(tmp_path, tie):
    model = tiny(tie_weights=tie)
    if tie:
        assert model.output.weight is model.embedding.weight
        assert model.projection is not None  # H = 12 ≠ E = 6
    model.save(tmp_path / "lm")
    loaded = LanguageModel.load(tmp_path / "lm")
    ids = torch.tensor([model.encode(TEXT[:50])])
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids)[0], model(ids)[0], rtol=0, atol=0)
    assert loaded.sample("the", max_tokens=30, seed=2) == model.sample("the", max_tokens=30, seed=2)
    if tie:
        assert loaded.output.weight is loaded.embedding.weight


def test_word_level_tokens_and_text_round_trip():
    model = tiny(level="word")
    assert model.decode(model.encode("the cat sat.\na dog!")) == "the cat sat.\na dog!"
    assert "bpc" not in model.evaluate_text(TEXT)


def test_a_small_lstm_learns_a_periodic_text(tmp_path):
    text = "abcdefg\n" * 300
    torch.manual_seed(0)
    model = LanguageModel.from_text(text, LanguageModelConfig(hidden_size=32, embedding_dim=8, num_layers=1))
    rows = stream_rows(model.encode(text), 4)
    windows = StreamWindows(rows, 20)
    loader = stream_loader(windows)
    config = TrainConfig(max_epochs=8, lr=1e-2, out_dir=tmp_path, progress_bar=False, log_every_n_steps=1)
    result = fit(model, loader, loader, config)
    assert result.monitor == "loss" and result.mode == "min"
    assert model.evaluate_text(text)["bpc"] < 0.2
    assert model.sample("a", max_tokens=16, greedy=True) == "bcdefg\nabcdefg\na"


# ------------------------------------------------------------------------------------------ runs
def test_train_language_model_on_files_holds_out_the_tail_and_saves(tmp_path):
    train = tmp_path / "train.txt"
    train.write_text(TEXT * 3, encoding="utf-8")
    data = GenerationData(train=str(train), bptt=16, batch_size=2, valid_fraction=0.2)
    train_text, valid_text = load_texts(data)
    assert train_text + valid_text == TEXT * 3 and len(valid_text) == pytest.approx(
        0.2 * len(TEXT * 3), abs=2
    )
    config = LanguageModelConfig(hidden_size=8, embedding_dim=4, num_layers=1)
    _, result = train_language_model(
        data, config, TrainConfig(max_epochs=1, out_dir=tmp_path / "run", progress_bar=False)
    )
    assert (tmp_path / "run/model/config.json").is_file() and "val_bpc" in result.history[0]


def test_run_inputs_are_checked(tmp_path):
    with pytest.raises(ValueError, match="give a --train text file, or a bundled --corpus"):
        GenerationData()
    with pytest.raises(ValueError, match="unknown corpus 'poems'"):
        GenerationData(corpus="poems")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"empty\.txt: the file has no text"):
        load_texts(GenerationData(train=str(empty)))
    latin = tmp_path / "latin.txt"
    latin.write_bytes("ok\ncafé\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin.txt:2"):
        load_texts(GenerationData(train=str(latin)))
    with pytest.raises(ValueError, match="expected dropout in"):
        LanguageModelConfig(dropout=1.0)
    with pytest.raises(ValueError, match="divisible by num_heads"):
        LanguageModelConfig(architecture="transformer", hidden_size=10, num_heads=4)


def test_a_chinese_text_is_modelled_character_by_character():
    text = "床前明月光，疑是地上霜。举头望明月，低头思故乡。\n" * 4
    model = tiny(text)
    assert len(model.vocab) == len(set(text)) + 2  # every character, plus <pad> and <unk>
    sample = model.sample("明月", max_tokens=10, seed=0)
    assert len(sample) == 10 and set(sample) <= set(text)
    assert model.evaluate_text(text)["tokens"] == len(text) - 1
