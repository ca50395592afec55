"""BM25 expert over the stored texts, with bm25s (Lucene scoring, English stop words, Snowball stemmer)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from typing_extensions import override

from ..encoders.versions import library_versions
from ..index.planner import Plan
from .base import Expert, SearchBatch, TermStatistics, top_k_masked


class BM25Expert(Expert):
    """BM25 (Robertson and Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond", 2009) over the stored
    texts; the index is rebuilt lazily after a write."""

    kind = "lexical"
    stores_vectors = False
    query_model_passes = 0
    has_term_statistics = True

    def __init__(
        self,
        *,
        name: str = "bm25",
        k1: float = 1.2,
        b: float = 0.75,
        method: str = "lucene",
        stemmer: str | None = "english",
        stopwords: str | None = "en",
    ) -> None:
        self.name = name
        self.source = "bm25"
        self.options = {"k1": k1, "b": b, "method": method, "stemmer": stemmer, "stopwords": stopwords}
        self.k1, self.b, self.method = k1, b, method
        self.stemmer_name, self.stopwords = stemmer, stopwords
        self._ids = np.zeros(0, dtype=np.int64)
        self._texts: list[str] = []
        self._retriever: Any = None
        self._tokenizer: Any = None
        self._dirty = True

    @override
    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "model": "bm25", **self.options, "versions": library_versions(("PyStemmer",))}

    @override
    def load(self, ids: np.ndarray, texts: Sequence[str], vectors: np.ndarray | None) -> None:
        self._ids = np.asarray(ids, dtype=np.int64)
        self._texts = list(texts)
        self._dirty = True

    @override
    def add(self, ids: np.ndarray, texts: Sequence[str], vectors: np.ndarray | None) -> None:
        self._ids = np.concatenate([self._ids, np.asarray(ids, dtype=np.int64)])
        self._texts.extend(texts)
        self._dirty = True

    @override
    def remove(self, ids: np.ndarray) -> None:
        keep = ~np.isin(self._ids, np.asarray(ids, dtype=np.int64))
        self._ids = self._ids[keep]
        self._texts = [t for t, m in zip(self._texts, keep) if m]
        self._dirty = True

    def __len__(self) -> int:
        return len(self._ids)

    @override
    def term_statistics(self, queries: Sequence[str]) -> list[TermStatistics]:
        """Each query's content words (after stop words) and the document frequency of those the index
        knows: the pre-retrieval side of query-performance prediction (features.py in ``routing``)."""
        if len(self._ids) and (self._dirty or self._retriever is None):
            self._build()
        if self._retriever is None:
            return [TermStatistics(len(q.split()), np.zeros(0, dtype=np.int64), 0, self.k1) for q in queries]
        indptr = np.asarray(self._retriever.scores["indptr"])
        stop = set(self._tokenizer.stopwords or ())
        out = []
        for q in queries:
            words = [w for w in self._tokenizer.splitter(q.lower()) if w not in stop]
            known = self._tokenizer.tokenize([q], update_vocab=False, return_as="ids", show_progress=False)[0]
            known = [t for t in known if t < len(indptr) - 1 and indptr[t + 1] > indptr[t]]
            df = np.array([indptr[t + 1] - indptr[t] for t in known], dtype=np.int64)
            out.append(TermStatistics(len(words), df, len(self._ids), self.k1))
        return out

    def _build(self) -> None:
        import bm25s
        from bm25s.tokenization import Tokenizer

        stemmer = None
        if self.stemmer_name:
            import Stemmer

            stemmer = Stemmer.Stemmer(self.stemmer_name)
        self._tokenizer = Tokenizer(stemmer=stemmer, stopwords=self.stopwords, lower=True)
        tokens = self._tokenizer.tokenize(self._texts, return_as="tuple", show_progress=False)
        self._retriever = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
        self._retriever.index(tokens, show_progress=False)
        self._dirty = False

    @override
    def search(
        self, queries: Sequence[str], k: int, *, allowed: np.ndarray | None = None, estimate: float | None = None
    ) -> SearchBatch:
        t0 = time.perf_counter()
        if len(self._ids) == 0:
            empty = [np.zeros(0, dtype=np.int64) for _ in queries]
            return SearchBatch(empty, [np.zeros(0, dtype=np.float32) for _ in queries], 0.0, 0.0)
        if self._dirty or self._retriever is None:
            self._build()
        k = min(k, len(self._ids))
        q_ids = self._tokenizer.tokenize(list(queries), update_vocab=False, return_as="ids", show_progress=False)
        t1 = time.perf_counter()
        out_ids, out_scores = [], []
        for q in q_ids:
            if not q:  # nothing left after stop words / unknown terms: no lexical evidence
                out_ids.append(np.zeros(0, dtype=np.int64))
                out_scores.append(np.zeros(0, dtype=np.float32))
                continue
            ids, scores = top_k_masked(self._retriever.get_scores(q), self._ids, k, allowed)
            out_ids.append(ids)
            out_scores.append(scores)
        t2 = time.perf_counter()
        plan = None if allowed is None else Plan("exact-scan", estimate, len(allowed), candidates=len(self._ids))
        return SearchBatch(out_ids, out_scores, (t1 - t0) * 1000, (t2 - t1) * 1000, plan)
