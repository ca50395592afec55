"""Routing: send each query to the expert that fits it (RouterRetriever, arXiv 2409.02685)."""

from __future__ import annotations

from . import baselines, pilot  # noqa: F401  (register the routers)
from .base import ROUTERS, Route, Router, RoutingData
from .fusion import rrf


def make_router(name: str, **params: object) -> Router:
    """A router by name; ``single:NAME`` pins one expert; ``NAME@key=value,...`` sets parameters.

    >>> make_router("single:bm25").params
    {'expert': 'bm25'}
    >>> make_router("pilot@per_group=3").params
    {'per_group': 3}
    """
    if "@" in name:
        name, _, spec = name.partition("@")
        for item in spec.split(";"):
            key, _, value = item.partition("=")
            params[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() else value.strip()
    if name.startswith("single:"):
        return ROUTERS.get("single")(expert=name.split(":", 1)[1], **params)
    return ROUTERS.get(name)(**params)


__all__ = ["ROUTERS", "Route", "Router", "RoutingData", "make_router", "rrf"]
