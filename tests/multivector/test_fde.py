"""MUVERA FDEs against a literal, loop-by-loop reading of the paper's definition, plus the properties
the paper proves or relies on."""

from __future__ import annotations

import numpy as np
import pytest

from embedroute.errors import InputError
from embedroute.multivector.fde import FDE, FDEParams
from embedroute.multivector.maxsim import maxsim
from embedroute.multivector.tokens import TokenVectors


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def reference(fde: FDE, tokens: np.ndarray, document: bool) -> np.ndarray:
    """The paper's definition, one bucket and one repetition at a time."""
    p = fde.params
    reps = []
    for r in range(p.r_reps):
        ids = [int(sum((1 << j) for j in range(p.k_sim) if t @ fde.hyperplanes[r][:, j] > 0)) for t in tokens]
        blocks = []
        for k in range(p.buckets):
            members = [t for t, b in zip(tokens, ids) if b == k]
            if members:
                v = np.mean(members, 0) if document else np.sum(members, 0)
            elif document and p.fill_empty:
                dist = [bin(b ^ k).count("1") for b in ids]
                v = tokens[int(np.argmin(dist))]  # argmin: the earliest of the nearest
            else:
                v = np.zeros(fde.d)
            blocks.append(v if fde.projections is None else v @ fde.projections[r])
        reps.append(np.concatenate(blocks))
    return np.concatenate(reps)


@pytest.mark.parametrize(
    "params",
    [
        FDEParams(r_reps=3, k_sim=3, d_proj=4, seed=1),
        FDEParams(r_reps=2, k_sim=4, d_proj=16, seed=2),  # d_proj == d: identity
        FDEParams(r_reps=2, k_sim=2, d_proj=8, seed=3, fill_empty=False),
    ],
)
def test_matches_the_paper_definition(params):
    rng = np.random.default_rng(7)
    docs = [unit(rng.normal(size=(int(n), 16))) for n in rng.integers(1, 12, size=25)]  # many empty buckets
    fde = FDE(16, params)
    got = fde.encode_documents(docs)
    for i, d in enumerate(docs):
        np.testing.assert_allclose(got[i], reference(fde, d, True), rtol=1e-5, atol=1e-5)
    q = unit(rng.normal(size=(5, 16)))
    np.testing.assert_allclose(fde.encode_queries([q])[0], reference(fde, q, False), rtol=1e-5, atol=1e-5)


def test_empty_buckets_filled_for_documents_only():
    rng = np.random.default_rng(0)
    one = unit(rng.normal(size=(1, 8)))  # one token: every other bucket of every repetition is empty
    fde = FDE(8, FDEParams(r_reps=4, k_sim=3, d_proj=8))
    d = fde.encode_documents([one])[0].reshape(4, 8, 8)
    q = fde.encode_queries([one])[0].reshape(4, 8, 8)
    assert np.allclose(d, one[0])  # every bucket holds the only token
    assert ((np.abs(q).sum(-1) > 0).sum(1) == 1).all()  # a query fills exactly one bucket per repetition
    assert np.isclose(float(d.ravel() @ q.ravel()), 4 * float(one[0] @ one[0]))


def expected_score(query: np.ndarray, a: np.ndarray, b: np.ndarray, k: int, fill: bool) -> float:
    """E<FDE_q(Q), FDE_d({a, b})> per repetition over the random hyperplanes and projections, worked out
    from SimHash collision probabilities (Charikar 2002; Goemans-Williamson for three vectors).

    With ``k`` independent hyperplanes, ``x`` and ``y`` share a bucket with probability ``(1 - t_xy/pi)**k``
    and ``x, y, z`` all do with ``(1 - (t_xy + t_xz + t_yz) / (2 pi))**k``. A query token q meets the mean
    of the document tokens in its bucket: (a + b) / 2, a, b or nothing; with one hyperplane and empty
    buckets filled, "nothing" (a and b both across the hyperplane) becomes a, the earlier token. The
    random +-1 projections keep inner products in expectation, and the query's FDE sums its tokens, so
    the expectation is the sum of each query token's."""

    def t(x, y):
        return float(np.arccos(np.clip(x @ y, -1.0, 1.0)))

    total = 0.0
    for q in query:
        p_a, p_b = (1 - t(q, a) / np.pi) ** k, (1 - t(q, b) / np.pi) ** k
        p_ab = (1 - (t(q, a) + t(q, b) + t(a, b)) / (2 * np.pi)) ** k
        total += p_ab * q @ (a + b) / 2 + (p_a - p_ab) * q @ a + (p_b - p_ab) * q @ b
        if fill:
            total += (1 - t(a, b) / np.pi - p_ab) * q @ a
    return total


@pytest.mark.parametrize(
    ("k_sim", "fill", "d_proj"), [(1, True, 16), (1, False, 16), (3, False, 16), (2, False, 8), (1, True, 8)]
)
def test_inner_product_has_the_expectation_simhash_gives(k_sim, fill, d_proj):
    rng = np.random.default_rng(0)
    a, b = unit(rng.normal(size=16)), unit(rng.normal(size=16))
    query = unit(np.vstack([a + 0.125 * rng.normal(size=16), b + 0.25 * rng.normal(size=16), rng.normal(size=16)]))
    per_rep = []
    for seed in range(8):  # 8 x 256 independent repetitions
        fde = FDE(16, FDEParams(r_reps=256, k_sim=k_sim, d_proj=d_proj, seed=seed, fill_empty=fill))
        doc = fde.encode_documents([np.vstack([a, b])])[0].reshape(256, -1)
        per_rep.extend((doc * fde.encode_queries([query])[0].reshape(256, -1)).sum(1))
    per_rep = np.array(per_rep)
    want = expected_score(query, a, b, k_sim, fill)
    assert abs(per_rep.mean() - want) < 5 * per_rep.std() / np.sqrt(len(per_rep))  # five standard errors


def test_one_bucket_scores_the_query_sum_against_the_document_mean():
    rng = np.random.default_rng(4)
    docs = [unit(rng.normal(size=(int(n), 16))) for n in (1, 3, 7)]
    q = unit(rng.normal(size=(5, 16)))
    fde = FDE(16, FDEParams(r_reps=3, k_sim=0, d_proj=16))  # one bucket, no projection: exact
    got = fde.encode_documents(docs) @ fde.encode_queries([q])[0]
    np.testing.assert_allclose(got, [3 * q.sum(0) @ d.mean(0) for d in docs], rtol=1e-5)


def test_fde_candidates_are_the_planted_exact_top_ten():
    """Ten documents share the query's three topics, 390 share none: exact MaxSim (brute force here)
    ranks the ten first, and so must the FDE inner product, under any seed."""
    rng = np.random.default_rng(1)
    topics = unit(rng.normal(size=(40, 32)))

    def doc(pick, n):
        return unit(topics[rng.choice(pick, size=n)] + 0.1 * rng.normal(size=(n, 32)))

    mine = rng.choice(40, size=3, replace=False)
    rest = np.setdiff1d(np.arange(40), mine)
    docs = [
        doc(np.concatenate([mine, rng.choice(rest, size=2, replace=False)]), int(rng.integers(20, 60)))
        for _ in range(10)
    ]
    docs += [
        doc(rng.choice(rest, size=int(rng.integers(2, 6)), replace=False), int(rng.integers(20, 60)))
        for _ in range(390)
    ]
    q = doc(mine, 8)
    brute = np.array([(d @ q.T).max(0).sum() for d in docs])
    assert set(np.argsort(-brute)[:10]) == set(range(10))
    tv = TokenVectors.from_list(docs)
    for seed in range(3):
        fde = FDE(32, FDEParams(r_reps=20, k_sim=4, d_proj=16, seed=seed))
        approx = fde.encode_documents(tv) @ fde.encode_queries([q])[0]
        assert set(np.argsort(-approx)[:10]) == set(range(10)), seed


def test_deterministic_from_seed_and_params_round_trip():
    rng = np.random.default_rng(3)
    docs = [unit(rng.normal(size=(10, 16))) for _ in range(5)]
    p = FDEParams(r_reps=3, k_sim=3, d_proj=4, final_dim=20, seed=11)
    a = FDE(16, p).encode_documents(docs)
    b = FDE(16, FDEParams(**p.to_json())).encode_documents(docs)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (5, 20) and FDE(16, p).config()["dim"] == 20
    c = FDE(16, FDEParams(r_reps=3, k_sim=3, d_proj=4, final_dim=20, seed=12)).encode_documents(docs)
    assert not np.allclose(a, c)


def test_count_sketch_final_projection_keeps_inner_products_unbiased():
    rng = np.random.default_rng(5)
    docs = [unit(rng.normal(size=(30, 16))) for _ in range(50)]
    q = unit(rng.normal(size=(6, 16)))
    raw = FDE(16, FDEParams(r_reps=10, k_sim=3, d_proj=8, seed=0))
    exact = raw.encode_documents(docs) @ raw.encode_queries([q])[0]
    sketched = []
    for seed in range(30):  # averaged over sketches, the projected inner product is the raw one
        f = FDE(16, FDEParams(r_reps=10, k_sim=3, d_proj=8, final_dim=256, seed=0))
        g = np.random.default_rng(seed)
        f._sketch_to = g.integers(0, 256, size=f.params.raw_dim)
        f._sketch_sign = (g.integers(0, 2, size=f.params.raw_dim) * 2 - 1).astype(np.float32)
        sketched.append(f.encode_documents(docs) @ f.encode_queries([q])[0])
    assert np.corrcoef(np.mean(sketched, 0), exact)[0, 1] > 0.95


def test_bad_parameters_and_dims():
    with pytest.raises(InputError):
        FDEParams(k_sim=11)
    with pytest.raises(InputError, match="16-d"):
        FDE(16).encode_documents([np.ones((2, 8))])
    with pytest.raises(InputError, match="shape"):
        TokenVectors.from_list([np.zeros((0, 4))])


def test_maxsim_over_chosen_rows_equals_maxsim_over_all():
    rng = np.random.default_rng(9)
    docs = [unit(rng.normal(size=(int(n), 16))) for n in rng.integers(1, 40, size=60)]
    tv = TokenVectors.from_list(docs)
    q = unit(rng.normal(size=(7, 16)))
    full = maxsim(q, tv, chunk_tokens=50)  # chunked over whole documents
    brute = np.array([(d @ q.T).max(0).sum() for d in docs])
    np.testing.assert_allclose(full, brute, rtol=1e-5)
    rows = rng.permutation(60)[:25]
    np.testing.assert_allclose(maxsim(q, tv, rows), brute[rows], rtol=1e-5)
    assert maxsim(q, tv, np.zeros(0, dtype=np.int64)).shape == (0,)
