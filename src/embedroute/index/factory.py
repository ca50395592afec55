"""Indexes from spec strings (``flat``, ``hnsw-M-EFC-EFS``, ``int8``, ``pq-M``, ``mrl-N``, ...)."""

from __future__ import annotations

from ..errors import InputError
from . import flat as _flat  # noqa: F401 - registers "flat"
from .base import INDEXES, VectorIndex
from .compressed import MatryoshkaIndex, PQIndex
from .hnsw import HNSWIndex

INDEXES.register("hnsw", HNSWIndex)


def make_index(spec: str, dim: int, rescore: int = 0) -> VectorIndex:
    """An index from a spec string: ``flat``, ``hnsw`` (or ``hnsw-M[-EFC[-EFS]]``: M, efConstruction,
    efSearch), ``fp16``, ``int8``, ``binary``, ``pq``/``pq-M``, ``mrl-N``.

    >>> make_index("mrl-128", 384, rescore=4).config()
    {'kind': 'mrl', 'dim': 384, 'rescore': 4, 'keep': 128}
    >>> make_index("hnsw-32-200-256", 384).config()
    {'kind': 'hnsw', 'dim': 384, 'rescore': 0, 'm': 32, 'ef_construction': 200, 'ef_search': 256}
    """
    name, _, arg = spec.partition("-")
    forms = {"hnsw": "hnsw-M, hnsw-M-EFCONSTRUCTION or hnsw-M-EFCONSTRUCTION-EFSEARCH", "pq": "pq-M", "mrl": "mrl-N"}
    try:
        values = [int(v) for v in arg.split("-")] if arg else []
    except ValueError:
        values = [-1]
    if name in forms and (
        values and min(values) < 2 or len(values) > (3 if name == "hnsw" else 1) or name == "mrl" and not values
    ):
        raise InputError(f"index {spec!r}: write {forms[name]} with integers >= 2", field="index")
    if name == "flat":
        return INDEXES.get("flat")(dim)
    if name == "hnsw" and values:
        keys = ("m", "ef_construction", "ef_search")
        return HNSWIndex(dim, rescore=rescore, **dict(zip(keys, values)))
    if name == "pq":
        return PQIndex(dim, m=values[0] if values else None, rescore=rescore)
    if name == "mrl":
        return MatryoshkaIndex(dim, keep=values[0], rescore=rescore)
    return INDEXES.get(name)(dim, rescore=rescore)
