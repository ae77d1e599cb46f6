"""Hostile SQL against a real SQLite file and the real PostgreSQL and MariaDB servers.

Every attack is a short sequence of statements run in one of three places:

* ``real``: the real environment, read-only (the default);
* ``fork``: a fork of that read-only environment;
* ``rw_fork``: a fork of an environment that allows writes (its rollouts may write, in the fork).

Each statement's observation must be what the table says (refused, an error, or, for writes in a
writable fork, a success that stays in the fork); no statement may raise. Afterwards the SQLite
file's bytes (sha256) are unchanged, no other file was created or changed, and on the servers
the row counts and the schema of a throwaway database (one per test, dropped after it) are
unchanged. Endless queries are interrupted within ``timeout`` (+ slack) and the environment
answers afterwards; a 10^6-row result comes back truncated in rows and characters.
``docs/safety.md`` lists the measured outcomes.
"""

from __future__ import annotations

import hashlib
import resource
import shutil
import sqlite3
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from langgraph_slinvit.envs import SQLEnvironment
from langgraph_slinvit.envs.base import Observation
from langgraph_slinvit.envs.sql import SQLEnvironmentError, statement_start
from tests.integration.test_sql_isolation import (
    MARIADB_URL,
    PG_URL,
    _counts,
    _drop,
    _server_schema,
)

TIMEOUT = 1.0
SLACK = 0.75  # two shared cores: scheduling, connection setup, the error round trip
MODES = ["real", "fork", "rw_fork"]
ORIGINAL = (3, 3, ["Ann", "Bob", "Cid"])
HUGE_SQLITE = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) "
    "SELECT x, 'row ' || x AS label FROM c"
)
ENDLESS_SQLITE = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
)

# Kinds of expected observations: "refused" (refused by the environment or the database),
# "fail" (any failure, refusal included), "ok", "write" (ok in a writable fork, refused
# elsewhere), "any" (only: it did not raise).
Attack = tuple[str, list[tuple[str, str]]]

