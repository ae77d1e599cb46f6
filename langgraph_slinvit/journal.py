"""A write-ahead journal of real actions, so a resumed run never executes one twice.

LangGraph saves a checkpoint after each step of the graph. A process killed *during* the ``act``
step (after the action ran, before the checkpoint) would run that action again on resume. The
journal closes that gap: before a real action runs, its key is committed to a small SQLite file
as ``started``; afterwards its observation is committed as ``done``. On resume, ``act`` finds the
key and reuses the observation (``done``) or, if the process died mid-action (``started``),
reports that instead of running the action a second time.

Keys are ``thread_id / episode / decision / sha256(action)``: a run resumed (or replayed from an
earlier checkpoint) with the same action reuses its observation, while another action chosen at
that checkpoint (time travel with ``update_state``) runs. The journal is only used when the graph
runs with a checkpointer (without one nothing can resume).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any


class ActionJournal:
    """Durable record of real actions (one SQLite file, safe across processes)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS actions (key TEXT PRIMARY KEY, action TEXT NOT NULL, "
            "status TEXT NOT NULL, observation TEXT, started REAL, finished REAL)"
        )

    def lookup(self, key: str) -> tuple[str | None, dict[str, Any] | None]:
        """``(status, observation)``: status is None, ``started`` or ``done``."""
        with self._lock:
            row = self._conn.execute(
                "SELECT status, observation FROM actions WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None, None
        return row[0], json.loads(row[1]) if row[1] else None

    def begin(self, key: str, action: str) -> None:
        """Record that ``action`` is about to run (committed before it runs)."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO actions (key, action, status, started) VALUES (?, ?, 'started', ?)",
                (key, action, time.time()),
            )

    def finish(self, key: str, observation: dict[str, Any]) -> None:
        """Record what the action produced."""
        with self._lock:
            self._conn.execute(
                "UPDATE actions SET status = 'done', observation = ?, finished = ? WHERE key = ?",
                (json.dumps(observation), time.time(), key),
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
