"""BEIR folders whose qrels judge queries that queries.jsonl lacks (as some published sets do)."""

from __future__ import annotations

import pytest

from embedroute.errors import InputError
from embedroute.evaluation import evaluate, load_beir

from .beir_folder import tiny_beir


@pytest.fixture
def partial(tmp_path, sample_dir):
    path = tmp_path / "partial"
    return path, tiny_beir(sample_dir, path, queries=6, missing=2)


def test_judged_queries_missing_from_queries_jsonl_are_left_out_with_a_warning(partial):
    path, made = partial
    with pytest.warns(
        UserWarning,
        match=r"2 of the 8 queries judged in qrels/test.tsv are missing from "
        r"queries.jsonl .*evaluating the 6 that exist",
    ):
        ds = load_beir(path)
    assert sorted(ds.queries) == sorted(made["kept"]) and sorted(ds.qrels) == sorted(made["kept"])
    assert ds.missing_queries == 2


def test_strict_refuses_such_a_set(partial):
    path, made = partial
    with pytest.raises(InputError, match="2 of the 8 queries judged") as info:
        load_beir(path, strict=True)
    assert info.value.source == str(path / "queries.jsonl")


def test_a_set_with_no_judged_query_present_is_refused(tmp_path, sample_dir):
    path = tmp_path / "none"
    tiny_beir(sample_dir, path, queries=0, missing=3)
    with pytest.raises(InputError, match="3 of the 3 queries judged.*nothing to evaluate"):
        load_beir(path)


def test_the_queries_that_exist_score_as_if_only_they_were_judged(partial, tmp_path, sample_dir):
    path, made = partial
    clean = tmp_path / "clean"  # the same folder without the dangling judgements
    tiny_beir(sample_dir, clean, queries=6, missing=0)
    with pytest.warns(UserWarning, match="2 of the 8"):
        res = evaluate(path, ["bm25"], show_progress=False)
    ref = evaluate(clean, ["bm25"], show_progress=False)
    assert res.stats["queries"] == 6 and res.stats["missing_queries"] == 2 and ref.stats["missing_queries"] == 0
    assert sorted(res.experts["bm25"].per_query) == sorted(made["kept"])
    assert res.experts["bm25"].metrics == ref.experts["bm25"].metrics
    with pytest.raises(InputError, match="missing from queries.jsonl"):
        evaluate(path, ["bm25"], show_progress=False, strict=True)


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        (b'["not", "an", "object"]', None, "expected a JSON object"),
        (b'{"text": "no id"}', "_id", "query id must be"),
        (b'{"_id": "QID", "text": 5}', "text", "non-empty string text"),
    ],
)
def test_a_bad_queries_line_is_a_named_error(partial, line, field, message):
    path, made = partial
    f = path / "queries.jsonl"
    f.write_bytes(f.read_bytes() + line.replace(b"QID", made["kept"][0].encode()) + b"\n")
    with pytest.raises(InputError) as info:
        load_beir(path, strict=True)
    assert (info.value.source, info.value.line, info.value.field) == (str(f), 7, field)
    assert message in str(info.value)


def test_a_folder_that_does_not_exist_is_named_as_such(tmp_path):
    with pytest.raises(InputError, match="no such BEIR folder") as info:
        load_beir(tmp_path / "nope")
    assert info.value.source == str(tmp_path / "nope")
