from __future__ import annotations

import pytest

from embedroute.errors import InputError
from embedroute.storage.documents import check_schema, validate


def run(items, schema=None, dims=None):
    return validate(enumerate(items, start=1), source="in.jsonl", schema=schema or {}, vector_dims=dims or {})


def test_types_are_inferred_and_dates_parsed():
    docs, types = run([{"id": "a", "text": "x", "attributes": {"n": 1, "f": 0.5, "tags": ["p"], "s": "v",
                                                                 "d": "2024-01-31"}}], schema={"d": "date"})
    assert types == {"n": "int", "f": "float", "tags": "list[str]", "s": "str"}
    assert docs[0].attributes["d"] == "2024-01-31"


@pytest.mark.parametrize(
    ("items", "schema", "dims", "line", "field", "message"),
    [
        ([{"text": "x"}], {}, {}, 1, "id", "missing document id"),
        ([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}], {}, {}, 2, "id", "duplicate id"),
        ([{"id": "a", "text": "  "}], {}, {}, 1, "text", "empty text"),
        ([{"id": "a"}], {}, {}, 1, "text", "missing text"),
        ([{"id": "a", "text": "x", "attributes": {"m": {"k": 1}}}], {}, {}, 1, "attributes.m",
         "unknown attribute type"),
        ([{"id": "a", "text": "x", "attributes": {"y": "soon"}}], {"y": "int"}, {}, 1, "attributes.y", "expected int"),
        ([{"id": "a", "text": "x", "attributes": {"d": "31/01/2024"}}], {"d": "date"}, {}, 1, "attributes.d",
         "not an ISO date"),
        ([{"id": "a", "text": "x", "vectors": {"v": [0.1, 0.2]}}], {}, {"v": 3}, 1, "vectors.v",
         "dimension 2, expected 3"),
        ([{"id": "a", "text": "x", "vectors": {"w": [0.1]}}], {}, {"v": 3}, 1, "vectors.w", "no dense expert"),
        ([{"id": "a", "text": "x", "url": "u"}], {}, {}, 1, "url", "unknown field"),
        (["just a string"], {}, {}, 1, None, "expected a JSON object"),
    ],
)
def test_each_bad_input_names_line_and_field(items, schema, dims, line, field, message):
    with pytest.raises(InputError) as info:
        run(items, schema, dims)
    err = info.value
    assert err.source == "in.jsonl" and err.line == line and err.field == field
    assert message in str(err)


def test_unknown_declared_type():
    with pytest.raises(InputError, match="unknown attribute type 'blob'"):
        check_schema({"x": "blob"})
