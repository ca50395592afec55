"""A core-only install (``pip install embedroute``, no extras) imports embedroute and runs a BM25 collection;
the features that need an extra say which one instead of failing with a traceback (issue #15, item 7).

Why a blocked-import interpreter and not a real second venv: a real core-only venv means downloading and
installing torch, transformers, faiss and the rest again (gigabytes), which CI cannot afford and an offline
machine cannot do. So each case runs a subprocess of this venv's python in which a ``sys.meta_path`` finder
hides the extras' packages: their modules cannot be found (``import fastapi`` raises ``ModuleNotFoundError``,
``importlib.util.find_spec("fastapi")`` is ``None``) and their distributions have no metadata
(``importlib.metadata.version("peft")`` raises ``PackageNotFoundError``). That is exactly what a core-only venv
gives, because the core's own dependencies pull in none of those packages:
``test_core_dependencies_pull_in_no_extra`` checks that against the installed metadata, so the hidden set
stays what a core-only venv would really lack.
"""

from __future__ import annotations

import ast
import gzip
import json
import re
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "src" / "embedroute" / "data" / "scifact-sample"

#: the extras' distributions (as pyproject.toml names them) and the top-level modules they install
EXTRA_PACKAGES = {
    "server": {"fastapi", "uvicorn", "prometheus-client"},
    "train": {"peft"},
    "eval": {"matplotlib", "ranx"},
}
#: what a core-only venv lacks: the extras' distributions and starlette, which only fastapi brings
HIDDEN_DISTRIBUTIONS = {"fastapi", "starlette", "uvicorn", "prometheus-client", "peft", "matplotlib", "ranx"}
HIDDEN_MODULES = {
    "fastapi",
    "starlette",
    "uvicorn",
    "prometheus_client",
    "peft",
    "matplotlib",
    "mpl_toolkits",
    "pylab",
    "ranx",
}

#: run first in every subprocess: hide the extras from the import system and from importlib.metadata
CORE_ONLY = f"""
import importlib.machinery
import re
import sys

HIDDEN_MODULES = {sorted(HIDDEN_MODULES)!r}
HIDDEN_DISTRIBUTIONS = {sorted(HIDDEN_DISTRIBUTIONS)!r}
assert not [m for m in sys.modules if m.partition(".")[0] in HIDDEN_MODULES], "imported before the finder"


class CoreOnlyPathFinder(importlib.machinery.PathFinder):
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname.partition(".")[0] in HIDDEN_MODULES:
            return None
        return super().find_spec(fullname, path, target)

    @classmethod
    def find_distributions(cls, *args, **kwargs):
        for dist in super().find_distributions(*args, **kwargs):
            if re.sub(r"[-_.]+", "-", dist.metadata["Name"] or "").lower() not in HIDDEN_DISTRIBUTIONS:
                yield dist


sys.meta_path[:] = [CoreOnlyPathFinder if f is importlib.machinery.PathFinder else f for f in sys.meta_path]
assert CoreOnlyPathFinder in sys.meta_path
"""


