"""Random sequences of add / upsert / delete / reopen / search for every index kind, against a brute-force
model held here: plain numpy over the encoder's vectors of the documents the model says are live.

The compressed kinds rescore every candidate (``rescore`` covers the whole set), so they must be exact;
HNSW runs as configured (efSearch 256 over a few hundred vectors) and must reach recall 1.0. PQ needs
256 vectors to train its codebooks, so its sequences start from 300 SciFact-sample documents (60 for the
other kinds).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embedroute import Collection

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "embedroute" / "data" / "scifact-sample" / "corpus.jsonl.gz"
K = 5
BASE = 300


def _texts() -> list[str]:
    with gzip.open(SAMPLE, "rt") as f:
        rows = [json.loads(line) for line in f]
    return [r["text"] for r in rows if r["text"].strip()]


TEXTS = _texts()
QUERIES = ["vitamin D and bone fractures", "cancer cells and tumour growth", "insulin resistance in diabetes"]

KINDS = [("flat", 0), ("hnsw", 0), ("fp16", 0), ("int8", 1000), ("binary", 1000), ("pq", 1000), ("mrl-32", 1000)]

ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(1, 12)),
        st.tuples(st.just("upsert"), st.integers(1, 12)),
        st.tuples(st.just("delete"), st.integers(1, 40)),
        st.tuples(st.just("reopen"), st.just(0)),
    ),
    min_size=3,
    max_size=8,
)


class Reference:
    """The encoder's vectors of every sample text and query, computed once; scores by plain numpy."""

    def __init__(self) -> None:
        from embedroute.encoders import get_encoder

        enc = get_encoder("static64")
        self.docs = dict(zip(TEXTS, enc.encode_documents(TEXTS)))
        self.queries = dict(zip(QUERIES, enc.encode_queries(QUERIES)))

    def expected(self, model: dict[str, str], query: str) -> tuple[list[str], np.ndarray, dict[str, float]]:
        ids = sorted(model)
        scores = np.stack([self.docs[model[i]] for i in ids]) @ self.queries[query]
        order = np.argsort(-scores, kind="stable")[:K]
        return [ids[i] for i in order], scores[order], dict(zip(ids, scores.tolist()))


@pytest.fixture(scope="module")
def encoder() -> Reference:
    return Reference()


def _check(col: Collection, encoder: Reference, model: dict[str, str], exact: bool) -> None:
    assert len(col) == len(model)
    for q in QUERIES:
        res = col.search(q, k=K)
        want_ids, want_scores, every = encoder.expected(model, q)
        got = res.ids
        assert len(set(got)) == len(got) and set(got) <= set(model), (got, "deleted or unknown ids returned")
        for hit in res.hits:  # every hit is the live document's current text, scored as the model scores it
            assert hit.text == model[hit.id]
            assert hit.score == pytest.approx(every[hit.id], abs=1e-4)
        if exact:
            assert len(got) == len(want_ids)
            np.testing.assert_allclose([h.score for h in res.hits], want_scores, atol=1e-4)
        else:  # ANN: recall@K over the tiny set
            assert set(got) == set(want_ids) or np.allclose(
                sorted(every[i] for i in got), sorted(want_scores), atol=1e-4
            )


