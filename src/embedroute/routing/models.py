"""The model that embeds queries for routing: a dense expert (by name, spec, or one of the collection's), or
the ``tfidf`` lexical encoder. Routers only see the vectors; this module says which models may make them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..encoders.catalog import ENCODERS
from ..errors import InputError
from ..experts.base import Expert
from ..experts.dense import DenseExpert
from ..experts.registry import EXPERTS, ExpertSpec, adapter_folder, expert_from_spec, expert_names
from .lexical import tfidf_from_spec


def routing_model(expert: Expert) -> DenseExpert:
    """``expert`` if it can embed queries for routing (a dense expert with an encoder), else an InputError."""
    if not isinstance(expert, DenseExpert):
        raise InputError(
            f"routing needs a dense model to embed queries; {expert.name!r} is {expert.kind}, not a dense model",
            field="routing_expert",
        )
    return expert


def default_routing_expert(kinds: Mapping[str, str]) -> str | None:
    """The routing model used when none is named: the first dense expert of ``kinds`` (expert name ->
    kind, in the collection's order), or None when there is none. The one place this default is made.

    >>> default_routing_expert({"bm25": "lexical", "minilm": "dense", "e5": "dense"})
    'minilm'
    >>> default_routing_expert({"bm25": "lexical"}) is None
    True
    """
    return next((name for name, kind in kinds.items() if kind == "dense"), None)


def check_routing_name(name: str) -> None:
    """Without loading anything: ``name`` is a model that can embed queries for routing (a registered
    encoder or a query-side expert trained here); a known expert of another kind is an InputError."""
    if name in ENCODERS or adapter_folder(name) is not None:
        return
    if name in EXPERTS:
        raise InputError(
            f"routing needs a dense model to embed queries; {name!r} is not a dense model", field="routing_expert"
        )
    raise InputError(f"unknown expert {name!r}; the server offers: {', '.join(expert_names())}", field="routing_expert")


def routing_model_from_spec(spec: ExpertSpec, state: dict[str, Any] | None = None) -> Any:
    """The model that embeds queries for routing: the ``tfidf`` lexical encoder (fitted from ``state``, or
    unfitted to learn from training queries), or a dense expert by name or spec (:func:`routing_model`)."""
    lexical = tfidf_from_spec(spec, state)
    return lexical if lexical is not None else routing_model(expert_from_spec(spec))
