"""Music as sequences: Essen folk tunes as ABC text or note events, Bach chorales as piano rolls.

Both corpora ship with music21 (``pip install 'seqlab[music]'``), which also does all parsing and MIDI
writing; it is imported only when a function needs it.

ABC text (Essen folk song collection, 31 files, 8,514 monophonic tunes)
    ``split_abc`` cuts a collection file into single tunes, each with its own header (X:, T:, M:, L:,
    K:, …); ``clean_abc`` drops comments and blank lines and supplies the default note length L: when a
    tune has none (the ABC standard's rule; music21 refuses notes without one). ``essen_tunes(split)``
    returns the cleaned tunes of a split, each checked with music21; a tune that does not parse is
    skipped and counted, never fatal.

    The split is by *song*, not by collection file: whole collections differ in style (German ballads,
    Chinese Han songs, …), so holding out files would test on another repertoire. Variants of one song
    (Essen ids A0004A, A0004B, …) share their base id and always land in the same split; the split of a
    song is a hash of that id (SHA-256, so it never changes between runs or machines): 80 % train, 10 %
    valid, 10 % test.

Note events
    A melody is a list of ``NoteEvent(pitch, duration)``: the MIDI pitch (None for a rest) and the
    duration in quarter notes as an exact ``Fraction`` (triplets stay 1/3). Tied notes are one event,
    grace notes (no duration) are dropped, a chord keeps its highest pitch, and a gap between notes
    becomes a rest, so the events add up to the melody's length. ``events_to_stream`` builds the
    music21 part back and ``events_to_midi`` writes it.

Piano rolls (Bach chorales, 371 in music21's Riemenschneider iterator)
    A roll is a (T, 88) float tensor of 0/1 over the piano's MIDI pitches 21 … 108 (A0 … C8): frame t
    holds the pitches sounding at time t · step (in quarter notes), i.e. a note sounds in the frames whose
    start lies in [onset, onset + duration). This is how Boulanger-Lewandowski et al. (2012) sampled JSB
    Chorales, at step = 1 (quarter notes); seqlab's default is step = 0.5 (eighth notes), which keeps the
    chorales' passing eighths. A note shorter than a step that falls between two frame starts is lost,
    a re-struck note (same pitch, next frame) merges with the one before, and voices in unison are one
    pitch: a roll records what sounds, not how it is voiced.

    Only the four voices are read: a score with exactly four parts, or the parts named Soprano, Alto,
    Tenor and Bass (cantata chorales double them with instruments: "Soprano Oboe 1 Violin1"). Chorales
    without four identifiable voices, or that fail to parse, are skipped and counted. Repeats are not
    expanded. The held-out split is by chorale, hashed like the tunes, 60 % train, 20 % valid, 20 % test
    (JSB's 229/76/77 proportions; the melodies that Bach harmonised several times can fall in different
    splits, as in JSB).

    Parsing all chorales takes a minute or two, so ``bach_chorales`` caches the rolls of every chorale
    in one compressed NumPy file per step, ``bach-chorales-m21-<music21 version>-step<step>-v1.npz``
    under the cache directory: ``cache_dir`` if given, else ``$SEQLAB_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/seqlab``, else ``~/.cache/seqlab``. Delete the file (or pass ``refresh=True``) to
    rebuild it. ``essen_tunes`` caches its parse check the same way
    (``abc-tunes-<key>-m21-<version>-v1.json``, the key naming the ABC files read).

``piano_roll_to_midi`` writes a roll (consecutive active frames of one pitch become one note) and
``plot_piano_roll`` draws it as a PNG; ``midi_to_piano_roll`` reads a MIDI file back, and
``midi_piano_rolls`` reads many, skipping and counting the files that do not parse.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import os
import re
import tempfile
import warnings
import zlib
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from .._cache import cache_dir

__all__ = [
    "CHORALE_FRACTIONS",
    "ESSEN_FRACTIONS",
    "NUM_PITCHES",
    "PITCH_HIGH",
    "PITCH_LOW",
    "SPLITS",
    "AbcTunes",
    "NoteEvent",
    "PianoRolls",
    "abc_events",
    "abc_parses",
    "abc_to_midi",
    "bach_chorales",
    "check_piano_roll",
    "chorale_names",
    "chorale_rolls",
    "clean_abc",
    "default_cache_dir",
    "essen_files",
    "essen_tunes",
    "events_to_midi",
    "events_to_stream",
    "four_voices",
    "hash_split",
    "melody_events",
    "midi_piano_rolls",
    "midi_to_piano_roll",
    "parse_abc",
    "piano_roll_to_midi",
    "piano_roll_to_stream",
    "plot_piano_roll",
    "read_abc_tunes",
    "split_abc",
    "stream_to_piano_roll",
    "write_midi",
]

log = logging.getLogger(__name__)

PITCH_LOW, PITCH_HIGH = 21, 108  # A0 … C8, the piano's keys
NUM_PITCHES = PITCH_HIGH - PITCH_LOW + 1  # 88
SPLITS = ("train", "valid", "test")
ESSEN_FRACTIONS = (0.8, 0.1, 0.1)
CHORALE_FRACTIONS = (0.6, 0.2, 0.2)
VOICES = ("soprano", "alto", "tenor", "bass")
CACHE_VERSION = 1


# ------------------------------------------------------------------------------------------------ shared
def _music21() -> Any:
    try:
        import music21
    except ImportError:
        raise ValueError("music data needs music21: pip install 'seqlab[music]'") from None
    return music21


def default_cache_dir() -> Path:
    """Where parsed corpora are cached: $SEQLAB_CACHE_DIR, else $XDG_CACHE_HOME/seqlab, else
    ~/.cache/seqlab."""
    return cache_dir()


def hash_split(key: str, fractions: Sequence[float] = ESSEN_FRACTIONS) -> str:
    """The split ("train", "valid" or "test") of ``key``: its SHA-256 as a number in [0, 1), cut at the
    cumulative fractions.

    Deterministic across runs, machines and Python versions (unlike ``hash``), and stable when items are
    added to or removed from a corpus: every other item keeps its split.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not math.isclose(sum(fractions), 1.0):
        raise ValueError(f"hash_split: expected three fractions ≥ 0 that sum to 1, got {tuple(fractions)}")
    u = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2**64  # uniform in [0, 1)
    if u < fractions[0]:
        return "train"
    return "valid" if u < fractions[0] + fractions[1] else "test"


