"""InterCode-SQL (Spider dev): 1034 questions over 20 databases, on SQLite files or MariaDB.

The agent's answer is the result of its *last successfully executed query* (a statement that
returned rows), run again on a fresh read-only connection so that the reward sees every row,
not the truncated observation. The reward is InterCode's rule exactly (multiset IoU times the
Kendall tau of the shared rows' order, on every query); the variant that applies the order
term only when the gold query has a top-level ``ORDER BY`` is stored next to it.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from langgraph_slinvit.bench.core import BenchTask, Evaluation
from langgraph_slinvit.bench.rewards.sql import compute_sql_reward
from langgraph_slinvit.bench.task_envs.spider_sqlite import build_spider_sqlite, load_spider_mariadb
from langgraph_slinvit.bench.tasks import SqlTask, load_sql_tasks
from langgraph_slinvit.envs.base import Environment, Observation
from langgraph_slinvit.envs.sql import SQLEnvironment, statement_start
from langgraph_slinvit.value import ValueContext, ValueHook

DEFAULT_MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306"
_QUERY_START = re.compile(r"(\(|(select|with|values|table)\b)", re.IGNORECASE)
_TIMEOUT = 10.0

Rows = list[tuple[Any, ...]]


def returned_rows(step: dict) -> bool:
    """True when a step's statement ran and returned a result set (possibly empty)."""
    obs = step.get("observation") or {}
    return bool(obs.get("ok")) and "columns" in (obs.get("details") or {})


def answer_query(steps: list[dict]) -> str | None:
    """The agent's answer: the last real statement that ran and returned rows."""
    for step in reversed(steps):
        if step.get("action") and returned_rows(step):
            return str(step["action"])
    return None


