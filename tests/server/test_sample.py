"""``embedroute serve PATH --with-sample`` (what serve.sh runs): the sample collection appears whole."""

from __future__ import annotations

import pytest

from embedroute.errors import InputError
from embedroute.server.sample import ensure_sample, length_bucket

from .helpers import Server, http


def test_a_sample_without_a_dense_expert_is_refused_before_anything_is_built(tmp_path):
    from embedroute.demo import sample_path

    with pytest.raises(InputError, match="need a dense expert") as exc:
        ensure_sample(tmp_path / "root", sample_path(), experts=("bm25",), show_progress=False)
    assert exc.value.field == "experts"
    assert not (tmp_path / "root").exists() or not list((tmp_path / "root").iterdir())


@pytest.mark.slow
def test_serve_with_sample_builds_and_serves_it(tmp_path):
    srv = Server(tmp_path / "root", "--with-sample").wait(600)
    try:
        (info,) = http.get(srv.url + "/api/collections").json()
        assert info == {
            "name": "scifact-sample",
            "documents": 500,
            "experts": ["minilm", "bm25"],
            "routers": ["auto", "fusion", "fusion-adaptive", "pilot", "pilot-nearest", "qpp"],
        }
        doc = http.get(srv.url + "/api/collections/scifact-sample/documents/4983").json()
        words = len(doc["text"].split())
        assert doc["attributes"] == {"words": words, "length": length_bucket(words)}
        # the sample's folder became the data root: evaluation runs may read it, nothing else
        assert (
            http.post(srv.url + "/api/evaluations", json={"data": "scifact-sample", "experts": ["bm25"]}).status_code
            == 202
        )
        assert (
            http.post(srv.url + "/api/evaluations", json={"data": "../../..", "experts": ["bm25"]}).status_code == 400
        )
    finally:
        srv.stop()
    assert not list((tmp_path / "root").glob(".*.building"))  # no half-built folder left behind
    # a second start finds it and builds nothing
    from embedroute.demo import sample_path

    mtime = (tmp_path / "root" / "scifact-sample" / "manifest.json").stat().st_mtime
    assert ensure_sample(tmp_path / "root", sample_path()) == "scifact-sample"
    assert (tmp_path / "root" / "scifact-sample" / "manifest.json").stat().st_mtime == mtime
