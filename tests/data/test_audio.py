"""Audio: reading WAV/FLAC with resampling, the mel filterbank against librosa and the formula, log-mel
frames that stream, normalisation, SpecAugment, and JSONL manifests with their error messages."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from seqlab.data.audio import (
    LogMel,
    Utterance,
    feature_statistics,
    frame_count,
    hz_to_mel,
    mel_filterbank,
    mel_to_hz,
    read_audio,
    read_manifest,
    resample,
    spec_augment,
    utterance_normalize,
    write_manifest,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "speech"
CLIP = FIXTURES / "train" / "train-00000.wav"


def tone(rate: int, seconds: float = 0.5, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_read_wav_fixture():
    x = read_audio(CLIP)
    assert x.dtype == np.float32 and x.ndim == 1
    assert len(x) == sf.info(str(CLIP)).frames and np.abs(x).max() <= 1.0


def test_flac_reads_like_wav(tmp_path):
    x = read_audio(CLIP)
    sf.write(str(tmp_path / "a.flac"), x, 16000, subtype="PCM_16")
    np.testing.assert_allclose(read_audio(tmp_path / "a.flac"), x, atol=1 / 32768)


def test_other_rate_is_resampled_and_logged(tmp_path, caplog):
    sf.write(str(tmp_path / "a.wav"), tone(22050), 22050)
    with caplog.at_level(logging.INFO, logger="seqlab.data.audio"):
        x = read_audio(tmp_path / "a.wav", 16000)
    assert "resampled from 22050 Hz to 16000 Hz" in caplog.text
    assert len(x) == 8000
    spectrum = np.abs(np.fft.rfft(x))
    assert abs(np.argmax(spectrum) * 16000 / len(x) - 440) < 3  # the tone keeps its pitch


def test_stereo_is_averaged(tmp_path):
    left, right = tone(16000), np.zeros(8000, dtype=np.float32)
    sf.write(str(tmp_path / "s.wav"), np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    np.testing.assert_allclose(read_audio(tmp_path / "s.wav"), left / 2, atol=1e-6)


def test_unreadable_empty_and_missing_audio(tmp_path):
    (tmp_path / "bad.wav").write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(ValueError, match=r"bad\.wav: cannot read audio .*expected a WAV, FLAC"):
        read_audio(tmp_path / "bad.wav")
    sf.write(str(tmp_path / "empty.wav"), np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(ValueError, match=r"empty\.wav: the audio is empty \(0 samples\)"):
        read_audio(tmp_path / "empty.wav")
    with pytest.raises(ValueError, match=r"nope\.wav: audio file does not exist"):
        read_audio(tmp_path / "nope.wav")


def test_resample_rejects_bad_rates():
    with pytest.raises(ValueError, match="expected orig_rate to be a positive integer"):
        resample(np.zeros(4), 0, 16000)


@pytest.mark.parametrize("scale", ["slaney", "htk"])
def test_mel_scale_round_trips(scale):
    f = np.array([0.0, 200.0, 999.0, 1000.0, 4000.0, 8000.0])
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(f, scale), scale), f, atol=1e-6)


def test_htk_mel_by_hand():
    # 2595 log10(1 + 700/700) = 2595 log10(2)
    assert hz_to_mel(700.0, "htk") == pytest.approx(2595 * np.log10(2))
    assert hz_to_mel(1000.0, "slaney") == pytest.approx(15.0)  # 1000 / (200/3)


def test_filterbank_triangles_by_hand():
    fb = mel_filterbank(16000, 512, 10, scale="htk").numpy()  # (257, 10)
    edges = mel_to_hz(np.linspace(0, hz_to_mel(8000, "htk"), 12), "htk")
    freqs = np.linspace(0, 8000, 257)
    m = 4
    peak_bin = np.argmin(np.abs(freqs - edges[m + 1]))
    expected = (
        min(
            (freqs[peak_bin] - edges[m]) / (edges[m + 1] - edges[m]),
            (edges[m + 2] - freqs[peak_bin]) / (edges[m + 2] - edges[m + 1]),
        )
        * 2
        / (edges[m + 2] - edges[m])
    )
    assert fb[peak_bin, m] == pytest.approx(expected, rel=1e-5)
    assert (fb >= 0).all() and (fb[freqs > edges[m + 2], m] == 0).all()


@pytest.mark.parametrize(
    ("n_mels", "f_min", "f_max", "scale"), [(80, 0.0, None, "slaney"), (40, 20.0, 7600.0, "htk")]
)
def test_filterbank_matches_librosa(n_mels, f_min, f_max, scale):
    librosa = pytest.importorskip("librosa")
    ours = mel_filterbank(16000, 400, n_mels, f_min, f_max, scale).numpy().T
    theirs = librosa.filters.mel(
        sr=16000, n_fft=400, n_mels=n_mels, fmin=f_min, fmax=f_max, htk=scale == "htk"
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-7)


def test_logmel_shapes_and_frame_count():
    lm = LogMel(n_mels=16)
    assert (
        frame_count(399, 400, 160) == 0
        and frame_count(400, 400, 160) == 1
        and frame_count(720, 400, 160) == 3
    )
    x = torch.randn(2, 1600)
    assert lm(x).shape == (2, frame_count(1600, 400, 160), 16)
    assert lm(torch.randn(1, 100)).shape == (1, 0, 16)
    with pytest.raises(ValueError, match=r"expected samples of shape \(B, N\)"):
        lm(torch.randn(100))


def test_logmel_in_pieces_equals_one_pass():
    """Frames are not centred, so features of consecutive windows of the stream are the one-pass frames."""
    lm = LogMel(n_mels=24)
    x = torch.from_numpy(read_audio(CLIP))[None]
    full = lm(x)[0]
    cut = 160 * 37  # cut at a hop boundary; the second part starts at frame 37
    second = lm(x[:, cut:])[0]
    torch.testing.assert_close(second, full[37 : 37 + second.shape[0]], atol=1e-4, rtol=1e-5)


def test_logmel_of_a_tone_peaks_at_its_mel_band():
    lm = LogMel(n_mels=40)
    feats = lm(torch.from_numpy(tone(16000, hz=1000.0))[None])[0]
    band = int(feats.mean(0).argmax())
    centres = mel_to_hz(np.linspace(0, hz_to_mel(8000), 42))[1:-1]
    assert abs(centres[band] - 1000) < 120


def test_utterance_normalize_ignores_padding():
    f = torch.randn(2, 10, 3) * 5 + 2
    lengths = torch.tensor([10, 6])
    out = utterance_normalize(f, lengths)
    torch.testing.assert_close(out[1, :6], utterance_normalize(f[1:2, :6], torch.tensor([6]))[0])
    assert (out[1, 6:] == 0).all()
    torch.testing.assert_close(out[0].mean(0), torch.zeros(3), atol=1e-5, rtol=0)


def test_feature_statistics():
    a, b = torch.randn(5, 3), torch.randn(7, 3)
    mean, std = feature_statistics([a, b])
    both = torch.cat([a, b])
    torch.testing.assert_close(mean, both.mean(0))
    torch.testing.assert_close(std, both.std(0, unbiased=False))
    with pytest.raises(ValueError, match="at least one frame"):
        feature_statistics([])


def test_spec_augment_masks_bands_and_spans():
    f = torch.ones(3, 100, 40)
    lengths = torch.tensor([100, 50, 20])
    out = spec_augment(f, lengths, freq_masks=1, freq_width=10, time_masks=1, time_width=20,
                       generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert out.shape == f.shape and set(out.unique().tolist()) <= {0.0, 1.0}
    for b in range(3):
        zero_cols = (out[b] == 0).all(dim=0).sum()
        assert zero_cols <= 10
        zero_rows = (out[b, : lengths[b]] == 0).all(dim=1).sum()
        assert zero_rows <= min(20, int(lengths[b]) // 5)
    assert (f == 1).all()  # the input is left alone


def test_manifest_round_trip_and_relative_paths(tmp_path):
    utts = read_manifest(FIXTURES / "train.jsonl")
    assert len(utts) == 10 and utts[0].audio == FIXTURES / "train" / "train-00000.wav"
    assert utts[0].origin.endswith("train.jsonl:1") and isinstance(utts[0].text, str)
    out = tmp_path / "m.jsonl"
    write_manifest(out, [Utterance(u.audio.resolve(), u.text, u.origin) for u in utts])
    again = read_manifest(out)
    assert [u.audio.resolve() for u in again] == [u.audio.resolve() for u in utts]
    assert not Path(out.read_text().splitlines()[0].split('"')[3]).is_absolute()


def test_manifest_errors_name_file_and_line(tmp_path):
    m = tmp_path / "m.jsonl"
    m.write_text('{"audio": "a.wav", "text": "one"}\n\n{"audio": "b.wav", "text": "two"\n')
    with pytest.raises(ValueError, match=r"m\.jsonl:3: not valid JSON"):
        read_manifest(m)
    m.write_text('{"audio": "a.wav"}\n')
    with pytest.raises(ValueError, match=r'm\.jsonl:1: expected a "text" transcript \(a string\), got None'):
        read_manifest(m)
    assert read_manifest(m, labelled=False)[0].text is None
    m.write_text('{"text": "x"}\n')
    with pytest.raises(ValueError, match=r'm\.jsonl:1: expected an "audio" path'):
        read_manifest(m)
    m.write_text("\n")
    with pytest.raises(ValueError, match="holds no utterances"):
        read_manifest(m)
    m.write_text('{"audio_filepath": "/x/a.wav", "text": "nemo"}\n')
    assert read_manifest(m)[0].audio == Path("/x/a.wav")
