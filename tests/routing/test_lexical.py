"""The tfidf routing encoder: fitted on the training queries, sparse vectors through every router,
saved with the routing data and rebuilt on load."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import sparse

from embedroute import Collection
from embedroute.errors import InputError
from embedroute.evaluation.router_fit import build_routing_data
from embedroute.evaluation.routing import evaluate_routing
from embedroute.routing import ROUTERS, RoutingData, make_router
from embedroute.routing.cv import cross_validate
from embedroute.routing.lexical import TfidfRoutingEncoder, tfidf_from_spec
from embedroute.routing.store import load_routing, save_routing

EXPERTS = ["minilm", "bm25", "static64"]
QUERIES = [
    "vitamin D and bone fractures",
    "zzqx 9931 qwfp lorem",  # the second shares no term with training
    "mitochondrial DNA mutations in ageing",
]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> RoutingData:
    from embedroute.demo import sample_path

    return build_routing_data(
        [sample_path()], EXPERTS, routing_expert="tfidf", workdir=tmp_path_factory.mktemp("r"), show_progress=False
    )


def encoder_of(data: RoutingData) -> TfidfRoutingEncoder:
    return tfidf_from_spec(data.routing_encoder["spec"], data.routing_encoder["state"])


def test_routing_data_carries_sparse_rows_and_the_fitted_vocabulary(data):
    assert sparse.issparse(data.embeddings) and data.embeddings.shape[0] == 25
    enc = encoder_of(data)
    assert data.embeddings.shape[1] == enc.dim == len(data.routing_encoder["state"]["vocabulary"])
    norms = np.sqrt(np.asarray(data.embeddings.multiply(data.embeddings).sum(axis=1))).ravel()
    np.testing.assert_allclose(norms[norms > 0], 1.0, atol=1e-5)  # L2-normalised rows
    vocab = data.routing_encoder["state"]["vocabulary"]
    assert any(" " in t for t in vocab) and any(" " not in t for t in vocab)  # uni- and bigrams
    assert "the" not in vocab and "and" not in vocab  # English stop words removed


def test_state_round_trip_encodes_identically():
    texts = ["vitamin d and bone density", "sea level rise by 2100", "bone density of sea otters"]
    enc = TfidfRoutingEncoder().fit(texts)
    again = TfidfRoutingEncoder(state=json.loads(json.dumps(enc.state())))
    q = ["otters and bone density", "rise of sea level"]
    assert (enc.encode_queries(q) != again.encode_queries(q)).nnz == 0
    assert enc.config() == again.config()
    other = TfidfRoutingEncoder().fit(texts[:2])
    assert other.config()["encoder"]["weight_hash"] != enc.config()["encoder"]["weight_hash"]


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda: TfidfRoutingEncoder(ngram_max=5), "ngram_max"),
        (lambda: TfidfRoutingEncoder(stop_words="german"), "stop_words"),
        (lambda: TfidfRoutingEncoder(min_df=0), "min_df"),
        (lambda: TfidfRoutingEncoder().encode_queries(["x"]), "not fitted"),
        (lambda: TfidfRoutingEncoder().fit(["the and of", "a the"]), "cannot fit"),
        (lambda: tfidf_from_spec({"source": "tfidf", "options": {"ngrams": 2}}), "unknown option"),
        (lambda: TfidfRoutingEncoder(state={"vocabulary": ["a"], "idf": []}), "equal-length"),
    ],
)
def test_bad_tfidf_settings_are_clear_errors(make, needle):
    with pytest.raises(InputError, match=needle):
        make()


def dense_copy(data: RoutingData, encoder: bool = True) -> RoutingData:
    return RoutingData(
        data.experts,
        data.embeddings.toarray(),
        data.datasets,
        data.scores,
        data.query_ids,
        data.routing_encoder if encoder else None,
        features=data.features,
    )


@pytest.mark.parametrize(
    "name",
    [
        *[n for n in ROUTERS.names() if n not in ("single", "hybrid")],  # hybrid: test_hybrid_correction.py
        "single:bm25",
        "pilot@weight=size",
        "pilot@per_group=2",
        "pilot@min_share=0.2",
    ],
)
def test_every_router_routes_sparse_rows_as_it_routes_the_same_rows_dense(data, name):
    enc = encoder_of(data)
    q_sparse = enc.encode_queries(QUERIES)
    feats = data.features[:3] if make_router(name).fit(data).uses_features else None  # qpp: training rows'
    routes = make_router(name).fit(data).route(q_sparse, feats)
    dense = make_router(name).fit(dense_copy(data)).route(q_sparse.toarray(), feats)
    assert len(routes) == 3 and all(r.experts and set(r.experts) <= set(EXPERTS) for r in routes)
    assert q_sparse[1].nnz == 0  # a query near nothing seen still gets a route
    if "per_group" in name:  # k-means runs another code path on sparse input: its centroids may differ
        return
    assert [r.experts for r in routes] == [r.experts for r in dense]
    for a, b in zip(routes, dense):
        assert a.scores == pytest.approx(b.scores, rel=1e-4, abs=1e-5)


def test_cross_validation_is_the_same_on_sparse_rows(data):
    fixed = RoutingData(data.experts, data.embeddings, data.datasets, data.scores, data.query_ids)  # no refit
    dense = dense_copy(data, encoder=False)
    assert cross_validate("pilot", fixed, folds=5) == pytest.approx(cross_validate("pilot", dense, folds=5))


def test_sparse_routing_data_round_trips_through_the_store(tmp_path, data):
    save_routing(tmp_path, "r", data, {"router": "pilot"})
    back, meta = load_routing(tmp_path, "r")
    assert sparse.issparse(back.embeddings) and (back.embeddings != data.embeddings).nnz == 0
    assert back.routing_encoder == data.routing_encoder and meta["training_queries"] == 25
    assert (tmp_path / "r.npz").stat().st_size < 200_000  # sparse arrays, not a dense 25 x vocabulary block


def test_a_collection_routes_with_tfidf_and_rebuilds_it_on_load(tmp_path, data, sample_dir):
    col = Collection.create(tmp_path / "c", experts=EXPERTS)
    col.add_file(sample_dir)
    col.fit_router("pilot", data)  # the data says which encoder made it
    want = make_router("pilot").fit(data).route(encoder_of(data).encode_queries(QUERIES))
    got = col.routed_search_batch(QUERIES, k=5, router="pilot")
    assert [r.routing.experts for r in got] == [w.experts for w in want]
    assert all(r.routing.routing_expert == "tfidf" and len(r.hits) == 5 for r in got)
    col.remove_expert("static64")  # pilots recomputed from the stored sparse data, no re-encoding
    assert set(col.routed_search(QUERIES[0], router="pilot").routing.scores) == {"minilm", "bm25"}
    col.close()
    again = Collection.open(tmp_path / "c")
    fewer = make_router("pilot").fit(data.without("static64")).route(encoder_of(data).encode_queries(QUERIES))
    assert [r.routing.experts for r in again.routed_search_batch(QUERIES, router="pilot")] == [w.experts for w in fewer]
    dense_data = build_routing_data(
        [sample_dir], EXPERTS, routing_expert="static64", workdir=tmp_path / "w", show_progress=False
    )
    with pytest.raises(InputError, match="learns from the training queries"):
        again.fit_router("pilot", dense_data, routing_expert="tfidf")
    with pytest.raises(InputError, match="-d embeddings"):
        again.fit_router("pilot", data, routing_expert="minilm")
    again.close()


def test_routing_evaluation_with_tfidf_counts_no_model_pass(tmp_path, sample_dir):
    res = evaluate_routing(
        [sample_dir],
        EXPERTS,
        ["pilot", "dataset"],
        train_from=[sample_dir],
        routing_expert="tfidf",
        workdir=tmp_path,
        show_progress=False,
    ).to_dict()
    rows = {r["name"]: r for r in res["rows"]}
    assert res["routing_expert"] == "tfidf"
    for name in ("pilot", "dataset"):
        chosen = rows[name]["chosen"]
        # one query pass per chosen expert (bm25: none), and none for routing with tfidf
        expected = sum(c for e, c in chosen.items() if e != "bm25") / sum(chosen.values())
        assert rows[name]["encoder_passes"] == pytest.approx(expected, abs=1e-3)


# ten training queries, five per dataset (expert "a" wins every "sea" query, "b" every "bio" one); several hold
# a term no other query holds ("delta", "echo", ...), and the others' idf moves with each held-out query
LEAK_TEXTS = [
    "gene kelp tide",
    "ocean",
    "virus kelp",
    "delta tide protein",
    "gene kelp reef echo",
    "coral enzyme foxtrot",
    "golf enzyme",
    "enzyme gene hotel",
    "protein kelp",
    "juliet enzyme protein",
]
LEAK_SETS = ["sea"] * 5 + ["bio"] * 5
LEAK_SCORES = np.array([[1, 0]] * 5 + [[0, 1]] * 5, dtype=np.float32)


def leak_data(fitted: bool) -> RoutingData:
    enc = TfidfRoutingEncoder().fit(LEAK_TEXTS)
    return RoutingData(
        ["a", "b"],
        enc.encode_queries(LEAK_TEXTS),
        LEAK_SETS,
        LEAK_SCORES,
        [],
        {"spec": enc.spec(), "state": enc.state()} if fitted else None,
    )


def sklearn_fold(fit_texts: list[str]):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(ngram_range=(1, 2), stop_words="english", sublinear_tf=True, dtype=np.float32).fit(fit_texts)


def leave_one_out_by_hand(router: str) -> float:
    """The figure cross-validation should give: each query routed by a router fitted, vectorizer included,
    on the other nine queries' texts alone."""
    got = []
    for i in range(len(LEAK_TEXTS)):
        rest = [j for j in range(len(LEAK_TEXTS)) if j != i]
        vec = sklearn_fold([LEAK_TEXTS[j] for j in rest])
        fold = RoutingData(
            ["a", "b"], vec.transform([LEAK_TEXTS[j] for j in rest]), [LEAK_SETS[j] for j in rest], LEAK_SCORES[rest]
        )
        expert = make_router(router).fit(fold).route(vec.transform([LEAK_TEXTS[i]]))[0].experts[0]
        got.append(float(LEAK_SCORES[i, ["a", "b"].index(expert)]))
    return float(np.mean([np.mean(got[:5]), np.mean(got[5:])]))


