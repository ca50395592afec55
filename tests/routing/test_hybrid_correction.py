"""The ``hybrid`` rule (BM25 and the dense feature expert fused) and the pseudo-to-real label correction
(issue #16: routing without labelled queries)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from embedroute import Collection
from embedroute.errors import InputError
from embedroute.evaluation.pseudo_routing import pseudo_queries_for, pseudo_routing_queries
from embedroute.evaluation.router_fit import fit_routers
from embedroute.routing import RoutingData, make_router
from embedroute.routing.correction import ROLES, PseudoCorrection, learn, role_of, shipped
from embedroute.routing.cv import cross_validate
from embedroute.routing.queries import RoutingQueries

EXPERTS = ["bm25", "static64"]


def data(pair: np.ndarray | None, scores: np.ndarray, sets: list[str]) -> RoutingData:
    n = len(sets)
    emb = np.eye(2, dtype=np.float32)[np.arange(n) % 2]
    feats = np.zeros((n, 19), dtype=np.float32)
    return RoutingData(
        ["bm25", "dense", "other"],
        emb,
        sets,
        scores,
        [f"q{i}" for i in range(n)],
        features=feats,
        feature_experts=("bm25", "dense"),
        pair_scores=pair,
    )


def test_hybrid_routes_every_query_to_the_feature_pair_and_cross_validates_on_its_own_labels():
    scores = np.array([[0.2, 0.4, 0.1]] * 6 + [[0.9, 0.1, 0.0]] * 4, dtype=np.float32)
    pair = np.array([0.5] * 6 + [0.7] * 4, dtype=np.float32)
    d = data(pair, scores, ["a"] * 6 + ["b"] * 4)
    r = make_router("hybrid").fit(d)
    routes = r.route(np.zeros((3, 0)))
    assert [x.experts for x in routes] == [["bm25", "dense"]] * 3 and r.fused
    assert routes[0].why["fused"] is True and "no extra model pass" in routes[0].why["reason"]
    assert cross_validate("hybrid", d) == pytest.approx((0.5 + 0.7) / 2)  # dataset macro average, by hand
    assert cross_validate("hybrid", data(None, scores, d.datasets)) is None  # no pair labels: no figure
    with pytest.raises(InputError, match="hybrid"):
        make_router("hybrid").fit(RoutingData(["x", "y"], np.eye(2), ["a", "a"], np.eye(2, dtype=np.float32)))


def test_auto_picks_hybrid_when_its_labels_beat_every_rule_and_routes_fused():
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.0, 0.5, size=(40, 3)).astype(np.float32)
    d = data(np.full(40, 0.9, dtype=np.float32), scores, ["a"] * 20 + ["b"] * 20)
    auto = make_router("auto").fit(d)
    assert auto.choice == "hybrid" and auto.fused and auto.train_cv["hybrid"] == pytest.approx(0.9, abs=1e-6)
    (route,) = auto.route(d.embeddings[:1], d.features[:1])
    assert route.experts == ["bm25", "dense"] and route.why["chosen_rule"] == "hybrid"
    low = data(np.zeros(40, dtype=np.float32), scores, d.datasets)  # the pair never finds anything
    assert make_router("auto").fit(low).choice != "hybrid"


def queries(gens: list[str], scores: list[list[float]], pair: list[float]) -> RoutingQueries:
    q = RoutingQueries(["bm25", "dense", "other"])
    q.extend(
        [f"t{i}" for i in range(len(gens))],
        ["d"] * len(gens),
        np.array(scores, dtype=np.float32),
        [f"{g}:{i}" for i, g in enumerate(gens)],
        None,
        np.array(pair, dtype=np.float32),
    )
    return q


def test_correction_offsets_are_labelled_minus_pseudo_relative_means_per_generator_and_role():
    labelled = queries(["x", "x"], [[0.2, 0.6, 0.4], [0.4, 0.4, 0.4]], [0.6, 0.8])
    pseudo = queries(["crop", "crop", "title"], [[1.0, 0.2, 0.6], [0.8, 0.4, 0.4], [0.5, 0.5, 0.5]], [0.6, 0.6, 0.5])
    table = learn([(labelled, pseudo)], ("bm25", "dense"))
    # by hand: relative = value minus the row's mean over bm25, dense, other and the pair
    # labelled rows' means 0.45 and 0.5 -> bm25 (-0.25, -0.1), dense (0.15, -0.1), other (-0.05, -0.1), pair (0.15, 0.3)
    # crop rows' means 0.6 and 0.55 -> bm25 (0.4, 0.25), dense (-0.4, -0.15), other (0, -0.15), pair (0, 0.05)
    want = {"lexical": -0.175 - 0.325, "dense": 0.025 + 0.275, "other": -0.075 + 0.075, "pair": 0.225 - 0.025}
    assert table.offsets["crop"] == pytest.approx(want)
    assert table.offsets["title"]["pair"] == pytest.approx(0.225)  # title rows are all equal: relative 0
    fixed = table.apply(pseudo, ("bm25", "dense"))
    got = np.vstack(fixed.scores)
    assert got[0] == pytest.approx([1.0 - 0.5, 0.2 + 0.3, 0.6 + 0.0])
    assert fixed.stacked_pair()[0] == pytest.approx(0.6 + 0.2)
    assert np.vstack(pseudo.scores)[0] == pytest.approx([1.0, 0.2, 0.6])  # the input is not changed
    assert table.apply(pseudo, None) is pseudo  # no feature experts: no roles, nothing corrected
    unknown = queries(["other-gen"], [[0.1, 0.2, 0.3]], [0.4])
    assert np.vstack(table.apply(unknown, ("bm25", "dense")).scores)[0] == pytest.approx([0.1, 0.2, 0.3])


def test_the_shipped_table_reads_back_and_malformed_tables_are_input_errors():
    table = shipped()
    assert set(table.offsets) == {"title", "crop", "keywords", "masked"}
    assert all(set(v) <= set(ROLES) for v in table.offsets.values())
    assert set(table.source["datasets"]) == {"scifact", "nfcorpus", "climate-fever-sentences"}
    assert PseudoCorrection.from_dict(table.to_dict()) == table
    for bad in ({}, {"offsets": {"crop": {"lexical": "x"}}}, {"offsets": {"crop": {"bm42": 0.1}}}):
        with pytest.raises(InputError, match="correction"):
            PseudoCorrection.from_dict(bad)
    assert role_of("static64", ("bm25", "static64")) == "dense"


@pytest.fixture(scope="module")
def col(tmp_path_factory):
    from embedroute.demo import sample_path
    from embedroute.evaluation.beir import load_beir

    c = Collection.create(tmp_path_factory.mktemp("hybrid") / "c", experts=EXPERTS)
    c.add(load_beir(sample_path()).corpus(), show_progress=False)
    yield c
    c.close()


def test_pseudo_queries_carry_the_fused_pairs_ndcg_computed_by_hand(col):
    made = pseudo_queries_for(col, max_queries=60, seed=1)
    got = pseudo_routing_queries(col, made, show_progress=False).stacked_pair()
    assert got is not None and len(got) == 60
    for i in range(0, 60, 6):  # by hand: RRF (k=60) over each expert's top 100, the source's 1/log2(rank+1)
        fused: dict[str, float] = {}
        for e in EXPERTS:
            for rank, h in enumerate(col.search(made[i].text, 100, expert=e).hits, start=1):
                fused[h.id] = fused.get(h.id, 0.0) + 1.0 / (60 + rank)
        order = sorted(fused, key=lambda d: (-fused[d], d))[:10]
        want = 1 / math.log2(order.index(made[i].doc_id) + 2) if made[i].doc_id in order else 0.0
        assert got[i] == pytest.approx(want, abs=1e-6), made[i]


def test_label_free_fit_saves_the_correction_and_can_keep_raw_labels(col):
    (fit,) = fit_routers(col, ["hybrid"], None, max_queries=60, show_progress=False)
    assert fit.source["correction"]["offsets"] == shipped().offsets and fit.cv_ndcg is not None
    (raw,) = fit_routers(col, ["hybrid"], None, max_queries=60, correct_pseudo=False, show_progress=False)
    assert raw.source["correction"] is None
    # hybrid's CV is its mean label; the correction adds each generator's pair offset to that generator's rows
    made = fit.source["pseudo"]["per_generator"]
    shift = sum(n * shipped().offsets[g]["pair"] for g, n in made.items()) / sum(made.values())
    assert fit.cv_ndcg == pytest.approx(raw.cv_ndcg + shift, abs=1e-5)
    col.reload_routers()
    res = col.routed_search("vitamin D and bone fractures", router="hybrid")
    assert res.routing.experts == ["bm25", "static64"]
