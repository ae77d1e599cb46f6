"""The Studio graphs load and compile; the chatbot example uses SLINVIT as a tool."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, ToolMessage

from langgraph_slinvit.testing import ScriptedChatModel
from tests.conftest import RIGHT, fenced, scripted

ROOT = Path(__file__).resolve().parents[2]


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_langgraph_json_graphs_import_and_compile(
    shop_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = json.loads((ROOT / "langgraph.json").read_text())
    assert config["dependencies"] == ["."]
    assert set(config["graphs"]) == {"slinvit_sql", "slinvit_shell"}
    monkeypatch.setenv("SLINVIT_DB_URL", f"sqlite:///{shop_db}")
    monkeypatch.setenv("SLINVIT_WORKDIR", str(tmp_path))
    for name, target in config["graphs"].items():
        file, attr = target.split(":")
        module = load(ROOT / file, f"studio_{name}")
        graph = getattr(module, attr)
        assert graph.checkpointer is None, "langgraph dev refuses graphs with a checkpointer"
        nodes = set(graph.get_graph(xray=True).nodes)
        assert {"propose", "rollout", "score", "select", "act", "respond"} <= nodes
        module.env.close()


def test_chatbot_calls_slinvit_as_a_tool(shop_db: Path) -> None:
    example = load(ROOT / "examples" / "chatbot_with_slinvit_tool.py", "chatbot_example")
    chat = ScriptedChatModel(
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
            "Bob has never placed an order.",
        ],
        calls=[],
    )
    searcher = scripted([fenced(RIGHT)])
    chatbot, env = example.build_chatbot(chat, searcher, f"sqlite:///{shop_db}")
    try:
        out = chatbot.invoke({"messages": [("user", "Who never ordered?")]})
    finally:
        env.close()
    tool_messages = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert len(tool_messages) == 1 and "Bob" in tool_messages[0].content
    assert RIGHT in tool_messages[0].content  # the SLINVIT answer shows the query it ran
    assert out["messages"][-1].content == "Bob has never placed an order."
    assert len(searcher.calls) >= 2  # proposal and rollouts really ran


def test_custom_environment_example_forks_are_isolated() -> None:
    example = load(ROOT / "examples" / "custom_environment.py", "custom_env_example")
    env = example.KeyValueEnvironment({"a": "1"})
    from langgraph_slinvit import SlinvitConfig, create_slinvit_agent
    from langgraph_slinvit.envs import Environment

    assert isinstance(env, Environment)
    model = ScriptedChatModel(
        responder=lambda msgs, n: (
            ["SUBMIT"] * n if "Result 1" in str(msgs[-1].content) else ["```text\nGET a\n```"] * n
        ),
        calls=[],
    )
    out = create_slinvit_agent(model, env, config=SlinvitConfig(summarize_answer=False)).invoke(
        {"messages": [("user", "what is a?")]}
    )
    assert out["steps"][0]["observation"]["output"] == "1"
    fork = env.fork()
    fork.step("SET a 2")
    assert env.data == {"a": "1"}
