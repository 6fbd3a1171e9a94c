"""Music data: ABC tunes, note events, piano rolls, MIDI in and out, corpora with skip counts."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch

pytest.importorskip("music21")

from music21 import converter, note, stream

from seqlab.data import music as M
from seqlab.data.music import NoteEvent

COLLECTION = """%abc-2.1 a file header, dropped
% a comment line

X:1
T: Scale and triplet
M:4/4
L:1/4
K:C
CDEF | G2 z2 | (3cBA G2 | A2-A2 |]

X:2
T:No default length
M:2/4
K:G
GA Bc | d4 % a trailing comment
|]
X:3
T:Broken
L:1/0
K:C
CDEF|
"""

SCALE = [
    NoteEvent(60, Fraction(1)),
    NoteEvent(62, Fraction(1)),
    NoteEvent(64, Fraction(1)),
    NoteEvent(65, Fraction(1)),
    NoteEvent(67, Fraction(2)),
    NoteEvent(None, Fraction(2)),
    NoteEvent(72, Fraction(2, 3)),
    NoteEvent(71, Fraction(2, 3)),
    NoteEvent(69, Fraction(2, 3)),
    NoteEvent(67, Fraction(2)),
    NoteEvent(69, Fraction(4)),  # A2-A2: tied, one event
]


# --------------------------------------------------------------------------------------------- ABC text
def test_split_abc_cuts_a_collection_into_cleaned_tunes():
    tunes = M.split_abc(COLLECTION)
    assert len(tunes) == 3
    assert tunes[0].splitlines()[:2] == ["X:1", "T:Scale and triplet"]
    assert not any(line.startswith("%") or not line.strip() for t in tunes for line in t.splitlines())
    # M:2/4 is below 3/4, so the ABC standard's default note length is 1/16, inserted before K:
    assert tunes[1].splitlines() == [
        "X:2",
        "T:No default length",
        "M:2/4",
        "L:1/16",
        "K:G",
        "GA Bc | d4",
        "|]",
    ]


def test_clean_abc_defaults_to_eighths_without_a_meter_and_keeps_a_given_length():
    assert M.clean_abc("X:1\nK:C\nCDEF|").splitlines() == ["X:1", "L:1/8", "K:C", "CDEF|"]
    assert "L:1/4" in M.clean_abc("X:1\nL:1/4\nK:C\nC|")
    assert M.clean_abc("% nothing\n\n") == ""


def test_abc_parses_a_known_tune_into_known_events():
    tune = M.split_abc(COLLECTION)[0]
    assert M.abc_parses(tune)
    assert M.abc_events(tune) == SCALE
    assert sum(e.duration for e in SCALE) == 16  # four bars of 4/4


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n",
        "X:1\nL:1/0\nK:C\nCDEF|",  # zero note length
        "X:1\nM:abc\nL:1/4\nK:C\nCDEF|",  # unreadable meter
        "X:1\nT:no notes\nL:1/4\nK:C\n",
        "X:1\nL:1/4\nK:C\nC/0 D|",  # a note of length zero
        "setup.py",  # a file name is text, never opened
    ],
)
def test_unparseable_abc_is_false_and_a_clear_error(text, tmp_path):
    assert not M.abc_parses(text)
    with pytest.raises(
        ValueError, match=r"parse_abc: the (ABC text is empty|tune .* (does not parse|holds no notes))"
    ):
        M.parse_abc(text)
    out = tmp_path / "tune.mid"
    with pytest.raises(ValueError, match="parse_abc"):
        M.abc_to_midi(text, out)
    assert not out.exists()


def test_abc_to_midi_writes_the_tune(tmp_path):
    out = M.abc_to_midi(M.split_abc(COLLECTION)[0], tmp_path / "scale.mid")
    assert out.read_bytes()[:4] == b"MThd"
    roll = M.midi_to_piano_roll(out, step=Fraction(1, 3))
    assert roll.sum(dim=1).max() == 1  # a melody: one note at a time
    assert roll[0, 60 - M.PITCH_LOW] == 1 and roll[3, 62 - M.PITCH_LOW] == 1  # C then D, a quarter apart


def test_read_abc_tunes_skips_and_counts_tunes_and_files_that_fail(tmp_path):
    good = tmp_path / "good.abc"
    good.write_text(COLLECTION, encoding="utf-8")
    undecodable = tmp_path / "latin1.abc"
    undecodable.write_bytes("X:1\nT:Gr\xfc\xdf\nL:1/4\nK:C\nC|".encode("latin-1"))
    tunes = M.read_abc_tunes([good, undecodable, tmp_path / "missing.abc"])
    assert tunes.ids == ["good:1", "good:2"]
    assert tunes.skipped == 3  # the broken tune, the undecodable file, the missing file
    unchecked = M.read_abc_tunes([good], check=False)
    assert len(unchecked.texts) == 3 and unchecked.skipped == 0


def test_essen_tunes_caches_its_parse_check_and_splits_variants_together(tmp_path, monkeypatch):
    body = "M:4/4\nL:1/4\nK:C\nCDEF|G4|]\n"
    songs = [f"X:{i}\nT:Song {i}\nN:A{i:04d}{v}\n{body}" for i in range(1, 40) for v in "AB"]
    path = tmp_path / "songs.abc"
    path.write_text("\n".join([*songs, "X:99\nT:bad\nL:1/0\nK:C\nC|\n"]), encoding="utf-8")
    cache = tmp_path / "cache"
    all_tunes = M.essen_tunes(None, files=[path], cache_dir=cache)
    assert len(all_tunes.texts) == 78 and all_tunes.skipped == 1
    assert len(list(cache.glob("abc-tunes-*.json"))) == 1

    def no_parsing(text):
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(M, "abc_parses", no_parsing)
    parts = {s: M.essen_tunes(s, files=[path], cache_dir=cache) for s in M.SPLITS}
    assert sorted(i for p in parts.values() for i in p.ids) == sorted(all_tunes.ids)
    for p in parts.values():  # variants A and B of a song share its split
        numbers = [t.split("N:")[1][:5] for t in p.texts]
        assert all(numbers.count(n) == 2 for n in numbers)
    assert all(p.skipped == 1 for p in parts.values())


def test_hash_split_is_deterministic_and_close_to_its_fractions():
    assert M.hash_split("A0004") == M.hash_split("A0004")
    counts = {s: 0 for s in M.SPLITS}
    for k in range(5000):
        counts[M.hash_split(f"key{k}", (0.6, 0.2, 0.2))] += 1
    assert abs(counts["train"] / 5000 - 0.6) < 0.03 and abs(counts["test"] / 5000 - 0.2) < 0.03
    with pytest.raises(ValueError, match="three fractions"):
        M.hash_split("x", (0.5, 0.6, 0.1))
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        M.essen_tunes("dev", check=False)


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SEQLAB_CACHE_DIR", str(tmp_path / "a"))
    assert M.default_cache_dir() == tmp_path / "a"
    monkeypatch.delenv("SEQLAB_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert M.default_cache_dir() == tmp_path / "xdg" / "seqlab"


# --------------------------------------------------------------------------------------------- note events
def test_events_to_stream_and_back_is_identity():
    assert M.melody_events(M.events_to_stream(SCALE)) == SCALE
    assert M.melody_events(M.events_to_stream(SCALE, tempo=90)) == SCALE


def test_events_to_midi_plays_the_events(tmp_path):
    path = M.events_to_midi(SCALE[:6], tmp_path / "e.mid")
    roll = M.midi_to_piano_roll(path, step=1)  # quarters: C D E F G G (rest rest: trailing, not in MIDI)
    expected = torch.zeros(6, M.NUM_PITCHES)
    for t, pitch in enumerate([60, 62, 64, 65, 67, 67]):
        expected[t, pitch - M.PITCH_LOW] = 1
    torch.testing.assert_close(roll, expected)


def test_melody_events_merges_ties_fills_gaps_and_keeps_a_chords_top_note():
    part = stream.Part()
    first = note.Note(60, quarterLength=1)
    first.tie = M._music21().tie.Tie("start")
    second = note.Note(60, quarterLength=1)
    second.tie = M._music21().tie.Tie("stop")
    part.insert(0, first)
    part.insert(1, second)
    part.insert(3, M._music21().chord.Chord([64, 67], quarterLength=0.5))  # after a 1-quarter gap
    part.insert(3.5, note.Note(70).getGrace())
    assert M.melody_events(part) == [
        NoteEvent(60, Fraction(2)),
        NoteEvent(None, Fraction(1)),
        NoteEvent(67, Fraction(1, 2)),
    ]


def test_melody_events_refuses_overlapping_voices_and_bad_events():
    part = stream.Part()
    part.insert(0, note.Note(60, quarterLength=2))
    part.insert(1, note.Note(64, quarterLength=2))
    with pytest.raises(ValueError, match="notes overlap at quarter 1; expected a monophonic melody"):
        M.melody_events(part)
    with pytest.raises(ValueError, match="expected a music21 stream"):
        M.melody_events([NoteEvent(60, Fraction(1))])
    with pytest.raises(ValueError, match="event 1 has duration 0"):
        M.events_to_stream([NoteEvent(60, Fraction(1)), NoteEvent(62, Fraction(0))])
    with pytest.raises(ValueError, match="event 0 has pitch 128"):
        M.events_to_stream([NoteEvent(128, Fraction(1))])


# --------------------------------------------------------------------------------------------- piano rolls
def fragment() -> stream.Score:
    """Four voices, two beats: S C5 (q) D5 (e) E5 (e); A G4 (h); T E4 (q) F4 (q); B C3 (h)."""
    voices = [
        [(72, 1.0), (74, 0.5), (76, 0.5)],
        [(67, 2.0)],
        [(64, 1.0), (65, 1.0)],
        [(48, 2.0)],
    ]
    score = stream.Score()
    for name, notes in zip(["Soprano", "Alto", "Tenor", "Bass"], voices):
        part = stream.Part()
        part.partName = name
        for pitch, ql in notes:
            part.append(note.Note(pitch, quarterLength=ql))
        score.insert(0, part)
    return score


def frames(*pitch_sets: set[int]) -> torch.Tensor:
    roll = torch.zeros(len(pitch_sets), M.NUM_PITCHES)
    for t, pitches in enumerate(pitch_sets):
        for p in pitches:
            roll[t, p - M.PITCH_LOW] = 1
    return roll


def test_piano_roll_of_a_chorale_fragment_by_hand():
    roll = M.stream_to_piano_roll(M.four_voices(fragment()), step=0.5)
    expected = frames({72, 67, 64, 48}, {72, 67, 64, 48}, {74, 67, 65, 48}, {76, 67, 65, 48})
    torch.testing.assert_close(roll, expected)
    # quarter steps (JSB's): frame t samples time t, so the passing E5 at 1.5 is not seen
    quarters = M.stream_to_piano_roll(fragment(), step=1)
    torch.testing.assert_close(quarters, frames({72, 67, 64, 48}, {74, 67, 65, 48}))


def test_off_grid_notes_sound_from_the_next_frame_start():
    part = stream.Part()
    part.insert(0.25, note.Note(60, quarterLength=0.5))  # 0.25 … 0.75 covers only the start 0.5
    part.insert(1.25, note.Note(62, quarterLength=0.125))  # between two frame starts: lost
    part.insert(1.75, note.Rest(quarterLength=0.25))
    roll = M.stream_to_piano_roll(part, step=0.5)
    torch.testing.assert_close(roll, frames(set(), {60}, set(), set()))


def test_four_voices_picks_named_voices_and_refuses_otherwise():
    score = fragment()
    horn = stream.Part()
    horn.partName = "Horn 2"
    horn.append(note.Note(80, quarterLength=2))
    score.insert(0, horn)
    assert [p.partName for p in M.four_voices(score)] == ["Soprano", "Alto", "Tenor", "Bass"]
    score.parts[0].partName = "Soprano 1"
    score.parts[4].partName = "Soprano 2"
    with pytest.raises(ValueError, match="expected four parts, or one each named"):
        M.four_voices(score)


@pytest.mark.parametrize("step", [0.5, 0.25, 1.0])
def test_roll_to_midi_to_roll_round_trip(step, tmp_path):
    g = torch.Generator().manual_seed(0)
    roll = torch.zeros(40, M.NUM_PITCHES)
    roll[:, 20:50] = (torch.rand(40, 30, generator=g) < 0.2).float()
    roll[-1, 30] = 1.0  # MIDI ends with its last note: keep the last frame sounding
    path = M.piano_roll_to_midi(roll, tmp_path / "roll.mid", step)
    torch.testing.assert_close(M.midi_to_piano_roll(path, step), roll)


def test_piano_roll_errors():
    part = stream.Part()
    part.append(note.Note(12, quarterLength=1))
    with pytest.raises(ValueError, match=r"pitch C0 \(MIDI 12\) at quarter 0 is outside .* 21 … 108"):
        M.stream_to_piano_roll(part)
    with pytest.raises(ValueError, match=r"expected step > 0"):
        M.stream_to_piano_roll(fragment(), step=0)
    with pytest.raises(ValueError, match=r"expected a piano roll of shape \(T, 88\).*got \(4, 87\)"):
        M.piano_roll_to_stream(torch.zeros(4, 87))
    with pytest.raises(ValueError, match="expected a roll of 0s and 1s"):
        M.piano_roll_to_stream(torch.full((4, 88), 0.3))


def test_corrupted_midi_files_are_skipped_with_a_count(tmp_path):
    good = M.piano_roll_to_midi(frames({60}, {60, 64}), tmp_path / "good.mid")
    (tmp_path / "noise.mid").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "truncated.mid").write_bytes(good.read_bytes()[:30])
    (tmp_path / "empty.mid").write_bytes(b"")
    paths = [
        good,
        tmp_path / "noise.mid",
        tmp_path / "truncated.mid",
        tmp_path / "empty.mid",
        tmp_path / "no.mid",
    ]
    rolls = M.midi_piano_rolls(paths)
    assert rolls.names == ["good"] and rolls.skipped == 4
    torch.testing.assert_close(rolls.rolls[0], frames({60}, {60, 64}))
    with pytest.raises(ValueError, match=r"noise\.mid: not a MIDI file"):
        M.midi_to_piano_roll(tmp_path / "noise.mid")


def test_plot_piano_roll_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = M.plot_piano_roll(frames({60}, {64, 67}), tmp_path / "roll.png", step=0.5, title="two frames")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="expected values in"):
        M.plot_piano_roll(torch.full((2, 88), 2.0), tmp_path / "bad.png")


# --------------------------------------------------------------------------------------------- real corpora
@pytest.mark.slow
def test_bach_chorales_cache_skips_and_counts_failures(tmp_path, monkeypatch):
    names = ["bach/bwv269", "bach/bwv347", "bach/no-such-chorale", "bach/bwv27.6"]  # bwv27.6 has 5 voices
    monkeypatch.setattr(M, "chorale_names", lambda: names)
    rolls = M.bach_chorales(None, step=1, cache_dir=tmp_path)
    assert rolls.names == ["bach/bwv269", "bach/bwv347"] and rolls.skipped == 2
    assert all(r.shape[1] == 88 and 1 <= r.sum(dim=1).max() <= 4 for r in rolls.rolls)
    assert rolls.rolls[0].shape[0] == 63  # bwv269 lasts 63 quarter notes

    def no_parsing(*args, **kwargs):
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(M, "chorale_rolls", no_parsing)
    again = M.bach_chorales(None, step=1, cache_dir=tmp_path)
    assert again.names == rolls.names and again.skipped == 2
    assert all(torch.equal(a, b) for a, b in zip(again.rolls, rolls.rolls))
    split = {s: M.bach_chorales(s, step=1, cache_dir=tmp_path).names for s in M.SPLITS}
    assert sorted(n for v in split.values() for n in v) == sorted(rolls.names)
    (next(tmp_path.glob("*.npz"))).write_bytes(b"damaged")
    monkeypatch.setattr(M, "chorale_rolls", lambda names, step: M.PianoRolls([], [], 0))
    assert M.bach_chorales(None, step=1, cache_dir=tmp_path).names == []  # rebuilt, not a crash


@pytest.mark.slow
def test_essen_collection_splits_by_song():
    tunes = M.essen_tunes(None, check=False)
    assert len(tunes.texts) == 8514 and len(M.essen_files()) == 31
    splits = {s: M.essen_tunes(s, check=False) for s in M.SPLITS}
    assert sum(len(p.texts) for p in splits.values()) == 8514
    assert 0.75 < len(splits["train"].texts) / 8514 < 0.85
    keys = {s: {M._song_key(t) for t in p.texts} for s, p in splits.items()}
    assert not keys["train"] & keys["test"] and not keys["train"] & keys["valid"]
    first = tunes.texts[0]
    assert first.startswith("X:1\nT:Das Hildebrandslied\nN:A0001\n")
    events = M.abc_events(first)
    assert events[0] == NoteEvent(67, Fraction(2)) and sum(e.duration for e in events) == 168
    assert math.isclose(float(sum(e.duration for e in events if e.pitch is None)), 16.0)


def test_a_tune_music21_cannot_write_as_a_score_is_written_as_its_notes(tmp_path):
    # Sampled by an Essen LM: music21 parses it, but its score writer fails on the 6/4 layout
    # (StreamException: the TimeSignature "is already found in this Stream"), as it does for 13% of the
    # real Essen tunes; write_midi then writes the notes and rests alone.
    tune = "X:1\nM:6/4\nL:1/16\nK:G\nG4B4A4 | G4F4A12 | A8z8\nB4d6e2 | d4c4d4A4 | _B8d4B4 | G8z8 | z4\n"
    assert M.abc_parses(tune, midi=True)
    path = M.abc_to_midi(tune, tmp_path / "tune.mid")
    pitches = [n.pitch.midi for n in converter.parse(str(path)).flatten().notes]
    expected = [n.pitch.midi for n in M.parse_abc(tune).flatten().notes]
    assert set(pitches) == set(expected) and len(pitches) >= 18  # music21 splits long notes at bars
    assert [p.name for p in tmp_path.iterdir()] == ["tune.mid"]  # no temporary file left
