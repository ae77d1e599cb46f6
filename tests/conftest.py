"""Shared fixtures: a small real SQLite shop database and a scripted model factory."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from langchain_core.messages import BaseMessage

from langgraph_slinvit.testing import ScriptedChatModel

SHOP_SQL = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
                     total REAL);
INSERT INTO customers VALUES (1, 'Ann', 'Oslo'), (2, 'Bob', 'Rome'), (3, 'Cid', 'Oslo');
INSERT INTO orders VALUES (1, 1, 10.0), (2, 1, 5.5), (3, 3, 7.25);
"""

RIGHT = "SELECT name FROM customers WHERE id NOT IN (SELECT customer_id FROM orders)"
WRONG = "SELECT name FROM customer WHERE orders = 0"  # fails: no such table


@pytest.fixture
def shop_db(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    conn = sqlite3.connect(path)
    conn.executescript(SHOP_SQL)
    conn.commit()
    conn.close()
    return path


def fenced(action: str, language: str = "sql") -> str:
    return f"```{language}\n{action}\n```"


def role_of(messages: Sequence[BaseMessage]) -> str:
    """Which kind of request a prompt is: summary, critic, proposal or rollout step."""
    body = str(messages[-1].content)
    if "Answer the task" in body:
        return "summary"
    if "Score:" in body:
        return "critic"
    return "act" if "Result 1" in body else "first"


def scripted(
    first: Sequence[str],
    after: str = "SUBMIT",
    *,
    summary: str = "Bob never ordered.",
    logprob: list[float] | float | None = None,
) -> ScriptedChatModel:
    """A model proposing ``first`` (cycled to n) at the first step and ``after`` later."""

    def responder(messages: Sequence[BaseMessage], n: int) -> list[str]:
        role = role_of(messages)
        if role == "summary":
            return [summary] * n
        if role == "critic":
            return ["Score: 5"] * n
        if role == "first":
            return [first[i % len(first)] for i in range(n)]
        return [after] * n

    return ScriptedChatModel(responder=responder, logprob=logprob, calls=[])


@pytest.fixture
def make_model() -> Callable[..., ScriptedChatModel]:
    return scripted


@pytest.fixture(autouse=True)
def _journal_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs with a checkpointer journal their actions; keep that file in the test's temp dir."""
    import langgraph_slinvit.nodes as nodes

    monkeypatch.setattr(nodes, "default_journal_path", lambda: str(tmp_path / "journal.sqlite"))
