"""An environment written only against the protocol gets what the built-in ones get.

The core knows an environment's action language only through its ``ActionSyntax`` and reads
its optional methods (``legal_actions``, ``needs_approval``, ``default_settings``) through
helpers with defaults: the environments here use no built-in base class. The graph's state is
plain data (typed records), so it survives a checkpointer and a JSON round trip unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.messages import BaseMessage, messages_from_dict, messages_to_dict
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from langgraph_slinvit import SlinvitConfig, create_slinvit_agent, decide
from langgraph_slinvit.bench.task_envs.bash import BashTaskEnvironment
from langgraph_slinvit.bench.task_envs.blocksworld import BlocksWorldEnvironment
from langgraph_slinvit.budget import Budget
from langgraph_slinvit.envs import (
    SHELL_SYNTAX,
    SQL_SYNTAX,
    TEXT_SYNTAX,
    ActionSyntax,
    Environment,
    Observation,
    ShellEnvironment,
    SQLEnvironment,
    default_feedback_value,
    default_settings_of,
    legal_actions_of,
    needs_approval_of,
    syntax_of,
)
from langgraph_slinvit.envs.lazy import LazyEnvironment
from langgraph_slinvit.policy import Policy, Sample
from langgraph_slinvit.prompts import SUBMIT, proposal_messages
from langgraph_slinvit.proposal import Candidate, action_of, candidates_from_samples, parse_action
from langgraph_slinvit.records import CandidateRecord, PathRecord, ScoredPath, StepRecord
from langgraph_slinvit.search import SearchState
from langgraph_slinvit.testing import ScriptedChatModel

KV_SYNTAX = ActionSyntax(
    name="kv",
    description="key-value store",
    tags=frozenset({"kv", "keyvalue"}),
    bare=r"(?i)(GET|SET)\s+\S",
)


class KeyValueStore:
    """A key-value store written against the protocol alone: ``GET key`` / ``SET key value``."""

    action_syntax = KV_SYNTAX

    def __init__(self, data: dict[str, str] | None = None) -> None:
        self.data = dict(data or {})
        self.ran: list[str] = []

    def describe(self) -> str:
        return "Keys: " + ", ".join(sorted(self.data))

    def step(self, action: str) -> Observation:
        self.ran.append(action)
        parts = action.split(maxsplit=2)
        if len(parts) == 2 and parts[0].upper() == "GET" and parts[1] in self.data:
            return Observation(output=self.data[parts[1]], signature=self.data[parts[1]])
        if len(parts) == 3 and parts[0].upper() == "SET":
            self.data[parts[1]] = parts[2]
            return Observation(output="OK", signature=f"set {parts[1]}")
        return Observation(output=f"cannot run {action!r}", ok=False, error="syntax")

    def fork(self) -> KeyValueStore:
        return KeyValueStore(self.data)

    def feedback_value(self, obs: Observation) -> float:
        return default_feedback_value(obs)

    def close(self) -> None:
        pass

    def needs_approval(self, action: str) -> bool:
        return action.upper().startswith("SET")

    @classmethod
    def default_settings(cls) -> SlinvitConfig:
        return SlinvitConfig(k=1, samples=3, rollouts=0, horizon=2, summarize_answer=False)


class PlainText:
    """An environment that declares no syntax at all: its actions are sentences."""

    def describe(self) -> str:
        return "Say something."

    def step(self, action: str) -> Observation:
        return Observation(output=f"heard: {action}", signature=action)

    def fork(self) -> PlainText:
        return PlainText()

    def feedback_value(self, obs: Observation) -> float:
        return 1.0

    def close(self) -> None:
        pass


def kv_model(first: str, after: str = "SUBMIT") -> ScriptedChatModel:
    """Replies ``first`` to the first proposal, ``after`` once a result is in the prompt."""

    def responder(messages: Sequence[BaseMessage], n: int) -> list[str]:
        return [after if "Result 1" in str(messages[-1].content) else first] * n

    return ScriptedChatModel(responder=responder, calls=[])


def system_prompt_of(model: ScriptedChatModel) -> str:
    return str(model.calls[0]["messages"][0].content)


# -- the syntax --------------------------------------------------------------------------------


def test_the_custom_syntax_is_what_the_prompt_asks_for() -> None:
    env = KeyValueStore({"a": "1"})
    assert isinstance(env, Environment)
    model = kv_model("```kv\nGET a\n```")
    create_slinvit_agent(model, env).invoke({"messages": [("user", "what is a?")]})
    system = system_prompt_of(model)
    assert "expert kv user working on a key-value store" in system
    assert "starts with ```kv and ends with ```" in system
    assert "sql" not in system.lower() and "shell" not in system.lower()
    first_body = str(model.calls[0]["messages"][-1].content)
    assert first_body.endswith("Write the kv for the task.")


def test_the_custom_syntax_parses_its_fences_and_its_bare_actions() -> None:
    assert parse_action("Here:\n```kv\nGET a\n```", KV_SYNTAX) == "GET a"
    assert parse_action("```KeyValue\nSET a 2\n```", KV_SYNTAX) == "SET a 2"
    assert parse_action("```sql\nGET a\n```", KV_SYNTAX) is None  # a tag it does not accept
    assert parse_action("```\nGET a\n```", KV_SYNTAX) is None  # no untagged fences declared
    assert parse_action("GET a", KV_SYNTAX) == "GET a"  # bare, by the syntax's own rule
    assert parse_action("I would read key a", KV_SYNTAX) is None
    assert parse_action("SUBMIT", KV_SYNTAX) == SUBMIT
    # the built-in rules do not apply to it, nor its rule to them
    assert parse_action("SELECT 1", KV_SYNTAX) is None
    assert parse_action("GET a", SQL_SYNTAX) is None
    samples = [Sample("GET a"), Sample("```kv\nGET  a\n```"), Sample("SET a 2"), Sample("?")]
    cands = candidates_from_samples(samples, KV_SYNTAX, "agreement")
    assert [(c.action, c.p_llm) for c in cands] == [("GET a", 0.5), ("SET a 2", 0.25)]


def test_a_bare_reply_runs_as_the_custom_environments_action() -> None:
    env = KeyValueStore({"a": "1"})
    model = kv_model("GET a")
    out = create_slinvit_agent(model, env).invoke({"messages": [("user", "what is a?")]})
    assert env.ran == ["GET a"]
    assert out["steps"][0]["action"] == "GET a"
    assert out["answer"].startswith("```kv\nGET a\n```\n1")


def test_a_predicate_can_say_what_a_bare_action_is() -> None:
    numbers = ActionSyntax(name="calc", bare=lambda text: text.replace(" ", "").isdigit())
    assert numbers.description == "calc environment"
    assert numbers.tags == frozenset({"", "calc"})
    assert parse_action("12 34", numbers) == "12 34"
    assert parse_action("twelve", numbers) is None
    assert parse_action("```\n7\n```", numbers) == "7"


def test_a_syntax_needs_a_name_and_an_environment_a_syntax() -> None:
    with pytest.raises(ValueError, match="name"):
        ActionSyntax(name=" ")

    class Wrong(PlainText):
        action_syntax = "sql"

    with pytest.raises(TypeError, match="ActionSyntax"):
        syntax_of(Wrong())


def test_a_plain_text_environment_gets_the_text_syntax() -> None:
    env = PlainText()
    assert syntax_of(env) is TEXT_SYNTAX
    model = kv_model("```text\nhello\n```")
    out = create_slinvit_agent(model, env, search=SlinvitConfig(k=1, rollouts=0)).invoke(
        {"messages": [("user", "greet")]}
    )
    assert out["steps"][0]["action"] == "hello"
    assert TEXT_SYNTAX.description in system_prompt_of(model)
    assert parse_action("hello", TEXT_SYNTAX) is None  # prose is no action without choices
    assert action_of("I say hello.", TEXT_SYNTAX, ["hello", "bye"]) == "hello"


def test_every_built_in_environment_declares_its_syntax() -> None:
    assert SQLEnvironment.action_syntax is SQL_SYNTAX
    assert ShellEnvironment.action_syntax is SHELL_SYNTAX
    assert BashTaskEnvironment.action_syntax is SHELL_SYNTAX
    assert BlocksWorldEnvironment.action_syntax is TEXT_SYNTAX
    for kind in (SQLEnvironment, ShellEnvironment, BashTaskEnvironment, BlocksWorldEnvironment):
        assert kind.action_syntax.name == kind.language  # the older name agrees


def test_an_environment_naming_only_a_language_gets_that_syntax() -> None:
    class OnlySql(PlainText):
        language = "sql"

    class OnlyPython(PlainText):
        language = "python"

    assert syntax_of(OnlySql()) is SQL_SYNTAX
    python = syntax_of(OnlyPython())
    assert python.name == "python" and python.description == "python environment"
    assert parse_action("```python\nprint(1)\n```", python) == "print(1)"
    assert parse_action("print(1)", python) is None


def test_a_lazy_environment_answers_syntax_and_settings_unbuilt() -> None:
    def refuse() -> KeyValueStore:
        raise AssertionError("built")

    lazy = LazyEnvironment(refuse, KeyValueStore)
    assert syntax_of(lazy) is KV_SYNTAX
    assert default_settings_of(lazy) == KeyValueStore.default_settings()
    assert legal_actions_of(lazy) is None
    messages = proposal_messages("t", "c", [], syntax_of(lazy))
    assert "key-value store" in str(messages[0].content)
    assert not lazy.built


# -- the optional methods --------------------------------------------------------------------


def test_optional_methods_have_defaults() -> None:
    plain = PlainText()
    assert legal_actions_of(plain) is None
    assert needs_approval_of(plain, "anything") is False
    assert default_settings_of(plain) is None
    kv = KeyValueStore()
    assert needs_approval_of(kv, "SET a 1") and not needs_approval_of(kv, "GET a")
    assert default_settings_of(kv) == KeyValueStore.default_settings()


def test_the_custom_environments_default_settings_are_used() -> None:
    model = kv_model("```kv\nGET a\n```")
    out = create_slinvit_agent(model, KeyValueStore({"a": "1"})).invoke(
        {"messages": [("user", "what is a?")]}
    )
    assert model.calls[0]["n"] == 3  # samples=3 of its default_settings
    assert out["usage"]["rollouts"] == 0  # rollouts=0
    assert not any("Answer the task" in str(c["messages"][-1].content) for c in model.calls)


def test_the_custom_environments_needs_approval_is_honoured() -> None:
    env = KeyValueStore({"a": "1"})
    agent = create_slinvit_agent(kv_model("SET a 2"), env, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "kv-write"}}
    paused = agent.invoke({"messages": [("user", "set a to 2")]}, config)
    (request,) = paused["__interrupt__"]
    assert request.value["type"] == "approve_action" and request.value["action"] == "SET a 2"
    assert env.data == {"a": "1"} and env.ran == []  # nothing ran for real yet
    done = agent.invoke(Command(resume=True), config)
    assert env.data == {"a": "2"} and env.ran == ["SET a 2"]
    assert done["steps"][0]["observation"]["output"] == "OK"
    # a read needs no approval: no interrupt
    reads = create_slinvit_agent(kv_model("GET a"), env, checkpointer=InMemorySaver())
    out = reads.invoke({"messages": [("user", "what is a?")]}, {"configurable": {"thread_id": "r"}})
    assert "__interrupt__" not in out and out["steps"][0]["observation"]["output"] == "2"


def test_an_environment_without_needs_approval_runs_without_asking() -> None:
    agent = create_slinvit_agent(
        kv_model("```text\nhello\n```"),
        PlainText(),
        search=SlinvitConfig(k=1, rollouts=0, approve_writes=True),
        checkpointer=InMemorySaver(),
    )
    out = agent.invoke({"messages": [("user", "greet")]}, {"configurable": {"thread_id": "p"}})
    assert "__interrupt__" not in out and out["steps"][0]["action"] == "hello"


# -- typed records, plain data -----------------------------------------------------------------


def _keys(record: type) -> tuple[frozenset[str], frozenset[str]]:
    return record.__required_keys__, record.__required_keys__ | record.__optional_keys__


def test_a_candidate_goes_to_a_record_and_back() -> None:
    cand = Candidate(action="GET a", p_llm=0.25, count=2)
    record = cand.to_dict()
    assert record == {"action": "GET a", "p_llm": 0.25, "count": 2}
    assert set(record) == _keys(CandidateRecord)[1]
    assert Candidate.from_dict(record) == cand
    assert Candidate.from_dict(json.loads(json.dumps(record))) == cand


def test_the_core_makes_the_records_it_declares() -> None:
    env = KeyValueStore({"a": "1"})
    model = kv_model("GET a")
    state = SearchState(task="what is a?", context=env.describe(), steps=[], horizon_left=2)
    config = SlinvitConfig(k=1, rollouts=1, horizon=2)
    budget = Budget(llm_calls=20, tokens=10**6, deadline=float("inf"))
    best, scored = decide(env, Policy(model), state, config, budget)
    assert best is not None and scored
    for path in scored:
        assert set(path) == _keys(ScoredPath)[1]
        assert set(path) - {"v_hat", "prior", "score"} == _keys(PathRecord)[1]
        assert json.loads(json.dumps(path)) == path


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """The state's values with its messages as dicts: what JSON can hold."""
    return {k: (messages_to_dict(v) if k == "messages" else v) for k, v in values.items()}