def test_a_fold_refit_encodes_as_a_vectorizer_fitted_on_that_fold():
    from embedroute.routing.lexical import refit_on_rows

    rows = np.ones(len(LEAK_TEXTS), dtype=bool)
    rows[[3, 4]] = False  # "delta" and "echo" are then held-out-only terms
    got = refit_on_rows(leak_data(True), rows)
    want = sklearn_fold([t for t, keep in zip(LEAK_TEXTS, rows) if keep])
    vocab = got.routing_encoder["state"]["vocabulary"]
    assert vocab == want.get_feature_names_out().tolist() and "delta" not in vocab and "echo" not in vocab
    np.testing.assert_allclose(got.routing_encoder["state"]["idf"], want.idf_, rtol=1e-6)
    assert abs(got.embeddings - want.transform(LEAK_TEXTS)).max() < 1e-6


@pytest.mark.parametrize("router", ["dataset", "pilot", "pilot-nearest", "classifier"])
def test_cross_validation_fits_the_vectorizer_inside_each_fold(router):
    n = len(LEAK_TEXTS)  # as many folds as queries: leave-one-out, whatever the fold shuffle
    assert cross_validate(router, leak_data(True), folds=n) == pytest.approx(leave_one_out_by_hand(router))


def test_fitting_the_vectorizer_on_all_queries_would_change_the_figure():
    n = len(LEAK_TEXTS)
    leaky = cross_validate("dataset", leak_data(False), folds=n)  # fixed rows: what CV did before
    assert leaky != pytest.approx(cross_validate("dataset", leak_data(True), folds=n))


def test_fit_routers_on_tfidf_routing_data_routes_with_tfidf_by_default(data, tmp_path, sample_dir):
    from embedroute.evaluation.router_fit import fit_routers

    col = Collection.create(tmp_path / "c", experts=["bm25"])  # no dense expert to fall back on
    col.add_file(sample_dir, show_progress=False)
    (fit,) = fit_routers(col, ["pilot"], data, show_progress=False)
    assert fit.routing_expert == "tfidf" and fit.experts == ["bm25"]
    assert col.routed_search(QUERIES[0], router="pilot").routing.routing_expert == "tfidf"
    col.close()
