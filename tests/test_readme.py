"""The README's and docs/*.md's Python examples run as written; the README stays short and its links resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


WITH_CODE = [p for p in [README, *DOCS] if python_blocks(p)]


@pytest.mark.parametrize("path", WITH_CODE, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_python_blocks_run(path):
    for block in python_blocks(path):
        exec(compile(block, str(path), "exec"), {"__name__": "readme"})


def test_readme_and_the_filter_and_multivector_docs_have_python_examples():
    assert {README.name, "indexes-and-filters.md", "multivector.md", "experts.md"} <= {p.name for p in WITH_CODE}


def test_readme_opens_with_the_two_commands():
    text = README.read_text()
    assert "bash run.sh" in text and "bash test.sh" in text
    assert "bash test.sh" in (README.parent / ".ci" / "run").read_text().replace("bash test.sh -q", "bash test.sh")


def test_readme_is_short_and_links_every_doc():
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    linked = set(re.findall(r"\]\((docs/[\w.-]+\.md)\)", text))
    assert linked == {p.relative_to(ROOT).as_posix() for p in DOCS}


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(path):
    for target in re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", path.read_text()):
        assert (path.parent / target).exists(), f"{path.name}: broken link {target}"
