from __future__ import annotations

import json

import numpy as np
import pytest

from embedroute import Collection
from embedroute.errors import InputError
from embedroute.evaluation.router_fit import build_routing_data
from embedroute.evaluation.routing import evaluate_routing
from embedroute.routing import ROUTERS, Router, RoutingData, make_router
from embedroute.routing.pilot import build_pilots

from .helpers import ndcg10, rrf_by_hand, training_data_by_hand

EXPERTS = ["minilm", "bm25", "static64"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> RoutingData:
    from embedroute.demo import sample_path

    return build_routing_data(
        [sample_path()], EXPERTS, routing_expert="minilm", workdir=tmp_path_factory.mktemp("r"), show_progress=False
    )


def test_routing_data_holds_per_query_scores(data):
    assert data.experts == EXPERTS and data.scores.shape == (25, 3)
    assert data.embeddings.shape == (25, 384)
    assert ((data.scores >= 0) & (data.scores <= 1)).all() and data.scores.max() > 0


def test_pilots_are_group_centroids_at_most_t_squared(data):
    pilots, owners, sets, sizes = build_pilots(data)
    assert len(pilots) <= len(set(data.datasets)) * len(data.experts)
    winners = data.winners()
    for vec, owner, size in zip(pilots, owners, sizes):
        group = data.embeddings[winners == data.experts.index(owner)]
        assert len(group) == size
        centroid = group.mean(0)
        np.testing.assert_allclose(vec, centroid / np.linalg.norm(centroid), atol=1e-5)


# hybrid needs routing data made on a collection (its feature experts): tests/routing/test_hybrid_correction.py
@pytest.mark.parametrize("name", [*[n for n in ROUTERS.names() if n not in ("single", "hybrid")], "single:bm25"])
def test_every_router_routes_to_known_experts(data, name, minilm):
    router = make_router(name).fit(data)
    queries = [
        "vitamin D and bone fractures",
        "zzqx 9931 qwfp lorem",  # the second is near nothing seen
        "mitochondrial DNA mutations in ageing",
    ]
    # a router on query features gets three training queries' features (a collection computes live ones)
    feats = data.features[:3] if router.uses_features else None
    routes = router.route(minilm.encode_queries(queries), feats)
    assert len(routes) == 3
    for r in routes:
        assert r.experts and set(r.experts) <= set(EXPERTS)
        assert set(r.scores) == set(EXPERTS)
        assert all(np.isfinite(v) or v == -np.inf for v in r.scores.values())
        if name == "fusion":
            assert sorted(r.experts) == sorted(EXPERTS)
        elif name == "fusion-topk":
            assert len(r.experts) == 2
        elif name == "fusion-adaptive":
            assert len(r.experts) in (1, 2) and r.why["fused"] == (len(r.experts) == 2)
        else:
            assert len(r.experts) == 1
    if name == "single:bm25":
        assert all(r.experts == ["bm25"] for r in routes)
    again = make_router(name).fit(data).route(minilm.encode_queries(queries), feats)
    assert [r.experts for r in again] == [r.experts for r in routes]


def test_pilot_follows_the_winning_experts(data, minilm):
    router = make_router("pilot").fit(data)
    # a training query routes to the expert owning the pilot built from its own group, when that
    # group's pilot is its most similar one
    winners = data.winners()
    routed = [r.experts[0] for r in router.route(data.embeddings)]
    agree = np.mean([routed[i] == data.experts[w] for i, w in enumerate(winners) if w >= 0])
    assert agree > 0.5


def planted_clusters(winner_of: list[int], sizes: list[int], n_experts: int = 3, seed: int = 0):
    """Queries in tight clusters around the first axes of R^6; cluster ``c`` is won by expert
    ``winner_of[c]`` (nDCG 0.9 against 0.3 for the others), plus queries every expert scores 0 on."""
    rng = np.random.default_rng(seed)
    emb, scores = [], []
    for c, (w, size) in enumerate(zip(winner_of, sizes)):
        emb.append(np.eye(6)[c] + 0.05 * rng.normal(size=(size, 6)))
        row = np.full(n_experts, 0.3)
        row[w] = 0.9
        scores.append(np.tile(row, (size, 1)))
    emb.append(np.eye(6)[1] + 0.05 * rng.normal(size=(5, 6)))  # won by nobody: no label, no say
    scores.append(np.zeros((5, n_experts)))
    x = np.vstack(emb).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True), np.vstack(scores).astype(np.float32)