WRITES: list[Attack] = [
    ("drop_table", [("DROP TABLE orders", "write")]),
    ("delete", [("DELETE FROM orders", "write")]),
    ("update", [("UPDATE customers SET name = 'x'", "write")]),
]
SQLITE_ATTACKS: list[Attack] = [
    *WRITES,
    (
        "attach_and_write",
        [
            ("ATTACH DATABASE '{other}' AS x", "refused"),
            ("CREATE TABLE x.t (a)", "fail"),
            ("INSERT INTO x.secrets VALUES ('pwned')", "fail"),
            ("ATTACH DATABASE '{ghost}' AS y", "refused"),
            ("ATTACH DATABASE ':memory:' AS m", "refused"),
        ],
    ),
    ("vacuum_into", [("VACUUM INTO '{ghost}'", "refused")]),
    ("load_extension", [("SELECT load_extension('{other}')", "refused")]),
    (
        "writable_schema",
        [
            ("PRAGMA writable_schema=ON", "refused"),
            ("PRAGMA writable_schema=1", "refused"),
            (
                "UPDATE sqlite_master SET sql = 'CREATE TABLE orders (x)' WHERE name = 'orders'",
                "fail",
            ),
        ],
    ),
    ("query_only_off", [("PRAGMA query_only=OFF", "refused"), ("DELETE FROM orders", "write")]),
    (
        "multi_statement",
        [
            ("SELECT 1; DROP TABLE orders", "fail"),
            ("SELECT 1; COMMIT; DROP TABLE orders", "fail"),
            ("SELECT 1\x00; DROP TABLE orders", "fail"),
        ],
    ),
    ("transaction_games", [("BEGIN", "any"), ("DELETE FROM orders", "write"), ("COMMIT", "any")]),
    ("lone_surrogate", [("SELECT '\ud800'", "fail")]),
    ("trusted_schema", [("PRAGMA trusted_schema=ON", "refused")]),
]
PG_ATTACKS: list[Attack] = [
    *WRITES,
    (
        "multi_statement",
        [
            ("SELECT 1; DROP TABLE orders", "fail"),
            ("SELECT 1; COMMIT; DROP TABLE orders", "fail"),
            ("SELECT 1; COMMIT; DELETE FROM orders", "fail"),
            ("; COMMIT; DELETE FROM orders", "fail"),
        ],
    ),
    (
        "commit_a_write",
        [
            ("DELETE FROM orders", "write"),
            ("COMMIT", "refused"),
            ("/* a /* nested */ comment */ END", "refused"),
            ("-- comment\n  commit", "refused"),
            ("COMMIT PREPARED 'x'", "refused"),
        ],
    ),
    (
        "rollback_then_commit",
        [
            ("ROLLBACK", "refused"),
            ("ABORT", "refused"),
            ("DELETE FROM orders", "write"),
            ("COMMIT", "refused"),
        ],
    ),
    (
        "savepoint_games",
        [
            ("RELEASE SAVEPOINT slinvit_step", "refused"),
            ("ROLLBACK TO SAVEPOINT slinvit_step", "refused"),
            ("SAVEPOINT mine", "refused"),
            ("BEGIN", "refused"),
            ("START TRANSACTION READ WRITE", "refused"),
            ("PREPARE TRANSACTION 'x'", "refused"),
        ],
    ),
    (
        "read_write_mode",
        [
            ("SET TRANSACTION READ WRITE", "any"),
            ("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", "any"),
            ("SET default_transaction_read_only = off", "any"),
            ("DELETE FROM orders", "write"),
        ],
    ),
    (
        "do_block",
        [
            (
                "DO $$BEGIN DELETE FROM orders; COMMIT; END$$",
                "fail",
            ),  # invalid transaction termination
            ("DO $$BEGIN EXECUTE 'DROP TABLE orders'; END$$", "write"),
        ],
    ),
    (
        "bad_text",
        [
            ("SELECT '\ud800'", "fail"),
            ("SELECT 1\x00", "fail"),
            ("SELECT 1\x00; DROP TABLE orders", "fail"),
        ],
    ),
    ("percent_signs", [("SELECT name FROM customers WHERE name LIKE 'A%'", "ok")]),
]
MARIADB_ATTACKS: list[Attack] = [
    *WRITES,
    (
        "multi_statement",
        [
            ("SELECT 1; DROP TABLE orders", "fail"),
            ("SELECT 1; COMMIT; DROP TABLE orders", "fail"),
        ],
    ),
    (
        "ddl_in_disguise",
        [
            ("/* comment */ DROP TABLE orders", "refused"),
            ("-- comment\nDROP TABLE orders", "refused"),
            ("# comment\nDROP TABLE orders", "refused"),
            ("/*!DROP TABLE orders*/", "refused"),
            ("/*M!100000 DROP TABLE orders */", "refused"),
            ("EXECUTE IMMEDIATE 'DROP TABLE orders'", "refused"),
            ("PREPARE s FROM 'DROP TABLE orders'", "refused"),
            ("EXECUTE s", "refused"),
            ("BEGIN NOT ATOMIC DROP TABLE orders; END", "refused"),
            ("TRUNCATE orders", "refused"),
            ("RENAME TABLE orders TO o2", "refused"),
            ("CREATE TABLE t (a INT)", "refused"),
            ("LOCK TABLES orders WRITE", "refused"),
        ],
    ),
    (
        "commit_a_write",
        [
            ("COMMIT", "refused"),
            ("DELETE FROM orders", "write"),
            ("COMMIT", "refused"),
            ("START TRANSACTION", "refused"),
            ("SET autocommit = 1", "refused"),
        ],
    ),
    (
        "lift_the_timeout",
        [
            ("SET STATEMENT max_statement_time = 0 FOR SELECT SLEEP(60)", "refused"),
            ("SET SESSION max_statement_time = 0", "refused"),
        ],
    ),
    ("percent_signs", [("SELECT name FROM customers WHERE name LIKE 'A%'", "ok")]),
]


def ids(attacks: list[Attack]) -> list[str]:
    return [name for name, _ in attacks]


def check(obs: Observation, kind: str, writable_fork: bool, statement: str) -> None:
    where = f"{statement!r} -> {obs.output!r}"
    if kind == "write":
        kind = "ok" if writable_fork else "refused"
    if kind == "ok":
        assert obs.ok, where
    elif kind == "refused":
        assert obs.refused and not obs.ok, where
    elif kind == "fail":
        assert not obs.ok, where
    assert isinstance(obs.output, str) and obs.output, where


@contextmanager
def place(url: str, mode: str, timeout: float = TIMEOUT) -> Iterator[SQLEnvironment]:
    """The environment an attack runs in; afterwards the real one must still answer."""
    env = SQLEnvironment(url, allow_writes=mode == "rw_fork", timeout=timeout)
    try:
        if mode == "real":
            yield env
        else:
            fork = env.fork()
            try:
                yield fork
            finally:
                fork.close()
        obs = env.step("SELECT count(*) FROM orders")
        assert obs.ok and obs.output.splitlines()[1].strip() == "3", obs.output
    finally:
        env.close()


def run_attack(env: SQLEnvironment, statements: list[tuple[str, str]], mode: str, **fmt: str):
    writable_fork = mode == "rw_fork" and env.dialect not in ("mysql", "mariadb")
    for statement, kind in statements:
        sql = statement.format(**fmt) if fmt else statement
        check(env.step(sql), kind, writable_fork, sql)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- SQLite


@pytest.fixture
def other_db(tmp_path: Path) -> Path:
    """Another database file the agent must not reach."""
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE secrets (s TEXT)")
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "statements"), SQLITE_ATTACKS, ids=ids(SQLITE_ATTACKS))
def test_sqlite_attack(
    shop_db: Path, other_db: Path, tmp_path: Path, mode: str, name: str, statements: list
) -> None:
    ghost = tmp_path / "ghost.db"
    before, other_before = sha(shop_db), sha(other_db)
    files_before = sorted(p.name for p in tmp_path.iterdir())
    with place(f"sqlite:///{shop_db}", mode) as env:
        run_attack(env, statements, mode, other=str(other_db), ghost=str(ghost))
    assert sha(shop_db) == before
    assert sha(other_db) == other_before
    assert not ghost.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == files_before  # no -wal, -journal...


@pytest.mark.parametrize("mode", MODES)
def test_sqlite_endless_query_is_interrupted(shop_db: Path, mode: str) -> None:
    before = sha(shop_db)
    with place(f"sqlite:///{shop_db}", mode) as env:
        start = time.monotonic()
        obs = env.step(ENDLESS_SQLITE)
        elapsed = time.monotonic() - start
        assert obs.timed_out and not obs.ok, obs.output
        assert "timed out after 1s" in obs.output
        assert TIMEOUT - 0.05 <= elapsed <= TIMEOUT + SLACK, elapsed
        assert env.step("SELECT count(*) FROM customers").ok  # usable afterwards
    assert sha(shop_db) == before


def check_truncated(obs: Observation, max_chars: int, *, narrow: bool = True) -> None:
    """10,000 rows kept (for the result's signature), 25 shown, at most ``max_chars`` chars."""
    assert obs.ok and obs.details["rows"] == 10_000 and obs.details["more_rows"], obs.output
    assert len(obs.output) <= max_chars + 60  # plus the "[truncated: N more characters]" note
    if narrow:
        assert obs.output.endswith("(10000+ rows, first 25 shown)")
        assert len(obs.output.splitlines()) == 1 + 25 + 1  # header, 25 rows, the count line
    else:
        assert "more characters]" in obs.output


@pytest.mark.parametrize("mode", ["real", "fork"])
def test_sqlite_huge_result_is_truncated_with_bounded_memory(shop_db: Path, mode: str) -> None:
    with place(f"sqlite:///{shop_db}", mode) as env:
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        start = time.monotonic()
        obs = env.step(HUGE_SQLITE)
        elapsed = time.monotonic() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        check_truncated(obs, env.max_chars)
        assert peak < 32 * 2**20, peak  # ~10^4 rows held in Python, never 10^6
        assert rss_growth_mb < 100, rss_growth_mb
        assert elapsed < TIMEOUT  # rows past the first 10,001 are never computed
        wide = env.step(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) "
            "SELECT x, printf('%.2000c', 'w') AS wide FROM c"
        )
        check_truncated(wide, env.max_chars, narrow=False)
        assert "w" * 77 + "..." in wide.output and "w" * 78 not in wide.output


# --------------------------------------------------------------------------- servers


