"""SQLite connections set up for durability and concurrent use (WAL, full sync, busy timeout)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def connect(path: str | Path, *, timeout: float = 60.0) -> sqlite3.Connection:
    """Open a SQLite database in WAL mode with ``synchronous=FULL``.

    WAL lets readers and one writer work at once across processes; FULL sync makes every committed
    transaction survive a crash or power loss.
    """
    conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn
