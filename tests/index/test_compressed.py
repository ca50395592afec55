from __future__ import annotations

import json

import numpy as np
import pytest

from embedroute import Collection
from embedroute.index.factory import make_index

SPECS = ["fp16", "int8", "binary", "pq-16", "mrl-32"]


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, 64)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[:50] + 0.3 * rng.standard_normal((50, 64)).astype(np.float32)
    return x, q / np.linalg.norm(q, axis=1, keepdims=True)


def exact_top(x, q, k):
    return np.argsort(-(q @ x.T), axis=1)[:, :k]


@pytest.mark.parametrize("spec", SPECS)
def test_rescoring_recovers_exact_ranking(vectors, spec):
    x, q = vectors
    ids = np.arange(len(x), dtype=np.int64) + 1000
    truth = exact_top(x, q, 10) + 1000
    plain = make_index(spec, 64)
    plain.add(ids, x)
    rescored = make_index(spec, 64, rescore=20)
    rescored.add(ids, x)
    _, got_plain = plain.search(q, 10)
    scores, got = rescored.search(q, 10)

    def recall(found):
        return np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)])

    assert recall(got) >= recall(got_plain)
    exact = np.sort(q @ x.T, axis=1)[:, ::-1]
    found_exact = (q @ x.T)[np.arange(len(q))[:, None], got - 1000]
    np.testing.assert_allclose(scores, found_exact, atol=1e-5)  # rescored scores are exact
    everything = make_index(spec, 64, rescore=len(x) // 10)  # candidates cover the whole set
    everything.add(ids, x)
    s_all, got_all = everything.search(q, 10)
    assert recall(got_all) == 1.0
    np.testing.assert_allclose(s_all, exact[:, :10], atol=1e-5)


@pytest.mark.parametrize("spec", SPECS)
def test_remove_and_memory(vectors, spec):
    x, q = vectors
    idx = make_index(spec, 64, rescore=4)
    idx.add(np.arange(len(x)), x)
    idx.remove(np.arange(0, 50))
    _, got = idx.search(q, 5)
    assert len(idx) == len(x) - 50 and not set(got.ravel()) & set(range(50))
    assert idx.bytes_per_vector() < 4 * 64


def test_int8_ranges_are_fitted_once(vectors):
    x, _ = vectors
    idx = make_index("int8", 64)
    idx.add(np.arange(1000), x[:1000])
    import faiss

    def ranges():
        return faiss.vector_to_array(faiss.downcast_index(idx._index.index).sq.trained).copy()

    before = ranges()
    idx.add(np.arange(1000, 2000), x[1000:2000] * 3)  # a later batch outside the ranges
    np.testing.assert_array_equal(ranges(), before)
    assert len(before) == 2 * 64  # a min and a range per dimension


def test_bad_specs():
    with pytest.raises(ValueError, match="must divide"):
        make_index("pq-7", 64)
    with pytest.raises(ValueError, match="outside"):
        make_index("mrl-500", 64)
    with pytest.raises(ValueError, match="at least 256"):
        make_index("pq", 64).add(np.arange(10), np.ones((10, 64), dtype=np.float32))


def test_compressed_expert_in_a_collection(tmp_path, sample_dir):
    spec = {"source": "minilm", "name": "minilm-bin", "options": {"index": "binary", "rescore": 10}}
    col = Collection.create(tmp_path / "c", experts=["minilm", spec])
    col.add_file(sample_dir)
    for q in ["vitamin D and bone fractures", "stem cell reprogramming"]:
        assert col.search(q, k=5, expert="minilm-bin").ids == col.search(q, k=5, expert="minilm").ids
    assert col.info()["experts"]["minilm-bin"]["index"] == {"kind": "binary", "dim": 384, "rescore": 10}
    col.close()
    assert Collection.open(tmp_path / "c").check().ok


def test_tune_measures_and_recommends_within_tolerance(sample_dir, capsys, tmp_path):
    from embedroute.cli.main import main
    from embedroute.evaluation.tune import recommend, tune

    res = tune(
        sample_dir, "minilm", configs=(("flat", 0), ("int8", 0), ("binary", 0), ("binary", 10)), show_progress=False
    )
    rows = {(r["compression"], r["rescore"]): r for r in res.rows}
    assert rows[("flat", 0)]["ndcg_ratio"] == 1.0 and rows[("flat", 0)]["bytes_per_vector"] == 4 * 384
    assert rows[("binary", 10)]["bytes_per_vector"] == 48 and rows[("int8", 0)]["bytes_per_vector"] == 384
    ok = [r for r in res.rows if r["ndcg_ratio"] >= 0.99]
    assert res.recommended in ok and res.recommended["bytes_per_vector"] == min(r["bytes_per_vector"] for r in ok)
    assert recommend(res.rows, 0.0)["ndcg_ratio"] >= 1.0  # zero tolerance: nothing worse than float32
    out = tmp_path / "tune.json"
    assert main(["tune", "--data", str(sample_dir), "--configs", "int8,binaryx4", "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "recommended:" in text and "<- recommended" in text
    assert [r["compression"] for r in json.loads(out.read_text())["rows"]] == ["flat", "int8", "binary"]
    assert main(["tune", "--data", str(sample_dir), "--tolerance", "2"]) == 2


def test_hnsw_spec_sets_its_parameters_and_bad_specs_name_the_field():
    from embedroute.errors import InputError

    default = make_index("hnsw", 64)
    cfg = default.config()
    assert (cfg["m"], cfg["ef_construction"], cfg["ef_search"]) == (48, 400, "auto")
    assert default.ef_search == 256  # grows with the index: auto_ef_search(len)
    small = make_index("hnsw-16-100-64", 64)
    assert (small.m, small.ef_construction, small.ef_search) == (16, 100, 64)
    assert make_index("hnsw-24", 64).config()["m"] == 24
    rng = np.random.default_rng(3)
    x = rng.standard_normal((500, 64)).astype(np.float32)
    small.add(np.arange(500, dtype=np.int64), x)
    assert small.search(x[:5], 1)[1][:, 0].tolist() == [0, 1, 2, 3, 4]
    for bad in ("hnsw-x", "hnsw-1", "hnsw-8-8-8-8", "pq-x", "mrl", "mrl-y"):
        with pytest.raises(InputError, match="index"):
            make_index(bad, 64)