def schema_of(url: str) -> list[tuple]:
    engine = sa.create_engine(url)
    where = (
        "table_schema = 'public'" if url.startswith("postgresql") else "table_schema = DATABASE()"
    )
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT table_name, column_name, data_type, is_nullable "
            f"FROM information_schema.columns WHERE {where} ORDER BY table_name, column_name"
        ).fetchall()
    engine.dispose()
    return [tuple(r) for r in rows]


@contextmanager
def throwaway(server: str) -> Iterator[str]:
    """A fresh database with the shop tables; afterwards its rows and schema must be intact."""
    url, name = _server_schema(server)
    try:
        schema = schema_of(url)
        assert _counts(url) == ORIGINAL
        yield url
        assert _counts(url) == ORIGINAL
        assert schema_of(url) == schema
    finally:
        _drop(server, name)


@pytest.mark.server_db
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "statements"), PG_ATTACKS, ids=ids(PG_ATTACKS))
def test_postgres_attack(mode: str, name: str, statements: list) -> None:
    with throwaway(PG_URL) as url, place(url, mode) as env:
        run_attack(env, statements, mode)


@pytest.mark.server_db
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "statements"), MARIADB_ATTACKS, ids=ids(MARIADB_ATTACKS))
def test_mariadb_attack(mode: str, name: str, statements: list) -> None:
    with throwaway(MARIADB_URL) as url, place(url, mode) as env:
        run_attack(env, statements, mode)


SLEEPS = {
    PG_URL: ("SELECT pg_sleep(60)", "SET statement_timeout = 0"),
    MARIADB_URL: ("SELECT SLEEP(60)", "SET SESSION max_statement_time = 0"),
}


@pytest.mark.server_db
@pytest.mark.parametrize("mode", ["real", "real_rw", "fork", "rw_fork"])
@pytest.mark.parametrize("server", [PG_URL, MARIADB_URL], ids=["postgresql", "mariadb"])
def test_server_sleep_is_interrupted(server: str, mode: str) -> None:
    """``sleep(60)`` stops after ``timeout``, even after an action tried to lift the timeout."""
    sleep, lift = SLEEPS[server]
    with throwaway(server) as url:
        env = SQLEnvironment(url, allow_writes=mode in ("real_rw", "rw_fork"), timeout=TIMEOUT)
        target = env.fork() if "fork" in mode else env
        try:
            target.step(lift)  # refused, rolled back, or committed (real_rw): it must not matter
            start = time.monotonic()
            obs = target.step(sleep)
            elapsed = time.monotonic() - start
            assert obs.timed_out and not obs.ok, obs.output
            assert TIMEOUT - 0.05 <= elapsed <= TIMEOUT + SLACK, elapsed
            assert target.step("SELECT count(*) FROM orders").ok  # usable afterwards
        finally:
            if target is not env:
                target.close()
            env.close()


@pytest.mark.server_db
@pytest.mark.parametrize(
    ("server", "query"),
    [
        (PG_URL, HUGE_SQLITE),  # the same recursive CTE runs on PostgreSQL
        (MARIADB_URL, "SELECT seq, concat('row ', seq) AS label FROM seq_1_to_1000000"),
    ],
    ids=["postgresql", "mariadb"],
)
def test_server_huge_result_is_truncated(server: str, query: str) -> None:
    """Truncated in rows and characters. MariaDB streams (only the rows shown are read);
    psycopg buffers the whole result, so there memory grows with it (see docs/safety.md)."""
    with throwaway(server) as url, place(url, "real", timeout=5.0) as env:
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.monotonic()
        obs = env.step(query)
        elapsed = time.monotonic() - start
        rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        check_truncated(obs, env.max_chars)
        assert elapsed < 5.0
        assert rss_growth_mb < (50 if server == MARIADB_URL else 250), rss_growth_mb


HUGE_ROWS = {  # 500 rows of 1 MB each: 500 MB if read in full
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500) "
    "SELECT x, hex(zeroblob(500000)) AS big FROM c",
    "postgresql": "SELECT x, repeat('x', 1000000) AS big FROM generate_series(1, 500) AS x",
    "mariadb": "SELECT seq, REPEAT('x', 1000000) AS big FROM seq_1_to_500",
}


