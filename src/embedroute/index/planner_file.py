"""``planner.json`` beside a collection: the filtered-search thresholds ``calibrate`` measured, per expert.

Each entry is an expert's :class:`~embedroute.index.planner.Thresholds` fields plus what they were
measured on (``index``, ``documents``). The file only tunes speed, so a damaged one never blocks opening
the documents: it reads as empty (with a warning) and the default thresholds hold until it is rewritten.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from .planner import Thresholds

FILE = "planner.json"


def read_entries(folder: Path, *, warn: bool = True) -> dict[str, dict[str, Any]]:
    """The file's per-expert entries as saved (``{}`` when there is none, or, warning when ``warn``,
    when it is unreadable)."""
    f = folder / FILE
    if not f.exists():
        return {}
    try:
        saved = json.loads(f.read_text())
        if not isinstance(saved, dict) or not all(isinstance(v, dict) for v in saved.values()):
            raise ValueError("not an object of per-expert objects")
        return saved
    except ValueError as exc:
        if warn:
            warnings.warn(
                f"{f} is unreadable ({exc}); using default planner thresholds until `embedroute "
                "calibrate` writes it again",
                stacklevel=3,
            )
        return {}


def thresholds_of(entry: dict[str, Any]) -> Thresholds | None:
    """The thresholds an entry holds (fields it lacks keep their defaults); ``None`` when a field is not
    a number.

    >>> thresholds_of({"exact_max_allowed": 900, "index": {"kind": "hnsw"}}).exact_max_allowed
    900
    >>> thresholds_of({"exact_max_allowed": "many"}) is None
    True
    """
    known = {k: v for k, v in entry.items() if k in Thresholds.__dataclass_fields__}
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in known.values()):
        return None
    return Thresholds(**known)


def write_entries(folder: Path, entries: dict[str, dict[str, Any]]) -> None:
    """Replace the file with ``entries`` (written beside it, then renamed over it)."""
    tmp = folder / f"{FILE}.tmp"
    tmp.write_text(json.dumps(entries, indent=1))
    tmp.replace(folder / FILE)
