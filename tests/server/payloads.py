"""Hostile names and expert options, each with the answer the server must give. Shared by test_security
(against a server whose file opens an audit hook watches) and test_schemathesis (answers checked against
the OpenAPI spec).

Every name field (collection, expert, expert source, router spec, routing expert, job id) and every option
field gets each hostile value: a traversal (``../x``, ``..\\x``, ``%2e%2e/x``), an absolute path, the
sentinel model folder (absolute, and relative from the collection's ``routers`` folder), a NUL byte and an
over-long name. The answer is a 400 naming the field, except where FastAPI answers first: a 422 for a body
field with a pattern of its own, a 404 for a path parameter holding ``/`` (no route matches).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

LONG_NAME = "a" * 300  # letters only: refused for its length alone
LONG_TEXT = "a" * 2000


@dataclass(frozen=True)
class Payload:
    method: str
    path: str  # the route with its parameters (raw values, quoted by :attr:`url`)
    params: tuple[tuple[str, str], ...]
    body: Any
    status: int
    field: str | None  # the field a 400 names

    @property
    def quoted(self) -> dict[str, str]:
        """The path parameters percent-encoded (so ``%2e`` reaches the server as written, ``/`` as ``%2F``)."""
        return {k: quote(v, safe="") for k, v in self.params}

    @property
    def url(self) -> str:
        return self.path.format(**self.quoted)

    def __str__(self) -> str:
        shown = {k: (v[:12] + "..." if len(v) > 15 else v) for k, v in self.params}
        return f"{self.method} {self.path} {shown} {self.field} -> {self.status}"


def hostile_values(sentinel: Path, routers: Path) -> list[str]:
    """Strings that would name a file outside every root; ``routers`` is a collection's routers folder."""
    return [
        "../x",
        "..\\x",
        "%2e%2e/x",
        "%2e%2e%2fx",
        "/etc/passwd",
        str(sentinel / "model"),
        os.path.relpath(sentinel / "model", routers),
        os.path.relpath(sentinel / "router" / "evil", routers),
        "a\x00b",
        LONG_NAME,
    ]


def _in_path(value: str) -> int:
    """A hostile path parameter: no route matches when it holds ``/``; else the handler refuses it."""
    return 404 if "/" in value else 400


def payloads(col: str, values: list[str]) -> list[Payload]:
    """Every hostile value in every name and option field, against collection ``col``."""
    out: list[Payload] = []

    def add(method: str, path: str, body: Any, status: int, field: str | None, **params: str) -> None:
        out.append(Payload(method, path, tuple(params.items()), body, status, field))

    base = "/api/collections/{name}"
    train = ["scifact-sample"]
    for v in values:
        text = LONG_TEXT if v == LONG_NAME else v  # option values may be long texts; a long name is refused
        add("POST", "/api/collections", {"name": "hostile", "experts": [v]}, 400, "experts[0]")
        add(
            "POST",
            "/api/collections",
            {"name": "hostile", "experts": ["bm25", {"source": v}]},
            400,
            "experts[1].source",
        )
        add("POST", "/api/collections", {"name": v}, 422, None)
        add(
            "POST",
            "/api/collections",
            {"name": "hostile", "experts": [{"source": "colbert-minilm", "name": "z", "options": {"path": text}}]},
            400,
            "experts[0].options.path",
        )
        add(
            "POST",
            "/api/collections",
            {"name": "hostile", "experts": [{"source": "bm25", "options": {"stopwords": text}}]},
            400,
            "experts[0].options.stopwords",
        )
        add("POST", base + "/experts", {"expert": v}, 400, "expert", name=col)
        for source, option, value, field in [
            ("colbert-minilm", "path", text, "path"),
            ("static64", "index", text, "index"),
            ("static64", "documents_from", v, "documents_from"),
            ("static64", "prompts", {"query": text}, "prompts.query"),
            ("minilm-tokens", "fde", {"seed": text}, "fde.seed"),
            ("bm25", "stopwords", [text], "stopwords[0]"),
        ]:
            add(
                "POST",
                base + "/experts",
                {"expert": {"source": source, "name": "z", "options": {option: value}}},
                400,
                f"expert.options.{field}",
                name=col,
            )
        add(
            "POST",
            base + "/experts",
            {"expert": {"source": "static64", "name": "z", "options": {v: 1}}},
            400,
            "expert.options",
            name=col,
        )
        add("POST", base + "/experts", {"expert": {"source": "bm25", "name": v}}, 422, None, name=col)
        add("DELETE", base + "/experts/{expert}", None, _in_path(v), "expert", name=col, expert=v)
        add("GET", base, None, _in_path(v), "name", name=v)
        add("POST", base + "/search", {"query": "x", "expert": v}, 400, "expert", name=col)
        add("POST", base + "/search", {"query": "x", "router": v}, 400, "router", name=col)
        add(
            "POST",
            base + "/routers",
            {"router": v, "train_from": train},
            422 if len(v) > 200 else 400,
            "router",
            name=col,
        )
        add(
            "POST",
            base + "/routers",
            {"router": "pilot", "train_from": train, "routing_expert": v},
            400,
            "routing_expert",
            name=col,
        )
        add("POST", base + "/routers", {"router": "pilot", "train_from": [v]}, 400, "train_from", name=col)
        add("POST", "/api/evaluations", {"data": "scifact-sample", "experts": ["bm25", v]}, 400, "experts[1]")
        add("POST", "/api/evaluations", {"data": v, "experts": ["bm25"]}, 400, "data")
        add("GET", "/api/evaluations/{job_id}", None, _in_path(v), "job_id", job_id=v)
        add("GET", "/api/router-fits/{job_id}", None, _in_path(v), "job_id", job_id=v)
        add("GET", base + "/documents/{doc_id}", None, 404, None, name=col, doc_id=v)  # a key, never a file
    for option in ("folder", "model", "model_id", "adapter", "tokenizer_dir"):  # names a loader would open
        add(
            "POST",
            base + "/experts",
            {"expert": {"source": "static64", "name": "z", "options": {option: "x"}}},
            400,
            f"expert.options.{option}",
            name=col,
        )
    add(
        "POST",
        base + "/experts",
        {"expert": {"source": "minilm-tokens", "name": "z", "options": {"fde": {"path": "x"}}}},
        400,
        "expert.options.fde.path",
        name=col,
    )
    return out