@contextmanager
def database(kind: str, shop_db: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{shop_db}"
    else:
        with throwaway(PG_URL if kind == "postgresql" else MARIADB_URL) as url:
            yield url


@pytest.mark.parametrize("mode", ["real", "fork"])
@pytest.mark.parametrize(
    "kind",
    [
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.server_db),
        pytest.param("mariadb", marks=pytest.mark.server_db),
    ],
)
def test_result_bytes_are_bounded_before_they_are_read(shop_db: Path, kind: str, mode: str) -> None:
    """``max_result_bytes``: rows are read one at a time and reading stops at the row that
    passes the limit, so a result of a few huge rows never sits in memory in full."""
    limit = 2 * 2**20
    with database(kind, shop_db) as url:
        env = SQLEnvironment(url, timeout=10.0, max_result_bytes=limit)
        where = env.fork() if mode == "fork" else env
        try:
            tracemalloc.start()
            obs = where.step(HUGE_ROWS[kind])
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert obs.ok, obs.output
            assert obs.details["rows"] == 3 and obs.details["more_rows"], obs.details
            assert limit < obs.details["truncated_bytes"] <= limit + 1_000_100, obs.details
            assert f"[result cut after {obs.details['truncated_bytes']} bytes" in obs.output
            assert len(obs.output) <= where.max_chars + 200, len(obs.output)
            assert peak < 40 * 2**20, peak  # a few rows of 1 MB, never the 500 MB
            after = where.step("SELECT count(*) FROM orders")  # the connection still works
            assert after.ok and "3" in after.output, after.output
        finally:
            if where is not env:
                where.close()
            env.close()


def test_max_result_bytes_must_be_positive(shop_db: Path) -> None:
    with pytest.raises(ValueError, match="max_result_bytes"):
        SQLEnvironment(f"sqlite:///{shop_db}", max_result_bytes=0)


@pytest.mark.server_db
def test_driver_running_several_statements_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """If psycopg stops honouring the one-statement cursor, no environment opens."""
    import langgraph_slinvit.envs.sql as sql_module

    monkeypatch.setattr(sql_module, "_one_statement_cursor", lambda: __import__("psycopg").Cursor)
    with pytest.raises(sql_module.SQLEnvironmentError, match="several statements"):
        SQLEnvironment(PG_URL)


# --------------------------------------------------------------------------- privileges


@pytest.mark.server_db
def test_postgres_superuser_is_not_contained_by_read_only() -> None:
    """A documented limit: read-only transactions do not stop a superuser's server-side
    effects. ``COPY ... TO PROGRAM`` runs a program on the database host."""
    with throwaway(PG_URL) as url, place(url, "real") as env:
        assert env.step("SHOW is_superuser").output.splitlines()[1].strip() == "on"
        obs = env.step("COPY (SELECT 1) TO PROGRAM 'cat > /dev/null'")
        assert obs.ok, obs.output  # ran: connect as a role that may only read
        assert env.step("SELECT length(pg_read_file('/etc/hostname')) > 0").ok


@pytest.mark.server_db
def test_postgres_read_only_role_blocks_server_side_effects() -> None:
    """The recommended set-up (docs/safety.md): a role with SELECT only."""
    role = f"slinvit_reader_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with throwaway(PG_URL) as url:
            db = sa.make_url(url).database
            with admin.connect() as conn:
                conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
                conn.exec_driver_sql(f"GRANT CONNECT ON DATABASE {db} TO {role}")
            owner = sa.create_engine(url, isolation_level="AUTOCOMMIT")
            with owner.connect() as conn:
                conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
                conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
            owner.dispose()
            reader = sa.make_url(url).set(username=role).render_as_string(hide_password=False)
            for allow_writes in (False, True):
                with SQLEnvironment(reader, allow_writes=allow_writes, timeout=TIMEOUT) as env:
                    assert env.step("SELECT count(*) FROM orders").ok
                    for attack in (
                        "COPY (SELECT 1) TO PROGRAM 'cat > /dev/null'",
                        "COPY (SELECT 1) TO '/tmp/slinvit_copy'",
                        "SELECT pg_read_file('/etc/hostname')",
                        "SELECT lo_import('/etc/hostname')",
                        "DROP TABLE orders",
                        "DELETE FROM orders",
                    ):
                        obs = env.step(attack)
                        text = obs.output.lower()
                        denied = "permission denied" in text or "must be " in text
                        assert not obs.ok and (denied or obs.refused), (attack, obs.output)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        admin.dispose()


