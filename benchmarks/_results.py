"""The ``--json`` file every benchmark writes: a list of {"name", "value", "unit", "baseline"} rows."""

from __future__ import annotations

import json
from pathlib import Path


def write_results(path: Path | None, rows: list[dict]) -> None:
    """Write ``rows`` to ``path`` as indented JSON (folders made as needed); nothing when path is None."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
