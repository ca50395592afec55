from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} not present (the shared data sets live beside the repository)")
    return path


def scifact_jsonl(out: Path, n: int) -> Path:
    """The first ``n`` SciFact documents as a JSONL file of ``id``/``title``/``text`` at ``out``."""
    import gzip
    import json

    with gzip.open(shared("scifact") / "corpus.jsonl.gz", "rt", encoding="utf-8") as f, open(out, "w") as w:
        for i, line in enumerate(f):
            if i == n:
                break
            d = json.loads(line)
            w.write(json.dumps({"id": d["_id"], "title": d["title"], "text": d["text"]}) + "\n")
    return out


@pytest.fixture
def sample_dir() -> Path:
    from embedroute.demo import sample_path

    return sample_path()


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty embedding cache for this test only."""
    monkeypatch.setenv("EMBEDROUTE_CACHE_DIR", str(tmp_path / "cache"))
    from embedroute.encoders.cache import default_cache

    return default_cache()


@pytest.fixture(scope="session")
def minilm():
    from embedroute.encoders import get_encoder

    return get_encoder("minilm")
