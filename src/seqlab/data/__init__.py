"""Data for the task models: file readers and writers, tag schemes, vocabularies and batching.

- ``conll``: ``Sentence``, ``read_conll``, ``write_conll`` — CoNLL column files.
- ``chinese``: BMES per-character files, space-segmented text, ``word/POS`` files; words ↔ BMES.
- ``schemes``: IOB1, IOB2 (BIO), BIOES (IOBES), BMES — spans, conversion, CRF transition masks.
- ``vocab``: ``Vocab`` — tokens ↔ ids with pad/unk, lowercase and digit normalisation, JSON files.
- ``batching``: ``pad_batch`` and ``BucketBatchSampler``.
- ``corpora``: real corpora read from the packages that ship them (CoNLL-2003, PKU 1998).
"""

from seqlab.data.batching import BucketBatchSampler, pad_batch
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
from seqlab.data.conll import Sentence, read_conll, write_conll
from seqlab.data.corpora import CORPORA, conll2003, corpus_path, pku_pos, pku_segmentation
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
from seqlab.data.vocab import Vocab

__all__ = [
    "BMES_TAGS",
    "CORPORA",
    "SCHEMES",
    "AllowedTransitions",
    "BucketBatchSampler",
    "Sentence",
    "Vocab",
    "allowed_transitions",
    "bmes_to_words",
    "check_tags",
    "conll2003",
    "convert_scheme",
    "corpus_path",
    "normalize_scheme",
    "pad_batch",
    "parse_label",
    "pku_pos",
    "pku_segmentation",
    "read_bmes",
    "read_conll",
    "read_segmented",
    "read_tagged_words",
    "segmented_to_bmes",
    "spans",
    "text_to_chars",
    "words_to_bmes",
    "write_conll",
]
