from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path


def snapshot(path: Path) -> str:
    """Digest of everything a collection stores (documents, vectors, schema, experts, manifest)."""
    h = hashlib.sha256()
    conn = sqlite3.connect(path / "documents.sqlite")
    for table, order in (("docs", "rid"), ("vectors", "expert, rid"), ("attributes", "name"), ("experts", "name")):
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY {order}"):
            h.update(repr(row).encode())
    conn.close()
    h.update((path / "manifest.json").read_bytes())
    return h.hexdigest()


def _mount(*args: str) -> None:
    """Run ``mount ARGS``; skip the test, saying why, where this machine does not allow it."""
    import subprocess

    import pytest

    try:
        r = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=60)
    except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot run mount here ({exc}); this test needs a mount to act as root")
    if r.returncode != 0:
        pytest.skip(
            f"mount {' '.join(args)} is not allowed here ({r.stderr.strip()}); this test needs root with CAP_SYS_ADMIN"
        )


def _unmounter(target: Path):
    import subprocess

    def undo() -> None:
        if subprocess.run(["umount", str(target)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(target)], capture_output=True)

    return undo


def read_only_view(src: Path, view: Path):
    """Mount ``src`` read-only at ``view`` (a bind mount: read-only even for root); returns the undo."""
    view.mkdir()
    _mount("--bind", str(src), str(view))
    undo = _unmounter(view)
    try:
        _mount("-o", "remount,bind,ro", str(view))
    except BaseException:
        undo()
        raise
    return undo


def small_disk(path: Path, size: str):
    """Mount a tmpfs of ``size`` at ``path``: a disk that fills up; returns the undo."""
    path.mkdir()
    _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    return _unmounter(path)


def fill_disk(disk: Path) -> None:
    """Take every free byte of the (small) disk mounted at ``disk``, in ``disk/filler``."""
    import os

    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for block in (1 << 16, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * block)
            except OSError:
                pass
    finally:
        os.close(fd)
