"""Read JSONL (plain or gzip) and BEIR corpora line by line, with line numbers for errors."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import InputError


def corpus_file(path: str | Path) -> Path:
    """A JSONL file as given, or the ``corpus.jsonl[.gz]`` inside a BEIR folder."""
    p = Path(path)
    if p.is_dir():
        for name in ("corpus.jsonl", "corpus.jsonl.gz"):
            if (p / name).exists():
                return p / name
        raise InputError("folder has no corpus.jsonl or corpus.jsonl.gz", source=str(p))
    if not p.exists():
        raise InputError("file not found", source=str(p))
    return p


def read_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, object)``; blank lines are skipped, bad lines raise InputError."""
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rb") as f:
        for n, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"invalid UTF-8 at byte {exc.start} of the line", source=str(p), line=n) from None
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"malformed JSON: {exc.msg} at column {exc.colno}", source=str(p), line=n) from None
