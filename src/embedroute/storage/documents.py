"""Documents and their validation: every problem is an InputError naming source, line and field.

Attribute types: ``str``, ``list[str]``, ``int``, ``float``, ``date`` (ISO ``YYYY-MM-DD``). Undeclared
attributes take the type of their first value; ``date`` must be declared.

Supplied vectors (``"vectors": {"expert": [...]}``) are L2-normalised like the encoders' own output
(every dense index scores by inner product, so an unnormalised vector would outrank or trail the
encoded ones by its length alone); a zero vector has no direction and is refused. Experts whose
encoder does not normalise (``normalize=False``) store them as given.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError

ATTRIBUTE_TYPES = ("str", "list[str]", "int", "float", "date")
KNOWN_FIELDS = {"id", "_id", "text", "title", "attributes", "vectors", "metadata"}


@dataclass
class Document:
    """A validated document: id, text, optional title, typed attributes and any vectors supplied with it."""

    id: str
    text: str
    title: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    #: where the document came from (line in its file, or position in the input), for later errors
    line: int | None = field(default=None, compare=False, repr=False)

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
            raise InputError(
                f"unknown attribute type {typ!r}; use one of {', '.join(ATTRIBUTE_TYPES)}", field=f"attributes.{name}"
            )
        out[str(name)] = typ
    return out


def infer_type(value: Any) -> str | None:
    """The attribute type a value of unknown attribute would get (``None``: no type fits, e.g. a bool or a dict)."""
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
        if not -(2**63) <= value < 2**63:
            raise ValueError("integer does not fit in 64 bits")
        return value
    if typ == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return float(value)
    if typ == "list[str]" and isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    if typ == "date" and isinstance(value, dt.date | str):
        return _iso_date(value)
    raise ValueError(f"expected {typ}, got {type(value).__name__} {value!r}"[:200])


def _iso_date(value: dt.date | str) -> str:
    """A date, datetime (its date part) or ISO date string as ``YYYY-MM-DD``, or ValueError."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO date (YYYY-MM-DD)") from None


def validate(
    items: Iterable[tuple[int, Any]],
    *,
    source: str,
    schema: Mapping[str, str],
    vector_dims: Mapping[str, int],
    unnormalised: Container[str] = (),
) -> tuple[list[Document], dict[str, str]]:
    """Turn ``(line, raw item)`` pairs into Documents; returns them and the attributes newly typed.

    Raises InputError at the first problem; nothing is written before the whole input is valid.
    Supplied vectors are L2-normalised, except for the experts named in ``unnormalised``.
    """
    docs: list[Document] = []
    seen: dict[str, int] = {}
    new_types: dict[str, str] = {}
    for line, raw in items:

        def err(msg: str, fld: str | None = None, _line: int = line) -> InputError:
            return InputError(msg, source=source, line=_line, field=fld)

        if isinstance(raw, Document):
            raw = {
                "id": raw.id,
                "text": raw.text,
                "title": raw.title,
                "attributes": raw.attributes,
                "vectors": raw.vectors,
            }
        if not isinstance(raw, Mapping):
            raise err(f"expected a JSON object, got {type(raw).__name__}")
        unknown = sorted(str(k) for k in raw if not isinstance(k, str) or k not in KNOWN_FIELDS)
        if unknown:
            raise err('unknown field; put document attributes under "attributes"', unknown[0])
        doc_id = _doc_id(raw, err, seen, line)
        text, title = _text_and_title(raw, err)
        attrs = _attributes(raw.get("attributes"), schema, new_types, err)
        vectors = _vectors(raw.get("vectors"), vector_dims, unnormalised, err)
        docs.append(Document(doc_id, text, title, attrs, vectors, line=line))
    return docs, new_types


_Err = Callable[..., InputError]


def _doc_id(raw: Mapping[str, Any], err: _Err, seen: dict[str, int], line: int) -> str:
    """The item's id (``id``, or BEIR's ``_id``; an integer is taken as its string), recorded in ``seen``."""
    id_field = "_id" if "_id" in raw and "id" not in raw else "id"
    doc_id = raw.get(id_field)
    if isinstance(doc_id, int) and not isinstance(doc_id, bool):
        doc_id = str(doc_id)
    if doc_id is None:
        raise err("missing document id", "id")
    if not isinstance(doc_id, str) or not doc_id.strip():
        raise err(f"document id must be a non-empty string, got {doc_id!r}"[:200], id_field)
    _check_unicode(doc_id, err, id_field)
    if doc_id in seen:
        raise err(f"duplicate id {doc_id!r} (first on line {seen[doc_id]})", id_field)
    seen[doc_id] = line
    return doc_id


