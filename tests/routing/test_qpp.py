"""Query-performance-prediction routing and adaptive fusion (issue #16, items 2a, 2b and 3)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from embedroute import Collection
from embedroute.errors import InputError
from embedroute.evaluation.router_fit import fit_routers
from embedroute.experts.bm25 import BM25Expert
from embedroute.routing import RoutingData, make_router
from embedroute.routing.adaptive import margins
from embedroute.routing.features import FEATURE_NAMES, RankedList, query_features

EXPERTS = ["bm25", "static64"]


# ---- features, against values worked out by hand -----------------------------------------------------------
def test_bm25_term_statistics_count_content_words_and_document_frequencies():
    e = BM25Expert()
    e.load(np.arange(4), ["bone density loss", "bone marrow", "sea level rise", "the sea and the bone"], None)
    a, b = e.term_statistics(["the bone of zzyzx", "and the"])
    assert (a.words, a.documents, sorted(a.document_frequencies.tolist())) == (2, 4, [3])  # bone: 3 docs
    assert (b.words, len(b.document_frequencies)) == (0, 0)


def test_query_features_by_hand():
    lex = RankedList(["a", "b", "c"], np.array([8.0, 4.0, 2.0]))
    den = RankedList(["c", "d"], np.array([0.9, 0.6]))
    row = dict(zip(FEATURE_NAMES, query_features("bone zzyzx", 2, np.array([10]), 100, lex, den, k1=1.0)))
    idf = math.log(1 + (100 - 10 + 0.5) / 10.5)
    assert row["query_words"] == pytest.approx(math.log(3))
    assert row["unknown_share"] == pytest.approx(0.5)  # one of the two content words is unknown
    assert row["idf_max"] == pytest.approx(idf / math.log(101))
    assert row["lex_top1"] == pytest.approx(8.0 / (idf * 2.0))
    assert row["lex_gap_1_2"] == pytest.approx(0.5) and row["lex_gap_1_10"] == pytest.approx(0.75)
    p = np.array([8, 4, 2]) / 14
    assert row["lex_entropy"] == pytest.approx(float(-(p * np.log(p)).sum() / math.log(10)), rel=1e-5)
    assert row["dense_top1"] == pytest.approx(0.9) and row["dense_gap_1_2"] == pytest.approx(0.3)
    assert row["overlap_10"] == pytest.approx(0.1) and row["top1_agree"] == 0.0
    assert row["dense_top1_lex_rr"] == pytest.approx(1 / 3)  # dense's top document is BM25's third
    empty = dict(zip(FEATURE_NAMES, query_features("x", 0, np.zeros(0), 100, RankedList([], np.zeros(0)), den)))
    assert empty["lex_empty"] == 1.0 and empty["unknown_share"] == 1.0 and empty["lex_top1"] == 0.0


# ---- the routers, on routing data whose right answer is known ----------------------------------------------
def rule_data(n: int = 400, seed: int = 0) -> RoutingData:
    """Expert a wins exactly when feature 0 is above 0.5, in two datasets; embeddings carry nothing."""
    rng = np.random.default_rng(seed)
    feats = rng.random((n, len(FEATURE_NAMES))).astype(np.float32)
    a_wins = feats[:, 0] > 0.5
    scores = np.where(a_wins[:, None], [[0.9, 0.2]], [[0.1, 0.8]]).astype(np.float32)
    emb = np.ones((n, 4), dtype=np.float32) / 2
    return RoutingData(["a", "b"], emb, ["x", "y"] * (n // 2), scores, features=feats)


def test_qpp_learns_which_expert_a_feature_says_will_win():
    train, test = rule_data(seed=0), rule_data(seed=1)
    r = make_router("qpp").fit(train)
    chosen = np.array([route.experts[0] == "a" for route in r.route(test.embeddings, test.features)])
    assert (chosen == (test.features[:, 0] > 0.5)).mean() > 0.95
    assert r.weighing_most(1)[0][0] == FEATURE_NAMES[0]  # the explanation names the feature that decides
    with pytest.raises(InputError, match="query features"):
        make_router("qpp").fit(RoutingData(["a", "b"], train.embeddings, train.datasets, train.scores))


def test_auto_considers_qpp_and_picks_it_when_only_features_tell_the_experts_apart():
    r = make_router("auto").fit(rule_data())
    assert (
        r.choice == "qpp"
        and r.uses_features
        and r.train_cv["qpp"] > max(v for k, v in r.train_cv.items() if k != "qpp" and v is not None)
    )


def test_margins_by_hand():
    assert margins(np.array([[0.5, 0.2, 0.4], [0.1, 0.1, 0.0]])).round(6).tolist() == [0.1, 0.0]


@pytest.mark.parametrize("budget, fused_share", [(1.0, 0.0), (1.5, 0.5), (2.0, 1.0)])
def test_adaptive_fusion_fuses_the_share_its_budget_allows(budget, fused_share):
    train, test = rule_data(seed=0), rule_data(seed=1)
    r = make_router(f"fusion-adaptive@budget={budget}").fit(train)
    routes = r.route(test.embeddings, test.features)
    fused = np.array([len(route.experts) == 2 for route in routes])
    assert r.base == "qpp" and r.fused
    assert abs(fused.mean() - fused_share) < 0.12  # the threshold was set on out-of-fold margins
    sure = margins(r.scores(test.embeddings, test.features))
    if 0 < fused_share < 1:  # the queries fused are those the router is least sure of
        assert sure[fused].max() <= sure[~fused].min()
    for route in routes:  # one expert routes as the base router does
        if len(route.experts) == 1:
            assert route.experts[0] == ("a" if max(route.scores, key=route.scores.get) == "a" else "b")


@pytest.mark.parametrize("budget", [1.2, 1.5, 1.8])
def test_adaptive_fusion_with_costs_keeps_the_average_route_within_its_budget_in_passes(budget):
    """Expert b costs two passes (a: one), so a fused route costs two: the share fused is what the budget
    leaves once the single routes are paid for."""
    train, test = rule_data(seed=0), rule_data(seed=1)
    costs = {"a": 1.0, "b": 2.0}
    train.costs = test.costs = costs
    r = make_router(f"fusion-adaptive@budget={budget}").fit(train)
    routes = r.route(test.embeddings, test.features)
    spent = np.mean([1.0 + sum(costs[e] - 1.0 for e in route.experts) for route in routes])
    singles = [route for route in routes if len(route.experts) == 1]
    assert spent <= budget + 0.1  # set on out-of-fold routes of the training queries, so close on new ones
    assert spent >= budget - 0.25 and singles  # it spends the budget, and still routes some queries to one


def test_adaptive_fusion_rejects_bad_budgets():
    with pytest.raises(InputError, match="budget"):
        make_router("fusion-adaptive@budget=0.5").fit(rule_data())


# ---- on a real collection ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def col(tmp_path_factory):
    from embedroute.demo import sample_path
    from embedroute.evaluation.beir import load_beir

    c = Collection.create(tmp_path_factory.mktemp("qpp") / "c", experts=EXPERTS)
    c.add(load_beir(sample_path()).corpus(), show_progress=False)
    yield c
    c.close()


def test_qpp_and_adaptive_fusion_fit_on_pseudo_queries_and_route_live_queries(col):
    fits = fit_routers(col, ["qpp", "fusion-adaptive@budget=1.5"], None, max_queries=200, show_progress=False)
    assert [f.rule for f in fits] == ["qpp", "fusion-adaptive@budget=1.5"]
    saved = np.load(col.path / "routers" / "qpp.npz")
    assert saved["features"].shape == (200, len(FEATURE_NAMES))
    col.reload_routers()  # re-fitted from the saved routing data, features included
    queries = ["vitamin D deficiency and bone fractures", "gene expression in tumour cells", "sleep apnea"]
    for q, res in zip(queries, col.routed_search_batch(queries, router="qpp")):
        (chosen,) = res.routing.experts
        assert [h.id for h in res.hits] == [h.id for h in col.search(q, expert=chosen).hits]
        assert set(res.routing.scores) == set(EXPERTS)
        why = res.routing.why  # the explanation: what the scores are, the query's values of the top features
        assert why["scores"].startswith("predicted nDCG@10 minus the experts' mean") and len(why["features"]) == 3
        assert set(why["features"]) <= set(FEATURE_NAMES)
    nothing = col.routed_search("zzyzx qwxvb", router="qpp")  # no word BM25 knows: it found nothing
    assert nothing.routing.experts == ["static64"] and len(nothing.hits) == 10
    more = [d.title or d.text[:80] for d in col.sample(40, seed=3)]  # titles as queries: some sure, some not
    widths = []
    for q, res in zip(more, col.routed_search_batch(more, router="fusion-adaptive@budget=1.5")):
        widths.append(len(res.routing.experts))
        why = res.routing.why
        assert why["fused"] == (len(res.routing.experts) == 2)
        if why["threshold"] is not None:
            assert (why["margin"] < why["threshold"]) == why["fused"]
        if len(res.routing.experts) == 1:
            assert [h.id for h in res.hits] == [h.id for h in col.search(q, expert=res.routing.experts[0]).hits]
            continue
        by_hand: dict[str, float] = {}
        for e in res.routing.experts:  # reciprocal-rank fusion, k = 60, ties in a list by document id
            hits = sorted(col.search(q, 100, expert=e).hits, key=lambda h: (-h.score, h.id))
            for rank, h in enumerate(hits, start=1):
                by_hand[h.id] = by_hand.get(h.id, 0.0) + 1 / (60 + rank)
        assert [h.id for h in res.hits] == sorted(by_hand, key=lambda d: (-by_hand[d], d))[:10]
    # bm25 needs no model pass, so fusing it with static64 costs what routing to either does (the features
    # pay static64's pass): within the budget every query is fused
    assert set(widths) == {2} and why["threshold"] is None and "every query" in why["reason"]
    meta = json.loads((col.path / "routers" / "qpp.json").read_text())
    assert meta["router"] == "qpp" and meta["routing_data"]["pseudo"]["queries"] == 200


def test_qpp_on_a_collection_without_bm25_is_a_clear_error(tmp_path):
    from embedroute.demo import sample_path
    from embedroute.evaluation.beir import load_beir

    c = Collection.create(tmp_path / "dense-only", experts=["static64"])
    c.add(load_beir(sample_path()).corpus(), show_progress=False)
    with pytest.raises(InputError, match="qpp"):
        fit_routers(c, ["qpp"], None, max_queries=50, show_progress=False)
    c.close()


# ---- leave-one-out evaluation -----------------------------------------------------------------------------
def test_leave_one_out_fits_each_dataset_on_the_others_only(tmp_path):
    """Two identical copies A and B of the sample: under leave-one-out A's routers learn from B's training
    queries alone, so A's column equals routers fitted on B and scored on A, and not on A and B together."""
    import shutil

    from embedroute.demo import sample_path
    from embedroute.evaluation.routing import evaluate_routing

    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(sample_path(), a)
    shutil.copytree(sample_path(), b)
    kw = {"show_progress": False, "workdir": tmp_path / "w", "prepared": {}}
    routers = ["classifier", "qpp"]
    loo = evaluate_routing([a, b], EXPERTS, routers, leave_one_out=True, **kw).to_dict()
    on_b = evaluate_routing([a], EXPERTS, routers, train_from=[b], **kw).to_dict()
    both = evaluate_routing([a], EXPERTS, routers, train_from=[a, b], **kw).to_dict()
    assert loo["leave_one_out"] is True
    for name in routers:
        got = next(r for r in loo["rows"] if r["name"] == name)["ndcg@10"]["a"]
        assert got == next(r for r in on_b["rows"] if r["name"] == name)["ndcg@10"]["a"], name
    qpp = [next(r for r in res["rows"] if r["name"] == "qpp") for res in (loo, both)]
    assert qpp[0]["chosen"] != qpp[1]["chosen"] or qpp[0]["ndcg@10"]["a"] != qpp[1]["ndcg@10"]["a"]
    with pytest.raises(InputError, match="leave_one_out"):
        evaluate_routing([a, b], EXPERTS, routers, leave_one_out=True, train_from=[b], **kw)


