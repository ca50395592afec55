"""Auth off loopback, constant-time key check, settings from the environment, confined paths."""

from __future__ import annotations

import httpx
import pytest

from embedroute.errors import InputError
from embedroute.server.security import confined, key_matches
from embedroute.server.settings import Settings

from .helpers import Server

KEY = "k3y-for-tests-0123456789"


def test_non_loopback_bind_needs_a_key(tmp_path, monkeypatch):
    monkeypatch.delenv("EMBEDROUTE_API_KEY", raising=False)
    with pytest.raises(InputError, match="needs an API key"):
        Settings(tmp_path, host="0.0.0.0")
    with pytest.raises(InputError, match="at least 16"):
        Settings(tmp_path, host="0.0.0.0", api_key="short")
    assert Settings(tmp_path, host="0.0.0.0", api_key=KEY).api_key == KEY
    assert Settings(tmp_path, host="127.0.0.1").api_key is None


def test_settings_read_every_flag_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDROUTE_SERVE_PATH", str(tmp_path))
    monkeypatch.setenv("EMBEDROUTE_HOST", "0.0.0.0")
    monkeypatch.setenv("EMBEDROUTE_PORT", "9123")
    monkeypatch.setenv("EMBEDROUTE_API_KEY", KEY)
    monkeypatch.setenv("EMBEDROUTE_DATA_ROOTS", f"{tmp_path}/a:{tmp_path}/b")
    monkeypatch.setenv("EMBEDROUTE_RESULTS_DIR", str(tmp_path / "r"))
    monkeypatch.setenv("EMBEDROUTE_MAX_BODY_BYTES", "4096")
    monkeypatch.setenv("EMBEDROUTE_MAX_BATCH", "7")
    s = Settings.from_env()
    assert (s.root, s.host, s.port, s.api_key) == (tmp_path.resolve(), "0.0.0.0", 9123, KEY)
    assert s.data_roots == [tmp_path.resolve() / "a", tmp_path.resolve() / "b"]
    assert (s.results_dir, s.max_body_bytes, s.max_batch) == (tmp_path.resolve() / "r", 4096, 7)
    assert Settings.from_env(port=1234).port == 1234  # a flag wins over the environment


def test_key_comparison_and_path_confinement(tmp_path):
    assert key_matches(KEY, KEY) and not key_matches(KEY[:-1] + "x", KEY) and not key_matches(None, KEY)
    (tmp_path / "data" / "set").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    (tmp_path / "data" / "link").symlink_to(tmp_path / "secret")
    roots = [tmp_path / "data"]
    assert confined("set", roots) == (tmp_path / "data" / "set").resolve()
    for bad in ("../secret", str(tmp_path / "secret"), "link", "set/../../secret", "/etc/passwd"):
        with pytest.raises(InputError, match="outside"):
            confined(bad, roots)
    with pytest.raises(InputError, match="no data roots"):
        confined("set", [])


@pytest.mark.slow
def test_auth_enforced_when_bound_off_loopback(tmp_path):
    """A real server bound to every interface (reached here over loopback only) demands the key."""
    srv = Server(tmp_path / "root", "--api-key", KEY, host="0.0.0.0").wait()
    try:
        api = srv.url + "/api/collections"
        assert httpx.get(api).status_code == 401
        assert httpx.get(api, headers={"X-API-Key": KEY[:-1] + "!"}).status_code == 401
        assert httpx.get(api, headers={"X-API-Key": KEY}).json() == []
        assert httpx.get(api, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
        assert httpx.post(api, json={"name": "x", "experts": ["bm25"]}).status_code == 401
        assert httpx.get(srv.url + "/metrics").status_code == 401
        assert httpx.get(srv.url + "/api/health").status_code == 200  # liveness and the page stay public
        assert httpx.get(srv.url + "/").status_code == 200
    finally:
        srv.stop()


def test_serve_refuses_to_start_off_loopback_without_key(tmp_path, monkeypatch):
    from embedroute.cli.main import main

    monkeypatch.delenv("EMBEDROUTE_API_KEY", raising=False)
    assert main(["serve", str(tmp_path), "--host", "0.0.0.0"]) == 2
