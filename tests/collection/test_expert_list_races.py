"""Expert-list changes by two handles on one collection: each check is made against the list the write
transaction sees, not the handle's possibly stale copy."""

from __future__ import annotations

import pytest

from embedroute import Collection
from embedroute.errors import CollectionError, InputError


def test_two_handles_removing_different_experts_cannot_leave_none(tmp_path):
    path = tmp_path / "c"
    first = Collection.create(path, experts=["bm25", {"source": "bm25", "name": "b2"}])
    first.add([{"id": "a", "text": "cats purr"}, {"id": "b", "text": "dogs bark"}])
    second = Collection.open(path)  # sees both experts
    first.remove_expert("bm25")
    with pytest.raises(InputError, match="only expert"):
        second.remove_expert("b2")
    assert second._store.expert_names() == ["b2"]
    assert second.experts == ["b2"]
    assert second.search("dogs", k=1).hits[0].id == "b"
    first.close()
    second.close()


def test_max_experts_is_checked_inside_the_transaction(tmp_path):
    path = tmp_path / "c"
    first = Collection.create(path, experts=["bm25"])
    first.add([{"id": "a", "text": "cats purr"}])
    second = Collection.open(path)  # both handles see one expert: each would pass a check made before
    first.add_expert({"source": "bm25", "name": "b2"}, max_experts=2)
    with pytest.raises(CollectionError, match="most it may have is 2"):
        second.add_expert({"source": "bm25", "name": "b3"}, max_experts=2)
    assert Collection.open(path).experts == ["bm25", "b2"]
    first.close()
    second.close()


def test_an_expert_replaced_under_the_same_name_by_another_handle_is_taken_up(tmp_path):
    path = tmp_path / "c"
    first = Collection.create(path, experts=["bm25", {"source": "bm25", "name": "x"}])
    first.add([{"id": "a", "text": "cats purr"}, {"id": "b", "text": "dogs bark"}])
    other = Collection.open(path)
    other.remove_expert("x")
    other.add_expert({"source": "static64", "name": "x"})  # same name, another kind of expert
    other.close()
    first.add([{"id": "late", "text": "parrots talk"}])  # must store x's vector, as the store's x needs
    assert first.expert("x").kind == "dense"
    assert first.search("dogs barking", k=1, expert="x").hits[0].id == "b"
    first.close()
    report = Collection.open(path).check()
    assert report.ok, report.problems


def test_adding_an_expert_elsewhere_keeps_the_served_handles_other_indexes(tmp_path):
    path = tmp_path / "c"
    served = Collection.create(
        path, experts=[{"source": "static64", "name": "s", "options": {"index": "hnsw"}}, "bm25"]
    )
    served.add([{"id": f"d{i}", "text": f"document {i} about topic {i % 7}"} for i in range(30)])
    served.search("topic 3", k=3, expert="s")
    built = served.expert("s")._index
    with Collection.open(path) as job_handle:  # as the server's expert-add job does
        job_handle.add_expert({"source": "bm25", "name": "b2"})
    served.reload_experts()
    served.search("topic 3", k=3, expert="s")
    assert served.expert("s")._index is built  # the documents did not change: no rebuild
    served.close()


def test_thresholds_measured_on_another_index_are_not_given_to_an_expert_added_again(tmp_path):
    from embedroute.experts.registry import make_expert

    path = tmp_path / "c"
    col = Collection.create(path, experts=["bm25", {"source": "static64", "name": "x"}])
    col.add([{"id": f"d{i}", "text": f"document {i} about topic {i % 7}"} for i in range(30)])
    col.calibrate("x", queries=5)
    defaults = make_expert("static64").thresholds
    col.close()
    col = Collection.open(path)
    measured = col.expert("x").thresholds
    col.remove_expert("x")
    col.add_expert({"source": "static64", "name": "x", "options": {"index": "hnsw"}})
    col.close()
    assert measured != defaults  # else this test could not tell the two apart
    assert Collection.open(path).expert("x").thresholds == defaults  # measured on the flat index, not this one
