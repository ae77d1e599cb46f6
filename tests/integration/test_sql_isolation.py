"""Rollouts run DELETE/DROP/UPDATE in forks; the real database never changes.

Against a real SQLite file (bytes compared) and the real PostgreSQL and MariaDB servers on
127.0.0.1 (row counts compared). ``.ci/run`` starts the servers when they are not running.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from langgraph_slinvit import SlinvitConfig, create_slinvit_agent
from langgraph_slinvit.envs import SQLEnvironment
from langgraph_slinvit.value import ValueContext
from tests.conftest import RIGHT, SHOP_SQL, fenced, scripted

DESTRUCTIVE = ["DELETE FROM orders", "DROP TABLE customers", "UPDATE customers SET name = 'x'"]
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/mysql"


def rows_are_answers(ctx: ValueContext) -> float:
    """Rule value for the test: a result with rows is worth 1, anything else 0."""
    return 1.0 if ctx.observation and ctx.observation.details.get("rows") else 0.0


def run_destructive_search(env: SQLEnvironment) -> dict:
    model = scripted([fenced(a) for a in DESTRUCTIVE] + [fenced(RIGHT)], after="SUBMIT")
    events = []
    agent = create_slinvit_agent(
        model, env, config=SlinvitConfig(k=4, rollouts=2), value_fn=rows_are_answers
    )
    for mode, chunk in agent.stream(
        {"messages": [("user", "Which customers never placed an order?")]},
        stream_mode=["custom", "values"],
    ):
        if mode == "custom":
            events.append(chunk)
        else:
            final = chunk
    simulated = {a for e in events if e["type"] == "rollout" for a in e["path"]}
    assert set(DESTRUCTIVE) <= simulated, "the destructive candidates must have been rolled out"
    assert [s["action"] for s in final["steps"]] == [RIGHT]
    return final


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("allow_writes", [False, True])
def test_sqlite_file_unchanged(shop_db: Path, allow_writes: bool) -> None:
    before = digest(shop_db)
    with SQLEnvironment(f"sqlite:///{shop_db}", allow_writes=allow_writes) as env:
        out = run_destructive_search(env)
    assert "Bob" in out["answer"]
    assert digest(shop_db) == before


def test_sqlite_fork_writes_stay_in_the_fork(shop_db: Path) -> None:
    before = digest(shop_db)
    with SQLEnvironment(f"sqlite:///{shop_db}", allow_writes=True) as env:
        fork = env.fork()
        assert fork.step("DROP TABLE orders").ok
        nested = fork.fork()
        assert not nested.step("SELECT * FROM orders").ok  # the nested fork sees the drop
        nested.close()
        fork.close()
        assert env.step("SELECT count(*) FROM orders").output.splitlines()[1] == "3"
    assert digest(shop_db) == before


def _server_schema(url: str) -> tuple[str, str]:
    """Create a fresh database with the shop tables; return its URL and name."""
    name = f"slinvit_test_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except sa.exc.OperationalError as exc:  # pragma: no cover - CI starts the servers
        pytest.fail(f"database server not reachable ({url}); run .ci/run to start it: {exc}")
    admin.dispose()
    db_url = sa.make_url(url).set(database=name)
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        for stmt in filter(str.strip, SHOP_SQL.split(";")):
            conn.exec_driver_sql(stmt.replace("REAL", "FLOAT"))
    engine.dispose()
    return db_url.render_as_string(hide_password=False), name


def _drop(url: str, name: str) -> None:
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
    admin.dispose()


def _counts(url: str) -> tuple[int, int, list[str]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        customers = conn.exec_driver_sql("SELECT count(*) FROM customers").scalar()
        orders = conn.exec_driver_sql("SELECT count(*) FROM orders").scalar()
        names = [r[0] for r in conn.exec_driver_sql("SELECT name FROM customers ORDER BY id")]
    engine.dispose()
    return customers, orders, names


@pytest.mark.server_db
@pytest.mark.parametrize("server", [PG_URL, MARIADB_URL], ids=["postgresql", "mariadb"])
@pytest.mark.parametrize("allow_writes", [False, True])
def test_server_database_unchanged(server: str, allow_writes: bool) -> None:
    url, name = _server_schema(server)
    try:
        before = _counts(url)
        with SQLEnvironment(url, allow_writes=allow_writes) as env:
            out = run_destructive_search(env)
        assert "Bob" in out["answer"]
        assert _counts(url) == before == (3, 3, ["Ann", "Bob", "Cid"])
    finally:
        _drop(server, name)
