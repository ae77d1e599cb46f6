"""A misbehaving OpenAI-compatible endpoint: bounded retries, clear errors, no hangs.

A real HTTP server on 127.0.0.1 (a free port, ``http.server`` in a thread) speaks just enough of
``/v1/chat/completions`` for ``langchain_openai.ChatOpenAI``. Each request is answered by the
test's plan: ``500``, ``hang`` (never answers), ``badjson`` (a cut-off body), ``shape`` (valid
JSON without choices) or ``ok``. The client itself never retries (``max_retries=0``), so every
retry counted here is SLINVIT's. The server stops at the end of each test, and by itself after
``LIFETIME_S`` at the latest; a hanging handler waits at most ``HANG_S``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from langchain_openai import ChatOpenAI

from langgraph_slinvit import SlinvitConfig, create_slinvit_agent
from langgraph_slinvit.envs import SQLEnvironment
from langgraph_slinvit.policy import ModelEndpointError
from tests.conftest import RIGHT, fenced

HANG_S = 5.0
LIFETIME_S = 30.0
MAX_BODY = 1 << 20

Plan = Callable[[int], str]


class FakeEndpoint:
    """``/v1/chat/completions`` on a random free port; ``plan(i)`` decides request ``i``."""

    def __init__(self, plan: Plan, lifetime: float = LIFETIME_S) -> None:
        """``lifetime``: seconds after which the server stops itself (a test that hangs
        cannot keep it alive); a test whose first request waits for workers to start needs
        more on a busy machine."""
        self.plan = plan
        self.requests: list[dict] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep pytest output clean
                pass

            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
                body = json.loads(self.rfile.read(length) or b"{}")
                with endpoint._lock:
                    index = len(endpoint.requests)
                    endpoint.requests.append(body)
                endpoint.answer(self, endpoint.plan(index), body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        self._watchdog = threading.Timer(lifetime, self.stop)
        self._watchdog.daemon = True
        self._watchdog.start()

    def answer(self, handler: BaseHTTPRequestHandler, what: str, body: dict) -> None:
        if what == "hang":
            self._stopping.wait(HANG_S)  # never answers; released when the server stops
            return
        status, data = 200, b""
        if what == "500":
            status, data = 500, b'{"error": {"message": "boom", "type": "server_error"}}'
        elif what == "badjson":
            data = b'{"id": "x", "choices": [{"message": '
        elif what == "shape":
            data = b'{"id": "x", "object": "chat.completion", "choices": "none"}'
        else:
            data = json.dumps(completion(body)).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def stop(self) -> None:
        self._stopping.set()
        self._watchdog.cancel()
        self.server.shutdown()
        self.server.server_close()


def reply_for(body: dict) -> str:
    """Like ``tests.conftest.scripted``: the right query first, then SUBMIT, then a summary."""
    last = str(body.get("messages", [{}])[-1].get("content", ""))
    if "Answer the task" in last:
        return "Bob never ordered."
    return "SUBMIT" if "Result 1" in last else fenced(RIGHT)


def completion(body: dict) -> dict:
    n = int(body.get("n") or 1)
    text = reply_for(body)
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "test"),
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "logprobs": None,
            }
            for i in range(n)
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


@pytest.fixture
def endpoint() -> Iterator[Callable[[Plan], FakeEndpoint]]:
    started: list[FakeEndpoint] = []

    def start(plan: Plan) -> FakeEndpoint:
        started.append(FakeEndpoint(plan))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def model_at(url: str, timeout: float = 2.0) -> ChatOpenAI:
    return ChatOpenAI(base_url=url, api_key="x", model="test", max_retries=0, timeout=timeout)


def run_agent(shop_db: Path, model: ChatOpenAI, **config: float) -> tuple[dict, float]:
    cfg = SlinvitConfig(
        k=1, samples=2, rollouts=1, horizon=2, retries=2, retry_backoff=0.05, **config
    )  # type: ignore[arg-type]
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        agent = create_slinvit_agent(model, env, config=cfg)
        start = time.monotonic()
        out = agent.invoke({"messages": [("user", "Which customers never placed an order?")]})
    return out, time.monotonic() - start


def test_always_500_is_retried_then_reported(shop_db: Path, endpoint) -> None:
    server = endpoint(lambda i: "500")
    start = time.monotonic()
    with pytest.raises(ModelEndpointError, match="after 3 attempts") as err:
        run_agent(shop_db, model_at(server.url))
    assert server.url in str(err.value)
    assert "500" in str(err.value)
    assert len(server.requests) == 1 + 2  # first try + retries=2
    assert time.monotonic() - start < 2.0


def test_hanging_endpoint_times_out_and_is_retried(shop_db: Path, endpoint) -> None:
    server = endpoint(lambda i: "hang")
    start = time.monotonic()
    with pytest.raises(ModelEndpointError, match="Timeout") as err:
        run_agent(shop_db, model_at(server.url, timeout=0.3))
    elapsed = time.monotonic() - start
    assert server.url in str(err.value)
    assert len(server.requests) == 3
    assert 0.9 <= elapsed < 2.5  # three 0.3 s timeouts and two short backoffs


def test_hanging_endpoint_respects_max_seconds(shop_db: Path, endpoint) -> None:
    """Ten retries allowed, but the run's 1.2 s budget ends them: no request outlives it."""
    server = endpoint(lambda i: "hang")
    cfg = SlinvitConfig(k=1, samples=2, rollouts=1, retries=10, retry_backoff=0.05, max_seconds=1.2)
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        agent = create_slinvit_agent(model_at(server.url, timeout=0.5), env, config=cfg)
        start = time.monotonic()
        with pytest.raises(ModelEndpointError, match="Timeout"):
            agent.invoke({"messages": [("user", "Which customers never placed an order?")]})
        elapsed = time.monotonic() - start
    assert elapsed < 1.2 + 0.4, elapsed
    assert 2 <= len(server.requests) < 11


