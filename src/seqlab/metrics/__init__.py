"""Evaluation metrics: entity spans (conlleval), token accuracy, word segmentation (SIGHAN); transduction
(BLEU, chrF, exact match, G2P word and phoneme error rates); classification (accuracy, macro-F1, per-class
report, confusion matrix, multi-label scores, computed by scikit-learn)."""

from .classification import (
    accuracy,
    classification_report,
    classification_scores,
    confusion_matrix,
    macro_f1,
    multilabel_scores,
)
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
    "accuracy",
    "bleu",
    "chrf",
    "classification_report",
    "classification_scores",
    "confusion_matrix",
    "exact_match",
    "extract_spans",
    "macro_f1",
    "multilabel_scores",
    "phoneme_error_rate",
    "segmentation_scores",
    "span_scores",
    "token_accuracy",
    "word_error_rate",
]
