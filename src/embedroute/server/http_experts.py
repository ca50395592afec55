"""Experts a HTTP client may ask for: names the server offers, options from a per-type allow-list, no paths.

From Python an expert may come from any model folder or hub id, and some take a folder as an option
(``colbert-minilm``'s ``path``). Over HTTP that would let a caller make the server open any folder it can read,
or reach the network, so a spec must name an expert the server offers (GET /api/experts), its options must be
ones that expert type takes and that name no file, and no option value may look like a path. Errors name the
field (``experts[1].options.path``) and never repeat a value that may be a path.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import InputError
from ..names import LONGEST, RULE, SAFE_NAME, check_name

#: a dense expert's options: its encoder's (truncation, prompts, pooling, ...) and its own (index, rescore,
#: documents_from); one encoder may not take them all, which it reports as a bad option
DENSE = frozenset(
    {
        "documents_from",
        "index",
        "rescore",
        "truncate_dim",
        "max_seq_length",
        "pooling",
        "prompts",
        "precision",
        "normalize",
        "token_budget",
        "max_batch",
        "batch",
    }
)
#: a multi-vector expert's (:class:`~embedroute.experts.multivector.MultiVectorExpert`) options
MULTI_VECTOR = frozenset({"fde", "candidates", "index", "mode", "carve", "prune"})
#: raw token states of a registered encoder (``tokens:NAME``, ``minilm-tokens``): multi-vector, plus the projection
TOKENS = MULTI_VECTOR | {"project_to", "seed", "max_seq_length"}
LEXICAL = frozenset({"k1", "b", "method", "stemmer", "stopwords"})
SPARSE = frozenset({"max_seq_length", "token_budget", "max_batch"})
BY_SOURCE = {"bm25": LEXICAL, "splade-tiny": SPARSE, "colbert-minilm": MULTI_VECTOR, "minilm-tokens": TOKENS}
#: the keys an option that is itself an object may hold
NESTED = {
    "fde": frozenset({"r_reps", "k_sim", "d_proj", "final_dim", "seed", "fill_empty"}),
    "prompts": frozenset({"query", "document"}),
}
#: option names that would point a loader at a file or folder
FILE_WORDS = ("path", "folder", "dir", "file", "model", "adapter", "onnx", "tokenizer", "weights")
LONGEST_TEXT = 1000
ABSOLUTE = re.compile(r"^(?:[/\\~]|[A-Za-z]:[/\\]|file:)", re.IGNORECASE)
TRAVERSAL = re.compile(r"(?:^|[/\\])\.\.(?:[/\\]|$)")
ESCAPED = re.compile(r"%(?:2e|2f|5c|00)", re.IGNORECASE)


def looks_like_path(text: str, *, prose: bool = False) -> bool:
    """Whether ``text`` could name a file: absolute, ``~``, a ``..`` step, a separator or an escaped one
    (``%2e``, ``%2f``, ...). ``prose`` (a prompt's text, never opened) may hold ``/`` or ``..`` between
    words, but not the rest.

    >>> [looks_like_path(t) for t in ("int8", "../x", "..\\\\x", "%2e%2e/", "/etc", "C:\\\\x", "models/m")]
    [False, True, True, True, True, True, True]
    >>> looks_like_path("query: refute/support", prose=True), looks_like_path("../x", prose=True)
    (False, True)
    """
    text = text.strip()
    if ABSOLUTE.match(text) or TRAVERSAL.search(text) or ESCAPED.search(text):
        return True
    return not prose and ("/" in text or "\\" in text or ".." in text)


def options_for(source: str) -> frozenset[str]:
    """The options the expert ``source`` takes over HTTP (none for a plug-in, whose options are unknown here)."""
    from ..encoders.catalog import ENCODERS
    from ..experts.registry import trained_expert_names

    if source in BY_SOURCE:
        return BY_SOURCE[source]
    if source.startswith("tokens:"):
        return TOKENS
    if source in ENCODERS or source in trained_expert_names():
        return DENSE
    return frozenset()


def check_offered(spec: Any, *, field: str) -> None:
    """``spec`` (a name or ``{source, name?, options?}``) is an expert the server offers, with allowed options."""
    from ..encoders.catalog import ENCODERS
    from ..experts.registry import expert_names

    source = spec.get("source") if isinstance(spec, dict) else spec
    where = f"{field}.source" if isinstance(spec, dict) else field
    known = expert_names()  # registered experts and encoders, and query-side experts trained here
    if not isinstance(source, str) or not (
        source in known or (source.startswith("tokens:") and source[7:] in ENCODERS)
    ):
        shown = f" {source!r}" if isinstance(source, str) and _plain(source) else ""
        raise InputError(f"unknown expert{shown}; the server offers: {', '.join(known)}", field=where)
    if not isinstance(spec, dict):
        return
    if spec.get("name") is not None:
        check_name(spec["name"], field=f"{field}.name")
    options = spec.get("options") or {}
    if not isinstance(options, dict):
        raise InputError("must be an object", field=f"{field}.options")
    allowed = options_for(source)
    for key, value in options.items():
        at = f"{field}.options.{key}" if _plain(key) else f"{field}.options"
        if not _plain(key):
            raise InputError(f"an option name is {RULE}", field=at)
        if any(w in key.lower() for w in FILE_WORDS) and key not in allowed:
            raise InputError("names a file or folder; over HTTP an expert loads only what the server offers", field=at)
        if key not in allowed:
            raise InputError(
                f"expert {source!r} takes no option {key!r} over HTTP; it takes: "
                f"{', '.join(sorted(allowed)) or 'none'}",
                field=at,
            )
        if key == "documents_from":
            check_name(value, field=at)
        _check_value(value, at, NESTED.get(key), prose=False)


def _plain(text: str) -> bool:
    return len(text) <= LONGEST and SAFE_NAME.fullmatch(text) is not None and ".." not in text


def _check_value(value: Any, field: str, nested: frozenset[str] | None, *, prose: bool) -> None:
    """An option value over HTTP: a scalar, a short flat list, or (for ``nested`` options) a flat object."""
    if value is None or isinstance(value, (bool, int, float)):
        return
    if isinstance(value, str):
        _check_text(value, field, prose=prose)
        return
    if isinstance(value, list) and nested is None and len(value) <= 100:
        _check_list(value, field)
        return
    if isinstance(value, dict) and nested is not None:
        _check_object(value, field, nested)
        return
    raise InputError("must be a string, number, boolean or null" + (" or an object" if nested else ""), field=field)


def _check_text(value: str, field: str, *, prose: bool) -> None:
    if "\x00" in value:
        raise InputError("contains a NUL byte", field=field)
    if len(value) > LONGEST_TEXT:
        raise InputError(f"is longer than {LONGEST_TEXT} characters", field=field)
    if looks_like_path(value, prose=prose):
        raise InputError("looks like a path; paths are never accepted over HTTP", field=field)


def _check_list(value: list[Any], field: str) -> None:
    for i, item in enumerate(value):
        if isinstance(item, (list, dict)):
            raise InputError("a list option holds strings, numbers or booleans", field=f"{field}[{i}]")
        _check_value(item, f"{field}[{i}]", None, prose=False)


def _check_object(value: dict[Any, Any], field: str, nested: frozenset[str]) -> None:
    for key, item in value.items():
        if key not in nested:
            at = f"{field}.{key}" if _plain(key) else field
            raise InputError(f"takes only {', '.join(sorted(nested))}", field=at)
        if isinstance(item, (list, dict)):
            raise InputError("must be a string, number or boolean", field=f"{field}.{key}")
        _check_value(item, f"{field}.{key}", None, prose=field.endswith(".prompts"))
