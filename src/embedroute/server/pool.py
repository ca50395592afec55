"""Open collections shared by the server's worker threads, one lock each.

A :class:`~embedroute.collection.Collection` holds one SQLite connection and in-memory indexes, so
every use of one goes through its lock; different collections work in parallel.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..collection import Collection
from ..collection.manifest import MANIFEST
from ..errors import CollectionError, InputError, UnknownNameError
from ..names import check_name as check_safe_name

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_name(name: str) -> str:
    """A collection name: a safe name (:func:`embedroute.names.check_name`), and also a folder name: letters,
    digits, ``.``, ``_``, ``-``; starts with a letter or digit; <= 64."""
    check_safe_name(name, field="name")
    if not NAME.fullmatch(name):
        raise InputError(
            "a collection name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", field="name"
        )
    return name


class Pool:
    """The collections under ``root`` (or ``root`` itself, when it is one collection folder), opened on first use and
    kept open."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._open: dict[str, Collection] = {}
        self._locks: dict[str, threading.RLock] = {}
        self._guard = threading.Lock()

    def _path(self, name: str) -> Path:
        check_name(name)
        if (self.root / MANIFEST).exists() and name == self.root.name:
            return self.root  # serving one collection folder directly
        return self.root / name

    def path_of(self, name: str) -> Path:
        """The folder of collection ``name`` (checked), for a second handle on it."""
        path = self._path(name)
        if not (path / MANIFEST).exists():
            raise UnknownNameError(f"no collection named {name!r}")
        return path

    def names(self) -> list[str]:
        """The names of the collections served (folders with a manifest), sorted."""
        if (self.root / MANIFEST).exists():
            return [self.root.name]
        if not self.root.exists():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and NAME.match(p.name) and (p / MANIFEST).exists()
        )

    def _lock(self, name: str) -> threading.RLock:
        with self._guard:
            return self._locks.setdefault(name, threading.RLock())

    @contextmanager
    def use(self, name: str) -> Iterator[Collection]:
        """The open collection ``name``, held under its lock for the ``with`` block."""
        path = self._path(name)
        with self._lock(name):
            col = self._open.get(name)
            if col is None:
                if not (path / MANIFEST).exists():
                    raise UnknownNameError(f"no collection named {name!r}")
                col = self._open[name] = Collection.open(path)
            yield col

    def create(self, name: str, experts: list[Any], attributes: dict[str, str] | None) -> Collection:
        """Create the collection ``name`` under the root and keep it open; an existing one is a CollectionError."""
        path = self._path(name)
        if (self.root / MANIFEST).exists():
            raise CollectionError("this server serves a single collection folder; it cannot create others")
        with self._lock(name):
            if (path / MANIFEST).exists():
                raise CollectionError(f"collection {name!r} already exists")
            self.root.mkdir(parents=True, exist_ok=True)
            col = self._open[name] = Collection.create(path, experts=experts, attributes=attributes)
            return col

    def close(self) -> None:
        """Close every open collection, each under its lock."""
        with self._guard:
            for name, col in list(self._open.items()):
                with self._locks[name]:
                    col.close()
            self._open.clear()
