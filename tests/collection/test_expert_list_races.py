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