def test_a_slow_first_answer_cut_at_the_deadline_ends_the_run_on_its_time_budget(
    shop_db: Path, endpoint
) -> None:
    """An endpoint that is slow, not failing: the run's deadline cuts its first try, and the
    run stops as on any spent budget (stop_reason max_seconds), not with an endpoint error."""
    server = endpoint(lambda i: "hang")
    out, elapsed = run_agent(shop_db, model_at(server.url, timeout=30.0), max_seconds=0.8)
    assert out["stop_reason"] == "max_seconds"
    assert len(server.requests) == 1 and elapsed < 0.8 + 0.6, elapsed


@pytest.mark.parametrize("body", ["badjson", "shape"])
def test_malformed_body_is_a_clear_error_without_retries(
    shop_db: Path, endpoint, body: str
) -> None:
    server = endpoint(lambda i: body)
    start = time.monotonic()
    with pytest.raises(ModelEndpointError) as err:
        run_agent(shop_db, model_at(server.url))
    assert server.url in str(err.value)
    assert "after" not in str(err.value)  # not a transient failure: not retried
    assert len(server.requests) == 1
    assert time.monotonic() - start < 1.0


def test_two_failures_then_success(shop_db: Path, endpoint) -> None:
    server = endpoint(lambda i: "500" if i < 2 else "ok")
    out, elapsed = run_agent(shop_db, model_at(server.url))
    assert [s["action"] for s in out["steps"]] == [RIGHT]
    assert "Bob" in out["answer"]
    assert out["stop_reason"] == "submitted"
    # the retried request is the same request: still n samples, still asking for logprobs
    assert server.requests[2]["n"] == server.requests[0]["n"] == 2
    assert server.requests[2].get("logprobs") is True
    assert elapsed < 3.0


def test_server_down(shop_db: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    start = time.monotonic()
    with pytest.raises(ModelEndpointError, match="after 3 attempts") as err:
        run_agent(shop_db, model_at(url))
    assert url in str(err.value)
    assert "Connection" in str(err.value)
    assert time.monotonic() - start < 2.0