class SqlSuite:
    """InterCode-SQL tasks; the environment is a read-only ``SQLEnvironment`` on the task's db.

    Args:
        data_dir: the shared data folder (default: ``$SLINVIT_DATA_DIR`` or ``../shared/data``).
        backend: ``sqlite`` (one converted file per Spider database) or ``mariadb``.
        sqlite_dir: where the SQLite files are built (default: the project's cache).
        mariadb_url: the MariaDB/MySQL server, without a database name.
        schema_hints: add the environment's schema hint to missing-column and missing-table
            errors (``SQLEnvironment(schema_hints=...)``). Recorded in the configuration only
            when on, so runs from before the hints existed keep their configuration hash.
    """

    name = "intercode-sql"
    language = "sql"
    reward_rule = (
        "InterCode's SQL reward, order-sensitive as InterCode computes it (Kendall tau of the "
        "shared rows on every query); the ORDER-BY-only column applies the order term only when "
        "the gold query has a top-level ORDER BY"
    )
    conditions: tuple[str, ...] = ("backend", "schema_hints")

    def __init__(
        self,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        backend: str = "sqlite",
        sqlite_dir: str | os.PathLike[str] | None = None,
        mariadb_url: str = DEFAULT_MARIADB_URL,
        schema_hints: bool = True,
    ) -> None:
        if backend not in ("sqlite", "mariadb"):
            raise ValueError(f"unknown SQL backend {backend!r} (sqlite or mariadb)")
        self.data_dir = data_dir
        self.backend = backend
        self.sqlite_dir = sqlite_dir
        self.mariadb_url = mariadb_url.rstrip("/")
        self.schema_hints = schema_hints
        self._paths: dict[str, Path] | None = None
        self._mariadb_ready = False
        self._engines: dict[str, Any] = {}
        self._gold: dict[str, Rows | None] = {}

    # -- the suite protocol --------------------------------------------------------------------
    def tasks(self) -> list[BenchTask]:
        return [
            BenchTask(t.task_id, i, t.question, t.hardness or "unknown", t)
            for i, t in enumerate(load_sql_tasks(self.data_dir))
        ]

    def settings(self, method: str) -> dict[str, Any]:
        settings: dict[str, Any] = {"backend": self.backend}
        if self.schema_hints:
            settings["schema_hints"] = True
        return settings

    def make_env(self, task: BenchTask) -> Environment:
        return SQLEnvironment(
            self.url(task.raw.db), timeout=_TIMEOUT, schema_hints=self.schema_hints
        )

    def evaluate(self, task: BenchTask, env: Environment, steps: list[dict]) -> Evaluation:
        sql_task: SqlTask = task.raw
        query = answer_query(steps)
        rows = self.fetch_rows(sql_task.db, query) if query is not None else None
        gold = self.gold_rows(sql_task)
        exact = compute_sql_reward(rows, gold, order_sensitive=True)
        order_by_only = compute_sql_reward(
            rows, gold, order_sensitive="order_by_only", gold_sql=sql_task.gold
        )
        return Evaluation(
            reward=exact.reward,
            gold_empty=not gold,
            details={
                "answer_query": query,
                "answer_rows": None if rows is None else len(rows),
                "gold_rows": len(gold or []),
                "iou": exact.iou,
                "tau": exact.tau,
                "reward_order_by_only": order_by_only.reward,
                "success_order_by_only": order_by_only.success,
            },
        )

    def oracle_hook(self, task: BenchTask) -> ValueHook:
        """ORACLE: InterCode's reward of the result the rollout reached (its last query)."""
        sql_task: SqlTask = task.raw

        def sql_oracle_reward(ctx: ValueContext) -> float:
            obs: Observation | None = ctx.observation
            if obs is None or not obs.ok or "columns" not in obs.details or not ctx.actions:
                return 0.0
            rows = self.fetch_rows(sql_task.db, ctx.actions[-1])
            return compute_sql_reward(rows, self.gold_rows(sql_task)).reward

        return sql_oracle_reward

    def value_fn(self, task: BenchTask) -> ValueHook | None:
        return None  # execution feedback and agreement (SLINVIT's default) are the value

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()

    # -- databases -----------------------------------------------------------------------------
    def url(self, db: str) -> str:
        """The SQLAlchemy URL of Spider database ``db`` on this suite's backend."""
        if self.backend == "mariadb":
            if not self._mariadb_ready:
                load_spider_mariadb(self.mariadb_url, self.data_dir)
                self._mariadb_ready = True
            return f"{self.mariadb_url}/{db}"
        return f"sqlite:///{self._sqlite_paths()[db]}"

    def _sqlite_paths(self) -> dict[str, Path]:
        if self._paths is None:
            self._paths = build_spider_sqlite(self.sqlite_dir, self.data_dir)
        return self._paths

    def gold_rows(self, task: SqlTask) -> Rows | None:
        """The gold query's full result (None when it fails, which InterCode scores as empty)."""
        if task.task_id not in self._gold:
            self._gold[task.task_id] = self.fetch_rows(task.db, task.gold)
        return self._gold[task.task_id]

    def fetch_rows(self, db: str, sql: str) -> Rows | None:
        """Every row of a query, read-only, on a fresh connection; None on any error or for a
        statement that is not a query."""
        sql = sql.strip().rstrip(";").strip()
        dialect = "mysql" if self.backend == "mariadb" else "sqlite"
        if not sql or not _QUERY_START.match(statement_start(sql, dialect)):
            return None
        if self.backend == "mariadb":
            return self._fetch_mariadb(db, sql)
        return _fetch_sqlite(self._sqlite_paths()[db], sql)

    def _fetch_mariadb(self, db: str, sql: str) -> Rows | None:
        from sqlalchemy import create_engine
        from sqlalchemy.exc import SQLAlchemyError

        engine = self._engines.get(db)
        if engine is None:
            engine = self._engines[db] = create_engine(self.url(db), pool_pre_ping=True)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f"SET SESSION max_statement_time = {_TIMEOUT}")
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                result = conn.exec_driver_sql(sql, execution_options={"no_parameters": True})
                rows = [tuple(r) for r in result.fetchall()] if result.returns_rows else None
                conn.rollback()
                return rows
        except (SQLAlchemyError, ValueError):
            return None


def _fetch_sqlite(path: Path, sql: str) -> Rows | None:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        conn.execute("PRAGMA query_only=ON")
        deadline = time.monotonic() + _TIMEOUT
        conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 1000)
        cursor = conn.execute(sql)
        if cursor.description is None:
            return None
        return [tuple(r) for r in cursor.fetchall()]
    except (sqlite3.Error, ValueError):
        return None
    finally:
        conn.close()
