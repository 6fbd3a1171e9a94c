"""Evaluation metrics: entity spans (conlleval), token accuracy, word segmentation (SIGHAN)."""

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

__all__ = [
    "SegmentationReport",
    "Span",
    "SpanReport",
    "TypeScore",
    "extract_spans",
    "segmentation_scores",
    "span_scores",
    "token_accuracy",
]
