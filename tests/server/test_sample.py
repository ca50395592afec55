"""``embedroute serve PATH --with-sample`` (what serve.sh runs): the sample collection appears whole."""

from __future__ import annotations

import pytest

from embedroute.server.sample import ensure_sample, length_bucket

from .helpers import Server, http

pytestmark = pytest.mark.slow


def test_serve_with_sample_builds_and_serves_it(tmp_path):
    srv = Server(tmp_path / "root", "--with-sample").wait(600)
    try:
        (info,) = http.get(srv.url + "/api/collections").json()
        assert info == {"name": "scifact-sample", "documents": 500, "experts": ["minilm", "bm25"],
                        "routers": ["auto", "fusion", "pilot", "pilot-nearest"]}
        doc = http.get(srv.url + "/api/collections/scifact-sample/documents/4983").json()
        words = len(doc["text"].split())
        assert doc["attributes"] == {"words": words, "length": length_bucket(words)}
        # the sample's folder became the data root: evaluation runs may read it, nothing else
        assert http.post(srv.url + "/api/evaluations", json={"data": "scifact-sample", "experts": ["bm25"]}
                          ).status_code == 202
        assert http.post(srv.url + "/api/evaluations", json={"data": "../../..", "experts": ["bm25"]}
                          ).status_code == 400
    finally:
        srv.stop()
    assert not list((tmp_path / "root").glob(".*.building"))  # no half-built folder left behind
    # a second start finds it and builds nothing
    from embedroute.demo import sample_path

    mtime = (tmp_path / "root" / "scifact-sample" / "manifest.json").stat().st_mtime
    assert ensure_sample(tmp_path / "root", sample_path()) == "scifact-sample"
    assert (tmp_path / "root" / "scifact-sample" / "manifest.json").stat().st_mtime == mtime
