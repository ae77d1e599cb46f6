"""With writes allowed and a checkpointer, a real write waits for approval (interrupt)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from langgraph_slinvit import SlinvitConfig, create_slinvit_agent
from langgraph_slinvit.envs import SQLEnvironment
from tests.conftest import fenced, scripted
from tests.integration.test_sql_isolation import PG_URL, _counts, _drop, _server_schema

DELETE = "DELETE FROM orders WHERE id = 3"


def agent_for(env: SQLEnvironment, tmp_path: Path, checkpointer=None):
    cfg = SlinvitConfig(k=1, rollouts=1, journal_path=str(tmp_path / "journal.db"))
    return create_slinvit_agent(
        scripted([fenced(DELETE)]), env, config=cfg, checkpointer=checkpointer
    )


def orders(db: Path) -> int:
    return sqlite3.connect(db).execute("SELECT count(*) FROM orders").fetchone()[0]


def test_write_waits_for_approval_then_runs(shop_db: Path, tmp_path: Path) -> None:
    with SQLEnvironment(f"sqlite:///{shop_db}", allow_writes=True) as env:
        agent = agent_for(env, tmp_path, InMemorySaver())
        config = {"configurable": {"thread_id": "approve"}}
        paused = agent.invoke({"messages": [("user", "delete order 3")]}, config)
        (request,) = paused["__interrupt__"]
        assert request.value["action"] == DELETE
        assert orders(shop_db) == 3  # nothing ran yet
        done = agent.invoke(Command(resume=True), config)
    assert done["steps"][0]["observation"]["output"] == "OK (1 rows affected)"
    assert orders(shop_db) == 2


def test_refused_write_does_not_run(shop_db: Path, tmp_path: Path) -> None:
    with SQLEnvironment(f"sqlite:///{shop_db}", allow_writes=True) as env:
        agent = agent_for(env, tmp_path, InMemorySaver())
        config = {"configurable": {"thread_id": "refuse"}}
        agent.invoke({"messages": [("user", "delete order 3")]}, config)
        done = agent.invoke(Command(resume={"approved": False}), config)
    assert done["steps"][0]["observation"]["refused"]
    assert orders(shop_db) == 3


def test_reads_need_no_approval_and_read_only_needs_none(shop_db: Path) -> None:
    with SQLEnvironment(f"sqlite:///{shop_db}", allow_writes=True) as env:
        assert env.needs_approval(DELETE)
        assert env.needs_approval("CREATE TABLE t (a INT)")
        assert not env.needs_approval("SELECT * FROM orders")
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:  # read-only: the connection refuses
        assert not env.needs_approval(DELETE)
    assert orders(shop_db) == 3


@pytest.mark.server_db
def test_postgres_write_approval(tmp_path: Path) -> None:
    url, name = _server_schema(PG_URL)
    try:
        with SQLEnvironment(url, allow_writes=True) as env:
            assert env.needs_approval(DELETE) and not env.needs_approval("SELECT 1")
            agent = agent_for(env, tmp_path, InMemorySaver())
            config = {"configurable": {"thread_id": "pg"}}
            agent.invoke({"messages": [("user", "delete order 3")]}, config)
            assert _counts(url)[1] == 3
            agent.invoke(Command(resume=True), config)
        assert _counts(url)[1] == 2
    finally:
        _drop(PG_URL, name)