def test_classifier_routes_planted_clusters_to_the_expert_that_wins_them():
    # a wins clusters 0 and 2 (30 and 20 queries), c wins cluster 1 (6 queries), b wins nothing
    emb, scores = planted_clusters([0, 2, 0], [30, 6, 20])
    data = RoutingData(["a", "b", "c"], emb, ["x"] * len(emb), scores)
    router = make_router("classifier").fit(data)
    fresh, _ = planted_clusters([0, 2, 0], [4, 4, 4], seed=1)
    routes = router.route(fresh[:12])
    assert [r.experts[0] for r in routes] == ["a"] * 4 + ["c"] * 4 + ["a"] * 4
    for r in routes:  # the head's probabilities, under the experts they belong to; b was never a label
        assert r.scores["b"] == -np.inf and r.scores["a"] + r.scores["c"] == pytest.approx(1.0, abs=1e-5)
    assert [r.experts[0] for r in router.route(emb[:56])] == ["a"] * 30 + ["c"] * 6 + ["a"] * 20


def test_classifier_with_one_winning_expert_always_routes_to_it():
    emb, scores = planted_clusters([1, 1], [10, 10])
    router = make_router("classifier").fit(RoutingData(["a", "b", "c"], emb, ["x"] * len(emb), scores))
    routes = router.route(np.eye(6, dtype=np.float32))
    assert all(r.experts == ["b"] and r.scores["a"] == r.scores["c"] == -np.inf for r in routes)


def test_removing_an_expert_recomputes_pilots_without_it(data):
    fewer = data.without("static64")
    router = make_router("pilot").fit(fewer)
    assert "static64" not in router.owners and router.experts == ["minilm", "bm25"]
    assert all(r.experts[0] != "static64" for r in router.route(data.embeddings))


def test_a_routing_only_model_routes_without_document_vectors(tmp_path, sample_dir):
    import json

    from embedroute.errors import CollectionError

    data = build_routing_data(
        [sample_dir], EXPERTS, routing_expert="static64", workdir=tmp_path / "w", show_progress=False
    )
    assert data.embeddings.shape[1] == 64  # static64's query embeddings
    col = Collection.create(tmp_path / "c", experts=["minilm", "bm25"])
    col.add_file(sample_dir)
    col.fit_router("pilot", data, routing_expert="static64")  # not an expert of the collection
    assert col.experts == ["minilm", "bm25"] and col.check().ok  # no document vectors were made for it
    want = make_router("pilot").fit(data.without("static64"))
    q = "vitamin D and bone fractures"
    from embedroute.experts.registry import make_expert

    expected = want.route(make_expert("static64").encoder.encode_queries([q]))[0]
    res = col.routed_search(q, k=5, router="pilot")
    assert res.routing.routing_expert == "static64" and res.routing.experts == expected.experts
    assert res.routing.scores == pytest.approx(expected.scores)
    col.close()
    again = Collection.open(tmp_path / "c")  # reopened: the routing model is rebuilt from its saved spec
    assert again.routed_search(q, k=5, router="pilot").routing.experts == expected.experts
    with pytest.raises(InputError, match="dense"):
        again.fit_router("pilot", data, routing_expert="bm25")
    with pytest.raises(InputError, match="64-d embeddings"):
        again.fit_router("pilot", data, routing_expert="minilm")
    meta_path = tmp_path / "c" / "routers" / "pilot.json"
    meta = json.loads(meta_path.read_text())
    meta["routing_config"]["encoder"]["weight_hash"] = "0" * 64  # as if static64 had been reinstalled
    meta_path.write_text(json.dumps(meta))
    again.close()
    changed = Collection.open(tmp_path / "c")
    with pytest.raises(CollectionError, match="fit it again"):
        changed.routed_search(q, router="pilot")


