"""A leaf's rollouts in threads (``rollout_workers``): the same records as one after another,
really at the same time, only for environments that allow it, within the budget, and with the
run's callbacks on every model call made in a thread."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage

from langgraph_slinvit import SlinvitConfig, create_slinvit_agent
from langgraph_slinvit.budget import Budget
from langgraph_slinvit.envs import ActionSyntax, Observation, SQLEnvironment, parallel_forks_of
from langgraph_slinvit.policy import Policy
from langgraph_slinvit.search import Hooks, SearchState, rollout_values
from langgraph_slinvit.testing import ScriptedChatModel

COUNTER_SYNTAX = ActionSyntax(name="counter", bare=r"add \d+$")


class Counter:
    """Actions ``add N``; the observation is the running total."""

    action_syntax = COUNTER_SYNTAX

    def __init__(self, total: int = 0, parallel: bool = True) -> None:
        self.total, self.parallel = total, parallel
        self.closed = False

    def describe(self) -> str:
        return "A counter at 0. Reach 7."

    def step(self, action: str) -> Observation:
        match = re.fullmatch(r"add (\d+)", action.strip())
        if match is None:
            return Observation(output=f"cannot run {action!r}", ok=False, error="syntax")
        self.total += int(match.group(1))
        return Observation(output=str(self.total), signature=str(self.total))

    def fork(self) -> Counter:
        return Counter(self.total, self.parallel)

    def feedback_value(self, obs: Observation) -> float:
        return 1.0 if obs.signature == "7" else 0.2

    def close(self) -> None:
        self.closed = True

    def parallel_forks(self) -> bool:
        return self.parallel


class InFlight:
    """A responder that takes ``delay`` seconds and counts the requests running at once."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay, self.now, self.most = delay, 0, 0
        self._lock = threading.Lock()

    def __call__(self, messages: Sequence[BaseMessage], n: int) -> list[str]:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(self.delay)
        with self._lock:
            self.now -= 1
        done = len(re.findall(r"^Result \d+:", str(messages[-1].content), re.M))
        if n > 1:  # the rollouts' first actions: each rollout its own
            return [f"add {i + 1}" for i in range(n)]
        return ["SUBMIT"] if done >= 3 else [f"add {done + 1}"]


def run_rollouts(env: Counter, responder: InFlight, workers: int, calls: int = 50):
    config = SlinvitConfig(rollouts=4, rollout_horizon=3, horizon=6, rollout_workers=workers)
    state = SearchState(task="Reach 7.", context=env.describe(), steps=[], horizon_left=6)
    budget = Budget(llm_calls=calls, tokens=10**6, deadline=float("inf"))
    model = ScriptedChatModel(responder=responder, calls=[])
    records, stopped = rollout_values(env, Policy(model), state, [], 3, config, budget, Hooks())
    return records, stopped, budget, model


def test_threads_give_the_same_rollouts_in_the_same_order() -> None:
    one, _, spent_one, _ = run_rollouts(Counter(), InFlight(), workers=1)
    four, _, spent_four, _ = run_rollouts(Counter(), InFlight(), workers=4)
    assert one == four
    assert [r["actions"][0] for r in four] == ["add 1", "add 2", "add 3", "add 4"]
    # add i, then add 2 and add 3 (the rollout after "add 2" stops there: a repeated action)
    assert [r["signature"] for r in four] == ["6", "2", "8", "9"]
    assert spent_one.spent == spent_four.spent


def test_rollouts_run_at_the_same_time_with_workers() -> None:
    sequential, parallel = InFlight(delay=0.05), InFlight(delay=0.05)
    run_rollouts(Counter(), sequential, workers=1)
    run_rollouts(Counter(), parallel, workers=4)
    assert sequential.most == 1
    assert parallel.most == 4


def test_an_environment_without_parallel_forks_rolls_out_one_at_a_time() -> None:
    responder = InFlight(delay=0.02)
    records, _, _, _ = run_rollouts(Counter(parallel=False), responder, workers=4)
    assert responder.most == 1 and len(records) == 4
    assert parallel_forks_of(Counter(parallel=False)) is False
    assert parallel_forks_of(object()) is False  # the default for an environment without it


def test_parallel_rollouts_stay_within_the_call_budget() -> None:
    records, stopped, budget, model = run_rollouts(Counter(), InFlight(), workers=4, calls=4)
    assert stopped == "max_llm_calls"
    assert budget.spent["llm_calls"] == len(model.calls) <= 4
    assert len(records) == 4  # every rollout that started is valued, however short


def test_sqlite_forks_may_run_at_once() -> None:
    env = SQLEnvironment("sqlite://")
    try:
        fork = env.fork()
        assert parallel_forks_of(env) and parallel_forks_of(fork)
        fork.close()
    finally:
        env.close()


class Starts(BaseCallbackHandler):
    def __init__(self) -> None:
        self.nodes: list[str | None] = []
        self._lock = threading.Lock()

    def on_chat_model_start(self, serialized, messages, *, metadata=None, **kwargs) -> None:
        with self._lock:
            self.nodes.append((metadata or {}).get("langgraph_node"))


@pytest.mark.parametrize("workers", [1, 3])
def test_callbacks_see_every_model_call_made_in_a_rollout_thread(workers: int) -> None:
    responder = InFlight()
    model = ScriptedChatModel(responder=responder, calls=[])
    config = SlinvitConfig(
        k=2,
        rollouts=3,
        rollout_horizon=2,
        horizon=2,
        rollout_workers=workers,
        summarize_answer=False,
    )
    agent = create_slinvit_agent(model, Counter(), search=config)
    starts = Starts()
    agent.invoke({"messages": [("user", "Reach 7.")]}, {"callbacks": [starts]})
    assert len(model.calls) > 3  # proposals and rollout steps
    assert len(starts.nodes) == len(model.calls)
    assert None not in starts.nodes  # every call carries the node it was made in


def test_every_proposal_and_rollout_request_carries_the_reply_cap() -> None:
    from langgraph_slinvit.search import propose_here

    config = SlinvitConfig(rollouts=2, rollout_horizon=3, horizon=6, reply_tokens=24)
    env = Counter()
    state = SearchState(task="Reach 7.", context=env.describe(), steps=[], horizon_left=6)
    budget = Budget(llm_calls=50, tokens=10**6, deadline=float("inf"))
    model = ScriptedChatModel(responder=InFlight(), calls=[])
    policy = Policy(model)
    rollout_values(env, policy, state, [], 3, config, budget, Hooks())
    propose_here(
        policy, env, config, task="Reach 7.", context="", steps=[], budget=budget, choices=None
    )
    assert len(model.calls) > 3  # the rollouts' first actions, their next steps, a proposal
    assert {c["kwargs"].get("max_tokens") for c in model.calls} == {24}
