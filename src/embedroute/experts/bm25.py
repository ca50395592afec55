"""BM25 expert over the stored texts, with bm25s (Lucene scoring, English stop words, Snowball stemmer).

The built index is saved beside the collection (bm25s's own files, :mod:`.saved_folder`), so a reopened
collection answers its first query without tokenising the corpus again. An index opened from disk holds no
texts: a later write leaves it stale, and it is rebuilt from the store on its next use."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from typing_extensions import override

from ..encoders.versions import library_versions
from ..index.planner import Plan
from .base import Expert, SearchBatch, TermStatistics, top_k_masked
from .saved_folder import open_current, save_folder

log = logging.getLogger("embedroute.experts")


class BM25Expert(Expert):
    """BM25 (Robertson and Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond", 2009) over the stored
    texts; the index is rebuilt lazily after a write, and saved for the next open."""

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
        self._texts: list[str] | None = []  # None: opened from disk, so it cannot be updated in place
        self._retriever: Any = None
        self._tokenizer: Any = None
        self._dirty = True
        self._unsaved = True
        # a build after a write runs in the background (prepare); _version tells it whether a later write
        # outdated what it was building, and _state keeps its hand-over atomic with the writes
        self._version = 0
        self._state = threading.Lock()
        self._job: threading.Thread | None = None

    @override
    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "model": "bm25", **self.options, "versions": library_versions(("PyStemmer",))}

    @override
    def load(self, ids: np.ndarray, texts: Sequence[str], vectors: np.ndarray | None) -> None:
        with self._state:
            self._ids = np.asarray(ids, dtype=np.int64)
            self._texts = list(texts)
            self._changed()

    def _changed(self) -> None:
        self._version += 1
        self._dirty = self._unsaved = True

    @override
    def prepare(self) -> None:
        """Start building the index in a background thread (bm25s cannot update one in place), so that a
        write returns at once and many small writes cost one build, not one each; a search that comes
        before it is done waits for it (:meth:`_ready`)."""
        with self._state:
            if self._job is not None or not self._dirty or not len(self._ids) or self._texts is None:
                return
            self._job = threading.Thread(target=self._build_behind, name=f"bm25-build-{self.name}", daemon=True)
            self._job.start()

    def _build_behind(self) -> None:
        try:
            while True:
                with self._state:
                    if not self._dirty or self._texts is None:
                        return
                    version, texts = self._version, list(self._texts)
                built = self._index(texts)
                with self._state:
                    if version == self._version:  # no write came meanwhile: hand it over
                        self._tokenizer, self._retriever = built
                        self._dirty = False
                        return
        except Exception:  # noqa: BLE001 - the next search builds in the foreground and reports it
            log.warning("background build of BM25 %r failed; the next search builds it", self.name, exc_info=True)
        finally:
            with self._state:
                self._job = None

    def _settle(self) -> None:
        """Wait for a background build to finish (or give up)."""
        job = self._job
        if job is not None:
            job.join()

    def _ready(self) -> None:
        """The index matches the held documents: wait for a background build, else build now."""
        self._settle()
        with self._state:
            if len(self._ids) and (self._dirty or self._retriever is None):
                self._tokenizer, self._retriever = self._index(self._held_texts())
                self._dirty = False

    @property
    @override
    def updates_in_place(self) -> bool:
        return self._texts is not None

    def _held_texts(self) -> list[str]:
        if self._texts is None:
            raise RuntimeError(f"BM25 expert {self.name!r} was opened from disk without its texts")
        return self._texts

    @override
    def add(self, ids: np.ndarray, texts: Sequence[str], vectors: np.ndarray | None) -> None:
        with self._state:
            held = self._held_texts()
            self._ids = np.concatenate([self._ids, np.asarray(ids, dtype=np.int64)])
            held.extend(texts)
            self._changed()

    @override
    def remove(self, ids: np.ndarray) -> None:
        with self._state:
            held = self._held_texts()
            keep = ~np.isin(self._ids, np.asarray(ids, dtype=np.int64))
            self._ids = self._ids[keep]
            self._texts = [t for t, m in zip(held, keep) if m]
            self._changed()

    # -- the built index kept beside the collection (``NAME.bm25/`` and ``NAME.bm25.json``) -----------
    def _saved_as(self) -> tuple[str, dict[str, Any]]:
        return f"{self.name}.bm25", {"kind": "bm25", "options": self.options}

    @override
    def open_persisted(self, folder: Path, generation: int, count: int) -> bool:
        opened = open_current(folder, *self._saved_as(), generation=generation, count=count)
        if opened is None:
            return False
        found, ids = opened
        import bm25s

        try:
            retriever = bm25s.BM25.load(str(found), mmap=False, show_progress=False)
            tokenizer = self._new_tokenizer()
            tokenizer.load_vocab(str(found))
        except (OSError, ValueError, KeyError) as exc:
            log.warning("saved BM25 index of expert %r is unreadable (%s); rebuilding it", self.name, exc)
            return False
        self._settle()  # nothing of an earlier state may land after this one
        with self._state:
            self._ids, self._texts, self._retriever, self._tokenizer = ids, None, retriever, tokenizer
            self._version += 1
            self._dirty = self._unsaved = False
        return True

    @override
    def save_persisted(self, folder: Path, generation: int) -> None:
        if not self._unsaved or not len(self._ids):
            return
        self._ready()
        name, config = self._saved_as()
        retriever, tokenizer, ids = self._retriever, self._tokenizer, self._ids

        def write(tmp: Path) -> None:
            retriever.save(str(tmp), show_progress=False)
            tokenizer.save_vocab(str(tmp))
            np.save(tmp / "ids.npy", ids)

        meta = {"generation": generation, "count": len(ids), "config": config}
        if save_folder(folder, name, write, meta):
            self._unsaved = False

    def __len__(self) -> int:
        return len(self._ids)

    @override
    def term_statistics(self, queries: Sequence[str]) -> list[TermStatistics]:
        """Each query's content words (after stop words) and the document frequency of those the index
        knows: the pre-retrieval side of query-performance prediction (features.py in ``routing``)."""
        self._ready()
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

    def _new_tokenizer(self) -> Any:
        from bm25s.tokenization import Tokenizer

        stemmer = None
        if self.stemmer_name:
            import Stemmer

            stemmer = Stemmer.Stemmer(self.stemmer_name)
        return Tokenizer(stemmer=stemmer, stopwords=self.stopwords, lower=True)

    def _index(self, texts: list[str]) -> tuple[Any, Any]:
        """A tokenizer and bm25s index over ``texts`` (touches no state: safe in the background)."""
        import bm25s

        tokenizer = self._new_tokenizer()
        tokens = tokenizer.tokenize(texts, return_as="tuple", show_progress=False)
        retriever = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
        retriever.index(tokens, show_progress=False)
        return tokenizer, retriever

    @override
    def search(
        self, queries: Sequence[str], k: int, *, allowed: np.ndarray | None = None, estimate: float | None = None
    ) -> SearchBatch:
        t0 = time.perf_counter()
        if len(self._ids) == 0:
            empty = [np.zeros(0, dtype=np.int64) for _ in queries]
            return SearchBatch(empty, [np.zeros(0, dtype=np.float32) for _ in queries], 0.0, 0.0)
        self._ready()
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
