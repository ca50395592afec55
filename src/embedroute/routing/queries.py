"""Routing queries before they are embedded: texts, their datasets, every expert's per-query nDCG@10.

Labelled training queries and a collection's pseudo-queries are gathered here and embedded once, by one
routing encoder, so that an encoder which learns from the queries it routes (``tfidf``) is fitted on all
of them together (:meth:`RoutingQueries.embed`). Hand-written glue: lists and one numpy stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .base import RoutingData
from .lexical import TfidfRoutingEncoder


@dataclass
class RoutingQueries:
    """Query texts with their dataset (or ``pseudo:COLLECTION``), id and each of ``experts``' nDCG@10."""

    experts: list[str]
    texts: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    query_ids: list[str] = field(default_factory=list)
    scores: list[np.ndarray] = field(default_factory=list)
    #: each part's query-performance features (None for a part added without them)
    features: list[np.ndarray | None] = field(default_factory=list)
    #: each part's nDCG@10 of the feature experts fused (:attr:`RoutingData.pair_scores`; None: not scored)
    pair: list[np.ndarray | None] = field(default_factory=list)

    def extend(
        self,
        texts: Sequence[str],
        datasets: Sequence[str],
        scores: np.ndarray,
        ids: Sequence[str],
        features: np.ndarray | None = None,
        pair: np.ndarray | None = None,
    ) -> None:
        """Add queries: ``scores`` is ``(len(texts), len(experts))``, ``features`` one row per query, ``pair``
        one figure per query."""
        if scores.shape != (len(texts), len(self.experts)) or len(datasets) != len(texts) or len(ids) != len(texts):
            raise ValueError(f"{len(texts)} queries need {len(texts)} datasets, ids and score rows of {self.experts}")
        if features is not None and len(features) != len(texts):
            raise ValueError(f"{len(texts)} queries need {len(texts)} feature rows, got {len(features)}")
        if pair is not None and len(pair) != len(texts):
            raise ValueError(f"{len(texts)} queries need {len(texts)} fused-pair scores, got {len(pair)}")
        self.texts.extend(texts)
        self.datasets.extend(datasets)
        self.query_ids.extend(ids)
        self.scores.append(np.asarray(scores, dtype=np.float32))
        self.features.append(None if features is None else np.asarray(features, dtype=np.float32))
        self.pair.append(None if pair is None else np.asarray(pair, dtype=np.float32))

    def stacked_features(self) -> np.ndarray | None:
        """Every query's features, or None unless every part was added with them."""
        if not self.features or any(f is None for f in self.features):
            return None
        return np.vstack([f for f in self.features if f is not None])

    def stacked_pair(self) -> np.ndarray | None:
        """Every query's fused-pair nDCG@10, or None unless every part was added with it."""
        if not self.pair or any(p is None for p in self.pair):
            return None
        return np.concatenate([p for p in self.pair if p is not None])

    def per_dataset(self) -> dict[str, int]:
        """How many queries each dataset gave, by dataset name."""
        return {d: self.datasets.count(d) for d in sorted(set(self.datasets))}

    def merged(self, other: RoutingQueries) -> RoutingQueries:
        """These queries followed by ``other``'s (the same experts in the same order)."""
        if other.experts != self.experts:
            raise ValueError(f"cannot merge routing queries scored by {other.experts} into {self.experts}")
        out = RoutingQueries(list(self.experts))
        for part in (self, other):
            if part.texts:
                out.extend(
                    part.texts,
                    part.datasets,
                    np.vstack(part.scores),
                    part.query_ids,
                    part.stacked_features(),
                    part.stacked_pair(),
                )
        return out

    def embed(
        self,
        encoder: Any,
        source: dict[str, Any] | None = None,
        costs: dict[str, float] | None = None,
        feature_experts: tuple[str, str] | None = None,
    ) -> RoutingData:
        """The routing data: every query embedded by ``encoder``. An encoder that learns from the queries
        it routes (``tfidf``) is fitted on all of them first, and its fitted state travels with the data
        (cross-validation re-fits it inside each fold: :func:`~embedroute.routing.lexical.refit_on_rows`).
        ``source`` says how the queries were made; it is saved with every router fitted on them; ``costs``
        are the model passes a routed query costs per expert (:attr:`RoutingData.costs`), ``feature_experts`` the
        experts whose searches made the features (:attr:`RoutingData.feature_experts`)."""
        if not self.texts:
            raise ValueError("no routing queries to embed")
        fitted, features = None, self.stacked_features()
        if isinstance(encoder, TfidfRoutingEncoder):  # it learns its vocabulary from the queries it routes
            encoder.fit(self.texts)
            fitted = {"spec": encoder.spec(), "state": encoder.state()}
        return RoutingData(
            list(self.experts),
            encoder.encode_queries(self.texts),
            list(self.datasets),
            np.vstack(self.scores),
            list(self.query_ids),
            fitted,
            source,
            features,
            costs,
            feature_experts if features is not None else None,
            self.stacked_pair() if features is not None and feature_experts is not None else None,
        )
