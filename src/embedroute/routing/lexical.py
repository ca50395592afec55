"""``tfidf``: a lexical routing encoder, fitted on the router's own training queries.

Why it exists: the paper's ``pilot`` rule (RouterRetriever, Lee et al., AAAI 2025, arXiv 2409.02685)
scores an expert by the *mean* similarity of the query to all its pilots, one per training dataset.
Under a dense encoder the experts' pilots in one dataset are nearly one vector while pilots of other
datasets sit further off with a wide spread, so the cross-dataset terms of the mean decide the route.
Under word uni- and bigram TF-IDF the pilots of one dataset differ and other datasets' sit near 0 with
little spread, so the mean is decided in the query's own dataset, as the rule assumes; the paper's rule
then beats the best single expert (measured by ``benchmarks/pilot_geometry.py``; see BENCHMARKS.md,
"Routing"). The settings (English stop words
removed, bigrams, every term kept) were chosen by cross-validation on the training queries, never on
test queries.

Hand-written only as glue: scikit-learn's ``TfidfVectorizer`` does the work. Vectors are sparse
(scipy CSR, L2-normalised); the fitted vocabulary and idf are the encoder's state, saved with the
router's routing data and read back on load, so routing needs no model files at all.

Cross-validation must not let held-out queries shape the vocabulary or idf, so each fold re-derives
the encoding the vectorizer would give had it been fitted on that fold's training queries alone
(:func:`refit_on_rows`), from the stored rows: no query text is kept.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import InputError
from .base import RoutingData

#: the options ``{"source": "tfidf", "options": {...}}`` may set, with their defaults
DEFAULTS: dict[str, Any] = {"ngram_max": 2, "stop_words": "english", "min_df": 1, "sublinear_tf": True}


class TfidfRoutingEncoder:
    """TF-IDF over word n-grams, fitted on training queries; ``encode_queries`` gives sparse rows.

    >>> enc = TfidfRoutingEncoder().fit(["vitamin d and bone density", "sea level rise by 2100"])
    >>> X = enc.encode_queries(["bone density in older adults"])
    >>> X.shape == (1, enc.dim), round(float(X.multiply(X).sum()), 6)
    (True, 1.0)
    """

    name = "tfidf"
    kind = "lexical"
    role_aware = False
    #: learns from the training queries it will route (``routing_data`` fits it before embedding them)
    fits_on_queries = True

    def __init__(
        self,
        *,
        ngram_max: int = 2,
        stop_words: str | None = "english",
        min_df: int = 1,
        sublinear_tf: bool = True,
        state: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(ngram_max, int) or not 1 <= ngram_max <= 3:
            raise InputError(f"tfidf: ngram_max must be 1, 2 or 3, got {ngram_max!r}", field="routing_expert")
        if stop_words not in ("english", None):
            raise InputError(f"tfidf: stop_words must be 'english' or null, got {stop_words!r}", field="routing_expert")
        if not isinstance(min_df, int) or min_df < 1:
            raise InputError(f"tfidf: min_df must be a positive integer, got {min_df!r}", field="routing_expert")
        self.options = {
            "ngram_max": ngram_max,
            "stop_words": stop_words,
            "min_df": min_df,
            "sublinear_tf": bool(sublinear_tf),
        }
        self._vec: Any = None
        if state is not None:
            self._restore(state)

    def _vectorizer(self, vocabulary: list[str] | None = None) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        o = self.options
        return TfidfVectorizer(
            ngram_range=(1, o["ngram_max"]),
            stop_words=o["stop_words"],
            min_df=o["min_df"],
            sublinear_tf=o["sublinear_tf"],
            vocabulary=vocabulary,
            dtype=np.float32,
        )

    @property
    def fitted(self) -> bool:
        """Whether the vocabulary and idf have been fitted (on the training queries)."""
        return self._vec is not None

    def fit(self, texts: Sequence[str]) -> TfidfRoutingEncoder:
        """Learn the vocabulary and idf from ``texts`` (the router's training queries)."""
        try:
            self._vec = self._vectorizer().fit(list(texts))
        except ValueError as exc:  # "empty vocabulary": nothing but stop words, or no texts
            raise InputError(
                f"tfidf routing encoder: cannot fit on these training queries ({exc})", field="routing_expert"
            ) from None
        return self

    def _restore(self, state: dict[str, Any]) -> None:
        terms, idf = state.get("vocabulary"), state.get("idf")
        if not isinstance(terms, list) or not isinstance(idf, list) or len(terms) != len(idf) or not terms:
            raise InputError(
                "tfidf routing encoder: saved state needs equal-length 'vocabulary' and 'idf' lists",
                field="routing_expert",
            )
        self._vec = self._vectorizer(vocabulary=terms)
        self._vec.idf_ = np.asarray(idf, dtype=np.float64)

    @property
    def dim(self) -> int:
        """Vocabulary size once fitted (the width of the sparse embeddings), else 0."""
        return len(self._vec.vocabulary_) if self.fitted else 0

    def _need_fit(self) -> None:
        if not self.fitted:
            raise InputError(
                "tfidf routing encoder is not fitted: it learns its vocabulary from the router's training queries",
                field="routing_expert",
            )

    def encode_queries(self, texts: Sequence[str]) -> Any:
        """L2-normalised sparse TF-IDF rows (a query with no known term is all zeros)."""
        self._need_fit()
        return self._vec.transform(list(texts))

    def state(self) -> dict[str, Any]:
        """The fitted vocabulary (terms in column order) and idf: all that ``TfidfRoutingEncoder(state=...)``
        needs to encode exactly as now."""
        self._need_fit()
        return {"vocabulary": self._vec.get_feature_names_out().tolist(), "idf": self._vec.idf_.tolist()}

    def spec(self) -> dict[str, Any]:
        """How to recreate this encoder (its fitted state is saved separately, with the routing data)."""
        return {"source": "tfidf", "name": "tfidf", "options": dict(self.options)}

    def config(self) -> dict[str, Any]:
        """What this encoder is: its options and a hash of its fitted vocabulary and idf."""
        import sklearn

        out: dict[str, Any] = {
            "encoder": {"type": "tfidf", **self.options, "dim": self.dim},
            "versions": {"scikit-learn": sklearn.__version__},
        }
        if self.fitted:
            blob = json.dumps(self.state(), sort_keys=True).encode()
            out["encoder"]["weight_hash"] = hashlib.sha256(blob).hexdigest()
        return out


def names_tfidf(spec: Any) -> bool:
    """Whether a routing-expert spec names this encoder: ``"tfidf"`` or ``{"source": "tfidf", ...}``.

    >>> names_tfidf("tfidf"), names_tfidf({"source": "tfidf"}), names_tfidf("minilm")
    (True, True, False)
    """
    return spec == "tfidf" or isinstance(spec, dict) and spec.get("source") == "tfidf"


def tfidf_from_spec(spec: Any, state: dict[str, Any] | None = None) -> TfidfRoutingEncoder | None:
    """The tfidf routing encoder ``spec`` names (``"tfidf"`` or ``{"source": "tfidf", "options": {...}}``),
    or ``None`` when it names something else."""
    if not names_tfidf(spec):
        return None
    if spec == "tfidf":
        return TfidfRoutingEncoder(state=state)
    options = spec.get("options") or {}
    unknown = sorted(set(options) - set(DEFAULTS)) if isinstance(options, dict) else ["options"]
    if unknown:
        raise InputError(
            f"tfidf routing encoder: unknown option(s) {', '.join(unknown)}; it takes {', '.join(DEFAULTS)}",
            field="routing_expert",
        )
    return TfidfRoutingEncoder(**options, state=state)


def refit_on_rows(data: RoutingData, rows: np.ndarray) -> RoutingData:
    """``data`` with every query re-encoded as if its tfidf encoder had been fitted on the queries at
    ``rows`` (a boolean mask) only: the vocabulary is the terms those queries hold (at least ``min_df``
    of them), the idf is recomputed from them, held-out queries lose the terms only they held.

    Exact, without the texts: a stored entry is ``c_i x tf_ij x idf_j`` (``tf`` the raw or sublinear
    term frequency, ``c_i`` the row's L2 scale), so dividing by the idf recovers ``tf`` up to the row's
    scale, which the final L2 normalisation removes. scikit-learn's smooth idf, ``ln((1 + n) / (1 +
    df)) + 1``, is recomputed over the ``n`` fitting queries; columns keep their (sorted) order, as
    ``TfidfVectorizer`` orders its vocabulary.
    """
    from scipy import sparse
    from sklearn.preprocessing import normalize

    fitted = data.routing_encoder
    enc = tfidf_from_spec(fitted["spec"], fitted["state"]) if fitted else None
    if enc is None or fitted is None:
        raise InputError(
            "routing data: only a tfidf routing encoder can be re-fitted on a subset of its queries",
            field="routing_expert",
        )
    rows = np.asarray(rows, dtype=bool)
    idf = np.asarray(fitted["state"]["idf"], dtype=np.float64)
    tf = sparse.csr_matrix(data.embeddings, dtype=np.float64) @ sparse.diags(1.0 / idf)
    df = np.asarray((tf[rows] > 0).sum(axis=0)).ravel()
    keep = np.flatnonzero(df >= enc.options["min_df"])
    if not len(keep):
        raise InputError("tfidf routing encoder: these training queries hold no term to fit on", field="routing_expert")
    n = int(rows.sum())
    new_idf = np.log((1 + n) / (1 + df[keep])) + 1
    emb = normalize(tf[:, keep] @ sparse.diags(new_idf), norm="l2").astype(np.float32).tocsr()
    vocab = fitted["state"]["vocabulary"]
    state = {"vocabulary": [vocab[j] for j in keep], "idf": new_idf.tolist()}
    return replace(data, embeddings=emb, routing_encoder={"spec": fitted["spec"], "state": state})
