"""What the policy accepts as a model, and how it samples from models without ``n``."""

from __future__ import annotations

import logging
import math
import threading
import time

import pytest
from langchain_core.messages import HumanMessage

from langgraph_slinvit.budget import Budget, BudgetExhausted
from langgraph_slinvit.models import ResolvedModel, resolve_model
from langgraph_slinvit.policy import Policy
from langgraph_slinvit.testing import ScriptedChatModel

Q = [HumanMessage("q")]


def budget(calls: int = 50) -> Budget:
    return Budget(llm_calls=calls, tokens=10**6, deadline=math.inf)


class SlowSingle(ScriptedChatModel):
    """No ``n``; each request sleeps, and the most requests in flight at once are recorded."""

    supports_n_samples: bool = False
    in_flight: int = 0
    peak: int = 0

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        lock = _LOCK
        with lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        time.sleep(0.2)
        try:
            return super()._generate(messages, stop, run_manager, **kwargs)
        finally:
            with lock:
                self.in_flight -= 1


_LOCK = threading.Lock()


def test_n_single_requests_go_out_concurrently_and_count_n():
    model = SlowSingle(responder=lambda m, n: ["x"] * n)
    b = budget()
    samples = Policy(model).sample(Q, 4, b)
    assert [s.text for s in samples] == ["x"] * 4
    assert model.peak == 4
    assert all(c["n"] == 1 for c in model.calls) and len(model.calls) == 4
    assert b.spent["llm_calls"] == 4


def test_one_request_with_n_counts_once():
    b = budget()
    Policy(ScriptedChatModel(responder=lambda m, n: ["y"] * n)).sample(Q, 5, b)
    assert b.spent["llm_calls"] == 1


def test_budget_refuses_n_single_requests_that_do_not_fit_before_sending_any():
    model = SlowSingle(responder=lambda m, n: ["x"] * n)
    with pytest.raises(BudgetExhausted):
        Policy(model).sample(Q, 4, budget(calls=3))
    assert model.calls == []


def test_fewer_choices_than_n_warns_once(caplog):
    model = ScriptedChatModel(responder=lambda m, n: ["only one"])
    policy = Policy(model)
    with caplog.at_level(logging.WARNING, logger="langgraph_slinvit.policy"):
        assert len(policy.sample(Q, 3, budget())) == 1
        policy.sample(Q, 3, budget())
    warnings = [r for r in caplog.records if "choices when asked for n=3" in r.getMessage()]
    assert len(warnings) == 1


def test_a_binding_is_unwrapped_and_its_settings_merged():
    model = ScriptedChatModel(responder=lambda m, n: ["z"] * n)
    policy = Policy(model.bind(user="ada", top_p=0.5))
    assert policy.model is model
    assert len(policy.sample(Q, 3, budget(), temperature=0.3)) == 3
    kwargs = model.calls[0]["kwargs"]
    assert model.calls[0]["n"] == 3 and kwargs["temperature"] == 0.3
    assert kwargs["user"] == "ada" and kwargs["top_p"] == 0.5


def test_a_provider_string_goes_through_init_chat_model(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    resolved = resolve_model("openai:gpt-4o-mini")
    assert isinstance(resolved, ResolvedModel)
    assert type(resolved.model).__name__ == "ChatOpenAI"
    assert resolved.model.model_name == "gpt-4o-mini"


def test_fallbacks_are_refused_at_build_time_naming_the_type():
    model = ScriptedChatModel(script=["a"])
    with pytest.raises(TypeError, match=r"RunnableWithFallbacks.*Accepted: a LangChain chat"):
        Policy(model.with_fallbacks([ScriptedChatModel(script=["b"])]))


def test_a_configurable_model_is_refused_at_build_time():
    from langchain.chat_models import init_chat_model

    configurable = init_chat_model(configurable_fields=("model", "model_provider"))
    with pytest.raises(TypeError, match="_ConfigurableModel"):
        Policy(configurable)


def test_a_factory_is_resolved_on_first_use_and_what_it_returns_is_checked():
    made = []

    def factory():
        made.append(1)
        return ScriptedChatModel(script=["ok"])

    policy = Policy(factory)
    assert made == []
    assert policy.sample(Q, 1, budget())[0].text == "ok"
    assert made == [1]

    bad = Policy(lambda: "not a model at all: gpt")
    with pytest.raises(Exception, match="gpt"):
        bad.sample(Q, 1, budget())

    wrong = Policy(lambda: 42)
    with pytest.raises(TypeError, match=r"builtins\.int.*Accepted"):
        wrong.sample(Q, 1, budget())


def test_build_slinvit_graph_refuses_a_wrong_model_at_build_time(tmp_path):
    import sqlite3

    from langgraph_slinvit import build_slinvit_graph
    from langgraph_slinvit.envs import SQLEnvironment

    path = tmp_path / "db.sqlite"
    sqlite3.connect(path).executescript("CREATE TABLE t (x INTEGER);").close()
    env = SQLEnvironment(f"sqlite:///{path}")
    model = ScriptedChatModel(script=["a"]).with_fallbacks([ScriptedChatModel(script=["b"])])
    with pytest.raises(TypeError, match="RunnableWithFallbacks"):
        build_slinvit_graph(model, env)
