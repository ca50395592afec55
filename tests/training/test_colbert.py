"""The ColBERT training loop end to end on a few real triples: mined, trained, saved, loaded as an expert."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedroute.training import mine_triples, train_colbert

pytestmark = pytest.mark.slow


def test_mined_triples_are_judged_positives_and_unjudged_negatives(sample_dir):
    from embedroute.evaluation import load_beir

    triples = mine_triples([sample_dir], split="test", seed=1)
    ds = load_beir(sample_dir)
    texts = {f"{d['title']} {d['text']}" if d["title"] else d["text"]: d["id"] for d in ds.corpus()}
    by_query = {v: k for k, v in ds.queries.items()}
    assert 40 <= len(triples) <= len(ds.queries)
    for t in triples:
        judged = ds.qrels[by_query[t.query]]
        assert judged.get(texts[t.positive], 0) > 0 and texts[t.negative] not in judged
    assert mine_triples([sample_dir], split="test", seed=1) == triples  # seeded


def test_train_save_and_load_as_a_multivector_expert(sample_dir, tmp_path):
    from embedroute import Collection
    from embedroute.encoders.catalog import _minilm_folder

    triples = mine_triples([sample_dir], split="test")[:16]
    out = train_colbert(_minilm_folder(), triples, tmp_path / "cb", dim=32, batch_size=8, epochs=1, show_progress=False)
    meta = json.loads((out / "embedroute.json").read_text())
    assert meta["dim"] == 32 and meta["training"]["steps"] == 2 and np.isfinite(meta["training"]["loss_last_20"])
    col = Collection.create(tmp_path / "c", experts=[{"source": "colbert-minilm", "options": {"path": str(out)}}])
    col.add(
        [
            {"id": "a", "text": "Vitamin D supplements and bone fractures."},
            {"id": "b", "text": "Arctic sea ice extent."},
        ]
    )
    res = col.search("vitamin D fractures", k=2)
    assert res.expert == "colbert-minilm" and len(res.hits) == 2
    cfg = col.expert("colbert-minilm").config()["encoder"]
    assert cfg["dim"] == 32 and cfg["training"]["triples"] == 16


def test_missing_trained_model_says_how_to_make_it(tmp_path):
    from embedroute.errors import ModelNotAvailableError
    from embedroute.experts.registry import make_expert

    with pytest.raises(ModelNotAvailableError, match="train_colbert.py"):
        make_expert("colbert-minilm", path=str(tmp_path / "nothing"))