def test_collection_routed_search_and_expert_changes(tmp_path, data, sample_dir):
    col = Collection.create(tmp_path / "c", experts=[*EXPERTS, "minilm-l3"])
    col.add_file(sample_dir)
    col.fit_router("pilot", data)
    col.fit_router("fusion-topk", data)
    res = col.routed_search("vitamin D and bone fractures", k=5, router="pilot")
    assert res.routing.router == "pilot" and res.routing.experts[0] == res.expert
    assert set(res.routing.scores) == set(EXPERTS) and len(res.hits) == 5
    fused = col.routed_search("vitamin D and bone fractures", k=5, router="fusion-topk")
    assert "+" in fused.expert and len(fused.hits) == 5
    queries = ["vitamin D and bone fractures", "stem cells", "antibiotic resistance"]
    four = col.experts

    def snapshot_results():
        plain = {e: [col.search(q, k=10, expert=e).ids for q in queries] for e in four}
        routed = [(r.expert, r.ids) for r in (col.routed_search(q, k=10, router="pilot") for q in queries)]
        return plain, routed

    before = snapshot_results()
    col.add_expert("splade-tiny")  # a fifth expert: nothing is retrained, nothing else changes
    assert col.experts == [*four, "splade-tiny"] and col.check().ok
    assert col.search("stem cells", k=3, expert="splade-tiny").hits
    assert snapshot_results() == before
    col.remove_expert("splade-tiny")
    assert snapshot_results() == before and col.check().ok
    col.remove_expert("static64")  # an expert the router knows: pilots recomputed without it
    res = col.routed_search("vitamin D and bone fractures", k=5, router="pilot")
    assert set(res.routing.scores) == {"minilm", "bm25"}
    col.close()
    again = Collection.open(tmp_path / "c")
    assert again.routed_search("stem cells", router="pilot").routing.experts[0] in ("minilm", "bm25")


class PinnedRouter(Router):
    """A plug-in routed like any learned router (so the routing pass is charged) that sends every query
    to the expert ``to``."""

    name = "pinned"
    accepts = frozenset({"to"})

    def fit(self, data):
        self.experts = list(data.experts)
        return self

    def scores(self, embeddings, features=None):
        out = np.zeros((len(embeddings), len(self.experts)))
        out[:, self.experts.index(self.params["to"])] = 1.0
        return out


class PlantedOracle(Router):
    """A plug-in told, for each test query's routing embedding, the expert that wins it (``table``, set by
    the test from per-query nDCG@10 computed by hand): it routes like the instance oracle."""

    name = "planted-oracle"
    table: tuple[np.ndarray, list[str]] = (np.zeros((0, 1)), [])

    def fit(self, data):
        self.experts = list(data.experts)
        return self

    def scores(self, embeddings, features=None):
        refs, best = self.table
        out = np.zeros((len(embeddings), len(self.experts)))
        for i, j in enumerate((np.asarray(embeddings) @ refs.T).argmax(1)):
            out[i, self.experts.index(best[j])] = 1.0
        return out


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, minilm):
    """One routing evaluation on the sample, its prepared runs, and every test query's nDCG@10 per expert
    computed by hand from those runs (with fusion's RRF run by hand too)."""
    from embedroute.demo import sample_path

    for cls in (PinnedRouter, PlantedOracle):
        ROUTERS.register(cls.name, cls)
    try:
        sample, shared = sample_path(), {}
        routers = [
            "pilot",
            "dataset",
            "fusion",
            "single:static64",
            "pinned@to=static64",
            "pinned@to=minilm",
            "pinned@to=bm25",
        ]
        kw = dict(train_from=[sample], workdir=tmp_path_factory.mktemp("table"), show_progress=False, prepared=shared)
        res = evaluate_routing([sample], EXPERTS, routers, **kw).to_dict()
        (runs,) = shared.values()
        qids = list(runs.test.queries)
        ndcg = {e: [ndcg10(runs.test.qrels[q], runs.runs[e][q]) for q in qids] for e in EXPERTS}
        fused = [ndcg10(runs.test.qrels[q], rrf_by_hand([runs.runs[e][q] for e in EXPERTS])) for q in qids]
        best = [max(EXPERTS, key=lambda e, i=i: ndcg[e][i]) for i in range(len(qids))]
        PlantedOracle.table = (minilm.encode_queries([runs.test.queries[q] for q in qids]), best)
        res["rows"] += [
            r
            for r in evaluate_routing([sample], EXPERTS, ["planted-oracle"], **kw).to_dict()["rows"]
            if r["name"] == "planted-oracle"
        ]
    finally:
        for cls in (PinnedRouter, PlantedOracle):
            ROUTERS.unregister(cls.name)
    return res, runs, ndcg, fused, best


def test_routing_evaluation_table_against_figures_computed_by_hand(evaluated, minilm):
    res, runs, ndcg, fused, best = evaluated
    rows = {r["name"]: r for r in res["rows"]}
    n = len(runs.test.queries)
    assert res["datasets"] == ["scifact-sample"] and n == 25
    for e in EXPERTS:
        assert rows[e]["ndcg@10"]["avg"] == pytest.approx(np.mean(ndcg[e]), abs=1e-9)
    best_single = max(EXPERTS, key=lambda e: np.mean(ndcg[e]))
    assert res["best_single"] == best_single and rows[best_single]["p_value_vs_best_single"] is None
    assert rows["dataset-oracle"]["ndcg@10"]["avg"] == pytest.approx(np.mean(ndcg[best_single]), abs=1e-9)
    oracle = np.mean([ndcg[b][i] for i, b in enumerate(best)])
    assert rows["instance-oracle"]["ndcg@10"]["avg"] == pytest.approx(oracle, abs=1e-9)
    # a router told each query's winner scores the instance oracle; one pinned to an expert scores it
    assert rows["planted-oracle"]["ndcg@10"]["avg"] == pytest.approx(oracle, abs=1e-9)
    assert rows["planted-oracle"]["chosen"] == {e: best.count(e) for e in EXPERTS if e in best}
    for name in ("pinned@to=static64", "single:static64"):
        assert rows[name]["ndcg@10"]["avg"] == pytest.approx(np.mean(ndcg["static64"]), abs=1e-9)
    assert rows["fusion"]["ndcg@10"]["avg"] == pytest.approx(np.mean(fused), abs=1e-9)
    # pilot, fitted by hand on the training runs, routes the test queries: the row is those choices' nDCG
    pilot = make_router("pilot").fit(training_data_by_hand(runs, EXPERTS, minilm))
    chosen = [r.experts[0] for r in pilot.route(minilm.encode_queries(list(runs.test.queries.values())))]
    assert rows["pilot"]["chosen"] == {e: chosen.count(e) for e in EXPERTS if e in chosen}
    assert rows["pilot"]["ndcg@10"]["avg"] == pytest.approx(
        np.mean([ndcg[e][i] for i, e in enumerate(chosen)]), abs=1e-9
    )


def test_routing_evaluation_counts_passes_and_charges_routing_time(evaluated):
    res, runs, *_ = evaluated
    rows = {r["name"]: r for r in res["rows"]}
    n = len(runs.test.queries)
    latency = {e: rows[e]["ms_per_query"] for e in EXPERTS}  # each expert's timed single-query search
    assert {e: rows[e]["encoder_passes"] for e in EXPERTS} == {"minilm": 1.0, "bm25": 0.0, "static64": 1.0}
    assert res["routing_expert"] == "minilm" and res["route_encode_ms"] > 0
    passes = {
        "fusion": 2.0,  # every expert once, bm25 without a model, no routing pass
        "single:static64": 1.0,  # pinned by name: nothing is routed
        "pinned@to=static64": 2.0,  # the minilm routing pass, then static64's own
        "pinned@to=minilm": 1.0,  # the routing pass is the chosen expert's pass
        "pinned@to=bm25": 1.0,
    }  # the routing pass, then bm25 with none
    for name, want in passes.items():
        assert rows[name]["encoder_passes"] == want, name
    c = rows["pilot"]["chosen"]
    assert rows["pilot"]["encoder_passes"] == pytest.approx(
        (c.get("minilm", 0) + 2 * c.get("static64", 0) + c.get("bm25", 0)) / n, abs=1e-3
    )
    assert rows["fusion"]["chosen"] == {e: n for e in EXPERTS}
    for r in res["rows"]:
        if r["kind"] != "router":
            continue
        routing, total = r["routing_ms_per_query"], r["ms_per_query"]
        experts_ms = sum(k * latency[e] for e, k in r["chosen"].items()) / n
        assert total == pytest.approx(routing + experts_ms, abs=3e-3), r["name"]
        # both ms figures are rounded to 3 decimals: the overhead must lie within what their rounding allows
        lo = max(routing - 5e-4, 0.0) / (total + 5e-4 - max(routing - 5e-4, 0.0))
        hi = (routing + 5e-4) / max(total - 5e-4 - (routing + 5e-4), 1e-9)
        assert lo - 1e-4 <= r["routing_overhead"] <= hi + 1e-4, (r["name"], lo, r["routing_overhead"], hi)
    for name in ("pinned@to=static64", "pinned@to=bm25"):  # charged the routing encoder's pass on top
        assert rows[name]["routing_ms_per_query"] >= res["route_encode_ms"] - 1e-3


