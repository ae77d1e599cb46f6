"""Schema hints on real databases: SQLite, PostgreSQL and MariaDB word the errors differently.

The hint is read from each database's own catalogue; the real database stays as it was, forks
carry the hint too, and an environment keeps working after the failed statement.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from langgraph_slinvit.envs import SQLEnvironment
from tests.integration.test_sql_isolation import MARIADB_URL, PG_URL, _counts, _drop, _server_schema


def check_hints(env: SQLEnvironment) -> None:
    obs = env.step("SELECT total FROM customers")
    assert not obs.ok
    assert obs.output.splitlines()[-1] == "Hint: a column named total is in table orders."
    assert "Hint" not in (obs.error or ""), "the error itself stays the database's message"
    missing = env.step("SELECT * FROM customer")
    assert not missing.ok
    assert "Hint: no table customer; closest: customers" in missing.output
    fork = env.fork()
    try:
        in_fork = fork.step("SELECT c.total FROM customers AS c")
        assert "Hint: a column named total is in table orders." in in_fork.output
        assert fork.step("SELECT count(*) FROM orders").ok, "the fork works after the error"
    finally:
        fork.close()
    assert env.step("SELECT name FROM customers ORDER BY id").output.startswith("name\nAnn")


def test_sqlite_errors_carry_schema_hints(shop_db: Path) -> None:
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        check_hints(env)


def test_hints_can_be_turned_off(shop_db: Path) -> None:
    with SQLEnvironment(f"sqlite:///{shop_db}", schema_hints=False) as env:
        obs = env.step("SELECT total FROM customers")
    assert obs.output == "Error: no such column: total"


@pytest.mark.server_db
@pytest.mark.parametrize("server", [PG_URL, MARIADB_URL], ids=["postgresql", "mariadb"])
@pytest.mark.parametrize("allow_writes", [False, True])
def test_server_errors_carry_schema_hints(server: str, allow_writes: bool) -> None:
    url, name = _server_schema(server)
    try:
        with SQLEnvironment(url, allow_writes=allow_writes) as env:
            check_hints(env)
            if allow_writes:  # the catalogue read left no transaction that swallows a write
                assert env.step("INSERT INTO customers VALUES (4, 'Dee', 'Oslo')").ok
        expected = (4, 3) if allow_writes else (3, 3)
        assert _counts(url)[:2] == expected
    finally:
        _drop(server, name)


@pytest.mark.parametrize("allow_writes", [False, True])
def test_the_repair_note_says_when_only_select_works(shop_db: Path, allow_writes: bool) -> None:
    # asked for a corrected statement, a small model tried ALTER TABLE to "add" the column a
    # hint named; the note is said only when it is true (writes refused)
    with SQLEnvironment(f"sqlite:///{shop_db}", allow_writes=allow_writes) as env:
        note = env.repair_note()
        assert env.step("ALTER TABLE customers ADD COLUMN total REAL").refused == (not allow_writes)
    assert note == (None if allow_writes else "The database is read-only: only SELECT works.")