@pytest.mark.parametrize(
    "spec", ["fusion-adaptive@budget=abc", "fusion-adaptive@folds=1", "qpp@trees=0", "qpp@budget=-1", "qpp@rate=abc"]
)
def test_bad_qpp_and_adaptive_parameters_are_clear_errors(spec):
    with pytest.raises(InputError, match="qpp|fusion-adaptive"):
        make_router(spec).fit(rule_data())


def test_adaptive_fusion_left_with_one_expert_routes_to_it():
    """After an expert is removed a two-expert router is refitted on one: nothing to fuse, no crash."""
    one = rule_data().without("b")
    routes = make_router("fusion-adaptive").fit(one).route(one.embeddings[:3], one.features[:3])
    assert [r.experts for r in routes] == [["a"]] * 3


def test_qpp_never_sends_a_query_bm25_found_nothing_for_to_bm25_alone():
    """Expert a is the lexical one (the data says so); where its list was empty it cannot answer, whatever the
    model learnt from the other features."""
    train, test = rule_data(seed=0), rule_data(seed=1)
    train.feature_experts = ("a", "b")
    empty = FEATURE_NAMES.index("lex_empty")
    test.features[:, empty] = (np.arange(len(test.datasets)) % 2).astype(np.float32)  # every other query
    r = make_router("qpp").fit(train)
    routes = r.route(test.embeddings, test.features)
    a_wins = test.features[:, 0] > 0.5
    got = np.array([route.experts[0] == "a" for route in routes])
    assert not got[test.features[:, empty] == 1].any()  # none of the empty ones goes to a
    assert got[(test.features[:, empty] == 0) & a_wins].mean() > 0.9  # the others still route by the rule


