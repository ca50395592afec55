"""Writes through a real server: a SIGKILL mid-ingest loses no acknowledged document, and concurrent
adds and searches lose nothing."""

from __future__ import annotations

import gzip
import json
import threading
import time

import httpx
import pytest

from embedroute import Collection

from .helpers import Server

pytestmark = pytest.mark.slow


def _sample_docs() -> list[dict]:
    from embedroute.demo import sample_path

    with gzip.open(sample_path() / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        return [{"id": d["_id"], "title": d["title"], "text": d["text"]} for d in map(json.loads, f)]


def test_sigkill_mid_ingest_keeps_every_acknowledged_document(tmp_path):
    root = tmp_path / "root"
    srv = Server(root).wait()
    docs = _sample_docs()
    acked: list[str] = []
    in_flight: list[str] = []
    failed = threading.Event()

    def ingest() -> None:  # batches of 25 until the server dies under it (bounded: 20 passes over 500 docs)
        with httpx.Client(timeout=60) as c:
            for rnd in range(20):
                for start in range(0, len(docs), 25):
                    batch = [d | {"id": f"{d['id']}-{rnd}"} for d in docs[start : start + 25]]
                    in_flight[:] = [d["id"] for d in batch]
                    try:
                        resp = c.post(srv.url + "/api/collections/c/documents", json={"documents": batch})
                    except httpx.HTTPError:
                        failed.set()
                        return
                    assert resp.status_code == 200, resp.text
                    acked.extend(in_flight)

    try:
        assert (
            httpx.post(
                srv.url + "/api/collections", json={"name": "c", "experts": ["minilm", "bm25"]}, timeout=120
            ).status_code
            == 201
        )
        t = threading.Thread(target=ingest)
        t.start()
        while len(acked) < 100 and t.is_alive():
            time.sleep(0.01)
        srv.kill()  # SIGKILL, mid-batch: a request is always in flight here
        t.join()
    finally:
        if srv.proc.poll() is None:
            srv.kill()
    assert failed.is_set() and len(acked) >= 100
    with Collection.open(root / "c") as col:
        assert set(col.get(acked)) == set(acked)  # every acknowledged document survived
        assert len(col) in (len(acked), len(acked) + len(in_flight))  # the in-flight batch: all or nothing
        assert col.check().ok
        assert col.search(docs[0]["title"], k=1, expert="bm25").hits[0].id.startswith(docs[0]["id"])


def test_concurrent_adds_and_searches_lose_nothing(server):
    name = "concurrent"
    assert httpx.post(server.url + "/api/collections", json={"name": name, "experts": ["bm25"]}).status_code == 201
    base = f"{server.url}/api/collections/{name}"
    docs = _sample_docs()[:240]
    errors: list[str] = []

    def writer(part: list[dict]) -> None:
        with httpx.Client(timeout=60) as c:
            for i in range(0, len(part), 10):
                r = c.post(base + "/documents", json={"documents": part[i : i + 10]})
                if r.status_code != 200:
                    errors.append(r.text)

    def reader() -> None:
        with httpx.Client(timeout=60) as c:
            for _ in range(30):
                r = c.post(base + "/search", json={"query": "cell biology", "k": 5})
                if r.status_code != 200:
                    errors.append(r.text)

    threads = [threading.Thread(target=writer, args=(docs[i::4],)) for i in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    info = httpx.get(base).json()
    assert info["documents"] == len(docs)
    for d in docs[::40]:
        assert httpx.get(f"{base}/documents/{d['id']}").json()["text"] == d["text"]
    assert httpx.post(base + "/check").json()["ok"]


def test_a_full_disk_is_a_503_that_keeps_the_documents_and_the_reads(tmp_path):
    """StorageError maps to 503 ``storage_unavailable`` over HTTP; the write keeps nothing, names no server
    path, and searches go on answering as before."""
    from ..collection.helpers import fill_disk, small_disk

    disk = tmp_path / "disk"
    unmount = small_disk(disk, "2m")
    srv = None
    try:
        with Collection.create(disk / "c", experts=["bm25"]) as col:
            col.add(_sample_docs()[:20])
        srv = Server(disk, log=tmp_path / "server.log").wait()
        base = srv.url + "/api/collections/c"
        query = {"query": "vitamin D and bone fractures", "k": 5}
        with httpx.Client(timeout=120) as c:
            before = [h["id"] for h in c.post(base + "/search", json=query).json()["hits"]]
            fill_disk(disk)
            big = [{"id": f"big{i}", "text": f"document {i} " + "word " * 20000} for i in range(10)]
            r = c.post(base + "/documents", json={"documents": big})
            assert r.status_code == 503, r.text
            assert r.json()["error"] == "storage_unavailable" and "disk is full" in r.json()["detail"]
            assert str(disk) not in r.text and str(tmp_path) not in r.text
            assert c.get(base).json()["documents"] == 20
            assert [h["id"] for h in c.post(base + "/search", json=query).json()["hits"]] == before
    finally:
        if srv is not None:
            srv.stop()
        (disk / "filler").unlink(missing_ok=True)
        unmount()
