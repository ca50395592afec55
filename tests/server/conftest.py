from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import Server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sample_root(tmp_path_factory) -> Path:
    """A folder of collections holding the SciFact sample with attributes and fitted routers."""
    from embedroute.demo import sample_path
    from embedroute.server.sample import ensure_sample

    root = tmp_path_factory.mktemp("served")
    ensure_sample(root, sample_path(), show_progress=False)
    return root


@pytest.fixture(scope="session")
def server(sample_root) -> Server:
    """A real server process on loopback over ``sample_root`` (session-wide: tests share it)."""
    from embedroute.demo import sample_path

    srv = Server(
        sample_root, "--data-root", str(sample_path().parent), "--results", str(ROOT / "benchmarks" / "results")
    ).wait()
    srv.warm()
    yield srv
    srv.stop()