def test_a_removed_feature_expert_makes_a_qpp_router_ask_to_be_fitted_again(tmp_path):
    """The features were made by bm25's search: once bm25 is removed they cannot be made for a live query,
    so qpp says so (not a wrong route), and auto chooses again among the rules that need no features."""
    from embedroute.demo import sample_path
    from embedroute.errors import CollectionError
    from embedroute.evaluation.beir import load_beir

    c = Collection.create(tmp_path / "c", experts=["bm25", "static64", "minilm-l3"])
    c.add(load_beir(sample_path()).corpus(), show_progress=False)
    fit_routers(c, ["qpp", "fusion-adaptive@budget=1.5"], None, max_queries=120, show_progress=False)
    meta = json.loads((c.path / "routers" / "qpp.json").read_text())
    assert meta["feature_experts"] == ["bm25", "static64"]
    c.remove_expert("bm25")
    c.reload_routers()
    with pytest.raises(CollectionError, match="fit it again"):
        c.routed_search("bone density", router="qpp")
    res = c.routed_search("bone density", router="fusion-adaptive@budget=1.5")  # refitted on pilots instead
    assert set(res.routing.experts) <= {"static64", "minilm-l3"} and res.hits
    c.close()


def test_a_routed_search_embeds_each_query_once_per_dense_expert(col):
    """qpp's features search static64 and the query is then routed (often to static64): one model pass each,
    shared, and none of a routing encoder. Counted by wrapping the real encoder, which still runs."""
    fit_routers(col, ["qpp@seed=1"], None, max_queries=120, show_progress=False)
    dense = col.expert("static64")
    real, seen = dense.encoder.encode_queries, []

    def counting(texts):
        seen.extend(texts)
        return real(texts)

    dense.encoder.encode_queries = counting
    try:
        queries = ["vitamin D deficiency and bone fractures", "sleep apnea in children", "zzyzx qwxvb"]
        results = col.routed_search_batch(queries, router="qpp@seed=1")
    finally:
        dense.encoder.encode_queries = real
    assert sorted(seen) == sorted(queries)  # each once, though static64 was searched twice for some
    for q, res in zip(queries, results):  # and the routed hits are the chosen expert's own search
        fresh = col.search(q, expert=res.routing.experts[0])
        assert [(h.id, round(h.score, 5), h.rank, h.text) for h in res.hits] == [
            (h.id, round(h.score, 5), h.rank, h.text) for h in fresh.hits
        ]
    with pytest.raises(InputError, match="k must be at least 1"):
        col.routed_search_batch(queries, 0, router="qpp@seed=1")