def test_the_graph_state_is_json_through_a_checkpointer() -> None:
    env = KeyValueStore({"a": "1"})
    saver = InMemorySaver()
    agent = create_slinvit_agent(
        kv_model("SET a 2"),
        env,
        search=SlinvitConfig(k=2, rollouts=1, horizon=2, summarize_answer=False),
        checkpointer=saver,
    )
    config = {"configurable": {"thread_id": "json"}}
    agent.invoke({"messages": [("user", "set a to 2")]}, config)
    paused = agent.get_state(config).values  # mid-decision: candidates, paths, scored, chosen
    agent.invoke(Command(resume=True), config)
    done = agent.get_state(config).values
    for values in (paused, done):
        plain = _plain(values)
        again = json.loads(json.dumps(plain))
        assert again == plain
        assert messages_from_dict(again["messages"]) == values["messages"]
    assert paused["candidates"] and paused["scored"] and paused["chosen"] is not None
    assert paused["chosen"]["actions"] == ["SET a 2"]
    assert Candidate.from_dict(paused["candidates"][0]).action == "SET a 2"
    step = done["steps"][0]
    assert _keys(StepRecord)[0] <= set(step) <= _keys(StepRecord)[1]
    assert done["steps"][0]["observation"]["output"] == "OK"
    # every checkpoint of the thread, not only the last, holds plain data
    for snapshot in agent.get_state_history(config):
        plain = _plain(snapshot.values)
        assert json.loads(json.dumps(plain)) == plain
