"""Building blocks for task models: the CRF (and, with later tasks, attention and CTC decoding)."""

from .crf import CRF, PAD_TAG, Allowed

__all__ = ["CRF", "PAD_TAG", "Allowed"]
