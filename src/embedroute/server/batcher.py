"""Micro-batching of concurrent searches on one collection (leader and followers), written here.

A collection is used under its lock, one request at a time. Instead of queueing whole requests behind
the lock, each request leaves its query in a pending list keyed by everything that must be equal to
share one call (collection, expert or router, k, filter, rescoring). For each key one request at a time
leads: it takes the collection's lock, then every query pending with its key (up to ``max_batch``), and
answers them all with one :meth:`~embedroute.collection.Collection.search_batch` (or
``routed_search_batch``): one encoder pass for the batch instead of one per request. The others wait on
an event set as soon as their answer is written, and the leader hands the lead to the oldest query
still pending. Nothing waits on a timer, so a lone request is answered as fast as before; batches form
only while the collection is busy.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from ..collection import Collection
from ..collection.results import SearchResult
from .pool import Pool


@dataclass(eq=False)  # identity: two requests may ask the same query
class _Pending:
    query: str
    result: SearchResult | None = None
    index: dict[str, Any] | None = None
    error: BaseException | None = None
    done: bool = False
    lead: bool = False
    wake: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class _Key:
    collection: str
    expert: str | None
    router: str | None
    k: int
    filter: str
    rescore: int | None


@dataclass
class SearchBatcher:
    """Joins concurrent searches with the same key into one batch call; ``max_batch`` caps a batch."""

    pool: Pool
    max_batch: int = 64
    _pending: dict[_Key, list[_Pending]] = field(default_factory=dict)
    _leading: set[_Key] = field(default_factory=set)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def search(
        self,
        name: str,
        query: str,
        k: int,
        *,
        expert: str | None = None,
        router: str | None = None,
        filter: dict[str, Any] | None = None,  # noqa: A002 - the API's word
        rescore: int | None = None,
    ) -> tuple[SearchResult, dict[str, Any] | None]:
        """The answer to one query (maybe computed in a batch with others) and, when one expert
        answered, that expert's index config."""
        key = _Key(name, expert, router, k, json.dumps(filter, sort_keys=True, default=str), rescore)
        mine = _Pending(query)
        with self._guard:
            self._pending.setdefault(key, []).append(mine)
            if key not in self._leading:
                self._leading.add(key)
                mine.lead = True
        if not mine.lead:
            mine.wake.wait()  # answered by a leader, or made the leader
        if not mine.done:
            self._lead(name, key, mine)
        if mine.error is not None:
            raise mine.error
        assert mine.result is not None
        return mine.result, mine.index

    def _lead(self, name: str, key: _Key, mine: _Pending) -> None:
        batch: list[_Pending] = []
        try:
            with self.pool.use(name) as col:
                batch = self._take(key, mine)  # taken under the lock: everyone who arrived meanwhile
                self._run(col, key, batch)
        except BaseException as exc:  # noqa: BLE001 - handed to every request of the batch
            if not batch:  # the collection could not be opened: our query fails, the next leader tries again
                with self._guard:
                    waiting = self._pending.get(key, [])
                    waiting.remove(mine)
                    if not waiting:
                        self._pending.pop(key, None)
                batch = [mine]
            for p in batch:
                if not p.done:
                    p.error, p.done = exc, True
        finally:
            with self._guard:
                queued = self._pending.get(key)
                nxt = queued[0] if queued else None
                if nxt is None:
                    self._leading.discard(key)
                else:
                    nxt.lead = True
            for p in batch:
                if p is not mine:
                    p.wake.set()
            if nxt is not None:
                nxt.wake.set()

    def _take(self, key: _Key, mine: _Pending) -> list[_Pending]:
        """Our own query and up to ``max_batch - 1`` others waiting with the same key."""
        with self._guard:
            waiting = self._pending.pop(key, [])
            waiting.remove(mine)
            batch, rest = [mine, *waiting[: self.max_batch - 1]], waiting[self.max_batch - 1 :]
            if rest:
                self._pending[key] = rest
        return batch

    def _run(self, col: Collection, key: _Key, batch: list[_Pending]) -> None:
        try:
            results = self._call(col, key, [p.query for p in batch])
        except Exception as exc:  # noqa: BLE001 - handed to the request that asked
            if len(batch) == 1:
                batch[0].error, batch[0].done = exc, True
            else:  # one bad query must not fail the others: answer each alone
                for p in batch:
                    self._run(col, key, [p])
            return
        configs: dict[str, dict[str, Any] | None] = {}
        for p, res in zip(batch, results):
            res.timings = dict(res.timings) | {"batched_queries": float(len(batch))}
            if "+" not in res.expert and res.expert not in configs:
                configs[res.expert] = col.expert(res.expert).index_config()
            p.result, p.index, p.done = res, configs.get(res.expert), True

    @staticmethod
    def _call(col: Collection, key: _Key, queries: list[str]) -> list[SearchResult]:
        flt = json.loads(key.filter)
        if key.router:
            return col.routed_search_batch(queries, key.k, router=key.router, filter=flt)
        expert = col.expert(key.expert)
        ctx: Any = expert.rescoring(key.rescore)  # a no-op for experts without a compressed index
        with ctx:
            return col.search_batch(queries, key.k, expert=expert.name, filter=flt)
