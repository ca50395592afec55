"""Collections: documents stored once, searched through several experts.

A collection is a folder holding ``manifest.json`` (what it is) and ``documents.sqlite`` (documents,
typed attributes and each dense expert's vectors, written in transactions). Search structures are
rebuilt in memory from the store and kept in step with every write, also writes by other processes.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from ..encoders.cache import default_cache
from ..errors import CollectionError, InputError, StorageError, UnknownNameError
from ..experts.base import Expert, unsupported
from ..experts.registry import ExpertSpec, expert_from_spec, make_expert
from ..index.planner_file import read_entries, thresholds_of, write_entries
from ..storage.documents import Document, check_schema, validate
from ..storage.jsonl import corpus_file, read_jsonl
from ..storage.store import Store
from .check import run_check
from .encoding import Progress, StageProgress, batch_reps, encode_into
from .expert_checks import check_same_model, check_shared
from .loader import IndexLoader
from .manifest import MANIFEST, STORE, read_manifest, write_manifest
from .results import CheckReport, CompactReport, SearchResult, WriteReport, ranked_hits
from .routed import RoutedSearch, RoutingModel, check_queries


def _take_measured_thresholds(path: Path, experts: Iterable[Expert]) -> None:
    """Give each expert the planner thresholds ``calibrate`` measured for it, when they were measured on
    its present index (an expert removed and added again with another index keeps the defaults)."""
    entries = read_entries(path)
    for e in experts:
        entry = entries.get(e.name)
        if e.thresholds is None or entry is None or entry.get("index", e.index_config()) != e.index_config():
            continue
        measured = thresholds_of(entry)
        if measured is not None:
            e.thresholds = measured


class _ExpertsChanged(Exception):
    """Raised inside a write transaction when another process changed the expert list."""


class Collection(RoutedSearch):
    """A durable, multi-expert document collection.

    >>> import tempfile
    >>> c = Collection.create(tempfile.mkdtemp() + "/c", experts=["bm25"])
    >>> c.add([{"id": "a", "text": "cats purr"}, {"id": "b", "text": "dogs bark"}]).added
    2
    >>> c.search("barking dogs", k=1).hits[0].id
    'b'
    """

    def __init__(self, path: Path, store: Store, experts: list[Expert], created: str) -> None:
        self.path = path
        self._store = store
        self._experts = {e.name: e for e in experts}
        self._loader = IndexLoader(store, path / "indexes")
        self._created = created
        self._routers: dict[str, Any] = {}
        self._routing_models: dict[str, RoutingModel] = {}
        self._closed = False
        #: the expert list (name, spec) as this handle last took it from the store
        self._seen = self._stored_experts()

    # -- lifecycle -------------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | Path,
        experts: Sequence[ExpertSpec] = ("minilm", "bm25"),
        *,
        attributes: dict[str, str] | None = None,
        exist_ok: bool = False,
    ) -> Collection:
        """Create a collection folder with the given experts (names, model folders or spec dicts)."""
        path = Path(path)
        if (path / MANIFEST).exists():
            if exist_ok:
                return cls.open(path)
            raise CollectionError(f"{path} already holds a collection; open it, or pass exist_ok=True")
        if not experts:
            raise InputError("a collection needs at least one expert", field="experts")
        schema = check_schema(attributes or {})
        built = [expert_from_spec(s) for s in experts]
        names = [e.name for e in built]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise InputError(f"expert name {sorted(dupes)[0]!r} given twice", field="experts")
        for e in built:
            check_shared({x.name: x for x in built}, e)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a read-only or full parent folder: say so, without the server's path
            raise StorageError(f"cannot create the collection folder {path.name!r}: {exc.strerror or exc}") from exc
        store = Store(path / STORE)
        with store.transaction() as conn:
            for e in built:
                store.put_expert(conn, e.name, e.spec(), e.config())
            store.add_attribute_types(conn, schema)
        created = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        store.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('created', ?)", (created,))
        col = cls(path, store, built, created)
        col._write_manifest()
        return col

    @classmethod
    def open(cls, path: str | Path) -> Collection:
        """Open an existing collection; fails if an expert's model changed since its vectors were made."""
        path = Path(path)
        if not (path / MANIFEST).exists() or not (path / STORE).exists():
            raise CollectionError(f"{path} is not an embedroute collection (no {MANIFEST} / {STORE})")
        read_manifest(path)
        store = Store(path / STORE)
        experts = []
        for name, spec, config in store.experts():
            expert = make_expert(spec["source"], name=name, **spec.get("options", {}))
            check_same_model(name, config, expert.config())
            experts.append(expert)
        row = store.conn.execute("SELECT value FROM meta WHERE key = 'created'").fetchone()
        _take_measured_thresholds(path, experts)
        col = cls(path, store, experts, row[0] if row else "")
        col._write_manifest()  # the store is the source of truth; refresh the mirror
        return col

    def close(self) -> None:
        """Save built ANN indexes that are current (so the next open skips the build), then close."""
        if self._closed:
            return
        self._closed = True
        self._loader.save(self._experts)
        self._store.close()

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- introspection ---------------------------------------------------------------------------
    @property
    def experts(self) -> list[str]:
        """The experts' names, in the order they were added (the first is the default)."""
        return list(self._experts)

    @property
    def attributes(self) -> dict[str, str]:
        """Each typed attribute's name and type (``str``, ``int``, ``float``, ``date``, ``list[str]``)."""
        return self._store.schema()

    def __len__(self) -> int:
        return self._store.count()

    def expert(self, name: str | None = None) -> Expert:
        """The expert ``name`` (default: the first); an unknown name, after rereading the store's expert list, is an
        UnknownNameError."""
        if name is None:
            return next(iter(self._experts.values()))
        if name not in self._experts:
            self._check_experts_current()
        try:
            return self._experts[name]
        except KeyError:
            raise UnknownNameError(f"collection has no expert {name!r}; it has: {', '.join(self._experts)}") from None

    def info(self) -> dict[str, Any]:
        """The collection's path, size, creation time, attribute types and each expert's full config."""
        return {
            "path": str(self.path),
            "documents": len(self),
            "created": self._created,
            "experts": {n: e.config() for n, e in self._experts.items()},
            "attributes": self.attributes,
        }

    def attribute_summary(self, top: int = 50) -> dict[str, dict[str, Any]]:
        """Each attribute's type with its most frequent values or its range (to build filter controls)."""
        return self._loader.attributes().summary(top)

    def get(self, ids: Sequence[str]) -> dict[str, Document]:
        """Stored documents by id; ids not in the collection are left out of the answer."""
        found = self._store.existing_ids(list(ids))
        docs = self._store.get(list(found.values()))
        return {d: docs[r] for d, r in found.items()}

    def sample(self, n: int, *, seed: int = 0) -> list[Document]:
        """Up to ``n`` stored documents drawn at random without replacement (``seed`` fixes the draw), in
        row-id order: what pseudo-queries are made from."""
        rids = self._store.rids()
        if len(rids) > n:
            rids = np.sort(np.random.default_rng(seed).choice(rids, n, replace=False))
        docs = self._store.get(rids.tolist())
        return [docs[r] for r in rids.tolist() if r in docs]

    def _write_manifest(self) -> None:
        entries = [{"name": n, "spec": s, "config": c} for n, s, c in self._store.experts()]
        write_manifest(self.path, experts=entries, attributes=self._store.schema(), created=self._created)

    # -- writes ----------------------------------------------------------------------------------
    def add(self, documents: Iterable[dict[str, Any] | Document], **kw: Any) -> WriteReport:
        """Add new documents (an existing id is an error: use :meth:`upsert`).

        The whole input is validated before anything is written; it is then encoded and committed in
        batches of ``batch_size``; ``on_commit(n_done, ids)`` runs after each batch is durable.
        """
        return self._write(((i, d) for i, d in enumerate(documents, start=1)), upsert=False, **kw)

    def upsert(self, documents: Iterable[dict[str, Any] | Document], **kw: Any) -> WriteReport:
        """Add documents, replacing any with the same id."""
        return self._write(((i, d) for i, d in enumerate(documents, start=1)), upsert=True, **kw)

    def add_file(self, path: str | Path, *, upsert: bool = False, **kw: Any) -> WriteReport:
        """Add a JSONL file (``id``/``_id``, ``text``, ``title``, ``attributes``, ``vectors``) or BEIR folder."""
        f = corpus_file(path)
        return self._write(read_jsonl(f), upsert=upsert, source=str(f), **kw)

    def _write(
        self,
        items: Iterable[tuple[int, Any]],
        *,
        upsert: bool,
        source: str = "<input>",
        batch_size: int = 256,
        show_progress: bool = False,
        on_commit: Any = None,
    ) -> WriteReport:
        t0 = time.perf_counter()
        self._check_experts_current()
        dims = {n: e.dim for n, e in self._experts.items() if e.kind == "dense" and e.stores_vectors}
        as_given = [n for n in dims if not self._experts[n].normalizes_vectors]
        docs, new_types = validate(
            items, source=source, schema=self._store.schema(), vector_dims=dims, unnormalised=as_given
        )
        existing = self._store.existing_ids([d.id for d in docs])
        if existing and not upsert:
            _refuse_existing(docs, existing, source)
        report = WriteReport()
        cache = default_cache()
        hits0 = cache.stats.hits
        bar = _progress_bar(len(docs)) if show_progress and docs else None
        for start in range(0, len(docs), batch_size):
            batch = docs[start : start + batch_size]
            gen_before, rids, reps = self._commit_batch(
                batch, report, first=start == 0, new_types=new_types, upsert=upsert, source=source
            )
            self._loader.after_write(
                self._experts, gen_before, rids, [d.embed_text for d in batch], reps, replaced=bool(existing)
            )
            n_upd = sum(1 for d in batch if d.id in existing)
            report.updated += n_upd
            report.added += len(batch) - n_upd
            if bar is not None:
                bar.update(len(batch))
            if on_commit is not None:
                on_commit(start + len(batch), [d.id for d in batch])
        if bar is not None:
            bar.close()
        if docs:
            self._loader.prepare(self._experts)  # indexes built at the write, never at the first query
        if new_types:
            self._write_manifest()
        report.cache_hits = cache.stats.hits - hits0
        report.seconds = time.perf_counter() - t0
        return report

    def _commit_batch(
        self,
        batch: list[Document],
        report: WriteReport,
        *,
        first: bool,
        new_types: dict[str, str],
        upsert: bool,
        source: str,
    ) -> tuple[int, np.ndarray, dict[str, Any]]:
        """Encode one batch for every expert that stores vectors and commit it in one transaction.

        When another process changed the experts meanwhile, reload them and encode again, so that no
        committed document lacks a vector. Returns the generation before the write, the row ids and reps.
        """
        while True:
            stored = [n for n, e in self._experts.items() if e.stores_vectors]
            reps = {name: batch_reps(self._experts[name], batch, report) for name in stored}
            blobs = {name: self._experts[name].to_blobs(rep) for name, rep in reps.items()}
            try:
                with self._store.transaction() as conn:
                    if self._stored_experts() != self._seen:
                        raise _ExpertsChanged  # another process added, removed or replaced one: encode for it too
                    gen_before = self._store.generation()
                    if first and new_types:
                        self._store.add_attribute_types(conn, new_types)
                    rids = self._store.write_docs(conn, batch, blobs, upsert=upsert, source=source)
                return gen_before, rids, reps
            except _ExpertsChanged:
                self.reload_experts()

    def delete(self, ids: Sequence[str]) -> WriteReport:
        """Delete documents by id; an unknown id is an error and deletes nothing."""
        t0 = time.perf_counter()
        ids = list(dict.fromkeys(ids))
        with self._store.transaction() as conn:
            gen_before = self._store.generation()
            rids = self._store.delete(conn, ids)
        self._loader.after_delete(self._experts, gen_before, rids)
        self._loader.prepare(self._experts)
        return WriteReport(deleted=len(rids), seconds=time.perf_counter() - t0)

    def compact(self, *, progress: Progress | None = None) -> CompactReport:
        """Drop what deletes left behind: rebuild each ANN graph that still holds deleted documents
        (tombstones, searched past until then) and save it, then rewrite the store without its free
        pages (SQLite ``VACUUM``).

        Every step is safe to interrupt: a saved index is replaced only once its new copy is complete
        (until then the old one, or a rebuild from the store, serves), and ``VACUUM`` is one transaction.
        Documents are not changed, so the store's generation stays and other processes' indexes stay
        current. ``progress(stage, done, total)`` reports each stage (``rebuilding NAME``, ``saving
        NAME``, ``vacuuming``) as it starts.
        """
        report = StageProgress(progress=progress)
        t0 = time.perf_counter()
        self._check_experts_current()
        before = _folder_bytes(self.path)
        dropped: dict[str, int] = {}
        for name, expert in self._experts.items():
            self._loader.ensure(expert)
            report(f"rebuilding {name}", 0, None)
            dropped[name] = expert.compact()
            if dropped[name] and not expert.documents_from:  # a query-side expert's own graph is not saved
                report(f"saving {name}", 0, None)
                self._loader.save({name: expert})
        report("vacuuming", 0, None)
        self._store.vacuum()
        report("done", 1, 1)
        return CompactReport(dropped, before, _folder_bytes(self.path), time.perf_counter() - t0)

    def add_expert(
        self,
        source: ExpertSpec,
        *,
        show_progress: bool = False,
        progress: Progress | None = None,
        max_experts: int | None = None,
    ) -> Expert:
        """Add an expert and encode every stored document for it; other experts are untouched.

        The documents are read and encoded outside the write transaction (encoding takes minutes); the
        transaction then encodes what other writers added or changed meanwhile, compared by checksum,
        so no document is left without a vector. ``progress(stage, done, total)`` reports the stages.
        ``max_experts`` caps the expert count, checked inside the transaction (so concurrent adds cannot
        pass it together).
        """
        report = StageProgress(show_progress=show_progress, progress=progress)
        self._check_experts_current()
        report("loading model", 0, None)
        expert = expert_from_spec(source)
        if expert.name in self._experts:
            raise InputError(f"collection already has an expert named {expert.name!r}", field="experts")
        check_shared(self._experts, expert)
        blobs: dict[int, tuple[str, bytes]] = {}  # row id -> (document checksum, encoded blob)
        if expert.stores_vectors:
            rids, texts, sums = self._store.texts_and_checksums()
            report("encoding", 0, len(texts))
            encode_into(expert, blobs, rids, texts, sums, progress=report)
            report.close_bar()
        report("writing", 0, None)
        with self._store.transaction(documents=False) as conn:  # the other experts' indexes stay current
            stored_names = self._store.expert_names()
            if expert.name in stored_names:
                raise InputError(f"collection already has an expert named {expert.name!r}", field="experts")
            if max_experts is not None and len(stored_names) >= max_experts:
                raise CollectionError(
                    f"the collection already has {len(stored_names)} experts, the most it may have is {max_experts}"
                )
            if expert.stores_vectors:
                rids, texts, sums = self._store.texts_and_checksums()
                stale = [i for i, (r, c) in enumerate(zip(rids.tolist(), sums)) if blobs.get(r, ("",))[0] != c]
                if stale:  # written by another process since the read: encode those now
                    encode_into(expert, blobs, rids[stale], [texts[i] for i in stale], [sums[i] for i in stale])
            self._store.put_expert(conn, expert.name, expert.spec(), expert.config())
            if expert.stores_vectors:
                self._store.put_blobs(conn, expert.name, rids, [blobs[int(r)][1] for r in rids])
        self._experts[expert.name] = expert
        self._seen = [*self._seen, (expert.name, json.dumps(expert.spec(), sort_keys=True))]
        self._routers.clear()
        self._write_manifest()
        report("building index", 0, None)
        self._loader.prepare({expert.name: expert})  # its index is built now, not at its first query
        report("done", 1, 1)
        return expert

    def reload_experts(self) -> bool:
        """Take up experts another process (or another open copy) added, removed or replaced (removed and
        added again under the same name); True if any changed."""
        stored = self._stored_experts()
        if stored == self._seen:
            return False
        seen, current = dict(self._seen), dict(self._experts)
        self._experts = {}
        for name, spec_json in stored:
            if name in current and seen.get(name) == spec_json:
                self._experts[name] = current[name]
                continue
            spec = json.loads(spec_json)
            self._experts[name] = make_expert(spec["source"], name=name, **spec.get("options", {}))
            _take_measured_thresholds(self.path, [self._experts[name]])
            self._loader.forget(name)
        for name in set(current) - set(self._experts):
            self._loader.forget(name)
        self._seen = stored
        self._routers.clear()
        return True

    def _stored_experts(self) -> list[tuple[str, str]]:
        return [(name, json.dumps(spec, sort_keys=True)) for name, spec, _ in self._store.experts()]

    def _check_experts_current(self) -> None:
        if self._stored_experts() != self._seen:
            self.reload_experts()

    def remove_expert(self, name: str) -> None:
        """Drop an expert and its vectors; the documents and other experts are untouched.

        The checks (not the only expert, no expert searching its vectors) are made against the expert
        list the transaction sees, so two processes removing different experts cannot leave none."""
        while True:
            self._check_experts_current()
            self.expert(name)
            if len(self._experts) == 1:
                raise InputError("cannot remove the only expert", field="experts")
            users = [n for n, e in self._experts.items() if e.documents_from == name]
            if users:
                raise InputError(
                    f"expert {users[0]!r} searches {name!r}'s document vectors; remove it first", field="experts"
                )
            try:
                with self._store.transaction(documents=False) as conn:
                    if self._stored_experts() != self._seen:
                        raise _ExpertsChanged  # another process added or removed one: check again
                    self._store.drop_expert(conn, name)
                break
            except _ExpertsChanged:
                self.reload_experts()
        del self._experts[name]
        self._seen = [(n, s) for n, s in self._seen if n != name]
        self._loader.forget(name)
        self._routers.clear()
        self._write_manifest()

    # -- search ----------------------------------------------------------------------------------
    def search(
        self, query: str, k: int = 10, *, expert: str | None = None, filter: dict[str, Any] | None = None
    ) -> SearchResult:  # noqa: A002 - the API's word
        """Top-``k`` documents for ``query`` from one expert (default: the first), optionally filtered
        by attributes (see :mod:`embedroute.index.filters`)."""
        return self.search_batch([query], k, expert=expert, filter=filter)[0]

    def search_batch(
        self,
        queries: Sequence[str],
        k: int = 10,
        *,
        expert: str | None = None,
        fetch: bool = True,
        filter: dict[str, Any] | None = None,
    ) -> list[SearchResult]:  # noqa: A002
        """Search many queries at once; ``fetch=False`` returns ids and scores without texts."""
        check_queries(queries)
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}", field="k")
        t0 = time.perf_counter()
        ex = self.expert(expert)
        allowed = estimate = None
        if filter is not None:
            from ..index.filters import parse

            tree = parse(filter, self._store.schema())
            attr_index = self._loader.attributes()
            estimate = attr_index.estimate(tree)
            allowed = attr_index.allowed(tree)
        self._loader.ensure(ex)
        t1 = time.perf_counter()
        batch = ex.search(list(queries), k, allowed=allowed, estimate=estimate)
        t2 = time.perf_counter()
        all_rids = np.unique(np.concatenate(batch.ids)) if batch.ids else np.zeros(0, dtype=np.int64)
        docs = self._store.get(all_rids.tolist()) if fetch else None
        names = None if fetch else self._store.id_of(all_rids.tolist())
        t3 = time.perf_counter()
        n = max(len(queries), 1)
        timings = {
            "load_ms": (t1 - t0) * 1000 / n,
            "encode_ms": batch.encode_ms / n,
            "search_ms": batch.search_ms / n,
            "fetch_ms": (t3 - t2) * 1000 / n,
            "total_ms": (t3 - t0) * 1000 / n,
        }
        return [
            SearchResult(
                q, ex.name, ranked_hits(ids.tolist(), scores.tolist(), docs, names), dict(timings), plan=batch.plan
            )
            for q, ids, scores in zip(queries, batch.ids, batch.scores)
        ]

    # -- planner calibration -----------------------------------------------------------------------
    def calibrate(self, expert: str | None = None, *, k: int = 10, queries: int = 50, seed: int = 0) -> dict[str, Any]:
        """Measure the filtered-search plans on this collection's own vectors and store the thresholds.

        Each dense expert (or just ``expert``) is timed with ``queries`` of its stored document vectors
        as queries (see :func:`embedroute.index.planner.calibrate`); the thresholds are written to
        ``planner.json`` beside the collection and used from then on, also after reopening.
        """
        names = (
            [expert] if expert else [n for n, e in self._experts.items() if e.kind == "dense" and not e.documents_from]
        )
        saved = read_entries(self.path, warn=False)  # a damaged file is about to be replaced: no warning
        for name in names:
            ex = self.expert(name)
            if ex.thresholds is None:  # its filtered searches are not planned
                raise unsupported(ex, "calibration is for dense experts")
            self._loader.ensure(ex)
            thresholds = ex.calibrate_planner(k=k, queries=queries, seed=seed)
            saved[name] = thresholds.to_json() | {"index": ex.index_config(), "documents": len(ex)}
        write_entries(self.path, saved)
        return saved

    # -- integrity -------------------------------------------------------------------------------
    def check(self, *, recall: bool = False, k: int = 10, sample: int = 100) -> CheckReport:
        """Verify counts, checksums and vectors against documents; see :func:`run_check`.

        ``recall=True`` also measures each dense expert's index recall@k against exact search on
        ``sample`` queries made from stored vectors with Gaussian noise (:meth:`VectorIndex.recall_at`;
        ``counts["recall@k.NAME"]``, per mille).
        """
        report = run_check(self.path, self._store, self._experts)
        if recall:
            for name, expert in self._experts.items():
                if expert.kind == "dense" and expert.stores_vectors:
                    self._loader.ensure(expert)
                    value = expert.index_recall(k, sample)
                    report.counts[f"recall@{k}.{name}"] = round(1000 * value)
        return report


def _refuse_existing(docs: list[Document], existing: dict[str, int], source: str) -> NoReturn:
    """An add (not an upsert) of an id already stored is an error naming the first such document's line."""
    doc = next(d for d in docs if d.id in existing)
    raise InputError(
        f"id {doc.id!r} already exists in the collection; use upsert to replace it",
        source=source,
        line=doc.line,
        field="id",
    )


def _folder_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (a file removed while walking counts nothing)."""
    total = 0
    for f in path.rglob("*"):
        try:
            if f.is_file():
                total += f.stat().st_size
        except OSError:
            continue
    return total


def _progress_bar(total: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="add", unit="doc")
