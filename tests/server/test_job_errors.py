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


def test_index_options_valid_for_the_experts_dimension_are_accepted_when_the_add_is_requested(tmp_path):
    """mrl-128 and pq-48 fit minilm's 384 dimensions; the request-time check must not judge them by
    another dimension (it rejected both, judging by 64); malformed ones are still refused at once."""
    with TestClient(create_app(Settings(root=tmp_path / "served"))) as client:
        assert client.post("/api/collections", json={"name": "c", "experts": ["bm25"]}).status_code == 201
        for i, index in enumerate(["mrl-128", "pq-48"]):
            answer = client.post(
                "/api/collections/c/experts",
                json={"expert": {"source": "minilm", "name": f"m{i}", "options": {"index": index}}},
            )
            assert answer.status_code == 202, answer.json()
        bad = client.post(
            "/api/collections/c/experts",
            json={"expert": {"source": "minilm", "name": "m9", "options": {"index": "mrl-x"}}},
        )
        assert bad.status_code == 400, bad.json()
