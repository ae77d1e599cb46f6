"""A chatbot thread on the real PostgreSQL checkpointer: follow-up turns and time travel."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from langgraph_slinvit import SlinvitConfig, create_slinvit_agent
from langgraph_slinvit.envs import SQLEnvironment
from langgraph_slinvit.testing import ScriptedChatModel
from tests.conftest import RIGHT, fenced

postgres = pytest.importorskip("langgraph.checkpoint.postgres")
PG = "postgresql://postgres@127.0.0.1:5432/postgres"
COUNT = "SELECT count(*) FROM customers"


def responder(messages, n):
    return ["SUBMIT"] * n if "Result 1" in str(messages[-1].content) else [fenced(RIGHT)] * n


def test_follow_up_turn_and_time_travel_on_postgres(shop_db: Path) -> None:
    model = ScriptedChatModel(responder=responder, calls=[])
    settings = SlinvitConfig(k=1, rollouts=0, summarize_answer=False)
    thread = {"configurable": {"thread_id": f"pg-{uuid.uuid4().hex}"}}
    with (
        postgres.PostgresSaver.from_conn_string(PG) as saver,
        SQLEnvironment(f"sqlite:///{shop_db}") as env,
    ):
        saver.setup()
        agent = create_slinvit_agent(model, env, search=settings, checkpointer=saver)
        agent.invoke({"messages": [("user", "Which customers never ordered?")]}, thread)
        n = len(model.calls)
        out = agent.invoke({"messages": [("user", "And which of those live in Rome?")]}, thread)
        follow_up = str(model.calls[n]["messages"][-1].content)
        assert "User: Which customers never ordered?" in follow_up and RIGHT in follow_up
        assert len(out["turns"]) == 2
        # time travel: back to the latest act of the second episode, with another action chosen
        before_act = next(s for s in agent.get_state_history(thread) if s.next == ("act",))
        chosen = {**before_act.values["chosen"], "actions": [COUNT]}
        forked = agent.update_state(before_act.config, {"chosen": chosen}, as_node="select")
        again = agent.invoke(None, forked)
    step = again["steps"][-1]  # the action that ran after the chosen one was replaced
    assert step["action"] == COUNT and "3" in step["observation"]["output"]
