"""SQLite connections set up for durability and concurrent use (WAL, full sync, busy timeout)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

PAGE_SIZE = 8192


def connect(path: str | Path, *, timeout: float = 60.0) -> sqlite3.Connection:
    """Open a SQLite database in WAL mode with ``synchronous=FULL``.

    WAL lets readers and one writer work at once across processes; FULL sync makes every committed
    transaction survive a crash or power loss. A new database gets 8 KiB pages, which hold five 384-d
    float32 vectors each where 4 KiB pages hold two (an existing database keeps its page size).
    """
    conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # before WAL: only a database without pages takes it
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn
