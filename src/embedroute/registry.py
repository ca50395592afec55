"""A tiny string-keyed registry for pluggable parts (encoders, indexes, metrics, ...)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to factories.

    >>> r: Registry[int] = Registry("number")
    >>> r.register("one", lambda: 1)
    >>> r.get("one")()
    1
    >>> r.get("two")
    Traceback (most recent call last):
    ...
    embedroute.errors.UnknownNameError: unknown number 'two'; known: one
    >>> r.unregister("one")
    >>> "one" in r
    False
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, Callable[..., T]] = {}

    def register(self, name: str, factory: Callable[..., T], *, replace: bool = False) -> None:
        """Register ``factory`` under ``name``; an existing name is a ValueError unless ``replace``."""
        if name in self._items and not replace:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = factory

    def unregister(self, name: str) -> None:
        """Remove a registered name (a plug-in that is no longer wanted); unknown names raise."""
        self.get(name)
        del self._items[name]

    def get(self, name: str) -> Callable[..., T]:
        """The factory registered as ``name``; an unknown name is an UnknownNameError listing the known ones."""
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "(none)"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._items)
