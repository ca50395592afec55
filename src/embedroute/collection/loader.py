"""The in-memory search structures of a collection's experts, kept at the store's generation.

Every committed write of documents bumps the store's generation (adding or removing an expert does not:
only that expert's own vectors change, and it is built on first use or forgotten). An expert's structure is
current when it was
built or updated at the store's present generation: this process's writes are applied to it in place,
a write by another process leaves it stale, and a stale one is brought up to date on its next use, from
a saved copy in ``indexes/`` when that is current, else rebuilt from the store (the source of truth).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..experts.base import Expert
from ..index.attributes import AttributeIndex
from ..storage.store import Store


class IndexLoader:
    """Which experts' structures (and the attribute index) are current, and bringing them up to date."""

    def __init__(self, store: Store, folder: Path) -> None:
        self._store = store
        #: where experts keep their built indexes (``indexes/`` beside the collection)
        self.folder = folder
        self._loaded: dict[str, int] = {}  # expert name -> the store generation its structure reflects
        self._attributes: tuple[int, AttributeIndex] | None = None

    def attributes(self) -> AttributeIndex:
        """The attribute index that filters searches, at the store's generation (rebuilt after any write)."""
        gen = self._store.generation()
        if self._attributes is None or self._attributes[0] != gen:
            rids, attrs = self._store.all_attributes()
            self._attributes = (gen, AttributeIndex(rids, attrs, self._store.schema()))
        return self._attributes[1]

    def ensure(self, expert: Expert) -> None:
        """Make ``expert``'s structure current: a saved copy opened without reading the store, else
        built from the stored vectors (its own, or those of the expert it takes them from) or texts."""
        gen = self._store.generation()
        if self._loaded.get(expert.name) == gen:
            return
        shared = expert.documents_from
        if not shared and expert.open_persisted(self.folder, gen, self._store.count()):
            self._loaded[expert.name] = gen  # the saved structure (and memory-mapped vectors): store not read
            return
        if shared:
            rids, blobs = self._store.blobs(shared)
            expert.load(rids, [], expert.from_blobs(blobs))
        elif expert.stores_vectors:
            rids, blobs = self._store.blobs(expert.name)
            if not expert.load_persisted(rids, expert.from_blobs(blobs), self.folder, gen):
                expert.save_persisted(self.folder, gen)
        else:
            rids, texts = self._store.all_texts()
            expert.load(rids, texts, None)
            expert.save_persisted(self.folder, gen)  # kinds that keep a copy build it now, not at the query
        self._loaded[expert.name] = gen

    def prepare(self, experts: Mapping[str, Expert]) -> None:
        """After a write: bring every expert's structure up to date and build what its next search would
        (BM25's index), so that no query waits for a build (#21). The write is committed already, so a
        failure here only warns: the structure is built again on its next use."""
        for name, expert in experts.items():
            try:
                self.ensure(expert)
                expert.prepare()
            except Exception as exc:  # noqa: BLE001 - the store has the write: rebuild from it later
                self._loaded.pop(name, None)
                warnings.warn(
                    f"expert {name!r}: building its index after the write failed ({type(exc).__name__}: {exc}); "
                    "it is built from the store on its next search",
                    RuntimeWarning,
                    stacklevel=3,
                )

    def forget(self, name: str) -> None:
        """Treat expert ``name``'s structure as stale (or gone)."""
        self._loaded.pop(name, None)

    def save(self, experts: Mapping[str, Expert]) -> None:
        """Save the current structures of the experts that keep a copy (so the next open skips the build)."""
        gen = self._store.generation()
        for name, expert in experts.items():
            if self._loaded.get(name) == gen and not expert.documents_from:
                expert.save_persisted(self.folder, gen)

    def after_write(
        self,
        experts: Mapping[str, Expert],
        gen_before: int,
        rids: np.ndarray,
        texts: list[str],
        reps: Mapping[str, Any],
        *,
        replaced: bool,
    ) -> None:
        """Apply a committed add or upsert (``reps``: the stored representations by expert name) to every
        structure that was current before it."""
        for name, expert in experts.items():
            if self._loaded.get(name) != gen_before or not expert.updates_in_place:
                self._loaded.pop(name, None)
                continue
            rep = reps.get(expert.documents_from or name)

            def update(e: Expert = expert, rep: Any = rep) -> None:
                if replaced:
                    e.remove(rids)
                e.add(rids, texts, rep)

            self.apply(name, gen_before, update)

    def after_delete(self, experts: Mapping[str, Expert], gen_before: int, rids: np.ndarray) -> None:
        """Apply a committed delete to every structure that was current before it."""
        for name, expert in experts.items():
            if self._loaded.get(name) == gen_before and expert.updates_in_place:
                self.apply(name, gen_before, partial(expert.remove, rids))
            else:
                self._loaded.pop(name, None)

    def apply(self, name: str, gen_before: int, update: Callable[[], None]) -> None:
        """Apply a committed write to one expert's in-memory index. The store has the write already,
        so a failure here must not reach the caller: the index is dropped and rebuilt from the store on
        its next use, and memory never disagrees with the store."""
        try:
            update()
            self._loaded[name] = gen_before + 1
        except Exception as exc:  # noqa: BLE001 - any index failure: rebuild from the source of truth
            self._loaded.pop(name, None)
            warnings.warn(
                f"expert {name!r}: updating its index failed ({type(exc).__name__}: {exc}); it is "
                "rebuilt from the store on its next search",
                RuntimeWarning,
                stacklevel=3,
            )
