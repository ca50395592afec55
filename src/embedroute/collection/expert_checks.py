"""Checks of a collection's experts against each other and against the vectors stored for them."""

from __future__ import annotations

from typing import Any

from ..errors import CollectionError, InputError
from ..experts.base import Expert
from .manifest import model_change


def check_shared(experts: dict[str, Expert], expert: Expert) -> None:
    """A query-side ``expert`` (``documents_from``) needs that dense expert, with its own vectors of the
    same dimension, among ``experts``."""
    base_name = expert.documents_from
    if not base_name:
        return
    base = experts.get(base_name)
    if base is None or base.kind != "dense" or not base.stores_vectors:
        raise InputError(
            f"expert {expert.name!r} takes its document vectors from {base_name!r}, which is not a "
            f"dense expert with its own vectors in this collection",
            field="documents_from",
        )
    if base.dim != expert.dim:
        raise InputError(
            f"expert {expert.name!r} makes {expert.dim}-d queries but {base_name!r} stores "
            f"{base.dim}-d document vectors",
            field="documents_from",
        )


def check_same_model(name: str, stored: dict[str, Any], current: dict[str, Any]) -> None:
    """The model expert ``name`` loads now (``current`` config) is the one its vectors were made with."""
    change = model_change(stored, current)
    if change is not None:
        key, was, now = change
        raise CollectionError(
            f"expert {name!r}: {key} is now {now!r} but the stored vectors were made with "
            f"{was!r}; reinstall the original model or re-add the expert"
        )
