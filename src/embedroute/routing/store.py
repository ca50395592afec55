"""Routers saved beside a collection: the training data (npz) and what was fitted (JSON).

Only the routing data is stored; routers are re-fitted from it on load (centroids and a small
logistic regression take milliseconds), so removing an expert recomputes the pilots from the stored
scores and embeddings alone, with no re-encoding and no retraining of anything else. Sparse embeddings
(a lexical routing encoder's) are stored as their CSR arrays, and a fitted routing encoder's state
(its vocabulary and idf) as JSON inside the same file.

A router's files are named after it (``routers/NAME.json``, ``.npz``); :func:`router_file` is the one place
that turns a name into a path, so a name like ``../../x`` is refused before anything is read or written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..names import file_inside
from .base import RoutingData, is_sparse


def router_file(folder: Path, name: str, suffix: str) -> Path:
    """``folder/NAME.SUFFIX`` for the router ``name``: a safe name (:func:`embedroute.names.check_name`)
    whose file stays inside ``folder``, else an InputError on field ``router``."""
    return file_inside(folder, name, suffix, field="router")


def save_routing(folder: Path, name: str, data: RoutingData, meta: dict[str, Any]) -> None:
    """Save the routing data ``name`` (npz) and its ``meta`` (JSON) in ``folder``, each written to a temporary file
    and renamed."""
    npz_path, json_path = router_file(folder, name, ".npz"), router_file(folder, name, ".json")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.{os.getpid()}.tmp.npz"
    if is_sparse(data.embeddings):
        m = data.embeddings.tocsr()
        emb = {"emb_data": m.data, "emb_indices": m.indices, "emb_indptr": m.indptr, "emb_shape": np.array(m.shape)}
    else:
        emb = {"embeddings": data.embeddings}
    arrays: dict[str, Any] = dict(emb)
    if data.features is not None:
        arrays["features"] = data.features
    if data.pair_scores is not None:
        arrays["pair_scores"] = data.pair_scores
    if data.routing_encoder:
        arrays["routing_encoder"] = np.array(json.dumps(data.routing_encoder))
    arrays |= {
        "scores": data.scores,
        "datasets": np.array(data.datasets),
        "experts": np.array(data.experts),
        "query_ids": np.array(data.query_ids),
    }
    np.savez(tmp, **arrays)
    os.replace(tmp, npz_path)
    jtmp = folder / f".{name}.{os.getpid()}.tmp.json"
    meta = meta | {
        "experts": data.experts,
        "training_queries": len(data.datasets),
        "routing_data": data.source,
        "costs": data.costs,
        "feature_experts": None if data.feature_experts is None else list(data.feature_experts),
    }
    jtmp.write_text(json.dumps(meta, indent=2))
    os.replace(jtmp, json_path)


def load_routing(folder: Path, name: str) -> tuple[RoutingData, dict[str, Any]]:
    """The routing data ``name`` and its meta, as :func:`save_routing` wrote them."""
    json_path = router_file(folder, name, ".json")
    z = np.load(router_file(folder, name, ".npz"))
    if "emb_data" in z:
        from scipy import sparse

        emb = sparse.csr_matrix((z["emb_data"], z["emb_indices"], z["emb_indptr"]), shape=tuple(z["emb_shape"]))
    else:
        emb = z["embeddings"]
    encoder = json.loads(str(z["routing_encoder"])) if "routing_encoder" in z else None
    meta = json.loads(json_path.read_text())
    data = RoutingData(
        [str(e) for e in z["experts"]],
        emb,
        [str(d) for d in z["datasets"]],
        z["scores"],
        [str(q) for q in z["query_ids"]],
        encoder,
        meta.get("routing_data"),
        z["features"] if "features" in z else None,
        meta.get("costs"),
        tuple(meta["feature_experts"]) if meta.get("feature_experts") else None,
        z["pair_scores"] if "pair_scores" in z else None,
    )
    return data, meta
