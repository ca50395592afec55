"""Routing: send each query to the expert that fits it (RouterRetriever, arXiv 2409.02685)."""

from __future__ import annotations

from ..errors import InputError
from . import auto, baselines, pilot  # noqa: F401  (register the routers)
from .base import ROUTERS, Route, Router, RoutingData
from .fusion import rrf


def make_router(name: str, **params: object) -> Router:
    """A router by name; ``single:NAME`` pins one expert; ``NAME@key=value,...`` sets parameters.

    >>> make_router("single:bm25").params
    {'expert': 'bm25'}
    >>> make_router("pilot@per_group=3;min_share=0.15").params
    {'per_group': 3, 'min_share': 0.15}
    >>> make_router("dataset@sed=1")
    Traceback (most recent call last):
    ...
    embedroute.errors.InputError: field "router": router 'dataset' has no parameter 'sed'; it takes: n_per_dataset, seed
    """
    spec = ""
    if "@" in name:
        name, _, spec = name.partition("@")
    if name.startswith("single:"):
        name, params = "single", {"expert": name.split(":", 1)[1], **params}
    cls = ROUTERS.get(name)
    for item in filter(None, (i.strip() for i in spec.split(";"))):
        key, eq, value = (x.strip() for x in item.partition("="))
        if not eq or not key or not value:
            raise InputError(f"router parameter {item!r} is not key=value (write {name}@key=value;key=value)",
                             field="router")
        params[key] = _number(value)
    unknown = sorted(set(params) - cls.accepts)
    if unknown:
        raise InputError(f"router {name!r} has no parameter {unknown[0]!r}; it takes: "
                         f"{', '.join(sorted(cls.accepts)) or 'none'}", field="router")
    return cls(**params)


def _number(value: str) -> object:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


__all__ = ["ROUTERS", "Route", "Router", "RoutingData", "make_router", "rrf"]
