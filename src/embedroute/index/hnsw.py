"""HNSW (Malkov & Yashunin, TPAMI 2018) over float32 vectors, with deletes and upserts.

FAISS's ``IndexHNSWFlat`` cannot remove vectors (``remove_ids`` is not implemented for it), and an
upsert keeps the document's row id. So the graph's nodes are addressed by position here, not by row
id: ``_node_ids`` maps node -> row id and ``_alive`` marks the nodes still current. A delete is a
tombstone, cleared from every search by a node bitmap passed to FAISS (``IDSelectorBitmap``; a
filtered search passes the bitmap of the allowed live nodes instead), so a delete can never fail
after the store has committed it. Tombstoned nodes still route the graph traversal, as the removed
nodes of HNSW's own delete-by-marking do; once they pass ``REBUILD_SHARE`` of the graph it is rebuilt
from the live vectors. The node map and tombstones are saved with the graph.

The graph's flat storage is the index's only copy of the vectors in memory (exact rescoring, exact filtered
search and ``vectors_of`` read it by node). The saved index is the graph without that storage: reopening
fills it from the store's vectors (the durable copy), so each vector is on disk once, in the store; only
tombstoned nodes, whose documents the store no longer has, keep their vectors in the index file.

Written by hand because no library we use offers a deletable FAISS HNSW; hnswlib has ``mark_deleted``
but no filtered search at a usable speed here.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np
from typing_extensions import override

from .compressed import CompressedIndex

#: rebuild the graph once this share of its nodes are tombstones
REBUILD_SHARE = 0.25
#: a row id -> node table is kept while the largest row id is within this many times the live nodes
_TABLE_SLACK = 4
_MAGIC = b"EHNSW2\0\0"  # graph without storage; EHNSW1 files (storage inside) are still read
_MAGIC_V1 = b"EHNSW1\0\0"
#: nodes per chunk when a restored graph's storage is filled from the store's vectors
_FILL_CHUNK = 16384


def auto_ef_search(n: int) -> int:
    """Default HNSW efSearch for ``n`` vectors: 256 up to 100,000, 2048 from 1,000,000, log-linear between.

    Both ends were chosen by ``benchmarks/hnsw_defaults.py`` at M 48 / efConstruction 400, on tuning queries
    of ``benchmarks/filtered.py``'s sets that it never scores (see BENCHMARKS.md).

    >>> [auto_ef_search(n) for n in (5_000, 100_000, 300_000, 1_000_000, 5_000_000)]
    [256, 256, 690, 2048, 2048]
    """
    if n <= 100_000:
        return 256
    return int(min(2048, round(256 * (n / 100_000) ** (math.log(8) / math.log(10)))))


def _bitmap(n: int, nodes: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[nodes] = True
    return np.packbits(mask, bitorder="little")


class HNSWIndex(CompressedIndex):
    """FAISS HNSW with tombstoned deletes, filtering during traversal.

    Defaults: M 48, efConstruction 400, efSearch :func:`auto_ef_search` of the size (chosen by
    ``benchmarks/hnsw_defaults.py``: the fastest setting reaching recall@10 0.99 on its tuning queries).

    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((50, 8)).astype(np.float32)
    >>> x /= np.linalg.norm(x, axis=1, keepdims=True)
    >>> idx = HNSWIndex(8)
    >>> idx.add(np.arange(50), x)
    >>> idx.remove(np.array([3]))
    >>> idx.add(np.array([3]), -x[3:4])        # an upsert keeps the row id
    >>> int(idx.search(-x[3:4], 1)[1][0, 0]), len(idx)
    (3, 50)
    """

    kind = "hnsw"
    vectors_beside = False

    def __init__(
        self, dim: int, *, m: int = 48, ef_construction: int = 400, ef_search: int | None = None, rescore: int = 0
    ) -> None:
        super().__init__(
            dim,
            rescore=rescore,
            m=m,
            ef_construction=ef_construction,
            ef_search="auto" if ef_search is None else ef_search,
        )
        self.m, self.ef_construction, self._ef_search = m, ef_construction, ef_search
        self._node_ids = np.zeros(0, dtype=np.int64)
        self._alive = np.zeros(0, dtype=bool)
        #: row id -> live node: a table (and None) or the sorted live row ids and their nodes; per write
        self._live: tuple[np.ndarray, np.ndarray | None] | None = None
        self._keep: Any = None  # the bitmap of the current search, alive while FAISS reads it
        self._alive_bits: np.ndarray | None = None  # bitmap of live nodes when any are tombstoned; per write

    @property
    def ef_search(self) -> int:
        """The efSearch used: as given, or (default) :func:`auto_ef_search` of the current size."""
        return self._ef_search if self._ef_search is not None else auto_ef_search(len(self))

    @property
    def tombstones(self) -> int:
        """Deleted nodes still in the graph (cleared by the next rebuild)."""
        return int(len(self._alive) - self._alive.sum())

    def _make(self, train: np.ndarray) -> Any:
        import faiss

        hnsw = faiss.IndexHNSWFlat(self.dim, self.m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = self.ef_construction
        return hnsw

    def _add_codes(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._index.add(vectors)
        self._node_ids = np.concatenate([self._node_ids, ids])
        self._alive = np.concatenate([self._alive, np.ones(len(ids), dtype=bool)])
        self._live = self._alive_bits = None

    @override
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return
        if len(self._ids):
            present = ids[np.isin(ids, self._ids)]
            if len(present):  # re-adding a current id replaces it, as an upsert does
                self.remove(present)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self._index is None:
            self._index = self._make(vectors)
        self._add_codes(ids, vectors)
        self._ids = np.concatenate([self._ids, ids])
        self._order = None

    @override
    def full_vectors(self) -> None:
        """None: the graph's own storage holds the vectors (nothing is saved beside it)."""
        return None

    @override
    def vectors_of(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        nodes = self._nodes_of(ids)
        if len(nodes) != len(ids):
            raise KeyError(f"{len(ids) - len(nodes)} of the ids are not in the index")
        if len(nodes) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._stored()[nodes]  # fancy indexing copies: nothing returned points into FAISS's memory

    def _flat(self) -> Any:
        import faiss

        return faiss.downcast_index(self._index.storage)

    def _stored(self) -> np.ndarray:
        """A view of the graph's float32 storage, one row per node; valid only until the next add, so it
        is made again for each use and never handed out."""
        import faiss

        n = self._index.ntotal
        return faiss.rev_swig_ptr(self._flat().get_xb(), n * self.dim).reshape(n, self.dim)

    @override
    def _exact(self, queries: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-``k`` among ``allowed``: FAISS's ``compute_distance_subset`` scores just those nodes in
        the graph's storage, without gathering their vectors first."""
        import faiss

        nodes = np.ascontiguousarray(self._nodes_of(allowed), dtype=np.int64)
        n = len(queries)
        if len(nodes) == 0:
            return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
        k = min(k, len(nodes))
        flat, scores = self._flat(), np.empty(len(nodes), dtype=np.float32)
        out, at = faiss.swig_ptr(scores), faiss.swig_ptr(nodes)
        out_s, out_i = np.empty((n, k), dtype=np.float32), np.empty((n, k), dtype=np.int64)
        for qi in range(n):
            q = np.ascontiguousarray(queries[qi : qi + 1], dtype=np.float32)
            flat.compute_distance_subset(1, faiss.swig_ptr(q), len(nodes), out, at)
            top = np.argpartition(-scores, k - 1)[:k] if k < len(nodes) else np.arange(len(nodes))
            top = top[np.argsort(-scores[top], kind="stable")]
            out_s[qi], out_i[qi] = scores[top], self._node_ids[nodes[top]]
        return out_s, out_i

    @override
    def remove(self, ids: np.ndarray) -> None:
        if len(ids) == 0 or self._index is None:
            return
        ids = np.asarray(ids, dtype=np.int64)
        self._alive &= ~np.isin(self._node_ids, ids)
        self._ids = self._ids[~np.isin(self._ids, ids)]
        self._order = self._live = self._alive_bits = None
        if self.tombstones > REBUILD_SHARE * len(self._alive):
            self._rebuild()

    @override
    def compact(self) -> int:
        """A new graph over the live vectors when any node is tombstoned (deletes below ``REBUILD_SHARE``
        leave them in the graph, searched past): how many were dropped."""
        dropped = self.tombstones
        if dropped:
            self._rebuild()
        return dropped

    def _rebuild(self) -> None:
        """A new graph over the live vectors only (no tombstones)."""
        ids = self._ids
        full = self.vectors_of(ids)
        self._ids = np.zeros(0, dtype=np.int64)
        self._node_ids = np.zeros(0, dtype=np.int64)
        self._alive = np.zeros(0, dtype=bool)
        self._index, self._order, self._live, self._alive_bits = None, None, None, None
        self.add(ids, full)

    # -- persistence: the graph, its node map and tombstones; the live vectors come from the store --------
    @override
    def dump(self) -> bytes:
        """The graph without its float32 storage (FAISS ``IO_FLAG_SKIP_STORAGE``), the node map, the
        tombstones and the vectors of tombstoned nodes only: the live nodes' vectors are the store's, read
        back by :meth:`restore`, so the saved index holds no second copy of them."""
        import faiss

        if self._index is None:
            return b""
        writer = faiss.VectorIOWriter()
        faiss.write_index(self._index, writer, faiss.IO_FLAG_SKIP_STORAGE)
        graph = faiss.vector_to_array(writer.data).tobytes()
        dead = np.flatnonzero(~self._alive)
        return (
            _MAGIC
            + struct.pack("<QQQ", len(graph), len(self._node_ids), len(dead))
            + graph
            + self._node_ids.astype("<i8").tobytes()
            + self._alive.astype(np.uint8).tobytes()
            + np.ascontiguousarray(self._stored()[dead], dtype="<f4").tobytes()
        )

    @override
    def restore(self, blob: bytes, ids: np.ndarray | None, vectors: np.ndarray | None = None) -> None:
        """The saved graph over the store's ``ids`` / ``vectors``, which must be exactly its live nodes'
        row ids (any order). A file of the older format (``EHNSW1``, storage inside) is read as it is."""
        import faiss

        if blob[: len(_MAGIC_V1)] == _MAGIC_V1:
            self._restore_v1(blob, ids)
            return
        if blob[: len(_MAGIC)] != _MAGIC:
            raise ValueError("not an embedroute HNSW file (damaged)")
        if ids is None or vectors is None:
            raise ValueError("a saved HNSW graph is restored with the store's row ids and vectors")
        head = len(_MAGIC) + 24
        if len(blob) < head:
            raise ValueError("truncated HNSW file")
        n_graph, n_nodes, n_dead = struct.unpack("<QQQ", blob[len(_MAGIC) : head])
        at_dead = head + n_graph + 9 * n_nodes
        if len(blob) != at_dead + 4 * self.dim * n_dead:
            raise ValueError("truncated HNSW file")
        node_ids = np.frombuffer(blob[head + n_graph : head + n_graph + 8 * n_nodes], dtype="<i8").astype(np.int64)
        alive = np.frombuffer(blob[head + n_graph + 8 * n_nodes : at_dead], dtype=np.uint8).astype(bool)
        if int((~alive).sum()) != n_dead:
            raise ValueError("HNSW file's tombstones do not match its saved vectors")
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.asarray(vectors, dtype=np.float32)
        live = node_ids[alive]
        order = np.argsort(ids, kind="stable")
        pos = np.minimum(np.searchsorted(ids[order], live), max(len(ids) - 1, 0))
        if len(live) != len(ids) or vectors.shape != (len(ids), self.dim) or not np.array_equal(ids[order][pos], live):
            raise ValueError("stored HNSW graph does not hold the store's vectors")
        reader = faiss.VectorIOReader()
        faiss.copy_array_to_vector(np.frombuffer(blob[head : head + n_graph], dtype=np.uint8), reader.data)
        index: Any = faiss.read_index(reader, faiss.IO_FLAG_SKIP_STORAGE)
        if index.ntotal != n_nodes or index.d != self.dim:
            raise ValueError("stored HNSW graph does not match its node map")
        dead = np.frombuffer(blob[at_dead:], dtype="<f4").reshape(n_dead, self.dim)
        source = np.empty(n_nodes, dtype=np.int64)  # node -> row of `vectors`, or -1 - its row in `dead`
        source[alive] = order[pos]
        source[~alive] = -1 - np.arange(n_dead)
        storage: Any = faiss.IndexFlatIP(self.dim)
        for start in range(0, n_nodes, _FILL_CHUNK):  # filled in chunks: no third whole copy in memory
            src = source[start : start + _FILL_CHUNK]
            chunk = np.empty((len(src), self.dim), dtype=np.float32)
            chunk[src >= 0] = vectors[src[src >= 0]]
            chunk[src < 0] = dead[-1 - src[src < 0]]
            storage.add(chunk)
        storage.this.disown()  # the graph owns (and frees) its storage, as one FAISS built itself does
        index.storage, index.own_fields = storage, True
        self._index, self._node_ids, self._alive = index, node_ids, alive
        self._ids = live.copy()
        self._order = self._live = self._alive_bits = None

    def _restore_v1(self, blob: bytes, ids: np.ndarray | None) -> None:
        import faiss

        head = len(_MAGIC_V1) + 16
        if len(blob) < head:
            raise ValueError("truncated HNSW file")
        n_graph, n_nodes = struct.unpack("<QQ", blob[len(_MAGIC_V1) : head])
        if len(blob) != head + n_graph + 9 * n_nodes:
            raise ValueError("truncated HNSW file")
        index = faiss.deserialize_index(np.frombuffer(blob[head : head + n_graph], dtype=np.uint8))
        node_ids = np.frombuffer(blob[head + n_graph : head + n_graph + 8 * n_nodes], dtype="<i8").astype(np.int64)
        alive = np.frombuffer(blob[head + n_graph + 8 * n_nodes :], dtype=np.uint8).astype(bool)
        live = node_ids[alive]
        if index.ntotal != n_nodes or (ids is not None and not np.array_equal(np.sort(live), np.sort(ids))):
            raise ValueError("stored HNSW graph does not hold the store's vectors")
        self._index, self._node_ids, self._alive = index, node_ids, alive
        self._ids = live.copy()
        self._order = self._live = self._alive_bits = None

    # -- search ------------------------------------------------------------------------------------
    def _params(self, ef: int, nodes: np.ndarray | None) -> Any:
        import faiss

        params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]  # SWIG class the stubs miss
        params.efSearch = int(max(ef, 1))
        if nodes is None:  # unfiltered: only the tombstones are excluded, with a bitmap kept until the next write
            if self._alive_bits is None:
                self._alive_bits = (
                    np.packbits(self._alive, bitorder="little") if self.tombstones else np.zeros(0, dtype=np.uint8)
                )
            if len(self._alive_bits):
                self._keep = self._alive_bits
                params.sel = faiss.IDSelectorBitmap(len(self._alive), faiss.swig_ptr(self._keep))
        else:
            self._keep = _bitmap(len(self._alive), nodes)
            params.sel = faiss.IDSelectorBitmap(len(self._alive), faiss.swig_ptr(self._keep))
        return params

    def _to_rows(self, scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.where(labels >= 0, self._node_ids[np.maximum(labels, 0)], -1)
        return scores, rows

    def _raw_search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, labels = self._index.search(queries, k, params=self._params(max(self.ef_search, k), None))
        return self._to_rows(scores, labels)

    def _nodes_of(self, rows: np.ndarray) -> np.ndarray:
        """Live graph nodes of the given row ids, in their order (ids not in the index are skipped).

        Row ids are dense (the store's autoincrement), so a table row id -> node answers a filtered
        search's allowed set with one gather; ids far sparser than the nodes fall back to a binary
        search over the sorted live ids."""
        if self._live is None:
            nodes = np.flatnonzero(self._alive)
            live_rows = self._node_ids[nodes]
            top = int(live_rows.max()) + 1 if len(live_rows) else 0
            if top <= _TABLE_SLACK * len(live_rows) + 65536:
                table = np.full(top, -1, dtype=np.int64)
                table[live_rows] = nodes
                self._live = (table, None)
            else:
                order = np.argsort(live_rows, kind="stable")
                self._live = (live_rows[order], nodes[order])
        keys, at = self._live
        rows = np.asarray(rows, dtype=np.int64)
        if at is None:  # keys is the table
            found = keys[rows[(rows >= 0) & (rows < len(keys))]]
            return found[found >= 0]
        pos = np.minimum(np.searchsorted(keys, rows), max(len(keys) - 1, 0))
        hit = keys[pos] == rows if len(keys) else np.zeros(len(rows), dtype=bool)
        return at[pos[hit]]

    def _search_with_selector(
        self, queries: np.ndarray, k: int, allowed: np.ndarray, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        ef = max(int(params.get("efSearch", self.ef_search)), k)
        scores, labels = self._index.search(
            np.ascontiguousarray(queries, dtype=np.float32), k, params=self._params(ef, self._nodes_of(allowed))
        )
        return self._to_rows(scores, labels)

    def bytes_per_vector(self) -> float:
        """The graph's float32 storage plus its links: the index's only copy of the vectors."""
        return 4.0 * self.dim + 8.0 * self.m
