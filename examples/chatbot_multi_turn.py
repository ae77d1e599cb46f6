"""A multi-turn chatbot: a SLINVIT agent with a checkpointer answers a follow-up question.

Both questions go to the same ``thread_id``, so the second one ("And which of those live in
Oslo?") is answered with the first turn in context: the question, the queries that ran, their
results and the answer (the history the agent sees is bounded by a token budget).

    python examples/chatbot_multi_turn.py

Uses ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` if set, else the embedded local model. The database
is a small customer table written into a temporary directory.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_slinvit import create_slinvit_agent
from langgraph_slinvit.envs import SQLEnvironment

QUESTIONS = ("Which customers live in Norway?", "And which of those live in Oslo?")

CUSTOMERS = [
    (1, "Bjørn Hansen", "Oslo", "Norway"),
    (2, "Ingrid Berg", "Bergen", "Norway"),
    (3, "Ola Nordmann", "Oslo", "Norway"),
    (4, "Astrid Lindgren", "Stockholm", "Sweden"),
    (5, "Mette Jensen", "Copenhagen", "Denmark"),
]


def write_customers(path: Path) -> Path:
    """A SQLite file with one ``customers`` table (id, name, city, country)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, city TEXT, country TEXT)"
        )
        conn.executemany("INSERT INTO customers VALUES (?, ?, ?, ?)", CUSTOMERS)
        conn.commit()
    finally:
        conn.close()
    return path


def build_agent(model: BaseChatModel, db_url: str) -> tuple[Any, SQLEnvironment]:
    """A SLINVIT agent over ``db_url`` that keeps each thread's turns in an in-memory checkpointer.

    Without ``search=``, the SQL environment's own preset (``sql``) applies."""
    env = SQLEnvironment(db_url)
    return create_slinvit_agent(model, env, checkpointer=InMemorySaver()), env


def converse(agent: Any, questions: tuple[str, ...], thread_id: str = "customers") -> list[str]:
    """Ask ``questions`` one after another on one thread; the answers, in order."""
    thread = {"configurable": {"thread_id": thread_id}}
    answers = []
    for question in questions:
        out = agent.invoke({"messages": [("user", question)]}, thread)
        answers.append(str(out["messages"][-1].content))
    return answers


def main() -> None:
    from langgraph_slinvit.models import chat_model

    with tempfile.TemporaryDirectory() as tmp:
        db = write_customers(Path(tmp) / "customers.db")
        agent, env = build_agent(chat_model(), f"sqlite:///{db}")
        try:
            for question, answer in zip(QUESTIONS, converse(agent, QUESTIONS), strict=True):
                print(f"> {question}\n{answer}\n")
        finally:
            env.close()


if __name__ == "__main__":
    main()
