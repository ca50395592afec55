"""Pseudo-to-real label correction: what pseudo-queries' routing labels get wrong, learned where labels exist.

Pseudo-queries are cut from a document, so they share its exact words: on them BM25 finds the source
document far more often than it finds the relevant documents of real queries, and the dense expert and the
fusion of both look worse than they are (BENCHMARKS.md, "Without labelled queries"). That bias is measured
on collections that have labelled training queries (the dev sets): for each generator and each expert role
the offset is the role's mean relative nDCG@10 on the labelled queries minus its mean on that generator's
pseudo-queries, relative meaning minus the mean over the query's candidates (every expert plus the fused
pair). Averaged over the dev sets, the offsets are added to a new collection's pseudo-query labels, which
then estimate how real queries would fare (the issue's "learn the pseudo-to-real correction on the dev sets'
labelled queries, then apply it to a new collection"; GPL, Wang et al. 2022, also corrects pseudo-labels,
with a cross-encoder).

Roles, not names, so that the correction applies to any collection's experts: ``lexical`` (the BM25 expert
the query features search), ``dense`` (their dense expert), ``pair`` (the two fused, the ``hybrid`` rule's
label) and ``other`` (every other expert, one offset: the mean of theirs). The shipped table
(``pseudo_correction.json``, made by ``python benchmarks/pseudo_correction.py`` from the dev sets' training
queries only) is what a user's label-free fit applies; an evaluation that scores a dev set learns its table
without that set (leave one out). Hand-written: means over numpy arrays.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .queries import RoutingQueries

ROLES = ("lexical", "dense", "pair", "other")
SHIPPED = Path(__file__).with_name("pseudo_correction.json")


def role_of(expert: str, feature_experts: tuple[str, str]) -> str:
    """``lexical``, ``dense`` or ``other`` for an expert, given the (lexical, dense) feature experts.

    >>> role_of("bm25", ("bm25", "minilm")), role_of("splade", ("bm25", "minilm"))
    ('lexical', 'other')
    """
    return {feature_experts[0]: "lexical", feature_experts[1]: "dense"}.get(expert, "other")


def generator_of(query_id: str) -> str:
    """The generator of a pseudo-query from its id (``GENERATOR:i``, as pseudo routing data names them)."""
    return query_id.split(":", 1)[0]


def _role_means(scores: np.ndarray, pair: np.ndarray, roles: list[str]) -> dict[str, float]:
    """Each role's mean relative nDCG@10 (minus each query's mean over every candidate) over the rows given."""
    cand = np.column_stack([scores, pair]).astype(np.float64)
    rel = cand - cand.mean(axis=1, keepdims=True)
    names = [*roles, "pair"]
    return {r: float(rel[:, [i for i, n in enumerate(names) if n == r]].mean()) for r in ROLES if r in names}


@dataclass(frozen=True)
class PseudoCorrection:
    """Offsets ``generator -> role -> offset`` added to pseudo-queries' nDCG@10 labels, and where they came
    from (``source``: the datasets, experts and generator settings they were learned on)."""

    offsets: dict[str, dict[str, float]]
    source: dict[str, Any] = field(default_factory=dict)

    def apply(self, queries: RoutingQueries, feature_experts: tuple[str, str] | None) -> RoutingQueries:
        """A copy of the pseudo-queries ``queries`` with corrected labels (experts and the fused pair); a
        generator the table does not know, or data without feature experts, is left as it is."""
        if feature_experts is None or not queries.texts:
            return queries
        scores = np.vstack(queries.scores).astype(np.float32)
        pair = queries.stacked_pair()
        roles = [role_of(e, feature_experts) for e in queries.experts]
        gens = [generator_of(q) for q in queries.query_ids]
        for i, g in enumerate(gens):
            off = self.offsets.get(g)
            if off is None:
                continue
            scores[i] += np.array([off.get(r, 0.0) for r in roles], dtype=np.float32)
            if pair is not None:
                pair[i] += off.get("pair", 0.0)
        out = RoutingQueries(list(queries.experts))
        out.extend(queries.texts, queries.datasets, scores, queries.query_ids, queries.stacked_features(), pair)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (the shipped file's layout, also saved with every router fitted on corrected labels)."""
        return {"offsets": self.offsets, "source": self.source}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PseudoCorrection:
        """The table :meth:`to_dict` wrote; a malformed one is an InputError."""
        try:
            offsets = {str(g): {str(r): float(v) for r, v in roles.items()} for g, roles in d["offsets"].items()}
        except (KeyError, AttributeError, TypeError, ValueError):
            raise InputError("pseudo-label correction: expected {'offsets': {generator: {role: number}}}") from None
        unknown = {r for roles in offsets.values() for r in roles} - set(ROLES)
        if unknown:
            raise InputError(f"pseudo-label correction: unknown roles {sorted(unknown)}; roles are {list(ROLES)}")
        return cls(offsets, dict(d.get("source", {})))


def learn(
    sets: Sequence[tuple[RoutingQueries, RoutingQueries]],
    feature_experts: tuple[str, str],
    source: dict[str, Any] | None = None,
) -> PseudoCorrection:
    """The offsets from ``(labelled, pseudo)`` routing queries of several collections (the same experts, each
    with its fused-pair labels): per generator and role, labelled mean minus pseudo mean, averaged over sets."""
    per: dict[str, dict[str, list[float]]] = {}
    for labelled, pseudo in sets:
        lp, pp = labelled.stacked_pair(), pseudo.stacked_pair()
        if lp is None or pp is None or not labelled.texts or not pseudo.texts:
            raise InputError("pseudo-label correction: every set needs labelled and pseudo-queries with pair labels")
        roles = [role_of(e, feature_experts) for e in labelled.experts]
        real = _role_means(np.vstack(labelled.scores), lp, roles)
        scores, gens = np.vstack(pseudo.scores), np.array([generator_of(q) for q in pseudo.query_ids])
        for g in sorted(set(gens)):
            rows = gens == g
            fake = _role_means(scores[rows], pp[rows], roles)
            for r in real:
                per.setdefault(g, {}).setdefault(r, []).append(real[r] - fake[r])
    offsets = {g: {r: round(float(np.mean(v)), 5) for r, v in roles_.items()} for g, roles_ in per.items()}
    return PseudoCorrection(offsets, dict(source or {}))


def shipped() -> PseudoCorrection:
    """The table learned on the dev sets (``pseudo_correction.json`` beside this module)."""
    return PseudoCorrection.from_dict(json.loads(SHIPPED.read_text()))
