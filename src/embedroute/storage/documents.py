"""Documents and their validation: every problem is an InputError naming source, line and field.

Attribute types: ``str``, ``list[str]``, ``int``, ``float``, ``date`` (ISO ``YYYY-MM-DD``). Undeclared
attributes take the type of their first value; ``date`` must be declared.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError

ATTRIBUTE_TYPES = ("str", "list[str]", "int", "float", "date")
KNOWN_FIELDS = {"id", "_id", "text", "title", "attributes", "vectors", "metadata"}


@dataclass
class Document:
    id: str
    text: str
    title: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def embed_text(self) -> str:
        """The text experts see: ``title + " " + text`` (the BEIR/MTEB convention)."""
        return f"{self.title} {self.text}" if self.title else self.text


def check_schema(schema: Mapping[str, str]) -> dict[str, str]:
    """Validate declared attribute types.

    >>> check_schema({"year": "int"})
    {'year': 'int'}
    >>> check_schema({"x": "blob"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    embedroute.errors.InputError: field "attributes.x": unknown attribute type 'blob'; use one of str, ...
    """
    out = {}
    for name, typ in schema.items():
        if typ not in ATTRIBUTE_TYPES:
            raise InputError(f"unknown attribute type {typ!r}; use one of {', '.join(ATTRIBUTE_TYPES)}",
                             field=f"attributes.{name}")
        out[str(name)] = typ
    return out


def infer_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return "str"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return "list[str]"
    return None


def coerce(value: Any, typ: str) -> Any:
    """Value converted to its stored form, or ValueError."""
    if typ == "str" and isinstance(value, str):
        return value
    if typ == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if typ == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return float(value)
    if typ == "list[str]" and isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    if typ == "date":
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value).isoformat()
            except ValueError:
                raise ValueError(f"{value!r} is not an ISO date (YYYY-MM-DD)") from None
    raise ValueError(f"expected {typ}, got {type(value).__name__} {value!r}"[:200])


def validate(
    items: Iterable[tuple[int, Any]],
    *,
    source: str,
    schema: Mapping[str, str],
    vector_dims: Mapping[str, int],
) -> tuple[list[Document], dict[str, str]]:
    """Turn ``(line, raw item)`` pairs into Documents; returns them and the attributes newly typed.

    Raises InputError at the first problem; nothing is written before the whole input is valid.
    """
    docs: list[Document] = []
    seen: dict[str, int] = {}
    new_types: dict[str, str] = {}
    for line, raw in items:
        def err(msg: str, fld: str | None = None, _line: int = line) -> InputError:
            return InputError(msg, source=source, line=_line, field=fld)

        if isinstance(raw, Document):
            raw = {"id": raw.id, "text": raw.text, "title": raw.title, "attributes": raw.attributes,
                   "vectors": raw.vectors}
        if not isinstance(raw, Mapping):
            raise err(f"expected a JSON object, got {type(raw).__name__}")
        unknown = set(raw) - KNOWN_FIELDS
        if unknown:
            name = sorted(unknown)[0]
            raise err("unknown field; put document attributes under \"attributes\"", name)
        id_field = "_id" if "_id" in raw and "id" not in raw else "id"
        doc_id = raw.get(id_field)
        if isinstance(doc_id, int) and not isinstance(doc_id, bool):
            doc_id = str(doc_id)
        if doc_id is None:
            raise err("missing document id", "id")
        if not isinstance(doc_id, str) or not doc_id.strip():
            raise err(f"document id must be a non-empty string, got {doc_id!r}", id_field)
        if doc_id in seen:
            raise err(f"duplicate id {doc_id!r} (first on line {seen[doc_id]})", id_field)
        seen[doc_id] = line
        text = raw.get("text")
        if not isinstance(text, str):
            raise err("missing text" if text is None else f"text must be a string, got {type(text).__name__}",
                      "text")
        if not text.strip():
            raise err("empty text", "text")
        title = raw.get("title")
        if title is not None and not isinstance(title, str):
            raise err(f"title must be a string, got {type(title).__name__}", "title")
        attrs_raw = raw.get("attributes") or {}
        if not isinstance(attrs_raw, Mapping):
            raise err("attributes must be an object", "attributes")
        attrs: dict[str, Any] = {}
        for name, value in attrs_raw.items():
            fld = f"attributes.{name}"
            typ = schema.get(name) or new_types.get(name)
            if typ is None:
                typ = infer_type(value)
                if typ is None:
                    raise err(f"unknown attribute type {type(value).__name__} ({value!r}); use one of "
                              f"{', '.join(ATTRIBUTE_TYPES)}"[:300], fld)
                new_types[name] = typ
            try:
                attrs[name] = coerce(value, typ)
            except ValueError as exc:
                raise err(str(exc), fld) from None
        vectors: dict[str, np.ndarray] = {}
        for expert, vec in (raw.get("vectors") or {}).items():
            fld = f"vectors.{expert}"
            if expert not in vector_dims:
                raise err(f"no dense expert {expert!r} in this collection "
                          f"(dense experts: {', '.join(vector_dims) or 'none'})", fld)
            try:
                arr = np.asarray(vec, dtype=np.float32)
            except (TypeError, ValueError):
                raise err("vector must be a list of numbers", fld) from None
            if arr.ndim != 1 or arr.shape[0] != vector_dims[expert]:
                raise err(f"vector has dimension {arr.shape[0] if arr.ndim == 1 else arr.shape}, "
                          f"expected {vector_dims[expert]}", fld)
            if not np.isfinite(arr).all():
                raise err("vector contains NaN or infinity", fld)
            vectors[expert] = arr
        docs.append(Document(doc_id, text, title, attrs, vectors))
    return docs, new_types