# --------------------------------------------------------------------------- the guard itself


@pytest.mark.parametrize(
    ("sql", "dialect", "start"),
    [
        ("  -- c\n /* d */ ;; COMMIT", "postgresql", "COMMIT"),
        ("/* a /* nested */ b */ END", "postgresql", "END"),
        ("/* a /* nested */ b */ END", "mysql", "b */ END"),  # MySQL comments do not nest
        ("# c\nDROP TABLE t", "mysql", "DROP TABLE t"),
        ("# c\nSELECT 1", "postgresql", "# c\nSELECT 1"),  # '#' is an operator there
        ("/*!DROP TABLE t*/", "mysql", "/*!DROP TABLE t*/"),  # executable: not a comment
        ("/*M!100000 DROP TABLE t */", "mysql", "/*M!100000 DROP TABLE t */"),
        ("/* never closed", "postgresql", ""),
        ("SELECT 1 -- trailing", "postgresql", "SELECT 1 -- trailing"),
    ],
)
def test_statement_start(sql: str, dialect: str, start: str) -> None:
    assert statement_start(sql, dialect) == start


# --- SQLite: pointer functions and locks held past the action ---------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_sqlite_fts3_tokenizer_is_unavailable(shop_db: Path, mode: str) -> None:
    with place(f"sqlite:///{shop_db}", mode) as env:
        obs = env.step("SELECT hex(fts3_tokenizer('simple'))")
        assert not obs.ok, obs.output  # would print the address of a C struct
        assert obs.refused or "not authorized" in (obs.error or obs.output)


def _writer_can_write(path: Path) -> bool:
    conn = sqlite3.connect(path, timeout=0.2)
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS lock_probe (x)")
        conn.execute("DROP TABLE lock_probe")
        conn.commit()
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc), exc
        return False
    finally:
        conn.close()


@pytest.mark.parametrize("allow_writes", [False, True])
@pytest.mark.parametrize(
    "statements",
    [
        ["PRAGMA locking_mode=EXCLUSIVE", "SELECT count(*) FROM orders"],
        ["BEGIN EXCLUSIVE", "SELECT count(*) FROM orders"],
        ["BEGIN IMMEDIATE"],
    ],
    ids=["locking_mode", "begin_exclusive", "begin_immediate"],
)
def test_sqlite_database_is_not_left_locked(
    shop_db: Path, allow_writes: bool, statements: list[str]
) -> None:
    env = SQLEnvironment(f"sqlite:///{shop_db}", allow_writes=allow_writes, timeout=TIMEOUT)
    try:
        for statement in statements:
            env.step(statement)
        # the agent is done with this action (the environment stays open): the user may write
        assert _writer_can_write(shop_db), f"{statements} left the database locked"
    finally:
        env.close()


# --- servers: file access, writing CTEs, forks ---------------------------------------------


@pytest.mark.server_db
@pytest.mark.parametrize("mode", ["real", "real_rw", "fork", "rw_fork"])
@pytest.mark.parametrize(
    "statement",
    [
        "SELECT name FROM customers INTO OUTFILE '{path}'",
        "SELECT name FROM customers INTO /* c */ DUMPFILE '{path}'",
        "SELECT LOAD_FILE('/etc/hostname')",
        "LOAD DATA INFILE '/etc/hostname' INTO TABLE customers",
        "/*!SELECT 1 INTO OUTFILE '{path}' */",
    ],
    ids=["outfile", "dumpfile_comment", "load_file", "load_data", "executable_comment"],
)
def test_mariadb_server_files_are_out_of_reach(tmp_path: Path, mode: str, statement: str) -> None:
    target = tmp_path / f"out-{uuid.uuid4().hex}"
    with throwaway(MARIADB_URL) as url:
        env = SQLEnvironment(url, allow_writes=mode in ("real_rw", "rw_fork"), timeout=TIMEOUT)
        where = env.fork() if "fork" in mode else env
        try:
            obs = where.step(statement.format(path=target))
            assert obs.refused and "server files" in obs.output, obs.output
        finally:
            if where is not env:
                where.close()
            env.close()
    assert not target.exists()


