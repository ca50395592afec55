"""Query-performance-prediction features: cheap, domain-agnostic numbers that say how a query will fare.

Pilot routers compare a query's embedding with training queries', which carries over badly to a domain the
pilots never saw. Query-performance prediction (Carmel and Yom-Tov, "Estimating the Query Difficulty for
Information Retrieval", 2010; Shtok et al., "Predicting Query Performance by Query-Drift Estimation", TOIS
2012) instead reads how retrieval itself behaves for the query, which means the same thing in every
collection: how rare its terms are, how sharply BM25's scores fall off, how much the lexical and the dense
top lists agree. LTRR (arXiv 2506.13743) routes between retrievers with such features. The features here:

- pre-retrieval: words and content terms (log), the share of content terms the collection does not know,
  the share of letters outside ASCII (script), the largest, mean and smallest idf (divided by the largest
  possible, ``ln(1 + N)``, so that collections of any size compare);
- BM25's top 10: top score over its ceiling (the sum of the known terms' idf times ``k1 + 1``), the
  relative gaps top-1 to top-2 and to top-10, the entropy of the normalised scores, and whether it found
  nothing;
- the dense routing expert's top 10 (cosines): top score, the gaps, the mean;
- agreement: the overlap of the two top-10 lists, whether their top documents are the same, and the
  reciprocal rank of the dense top document in BM25's list.

Hand-written: the features are a few lines of numpy each, and no library computes them from another
engine's ranked lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: the feature columns, in order
FEATURE_NAMES = (
    "query_words",
    "content_terms",
    "unknown_share",
    "non_ascii_share",
    "idf_max",
    "idf_mean",
    "idf_min",
    "lex_top1",
    "lex_gap_1_2",
    "lex_gap_1_10",
    "lex_entropy",
    "lex_empty",
    "dense_top1",
    "dense_gap_1_2",
    "dense_gap_1_10",
    "dense_mean_10",
    "overlap_10",
    "top1_agree",
    "dense_top1_lex_rr",
)

#: BM25's k1 (the ceiling of one term's score is idf x (k1 + 1)); the lexical expert's default
K1 = 1.2


@dataclass(frozen=True)
class RankedList:
    """One expert's top documents for one query (best first) and their scores."""

    ids: Sequence[str]
    scores: np.ndarray


def _idf(df: np.ndarray, n: int) -> np.ndarray:
    """Lucene's BM25 idf, ``ln(1 + (N - df + 0.5) / (df + 0.5))``."""
    return np.log1p((n - df + 0.5) / (df + 0.5))


def _list_stats(scores: np.ndarray) -> tuple[float, float, float]:
    """Relative gaps top-1 to top-2 and to top-10 (0 when fewer scores) and the normalised entropy."""
    s = np.asarray(scores, dtype=np.float64)[:10]
    if not len(s) or s[0] <= 0:
        return 0.0, 0.0, 0.0
    gap2 = (s[0] - s[1]) / s[0] if len(s) > 1 else 1.0
    gap10 = (s[0] - s[-1]) / s[0] if len(s) > 1 else 1.0
    p = np.clip(s, 1e-12, None) / np.clip(s, 1e-12, None).sum()
    entropy = float(-(p * np.log(p)).sum() / np.log(10))
    return float(gap2), float(gap10), entropy


def query_features(
    text: str,
    words: int,
    document_frequencies: np.ndarray,
    documents: int,
    lexical: RankedList,
    dense: RankedList,
    k1: float = K1,
) -> np.ndarray:
    """The :data:`FEATURE_NAMES` row of one query: its text, its content-word count and the document
    frequencies of the known ones in a collection of ``documents``, and BM25's and the dense expert's top
    lists.

    >>> row = query_features("bone density", 2, np.array([3, 40]), 100,
    ...                      RankedList(["a", "b"], np.array([6.0, 3.0])), RankedList(["a", "c"], np.array([0.8, 0.7])))
    >>> named = {n: round(float(v), 3) for n, v in zip(FEATURE_NAMES, row)}
    >>> named["overlap_10"], named["top1_agree"], named["lex_gap_1_2"]
    (0.1, 1.0, 0.5)
    """
    letters = [c for c in text if c.isalpha()]
    df = np.asarray(document_frequencies, dtype=np.float64)
    ceiling = np.log1p(max(documents, 1))
    idf = _idf(df, documents) if len(df) else np.zeros(1)
    known = len(df)
    lex = np.asarray(lexical.scores, dtype=np.float64)
    lex_top = float(lex[0] / max(idf.sum() * (k1 + 1), 1e-9)) if len(lex) else 0.0
    lg2, lg10, lent = _list_stats(lex)
    den = np.asarray(dense.scores, dtype=np.float64)[:10]
    d_top = float(den[0]) if len(den) else 0.0
    dg2 = float(den[0] - den[1]) if len(den) > 1 else 0.0
    dg10 = float(den[0] - den[-1]) if len(den) > 1 else 0.0
    lex_ids, den_ids = list(lexical.ids)[:10], list(dense.ids)[:10]
    overlap = len(set(lex_ids) & set(den_ids)) / 10.0
    agree = float(bool(lex_ids) and bool(den_ids) and lex_ids[0] == den_ids[0])
    rr = 0.0
    if den_ids and den_ids[0] in list(lexical.ids):
        rr = 1.0 / (list(lexical.ids).index(den_ids[0]) + 1)
    return np.array(
        [
            np.log1p(len(text.split())),
            np.log1p(words),
            1.0 - known / words if words else 1.0,
            sum(not c.isascii() for c in letters) / len(letters) if letters else 0.0,
            float(idf.max() / ceiling),
            float(idf.mean() / ceiling),
            float(idf.min() / ceiling),
            lex_top,
            lg2,
            lg10,
            lent,
            float(not len(lex)),
            d_top,
            dg2,
            dg10,
            float(den.mean()) if len(den) else 0.0,
            overlap,
            agree,
            rr,
        ],
        dtype=np.float32,
    )


def route_costs(passes: dict[str, float], dense: str) -> dict[str, float]:
    """Model passes a query costs in all when a router on these features sends it to each expert: the
    dense routing expert's pass (the features need it) plus the expert's own, unless it is that expert.

    >>> route_costs({"minilm": 1, "bm25": 0, "splade": 1}, "minilm")
    {'minilm': 1.0, 'bm25': 1.0, 'splade': 2.0}
    """
    return {e: float(p) + (0.0 if e == dense else float(passes[dense])) for e, p in passes.items()}
