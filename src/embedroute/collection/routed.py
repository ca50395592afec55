"""Routed search, the collection's half of routing (RouterRetriever, Lee et al., AAAI 2025, arXiv
2409.02685): routers fitted from training queries and saved beside the collection, each batch of queries
routed with one routing-encoder pass, then searched per chosen expert, several experts fused by RRF.

Hand-written: the engine around the routers (saving, re-fitting after an expert is removed, grouping
queries by route); the routing rules themselves live in :mod:`embedroute.routing`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import CollectionError, InputError, UnknownNameError
from ..experts.base import QueryEncoder
from ..experts.registry import ExpertSpec, expert_from_spec
from ..routing.base import Router, RoutingData
from ..routing.lexical import names_tfidf, tfidf_from_spec
from ..routing.models import default_routing_expert, routing_model
from .manifest import model_change
from .query_features import Searchable, collection_query_features, present_feature_experts
from .results import Hit, RoutingInfo, SearchResult


class RoutingModel(QueryEncoder, Protocol):
    """What embeds queries for routing: a dense expert or the ``tfidf`` routing encoder. Its
    ``encode_queries`` gives the embeddings the routers score; ``spec`` and ``config`` are saved with a
    router, so that a changed model is caught when the router is loaded."""

    name: str

    @property
    def dim(self) -> int:
        """Width of the query embeddings, checked against the routing data's."""
        ...

    def spec(self) -> dict[str, Any]:
        """How to rebuild this model, saved with a router fitted on its embeddings."""
        ...

    def config(self) -> dict[str, Any]:
        """What this model is (encoder, weights), saved with a router so that a changed model is caught."""
        ...


