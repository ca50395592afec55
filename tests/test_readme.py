"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python example"
    for block in blocks:
        exec(compile(block, str(README), "exec"), {"__name__": "readme"})


def test_readme_opens_with_the_two_commands():
    text = README.read_text()
    assert "bash run.sh" in text and "bash test.sh" in text
    assert "bash test.sh" in (README.parent / ".ci" / "run").read_text().replace("bash test.sh -q", "bash test.sh")
