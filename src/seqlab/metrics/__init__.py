"""Evaluation metrics: entity spans (conlleval), token accuracy, word segmentation (SIGHAN); transduction
(BLEU, chrF, exact match, G2P word and phoneme error rates)."""

from .tagging import (
    SegmentationReport,
    Span,
    SpanReport,
    TypeScore,
    extract_spans,
    segmentation_scores,
    span_scores,
    token_accuracy,
)
from .transduction import bleu, chrf, exact_match, phoneme_error_rate, word_error_rate

__all__ = [
    "SegmentationReport",
    "Span",
    "SpanReport",
    "TypeScore",
    "bleu",
    "chrf",
    "exact_match",
    "extract_spans",
    "phoneme_error_rate",
    "segmentation_scores",
    "span_scores",
    "token_accuracy",
    "word_error_rate",
]