@pytest.mark.slow
@pytest.mark.parametrize("kind,rescore", KINDS, ids=[k for k, _ in KINDS])
def test_random_write_sequences_match_a_brute_force_model(kind, rescore, encoder, tmp_path_factory):
    @settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(ops)
    def run(sequence):
        path = tmp_path_factory.mktemp(kind) / "c"
        spec = {"source": "static64", "options": {"index": kind, "rescore": rescore}}
        col = Collection.create(path, experts=[spec])
        base = BASE if kind == "pq" else 60  # PQ trains on its first batch
        model = {f"d{i}": TEXTS[i] for i in range(base)}
        col.add([{"id": i, "text": t} for i, t in model.items()])
        nxt, pick = base, 0
        try:
            for op, n in sequence:
                if op == "add":
                    new = {f"d{nxt + j}": TEXTS[(nxt + j) % len(TEXTS)] for j in range(n)}
                    nxt += n
                    col.add([{"id": i, "text": t} for i, t in new.items()])
                    model.update(new)
                elif op == "upsert":  # half replace live documents with other texts, half are new
                    live = sorted(model)
                    change = {
                        live[(pick + 7 * j) % len(live)]: TEXTS[(pick + 131 * j + 17) % len(TEXTS)] for j in range(n)
                    }
                    change[f"u{pick}"] = TEXTS[(pick * 13) % len(TEXTS)]
                    pick += 1
                    col.upsert([{"id": i, "text": t} for i, t in change.items()])
                    model.update(change)
                elif op == "delete" and len(model) > n + K:
                    live = sorted(model)
                    gone = [live[(pick + 11 * j) % len(live)] for j in range(n)]
                    pick += 1
                    col.delete(gone)
                    for i in set(gone):
                        model.pop(i)
                elif op == "reopen":
                    col.close()
                    col = Collection.open(path)
                _check(col, encoder, model, exact=kind != "hnsw")
            assert col.check().ok
        finally:
            col.close()

    run()


def test_hnsw_rebuilds_after_many_deletes_and_keeps_answering(encoder, tmp_path):
    col = Collection.create(tmp_path / "c", experts=[{"source": "static64", "options": {"index": "hnsw"}}])
    model = {f"d{i}": TEXTS[i] for i in range(120)}
    col.add([{"id": i, "text": t} for i, t in model.items()])
    col.search("warm", k=1)
    index = col.expert()._index
    col.delete([f"d{i}" for i in range(20)])
    for i in range(20):
        model.pop(f"d{i}")
    assert index.tombstones == 20  # a tombstone each, below the rebuild share
    _check(col, encoder, model, exact=False)
    col.delete([f"d{i}" for i in range(20, 40)])
    for i in range(20, 40):
        model.pop(f"d{i}")
    assert col.expert()._index.tombstones == 0 and len(col.expert()._index._node_ids) == 80  # rebuilt
    _check(col, encoder, model, exact=False)
    col.close()


@pytest.mark.slow
@pytest.mark.parametrize("fde_index", ["flat", "hnsw", "fp16", "int8", "binary", "pq", "mrl-128"])
def test_multivector_writes_match_exact_maxsim(fde_index, tmp_path):
    """A multi-vector expert's FDE index of every kind under add / upsert / delete / reopen: with candidates
    covering every document, fde-rerank must equal MaxSim computed here from the token encoder's own output.
    PQ trains its codebooks on its first batch, so it starts from 300 documents (30 for the other kinds)."""
    base = BASE if fde_index == "pq" else 30
    spec = {"source": "minilm-tokens", "options": {"index": fde_index, "candidates": base + 30}}
    path = tmp_path / "c"
    col = Collection.create(path, experts=[spec])
    model = {f"d{i}": TEXTS[i] for i in range(base)}
    col.add([{"id": i, "text": t} for i, t in model.items()])
    col.upsert([{"id": "d3", "text": TEXTS[200]}, {"id": "n1", "text": TEXTS[201]}])
    model.update({"d3": TEXTS[200], "n1": TEXTS[201]})
    col.delete(["d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12", "d13"])
    for i in range(5, 14):
        model.pop(f"d{i}")
    col.close()
    col = Collection.open(path)
    tok = col.expert().encoder
    ids = sorted(model)
    docs = tok.encode_documents([model[i] for i in ids])
    for q in QUERIES:
        qt = tok.encode_queries([q])[0].astype(np.float32)
        truth = np.array([float((qt @ np.asarray(d, dtype=np.float32).T).max(axis=1).sum()) for d in docs])
        order = np.argsort(-truth, kind="stable")[:K]
        res = col.search(q, k=K)
        assert set(res.ids) <= set(model)
        np.testing.assert_allclose([h.score for h in res.hits], truth[order], atol=2e-2)
    col.close()