class RoutedSearch(Searchable):
    """Mixin of :class:`~embedroute.collection.Collection`: the routing methods. It uses the
    collection's ``path``, ``_experts``, ``_routers`` (fitted routers by name), ``_store``, and what a
    :class:`~embedroute.collection.query_features.Searchable` has (``experts``, ``expert``,
    ``search_batch``), which the collection provides."""

    path: Path
    _experts: dict[str, Any]
    _routers: dict[str, Any]
    _store: Any
    #: routing-only models (dense experts that embed queries for routing but hold no documents)
    _routing_models: dict[str, RoutingModel]

    @property
    def routers(self) -> list[str]:
        """Names of the routers fitted for this collection (see :meth:`fit_router`)."""
        folder = self.path / "routers"
        return sorted(p.stem for p in folder.glob("*.json")) if folder.exists() else []

    def fit_router(
        self, router: str, data: RoutingData, *, routing_expert: ExpertSpec | None = None, name: str | None = None
    ) -> Router:
        """Save routing training data (a :class:`~embedroute.routing.RoutingData`), fit ``router`` and
        return it.

        ``routing_expert`` is the model whose query embeddings the data holds: one of the
        collection's experts (default: the first dense one), any other dense expert name or spec,
        which then only embeds queries for routing (a cheap one such as ``use-m`` or ``static-minilm``
        needs no document vectors), or ``tfidf``, a lexical encoder fitted on the training queries
        themselves (the data then carries its vocabulary; :func:`~embedroute.evaluation.routing_data`).
        Experts the data does not score are left out of routing. For
        ``auto`` the rule it chose is what is saved (and re-fitted on load), with every candidate's
        train CV.
        """
        from ..routing import make_router
        from ..routing.store import router_file, save_routing

        router_file(self.path / "routers", name or router, ".json")  # a name that is no safe file name fails now
        fitted_encoder = data.routing_encoder
        if routing_expert is None and fitted_encoder is not None:
            routing_expert = fitted_encoder["spec"]
        if routing_expert is None:
            routing_expert = self.routing_expert()
        enc = self._routing_model(routing_expert, fitted_encoder)
        routing_expert = enc.name
        if enc.dim != data.embeddings.shape[1]:
            raise InputError(
                f"routing data has {data.embeddings.shape[1]}-d embeddings but expert "
                f"{routing_expert!r} makes {enc.dim}-d ones",
                field="routing_expert",
            )
        made_by, now = data.feature_experts, present_feature_experts(self)
        if made_by is not None and made_by != now:
            raise InputError(
                f"routing data's query features were made by the experts {', '.join(made_by)}, but this collection's "
                f"are {', '.join(now) if now else 'missing (it needs a bm25 and a dense expert)'}: build the "
                "routing data on this collection (fit_routers)",
                field="routing_data",
            )
        unknown = [e for e in data.experts if e not in self._experts]
        for e in unknown:
            data = data.without(e)
        fitted = make_router(router).fit(data)  # fails now, not at search time
        rule = fitted.choice or router
        save_routing(
            self.path / "routers",
            name or router,
            data,
            {
                "router": rule,
                "requested": router,
                "routing_expert": routing_expert,
                "routing_spec": enc.spec(),
                "routing_config": enc.config(),
                "train_cv": fitted.train_cv,
            },
        )
        self._routers.pop(name or router, None)
        return fitted

    def routing_expert(self, name: str | None = None) -> str:
        """The model that embeds queries for routing when ``name`` is asked for: ``name`` itself when it is
        a dense expert of the collection or a model outside it (tfidf, or any dense expert name, checked
        when it is built), the collection's first dense expert when ``name`` is None. A collection
        expert that is not dense, or no dense expert to default to, is an InputError."""
        if name is None:
            found = default_routing_expert({n: e.kind for n, e in self._experts.items()})
            if found is None:
                raise InputError(
                    "routing needs a model to embed queries: the collection has no dense "
                    "expert, so name one (or tfidf) as routing_expert",
                    field="routing_expert",
                )
            return found
        if name in self._experts and self._experts[name].kind != "dense":
            dense = [n for n, e in self._experts.items() if e.kind == "dense"]
            raise InputError(
                f"{name!r} is not a dense expert of this collection (dense: {', '.join(dense) or 'none'}), "
                "so it cannot embed queries for routing",
                field="routing_expert",
            )
        return name

    def reload_routers(self) -> None:
        """Forget the fitted routers held in memory, so that each is loaded again from its saved files on
        its next use: after another handle (a server job) fitted or re-fitted one."""
        self._routers.clear()

    def _router(self, name: str) -> tuple[Any, str, str, RoutingModel]:
        """The fitted router ``name``: (router, routing model name, rule, routing model)."""
        if name not in self._routers:
            from ..routing import make_router
            from ..routing.store import load_routing, router_file

            if not router_file(self.path / "routers", name, ".json").exists():
                have = (
                    sorted(p.stem for p in (self.path / "routers").glob("*.json"))
                    if (self.path / "routers").exists()
                    else []
                )
                raise UnknownNameError(
                    f"collection has no fitted router {name!r}; fitted: "
                    f"{', '.join(have) or 'none'} (fit one with fit_router)"
                )
            data, meta = load_routing(self.path / "routers", name)
            loaded_features = data.features is not None
            now = present_feature_experts(self)
            if loaded_features and data.feature_experts is None:  # saved before routers recorded who made them:
                # taken as made by the experts that make them now (if none can, they are lost)
                data = replace(data, feature_experts=now) if now else replace(data, features=None, costs=None)
            removed = [e for e in data.experts if e not in self._experts]
            for e in removed:
                data = data.without(e)  # an expert removed since: pilots recomputed without it (features too)
            made_by = data.feature_experts
            stale = made_by is not None and now != made_by
            if stale:  # features made by other experts than those that would make a live query's
                data = replace(data, features=None, costs=None, feature_experts=None)
            lost = stale or (data.features is None and loaded_features)
            # auto chooses its rule again when the experts changed; otherwise the saved rule is re-fitted
            spec = meta.get("requested", meta["router"]) if removed or stale else meta["router"]
            try:
                fitted = make_router(spec).fit(data)
            except InputError as e:
                if not lost:
                    raise
                raise CollectionError(
                    f"router {name!r} routes by query features that the collection's experts can no longer make "
                    f"as when it was fitted (made by {', '.join(made_by or ()) or 'experts since removed'}); "
                    "fit it again"
                ) from e
            routing = meta["routing_expert"]
            model = self._routing_model(
                routing if routing in self._experts else meta.get("routing_spec", routing), data.routing_encoder
            )
            stored = meta.get("routing_config") or {}
            change = model_change(stored, model.config()) if stored.get("encoder") else None
            if change is not None:  # the pilots were built from that model's embeddings
                raise CollectionError(
                    f"router {name!r}: routing model {routing!r} has {change[0]} {change[2]!r}, "
                    f"not {change[1]!r} as when the router was fitted; fit it again"
                )
            self._routers[name] = (fitted, routing, fitted.choice or spec, model)
        return self._routers[name]

    def _routing_model(self, spec: Any, fitted: dict[str, Any] | None = None) -> RoutingModel:
        """The model whose encoder embeds queries for routing: a collection expert by name, a
        routing-only dense one built from its name or spec (kept in memory, never given documents), or
        the ``tfidf`` encoder rebuilt from the vocabulary the routing data was fitted with."""
        if isinstance(spec, str) and spec in self._experts:
            return routing_model(self._experts[spec])
        if names_tfidf(spec):
            if fitted is None:
                raise InputError(
                    "the tfidf routing encoder learns from the training queries: build the routing "
                    "data with it (build_routing_data or routing_data, routing_expert='tfidf')",
                    field="routing_expert",
                )
            lexical = tfidf_from_spec(fitted["spec"], fitted["state"])
            if lexical is None:
                raise InputError(f"routing data names {fitted['spec']!r}, not a tfidf encoder", field="routing_expert")
            return lexical
        key = spec if isinstance(spec, str) else json.dumps(spec, sort_keys=True, default=str)
        if key not in self._routing_models:
            self._routing_models[key] = routing_model(expert_from_spec(spec))
        return self._routing_models[key]

    def routed_search(
        self, query: str, k: int = 10, *, router: str = "pilot", filter: dict[str, Any] | None = None
    ) -> SearchResult:  # noqa: A002
        """Route ``query`` with a fitted router, search the chosen expert(s) (RRF when several),
        optionally filtered by attributes like :meth:`search`."""
        return self.routed_search_batch([query], k, router=router, filter=filter)[0]

    def routed_search_batch(
        self, queries: Sequence[str], k: int = 10, *, router: str = "pilot", filter: dict[str, Any] | None = None
    ) -> list[SearchResult]:  # noqa: A002
        """:meth:`routed_search` for many queries: one routing-encoder pass for all of them (none for a router
        on query features, whose dense search embeds the queries), then one :meth:`search_batch` per chosen
        expert (or set of experts to fuse). A dense expert embeds each query once in the call: the routing
        pass, the features' search and the routed search share it. Timings are per query."""
        check_queries(queries)
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}", field="k")
        if not queries:
            return []
        with ExitStack() as shared:  # the features' dense search and the routed search share the query's pass
            for e in self._experts.values():
                shared.enter_context(e.sharing_query_passes())
            return self._routed(list(queries), k, router, filter)

    def _routed(
        self,
        queries: list[str],
        k: int,
        router: str,
        filter: dict[str, Any] | None,  # noqa: A002
    ) -> list[SearchResult]:
        t0 = time.perf_counter()
        fitted, routing_expert, rule, model = self._router(router)
        features = collection_query_features(self, queries) if fitted.uses_features else None
        # a router that reads no embedding (qpp: its features' dense search embeds the query) costs no pass here
        emb = model.encode_queries(queries) if fitted.embeds_queries else np.zeros((len(queries), 0))
        routes = fitted.route(emb, features)
        route_ms = (time.perf_counter() - t0) * 1000 / len(queries)
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, route in enumerate(routes):
            groups.setdefault(tuple(route.experts), []).append(i)
        found_at: dict[int, SearchResult] = {}
        for experts, rows in groups.items():
            qs = [queries[i] for i in rows]
            if len(experts) == 1:
                found = self.search_batch(qs, k, expert=experts[0], filter=filter)
            else:
                parts = [self.search_batch(qs, 100, expert=e, fetch=False, filter=filter) for e in experts]
                found = [self._fused(q, [p[j] for p in parts], "+".join(experts), k) for j, q in enumerate(qs)]
            found_at.update(zip(rows, found))
        total_ms = (time.perf_counter() - t0) * 1000 / len(queries)
        results = [found_at[i] for i in range(len(queries))]
        for res, route in zip(results, routes):
            res.timings = dict(res.timings) | {"route_ms": route_ms, "total_ms": total_ms}
            res.routing = RoutingInfo(
                router, rule, routing_expert, list(route.experts), dict(route.scores), dict(route.why)
            )
        return results

    def _fused(self, query: str, parts: list[SearchResult], name: str, k: int) -> SearchResult:
        from ..routing import rrf

        fused = rrf([{h.id: h.score for h in p.hits} for p in parts])
        top = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        return SearchResult(query, name, self._with_documents(top), {}, plan=parts[0].plan)

    def _with_documents(self, top: list[tuple[str, float]]) -> list[Hit]:
        """Hits, ranked as given, with each document's title, text and attributes."""
        ids = self._store.existing_ids([d for d, _ in top])
        docs = self._store.get(list(ids.values()))
        return [
            Hit(d, s, r, docs[ids[d]].title, docs[ids[d]].text, docs[ids[d]].attributes)
            for r, (d, s) in enumerate(top, start=1)
        ]


def check_queries(queries: Sequence[str]) -> None:
    """A batch of queries: a list (not one string) of non-empty strings."""
    if isinstance(queries, str):
        raise InputError("a batch search takes a list of queries, not one string", field="queries")
    bad = next((i for i, q in enumerate(queries) if not isinstance(q, str) or not q.strip()), None)
    if bad is not None:
        raise InputError("empty query", source="<queries>", line=bad + 1, field="query")