def _text_and_title(raw: Mapping[str, Any], err: _Err) -> tuple[str, str | None]:
    """The item's non-empty ``text`` and optional ``title``, both valid Unicode."""
    text = raw.get("text")
    if not isinstance(text, str):
        raise err("missing text" if text is None else f"text must be a string, got {type(text).__name__}", "text")
    if not text.strip():
        raise err("empty text", "text")
    _check_unicode(text, err, "text")
    title = raw.get("title")
    if title is not None:
        if not isinstance(title, str):
            raise err(f"title must be a string, got {type(title).__name__}", "title")
        _check_unicode(title, err, "title")
    return text, title


def _check_unicode(value: str, err: _Err, fld: str) -> None:
    """Refuse a string the store cannot hold: a lone surrogate (``"\\ud83d"``) has no UTF-8 form."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise err(
            f"contains a lone surrogate {value[exc.start]!r} at character {exc.start}, which is not valid Unicode", fld
        ) from None


def _attributes(attrs_raw: Any, schema: Mapping[str, str], new_types: dict[str, str], err: _Err) -> dict[str, Any]:
    if attrs_raw is None:
        return {}
    if not isinstance(attrs_raw, Mapping):
        raise err(f"attributes must be an object, got {type(attrs_raw).__name__}", "attributes")
    attrs: dict[str, Any] = {}
    for name, value in attrs_raw.items():
        if not isinstance(name, str) or not name:
            raise err(f"attribute names must be non-empty strings, got {name!r}", "attributes")
        fld = f"attributes.{name}"
        _check_unicode(name, err, fld)
        typ = schema.get(name) or new_types.get(name)
        if typ is None:
            typ = infer_type(value)
            if typ is None:
                raise err(
                    f"unknown attribute type {type(value).__name__} ({value!r}); use one of "
                    f"{', '.join(ATTRIBUTE_TYPES)}"[:300],
                    fld,
                )
            new_types[name] = typ
        try:
            attrs[name] = coerce(value, typ)
        except ValueError as exc:
            raise err(str(exc), fld) from None
        for v in attrs[name] if isinstance(attrs[name], list) else [attrs[name]]:
            if isinstance(v, str):
                _check_unicode(v, err, fld)
    return attrs


def _is_number(x: Any) -> bool:
    t = type(x)
    return t is float or t is int or (isinstance(x, numbers.Real) and not isinstance(x, bool | np.bool_))


_F32_MAX = float(np.finfo(np.float32).max)


def _vectors(raw: Any, dims: Mapping[str, int], unnormalised: Container[str], err: _Err) -> dict[str, np.ndarray]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise err(f"vectors must be an object of expert name to vector, got {type(raw).__name__}", "vectors")
    out: dict[str, np.ndarray] = {}
    for expert, vec in raw.items():
        fld = f"vectors.{expert}"
        if expert not in dims:
            raise err(
                f"no dense expert {expert!r} in this collection (dense experts: {', '.join(dims) or 'none'})", fld
            )
        _check_numbers(vec, err, fld)
        out[expert] = _vector(vec, dims[expert], expert not in unnormalised, err, fld)
    return out


def _check_numbers(vec: Any, err: _Err, fld: str) -> None:
    """A supplied vector is a numeric array or a list of real numbers (no bools, strings or None)."""
    if isinstance(vec, np.ndarray):
        if vec.dtype.kind not in "iuf":
            raise err(f"vector must be a list of numbers, got an array of {vec.dtype}", fld)
    elif isinstance(vec, list | tuple):
        bad = next((i for i, x in enumerate(vec) if not _is_number(x)), None)
        if bad is not None:
            raise err(
                f"vector must be a list of numbers; element {bad} is {type(vec[bad]).__name__} {vec[bad]!r}"[:200],
                fld,
            )
    else:
        raise err(f"vector must be a list of numbers, got {type(vec).__name__}", fld)


def _vector(vec: Any, dim: int, normalise: bool, err: _Err, fld: str) -> np.ndarray:
    """The vector as float32 of dimension ``dim``, finite and in float32 range; unit length if ``normalise``."""
    try:
        arr = np.asarray(vec, dtype=np.float64)
    except OverflowError:
        raise err("vector has a number too large for a float", fld) from None
    if arr.ndim != 1 or arr.shape[0] != dim:
        raise err(f"vector has dimension {arr.shape[0] if arr.ndim == 1 else arr.shape}, expected {dim}", fld)
    if not np.isfinite(arr).all():
        raise err("vector contains NaN or infinity", fld)
    if np.abs(arr).max(initial=0.0) > _F32_MAX:
        raise err("vector has a number beyond the float32 range", fld)
    if normalise:
        norm = float(np.linalg.norm(arr))
        if norm == 0.0:
            raise err("zero vector: it has no direction to search by", fld)
        arr = arr / norm
    return arr.astype(np.float32)
