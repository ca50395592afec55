"""MUVERA fixed-dimensional encodings (Dhulipala et al., NeurIPS 2024, arXiv 2405.19504, Section 2).

Per repetition r (independent randomness, one seed for queries and documents): SimHash with ``k_sim``
Gaussian hyperplanes puts each token in one of ``B = 2**k_sim`` buckets; a query sums its tokens per
bucket (empty buckets stay zero), a document averages them and fills an empty bucket with the token
whose bucket id differs from it in the fewest bits (ties: the earliest token); each bucket goes
through a random +-1 projection ``psi(x) = x S / sqrt(d_proj)`` (identity when ``d_proj == d``); the
blocks are concatenated over buckets and repetitions, optionally followed by a Count-Sketch final
projection. Then ``<FDE_q(Q), FDE_d(P)>`` approximates Chamfer/MaxSim.

Bucket ids are the plain binary value of the sign bits (as in fastembed and Weaviate; the reference
C++ uses a Gray code, which only relabels buckets: Hamming distances between sign patterns, and so
the encodings' inner products, are the same). Since ``psi`` is linear, tokens are projected before
they are pooled, which gives identical encodings with far less work. Written here because no library
computes paper-exact document FDEs (fastembed fills empty buckets with an approximation).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import InputError
from .tokens import TokenVectors


@dataclass(frozen=True)
class FDEParams:
    """``r_reps`` repetitions x ``2**k_sim`` buckets x ``d_proj`` dims (fastembed's defaults: 20, 5, 16)."""

    r_reps: int = 20
    k_sim: int = 5
    d_proj: int = 16
    final_dim: int | None = None
    seed: int = 42
    fill_empty: bool = True

    def __post_init__(self) -> None:
        if not (1 <= self.r_reps <= 256 and 0 <= self.k_sim <= 10 and 1 <= self.d_proj <= 4096):
            raise InputError("FDE needs 1 <= r_reps <= 256, 0 <= k_sim <= 10, 1 <= d_proj <= 4096")
        if self.final_dim is not None and self.final_dim < 1:
            raise InputError("final_dim must be positive")

    @property
    def buckets(self) -> int:
        """Buckets per repetition: ``2 ** k_sim`` SimHash sign patterns."""
        return 1 << self.k_sim

    @property
    def raw_dim(self) -> int:
        """Width before the final projection: repetitions x buckets x projected dimension."""
        return self.r_reps * self.buckets * self.d_proj

    @property
    def dim(self) -> int:
        """Width of an FDE: ``final_dim`` when a final projection is set, else :attr:`raw_dim`."""
        return self.final_dim or self.raw_dim

    def to_json(self) -> dict[str, object]:
        """The parameters as a JSON-able dict (saved with the expert's config)."""
        return asdict(self)


class FDE:
    """Encoder of token sets into MUVERA FDEs for token dimension ``d``.

    >>> rng = np.random.default_rng(0)
    >>> fde = FDE(8, FDEParams(r_reps=2, k_sim=2, d_proj=4))
    >>> fde.encode_queries([rng.normal(size=(3, 8))]).shape
    (1, 32)
    """

    def __init__(self, d: int, params: FDEParams | None = None) -> None:
        self.d = d
        self.params = p = params or FDEParams()
        rng = np.random.default_rng(p.seed)
        self.hyperplanes = rng.standard_normal((p.r_reps, d, p.k_sim)).astype(np.float32)
        if p.d_proj == d:
            self.projections = None
        else:
            signs = rng.integers(0, 2, size=(p.r_reps, d, p.d_proj)).astype(np.float32) * 2 - 1
            self.projections = signs / np.float32(np.sqrt(p.d_proj))
        if p.final_dim:  # Count-Sketch: each raw coordinate lands in one output coordinate with a sign
            self._sketch_to = rng.integers(0, p.final_dim, size=p.raw_dim)
            self._sketch_sign = (rng.integers(0, 2, size=p.raw_dim) * 2 - 1).astype(np.float32)
        bits = np.arange(p.buckets)
        self._hamming = np.array([[bin(a ^ b).count("1") for b in bits] for a in bits], dtype=np.int64)

    def config(self) -> dict[str, object]:
        """The input token dimension, the parameters and the FDE width."""
        return {"d": self.d, **self.params.to_json(), "dim": self.params.dim}

    def _buckets(self, r: int, vectors: np.ndarray) -> np.ndarray:
        if self.params.k_sim == 0:
            return np.zeros(len(vectors), dtype=np.int64)
        bits = (vectors @ self.hyperplanes[r]) > 0
        return (bits.astype(np.int64) << np.arange(self.params.k_sim)).sum(1)

    def _project(self, r: int, vectors: np.ndarray) -> np.ndarray:
        return vectors if self.projections is None else vectors @ self.projections[r]

    def _encode(self, tokens: TokenVectors, *, document: bool) -> np.ndarray:
        p = self.params
        if tokens.dim != self.d and len(tokens):
            raise InputError(f"FDE built for {self.d}-d tokens, got {tokens.dim}-d")
        n, B = len(tokens), p.buckets
        vecs = np.asarray(tokens.vectors, dtype=np.float32)
        doc_of = np.repeat(np.arange(n), tokens.lengths)
        out = np.zeros((n, p.r_reps, B, p.d_proj), dtype=np.float32)
        for r in range(p.r_reps):
            bucket = self._buckets(r, vecs)
            proj = self._project(r, vecs)
            key = doc_of * B + bucket
            sums = np.stack([np.bincount(key, weights=proj[:, j], minlength=n * B) for j in range(p.d_proj)], 1)
            if not document:
                out[:, r] = sums.reshape(n, B, p.d_proj)
                continue
            counts = np.bincount(key, minlength=n * B)
            block = np.divide(sums, counts[:, None], out=np.zeros_like(sums), where=counts[:, None] > 0)
            out[:, r] = block.reshape(n, B, p.d_proj)
            if p.fill_empty and (counts == 0).any():
                self._fill(out[:, r], counts.reshape(n, B), key, proj, n)
        flat = out.reshape(n, p.raw_dim)
        if not p.final_dim:
            return flat
        from scipy.sparse import csr_matrix

        # Count-Sketch as a sparse (raw_dim x final_dim) matrix: one signed 1 per raw coordinate
        sketch = csr_matrix(
            (self._sketch_sign, (np.arange(p.raw_dim), self._sketch_to)), shape=(p.raw_dim, p.final_dim)
        )
        return np.asarray(sketch.T.dot(flat.T).T, dtype=np.float32)

    def _fill(self, blocks: np.ndarray, counts: np.ndarray, key: np.ndarray, proj: np.ndarray, n: int) -> None:
        """Empty bucket k of a document takes the projected token nearest k in Hamming distance."""
        B = self.params.buckets
        big = np.iinfo(np.int64).max // 4
        flat = np.full(n * B, big, dtype=np.int64)
        np.minimum.at(flat, key, np.arange(len(key)))
        first = flat.reshape(n, B)
        present = counts > 0
        for k in range(B):
            empty = np.flatnonzero(~present[:, k])
            if not len(empty):
                continue
            # rank present buckets by (Hamming distance to k, first token); the winner's first token fills k
            cost = np.where(present[empty], self._hamming[k][None, :] * (big // (B + 1) // 4) + first[empty], big)
            best = first[empty, cost.argmin(1)]
            blocks[empty, k] = proj[best]

    def encode_queries(self, queries: list[np.ndarray] | TokenVectors) -> np.ndarray:
        """Query FDEs, one row per query (token vectors summed per bucket)."""
        tv = queries if isinstance(queries, TokenVectors) else TokenVectors.from_list(queries, self.d)
        return self._encode(tv, document=False)

    def encode_documents(self, docs: list[np.ndarray] | TokenVectors, *, batch: int = 2048) -> np.ndarray:
        """Document FDEs, one row per document (tokens averaged per bucket, empty buckets filled), ``batch``
        documents at a time."""
        tv = docs if isinstance(docs, TokenVectors) else TokenVectors.from_list(docs, self.d)
        parts = [
            self._encode(tv.subset(range(s, min(s + batch, len(tv)))) if len(tv) > batch else tv, document=True)
            for s in range(0, max(len(tv), 1), batch)
        ]
        return np.vstack(parts) if parts else np.zeros((0, self.params.dim), dtype=np.float32)
