from __future__ import annotations

import numpy as np
import pytest

from embedroute.encoders import TransformerEncoder, get_encoder
from embedroute.encoders.batching import token_budget_batches
from embedroute.encoders.transformer import BF16_MIN_COSINE

PAIRS = [
    ("A man is playing a guitar.", "Someone plays an acoustic guitar.", "The stock market closed lower today."),
    (
        "Vitamin D deficiency is linked to bone fractures.",
        "Low vitamin D raises the risk of broken bones.",
        "The train to Paris leaves at noon.",
    ),
]
TEXTS = [
    "short text",
    "a somewhat longer sentence about proteins folding in the endoplasmic reticulum under stress",
    " ".join(["long document about climate change and sea level rise"] * 30),
    "another query",
]


def test_minilm_paraphrases_score_above_unrelated(minilm):
    for a, b, c in PAIRS:
        v = minilm.encode([a, b, c], cache=False)
        assert v.shape == (3, 384)
        np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
        assert v[0] @ v[1] > v[0] @ v[2] + 0.3


def test_our_loop_matches_sentence_transformers_encode(minilm):
    from sentence_transformers import SentenceTransformer

    enc = TransformerEncoder(minilm.path, precision="fp32", max_seq_length=256)
    ours = enc.encode(TEXTS, cache=False)
    st = SentenceTransformer(str(minilm.path), device="cpu")
    st.max_seq_length = 256
    ref = st.encode(TEXTS, normalize_embeddings=True)
    assert (ours * ref).sum(1).min() > 0.99999


def test_bf16_autocast_is_verified_against_fp32(minilm):
    fp32 = TransformerEncoder(minilm.path, precision="fp32", max_seq_length=256).encode(TEXTS, cache=False)
    auto = TransformerEncoder(minilm.path, precision="auto", max_seq_length=256)
    vecs = auto.encode(TEXTS, cache=False)
    cos = (fp32 * vecs).sum(1).min()
    if auto.precision == "bf16":
        assert cos >= BF16_MIN_COSINE - 5e-4  # check sample passes at 0.9999; other texts stay close
    else:
        assert cos > 0.99999
    assert auto.config()["precision"] in ("bf16", "fp32")


def test_length_sorted_batches_keep_input_order(minilm):
    enc = TransformerEncoder(minilm.path, precision="fp32", token_budget=64, max_batch=2)
    together = enc.encode(TEXTS, cache=False)
    one_by_one = np.vstack([enc.encode([t], cache=False) for t in TEXTS])
    assert (together * one_by_one).sum(1).min() > 0.9999


def test_token_budget_batches_cover_every_index_once():
    lengths = np.random.default_rng(0).integers(1, 300, size=1000)
    batches = token_budget_batches(lengths, token_budget=2048, max_batch=64)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(1000))
    for b in batches:
        assert len(b) * lengths[b].max() <= 2048 or len(b) == 1


def test_truncate_dim_is_normalised_prefix(minilm):
    full = TransformerEncoder(minilm.path, precision="fp32", normalize=False).encode(TEXTS, cache=False)
    short = TransformerEncoder(minilm.path, precision="fp32", truncate_dim=128).encode(TEXTS, cache=False)
    assert short.shape == (4, 128)
    ref = full[:, :128] / np.linalg.norm(full[:, :128], axis=1, keepdims=True)
    np.testing.assert_allclose(short, ref, atol=1e-5)


def test_pooling_override_changes_vectors_and_identity(minilm):
    mean = TransformerEncoder(minilm.path, precision="fp32")
    cls = TransformerEncoder(minilm.path, precision="fp32", pooling="cls")
    assert mean.pooling == "mean" and cls.pooling == "cls"
    a, b = mean.encode(TEXTS, cache=False), cls.encode(TEXTS, cache=False)
    assert (a * b).sum(1).max() < 0.99
    assert mean.fingerprint("document") != cls.fingerprint("document")
    with pytest.raises(ValueError, match="unknown pooling"):
        TransformerEncoder(minilm.path, pooling="median")


def test_prompts_change_query_vectors_only(minilm):
    enc = TransformerEncoder(minilm.path, precision="fp32", prompts={"query": "query: "})
    q = enc.encode_queries(["protein folding"], cache=False)
    d = enc.encode_documents(["protein folding"], cache=False)
    assert float(q[0] @ d[0]) < 0.999
    assert enc.fingerprint("query") != enc.fingerprint("document")


def test_config_pins_model_and_weights(minilm):
    cfg = minilm.config()
    assert cfg["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert len(cfg["weight_hash"]) == 64 and cfg["dim"] == 384 and cfg["pooling"] == "mean"
    assert cfg["versions"]["torch"].startswith("2.13.0")


def test_local_folder_loads_like_the_name(minilm):
    enc = get_encoder(str(minilm.path))
    assert enc.dim == 384
    assert enc.config()["weight_hash"] == minilm.config()["weight_hash"]
