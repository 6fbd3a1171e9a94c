"""Task models, one file per task, each a plain ``nn.Module`` that saves to and loads from a model folder."""

from .classification import ClassificationBatch, Classifier, ClassifierConfig, ClassifierOutput, Prediction
from .forecasting import ForecastBatch, Forecaster, ForecasterConfig, ForecastOutput, SeriesForecast
from .generation import LanguageModel, LanguageModelConfig, LMBatch
from .seq2seq import Seq2Seq, Seq2SeqBatch, Seq2SeqConfig, Translation
from .speech import SpeechBatch, SpeechConfig, SpeechRecognizer, Streamer
from .tagging import Tagger, TaggerConfig, TaggingBatch

__all__ = [
    "ClassificationBatch",
    "Classifier",
    "ClassifierConfig",
    "ClassifierOutput",
    "ForecastBatch",
    "ForecastOutput",
    "Forecaster",
    "ForecasterConfig",
    "LMBatch",
    "LanguageModel",
    "LanguageModelConfig",
    "Prediction",
    "Seq2Seq",
    "Seq2SeqBatch",
    "Seq2SeqConfig",
    "SeriesForecast",
    "SpeechBatch",
    "SpeechConfig",
    "SpeechRecognizer",
    "Streamer",
    "Tagger",
    "TaggerConfig",
    "TaggingBatch",
    "Translation",
]
