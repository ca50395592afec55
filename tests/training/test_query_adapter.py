"""Query-side LoRA experts: trained on real queries against fixed MiniLM document vectors, saved as an
adapter with its manifest, loaded as an expert that shares the base expert's vectors in a collection."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedroute.evaluation.beir import train_and_test
from embedroute.experts.registry import base_of, make_expert
from embedroute.experts.trained import MANIFEST
from embedroute.training.query_adapter import train_query_expert

pytestmark = pytest.mark.slow


def _mrr(encoder, ds, doc_ids, docs) -> float:
    qids = list(ds.queries)
    scores = encoder.encode_queries([ds.queries[q] for q in qids], cache=False) @ docs.T
    out = []
    for i, q in enumerate(qids):
        order = [doc_ids[j] for j in np.argsort(-scores[i])]
        ranks = [order.index(d) + 1 for d, s in ds.qrels[q].items() if s > 0 and d in order]
        out.append(1.0 / min(ranks))
    return float(np.mean(out))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from embedroute.demo import sample_path

    folder = tmp_path_factory.mktemp("qa") / "minilm-q-sample"
    train_query_expert(sample_path(), out=folder, epochs=6, lr=1e-3, show_progress=False, batch_size=8)
    return folder


def test_training_fits_the_training_queries_and_writes_its_manifest(trained, minilm):
    from embedroute.demo import sample_path

    manifest = json.loads((trained / MANIFEST).read_text())
    assert manifest["base"] == "minilm" and manifest["documents_from"] == "minilm"
    assert manifest["trained_on"]["split"] == "train-half" and manifest["trained_on"]["queries"] == 25
    assert manifest["training"]["steps"] == 18 and len(manifest["adapter_hash"]) == 64
    assert (trained / "adapter" / "adapter_config.json").exists()

    train, _ = train_and_test(sample_path())
    corpus = train.corpus()
    ids = [d["id"] for d in corpus]
    docs = minilm.encode_documents([f"{d['title']} {d['text']}" if d["title"] else d["text"] for d in corpus])
    expert = make_expert(str(trained))
    assert base_of(str(trained)) == "minilm"  # read from the manifest, without building the expert
    assert expert.documents_from == "minilm" and expert.encoder.config()["adapter_hash"] == manifest["adapter_hash"]
    # the adapter moved the query vectors, towards the judged documents of its training queries
    assert _mrr(expert.encoder, train, ids, docs) > _mrr(minilm, train, ids, docs) + 0.02


def test_a_trained_expert_joins_a_collection_and_shares_the_base_vectors(trained, tmp_path, sample_dir):
    from embedroute import Collection

    col = Collection.create(tmp_path / "c", experts=["minilm"])
    col.add_file(sample_dir, show_progress=False)
    col.add_expert({"source": str(trained), "name": "sample-q"})
    assert col.check().counts == {"documents": 500, "vectors.minilm": 500}  # no vectors of its own
    query = "Vitamin D deficiency is associated with fractures."
    res = col.search(query, k=5, expert="sample-q")
    base = col.search(query, k=5, expert="minilm")
    assert res.expert == "sample-q" and [h.score for h in res.hits] != [h.score for h in base.hits]
    col.close()
    again = Collection.open(tmp_path / "c")
    info = again.info()["experts"]["sample-q"]
    assert info["documents_from"] == "minilm" and info["encoder"]["type"] == "transformer+lora"
    assert [h.id for h in again.search(query, k=5, expert="sample-q").hits] == [h.id for h in res.hits]
    again.close()


def test_bad_base_or_name_is_a_clear_error(tmp_path, sample_dir):
    from embedroute.errors import InputError

    with pytest.raises(InputError, match="not a sentence-transformers model"):
        train_query_expert(sample_dir, base="static64", out=tmp_path / "x", show_progress=False)
    for taken in ("minilm", "bm25", "../x"):
        with pytest.raises(InputError, match="give another --name"):
            train_query_expert(sample_dir, name=taken, out=tmp_path / "y", show_progress=False)
    assert not (tmp_path / "y").exists()
