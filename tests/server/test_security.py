"""Auth off loopback, constant-time key check, settings from the environment, confined paths, and hostile
names and expert options over HTTP that never reach a file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest

from embedroute.errors import InputError
from embedroute.server.security import confined, key_matches
from embedroute.server.settings import Settings

from .helpers import Server
from .payloads import hostile_values, payloads

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


AUDIT_HOOK = '''
"""Installed by test_security: log every open / listdir / scandir of a path under $EMBEDROUTE_TEST_SENTINEL."""
import os
import sys

_sentinel, _log = os.environ.get("EMBEDROUTE_TEST_SENTINEL"), os.environ.get("EMBEDROUTE_TEST_AUDIT_LOG")
if _sentinel and _log:
    _roots = tuple({os.path.abspath(_sentinel), os.path.realpath(_sentinel)})
    _fd = os.open(_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # os.write raises no audit event

    def _hook(event, args):
        if event not in ("open", "os.listdir", "os.scandir") or not args or args[0] is None:
            return
        try:
            path = os.path.abspath(os.fsdecode(args[0]))
        except (TypeError, ValueError):
            return  # a file descriptor
        if any(path == r or path.startswith(r + os.sep) for r in _roots):
            os.write(_fd, f"{event} {path}\\n".encode())

    sys.addaudithook(_hook)
    with open(_log + ".active", "w") as f:
        f.write(str(os.getpid()))
'''


def watched_env(tmp_path: Path, sentinel: Path, log: Path) -> dict[str, str]:
    """Environment for a Python process whose opens under ``sentinel`` are logged to ``log``."""
    hooks = tmp_path / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "sitecustomize.py").write_text(AUDIT_HOOK)
    path = os.pathsep.join(p for p in (str(hooks), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "EMBEDROUTE_TEST_SENTINEL": str(sentinel), "EMBEDROUTE_TEST_AUDIT_LOG": str(log)}


def make_sentinel(folder: Path) -> Path:
    """A folder outside every root holding what would load if reached: a sentence-transformers model (the
    MiniLM files, linked) and a router's saved files."""
    from embedroute.encoders.catalog import _minilm_folder
    from embedroute.routing import RoutingData
    from embedroute.routing.store import save_routing

    shutil.copytree(_minilm_folder(), folder / "model", copy_function=os.symlink)
    data = RoutingData(["bm25"], np.eye(3, dtype=np.float32), ["d"] * 3, np.ones((3, 1)), ["q0", "q1", "q2"])
    save_routing(folder / "router", "evil", data, {"router": "pilot", "routing_expert": "bm25"})
    return folder


@pytest.mark.slow
def test_hostile_names_and_options_never_reach_a_file(tmp_path):
    """Every hostile name and option over HTTP is a 4xx naming the field and showing no server path, and
    the server (watched by an audit hook) never opens the sentinel folder, which its loaders would open."""
    from embedroute.demo import sample_path

    sentinel = make_sentinel(tmp_path / "outside")
    log, cache = tmp_path / "audit.log", tmp_path / "cache"
    root = tmp_path / "served"
    srv = Server(
        root,
        "--data-root",
        str(sample_path().parent),
        env=watched_env(tmp_path, sentinel, log) | {"EMBEDROUTE_CACHE_DIR": str(cache)},
    ).wait()
    try:
        assert Path(str(log) + ".active").read_text() == str(srv.proc.pid)  # the hook runs in the server
        api = srv.url + "/api/collections"
        assert httpx.post(api, json={"name": "c", "experts": ["bm25"]}).status_code == 201
        (root / "c" / "routers").mkdir()  # a collection with routers: a traversal from there would resolve
        cases = payloads("c", hostile_values(sentinel, root / "c" / "routers"))
        with httpx.Client(base_url=srv.url, timeout=60) as client:
            for case in cases:
                resp = client.request(case.method, case.url, json=case.body)
                assert resp.status_code == case.status, f"{case}: {resp.text[:300]}"
                if case.status in (400, 404):  # ours and FastAPI's (no such route) alike
                    assert set(resp.json()) == {"error", "detail"}, f"{case}: {resp.text[:300]}"
                if case.status == 400:
                    body = resp.json()
                    assert f'field "{case.field}"' in body["detail"], f"{case}: {body}"
                    assert str(tmp_path) not in body["detail"] and "/etc" not in body["detail"], f"{case}: {body}"
            garbled = client.post("/api/collections", content=b"\xff\x03", headers={"content-type": "application/json"})
            assert garbled.status_code == 400 and set(garbled.json()) == {"error", "detail"}, garbled.text
            # a loader's own message about a server folder (the cache) is shown without it
            resp = client.post("/api/collections", json={"name": "colbert-try", "experts": ["colbert-minilm"]})
            assert resp.status_code == 400 and "<server path>" in resp.json()["detail"], resp.text
            assert str(cache) not in resp.text and str(tmp_path) not in resp.text
            listed = client.get("/api/collections").json()
        assert [(c["name"], c["experts"], c["routers"]) for c in listed] == [("c", ["bm25"], [])]
        assert log.read_text() == "", log.read_text()[:2000]
    finally:
        srv.stop()

    # control: the hook logs when a loader is pointed at the sentinel deliberately, so the test can fail
    control = tmp_path / "control.log"
    script = (
        "from pathlib import Path; import sys\n"
        "from embedroute.experts.registry import expert_from_spec\n"
        "from embedroute.routing.store import load_routing\n"
        "load_routing(Path(sys.argv[1]) / 'router', 'evil')\n"
        "try:\n"
        "    expert_from_spec({'source': 'colbert-minilm', 'name': 'z', 'options': {'path': sys.argv[1] + "
        "'/model'}})\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(sentinel)],
        check=True,
        timeout=600,
        env=dict(os.environ, **watched_env(tmp_path, sentinel, control)),
    )
    opened = control.read_text()
    assert f"open {sentinel}/router/evil.npz" in opened and f"open {sentinel}/model/modules.json" in opened, opened
