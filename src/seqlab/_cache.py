"""Where seqlab keeps what it builds once and reuses: parsed corpora, compiled kernels."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """$SEQLAB_CACHE_DIR, else $XDG_CACHE_HOME/seqlab, else ~/.cache/seqlab."""
    if os.environ.get("SEQLAB_CACHE_DIR"):
        return Path(os.environ["SEQLAB_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "seqlab"
