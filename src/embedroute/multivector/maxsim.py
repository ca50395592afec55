"""Exact late interaction: Chamfer / MaxSim, ``score(Q, P) = sum_q max_p <q, p>`` (ColBERT, Khattab &
Zaharia 2020; called Chamfer similarity in MUVERA, arXiv 2405.19504), vectorised with one matrix product
per chunk of documents and a segmented max (``np.maximum.reduceat``). Written here: no library scores
ragged numpy token sets without padding them."""

from __future__ import annotations

import numpy as np

from .tokens import TokenVectors


def maxsim(
    query: np.ndarray, docs: TokenVectors, rows: np.ndarray | None = None, *, chunk_tokens: int = 1 << 20
) -> np.ndarray:
    """MaxSim of one query ``(m, d)`` against documents ``rows`` (default: all) of ``docs``.

    >>> q = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> d = TokenVectors.from_list([np.array([[1.0, 0.0]]), np.array([[0.6, 0.8], [0.0, 1.0]])])
    >>> [round(float(s), 2) for s in maxsim(q, d)]
    [1.0, 1.6]
    """
    q = np.asarray(query, dtype=np.float32)
    if rows is None:
        return _contiguous(q, docs, 0, len(docs), chunk_tokens)
    rows = np.asarray(rows, dtype=np.int64)
    out = np.empty(len(rows), dtype=np.float32)
    if len(rows) == 0:
        return out
    starts = docs.offsets[rows]
    lengths = docs.offsets[rows + 1] - starts
    seg = np.concatenate([[0], np.cumsum(lengths)[:-1]])  # where each document starts in the gathered block
    idx = np.repeat(starts - seg, lengths) + np.arange(int(lengths.sum()))  # token rows, no Python loop
    sims = np.asarray(docs.vectors[idx], dtype=np.float32) @ q.T
    out[:] = np.maximum.reduceat(sims, seg, axis=0).sum(1)
    return out


def _contiguous(q: np.ndarray, docs: TokenVectors, lo: int, hi: int, chunk_tokens: int) -> np.ndarray:
    out = np.empty(hi - lo, dtype=np.float32)
    start = lo
    while start < hi:  # chunks of whole documents, about chunk_tokens tokens each
        t0 = docs.offsets[start]
        end = int(np.searchsorted(docs.offsets, t0 + chunk_tokens, side="right")) - 1
        end = min(max(end, start + 1), hi)
        block = np.asarray(docs.vectors[t0 : docs.offsets[end]], dtype=np.float32) @ q.T
        seg = docs.offsets[start:end] - t0
        out[start - lo : end - lo] = np.maximum.reduceat(block, seg, axis=0).sum(1)
        start = end
    return out


def exhaustive(query: np.ndarray, docs: TokenVectors, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` (positions, scores) by exact MaxSim over every document: the ground truth."""
    scores = maxsim(query, docs)
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return top, scores[top]
