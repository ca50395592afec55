"""Property-based API testing from the served OpenAPI spec (schemathesis): no request, however odd,
gets a 5xx, and every answer matches the documented schema."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import Server
from .payloads import hostile_values, payloads

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def own_server(sample_root, tmp_path_factory):
    """A server over a copy of the sample, so generated writes cannot disturb the other tests."""
    from embedroute.demo import sample_path

    root = tmp_path_factory.mktemp("schemathesis") / "root"
    shutil.copytree(sample_root, root)
    srv = Server(root, "--data-root", str(sample_path().parent), "--max-batch", "50").wait()
    yield srv
    srv.stop()


def test_no_server_errors_and_schema_conformance(own_server, tmp_path):
    cmd = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        own_server.url + "/openapi.json",
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--max-examples",
        "25",
        "--seed",
        "1",
        "--request-timeout",
        "120",
        "--report",
        "junit",
        "--report-junit-path",
        str(tmp_path / "junit.xml"),
    ]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=tmp_path,
        env=dict(os.environ, SCHEMATHESIS_HOOKS="", NO_COLOR="1"),
    )
    summary = proc.stdout[-6000:]
    assert proc.returncode == 0, summary
    assert "No issues found" in proc.stdout or " passed" in proc.stdout, summary
    cases = sum(int(m) for m in re.findall(r'tests="(\d+)"', (tmp_path / "junit.xml").read_text()))
    assert cases >= 10  # every operation was exercised


HOSTILE = payloads("scifact-sample", hostile_values(Path("/srv/sentinel"), Path("/srv/served/scifact-sample/routers")))


@pytest.fixture(scope="module")
def schema(own_server):
    import schemathesis

    return schemathesis.openapi.from_url(own_server.url + "/openapi.json")


@pytest.mark.parametrize("case", HOSTILE, ids=[f"{i}-{p.method}-{p.field}" for i, p in enumerate(HOSTILE)])
def test_hostile_names_and_options_are_documented_4xx(schema, own_server, case):
    """The hostile payloads of test_security as explicit schemathesis cases on this server: the answer named
    there, no server error, and a body that matches the spec wherever the spec documents the status."""
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    operation = schema[case.path][case.method]
    kwargs = {} if case.body is None else {"body": case.body, "media_type": "application/json"}
    made = operation.Case(path_parameters=case.quoted, **kwargs)  # schemathesis keeps a %XX as it is
    resp = made.call(base_url=own_server.url, timeout=60)
    assert resp.status_code == case.status, f"{case}: {resp.text[:300]}"
    made.validate_response(resp, checks=[not_a_server_error, response_schema_conformance])
    if case.status in (400, 404):  # undocumented in the spec, so its shape is checked here
        assert set(resp.json()) == {"error", "detail"}, f"{case}: {resp.text[:300]}"
    if case.status == 400:
        assert f'field "{case.field}"' in resp.json()["detail"], f"{case}: {resp.text[:300]}"
