"""Evaluation metrics: entity spans (conlleval), token accuracy, word segmentation (SIGHAN); transduction
(BLEU, chrF, exact match, G2P word and phoneme error rates); classification (accuracy, macro-F1, per-class
report, confusion matrix, multi-label scores, computed by scikit-learn); forecasting (MAE, RMSE, sMAPE,
MASE, interval coverage); speech recognition (WER and CER, computed by jiwer)."""

from .classification import (
    accuracy,
    classification_report,
    classification_scores,
    confusion_matrix,
    macro_f1,
    multilabel_scores,
)
from .forecasting import coverage, forecast_scores, mae, mase, rmse, smape
from .speech import asr_scores, character_error_rate, speech_word_error_rate
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
    "asr_scores",
    "bleu",
    "character_error_rate",
    "chrf",
    "classification_report",
    "classification_scores",
    "confusion_matrix",
    "coverage",
    "exact_match",
    "extract_spans",
    "forecast_scores",
    "macro_f1",
    "mae",
    "mase",
    "multilabel_scores",
    "phoneme_error_rate",
    "rmse",
    "segmentation_scores",
    "smape",
    "span_scores",
    "speech_word_error_rate",
    "token_accuracy",
    "word_error_rate",
]
