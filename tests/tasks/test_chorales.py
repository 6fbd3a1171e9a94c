"""PianoRollModel: causality, padding, the NLL's known answer, a step-loop reference, save/load, sampling,
training with seqlab.training.fit."""

from __future__ import annotations

import math

import pytest
import torch

pytest.importorskip("music21")

from seqlab.data.music import NUM_PITCHES, midi_to_piano_roll
from seqlab.tasks.chorales import (
    PianoRollConfig,
    PianoRollModel,
    RollBatch,
    collate_rolls,
    evaluate_piano_roll,
    marginal_nll,
    train_piano_roll,
    write_sample,
)
from seqlab.training import TrainConfig

RECURRENCES = ["lstm", "gru", "rnn"]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def tiny(recurrence: str = "lstm", **kw) -> PianoRollModel:
    return PianoRollModel(PianoRollConfig(recurrence=recurrence, hidden_size=6, **kw))


def random_rolls(lengths, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.rand(n, NUM_PITCHES, generator=g) < 0.1).float() for n in lengths]


def reference_nll(model: PianoRollModel, roll: torch.Tensor) -> torch.Tensor:
    """Per-frame NLL (T,) by the step loop and the textbook Bernoulli log-likelihood."""
    u = model.inputs(roll[None])[0]  # (T, 89)
    state, out = None, []
    for t in range(roll.shape[0]):
        h_t, state = model.rnn.step(u[t : t + 1], state)
        p = torch.sigmoid(model.output(h_t))[0]  # (88,)
        x = roll[t]
        out.append(-(x * p.log() + (1 - x) * (1 - p).log()).sum())
    return torch.stack(out)


# --------------------------------------------------------------------------------------------- config
def test_config_validation():
    with pytest.raises(ValueError, match=r"unknown recurrence 'transformer'; known: .*lstm"):
        PianoRollConfig(recurrence="transformer")
    with pytest.raises(ValueError, match=r"expected dropout in \[0, 1\), got 1.0"):
        PianoRollConfig(dropout=1.0)
    with pytest.raises(ValueError, match="expected step > 0"):
        PianoRollConfig(step=0)
    with pytest.raises(ValueError, match="expected hidden_size to be a positive integer"):
        PianoRollConfig(hidden_size=0)


# --------------------------------------------------------------------------------------------- the network
@pytest.mark.parametrize("recurrence", RECURRENCES)
def test_logits_at_t_see_only_earlier_frames(recurrence):
    model = tiny(recurrence).eval()
    roll = random_rolls([9])[0][None]  # (1, 9, 88)
    logits = model(roll)
    assert logits.shape == (1, 9, NUM_PITCHES)
    changed = roll.clone()
    changed[0, 5] = 1 - changed[0, 5]
    other = model(changed)
    torch.testing.assert_close(other[:, :6], logits[:, :6])  # frame 5 is predicted, not read, at t = 5
    assert not torch.allclose(other[:, 6:], logits[:, 6:])


@pytest.mark.parametrize("recurrence", RECURRENCES)
def test_nll_agrees_with_the_step_loop_reference(recurrence):
    model = tiny(recurrence, num_layers=2).double().eval()
    roll = random_rolls([7])[0].double()
    nll = model.frame_nll(roll[None])[0]
    torch.testing.assert_close(nll, reference_nll(model, roll))


def test_padding_does_not_change_the_nll():
    model = tiny().eval()
    rolls = random_rolls([5, 9, 1])
    batch = collate_rolls(rolls)
    assert batch.frames.shape == (3, 9, NUM_PITCHES) and batch.lengths.tolist() == [5, 9, 1]
    padded = model.frame_nll(batch.frames, batch.lengths)
    for i, r in enumerate(rolls):
        alone = model.frame_nll(r[None])[0]
        torch.testing.assert_close(padded[i, : len(r)], alone)
        assert (padded[i, len(r) :] == 0).all()
    total, count = model.validation_outputs(batch)
    assert int(count) == 15
    torch.testing.assert_close(model.training_loss(batch).double(), total / 15)


def test_a_model_that_says_one_half_everywhere_scores_88_ln_2():
    model = tiny()
    with torch.no_grad():
        model.output.weight.zero_()
        model.output.bias.zero_()
    batch = collate_rolls(random_rolls([4, 6]))
    nll = model.frame_nll(batch.frames, batch.lengths)
    assert torch.allclose(nll[0, :4], torch.full((4,), 88 * math.log(2)))
    metrics = model.validation_metrics([model.validation_outputs(batch)])
    assert metrics["nll"] == pytest.approx(88 * math.log(2), rel=1e-6)
    assert model.default_monitor == "nll"


def test_gradcheck_of_the_nll_in_float64():
    model = tiny("gru").double()
    frames = torch.rand(1, 3, NUM_PITCHES, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda f: model.frame_nll(f).sum(), (frames,))


def test_bad_inputs_are_clear_errors():
    model = tiny()
    with pytest.raises(ValueError, match=r"expected frames of shape \(B, T, 88\), got \(5, 88\).*unsqueeze"):
        model(torch.zeros(5, NUM_PITCHES))
    with pytest.raises(ValueError, match="expected a roll of 0s and 1s"):
        collate_rolls([torch.full((3, NUM_PITCHES), 0.5)])
    with pytest.raises(ValueError, match="expected at least one roll"):
        collate_rolls([])
    with pytest.raises(ValueError, match="expected num_frames ≥ 1, got 0"):
        model.generate(0)
    with pytest.raises(ValueError, match=r"prime: expected a piano roll of shape \(T, 88\)"):
        model.generate(3, torch.zeros(2, 80))


