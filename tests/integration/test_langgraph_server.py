"""A real ``langgraph dev`` server serves the SLINVIT SQL graph, driven through ``langgraph_sdk``.

The graph answers with a scripted model (no network) over a temporary SQLite file; the server
runs in its own process group, stopped when the test ends.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RIGHT, SHOP_SQL

ROOT = Path(__file__).resolve().parents[2]
LANGGRAPH = Path(sys.executable).with_name("langgraph")

GRAPH_MODULE = '''
"""The SLINVIT SQL graph with a scripted model, for the server test."""

import os

from langgraph_slinvit import build_slinvit_graph
from langgraph_slinvit.envs import SQLEnvironment
from langgraph_slinvit.testing import ScriptedChatModel

QUERY = {query!r}


def responder(messages, n):
    body = str(messages[-1].content)
    if "Answer the task" in body:
        return ["Bob has never ordered."] * n
    if "Score:" in body:
        return ["Score: 5"] * n
    if "Result 1" in body:
        return ["SUBMIT"] * n
    return ["```sql\\n" + QUERY + "\\n```"] * n


env = SQLEnvironment("sqlite:///" + os.environ["SLINVIT_TEST_DB"])
graph = build_slinvit_graph(ScriptedChatModel(responder=responder), env).compile(
    name="slinvit_sql_scripted"
)
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not LANGGRAPH.exists() and shutil.which("langgraph") is None:
        pytest.skip("the langgraph CLI is not installed (pip install 'langgraph-cli[inmem]')")
    cli = str(LANGGRAPH) if LANGGRAPH.exists() else str(shutil.which("langgraph"))
    root = tmp_path_factory.mktemp("server")
    db = root / "shop.db"
    conn = sqlite3.connect(db)
    conn.executescript(SHOP_SQL)
    conn.commit()
    conn.close()
    (root / "scripted_sql.py").write_text(textwrap.dedent(GRAPH_MODULE.format(query=RIGHT)))
    (root / "langgraph.json").write_text(
        json.dumps({"dependencies": [str(ROOT)], "graphs": {"sql": "./scripted_sql.py:graph"}})
    )
    port = _free_port()
    env = {
        **os.environ,
        "SLINVIT_TEST_DB": str(db),
        "SLINVIT_CACHE_DIR": str(root / "cache"),
        "LANGSMITH_TRACING": "false",
        "LANGCHAIN_TRACING_V2": "false",
        "PYTHONPATH": str(ROOT),
    }
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(
        [
            cli,
            "dev",
            "--no-browser",
            "--no-reload",
            "--port",
            str(port),
            "--config",
            str(root / "langgraph.json"),
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, root / "server.log")
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()


def _wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    import urllib.request

    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"langgraph dev exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/ok", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"langgraph dev was not ready after {timeout:.0f}s:\n{log.read_text()}")


def test_assistants_and_schemas(server: str) -> None:
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=server)
    assistants = client.assistants.search(graph_id="sql")
    assert [a["graph_id"] for a in assistants] == ["sql"]
    schemas = client.assistants.get_schemas(assistants[0]["assistant_id"])
    assert "messages" in schemas["input_schema"]["properties"]
    assert "messages" in schemas["output_schema"]["properties"]


def test_a_thread_runs_with_values_custom_and_events_streams(server: str) -> None:
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=server)
    thread = client.threads.create()
    parts: dict[str, list] = {}
    for part in client.runs.stream(
        thread["thread_id"],
        "sql",
        input={"messages": [{"role": "user", "content": "Which customers never ordered?"}]},
        stream_mode=["values", "custom", "events"],
    ):
        parts.setdefault(part.event, []).append(part.data)
    assert "error" not in parts, parts.get("error")
    final = parts["values"][-1]
    assert "Bob" in final["answer"]
    assert final["messages"][-1]["type"] == "ai" and "Bob" in final["messages"][-1]["content"]
    assert any(RIGHT in json.dumps(step) for step in final["steps"])
    custom_types = {event["type"] for event in parts["custom"]}
    assert "candidates" in custom_types
    events = parts["events"]
    kinds = {event["event"] for event in events}
    assert {"on_chain_start", "on_chain_end"} <= kinds
    assert "on_chat_model_start" in kinds, "the model calls are not visible as events"
    state = client.threads.get_state(thread["thread_id"])
    assert "Bob" in state["values"]["answer"]
