"""Routers saved beside a collection: the training data (npz) and what was fitted (JSON).

Only the routing data is stored; routers are re-fitted from it on load (centroids and a small
logistic regression take milliseconds), so removing an expert recomputes the pilots from the stored
scores and embeddings alone, with no re-encoding and no retraining of anything else. Sparse embeddings
(a lexical routing encoder's) are stored as their CSR arrays, and a fitted routing encoder's state
(its vocabulary and idf) as JSON inside the same file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .base import RoutingData, is_sparse


def save_routing(folder: Path, name: str, data: RoutingData, meta: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.{os.getpid()}.tmp.npz"
    if is_sparse(data.embeddings):
        m = data.embeddings.tocsr()
        emb = {"emb_data": m.data, "emb_indices": m.indices, "emb_indptr": m.indptr, "emb_shape": np.array(m.shape)}
    else:
        emb = {"embeddings": data.embeddings}
    extra = {"routing_encoder": np.array(json.dumps(data.routing_encoder))} if data.routing_encoder else {}
    np.savez(tmp, **emb, **extra, scores=data.scores, datasets=np.array(data.datasets),
             experts=np.array(data.experts), query_ids=np.array(data.query_ids))
    os.replace(tmp, folder / f"{name}.npz")
    jtmp = folder / f".{name}.{os.getpid()}.tmp.json"
    jtmp.write_text(json.dumps(meta | {"experts": data.experts, "training_queries": len(data.datasets)},
                               indent=2))
    os.replace(jtmp, folder / f"{name}.json")


def load_routing(folder: Path, name: str) -> tuple[RoutingData, dict[str, Any]]:
    z = np.load(folder / f"{name}.npz")
    if "emb_data" in z:
        from scipy import sparse

        emb = sparse.csr_matrix((z["emb_data"], z["emb_indices"], z["emb_indptr"]), shape=tuple(z["emb_shape"]))
    else:
        emb = z["embeddings"]
    encoder = json.loads(str(z["routing_encoder"])) if "routing_encoder" in z else None
    data = RoutingData([str(e) for e in z["experts"]], emb, [str(d) for d in z["datasets"]],
                       z["scores"], [str(q) for q in z["query_ids"]], encoder)
    return data, json.loads((folder / f"{name}.json").read_text())
