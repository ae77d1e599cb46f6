"""The results database: one SQLite row per (suite, method, model, config hash, task).

A run first reads which tasks of its key are done and skips them, so an interrupted run resumes
where it stopped and a repeated run costs nothing. Rows that recorded an error are run again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    suite TEXT NOT NULL,
    method TEXT NOT NULL,
    model TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    task_id TEXT NOT NULL,
    task_index INTEGER,
    difficulty TEXT,
    oracle INTEGER NOT NULL,
    success INTEGER NOT NULL,
    reward REAL NOT NULL,
    gold_empty INTEGER,
    llm_calls REAL NOT NULL,
    prompt_tokens REAL NOT NULL,
    completion_tokens REAL NOT NULL,
    env_steps REAL NOT NULL,
    rollout_steps REAL NOT NULL,
    seconds REAL NOT NULL,
    actions TEXT NOT NULL,
    config TEXT NOT NULL,
    details TEXT NOT NULL,
    error TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (suite, method, model, config_hash, task_id)
)
"""
_JSON_FIELDS = ("actions", "config", "details")


def config_hash(config: dict[str, Any]) -> str:
    """A short, stable digest of a run's configuration."""
    blob = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


@dataclass
class ResultRow:
    """One task's result."""

    suite: str
    method: str
    model: str
    config_hash: str
    task_id: str
    task_index: int
    difficulty: str
    oracle: bool
    success: bool
    reward: float
    gold_empty: bool | None
    llm_calls: float
    prompt_tokens: float
    completion_tokens: float
    env_steps: float
    rollout_steps: float
    seconds: float
    actions: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    created_at: str = ""

    @property
    def tokens(self) -> float:
        return self.prompt_tokens + self.completion_tokens

    @property
    def key(self) -> tuple[str, str, str, str]:
        """The run this row belongs to: (suite, method, model, config hash)."""
        return (self.suite, self.method, self.model, self.config_hash)


_COLUMNS = [f.name for f in fields(ResultRow)]


class ResultsDB:
    """The SQLite results file (created on first use)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        parent = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(parent, exist_ok=True)
        self._conn = sqlite3.connect(self.path)
        self._conn.execute(SCHEMA)
        self._conn.commit()

    def done(self, suite: str, method: str, model: str, chash: str) -> set[str]:
        """Task ids of this run that finished without an error."""
        rows = self._conn.execute(
            "SELECT task_id FROM results WHERE suite=? AND method=? AND model=? "
            "AND config_hash=? AND error IS NULL",
            (suite, method, model, chash),
        )
        return {r[0] for r in rows}

    def put(self, row: ResultRow) -> None:
        """Insert or replace one row."""
        values = asdict(row)
        values["created_at"] = values["created_at"] or datetime.now(UTC).isoformat(
            timespec="seconds"
        )
        for name in _JSON_FIELDS:
            values[name] = json.dumps(values[name], default=str)
        marks = ", ".join("?" * len(_COLUMNS))
        self._conn.execute(
            f"INSERT OR REPLACE INTO results ({', '.join(_COLUMNS)}) VALUES ({marks})",
            [values[c] for c in _COLUMNS],
        )
        self._conn.commit()

    def rows(
        self,
        *,
        suite: str | None = None,
        method: str | None = None,
        model: str | None = None,
        chash: str | None = None,
        task_ids: Iterable[str] | None = None,
    ) -> list[ResultRow]:
        """Rows matching the given filters, in (suite, method, task index) order."""
        where, params = [], []
        for column, value in (
            ("suite", suite),
            ("method", method),
            ("model", model),
            ("config_hash", chash),
        ):
            if value is not None:
                where.append(f"{column}=?")
                params.append(value)
        sql = f"SELECT {', '.join(_COLUMNS)} FROM results"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY suite, method, model, config_hash, task_index"
        wanted = set(task_ids) if task_ids is not None else None
        out = []
        for raw in self._conn.execute(sql, params):
            record = dict(zip(_COLUMNS, raw, strict=True))
            if wanted is not None and record["task_id"] not in wanted:
                continue
            for name in _JSON_FIELDS:
                record[name] = json.loads(record[name])
            record["oracle"] = bool(record["oracle"])
            record["success"] = bool(record["success"])
            if record["gold_empty"] is not None:
                record["gold_empty"] = bool(record["gold_empty"])
            out.append(ResultRow(**record))
        return out

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ResultsDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