def test_routing_data_whose_features_other_experts_made_is_refused(col):
    """Features made by another collection's experts would not mean what live queries' features mean."""
    from embedroute.routing.store import load_routing

    fit_routers(col, ["qpp@seed=2"], None, max_queries=60, show_progress=False)
    data, _ = load_routing(col.path / "routers", "qpp@seed=2")
    assert data.feature_experts == ("bm25", "static64")  # saved with the router and loaded back
    data.feature_experts = ("bm25", "minilm")
    with pytest.raises(InputError, match="made by the experts bm25, minilm"):
        col.fit_router("qpp", data, name="other")


def test_feature_routers_saved_before_feature_experts_were_recorded_still_guard_and_refit(tmp_path):
    """A router saved without the feature_experts key (older versions) is taken as made by the collection's
    current feature experts: the empty-BM25 guard holds, and after bm25 is removed qpp and
    fusion-adaptive@base=qpp ask to be fitted again."""
    from embedroute.demo import sample_path
    from embedroute.errors import CollectionError
    from embedroute.evaluation.beir import load_beir

    c = Collection.create(tmp_path / "c", experts=EXPERTS)
    c.add(load_beir(sample_path()).corpus(), show_progress=False)
    fit_routers(c, ["qpp", "fusion-adaptive@base=qpp"], None, max_queries=120, show_progress=False)
    for name in ("qpp", "fusion-adaptive@base=qpp"):
        path = c.path / "routers" / f"{name}.json"
        meta = json.loads(path.read_text())
        del meta["feature_experts"]
        path.write_text(json.dumps(meta))
    c.reload_routers()
    assert c.routed_search("zzyzx qwxvb", router="qpp").routing.experts == ["static64"]
    c.add_expert("minilm-l3", show_progress=False)
    c.remove_expert("bm25")
    c.reload_routers()
    for name in ("qpp", "fusion-adaptive@base=qpp"):
        with pytest.raises(CollectionError, match="fit it again"):
            c.routed_search("bone density", router=name)
    c.close()