def _check_split(name: str, split: str | None) -> None:
    if split is not None and split not in SPLITS:
        raise ValueError(f"{name}: unknown split {split!r}; known: {', '.join(SPLITS)}, or None for all")


def _quiet(fn: Callable[[], Any]) -> Any:
    """Run a music21 call with its warnings silenced (they are about notation details, not failures)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def write_midi(score: Any, path: str | os.PathLike[str]) -> Path:
    """Write a music21 stream as a standard MIDI file (to a temporary name, then renamed into place)."""
    m21 = _music21()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        try:
            mf = _quiet(lambda: m21.midi.translate.streamToMidiFile(score))
        except Exception:  # music21 raises StreamException, MidiException, … on some scores
            # e.g. 13% of the Essen tunes (a TimeSignature "already found in this Stream" when music21
            # builds its conductor track): write the notes and rests alone, at their offsets
            try:
                mf = _quiet(lambda: m21.midi.translate.streamToMidiFile(_notes_only(score)))
            except Exception as err:
                raise ValueError(
                    f"write_midi: the score cannot be written as MIDI ({type(err).__name__}: {_short(err)})"
                ) from None
        mf.open(str(tmp), "wb")
        try:
            mf.write()
        finally:
            mf.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _notes_only(score: Any) -> Any:
    """The notes, chords and rests of ``score`` as one part, at their offsets (no meters, keys or clefs)."""
    m21 = _music21()
    part = m21.stream.Part()
    for element in score.flatten().notesAndRests:
        part.insert(element.offset, copy.deepcopy(element))
    return part


def _atomic_bytes(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------------ ABC text
_FIELD = re.compile(r"^([A-Za-z]):\s*(.*)$")


def split_abc(text: str) -> list[str]:
    """Cut an ABC collection into tunes: each starts at an ``X:`` line and runs to the next one.

    Anything before the first ``X:`` (a file header) is dropped. The tunes come back cleaned
    (``clean_abc``).
    """
    tunes, current = [], None
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if re.match(r"^X:", line):
            if current is not None:
                tunes.append(current)
            current = [line]
        elif current is not None:
            current.append(line)
    if current is not None:
        tunes.append(current)
    return [clean_abc("\n".join(lines)) for lines in tunes]


def clean_abc(tune: str) -> str:
    """One tune, cleaned to what music21 parses.

    Drops ``%`` comments, trailing spaces and blank lines; strips the space after a field's colon
    (``T: Title`` → ``T:Title``); and when the header has no ``L:`` (default note length) inserts the
    ABC standard's default before ``K:`` — 1/16 if the meter ``M:`` is below 3/4, else 1/8.
    """
    lines = []
    for raw in tune.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.split("%", 1)[0].rstrip() if not raw.startswith("%%") else ""
        if not line.strip():
            continue
        m = _FIELD.match(line)
        lines.append(f"{m.group(1)}:{m.group(2)}" if m else line)
    fields = [_FIELD.match(line) for line in lines]
    keys = [f.group(1) for f in fields if f]
    if "L" not in keys and "K" in keys:
        meter = next((f.group(2) for f in fields if f and f.group(1) == "M"), "")
        length = "1/8"
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", meter)
        if m and int(m.group(2)) and int(m.group(1)) / int(m.group(2)) < 0.75:
            length = "1/16"
        k = next(i for i, f in enumerate(fields) if f and f.group(1) == "K")
        lines.insert(k, f"L:{length}")
    return "\n".join(lines) + "\n" if lines else ""


def parse_abc(text: str) -> Any:
    """Parse one ABC tune with music21 → a ``music21.stream.Score``; a ValueError if it does not parse.

    The text is parsed as data, never read as a file name, and must hold at least one note.
    """
    m21 = _music21()
    if not isinstance(text, str):
        raise ValueError(f"parse_abc: expected ABC text (a str), got {type(text).__name__}")
    head = _first_line(text)
    if not text.strip():
        raise ValueError("parse_abc: the ABC text is empty; expected a tune starting with an X: line")
    try:
        score = _quiet(lambda: m21.converter.parseData(text, format="abc"))
    except Exception as err:  # music21 raises many types (ABCHandlerException, ZeroDivisionError, …)
        raise ValueError(
            f"parse_abc: the tune {head} does not parse ({type(err).__name__}: {_short(err)}); "
            "check its header (X:, M:, L:, K:) and note syntax"
        ) from None
    if not score.flatten().notes:
        raise ValueError(f"parse_abc: the tune {head} parses but holds no notes")
    return score


def abc_parses(text: str, *, midi: bool = False) -> bool:
    """True if music21 parses the ABC tune ``text`` into at least one note (and, with ``midi``, can also
    write the result as a MIDI file)."""
    try:
        score = parse_abc(text)
        if midi:
            with tempfile.TemporaryDirectory() as folder:
                write_midi(score, Path(folder) / "tune.mid")
    except ValueError:
        return False
    return True


def abc_to_midi(text: str, path: str | os.PathLike[str]) -> Path:
    """Parse an ABC tune and write it as a MIDI file; a ValueError (nothing written) if it does not parse."""
    return write_midi(parse_abc(text), path)


def abc_events(text: str) -> list[NoteEvent]:
    """The melody of an ABC tune as note events."""
    return melody_events(parse_abc(text))


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return repr(line.strip()[:40])
    return "''"


def _short(err: BaseException, n: int = 120) -> str:
    s = str(err).replace("\n", " ")
    return s if len(s) <= n else s[:n] + "…"


class AbcTunes(NamedTuple):
    """Tunes read from ABC files: their cleaned text, an id each, and how many were skipped."""

    texts: list[str]  # one cleaned ABC tune each, starting with its X: line
    ids: list[str]  # "<file stem>:<X number>", e.g. "altdeu10:1"
    skipped: int  # tunes that did not parse (or had no notes)


def read_abc_tunes(paths: Iterable[str | os.PathLike[str]], *, check: bool = True) -> AbcTunes:
    """Every tune of the ABC files ``paths``; with ``check``, the tunes music21 cannot parse are skipped.

    A file that cannot be read or decoded counts as one skipped item (its tunes are unknown).
    """
    texts, ids, skipped = [], [], 0
    for path in paths:
        path = Path(path)
        try:
            content = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            log.warning("%s: skipped, cannot be read (%s)", path, _short(err))
            skipped += 1
            continue
        for tune in split_abc(content):
            tune_id = f"{path.stem}:{_field(tune, 'X') or '?'}"
            if check and not abc_parses(tune):
                log.warning("%s: skipped, the tune does not parse", tune_id)
                skipped += 1
                continue
            texts.append(tune)
            ids.append(tune_id)
    return AbcTunes(texts, ids, skipped)


def _field(tune: str, key: str) -> str | None:
    for line in tune.splitlines():
        m = _FIELD.match(line)
        if m and m.group(1) == key:
            return m.group(2).strip()
    return None


def _song_key(tune: str) -> str:
    """The split key of an Essen tune: its first N: id without the variant letter (A0004B → A0004), else
    its title."""
    n = _field(tune, "N") or ""
    m = re.match(r"([A-Za-z]+\d+)", n)
    if m:
        return m.group(1).upper()
    return "title:" + " ".join((_field(tune, "T") or "").lower().split())


def essen_files() -> list[Path]:
    """The Essen collection files that ship with music21 (31 ABC files), sorted by name."""
    m21 = _music21()
    folder = Path(m21.__file__).parent / "corpus" / "essenFolksong"
    files = sorted(folder.glob("*.abc"))
    if not files:
        raise ValueError(f"essen_tunes: no ABC files in {folder}; reinstall music21 (pip install music21)")
    return files


def essen_tunes(
    split: str | None = "train",
    *,
    check: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    files: Sequence[str | os.PathLike[str]] | None = None,
) -> AbcTunes:
    """The Essen folk tunes of ``split`` ("train", "valid", "test"; None: all) as cleaned ABC text.

    With ``check`` (the default) every tune is parsed once with music21 (3–4 minutes for the 8,514
    tunes on one core) and those that fail are skipped and counted; the result is cached (see the module
    docstring), so later calls take a second. ``check=False`` skips parsing (and the cache). ``files``:
    other ABC files instead of music21's Essen collection.
    """
    _check_split("essen_tunes", split)
    paths = [Path(p) for p in files] if files is not None else essen_files()
    tunes = _cached_tunes(paths, cache_dir) if check else read_abc_tunes(paths, check=False)
    if tunes.skipped:
        log.info("essen_tunes: %d tune(s) skipped because music21 cannot parse them", tunes.skipped)
    if split is None:
        return tunes
    keep = [i for i, t in enumerate(tunes.texts) if hash_split(_song_key(t), ESSEN_FRACTIONS) == split]
    return AbcTunes([tunes.texts[i] for i in keep], [tunes.ids[i] for i in keep], tunes.skipped)


def _cached_tunes(paths: list[Path], cache_dir: str | os.PathLike[str] | None) -> AbcTunes:
    """``read_abc_tunes(paths, check=True)``, cached under a name that changes with the files' names and
    sizes and with music21's version."""
    m21 = _music21()
    signature = "\n".join(f"{p.resolve()}:{p.stat().st_size if p.is_file() else -1}" for p in paths)
    key = f"{zlib.crc32(signature.encode('utf-8')):08x}"
    path = (
        Path(cache_dir or default_cache_dir())
        / f"abc-tunes-{key}-m21-{m21.__version__}-v{CACHE_VERSION}.json"
    )
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        return AbcTunes(list(content["texts"]), list(content["ids"]), int(content["skipped"]))
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.warning("%s: unreadable cache (%s); rebuilding it", path, _short(err))
    log.info("essen_tunes: parsing every tune once to check it; cached in %s", path)
    tunes = read_abc_tunes(paths, check=True)
    text = json.dumps({"texts": tunes.texts, "ids": tunes.ids, "skipped": tunes.skipped}, ensure_ascii=False)
    _atomic_bytes(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return tunes


# ------------------------------------------------------------------------------------------------ note events
class NoteEvent(NamedTuple):
    """One note or rest of a melody."""

    pitch: int | None  # MIDI pitch 0 … 127; None for a rest
    duration: Fraction  # in quarter notes, exact (a triplet eighth is 1/3)


def melody_events(melody: Any) -> list[NoteEvent]:
    """A monophonic melody (a music21 Score — its first part — Part or Stream) as note events.

    Tied notes become one event, grace notes (zero duration) are dropped, a chord keeps its highest
    pitch, consecutive rests merge, and a gap between two notes becomes a rest. Overlapping notes (more
    than one voice) are a ValueError.
    """
    m21 = _music21()
    if not isinstance(melody, m21.stream.Stream):
        raise ValueError(f"melody_events: expected a music21 stream, got {type(melody).__name__}")
    if isinstance(melody, m21.stream.Score) and melody.parts:
        melody = melody.parts[0]
    flat = _quiet(lambda: melody.stripTies(inPlace=False).flatten())
    events: list[NoteEvent] = []
    end = Fraction(0)

    def add(pitch: int | None, duration: Fraction) -> None:
        if pitch is None and events and events[-1].pitch is None:
            events[-1] = NoteEvent(None, events[-1].duration + duration)
        else:
            events.append(NoteEvent(pitch, duration))

    for n in flat.notesAndRests:
        duration = Fraction(n.quarterLength)
        if duration == 0:
            continue  # grace note
        onset = Fraction(n.offset)
        if onset < end:
            if n.isRest:
                continue  # a rest in another voice under a sounding note
            raise ValueError(
                f"melody_events: notes overlap at quarter {float(onset):g}; expected a monophonic melody, "
                "got several voices — pick one part or voice first"
            )
        if onset > end and events:
            add(None, onset - end)
        pitch = None if n.isRest else max(p.midi for p in n.pitches)
        add(pitch, duration)
        end = onset + duration
    return events


def events_to_stream(events: Sequence[NoteEvent], *, tempo: float | None = None) -> Any:
    """Note events → a music21 ``Part`` (notes and rests one after the other), optionally with a tempo
    (quarter notes per minute)."""
    m21 = _music21()
    part = m21.stream.Part()
    if tempo is not None:
        part.insert(0, m21.tempo.MetronomeMark(number=tempo))
    for k, event in enumerate(events):
        pitch, duration = event
        duration = Fraction(duration)
        if duration <= 0:
            raise ValueError(f"events_to_stream: event {k} has duration {duration}; expected > 0")
        if pitch is None:
            part.append(m21.note.Rest(quarterLength=duration))
        elif isinstance(pitch, bool) or not isinstance(pitch, int) or not 0 <= pitch <= 127:
            raise ValueError(
                f"events_to_stream: event {k} has pitch {pitch!r}; expected a MIDI pitch 0 … 127"
            )
        else:
            part.append(m21.note.Note(pitch, quarterLength=duration))
    return part


def events_to_midi(
    events: Sequence[NoteEvent], path: str | os.PathLike[str], *, tempo: float = 100.0
) -> Path:
    """Write note events as a MIDI file at ``tempo`` quarter notes per minute."""
    return write_midi(events_to_stream(events, tempo=tempo), path)


# ------------------------------------------------------------------------------------------------ piano rolls
def _check_step(name: str, step: float) -> Fraction:
    if isinstance(step, bool) or not isinstance(step, (int, float, Fraction)) or not step > 0:
        raise ValueError(f"{name}: expected step > 0 (in quarter notes, e.g. 0.5 for eighths), got {step!r}")
    return Fraction(step)


def four_voices(score: Any) -> list[Any]:
    """The soprano, alto, tenor and bass parts of a chorale; a ValueError if there are not four.

    A score of exactly four parts is taken as it is; otherwise the parts whose names start with Soprano,
    Alto, Tenor and Bass (one each).
    """
    parts = list(score.parts)
    if len(parts) == 4:
        return parts
    found: dict[str, list[Any]] = {v: [] for v in VOICES}
    for p in parts:
        words = (p.partName or "").lower().split()
        if words and words[0] in found:
            found[words[0]].append(p)
    if all(len(found[v]) == 1 for v in VOICES):
        return [found[v][0] for v in VOICES]
    names = [p.partName for p in parts]
    raise ValueError(f"four_voices: expected four parts, or one each named {VOICES}, got parts {names}")


def stream_to_piano_roll(parts: Any, step: float = 0.5) -> Tensor:
    """The notes of a music21 stream, or of a list of parts, as a (T, 88) roll sampled every ``step``
    quarter notes.

    Frame t holds the pitches sounding at time t · step: a note from onset a to a + d covers the frames
    ⌈a / step⌉ … ⌈(a + d) / step⌉ − 1. T = ⌈end / step⌉, the end being the last part's final offset
    (trailing rests included). A pitch outside 21 … 108 is a ValueError.
    """
    q = _check_step("stream_to_piano_roll", step)
    m21 = _music21()
    if isinstance(parts, m21.stream.Stream):
        parts = list(parts.parts) if isinstance(parts, m21.stream.Score) and parts.parts else [parts]
    spans = []
    end = Fraction(0)
    for part in parts:
        flat = _quiet(part.flatten)
        end = max(end, Fraction(flat.highestTime))
        for n in flat.notes:
            onset = Fraction(n.offset)
            offset = onset + Fraction(n.quarterLength)
            for p in n.pitches:
                if not PITCH_LOW <= p.midi <= PITCH_HIGH:
                    raise ValueError(
                        f"stream_to_piano_roll: pitch {p.nameWithOctave} (MIDI {p.midi}) at quarter "
                        f"{float(onset):g} is outside the piano roll's range {PITCH_LOW} … {PITCH_HIGH}"
                    )
                spans.append((p.midi - PITCH_LOW, _ceil(onset / q), _ceil(offset / q)))
    roll = torch.zeros(_ceil(end / q), NUM_PITCHES)  # (T, 88)
    for k, first, stop in spans:
        roll[first:stop, k] = 1.0
    return roll


def _ceil(x: Fraction) -> int:
    return -((-x.numerator) // x.denominator)


def check_piano_roll(name: str, roll: Any) -> Tensor:
    """Raise a ValueError unless ``roll`` is a (T, 88) tensor of 0s and 1s; return it as float."""
    if isinstance(roll, np.ndarray):
        roll = torch.from_numpy(roll)
    if not isinstance(roll, Tensor) or roll.dim() != 2 or roll.shape[1] != NUM_PITCHES:
        got = tuple(roll.shape) if isinstance(roll, Tensor) else type(roll).__name__
        raise ValueError(
            f"{name}: expected a piano roll of shape (T, {NUM_PITCHES}) (MIDI pitches {PITCH_LOW} … "
            f"{PITCH_HIGH}), got {got}"
        )
    roll = roll.detach().float().cpu()
    if not bool(((roll == 0) | (roll == 1)).all()):
        raise ValueError(f"{name}: expected a roll of 0s and 1s; threshold probabilities first (p > 0.5)")
    return roll


def piano_roll_to_stream(roll: Tensor, step: float = 0.5, *, tempo: float | None = None) -> Any:
    """A (T, 88) roll → a music21 ``Part``: each run of consecutive active frames of a pitch is one note."""
    m21 = _music21()
    roll = check_piano_roll("piano_roll_to_stream", roll)
    q = _check_step("piano_roll_to_stream", step)
    part = m21.stream.Part()
    if tempo is not None:
        part.insert(0, m21.tempo.MetronomeMark(number=tempo))
    on = torch.cat([torch.zeros(1, NUM_PITCHES), roll, torch.zeros(1, NUM_PITCHES)])  # (T + 2, 88)
    changes = on[1:] - on[:-1]  # (T + 1, 88): +1 where a note starts, −1 where it stops
    for k in range(NUM_PITCHES):
        starts = (changes[:, k] == 1).nonzero().flatten().tolist()
        stops = (changes[:, k] == -1).nonzero().flatten().tolist()
        for a, b in zip(starts, stops):
            part.insert(a * q, m21.note.Note(PITCH_LOW + k, quarterLength=(b - a) * q))
    return part


def piano_roll_to_midi(
    roll: Tensor, path: str | os.PathLike[str], step: float = 0.5, *, tempo: float = 80.0
) -> Path:
    """Write a (T, 88) roll as a MIDI file (``step`` quarter notes per frame, ``tempo`` quarters a minute).

    Silent frames at the end do not survive MIDI (a MIDI file ends with its last note).
    """
    return write_midi(piano_roll_to_stream(roll, step, tempo=tempo), path)


def midi_to_piano_roll(path: str | os.PathLike[str], step: float = 0.5) -> Tensor:
    """Read a MIDI file (every track and channel but the drums, channel 10) as a (T, 88) roll.

    The notes are read from the file's note-on / note-off events in quarter notes (ticks over the file's
    ticks per quarter), not through music21's score reconstruction, which re-barlines the music and can
    misplace tied notes. T = ⌈last note-off / step⌉. A ValueError if the file cannot be read, or holds a
    pitch outside 21 … 108.
    """
    m21 = _music21()
    q = _check_step("midi_to_piano_roll", step)
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"midi_to_piano_roll: {path} is not a file")
    mf = m21.midi.MidiFile()
    try:
        mf.open(str(path))
        try:
            _quiet(mf.read)
        finally:
            mf.close()
        tpq = mf.ticksPerQuarterNote
        if not isinstance(tpq, int) or tpq <= 0:
            raise ValueError(f"ticks per quarter note {tpq!r} (SMPTE timing is not supported)")
        spans = []
        for track in mf.tracks:
            tick, sounding = 0, {}
            for e in track.events:
                if e.isDeltaTime():
                    tick += e.time
                    continue
                if not (e.isNoteOn() or e.isNoteOff()) or e.channel == 10:
                    continue
                key = (e.channel, e.pitch)
                if key in sounding:  # a note-off, or a note-on that re-strikes a sounding pitch
                    spans.append((e.pitch, sounding.pop(key), tick))
                if e.isNoteOn() and e.velocity > 0:
                    sounding[key] = tick
            spans += [(pitch, on, tick) for (_, pitch), on in sounding.items()]  # never switched off
    except ValueError as err:
        raise ValueError(f"{path}: not a MIDI file seqlab can read ({_short(err)})") from None
    except Exception as err:  # music21's MIDI reader raises many types on damaged files
        raise ValueError(
            f"{path}: not a MIDI file music21 can read ({type(err).__name__}: {_short(err)})"
        ) from None
    end = max((off for _, _, off in spans), default=0)
    roll = torch.zeros(_ceil(Fraction(end, tpq) / q), NUM_PITCHES)  # (T, 88)
    for pitch, on, off in spans:
        if not PITCH_LOW <= pitch <= PITCH_HIGH:
            raise ValueError(
                f"{path}: MIDI pitch {pitch} at quarter {on / tpq:g} is outside the piano roll's range "
                f"{PITCH_LOW} … {PITCH_HIGH}"
            )
        roll[_ceil(Fraction(on, tpq) / q) : _ceil(Fraction(off, tpq) / q), pitch - PITCH_LOW] = 1.0
    return roll


class PianoRolls(NamedTuple):
    """Piano rolls with their names, and how many inputs were skipped."""

    rolls: list[Tensor]  # each (T_i, 88), 0/1 float32
    names: list[str]
    skipped: int  # inputs that did not parse or did not fit (logged with the reason)


def midi_piano_rolls(paths: Iterable[str | os.PathLike[str]], step: float = 0.5) -> PianoRolls:
    """Rolls of many MIDI files; a file that does not parse (or holds no notes) is skipped and counted."""
    rolls, names, skipped = [], [], 0
    for path in paths:
        try:
            roll = midi_to_piano_roll(path, step)
            if not roll.shape[0] or not roll.any():
                raise ValueError(f"{path}: holds no notes")
        except ValueError as err:
            log.warning("skipped: %s", _short(err, 200))
            skipped += 1
            continue
        rolls.append(roll)
        names.append(Path(path).stem)
    return PianoRolls(rolls, names, skipped)


def chorale_names() -> list[str]:
    """The chorales of music21's corpus (the Riemenschneider numbering), e.g. "bach/bwv269"."""
    m21 = _music21()
    return list(m21.corpus.chorales.Iterator(returnType="filename"))


def chorale_rolls(names: Iterable[str], step: float = 0.5) -> PianoRolls:
    """Rolls of the four voices of the named corpus chorales (no cache); failures are skipped and counted."""
    m21 = _music21()
    _check_step("chorale_rolls", step)
    rolls, kept, skipped = [], [], 0
    for name in names:
        try:
            score = _quiet(lambda name=name: m21.corpus.parse(name))
        except Exception as err:  # a missing or damaged corpus file
            log.warning("%s: skipped, does not parse (%s: %s)", name, type(err).__name__, _short(err))
            skipped += 1
            continue
        try:
            roll = stream_to_piano_roll(four_voices(score), step)
        except ValueError as err:
            log.warning("%s: skipped (%s)", name, _short(err, 200))
            skipped += 1
            continue
        rolls.append(roll)
        kept.append(name)
    return PianoRolls(rolls, kept, skipped)


def bach_chorales(
    split: str | None = "train",
    *,
    step: float = 0.5,
    cache_dir: str | os.PathLike[str] | None = None,
    refresh: bool = False,
) -> PianoRolls:
    """The Bach chorales of ``split`` ("train", "valid", "test"; None: all) as (T, 88) rolls.

    The first call parses every chorale (a minute or two) and caches all rolls at this ``step``; see the
    module docstring for the cache file and the split. ``skipped`` counts chorales of the whole corpus
    that were skipped (not four voices, or unparseable).
    """
    _check_split("bach_chorales", split)
    _check_step("bach_chorales", step)
    m21 = _music21()
    folder = Path(cache_dir or default_cache_dir())
    path = folder / f"bach-chorales-m21-{m21.__version__}-step{float(step):g}-v{CACHE_VERSION}.npz"
    rolls = None if refresh else _read_roll_cache(path)
    if rolls is None:
        log.info("bach_chorales: parsing every chorale once; cached in %s", path)
        rolls = chorale_rolls(chorale_names(), step)
        _write_roll_cache(path, rolls)
    if rolls.skipped:
        log.info("bach_chorales: %d chorale(s) skipped (not four voices, or do not parse)", rolls.skipped)
    if split is None:
        return rolls
    keep = [i for i, n in enumerate(rolls.names) if hash_split(n, CHORALE_FRACTIONS) == split]
    return PianoRolls([rolls.rolls[i] for i in keep], [rolls.names[i] for i in keep], rolls.skipped)


def _write_roll_cache(path: Path, rolls: PianoRolls) -> None:
    arrays = {f"roll{i}": r.to(torch.uint8).numpy() for i, r in enumerate(rolls.rolls)}
    meta = json.dumps({"names": rolls.names, "skipped": rolls.skipped})

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, meta=np.array(meta), **arrays)

    _atomic_bytes(path, write)


