"""A failing SLINVIT episode reaches the calling agent as a tool error, not as a crash."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage

from langgraph_slinvit import create_slinvit_agent
from langgraph_slinvit.envs import SQLEnvironment
from langgraph_slinvit.testing import ScriptedChatModel
from langgraph_slinvit.tools import slinvit_tool


def chat_calling_the_tool() -> ScriptedChatModel:
    return ScriptedChatModel(
        script=[
            AIMessage(
                "",
                tool_calls=[
                    {
                        "name": "ask_database",
                        "id": "call1",
                        "args": {"question": "Who never ordered?"},
                    }
                ],
            ),
            "The database is unavailable right now.",
        ],
        calls=[],
    )


def test_an_endpoint_error_becomes_a_tool_error_the_chatbot_answers_from(shop_db: Path) -> None:
    searcher = ScriptedChatModel(error=PermissionError("401: invalid api key"), calls=[])
    env = SQLEnvironment(f"sqlite:///{shop_db}")
    try:
        tool = slinvit_tool(create_slinvit_agent(searcher, env))
        chatbot = create_agent(chat_calling_the_tool(), [tool])
        out = chatbot.invoke({"messages": [("user", "Who never ordered?")]})
    finally:
        env.close()
    (message,) = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert message.status == "error"
    assert "ModelEndpointError" in message.content and "invalid api key" in message.content
    assert out["messages"][-1].content == "The database is unavailable right now."
    assert searcher.calls, "the SLINVIT agent really called its model"


def test_async_tool_call_returns_the_error_too(shop_db: Path) -> None:
    searcher = ScriptedChatModel(error=PermissionError("403: forbidden"), calls=[])
    env = SQLEnvironment(f"sqlite:///{shop_db}")
    try:
        tool = slinvit_tool(create_slinvit_agent(searcher, env))
        text = asyncio.run(tool.ainvoke({"question": "Who never ordered?"}))
    finally:
        env.close()
    assert text.startswith("The ask_database tool failed: ModelEndpointError")
    assert "403: forbidden" in text


def test_a_bug_is_not_hidden_as_a_tool_error() -> None:
    class Broken:
        def invoke(self, _input):
            raise KeyError("answer")

    with pytest.raises(KeyError):
        slinvit_tool(Broken()).invoke({"question": "q"})
