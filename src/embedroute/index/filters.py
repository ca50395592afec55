"""The filter language over document attributes (JSON, the same in Python, the CLI and the server).

    {"year": 2020}                                   equality (for list[str]: contains)
    {"year": {"$gte": 2019, "$lt": 2022}}            numeric / date ranges ($gt $gte $lt $lte)
    {"lang": {"$in": ["en", "de"]}}                  in-set
    {"tags": {"$contains_any": ["a", "b"]}}          list[str] shares a value with the set
    {"$and": [f1, f2]}, {"$or": [...]}, {"$not": f}  boolean structure; several keys in one object = and

``parse`` validates against the collection's attribute schema (unknown fields and wrong types are
:class:`InputError` naming the field) and returns a small tree that the attribute index evaluates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..storage.documents import coerce

RANGE_OPS = ("$gt", "$gte", "$lt", "$lte")
ORDERED = ("int", "float", "date")


@dataclass(frozen=True)
class Leaf:
    """A condition on one attribute: equality, membership (``values``) or a range between ``low`` and ``high``."""

    field: str
    op: str  # "eq" | "in" | "contains_any" | "range"
    values: tuple[Any, ...] = ()
    low: Any = None
    high: Any = None
    low_inclusive: bool = True
    high_inclusive: bool = True


@dataclass(frozen=True)
class Node:
    """``and``, ``or`` or ``not`` over child conditions."""

    op: str  # "and" | "or" | "not"
    children: tuple[Any, ...]


def _value(field: str, typ: str, value: Any) -> Any:
    scalar = "str" if typ == "list[str]" else typ
    try:
        return coerce(value, scalar)
    except ValueError as exc:
        raise InputError(f"filter value: {exc}", field=f"filter.{field}") from None


def parse(spec: Any, schema: Mapping[str, str]) -> Any:
    """Validate a filter against ``schema`` and return its tree.

    >>> parse({"year": {"$gte": 2019}}, {"year": "int"})
    Leaf(field='year', op='range', values=(), low=2019, high=None, low_inclusive=True, high_inclusive=True)
    >>> parse({"colour": "red"}, {"year": "int"})
    Traceback (most recent call last):
    ...
    embedroute.errors.InputError: field "filter.colour": unknown attribute; attributes: year
    """
    if not isinstance(spec, Mapping) or not spec:
        raise InputError("a filter is a non-empty JSON object", field="filter")
    parts = []
    for key, value in spec.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise InputError(f"{key} takes a non-empty list of filters", field=f"filter.{key}")
            parts.append(Node(key[1:], tuple(parse(v, schema) for v in value)))
        elif key == "$not":
            parts.append(Node("not", (parse(value, schema),)))
        elif key.startswith("$"):
            raise InputError(f"unknown operator {key!r}", field=f"filter.{key}")
        else:
            parts.append(_leaf(key, value, schema))
    return parts[0] if len(parts) == 1 else Node("and", tuple(parts))


def _leaf(field: str, cond: Any, schema: Mapping[str, str]) -> Any:
    """One attribute's condition: a bare value (equality) or an object of operators, all of which must hold."""
    if field not in schema:
        raise InputError(
            f"unknown attribute; attributes: {', '.join(sorted(schema)) or 'none'}", field=f"filter.{field}"
        )
    typ = schema[field]
    if not isinstance(cond, Mapping):
        return Leaf(field, "eq", (_value(field, typ, cond),))
    leaves = [_op_leaf(field, typ, op, arg) for op, arg in cond.items() if op not in RANGE_OPS]
    ranges = {k: v for k, v in cond.items() if k in RANGE_OPS}
    if ranges:
        leaves.append(_range_leaf(field, typ, ranges))
    if not leaves:
        raise InputError("empty condition", field=f"filter.{field}")
    return leaves[0] if len(leaves) == 1 else Node("and", tuple(leaves))


def _op_leaf(field: str, typ: str, op: str, arg: Any) -> Leaf:
    """The leaf of one set operator (``$eq``, ``$in``, ``$contains_any``) on ``field``."""
    if op == "$eq":
        return Leaf(field, "eq", (_value(field, typ, arg),))
    if op in ("$in", "$contains_any"):
        if not isinstance(arg, list | tuple):
            raise InputError(f"{op} takes a list", field=f"filter.{field}")
        if op == "$contains_any" and typ != "list[str]":
            raise InputError(f"$contains_any needs a list[str] attribute, {field!r} is {typ}", field=f"filter.{field}")
        return Leaf(field, "in", tuple(_value(field, typ, a) for a in arg))
    raise InputError(f"unknown operator {op!r}", field=f"filter.{field}")


def _range_leaf(field: str, typ: str, ranges: Mapping[str, Any]) -> Leaf:
    """One range leaf from the ``$gt``/``$gte``/``$lt``/``$lte`` operators on an ordered ``field``."""
    if typ not in ORDERED:
        raise InputError(
            f"range operators need an int, float or date attribute, {field!r} is {typ}", field=f"filter.{field}"
        )
    low = high = None
    lo_inc = hi_inc = True
    for op, arg in ranges.items():
        v = _value(field, typ, arg)
        if op in ("$gt", "$gte"):
            low, lo_inc = v, op == "$gte"
        else:
            high, hi_inc = v, op == "$lte"
    return Leaf(field, "range", (), low, high, lo_inc, hi_inc)


def matches(tree: Any, attributes: Mapping[str, Any]) -> bool:
    """Reference evaluation of a parsed filter on one document's attributes (for tests and checks)."""
    if isinstance(tree, Node):
        results = [matches(c, attributes) for c in tree.children]
        return all(results) if tree.op == "and" else any(results) if tree.op == "or" else not results[0]
    value = attributes.get(tree.field)
    if value is None:
        return False
    if tree.op in ("eq", "in"):
        have = set(value) if isinstance(value, list) else {value}
        return bool(have & set(tree.values))
    if tree.low is not None and (value < tree.low or (value == tree.low and not tree.low_inclusive)):
        return False
    return not (tree.high is not None and (value > tree.high or (value == tree.high and not tree.high_inclusive)))