def test_more_pilots_per_group(data):
    one = make_router("pilot").fit(data)
    three = make_router("pilot@per_group=3").fit(data)
    assert len(one.pilots) <= len(three.pilots) <= 3 * len(one.pilots)
    assert set(three.owners) == set(one.owners)
    np.testing.assert_allclose(np.linalg.norm(three.pilots, axis=1), 1.0, atol=1e-5)
    topk = make_router("fusion-topk@per_group=3").fit(data)
    assert len(topk.inner.pilots) == len(three.pilots)


def test_size_weighted_pilot_variant_follows_a_brute_force_reading(data, minilm):
    router = make_router("pilot@weight=size;tau=0.05").fit(data)
    q = minilm.encode_queries(["vitamin D and bone fractures", "zzqx 9931 qwfp lorem"])
    got = router.scores(q)
    for i in range(len(q)):
        for j, expert in enumerate(router.experts):
            mine = [p for p, o in enumerate(router.owners) if o == expert]
            if not mine:
                assert got[i, j] == -np.inf
                continue
            want = 0.05 * np.log(sum(router.sizes[p] * np.exp(float(q[i] @ router.pilots[p]) / 0.05) for p in mine))
            assert got[i, j] == pytest.approx(want, rel=1e-5, abs=1e-6)


def test_size_weighted_temperature_follows_the_routing_encoders_spread(data, minilm):
    sims = data.embeddings @ make_router("pilot").fit(data).pilots.T
    spread = float(np.median(sims.max(1) - sims.min(1)))
    fitted = make_router("pilot@weight=size").fit(data)
    assert fitted.tau == pytest.approx(fitted.tau_rel * spread) and fitted.state()["tau"] == fitted.tau
    assert make_router("pilot@weight=size;tau_rel=0.3").fit(data).tau == pytest.approx(0.3 * spread)
    assert make_router("pilot@weight=size;tau=0.05").fit(data).tau == 0.05  # absolute when given
    # similarities squeezed 10x (as e5-small's are against MiniLM's): the same decisions, not a flat mean
    squeezed = RoutingData(data.experts, data.embeddings * 0.1, data.datasets, data.scores)
    q = minilm.encode_queries(["vitamin D and bone fractures", "statins and heart disease", "zzqx 9931 qwfp"])
    fit_s = make_router("pilot@weight=size").fit(squeezed)
    assert fit_s.tau == pytest.approx(fitted.tau * 0.1, rel=1e-4)
    np.testing.assert_allclose(fit_s.scores(q * 0.1) / 0.1, fitted.scores(q), rtol=1e-4, atol=1e-5)
    assert make_router("pilot").fit(data).tau is None
    with pytest.raises(InputError, match="positive temperature"):
        make_router("pilot@weight=size;tau=0").fit(data)


def test_size_weighted_temperature_is_chosen_by_cross_validation_on_the_training_queries(data, minilm):
    from embedroute.routing.cv import cross_validate
    from embedroute.routing.pilot import PilotRouter

    grid = PilotRouter.TAU_REL_GRID
    want = {f"pilot@weight=size;tau_rel={x}": cross_validate(f"pilot@weight=size;tau_rel={x}", data) for x in grid}
    best = next(x for x in grid if want[f"pilot@weight=size;tau_rel={x}"] == max(want.values()))  # first of equals
    fitted = make_router("pilot@weight=size").fit(data)
    assert fitted.train_cv == pytest.approx(want) and fitted.tau_rel == best
    assert fitted.choice == f"pilot@weight=size;tau_rel={best}" and fitted.state()["choice"] == fitted.choice
    q = minilm.encode_queries(["vitamin D and bone fractures", "statins and heart disease"])
    np.testing.assert_array_equal(fitted.scores(q), make_router(fitted.choice).fit(data).scores(q))
    # other parameters are kept in the rules it compares
    assert set(make_router("pilot@weight=size;min_share=0.1").fit(data).train_cv) == {
        f"pilot@min_share=0.1;weight=size;tau_rel={x}" for x in grid
    }
    # a given tau_rel or tau is used as is, with no choice to record
    assert make_router("pilot@weight=size;tau_rel=0.3").fit(data).choice is None