def run_core_only(body: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``body`` in a fresh interpreter of this venv with the extras hidden (``CORE_ONLY`` first)."""
    script = CORE_ONLY + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=600, cwd=ROOT)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(req: str) -> str:
    return _norm(re.match(r"[A-Za-z0-9._-]+", req).group(0))


def test_the_finder_hides_the_extras_as_a_core_only_venv_would():
    """The harness itself: with CORE_ONLY run, the hidden packages are unimportable and have no metadata,
    while a core dependency still imports (so a failure below is embedroute's, not the harness's)."""
    out = run_core_only(
        """
        import importlib.metadata, importlib.util
        for name in HIDDEN_MODULES:
            assert importlib.util.find_spec(name) is None, name
        try:
            import fastapi
        except ModuleNotFoundError as exc:
            assert exc.name == "fastapi", exc.name
        else:
            raise AssertionError("fastapi imported")
        for name in HIDDEN_DISTRIBUTIONS:
            try:
                importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                pass
            else:
                raise AssertionError(name + " has metadata")
        import bm25s
        print("bm25s", importlib.metadata.version("bm25s"))
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("bm25s ")


@pytest.mark.slow
def test_core_only_runs_a_bm25_collection(tmp_path):
    """Import embedroute, build a BM25 collection over 25 real SciFact documents, search it, reopen it and
    search again; no extra's module is ever imported. The expected top hits are the SciFact-judged documents
    of two sample queries (checked by hand: BM25 ranks each first, far ahead of the second hit)."""
    with gzip.open(SAMPLE / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        docs = [json.loads(line) for _, line in zip(range(25), f)]
    ids = [d["_id"] for d in docs]
    assert "791050" in ids and "1084345" in ids  # the judged documents are among them
    corpus = tmp_path / "docs.json"
    corpus.write_text(json.dumps([{"id": d["_id"], "title": d["title"], "text": d["text"]} for d in docs]))
    out = run_core_only(
        """
        import json
        import embedroute

        corpus, folder = sys.argv[1], sys.argv[2]
        queries = {
            "Exposure to fine particulate air pollution is relate to anxiety prevalence.": "791050",
            "Autophagy declines in aged organisms.": "1084345",
        }
        with embedroute.Collection.create(folder, experts=["bm25"]) as col:
            assert col.add(json.load(open(corpus))).added == 25
            for query, expected in queries.items():
                hits = col.search(query, k=3).hits
                assert hits[0].id == expected, (query, [h.id for h in hits])
        with embedroute.Collection.open(folder) as col:
            for query, expected in queries.items():
                assert col.search(query, k=1).hits[0].id == expected, query
        leaked = sorted(m for m in sys.modules if m.partition(".")[0] in HIDDEN_MODULES)
        assert not leaked, leaked
        print("ok", embedroute.__file__)
        """,
        str(corpus),
        str(tmp_path / "col"),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "ok"
    assert Path(out.stdout.split()[1]).is_relative_to(ROOT / "src")  # this checkout's sources, not another's


CLI = """
import runpy
sys.argv = ["embedroute", *sys.argv[1:]]
runpy.run_module("embedroute.cli.main", run_name="__main__", alter_sys=True)
"""


@pytest.mark.slow
def test_core_only_serve_names_the_server_extra(tmp_path):
    out = run_core_only(CLI, "serve", str(tmp_path / "collections"), "--port", "0")
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert 'pip install "embedroute[server]"' in out.stderr
    assert out.stderr.startswith("embedroute serve: error: ")
    assert "Traceback" not in out.stderr
    assert "serving" not in out.stdout


@pytest.mark.slow
def test_core_only_train_names_the_train_extra(tmp_path):
    out = run_core_only(CLI, "train", "--data", str(SAMPLE), "--out", str(tmp_path / "adapter"), "--quiet")
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert 'pip install "embedroute[train]"' in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "adapter").exists()


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_pyproject_core_dependencies_hold_no_extra():
    project = _pyproject()
    core = {_requirement_name(r) for r in project["dependencies"]}
    assert not core & HIDDEN_DISTRIBUTIONS, core & HIDDEN_DISTRIBUTIONS
    extras = project["optional-dependencies"]
    for extra, packages in EXTRA_PACKAGES.items():
        assert {_requirement_name(r) for r in extras[extra]} == packages, extra
    assert sorted(extras["all"]) == sorted(r for extra in EXTRA_PACKAGES for r in extras[extra])
    assert not {_requirement_name(r) for r in extras["dev"]} & HIDDEN_DISTRIBUTIONS  # dev brings no extra


def test_core_dependencies_pull_in_no_extra():
    """Walk the installed metadata from pyproject's core dependencies (with their requested extras): no
    hidden distribution is reachable, so a core-only venv really lacks exactly what the finder hides."""
    packaging = pytest.importorskip("packaging.requirements")
    todo = [packaging.Requirement(r) for r in _pyproject()["dependencies"]]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        req = todo.pop()
        key = (_norm(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue  # not installed here (another platform's dependency)
        for line in dist.requires or []:
            dep = packaging.Requirement(line)
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in (*req.extras, "")):
                todo.append(dep)
    reached = {name for name, _ in seen}
    assert "bm25s" in reached and "torch" in reached  # the walk does reach the core
    assert not reached & HIDDEN_DISTRIBUTIONS, reached & HIDDEN_DISTRIBUTIONS


def test_only_the_server_package_imports_an_extra_directly():
    """Outside ``embedroute/server`` (whose ``__init__`` checks its extra first), the extras' modules are
    reached only through ``embedroute.extras.require``, never by an import statement."""
    offenders = []
    for path in sorted([*(ROOT / "src" / "embedroute").rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py")]):
        if "server" in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            offenders += [
                f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names if n.split(".")[0] in HIDDEN_MODULES
            ]
    assert not offenders, offenders