def test_marginal_baseline_known_answer():
    train = [torch.zeros(8, NUM_PITCHES)]
    train[0][:, 40] = 1.0  # note 40 always sounds, the others never: p = 9/10 and 1/10 with add-one
    test = [torch.zeros(2, NUM_PITCHES)]
    test[0][:, 40] = 1.0
    expected = -(math.log(0.9) + 87 * math.log(0.9))
    assert marginal_nll(train, test) == pytest.approx(expected)


# --------------------------------------------------------------------------------------------- files
@pytest.mark.parametrize("recurrence", ["lstm", "gru"])
def test_save_and_load_give_identical_predictions(recurrence, tmp_path):
    model = tiny(recurrence, num_layers=2, dropout=0.1, step=0.25).eval()
    path = model.save(tmp_path / "model")
    loaded = PianoRollModel.load(path)
    assert loaded.config == model.config
    batch = collate_rolls(random_rolls([6, 3]))
    torch.testing.assert_close(loaded(batch.frames, batch.lengths), model(batch.frames, batch.lengths))
    assert torch.equal(loaded.generate(10, seed=3), model.generate(10, seed=3))
    with pytest.raises(ValueError, match="holds a seqlab 'piano_roll' model, expected a 'forecaster'"):
        from seqlab.tasks.forecasting import Forecaster

        Forecaster.load(path)


# --------------------------------------------------------------------------------------------- sampling
def test_sampling_is_reproducible_with_a_seed():
    model = tiny()
    with torch.no_grad():
        model.output.bias.fill_(-1.0)
    a, b, c = model.generate(30, seed=1), model.generate(30, seed=1), model.generate(30, seed=2)
    assert a.shape == (30, NUM_PITCHES) and set(a.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert model.training  # generate restores the mode


def test_sampling_follows_the_probabilities():
    model = tiny()
    with torch.no_grad():
        model.output.weight.zero_()
        model.output.bias.fill_(-30.0)
        model.output.bias[[39, 43, 46]] = 30.0  # C4, E4, G4 with probability ≈ 1
    roll = model.generate(5, seed=0)
    assert roll.sum(dim=1).tolist() == [3.0] * 5 and (roll[:, [39, 43, 46]] == 1).all()


def test_sampling_steps_the_recurrence_and_never_reruns_the_past(monkeypatch):
    model = tiny()
    prime = random_rolls([4])[0]
    calls = {"forward": 0, "step": 0}
    forward, step = model.rnn.forward, model.rnn.step

    def counted_forward(*args, **kwargs):
        calls["forward"] += 1
        return forward(*args, **kwargs)

    def counted_step(*args, **kwargs):
        calls["step"] += 1
        return step(*args, **kwargs)

    monkeypatch.setattr(model.rnn, "forward", counted_forward)
    monkeypatch.setattr(model.rnn, "step", counted_step)
    model.generate(12, prime, seed=0)
    assert calls == {"forward": 1, "step": 11}  # the prime once, then one step per new frame


def test_sampling_after_a_prime_draws_from_the_models_probabilities():
    model = tiny().eval()
    prime = random_rolls([6])[0]
    sampled = model.generate(5, prime, seed=5)
    # the same draws from the probabilities of one forward pass over the prime and the sampled frames
    p = torch.sigmoid(model(torch.cat([prime, sampled])[None]))[0, 6:]  # (5, 88)
    g = torch.Generator().manual_seed(5)
    expected = torch.cat([torch.bernoulli(p[t : t + 1], generator=g) for t in range(5)])
    torch.testing.assert_close(sampled, expected)
    assert not torch.equal(sampled, model.generate(5, seed=5))  # the prime matters


def test_write_sample_writes_midi_and_png(tmp_path):
    pytest.importorskip("matplotlib")
    model = tiny(step=0.25)
    with torch.no_grad():
        model.output.bias.fill_(-30.0)
        model.output.bias[39] = 30.0  # C4 held throughout
    midi, png = write_sample(model, tmp_path / "sample", 8, seed=0)
    assert png.read_bytes()[:4] == b"\x89PNG"
    roll = midi_to_piano_roll(midi, step=0.25)
    assert roll.shape == (8, NUM_PITCHES) and roll[:, 39].sum() == 8 and roll.sum() == 8
    prime = torch.zeros(3, NUM_PITCHES)
    prime[:, 50] = 1.0
    midi, _ = write_sample(model, tmp_path / "primed", 8, prime=prime, seed=0)  # the prime comes first
    roll = midi_to_piano_roll(midi, step=0.25)
    assert roll[:3, 50].sum() == 3 and roll[3:, 39].sum() == 8 and roll.sum() == 11


# --------------------------------------------------------------------------------------------- training
def test_fit_learns_a_repeating_progression(tmp_path):
    chords = [[39, 43, 46], [44, 48, 51], [46, 50, 53], [39, 43, 46]]  # C F G C, one frame each
    roll = torch.zeros(16, NUM_PITCHES)
    for t in range(16):
        roll[t, chords[t % 4]] = 1.0
    train, valid = [roll] * 8, [roll]
    config = PianoRollConfig(recurrence="gru", hidden_size=16)
    untrained = evaluate_piano_roll(PianoRollModel(config), valid)
    run_config = TrainConfig(max_epochs=30, lr=3e-2, progress_bar=False, out_dir=tmp_path / "run")
    model, result = train_piano_roll(train, valid, config, run_config, batch_size=4)
    assert result.monitor == "nll" and result.mode == "min"
    trained = evaluate_piano_roll(model, valid)
    assert trained < 0.25 * untrained and trained < marginal_nll(train, valid)
    assert result.best_score == pytest.approx(min(h["val_nll"] for h in result.history))
    assert isinstance(RollBatch(roll[None], torch.tensor([16])), tuple)
