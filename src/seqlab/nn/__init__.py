"""Building blocks for task models: the CRF, attention, greedy and beam search decoding, CTC decoding and
n-gram LMs, embeddings, sampling (temperature, top-k, top-p)."""

from .attention import KINDS as ATTENTION_KINDS
from .attention import Attention, AttentionMemory
from .crf import CRF, PAD_TAG, Allowed
from .ctc import (
    CTCHypothesis,
    NgramLM,
    ctc_collapse,
    ctc_greedy_decode,
    ctc_labeling_log_probs,
    ctc_prefix_beam_search,
)
from .decoding import (
    BeamSearchResult,
    GreedyResult,
    StepFn,
    beam_search,
    gnmt_length_penalty,
    greedy_decode,
    repeat_state,
    select_state,
)
from .embeddings import drop_words, init_embedding
from .sampling import filter_logits, sample_next

__all__ = [
    "ATTENTION_KINDS",
    "CRF",
    "PAD_TAG",
    "Allowed",
    "Attention",
    "AttentionMemory",
    "BeamSearchResult",
    "CTCHypothesis",
    "GreedyResult",
    "NgramLM",
    "StepFn",
    "beam_search",
    "ctc_collapse",
    "ctc_greedy_decode",
    "ctc_labeling_log_probs",
    "ctc_prefix_beam_search",
    "drop_words",
    "filter_logits",
    "gnmt_length_penalty",
    "greedy_decode",
    "init_embedding",
    "repeat_state",
    "sample_next",
    "select_state",
]
