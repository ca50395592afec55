"""Routers by name: ``make_router("pilot@min_share=0.15")``.

Reads :data:`~embedroute.routing.base.ROUTERS`, which the package's ``__init__`` fills (importing this module
imports the package first), so a router that builds others (``auto``, cross-validation) imports this module,
not the package, and the package's modules import none of the package.
"""

from __future__ import annotations

from typing import cast

from ..errors import InputError
from .base import ROUTERS, Router


def make_router(name: str, **params: object) -> Router:
    """A router by name; ``single:NAME`` pins one expert; ``NAME@key=value;...`` sets parameters.

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
    cls = cast("type[Router]", ROUTERS.get(name))  # routers are registered as their classes
    for item in filter(None, (i.strip() for i in spec.split(";"))):
        key, eq, value = (x.strip() for x in item.partition("="))
        if not eq or not key or not value:
            raise InputError(
                f"router parameter {item!r} is not key=value (write {name}@key=value;key=value)", field="router"
            )
        params[key] = _number(value)
    unknown = sorted(set(params) - cls.accepts)
    if unknown:
        raise InputError(
            f"router {name!r} has no parameter {unknown[0]!r}; it takes: {', '.join(sorted(cls.accepts)) or 'none'}",
            field="router",
        )
    return cls(**params)


def _number(value: str) -> object:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value