def _read_roll_cache(path: Path) -> PianoRolls | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            names = list(meta["names"])
            rolls = [torch.from_numpy(data[f"roll{i}"].astype(np.float32)) for i in range(len(names))]
            return PianoRolls(rolls, names, int(meta["skipped"]))
    except (OSError, ValueError, KeyError, TypeError, EOFError, zlib.error) as err:
        log.warning("%s: unreadable cache (%s); rebuilding it", path, _short(err))
        return None


# ------------------------------------------------------------------------------------------------ pictures
def plot_piano_roll(
    roll: Tensor,
    path: str | os.PathLike[str],
    *,
    step: float | None = None,
    title: str | None = None,
    full_range: bool = False,
    marks: Sequence[float] = (),
) -> Path:
    """Draw a (T, 88) roll (time →, pitch ↑, C of each octave labelled) as a PNG; needs matplotlib.

    With ``step``, the time axis is in quarter notes; without, in frames. Probabilities in [0, 1] are
    drawn as shades. The pitch axis spans the octaves that hold notes (C below the lowest to C above the
    highest); ``full_range`` shows all 88 keys. ``marks``: times (in the time axis' units) to draw as
    dashed vertical lines, e.g. where a prime ends and sampling begins.
    """
    from seqlab.plots import _pyplot, _save

    if isinstance(roll, np.ndarray):
        roll = torch.from_numpy(roll)
    if not isinstance(roll, Tensor) or roll.dim() != 2 or roll.shape[1] != NUM_PITCHES:
        got = tuple(roll.shape) if isinstance(roll, Tensor) else type(roll).__name__
        raise ValueError(f"plot_piano_roll: expected a roll of shape (T, {NUM_PITCHES}), got {got}")
    values = roll.detach().float().cpu().numpy()  # (T, 88)
    if values.size and (values.min() < 0 or values.max() > 1):
        raise ValueError("plot_piano_roll: expected values in [0, 1] (notes on/off, or probabilities)")
    low, high = PITCH_LOW, PITCH_HIGH
    sounding = np.flatnonzero(values.max(axis=0) > 0) if values.size else np.array([], dtype=int)
    if len(sounding) and not full_range:
        low = max(PITCH_LOW, (int(sounding[0]) + PITCH_LOW) // 12 * 12)
        high = min(PITCH_HIGH, ((int(sounding[-1]) + PITCH_LOW) // 12 + 1) * 12)
    shown = values[:, low - PITCH_LOW : high - PITCH_LOW + 1]  # (T, pitches shown)
    plt = _pyplot()
    T = values.shape[0]
    fig, ax = plt.subplots(figsize=(min(16.0, max(6.0, T / 16)), 4.0))
    scale = float(step) if step is not None else 1.0
    ax.imshow(
        shown.T,
        aspect="auto",
        origin="lower",
        cmap="Greys",
        vmin=0.0,
        vmax=1.0,
        interpolation="nearest",
        extent=(0.0, T * scale, low - 0.5, high + 0.5),
    )
    cs = [c for c in range(24, PITCH_HIGH + 1, 12) if low <= c <= high]
    ax.set_yticks(cs)
    ax.set_yticklabels([f"C{c // 12 - 1}" for c in cs])
    for x in marks:
        ax.axvline(float(x), color="tab:red", linestyle="--", linewidth=1.0)
    ax.set_xlabel("quarter notes" if step is not None else "frames")
    ax.set_ylabel("pitch")
    if title:
        ax.set_title(title)
    return _save(fig, path)
