"""The CTC recogniser on the committed clips: training lowers the loss, save/load gives identical output,
streaming in chunks ends with the offline greedy text, too-short utterances are skipped (never an inf or
NaN loss), transcripts outside the alphabet are refused or dropped, the configuration is validated."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from seqlab.data.audio import Utterance, read_audio, read_manifest
from seqlab.nn.ctc import NgramLM
from seqlab.tasks.speech import SpeechConfig, SpeechRecognizer, ctc_min_frames
from seqlab.tasks.speech_run import (
    SpeechData,
    evaluate_speech,
    stream_lines,
    streaming_benchmark,
    train_speech,
)
from seqlab.training import TrainConfig

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "speech"
TINY = SpeechConfig(
    n_mels=24, hidden_size=24, num_layers=1, subsample=3, dropout=0.0, freq_masks=0, time_masks=0
)


@pytest.fixture(scope="module")
def train_utts() -> list[Utterance]:
    return read_manifest(FIXTURES / "train.jsonl")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def fit_steps(model: SpeechRecognizer, utts, steps: int, lr: float = 0.01) -> list[float]:
    batch = model.collate(model.encode(utts))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = model.training_loss(batch)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    return losses


def test_ctc_min_frames():
    assert ctc_min_frames([1, 2, 3]) == 3 and ctc_min_frames([1, 1, 2, 2, 2]) == 8 and ctc_min_frames([]) == 0


def test_from_data_alphabet_and_statistics(train_utts):
    model = SpeechRecognizer.from_data(train_utts, TINY)
    assert model.chars.tokens[0] == "<blank>" and " " in model.chars
    assert set("".join(u.text for u in train_utts)) <= set(model.chars.tokens)
    assert model.feature_mean.abs().sum() > 0 and (model.feature_std > 0).all()
    feats = model.audio_features(train_utts[0].audio)
    assert feats.shape == (model.features.frames(len(read_audio(train_utts[0].audio))), 24)


def test_forward_shapes(train_utts):
    model = SpeechRecognizer.from_data(train_utts, TINY)
    batch = model.collate(model.encode(train_utts[:3]))
    log_probs, out_lengths, _ = model(model.normalize(batch.features, batch.lengths), batch.lengths)
    assert log_probs.shape == (3, batch.features.shape[1] // 3, len(model.chars))
    assert torch.equal(out_lengths, batch.lengths // 3)
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(log_probs.shape[:2]))
    with pytest.raises(ValueError, match=r"expected features of shape \(B, T, 24\)"):
        model(torch.zeros(1, 10, 5), torch.tensor([10]))


OTHER = replace(
    TINY, bidirectional=False, normalize="utterance", recurrence="gru", freq_masks=2, time_masks=2
)


@pytest.mark.parametrize("config", [TINY, OTHER])
def test_training_lowers_the_ctc_loss(train_utts, config):
    model = SpeechRecognizer.from_data(train_utts, config)
    losses = fit_steps(model, train_utts, 40)
    assert all(np.isfinite(losses)) and losses[-1] < 0.5 * losses[0]


def test_save_load_transcribes_identically(train_utts, tmp_path):
    model = SpeechRecognizer.from_data(train_utts, TINY)
    fit_steps(model, train_utts, 15)
    model.save(tmp_path / "model")
    again = SpeechRecognizer.load(tmp_path / "model")
    batch = model.collate(model.encode(train_utts))
    out = model(model.normalize(batch.features, batch.lengths), batch.lengths)[0]
    out2 = again(again.normalize(batch.features, batch.lengths), batch.lengths)[0]
    assert torch.equal(out, out2)
    assert model.transcribe(train_utts) == again.transcribe(train_utts)
    assert model.transcribe(train_utts, beam_size=4) == again.transcribe(train_utts, beam_size=4)
    with pytest.raises(ValueError, match="holds a seqlab 'speech' model, expected a 'classifier'"):
        from seqlab.tasks import Classifier

        Classifier.load(tmp_path / "model")


@pytest.mark.parametrize("chunk_ms", [100.0, 37.0, 2.5])
def test_streaming_ends_with_the_offline_text(train_utts, chunk_ms):
    config = replace(TINY, bidirectional=False, num_layers=2)
    model = SpeechRecognizer.from_data(train_utts, config).eval()
    with torch.no_grad():  # an untrained model that emits characters often: a strict test of the merging
        model.output.bias[0] -= 1.0
    audio = [read_audio(u.audio) for u in train_utts[:4]]
    offline = model.transcribe(audio)
    assert any(offline), "the model should emit something for this test to mean anything"
    for samples, text in zip(audio, offline):
        updates = list(model.stream(samples, chunk_ms=chunk_ms))
        assert updates[-1].final and updates[-1].text == text
        partials = [u.text for u in updates]
        assert all(text.startswith(p) for p in partials)  # the transcript only grows
        assert updates[-2].audio_seconds == pytest.approx(len(samples) / 16000)


def test_streaming_needs_a_unidirectional_globally_normalised_model(train_utts):
    with pytest.raises(ValueError, match="a bidirectional model needs the whole utterance"):
        SpeechRecognizer.from_data(train_utts, TINY).streamer()
    with pytest.raises(ValueError, match="per-utterance normalisation needs the whole utterance"):
        SpeechRecognizer.from_data(
            train_utts, replace(TINY, bidirectional=False, normalize="utterance")
        ).streamer()
    s = SpeechRecognizer.from_data(train_utts, replace(TINY, bidirectional=False)).streamer()
    s.finish()
    with pytest.raises(ValueError, match="the stream has finished"):
        s.feed(np.zeros(100))


def test_too_short_utterances_are_skipped_with_a_count(train_utts, caplog):
    model = SpeechRecognizer.from_data(train_utts, TINY)
    enc = model.encode(train_utts[:2])
    long_text = model.encode_text("one two three four five six seven eight nine " * 4, "x")
    short = enc[0]._replace(features=enc[0].features[:30], target=long_text)  # 10 output frames
    assert not model.fits(short) and model.fits(enc[1])
    model.train()
    with caplog.at_level(logging.WARNING, logger="seqlab.tasks.speech"):
        loss = model.training_loss(model.collate([short, enc[1]]))
        only_short = model.training_loss(model.collate([short]))
    assert torch.isfinite(loss) and loss > 0
    assert only_short.item() == 0.0 and only_short.requires_grad
    only_short.backward()  # a batch with nothing to learn still steps
    assert "1 utterance(s) in a batch are too short" in caplog.text and model.skipped == 2


def test_unknown_characters_error_or_drop(train_utts, caplog):
    model = SpeechRecognizer.from_data(train_utts, TINY)
    bad = Utterance(train_utts[0].audio, "Six eight five!", "m.jsonl:7")
    message = r"m\.jsonl:7: the transcript 'Six eight five!' has character\(s\) outside the alphabet: '!'"
    with pytest.raises(ValueError, match=message):
        model.encode([bad])
    dropping = SpeechRecognizer.from_data(train_utts, replace(TINY, unknown_chars="drop"))
    with caplog.at_level(logging.WARNING, logger="seqlab.tasks.speech"):
        encoded = dropping.encode([bad])
    assert encoded[0].text == "six eight five" and "1 transcript(s) had characters outside" in caplog.text
    given = SpeechRecognizer.from_data(train_utts, replace(TINY, alphabet="abcdefghijklmnopqrstuvwxyz'"))
    assert len(given.chars) == 1 + 26 + 2  # blank, letters, apostrophe, space


def test_config_validation():
    with pytest.raises(ValueError, match="unknown normalize 'cmvn'; known: global, utterance, none"):
        SpeechConfig(normalize="cmvn")
    with pytest.raises(ValueError, match="expected subsample to be a positive integer, got 0"):
        SpeechConfig(subsample=0)
    with pytest.raises(ValueError, match="unknown unknown_chars 'keep'"):
        SpeechConfig(unknown_chars="keep")
    with pytest.raises(ValueError, match="expected hop_length ≤ n_fft"):
        SpeechConfig(hop_length=500)
    with pytest.raises(ValueError, match="unknown recurrence 'transformer'"):
        SpeechConfig(recurrence="transformer")


def test_train_evaluate_and_stream_through_the_engine(tmp_path, caplog):
    data = SpeechData(train=str(FIXTURES / "train.jsonl"), dev=str(FIXTURES / "dev.jsonl"), batch_size=5)
    config = replace(TINY, bidirectional=False)
    train_config = TrainConfig(max_epochs=2, lr=0.01, out_dir=tmp_path / "run", progress_bar=False)
    _, result = train_speech(data, config, train_config)
    assert result.monitor == "cer" and result.epochs_run == 2
    assert {"val_cer", "val_wer", "val_loss"} <= set(result.history[-1])
    loaded = SpeechRecognizer.load(tmp_path / "run" / "model")
    test = read_manifest(FIXTURES / "test.jsonl")
    scores = evaluate_speech(loaded, test)
    assert set(scores) >= {"wer", "cer", "utterances"} and scores["utterances"] == 3
    lm = NgramLM.train([u.text for u in read_manifest(FIXTURES / "train.jsonl")], order=3)
    assert evaluate_speech(loaded, test, beam_size=4, lm=lm)["utterances"] == 3
    bench = streaming_benchmark(loaded, test[:2])
    assert bench["final_equals_offline"] == 1.0 and bench["rtf"] > 0
    lines = list(stream_lines(loaded, test[0].audio))
    assert '"rtf"' in lines[-1]


def test_training_set_leaves_out_too_short_utterances_with_a_count(train_utts, caplog):
    from seqlab.tasks.speech_run import _fitting

    model = SpeechRecognizer.from_data(train_utts, TINY)
    enc = model.encode(train_utts[:3])
    short = enc[0]._replace(features=enc[0].features[:12], origin="m.jsonl:1")  # 4 output frames
    with caplog.at_level(logging.WARNING, logger="seqlab.tasks.speech_run"):
        kept = _fitting(model, [short, *enc[1:]], "training")
    assert (
        len(kept) == 2
        and "1 training utterance(s) are too short" in caplog.text
        and "m.jsonl:1" in caplog.text
    )
    with pytest.raises(ValueError, match="no dev utterance is long enough"):
        _fitting(model, [short], "dev")
