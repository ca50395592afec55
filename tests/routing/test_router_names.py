"""A router's name becomes its file name: every spec the project uses is accepted, and no name can lead
the store (or a collection) to a file outside its routers folder."""

from __future__ import annotations

import numpy as np
import pytest

from embedroute.collection import Collection
from embedroute.errors import InputError
from embedroute.routing import RoutingData, make_router
from embedroute.routing.store import load_routing, save_routing

SPECS = [
    "pilot",
    "pilot-nearest",
    "dataset",
    "classifier",
    "fusion",
    "fusion-topk",
    "auto",
    "single:bm25",
    "single:tokens:minilm",
    "pilot@min_share=0.15;per_group=3",
    "pilot@weight=size;tau=0.05",
    "pilot@weight=size;tau_rel=0.3",
    "pilot@tau=-0.1",
    "pilot@tau=1e-3",
    "auto@folds=3",
    "fusion-topk@per_group=3",
    "dataset@n_per_dataset=2;seed=1",
]
BAD = ["../x", "..\\x", "a/b", "/etc/passwd", "%2e%2e/x", "a\x00b", "a" * 201, ".hidden", "", "pilot@tau=1 ", ".."]


def tiny_data() -> RoutingData:
    rng = np.random.default_rng(0)
    return RoutingData(
        ["a", "b"],
        rng.standard_normal((6, 4)).astype(np.float32),
        ["d1", "d2"] * 3,
        rng.random((6, 2)),
        [f"q{i}" for i in range(6)],
    )


def test_every_router_spec_in_use_is_a_name_the_store_takes(tmp_path):
    data = tiny_data()
    for spec in SPECS:
        make_router(spec)  # a real spec, not only a string the pattern admits
        save_routing(tmp_path, spec, data, {"router": spec})
        back, meta = load_routing(tmp_path, spec)
        assert meta["router"] == spec and back.experts == ["a", "b"]
    assert sorted(p.stem for p in tmp_path.glob("*.json")) == sorted(SPECS)


def test_names_that_would_leave_the_routers_folder_are_refused(tmp_path):
    folder, outside = tmp_path / "routers", tmp_path / "outside"
    save_routing(outside, "evil", tiny_data(), {"router": "pilot"})  # a real router file outside
    assert load_routing(outside, "evil")[1]["router"] == "pilot"
    before = sorted(tmp_path.rglob("*"))
    for name in BAD + ["../outside/evil"]:
        with pytest.raises(InputError, match='field "router"'):
            save_routing(folder, name, tiny_data(), {"router": "pilot"})
        with pytest.raises(InputError, match='field "router"'):
            load_routing(folder, name)
    assert sorted(tmp_path.rglob("*")) == before  # nothing written anywhere
    folder.mkdir()
    for suffix in (".json", ".npz"):  # a link planted in the folder does not lead out of it either
        (folder / f"link{suffix}").symlink_to(outside / f"evil{suffix}")
    with pytest.raises(InputError, match="inside its folder"):
        load_routing(folder, "link")


def test_a_collection_refuses_router_names_that_leave_its_folder(tmp_path):
    col = Collection.create(tmp_path / "c", experts=["bm25"])
    col.add([{"id": "a", "text": "cats purr"}, {"id": "b", "text": "dogs bark"}])
    save_routing(tmp_path / "outside", "evil", tiny_data(), {"router": "pilot", "routing_expert": "bm25"})
    (tmp_path / "c" / "routers").mkdir()
    for name in ["../../outside/evil", str(tmp_path / "outside" / "evil"), "..\\x", "a\x00b"]:
        with pytest.raises(InputError, match='field "router"'):
            col.routed_search("cats", router=name)
        with pytest.raises(InputError, match='field "router"'):
            col.fit_router("pilot", tiny_data(), routing_expert="tfidf", name=name)
    assert col.routers == [] and sorted(p.name for p in (tmp_path / "outside").iterdir()) == ["evil.json", "evil.npz"]
    col.close()


@pytest.mark.parametrize("spec", ["single", "single:nope"])
def test_single_router_without_an_expert_the_data_scores_is_bad_input_naming_the_router(spec):
    with pytest.raises(InputError) as exc:
        make_router(spec).fit(tiny_data())
    assert exc.value.field == "router" and "single:NAME" in str(exc.value) and "a, b" in str(exc.value)
