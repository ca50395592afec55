"""Filter operators against a brute-force reference (property-based), planner extremes, collections."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embedroute import Collection, InputError
from embedroute.index.attributes import AttributeIndex
from embedroute.index.filters import matches, parse
from embedroute.index.planner import Thresholds, choose

SCHEMA = {"lang": "str", "tags": "list[str]", "year": "int", "score": "float", "day": "date"}
LANGS = ["en", "de", "fr"]
TAGS = ["a", "b", "c", "d"]


def doc_strategy():
    return st.fixed_dictionaries(
        {},
        optional={
            "lang": st.sampled_from(LANGS),
            "tags": st.lists(st.sampled_from(TAGS), max_size=3, unique=True),
            "year": st.integers(2000, 2005),
            "score": st.floats(-2, 2, allow_nan=False).map(lambda x: round(x, 2)),
            "day": st.dates(dt.date(2020, 1, 1), dt.date(2020, 1, 10)).map(dt.date.isoformat),
        },
    )


def leaf_strategy():
    return st.one_of(
        st.builds(lambda v: {"lang": v}, st.sampled_from(LANGS)),
        st.builds(lambda v: {"lang": {"$in": v}}, st.lists(st.sampled_from(LANGS), min_size=1, max_size=2)),
        st.builds(lambda v: {"tags": v}, st.sampled_from(TAGS)),
        st.builds(lambda v: {"tags": {"$contains_any": v}}, st.lists(st.sampled_from(TAGS), min_size=1, max_size=3)),
        st.builds(lambda v: {"year": v}, st.integers(2000, 2005)),
        st.builds(lambda lo, hi: {"year": {"$gte": lo, "$lt": hi}}, st.integers(1999, 2006), st.integers(1999, 2006)),
        st.builds(lambda lo: {"score": {"$gt": lo}}, st.floats(-2, 2, allow_nan=False).map(lambda x: round(x, 1))),
        st.builds(lambda hi: {"score": {"$lte": hi}}, st.floats(-2, 2, allow_nan=False).map(lambda x: round(x, 1))),
        st.builds(lambda d: {"day": {"$lte": d.isoformat()}}, st.dates(dt.date(2020, 1, 1), dt.date(2020, 1, 10))),
    )


filters = st.recursive(
    leaf_strategy(),
    lambda inner: st.one_of(
        st.builds(lambda xs: {"$and": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"$or": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"$not": x}, inner),
    ),
    max_leaves=6,
)


RANGE = {"$gt": lambda v, a: v > a, "$gte": lambda v, a: v >= a, "$lt": lambda v, a: v < a, "$lte": lambda v, a: v <= a}


def by_hand(spec: dict, doc: dict) -> bool:
    """The filter language read straight off its documentation, over the raw JSON filter and the raw
    attribute dict: keys of one object all hold; a missing attribute matches no condition (so ``$not``
    of one matches); equality on a list means "contains"; ISO dates compare as strings."""
    for key, cond in spec.items():
        if key == "$and":
            ok = all(by_hand(c, doc) for c in cond)
        elif key == "$or":
            ok = any(by_hand(c, doc) for c in cond)
        elif key == "$not":
            ok = not by_hand(cond, doc)
        elif key not in doc:
            ok = False
        else:
            value = doc[key]
            have = value if isinstance(value, list) else [value]
            if not isinstance(cond, dict):
                ok = cond in have
            else:
                ok = True
                for op, arg in cond.items():
                    if op in ("$in", "$contains_any"):
                        ok = ok and any(a in have for a in arg)
                    else:
                        ok = ok and RANGE[op](value, arg)
        if not ok:
            return False
    return True


@settings(max_examples=300, deadline=None)
@given(docs=st.lists(doc_strategy(), max_size=40), spec=filters)
def test_attribute_index_matches_brute_force(docs, spec):
    rids = np.arange(len(docs), dtype=np.int64) * 2 + 1
    index = AttributeIndex(rids, docs, SCHEMA)
    tree = parse(spec, SCHEMA)
    expected = [int(r) for r, d in zip(rids, docs) if by_hand(spec, d)]
    assert index.allowed(tree).tolist() == expected
    assert [int(r) for r, d in zip(rids, docs) if matches(tree, d)] == expected  # the shipped checker agrees
    est = index.estimate(tree)
    assert 0.0 <= est <= 1.0 + 1e-9
    if not isinstance(tree, type(parse({"$not": {"lang": "en"}}, SCHEMA))) and docs:  # a leaf: exact count
        if tree.op == "range" or tree.field in ("lang", "year") and len(tree.values) == 1:
            assert est == pytest.approx(len(expected) / len(docs))


@pytest.mark.parametrize(
    ("spec", "doc", "want"),
    [
        ({"tags": "a"}, {"tags": ["b", "a"]}, True),
        ({"tags": "a"}, {"tags": []}, False),
        ({"$not": {"lang": "en"}}, {}, True),  # no lang: not English
        ({"lang": {"$in": ["en", "de"]}}, {"lang": "fr"}, False),
        ({"year": {"$gte": 2003, "$lt": 2003}}, {"year": 2003}, False),
        ({"year": {"$gt": 2002, "$lte": 2003}}, {"year": 2003}, True),
        ({"lang": "en", "year": 2001}, {"lang": "en", "year": 2002}, False),  # two keys: both must hold
        ({"day": {"$lte": "2020-01-05"}}, {"day": "2020-01-05"}, True),
        ({"$or": [{"score": {"$gt": 1.5}}, {"tags": {"$contains_any": ["d"]}}]}, {"score": 1.5, "tags": ["d"]}, True),
    ],
)
def test_planted_documents_give_the_documented_answer(spec, doc, want):
    tree = parse(spec, SCHEMA)
    assert by_hand(spec, doc) is want
    assert AttributeIndex(np.array([7]), [doc], SCHEMA).allowed(tree).tolist() == ([7] if want else [])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"colour": "red"}, "unknown attribute"),
        ({"year": {"$gte": "soon"}}, "expected int"),
        ({"lang": {"$gt": "a"}}, "range operators need"),
        ({"year": {"$contains_any": [1]}}, r"needs a list\[str\]"),
        ({"year": {"$near": 3}}, "unknown operator"),
        ({"$xor": []}, "unknown operator"),
        ({}, "non-empty JSON object"),
        ({"day": {"$lt": "yesterday"}}, "not an ISO date"),
    ],
)
def test_bad_filters_name_the_field(spec, message):
    with pytest.raises(InputError, match=message):
        parse(spec, SCHEMA)


def test_planner_extremes():
    assert choose(1000, 0, 0.0, 10, index_kind="hnsw").kind == "empty"
    assert choose(1000, 1000, 1.0, 10, index_kind="hnsw").kind == "unfiltered"
    assert choose(1000, 1, 0.001, 10, index_kind="hnsw").kind == "exact-allowed"
    t = Thresholds(exact_max_allowed=10)
    low = choose(1_000_000, 1000, 0.001, 10, index_kind="hnsw", thresholds=t)
    mid = choose(1_000_000, 100_000, 0.1, 10, index_kind="hnsw", thresholds=t)
    assert low.kind == mid.kind == "index-filtered" and low.params["efSearch"] > mid.params["efSearch"]
    assert choose(1_000_000, 900_000, 0.9, 10, index_kind="hnsw", thresholds=t).kind == "post-filter"
    # filtered traversal never searches shallower than the index's own unfiltered efSearch
    floor = choose(1_000_000, 100_000, 0.1, 10, index_kind="hnsw", thresholds=t, ef_search=2048)
    assert floor.params["efSearch"] == 2048 and mid.params["efSearch"] == t.ef_base


@pytest.mark.parametrize("index", ["flat", "hnsw", "int8"])
def test_filtered_search_equals_brute_force_in_a_collection(tmp_path, sample_dir, index):
    spec = {"source": "minilm", "name": "dense", "options": {"index": index}}
    col = Collection.create(tmp_path / "c", experts=[spec, "bm25"], attributes={"bucket": "int"})
    from embedroute.evaluation import load_beir

    docs = load_beir(sample_dir).corpus()
    for i, d in enumerate(docs):
        d["attributes"] = {"bucket": i % 100}  # 1%, 10%, 50%, 100% selectivities below
    col.add(docs)
    col._experts["dense"].thresholds = Thresholds(exact_max_allowed=20)  # exercise every plan
    query = "vitamin D and bone fractures"
    full = col.search(query, k=500, expert="dense")
    for flt in (
        {"bucket": 7},
        {"bucket": {"$lt": 10}},
        {"bucket": {"$lt": 50}},
        {"bucket": {"$gte": 0}},
        {"bucket": 1000},
    ):
        res = col.search(query, k=5, expert="dense", filter=flt)
        allowed = [h.id for h in full.hits if by_hand(flt, h.attributes)]
        assert all(by_hand(flt, h.attributes) for h in res.hits)
        assert len(set(res.ids) & set(allowed[:5])) >= min(4, len(allowed[:5]))  # ANN may swap one
        if res.plan.kind == "exact-allowed" and index != "int8":  # exact: brute force order and scores (int8: the
            # reference ranking is of quantised scores)
            assert res.ids == allowed[:5], (index, flt)
            want = {h.id: h.score for h in full.hits}
            np.testing.assert_allclose([h.score for h in res.hits], [want[i] for i in res.ids], rtol=1e-5)
        assert res.plan.allowed == len(allowed)
        lex = col.search(query, k=5, expert="bm25", filter=flt)
        assert all(by_hand(flt, h.attributes) for h in lex.hits)
    col.close()
    again = Collection.open(tmp_path / "c")
    assert again.search(query, k=3, expert="bm25", filter={"bucket": 7}).plan.allowed == 5