PREPARED_FILE_ACCESS = {
    "prepared_outfile": [
        "PREPARE s FROM CONCAT('SELECT name FROM customers INTO OUT', 'FILE ''{path}''')",
        "EXECUTE s",
        "DEALLOCATE PREPARE s",
    ],
    "execute_immediate_outfile": [
        "EXECUTE IMMEDIATE CONCAT('SELECT 1 INTO DUMP', 'FILE ''{path}''')"
    ],
    "prepared_load_file": [
        "PREPARE s FROM CONCAT('SELECT LOAD', '_FILE(''{secret}'')')",
        "EXECUTE s",
    ],
    "procedure_with_prepare": [
        "CREATE PROCEDURE slv_p() BEGIN SET @q = CONCAT('SELECT 1 INTO OUT', 'FILE ''{path}''');"
        " PREPARE s FROM @q; EXECUTE s; END",
        "CALL slv_p()",
    ],
}


@pytest.mark.server_db
@pytest.mark.parametrize("mode", ["real", "real_rw", "fork", "rw_fork"])
@pytest.mark.parametrize("name", list(PREPARED_FILE_ACCESS))
def test_mariadb_prepared_statements_cannot_reach_server_files(mode: str, name: str) -> None:
    """PREPARE/EXECUTE build INTO OUTFILE and LOAD_FILE from strings, past the word check;
    they are refused in every mode (a writable real environment used to run them)."""
    shared = Path(tempfile.mkdtemp(prefix="slinvit-prepare-", dir="/tmp"))
    try:
        shared.chmod(0o777)  # the server (user mysql) could write here, were it allowed
        target, secret = shared / "out", shared / "secret"
        secret.write_text("prepared-" + uuid.uuid4().hex)
        secret.chmod(0o644)
        with throwaway(MARIADB_URL) as url:
            env = SQLEnvironment(url, allow_writes=mode in ("real_rw", "rw_fork"), timeout=TIMEOUT)
            where = env.fork() if "fork" in mode else env
            try:
                for statement in PREPARED_FILE_ACCESS[name]:
                    sql = statement.format(path=target, secret=secret)
                    obs = where.step(sql)
                    assert secret.read_text() not in obs.output, obs.output
                    if statement.startswith(("PREPARE", "EXECUTE", "DEALLOCATE", "CREATE")):
                        assert obs.refused and "PREPARE" in obs.output, (sql, obs.output)
                    else:  # CALL of a procedure that was never created
                        assert not obs.ok, obs.output
            finally:
                if where is not env:
                    where.close()
                env.close()
        assert not target.exists()
    finally:
        shutil.rmtree(shared)


@pytest.mark.server_db
@pytest.mark.parametrize("mode", MODES)
def test_postgres_writing_cte_leaves_the_data(mode: str) -> None:
    cte = "WITH gone AS (DELETE FROM orders RETURNING id) SELECT count(*) FROM gone"
    with throwaway(PG_URL) as url, place(url, mode) as env:
        obs = env.step(cte)
        if mode == "rw_fork":
            assert obs.ok and "3" in obs.output, obs.output  # deleted inside the fork only
        else:
            assert obs.refused, obs.output
    # throwaway() checks that every row is still there


@pytest.mark.server_db
@pytest.mark.parametrize("server", [PG_URL, MARIADB_URL], ids=["postgresql", "mariadb"])
def test_fork_of_a_closed_parent_gives_a_clear_error(server: str) -> None:
    with throwaway(server) as url:
        env = SQLEnvironment(url, timeout=TIMEOUT)
        fork = env.fork()
        child = fork.fork()
        fork.close()
        try:
            obs = child.step("SELECT count(*) FROM orders")
            assert not obs.ok and "closed" in obs.output, obs.output
        finally:
            child.close()
            env.close()


@pytest.mark.server_db
def test_too_many_open_forks_fail_fast_with_a_clear_error() -> None:
    with throwaway(PG_URL) as url:
        env = SQLEnvironment(url, timeout=TIMEOUT)
        forks: list[SQLEnvironment] = []
        try:
            start = time.monotonic()
            with pytest.raises(SQLEnvironmentError, match="close forks before opening more"):
                for _ in range(40):
                    forks.append(env.fork())
            assert time.monotonic() - start < 15
            assert len(forks) >= 10
            forks.pop().close()
            forks.append(env.fork())  # a closed fork frees its connection
        finally:
            for fork in forks:
                fork.close()
            env.close()
