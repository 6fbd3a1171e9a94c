"""Task models, one file per task, each a plain ``nn.Module`` that saves to and loads from a model folder."""

from .tagging import Tagger, TaggerConfig, TaggingBatch

__all__ = ["Tagger", "TaggerConfig", "TaggingBatch"]
