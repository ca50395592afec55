"""The multi-vector expert inside a collection, on the SciFact sample: stored tokens, FDE + rerank
against exhaustive MaxSim, filters, deletes, integrity, pruning, and routing like any other expert."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from embedroute import Collection
from embedroute.evaluation import evaluate_run, load_beir, mean_metrics
from embedroute.evaluation.runner import run_for
from embedroute.multivector.carving import ball_carve
from embedroute.multivector.maxsim import maxsim
from embedroute.multivector.pruning import prune
from embedroute.multivector.tokens import TokenVectors

pytestmark = pytest.mark.slow
TOKENS = {"source": "minilm-tokens", "options": {"project_to": 128}}


@pytest.fixture(scope="module")
def sample_col(tmp_path_factory):
    from embedroute.demo import sample_path

    ds = load_beir(sample_path())
    docs = [d | {"attributes": {"even": int(d["id"]) % 2 == 0 and "yes" or "no"}} for d in ds.corpus()]
    col = Collection.create(
        tmp_path_factory.mktemp("mv") / "c",
        experts=[
            TOKENS,
            {"source": "minilm-tokens", "name": "mv-exact", "options": {"project_to": 128, "mode": "exact"}},
            "bm25",
        ],
    )
    col.add(docs)
    yield col, ds
    col.close()


def test_fde_rerank_matches_exhaustive_maxsim(sample_col):
    col, ds = sample_col
    queries = list(ds.queries.values())[:30]
    approx = col.search_batch(queries, 10, expert="minilm-tokens", fetch=False)
    exact = col.search_batch(queries, 10, expert="mv-exact", fetch=False)
    recall = np.mean([len(set(a.ids) & set(e.ids)) / 10 for a, e in zip(approx, exact)])
    assert recall >= 0.9  # 100 FDE candidates of 500 documents, reranked exactly
    top = exact[0].hits[0]
    assert top.score > exact[0].hits[-1].score > 0


def test_quality_is_real_and_config_is_recorded(sample_col):
    col, ds = sample_col
    ndcg = mean_metrics(evaluate_run(ds.qrels, run_for(col, ds, "minilm-tokens")))["ndcg@10"]
    assert ndcg > 0.3  # raw (untrained) token states still retrieve: far above random (~0.01)
    cfg = col.expert("minilm-tokens").config()
    assert cfg["fde"]["r_reps"] == 20 and cfg["fde"]["dim"] == 20 * 32 * 16
    assert cfg["encoder"]["project_to"] == 128 and cfg["token_storage"] == "float16"
    assert col.check().ok


def test_filter_delete_and_reopen(sample_col, tmp_path):
    col, ds = sample_col
    q = next(iter(ds.queries.values()))
    res = col.search(q, k=5, expert="minilm-tokens", filter={"even": "yes"})
    assert res.hits and all(h.attributes["even"] == "yes" for h in res.hits)
    assert res.plan is not None and res.plan.allowed < 500
    exact = col.search(q, k=5, expert="mv-exact", filter={"even": "yes"})
    assert [h.id for h in exact.hits][:3] == [h.id for h in res.hits][:3]
    gone = res.hits[0].id
    col.delete([gone])
    assert gone not in col.search(q, k=10, expert="minilm-tokens").ids
    col.upsert([dataclasses.replace(col.get([res.hits[1].id])[res.hits[1].id], id=gone)])  # back, new text
    assert len(col) == 500 and col.check().ok
    path = col.path
    with Collection.open(path) as again:
        assert again.search(q, k=5, expert="minilm-tokens").ids == col.search(q, k=5, expert="minilm-tokens").ids


def test_routing_treats_the_multivector_expert_like_any_other(sample_col):
    from embedroute.routing import RoutingData

    col, ds = sample_col
    qids = list(ds.queries)[:20]
    experts = ["minilm-tokens", "bm25"]
    runs = {e: run_for(col, ds, e) for e in experts}
    per_q = {e: evaluate_run(ds.qrels, runs[e]) for e in experts}
    scores = np.array([[per_q[e][q]["ndcg@10"] for e in experts] for q in qids], dtype=np.float32)
    scores[:10, 0] += 1.0  # make the multi-vector expert win the first half outright
    from embedroute.encoders import get_encoder

    emb = get_encoder("minilm").encode_queries([ds.queries[q] for q in qids])
    col.add_expert("minilm")
    col.fit_router("pilot-nearest", RoutingData(experts, emb, ["sample"] * 20, scores, qids), routing_expert="minilm")
    res = col.routed_search(ds.queries[qids[0]], k=5, router="pilot-nearest")
    assert res.routing.experts == ["minilm-tokens"] and res.expert == "minilm-tokens"
    assert set(res.routing.scores) == {"minilm-tokens", "bm25"}


def test_pruning_and_carving_keep_maxsim_close():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(12, 32))
    docs = [
        base[rng.choice(rng.choice(12, size=int(rng.integers(2, 7)), replace=False), size=60)]
        + 0.1 * rng.normal(size=(60, 32))
        for _ in range(40)
    ]  # each document: a few of 12 topics
    docs = [d / np.linalg.norm(d, axis=1, keepdims=True) for d in docs]
    tv = TokenVectors.from_list(docs)
    pruned = prune(tv, 3)
    assert pruned.offsets[-1] <= tv.offsets[-1] / 3 + len(tv)
    q = base[:4] / np.linalg.norm(base[:4], axis=1, keepdims=True)
    full, small = maxsim(q, tv), maxsim(q, pruned)
    assert np.corrcoef(full, small)[0, 1] > 0.9 and np.abs(full - small).max() < 0.5
    carved = ball_carve(np.vstack([q, q[:2] * 0.999]), 0.7)
    assert len(carved) == 4


def test_token_states_of_any_registered_transformer_encoder(tmp_path):
    from embedroute.errors import InputError
    from embedroute.experts.registry import make_expert

    ex = make_expert("tokens:sre-minilm", project_to=32)
    assert ex.kind == "multivector" and ex.name == "tokens:sre-minilm" and ex.dim == 32
    mats = ex.embed_documents(["vitamin D and bone fractures"])
    assert mats[0].shape[1] == 32 and np.allclose(np.linalg.norm(mats[0], axis=1), 1, atol=1e-2)
    with pytest.raises(InputError, match="token"):
        make_expert("tokens:static64")


@pytest.mark.parametrize("fde_index", ["flat", "hnsw"])
def test_fdes_and_their_index_persist_across_opens(fde_index, tmp_path):
    """The FDE index is saved on close and reused on open (its files are not rewritten), answers as
    before, and a damaged or stale copy is rebuilt."""

    path = tmp_path / "c"
    col = Collection.create(path, experts=[{"source": "minilm-tokens", "options": {"index": fde_index}}])
    col.add(
        [
            {"id": f"d{i}", "text": t}
            for i, t in enumerate(
                [
                    "Vitamin D supplements and bone fractures.",
                    "Arctic sea ice and ocean temperature.",
                    "Statins lower cholesterol.",
                    "Cats purr when content.",
                    "Stock markets fell sharply.",
                ]
            )
        ]
    )
    queries = ["does vitamin D prevent fractures", "melting sea ice", "cholesterol drugs"]
    before = [col.search(q, k=3).hits for q in queries]
    col.close()
    meta = path / "indexes" / "minilm-tokens.fde.json"
    assert meta.exists() and (path / "indexes" / "minilm-tokens.fde.npy").exists()
    stamp = meta.stat().st_mtime_ns

    col = Collection.open(path)
    assert [col.search(q, k=3).hits for q in queries] == before
    col.close()
    assert meta.stat().st_mtime_ns == stamp  # reused, not rebuilt and saved again

    (path / "indexes" / "minilm-tokens.fde-ids.npy").write_bytes(b"damaged")
    col = Collection.open(path)
    assert [col.search(q, k=3).ids for q in queries] == [[h.id for h in hs] for hs in before]
    col.add([{"id": "n", "text": "Volcanic eruptions emit sulfur dioxide."}])  # stale copy after a write
    assert col.search("volcano gases", k=1).ids == ["n"]
    col.close()
    col = Collection.open(path)
    assert col.search("volcano gases", k=1).ids == ["n"] and len(col) == 6
    col.close()


@pytest.mark.parametrize("meta_text", ["[]", "null", '"damaged"'])
def test_fde_metadata_that_is_json_but_not_an_object_is_rebuilt(meta_text, tmp_path):
    path = tmp_path / "c"
    col = Collection.create(path, experts=["minilm-tokens"])
    col.add(
        [
            {"id": "a", "text": "Vitamin D supplements and bone fractures."},
            {"id": "b", "text": "Arctic sea ice and ocean temperature."},
        ]
    )
    assert col.search("melting sea ice", k=1).ids == ["b"]  # built, so close() saves it
    col.close()
    (path / "indexes" / "minilm-tokens.fde.json").write_text(meta_text)
    col = Collection.open(path)
    assert col.search("melting sea ice", k=1).ids == ["b"]
    col.close()
