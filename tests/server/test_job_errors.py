"""A failed job's error text is shown to HTTP clients (GET /api/expert-adds/ID): like every error the
app answers, it must not name a server folder."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from embedroute.server.app import create_app
from embedroute.server.settings import Settings


def test_a_failed_expert_add_job_names_no_server_folder(tmp_path, monkeypatch):
    cache = tmp_path / "empty-cache"  # colbert-minilm is trained locally, never downloaded: absent here
    monkeypatch.setenv("EMBEDROUTE_CACHE_DIR", str(cache))
    with TestClient(create_app(Settings(root=tmp_path / "served"))) as client:
        assert client.post("/api/collections", json={"name": "c", "experts": ["bm25"]}).status_code == 201
        job = client.post("/api/collections/c/experts", json={"expert": "colbert-minilm"})
        assert job.status_code == 202
        for _ in range(600):
            state = client.get(f"/api/expert-adds/{job.json()['id']}").json()
            if state["status"] in ("done", "failed"):
                break
            time.sleep(0.05)
    assert state["status"] == "failed" and state["error"], state
    assert str(tmp_path) not in state["error"] and "<server path>" in state["error"], state["error"]
