"""The policy's model calls reach the run's callbacks; only the final answer streams as messages."""

from __future__ import annotations

import math
from typing import Any, TypedDict

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.constants import TAG_NOSTREAM
from langgraph.graph import END, START, StateGraph

from langgraph_slinvit.budget import Budget
from langgraph_slinvit.policy import NOSTREAM, Policy
from langgraph_slinvit.testing import ScriptedChatModel


class Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.starts: list[dict[str, Any]] = []
        self.ends = 0

    def on_chat_model_start(self, serialized, messages, *, tags=None, metadata=None, **kw):
        self.starts.append({"tags": list(tags or []), "metadata": dict(metadata or {})})

    def on_llm_end(self, response, **kw):
        self.ends += 1


def budget(calls: int = 50) -> Budget:
    return Budget(llm_calls=calls, tokens=10**6, deadline=math.inf)


class S(TypedDict, total=False):
    question: str
    proposals: list[str]
    answer: str


def two_node_graph(policy: Policy):
    def propose(state: S, config: RunnableConfig) -> S:
        samples = policy.sample([HumanMessage(state["question"])], 2, budget(), config=config)
        return {"proposals": [s.text for s in samples]}

    def respond(state: S, config: RunnableConfig) -> S:
        return {"answer": policy.answer([HumanMessage("summarise")], budget(), config=config)}

    g = StateGraph(S)
    g.add_node("propose", propose)
    g.add_node("respond", respond)
    g.add_edge(START, "propose")
    g.add_edge("propose", "respond")
    g.add_edge("respond", END)
    return g.compile()


def test_nostream_is_langgraphs_tag():
    assert NOSTREAM == TAG_NOSTREAM


def test_callbacks_see_proposals_and_the_answer_with_the_runs_tags_and_metadata():
    model = ScriptedChatModel(script=[["SELECT 1", "SELECT 2"], "There are two shops."])
    rec = Recorder()
    out = two_node_graph(Policy(model)).invoke(
        {"question": "how many shops?"},
        {"callbacks": [rec], "tags": ["mine"], "metadata": {"user": "ada"}},
    )
    assert out["proposals"] == ["SELECT 1", "SELECT 2"]
    assert out["answer"] == "There are two shops."
    assert len(rec.starts) == 2 and rec.ends == 2
    proposal, answer = rec.starts
    assert "mine" in proposal["tags"] and NOSTREAM in proposal["tags"]
    assert "mine" in answer["tags"] and NOSTREAM not in answer["tags"]
    assert proposal["metadata"]["user"] == "ada" and answer["metadata"]["user"] == "ada"
    assert proposal["metadata"]["langgraph_node"] == "propose"


def test_stream_mode_messages_yields_the_answer_chunks_and_no_proposal():
    model = ScriptedChatModel(script=[["SELECT 1", "SELECT 2"], "There are two shops."])
    chunks = list(two_node_graph(Policy(model)).stream({"question": "q"}, stream_mode="messages"))
    assert chunks, "the answer's tokens were not streamed"
    nodes = {meta["langgraph_node"] for _, meta in chunks}
    assert nodes == {"respond"}
    assert len(chunks) > 1  # word by word, not one whole message
    assert "".join(str(c.content) for c, _ in chunks) == "There are two shops."
    assert model.calls[0]["n"] == 2  # proposals still one request with n choices


def test_astream_events_sees_the_proposal_calls():
    import asyncio

    model = ScriptedChatModel(script=[["a", "b"], "done now"])

    async def collect():
        graph = two_node_graph(Policy(model))
        return [e async for e in graph.astream_events({"question": "q"}, version="v2")]

    events = asyncio.run(collect())
    starts = [e for e in events if e["event"] == "on_chat_model_start"]
    assert [e["metadata"]["langgraph_node"] for e in starts] == ["propose", "respond"]


def test_answer_is_greedy_and_short():
    model = ScriptedChatModel(script=["fine"])
    Policy(model, temperature=0.9).answer([HumanMessage("q")], budget())
    kwargs = model.calls[0]["kwargs"]
    assert kwargs["temperature"] == 0.0 and kwargs["max_tokens"] == 200