def test_a_collection_saves_the_temperature_the_router_chose(tmp_path, data, sample_dir):
    col = Collection.create(tmp_path / "c", experts=["bm25", "static64"])
    col.add_file(sample_dir, show_progress=False)
    fitted = col.fit_router("pilot@weight=size", data, routing_expert="minilm")  # minilm only routes
    meta = json.loads((tmp_path / "c" / "routers" / "pilot@weight=size.json").read_text())
    assert meta["router"] == fitted.choice and meta["requested"] == "pilot@weight=size"
    assert meta["train_cv"] == pytest.approx(fitted.train_cv) and fitted.choice in meta["train_cv"]
    col.close()
    again = Collection.open(tmp_path / "c")
    res = again.routed_search("vitamin D and bone fractures", k=3, router="pilot@weight=size")
    assert res.routing.rule == fitted.choice  # the saved rule, re-fitted as it is
    assert again._routers["pilot@weight=size"][0].train_cv is None
    again.close()


def test_min_share_drops_small_pilot_groups_and_keeps_the_largest(data, minilm):
    full_owners, full_sizes = build_pilots(data)[1], build_pilots(data)[3]
    n = len(data.datasets)
    _, owners, _, sizes = build_pilots(data, min_share=0.1)
    want = [(o, s) for o, s in zip(full_owners, full_sizes) if s >= 0.1 * n or s == max(full_sizes)]
    assert list(zip(owners, sizes)) == want and len(want) < len(full_owners)  # something was dropped
    only = make_router("pilot@min_share=1").fit(data)  # no group holds every query: the largest stays
    assert only.sizes == [max(full_sizes)]
    dropped = [e for e in data.experts if e not in only.owners]
    routes = only.route(minilm.encode_queries(["vitamin D and bone fractures", "zzqx 9931 qwfp lorem"]))
    assert all(r.experts == only.owners for r in routes)
    assert all(r.scores[e] == -np.inf for r in routes for e in dropped)


@pytest.mark.parametrize(
    "spec, needle",
    [
        ("pilot@min_shar=0.1", "no parameter 'min_shar'"),
        ("dataset@seed", "not key=value"),
        ("single:bm25@k=2", "no parameter 'k'"),
        ("nonsense", "nonsense"),
    ],
)
def test_router_specs_are_checked_when_made(spec, needle):
    with pytest.raises(Exception, match=needle) as err:
        make_router(spec)
    assert isinstance(err.value, ValueError | KeyError)


@pytest.mark.parametrize(
    "spec, needle", [("pilot@weight=sizes", "weight must be 'size'"), ("pilot@min_share=1.5", "between 0 and 1")]
)
def test_bad_pilot_parameter_values_fail_at_fit(data, spec, needle):
    from embedroute.errors import InputError

    with pytest.raises(InputError, match=needle):
        make_router(spec).fit(data)


def test_evaluations_share_prepared_datasets(tmp_path, sample_dir):
    shared: dict = {}
    first = evaluate_routing(
        [sample_dir],
        ["minilm", "bm25"],
        ["pilot"],
        train_from=[sample_dir],
        workdir=tmp_path,
        show_progress=False,
        prepared=shared,
    ).to_dict()
    ((key, runs),) = shared.items()
    again = evaluate_routing(
        [sample_dir],
        ["minilm", "bm25"],
        ["pilot", "dataset"],
        train_from=[sample_dir],
        workdir=tmp_path,
        show_progress=False,
        prepared=shared,
    ).to_dict()
    assert shared[key] is runs  # reused, not prepared again
    rows = {r["name"]: r["ndcg@10"] for r in first["rows"]}
    assert all(rows[r["name"]] == r["ndcg@10"] for r in again["rows"] if r["name"] in rows)
    evaluate_routing(
        [sample_dir],
        ["minilm", "static64"],
        ["pilot"],
        train_from=[sample_dir],
        workdir=tmp_path,
        show_progress=False,
        prepared=shared,
    )
    assert shared[key] is not runs and set(shared[key].runs) == {"minilm", "static64"}  # other experts: redone
