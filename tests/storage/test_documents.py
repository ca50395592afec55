from __future__ import annotations

import numpy as np
import pytest

from embedroute.errors import InputError
from embedroute.storage.documents import check_schema, validate


def run(items, schema=None, dims=None):
    return validate(enumerate(items, start=1), source="in.jsonl", schema=schema or {}, vector_dims=dims or {})


def test_types_are_inferred_and_dates_parsed():
    docs, types = run(
        [{"id": "a", "text": "x", "attributes": {"n": 1, "f": 0.5, "tags": ["p"], "s": "v", "d": "2024-01-31"}}],
        schema={"d": "date"},
    )
    assert types == {"n": "int", "f": "float", "tags": "list[str]", "s": "str"}
    assert docs[0].attributes["d"] == "2024-01-31"


@pytest.mark.parametrize(
    ("items", "schema", "dims", "line", "field", "message"),
    [
        ([{"text": "x"}], {}, {}, 1, "id", "missing document id"),
        ([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}], {}, {}, 2, "id", "duplicate id"),
        ([{"id": "a", "text": "  "}], {}, {}, 1, "text", "empty text"),
        ([{"id": "a"}], {}, {}, 1, "text", "missing text"),
        (
            [{"id": "a", "text": "x", "attributes": {"m": {"k": 1}}}],
            {},
            {},
            1,
            "attributes.m",
            "unknown attribute type",
        ),
        ([{"id": "a", "text": "x", "attributes": {"y": "soon"}}], {"y": "int"}, {}, 1, "attributes.y", "expected int"),
        (
            [{"id": "a", "text": "x", "attributes": {"d": "31/01/2024"}}],
            {"d": "date"},
            {},
            1,
            "attributes.d",
            "not an ISO date",
        ),
        (
            [{"id": "a", "text": "x", "vectors": {"v": [0.1, 0.2]}}],
            {},
            {"v": 3},
            1,
            "vectors.v",
            "dimension 2, expected 3",
        ),
        ([{"id": "a", "text": "x", "vectors": {"w": [0.1]}}], {}, {"v": 3}, 1, "vectors.w", "no dense expert"),
        ([{"id": "a", "text": "x", "url": "u"}], {}, {}, 1, "url", "unknown field"),
        (["just a string"], {}, {}, 1, None, "expected a JSON object"),
        # every malformed field is named, never an AttributeError or TypeError
        ([{"id": "a", "text": "x", "vectors": "bad"}], {}, {"v": 3}, 1, "vectors", "vectors must be an object"),
        (
            [{"id": "a", "text": "x", "vectors": [[0.1, 0.2, 0.3]]}],
            {},
            {"v": 3},
            1,
            "vectors",
            "vectors must be an object",
        ),
        ([{"id": "a", "text": "x", "vectors": {"v": "abc"}}], {}, {"v": 3}, 1, "vectors.v", "list of numbers"),
        ([{"id": "a", "text": "x", "vectors": {"v": 0.5}}], {}, {"v": 3}, 1, "vectors.v", "list of numbers"),
        (
            [{"id": "a", "text": "x", "vectors": {"v": [0.1, "0.2", 0.3]}}],
            {},
            {"v": 3},
            1,
            "vectors.v",
            "element 1 is str",
        ),
        ([{"id": "a", "text": "x", "vectors": {"v": [True, 0, 1]}}], {}, {"v": 3}, 1, "vectors.v", "element 0 is bool"),
        (
            [{"id": "a", "text": "x", "vectors": {"v": [[0.1], [0.2], [0.3]]}}],
            {},
            {"v": 3},
            1,
            "vectors.v",
            "element 0 is list",
        ),
        (
            [{"id": "a", "text": "x", "vectors": {"v": [0.1, float("nan"), 0.3]}}],
            {},
            {"v": 3},
            1,
            "vectors.v",
            "NaN or infinity",
        ),
        (
            [{"id": "a", "text": "x", "vectors": {"v": [0.1, float("-inf"), 0.3]}}],
            {},
            {"v": 3},
            1,
            "vectors.v",
            "NaN or infinity",
        ),
        ([{"id": "a", "text": "x", "vectors": {"v": [1e39, 0.0, 0.0]}}], {}, {"v": 3}, 1, "vectors.v", "float32 range"),
        ([{"id": "a", "text": "x", "vectors": {"v": [10**400, 0, 0]}}], {}, {"v": 3}, 1, "vectors.v", "too large"),
        ([{"id": "a", "text": "x", "vectors": {"v": [0, 0.0, -0.0]}}], {}, {"v": 3}, 1, "vectors.v", "zero vector"),
        ([{"id": "a", "text": "x", "attributes": "bad"}], {}, {}, 1, "attributes", "attributes must be an object"),
        ([{"id": "a", "text": "x", "attributes": []}], {}, {}, 1, "attributes", "attributes must be an object"),
        ([{"id": "a", "text": "x", "attributes": {"n": 2**70}}], {}, {}, 1, "attributes.n", "64 bits"),
        ([{"id": "a", "text": "x", "attributes": {"": 1}}], {}, {}, 1, "attributes", "non-empty strings"),
        ([{"id": "a", "text": "x", "attributes": {"s": "caf\ud83d"}}], {}, {}, 1, "attributes.s", "lone surrogate"),
        ([{"id": "a", "text": "x", "title": 7}], {}, {}, 1, "title", "title must be a string"),
        ([{"id": "a", "text": "x", "title": ["T"]}], {}, {}, 1, "title", "title must be a string"),
        ([{"id": "a", "text": "x", "title": "\udc80"}], {}, {}, 1, "title", "lone surrogate"),
        ([{"id": "a", "text": 12}], {}, {}, 1, "text", "text must be a string"),
        ([{"id": "a", "text": "broken \ud83d emoji"}], {}, {}, 1, "text", "lone surrogate '\\ud83d' at character 7"),
        ([{"id": True, "text": "x"}], {}, {}, 1, "id", "non-empty string"),
        ([{"_id": ["a"], "text": "x"}], {}, {}, 1, "_id", "non-empty string"),
        ([{"id": "a", "text": "x"}, {"id": "b", "text": "y", 3: "z"}], {}, {}, 2, "3", "unknown field"),
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


def test_supplied_vectors_are_unit_length_like_encoder_output():
    docs, _ = run(
        [
            {"id": "a", "text": "x", "vectors": {"v": [3, 4, 0]}},
            {"id": "b", "text": "y", "vectors": {"v": np.array([0.0, 1e-30, 0.0])}},
        ],
        dims={"v": 3},
    )
    np.testing.assert_allclose(docs[0].vectors["v"], [0.6, 0.8, 0.0], rtol=1e-6)
    np.testing.assert_allclose(docs[1].vectors["v"], [0.0, 1.0, 0.0], rtol=1e-6)  # tiny, not zero: a direction
    assert docs[0].vectors["v"].dtype == np.float32


def test_experts_that_do_not_normalise_keep_vectors_as_given():
    docs, _ = validate(
        [(1, {"id": "a", "text": "x", "vectors": {"v": [3, 4, 0], "w": [0, 0]}})],
        source="<input>",
        schema={},
        vector_dims={"v": 3, "w": 2},
        unnormalised={"v", "w"},
    )
    np.testing.assert_array_equal(docs[0].vectors["v"], [3.0, 4.0, 0.0])
    np.testing.assert_array_equal(docs[0].vectors["w"], [0.0, 0.0])


def test_each_document_keeps_the_line_it_came_from():
    docs, _ = validate(
        [(2, {"id": "a", "text": "x"}), (5, {"id": "b", "text": "y"})], source="f.jsonl", schema={}, vector_dims={}
    )
    assert [d.line for d in docs] == [2, 5]
