"""SQL environment over SQLAlchemy: SQLite, PostgreSQL and MySQL/MariaDB.

Isolation rules, enforced by the connections themselves:

* **SQLite**: the real database is opened read-only (``mode=ro`` and ``PRAGMA query_only``)
  unless ``allow_writes=True``. A fork is an in-memory copy made with SQLite's backup API, as
  writable as its parent. ``ATTACH``, ``load_extension`` and ``PRAGMA writable_schema`` are
  refused by an authorizer on every connection (real and forks), so no statement reaches another
  file; so are ``fts3_tokenizer()`` (raw pointers) and ``PRAGMA locking_mode`` (``EXCLUSIVE``
  would keep the user's file locked after the agent is done). Every action ends its
  transaction, so ``BEGIN EXCLUSIVE`` holds no lock past the action.
* **PostgreSQL**: every real statement runs in its own transaction, ``READ ONLY`` unless writes are
  allowed. A fork is a separate connection inside a transaction that is always rolled back; DDL
  is transactional there, so a rollout's ``DROP TABLE`` vanishes with the rollback.
* **MySQL/MariaDB**: as PostgreSQL, but DDL, ``EXECUTE IMMEDIATE``, compound statements and
  ``COMMIT`` end a transaction implicitly, even a read-only one (verified on MariaDB 10.11).
  Forks, and the real environment when writes are not allowed, therefore only run statements
  whose first keyword (after comments) is on a short list of queries and DML.

On both servers one action is exactly one statement: psycopg is made to use the extended query
protocol, where PostgreSQL refuses ``SELECT 1; COMMIT; DROP TABLE t``, and every connection is
checked for that when it opens (fails closed). Statements that end or open transactions
(``COMMIT``, ``ROLLBACK``, ``BEGIN``, ``RELEASE``...) are refused: the environment owns the
transactions, and a ``COMMIT`` in a fork would make its writes real. The statement timeout is
set again before every statement, so an action cannot lift it for the next one. Besides the
first keyword, statement text is never inspected.

The database user's privileges still apply: a PostgreSQL superuser can run
``COPY ... TO PROGRAM`` and read server files even in a read-only transaction, and a MariaDB user
with the FILE privilege could ``SELECT ... INTO OUTFILE``; the environment refuses statements
naming ``OUTFILE``, ``DUMPFILE``, ``LOAD_FILE`` or ``INFILE``, and, since ``PREPARE`` and
``EXECUTE IMMEDIATE`` could build those from strings, statements naming ``PREPARE``, ``EXECUTE``
or ``DEALLOCATE``, in every mode. Connect as a role that may only read
(see ``docs/safety.md``). Forks hold pooled connections: past 18 open ones, ``fork()`` fails with
a clear :class:`SQLEnvironmentError` after 5 s.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.pool import StaticPool

from langgraph_slinvit.envs.base import SQL_SYNTAX, Observation, default_feedback_value, truncate
from langgraph_slinvit.envs.sql_hints import schema_hint

log = logging.getLogger(__name__)

# MySQL/MariaDB forks and read-only environments run only these (first keyword after comments).
_MYSQL_ALLOWED = re.compile(
    r"(\(|(select|with|values|table|show|describe|desc|explain|insert|update|delete|replace)\b)",
    re.IGNORECASE,
)
# Statements that end or open a transaction: refused on every server environment.
_TRANSACTION_CONTROL = re.compile(
    r"(begin|start|commit|end|rollback|abort|savepoint|release|xa|prepare\s+transaction)\b",
    re.IGNORECASE,
)
# MariaDB's per-statement override of the timeout (``SET STATEMENT max_statement_time=0 FOR ...``).
_MYSQL_SET_STATEMENT = re.compile(r"set\s+statement\b", re.IGNORECASE)
# Server-side file access on MySQL/MariaDB (with the FILE privilege): ``SELECT ... INTO OUTFILE``
# or ``DUMPFILE`` writes a server file, ``LOAD_FILE()`` and ``LOAD DATA INFILE`` read one. The
# words are searched in the whole text (keywords cannot be split by comments or quoting), so a
# string literal containing them is refused too.
_MYSQL_FILE_ACCESS = re.compile(r"\b(outfile|dumpfile|load_file|infile)\b", re.IGNORECASE)
# Dynamic SQL on MySQL/MariaDB: ``PREPARE s FROM CONCAT('... INTO OUT', 'FILE ...')`` and
# ``EXECUTE IMMEDIATE`` build a statement from strings, past every check above. Searched in the
# whole text too, so a stored routine (``CREATE PROCEDURE ... BEGIN PREPARE ...``) cannot hide
# one; a string literal containing the words is refused as well.
_MYSQL_DYNAMIC_SQL = re.compile(r"\b(prepare|execute|deallocate)\b", re.IGNORECASE)
_SIGNATURE_ROWS = 10_000
_MiB = 2**20
# PostgreSQL queries read through a server-side cursor (DECLARE ... CURSOR, rows computed as they
# are fetched), so a cut result is never computed in full. DECLARE takes only a plain query:
# statements naming INTO or a data-modifying word are read the ordinary (buffered) way.
_PG_DECLARABLE = re.compile(r"(\(|(select|values|table|with)\b)", re.IGNORECASE)
_PG_NOT_DECLARABLE = re.compile(r"\b(into|insert|update|delete|merge)\b", re.IGNORECASE)
_STREAM_BUFFER_ROWS = 16  # rows fetched at a time from a server-side or unbuffered cursor
_POOL_TIMEOUT = 5.0
_NO_PARAMETERS = {"no_parameters": True}
"""Run model SQL as written: with no parameter list, drivers do not parse ``%`` in it."""


class SQLEnvironmentError(RuntimeError):
    """Raised when the database cannot be opened (bad URL, missing file, unreachable server)."""


# load_extension loads code; fts3_tokenizer returns and takes raw C pointers (when the library
# was built with SQLITE_ENABLE_FTS3_TOKENIZER, as Debian's is): a pointer leak and a call target.
_SQLITE_DENIED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer"})


def _sqlite_authorizer(action: int, arg1: Any, arg2: Any, _db: Any, _trigger: Any) -> int:
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and str(arg1).lower() in {
        "writable_schema",
        "query_only",
        "trusted_schema",
        "locking_mode",  # EXCLUSIVE would keep the user's file locked after the agent is done
    }:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and str(arg2).lower() in _SQLITE_DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _harden_sqlite(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA trusted_schema=OFF")
    conn.set_authorizer(_sqlite_authorizer)


def statement_start(sql: str, dialect: str) -> str:
    """``sql`` without its leading blanks, semicolons and comments, as the server skips them.

    PostgreSQL comments nest; MySQL's do not, and its executable comments (``/*! ...*/``,
    ``/*M! ...*/``) are code, so the text is returned from there (no allowed keyword).
    """
    postgres = dialect == "postgresql"
    i, n = 0, len(sql)
    while i < n:
        if sql[i].isspace() or sql[i] == ";":
            i += 1
        elif sql.startswith("--", i) or (not postgres and sql[i] == "#"):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            if not postgres and sql.startswith(("/*!", "/*M!"), i):
                break
            depth, i = 1, i + 2
            while i < n and depth:
                if postgres and sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        else:
            break
    return sql[i:]


@functools.cache
def _one_statement_cursor() -> type:
    """A psycopg cursor that always uses the extended query protocol.

    psycopg sends a query without parameters with the simple protocol, which runs every statement
    in it (``SELECT 1; COMMIT; DROP TABLE t`` escapes a read-only transaction). In the extended
    protocol PostgreSQL itself refuses more than one statement. ``_connect_server`` checks that
    this holds on every connection, so a psycopg that no longer calls this hook fails closed.
    """
    import psycopg

    class OneStatementCursor(psycopg.Cursor):  # type: ignore[type-arg]
        def _execute_send(
            self, query: Any, *, force_extended: bool = False, binary: bool | None = None
        ) -> None:
            super()._execute_send(query, force_extended=True, binary=binary)

    return OneStatementCursor


class SQLEnvironment:
    """Run SQL against a database given by any SQLAlchemy URL.

    Args:
        url: e.g. ``sqlite:///shop.db``, ``postgresql+psycopg://user@host/db``,
            ``mysql+pymysql://root@127.0.0.1:3306/db``.
        allow_writes: let real actions change the database. Rollouts never change it either way.
        max_rows: rows shown to the LLM per result.
        max_chars: characters shown to the LLM per result.
        timeout: seconds a statement may run before it is interrupted.
        max_result_bytes: bytes of a result read at most (its cells rendered as text, 32 MiB by
            default). Rows are read one by one (SQLite's cursor, a server-side cursor on
            PostgreSQL, an unbuffered one on MySQL/MariaDB) and reading stops at the row that
            passes the limit: the observation then ends with ``[result cut after N bytes ...]``
            and its details hold ``truncated_bytes``. Besides it, at most 10,000 rows are read.
        schema_hints: after a missing-column or missing-table error, add a line naming the
            tables that hold that column (or the closest names), read from the catalogue
            (``sql_hints.py``).
    """

    language = "sql"
    action_syntax = SQL_SYNTAX

    def __init__(
        self,
        url: str | URL,
        *,
        allow_writes: bool = False,
        max_rows: int = 25,
        max_chars: int = 1000,
        timeout: float = 10.0,
        max_result_bytes: int = 32 * _MiB,
        schema_hints: bool = True,
    ) -> None:
        try:
            self.url = make_url(url) if isinstance(url, str) else url
        except (SQLAlchemyError, ValueError) as exc:
            raise SQLEnvironmentError(f"not a database URL: {url!r} ({exc})") from exc
        self.allow_writes = allow_writes
        self.max_rows = max_rows
        self.max_chars = max_chars
        self.timeout = timeout
        if max_result_bytes < 1:
            raise ValueError(f"max_result_bytes must be at least 1, not {max_result_bytes}")
        self.max_result_bytes = max_result_bytes
        self.schema_hints = schema_hints
        self._columns: dict[str, list[str]] | None = None
        self._columns_lock = threading.Lock()
        self.is_fork = False
        self._lock = threading.Lock()
        self._deadline = float("inf")
        self._schema: str | None = None
        self._sqlite: sqlite3.Connection | None = None
        self._conn: Connection | None = None
        self._savepoint: str | None = None
        self._mysql_timeout = ""
        self.dialect = self.url.get_backend_name()
        if self.dialect == "sqlite":
            self._sqlite = self._open_sqlite_file()
            self.engine = self._engine_over(self._sqlite)
        else:
            self.engine = self._open_server()
            self._conn = self._connect_server()

    # -- opening ---------------------------------------------------------------------------
    def _open_sqlite_file(self) -> sqlite3.Connection:
        database = self.url.database or ":memory:"
        if database == ":memory:":
            conn = sqlite3.connect(":memory:", check_same_thread=False)
        else:
            path = Path(database).expanduser()
            if not path.is_file():
                raise SQLEnvironmentError(f"SQLite database file not found: {path}")
            mode = "rw" if self.allow_writes else "ro"
            uri = f"{path.resolve().as_uri()}?mode={mode}"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.DatabaseError as exc:
                conn.close()
                raise SQLEnvironmentError(f"not a usable SQLite database: {path}: {exc}") from exc
            if not self.allow_writes:
                conn.execute("PRAGMA query_only=ON")
        _harden_sqlite(conn)
        return conn

    def _engine_over(self, conn: sqlite3.Connection) -> Engine:
        conn.set_progress_handler(self._progress, 1000)
        return create_engine("sqlite://", creator=lambda: conn, poolclass=StaticPool)

    def _progress(self) -> int:
        return 1 if time.monotonic() > self._deadline else 0

    def _open_server(self) -> Engine:
        try:
            connect_args: dict[str, Any] = {}
            if self.dialect == "postgresql" and self.url.get_driver_name() == "psycopg":
                connect_args = {"cursor_factory": _one_statement_cursor()}
            engine = create_engine(
                self.url,
                pool_pre_ping=True,
                pool_size=2,
                max_overflow=16,
                pool_timeout=_POOL_TIMEOUT,
                connect_args=connect_args,
            )
        except (SQLAlchemyError, ImportError) as exc:
            raise SQLEnvironmentError(f"cannot use database URL {self.url!r}: {exc}") from exc
        return engine

    def _connect_server(self) -> Connection:
        try:
            conn = self.engine.connect()
        except SQLAlchemyTimeoutError as exc:
            raise SQLEnvironmentError(
                f"no free database connection after {_POOL_TIMEOUT:g}s: "
                f"{self.engine.pool.checkedout()} are in use by this environment and its forks "
                "(close forks before opening more)"
            ) from exc
        except SQLAlchemyError as exc:
            raise SQLEnvironmentError(
                f"cannot connect to {self.url.render_as_string(hide_password=True)}: "
                f"{str(exc).splitlines()[0]}"
            ) from exc
        try:
            conn.exec_driver_sql("SELECT 1; SELECT 2", execution_options=_NO_PARAMETERS)
            several = True
        except SQLAlchemyError:
            several = False
        conn.rollback()
        if several:
            conn.close()
            raise SQLEnvironmentError(
                f"the driver {self.url.drivername!r} runs several statements in one call, so a "
                "read-only transaction could be committed from inside an action; use "
                "postgresql+psycopg:// or mysql+pymysql://"
            )
        if self.dialect in ("mysql", "mariadb"):
            version = str(conn.exec_driver_sql("SELECT VERSION()").scalar()).lower()
            self._mysql_timeout = (
                "max_statement_time" if "mariadb" in version else "max_execution_time"
            )
        elif (
            self.dialect == "postgresql"
            and not self.is_fork
            and conn.exec_driver_sql("SHOW is_superuser").scalar() == "on"
        ):
            log.warning(
                "%s: connected as a superuser; read-only transactions do not stop COPY ... "
                "TO PROGRAM or pg_read_file. Connect as a role that may only read.",
                self.url.render_as_string(hide_password=True),
            )
        self._arm_timeout(conn, local=False)
        conn.commit()
        return conn

    def _arm_timeout(self, conn: Connection, *, local: bool = True) -> None:
        """(Re)set the statement timeout, so that no action can lift it for a later one."""
        if self.dialect == "postgresql":
            scope = "LOCAL " if local else ""
            conn.exec_driver_sql(f"SET {scope}statement_timeout = {int(self.timeout * 1000)}")
        elif self._mysql_timeout == "max_statement_time":  # MariaDB, in seconds
            conn.exec_driver_sql(f"SET SESSION max_statement_time = {self.timeout}")
        elif self._mysql_timeout:  # MySQL, in milliseconds (SELECT only)
            conn.exec_driver_sql(f"SET SESSION max_execution_time = {int(self.timeout * 1000)}")

    # -- the protocol ------------------------------------------------------------------------
    @classmethod
    def default_settings(cls) -> Any:
        """The ``sql`` preset: the settings that answer questions over a database best in the
        published benchmark (``langgraph_slinvit.presets``)."""
        from langgraph_slinvit.presets import preset

        return preset("sql")

    def describe(self) -> str:
        """The database schema as CREATE TABLE statements."""
        if self._schema is None:
            self._schema = self._read_schema()
        return self._schema

    def _read_schema(self) -> str:
        if self._sqlite is not None:
            with self._lock:
                rows = self._sqlite.execute(
                    "SELECT sql FROM sqlite_master WHERE type='table' AND sql IS NOT NULL "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                ).fetchall()
            return "\n".join(r[0].strip() + ";" for r in rows)
        assert self._conn is not None
        insp = inspect(self._conn)
        parts = []
        for table in sorted(insp.get_table_names()):
            cols = [f"  {c['name']} {c['type']}" for c in insp.get_columns(table)]
            pk = insp.get_pk_constraint(table).get("constrained_columns") or []
            if pk:
                cols.append(f"  PRIMARY KEY ({', '.join(pk)})")
            for fk in insp.get_foreign_keys(table):
                cols.append(
                    f"  FOREIGN KEY ({', '.join(fk['constrained_columns'])}) REFERENCES "
                    f"{fk['referred_table']}({', '.join(fk['referred_columns'])})"
                )
            parts.append(f"CREATE TABLE {table} (\n" + ",\n".join(cols) + "\n);")
        self._conn.rollback()
        return "\n".join(parts)

    def _column_map(self) -> dict[str, list[str]]:
        """Every table's column names, read once (for schema hints); forks made in parallel
        threads wait for the first read."""
        with self._columns_lock:
            if self._columns is None:
                self._columns = self._read_columns()
            return self._columns

    def _read_columns(self) -> dict[str, list[str]]:
        if self._sqlite is not None:
            with self._lock:
                tables = [
                    r[0]
                    for r in self._sqlite.execute(
                        "SELECT name FROM sqlite_master WHERE type='table' "
                        "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                    )
                ]
                return {
                    t: [r[1] for r in self._sqlite.execute(f'PRAGMA table_info("{_quote(t)}")')]
                    for t in tables
                }
        assert self._conn is not None
        insp = inspect(self._conn)
        columns = {t: [c["name"] for c in insp.get_columns(t)] for t in insp.get_table_names()}
        if not self.is_fork:  # a fork's transaction is its isolation: never end it here
            self._conn.rollback()
        return dict(sorted(columns.items()))

    def step(self, action: str) -> Observation:
        """Execute one SQL statement and describe its result."""
        sql = action.strip().rstrip(";").strip()
        if not sql:
            return Observation(output="Error: empty statement", ok=False, error="empty statement")
        if "\x00" in sql:  # libpq would silently run only the text before it
            return Observation(
                output="Error: the statement contains a NUL character", ok=False, error="NUL"
            )
        if self.schema_hints:
            self._column_map()  # before the statement: a failed one may leave no usable connection
        if self._sqlite is not None:
            return self._step_sqlite(sql)
        start = statement_start(sql, self.dialect)
        if _TRANSACTION_CONTROL.match(start):
            return self._refuse(
                "transactions are managed by the environment (no BEGIN/COMMIT/ROLLBACK)",
                "transaction control refused",
            )
        if self.dialect in ("mysql", "mariadb") and _MYSQL_SET_STATEMENT.match(start):
            return self._refuse("the statement timeout cannot be changed", "timeout override")
        if self.dialect in ("mysql", "mariadb") and _MYSQL_FILE_ACCESS.search(sql):
            return self._refuse(
                "server files cannot be read or written (INTO OUTFILE/DUMPFILE, LOAD_FILE, "
                "LOAD DATA INFILE)",
                "file access refused",
            )
        if self.dialect in ("mysql", "mariadb") and _MYSQL_DYNAMIC_SQL.search(sql):
            return self._refuse(
                "prepared and dynamic statements (PREPARE, EXECUTE, DEALLOCATE) do not run "
                "here: they could build any statement from strings",
                "dynamic sql refused",
            )
        if self._needs_ddl_guard() and not _MYSQL_ALLOWED.match(start):
            return self._refuse(
                "only queries and data changes run here (schema changes and other statements "
                "would commit implicitly; read-only environment)",
                "ddl refused",
            )
        return self._step_server(sql)

    def _refuse(self, why: str, error: str) -> Observation:
        return Observation(output=f"Refused: {why}.", ok=False, refused=True, error=error)

    def _needs_ddl_guard(self) -> bool:
        return self.dialect in ("mysql", "mariadb") and (self.is_fork or not self.allow_writes)

    def _step_sqlite(self, sql: str) -> Observation:
        with self._lock, self.engine.connect() as conn:
            self._deadline = time.monotonic() + self.timeout
            try:
                result = conn.exec_driver_sql(sql, execution_options=_NO_PARAMETERS)
                obs = self._observe(result)
                conn.commit()
                return obs
            except (SQLAlchemyError, ValueError) as exc:  # ValueError: e.g. lone surrogates
                conn.rollback()
                return self._error(exc)
            finally:
                self._deadline = float("inf")

    def _step_server(self, sql: str) -> Observation:
        assert self._conn is not None
        conn = self._conn
        try:
            if not self.is_fork:
                if not conn.in_transaction():
                    conn.begin()
                if not self.allow_writes:
                    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            elif not conn.in_transaction():  # a fork whose transaction was lost stays read-only
                conn.begin()
                if self.dialect in ("mysql", "mariadb") or not self.allow_writes:
                    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            self._arm_timeout(conn)
            if self.is_fork:
                conn.exec_driver_sql("SAVEPOINT slinvit_step")
            options = _NO_PARAMETERS
            if self.dialect in ("mysql", "mariadb") or (
                _PG_DECLARABLE.match(statement_start(sql, self.dialect))
                and not _PG_NOT_DECLARABLE.search(sql)
            ):  # unbuffered (MariaDB) or a server-side cursor (PostgreSQL): rows one by one
                options = {
                    **_NO_PARAMETERS,
                    "stream_results": True,
                    "max_row_buffer": _STREAM_BUFFER_ROWS,
                }
            result = conn.exec_driver_sql(sql, execution_options=options)
            obs = self._observe(result)
            if self.is_fork:
                conn.exec_driver_sql("RELEASE SAVEPOINT slinvit_step")
            elif self.allow_writes:
                conn.commit()
            else:
                conn.rollback()
            return obs
        except (SQLAlchemyError, ValueError) as exc:  # ValueError: e.g. lone surrogates
            if self.is_fork:
                try:
                    conn.exec_driver_sql("ROLLBACK TO SAVEPOINT slinvit_step")
                except SQLAlchemyError:
                    conn.rollback()
            else:
                conn.rollback()
            return self._error(exc)

    def _observe(self, result: Any) -> Observation:
        if not result.returns_rows:
            count = result.rowcount if result.rowcount is not None else -1
            text = f"OK ({count} rows affected)" if count >= 0 else "OK"
            return Observation(
                output=text, signature=f"affected:{count}", details={"rows_affected": count}
            )
        columns = list(result.keys())
        rows: list[tuple] = []
        size, more, cut = 0, False, False
        for row in result:  # one at a time: stop at the row or byte limit
            if len(rows) == _SIGNATURE_ROWS:
                more = True
                break
            rows.append(tuple(row))
            size += _rendered_bytes(rows[-1])
            if size > self.max_result_bytes:
                more = cut = True
                break
        # SQLite: unlock the file; PostgreSQL: close the cursor (the rest is never computed);
        # MariaDB: discard the unread rows
        result.close()
        details: dict[str, Any] = {"rows": len(rows), "columns": columns, "more_rows": more}
        output = self.format_rows(columns, rows, more)
        if cut:
            details["truncated_bytes"] = size
            output += (
                f"\n[result cut after {size} bytes (max_result_bytes={self.max_result_bytes}): "
                "later rows were not read]"
            )
        return Observation(
            output=output,
            empty=not rows,
            signature=rows_signature(rows),
            details=details,
        )

    def format_rows(self, columns: Sequence[str], rows: Sequence[tuple], more: bool) -> str:
        """Render a result as a small pipe table, truncated to ``max_rows`` and ``max_chars``."""
        if not rows:
            return "(no rows) columns: " + ", ".join(columns)
        lines = [" | ".join(columns)]
        lines += [" | ".join(_cell(v) for v in row) for row in rows[: self.max_rows]]
        shown = min(len(rows), self.max_rows)
        total = f"{len(rows)}+" if more else str(len(rows))
        lines.append(f"({total} rows" + (f", first {shown} shown)" if shown < len(rows) else ")"))
        return truncate("\n".join(lines), self.max_chars)

    def _error(self, exc: Exception) -> Observation:
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        message = lines[0] if lines else type(exc).__name__
        timed_out = "interrupted" in message.lower() or "timeout" in message.lower()
        readonly = any(
            s in message.lower()
            for s in (
                "readonly",
                "read-only",
                "read only",
                "not authorized",
                "authorization denied",
            )
        )
        if readonly:
            text = f"Refused: the database is read-only for this agent ({message})"
        elif timed_out:
            text = f"Error: statement timed out after {self.timeout:g}s ({message})"
        else:
            text = f"Error: {message}"
            hint = schema_hint(message, self._columns or {}) if self.schema_hints else None
            if hint:
                text += "\n" + hint
        return Observation(
            output=truncate(text, self.max_chars),
            ok=False,
            error=message,
            timed_out=timed_out,
            refused=readonly,
        )

    def feedback_value(self, obs: Observation) -> float:
        return default_feedback_value(obs)

    def repair_note(self) -> str | None:
        """What can run, for a request to correct a failed statement (None when writes are
        allowed: then a write may be what the task needs)."""
        return None if self.allow_writes else "The database is read-only: only SELECT works."

    def needs_approval(self, action: str) -> bool:
        """True when writes are allowed and ``action`` would change data.

        Decided by the database, not by parsing: the action runs in a read-only fork and counts
        as a write when the database refuses it there.
        """
        if not self.allow_writes:
            return False  # writes are refused by the connection anyway
        probe = self.fork(read_only=True)
        try:
            return probe.step(action).refused
        finally:
            probe.close()

    def parallel_forks(self) -> bool:
        """Whether forks of this state may run at once: yes for SQLite (each fork is its own
        in-memory copy) and for a server database's real environment (each fork its own
        transaction); no for a server fork, whose forks share its connection under savepoints."""
        return self._sqlite is not None or not self.is_fork

    def fork(self, *, read_only: bool | None = None) -> SQLEnvironment:
        """An isolated copy: in-memory for SQLite, a never-committed transaction on servers.

        The copy is read-only when its parent is (or when ``read_only=True``), so rollouts meet
        the same refusals the real environment would give.
        """
        clone = object.__new__(SQLEnvironment)
        clone.url = self.url
        clone.allow_writes = self.allow_writes if read_only is None else not read_only
        clone.max_rows, clone.max_chars, clone.timeout = self.max_rows, self.max_chars, self.timeout
        clone.max_result_bytes = self.max_result_bytes
        clone.schema_hints = self.schema_hints
        clone._columns = self._column_map() if self.schema_hints else None
        clone._columns_lock = threading.Lock()
        clone.is_fork = True
        clone._mysql_timeout = self._mysql_timeout
        clone._lock = threading.Lock()
        clone._deadline = float("inf")
        clone._schema = self._schema
        clone.dialect = self.dialect
        clone._sqlite = None
        clone._conn = None
        clone._savepoint = None
        if self._sqlite is not None:
            memory = sqlite3.connect(":memory:", check_same_thread=False)
            with self._lock:
                self._sqlite.backup(memory)
            if not clone.allow_writes:
                memory.execute("PRAGMA query_only=ON")
            _harden_sqlite(memory)
            clone._sqlite = memory
            clone.engine = clone._engine_over(memory)
        elif self.is_fork:
            # A fork of a fork shares the connection under a savepoint (rolled back on close),
            # so it sees the parent's uncommitted changes without waiting on its row locks.
            # The parent must not be used until the child is closed.
            assert self._conn is not None
            clone.engine = self.engine
            clone._conn = self._conn
            clone._savepoint = f"slinvit_fork_{id(clone)}"
            clone._conn.exec_driver_sql(f"SAVEPOINT {clone._savepoint}")
        else:
            clone.engine = self.engine
            clone._conn = clone._connect_server()
            clone._conn.begin()
            if self.dialect in ("mysql", "mariadb") or not clone.allow_writes:
                clone._conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            if self.dialect == "postgresql":
                clone._conn.exec_driver_sql("SET LOCAL lock_timeout = 2000")
        return clone

    def close(self) -> None:
        if self._savepoint is not None:
            conn, self._conn, savepoint, self._savepoint = self._conn, None, self._savepoint, None
            if conn is not None and not conn.closed:
                conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {savepoint}")
            return
        if self._conn is not None:
            try:
                self._conn.rollback()
            finally:
                self._conn.close()
                self._conn = None
            if not self.is_fork:
                self.engine.dispose()
        if self._sqlite is not None:
            self.engine.dispose()
            self._sqlite.close()
            self._sqlite = None

    def __enter__(self) -> SQLEnvironment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _quote(identifier: str) -> str:
    return identifier.replace('"', '""')


def _rendered_bytes(row: tuple) -> int:
    """Bytes of ``row`` as text (cells, `` | `` between them, a newline)."""
    size = 3 * max(len(row) - 1, 0) + 1
    for value in row:
        if isinstance(value, (bytes, bytearray, memoryview)):
            size += len(value)
        elif isinstance(value, str):
            size += len(value.encode("utf-8", "surrogatepass"))
        else:
            size += len(str(value))
    return size


def _cell(value: Any) -> str:
    text = "NULL" if value is None else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def rows_signature(rows: Sequence[tuple]) -> str:
    """Order-insensitive digest of a result (its rows as a multiset of strings)."""
    digest = hashlib.sha1()
    for line in sorted(repr(tuple(str(v) for v in row)) for row in rows):
        digest.update(line.encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]
