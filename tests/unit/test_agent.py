"""The SLINVIT graph driven by a scripted model over a real (temporary) SQLite file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from langgraph_slinvit import ModelEndpointError, SlinvitConfig, create_slinvit_agent, decide
from langgraph_slinvit.budget import Budget
from langgraph_slinvit.envs import SQLEnvironment
from langgraph_slinvit.policy import Policy
from langgraph_slinvit.search import SearchState
from langgraph_slinvit.testing import ScriptedChatModel
from tests.conftest import RIGHT, WRONG, fenced, scripted

QUESTION = "Which customers never placed an order?"


def run(agent, question: str = QUESTION, **kw):
    return agent.invoke({"messages": [("user", question)]}, **kw)


def test_value_overrules_a_more_probable_failing_candidate(shop_db: Path) -> None:
    # 3 of 4 samples propose a query that fails; SLINVIT must still act with the one that runs
    model = scripted([fenced(WRONG), fenced(WRONG), fenced(WRONG), fenced(RIGHT)])
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        agent = create_slinvit_agent(model, env, config=SlinvitConfig(k=2, rollouts=1, lam=0.5))
        out = run(agent)
    assert [s["action"] for s in out["steps"]] == [RIGHT]
    assert out["stop_reason"] == "submitted"
    assert "Bob" in out["answer"] and out["messages"][-1].content == out["answer"]
    usage = out["usage"]
    assert usage["env_steps"] == 1 and usage["rollouts"] == 2
    assert usage["llm_calls"] == len(model.calls)
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["seconds"] > 0


def test_lambda_large_follows_the_llm(shop_db: Path) -> None:
    model = scripted([fenced(WRONG)] * 3 + [fenced(RIGHT)])
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        agent = create_slinvit_agent(
            model, env, config=SlinvitConfig(k=2, rollouts=1, lam=100.0, horizon=1)
        )
        out = run(agent)
    assert out["steps"][0]["action"] == WRONG
    assert out["stop_reason"] == "horizon"


def test_llm_call_budget_stops_cleanly_with_best_result(shop_db: Path) -> None:
    # the model never submits nor repeats itself: only the budget can end this run
    def responder(messages, n):
        body = str(messages[-1].content)
        if "Answer the task" in body:
            return ["Bob."] * n
        done = body.count("Result ")
        return [fenced(f"{RIGHT} AND {done} = {done}")] * n

    model = ScriptedChatModel(responder=responder, calls=[])
    cfg = SlinvitConfig(k=2, rollouts=1, horizon=50, max_llm_calls=7, summarize_answer=True)
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        out = run(create_slinvit_agent(model, env, config=cfg))
    assert out["stop_reason"] == "max_llm_calls"
    assert out["usage"]["llm_calls"] <= 7
    assert len(model.calls) == out["usage"]["llm_calls"]
    assert "max_llm_calls" in out["answer"] and "Bob" in out["answer"]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("max_tokens", 50, "max_tokens"),
        ("max_seconds", 1e-9, "max_seconds"),
        ("horizon", 1, "horizon"),
    ],
)
def test_other_budgets_stop_the_run(shop_db: Path, field: str, value: float, reason: str) -> None:
    model = scripted([fenced(RIGHT)], after=fenced(RIGHT))
    cfg = SlinvitConfig(**{"k": 1, "rollouts": 1, "horizon": 20, field: value})
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        out = run(create_slinvit_agent(model, env, config=cfg))
    assert out["stop_reason"] == reason
    assert out["messages"][-1].type == "ai"


def test_state_survives_checkpointer_round_trip(shop_db: Path) -> None:
    model = scripted([fenced(RIGHT), fenced(WRONG)])
    saver = InMemorySaver()
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        agent = create_slinvit_agent(model, env, config=SlinvitConfig(k=2), checkpointer=saver)
        cfg = {"configurable": {"thread_id": "t1"}}
        out = run(agent, config=cfg)
        snapshot = agent.get_state(cfg)
        # every value in the state serializes and comes back equal
        serde = JsonPlusSerializer()
        for key, value in snapshot.values.items():
            assert serde.loads_typed(serde.dumps_typed(value)) == value, key
        json.dumps({k: v for k, v in snapshot.values.items() if k != "messages"})
        assert snapshot.values["tree"][0]["id"] == "root"
        assert any(n.get("chosen") for n in snapshot.values["tree"])
        # a second question on the same thread is a new episode that keeps the conversation
        out2 = run(agent, "And which customers did order?", config=cfg)
    assert len(out2["messages"]) == 4
    assert isinstance(out2["messages"][2], HumanMessage)
    assert isinstance(out2["messages"][3], AIMessage)
    assert out["usage"]["llm_calls"] > 0 and out2["usage"]["llm_calls"] > 0


def test_stream_shows_the_search(shop_db: Path) -> None:
    model = scripted([fenced(RIGHT), fenced(WRONG)])
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        agent = create_slinvit_agent(model, env, config=SlinvitConfig(k=2, rollouts=1))
        events = list(agent.stream({"messages": [("user", QUESTION)]}, stream_mode="custom"))
    kinds = [e["type"] for e in events]
    for kind in ("candidates", "rollout", "scores", "choice", "action", "submit", "answer"):
        assert kind in kinds
    first = next(e for e in events if e["type"] == "candidates")
    assert {c["action"] for c in first["candidates"]} == {RIGHT, WRONG}


async def _ainvoke(agent):
    return await agent.ainvoke({"messages": [("user", QUESTION)]})


def test_async_invoke(shop_db: Path) -> None:
    import asyncio

    model = scripted([fenced(RIGHT)])
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        out = asyncio.run(_ainvoke(create_slinvit_agent(model, env)))
    assert out["steps"][0]["action"] == RIGHT


def test_graph_shape_snapshot(shop_db: Path) -> None:
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        graph = create_slinvit_agent(scripted(["x"]), env).get_graph(xray=True)
    edges = sorted((e.source, e.target, e.conditional) for e in graph.edges)
    assert edges == sorted(
        [
            ("__start__", "start", False),
            ("start", "propose", False),
            ("propose", "rollout", True),
            ("propose", "respond", True),
            ("propose", "propose", True),
            ("rollout", "score", False),
            ("score", "select", False),
            ("select", "act", False),
            ("act", "propose", True),
            ("act", "respond", True),
            ("respond", "__end__", False),
        ]
    )


def test_plain_python_decide_matches_the_method(shop_db: Path) -> None:
    model = scripted([fenced(WRONG), fenced(RIGHT)])
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        state = SearchState(task=QUESTION, context=env.describe(), steps=[], horizon_left=3)
        best, scored = decide(
            env,
            Policy(model),
            state,
            SlinvitConfig(k=2, rollouts=2),
            Budget(llm_calls=50, tokens=10**6, deadline=float("inf")),
        )
    assert best is not None and best["actions"] == [RIGHT]
    assert len(scored) == 2
    for p in scored:
        assert p["score"] == pytest.approx(p["prior"] + p["v_hat"])


def test_endpoint_errors_are_retried_then_reported(shop_db: Path) -> None:
    flaky = scripted([fenced(RIGHT)])
    flaky.fail_times = 2
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        agent = create_slinvit_agent(flaky, env, config=SlinvitConfig(retry_backoff=0.01))
        out = run(agent)
        assert out["steps"][0]["action"] == RIGHT  # two failures were retried
        down = ScriptedChatModel(script=[], fail_times=100, calls=[])
        agent = create_slinvit_agent(
            down, env, config=SlinvitConfig(max_seconds=30, retry_backoff=0.01)
        )
        with pytest.raises(ModelEndpointError, match="after 4 attempts"):
            run(agent)


def test_missing_database_file_is_a_clear_error(tmp_path: Path) -> None:
    from langgraph_slinvit.envs import SQLEnvironmentError

    with pytest.raises(SQLEnvironmentError, match="not found"):
        SQLEnvironment(f"sqlite:///{tmp_path / 'nope.db'}")
    bad = tmp_path / "bad.db"
    bad.write_text("not a database at all" * 100)
    with pytest.raises(SQLEnvironmentError, match="not a usable SQLite"):
        SQLEnvironment(f"sqlite:///{bad}")


def test_read_only_real_database_refuses_writes(shop_db: Path) -> None:
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        obs = env.step("DELETE FROM orders")
        assert obs.refused and "read-only" in obs.output
        assert env.step("SELECT count(*) FROM orders").output.splitlines()[1] == "3"
    conn = sqlite3.connect(shop_db)
    assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 3


RIGHT_TOO = (
    "SELECT c.name FROM customers c LEFT JOIN orders o ON o.customer_id = c.id WHERE o.id IS NULL"
)
OTHER = "SELECT name FROM customers WHERE city = 'Oslo'"
WANDERING = [
    OTHER,
    "SELECT name FROM customers WHERE city = 'Rome'",
    "SELECT city FROM customers",
    "SELECT id FROM customers",
]


def _explores_after_a_good_result(messages, n):
    """Decision 1: three of four samples reach Bob, one says Oslo; decision 2: four samples
    wander to four different results (Oslo first); then stop."""
    body = str(messages[-1].content)
    if "Answer the task" in body:
        return ["Bob."] * n
    if "Result 2" in body:
        return ["SUBMIT"] * n
    if "Result 1" in body:
        return [fenced(q) for q in WANDERING][:n]
    return [fenced(q) for q in (RIGHT, RIGHT_TOO, OTHER, RIGHT)][:n]


def _scripted_run(db: Path, responder, **knobs):
    """Run the agent without rollouts (value = result plus agreement) on a scripted model."""
    cfg = SlinvitConfig(samples=4, rollouts=0, p_llm="agreement", summarize_answer=False, **knobs)
    model = ScriptedChatModel(responder=responder, calls=[])
    with SQLEnvironment(f"sqlite:///{db}") as env:
        return run(create_slinvit_agent(model, env, config=cfg)), model


@pytest.mark.parametrize(("rule", "expected"), [("best", 0), ("last", 1)])
def test_answer_rests_on_the_best_valued_result(shop_db: Path, rule: str, expected: int) -> None:
    # without rollouts the value of a step is its own result plus agreement (the share of the
    # samples reaching the same result): Bob (3 of 4) is valued above Oslo (1 of the 3 kept
    # candidates), which the model ran afterwards; the unanimous SUBMIT raises neither
    out, _ = _scripted_run(shop_db, _explores_after_a_good_result, k=3, answer_from=rule)
    assert [s["action"] for s in out["steps"]] == [RIGHT, OTHER]
    assert out["stop_reason"] == "submitted"
    first, second = (s["value"] for s in out["steps"])
    assert first == pytest.approx(1 + 0.5 * 3 / 4)
    assert second == pytest.approx(1 + 0.5 / 3, abs=1e-4)
    assert out["answer_step"] == expected
    assert ("Bob" in out["answer"]) == (rule == "best")
    assert ("Ann" in out["answer"]) == (rule == "last")


def test_no_gain_stops_instead_of_acting_on_a_lower_valued_result(shop_db: Path) -> None:
    # the same episode as above: at decision 2 the best candidate (Oslo, agreement 1/3) is
    # valued below Bob (3/4), already in hand, so no_gain answers with Bob and runs nothing more
    out, model = _scripted_run(shop_db, _explores_after_a_good_result, k=3, stop_when="no_gain")
    assert [s["action"] for s in out["steps"]] == [RIGHT]
    assert out["stop_reason"] == "no_gain"
    assert out["answer_step"] == 0 and "Bob" in out["answer"] and "stopped" not in out["answer"]
    assert len(model.calls) == 2  # two proposals; decision 3's request is never made


def _agrees_more_on_the_second_try(messages, n):
    """Decision 1: four samples, four results; decision 2: every sample reaches Bob; then stop."""
    body = str(messages[-1].content)
    if "Result 2" in body:
        return ["SUBMIT"] * n
    if "Result 1" in body:
        return [fenced(RIGHT_TOO)] * n
    return [fenced(q) for q in WANDERING][:n]


def test_no_gain_goes_on_while_the_search_values_the_next_result_higher(shop_db: Path) -> None:
    out, _ = _scripted_run(shop_db, _agrees_more_on_the_second_try, k=4, stop_when="no_gain")
    assert [s["action"] for s in out["steps"]] == [OTHER, RIGHT_TOO]
    assert [s["value"] for s in out["steps"]] == pytest.approx([1.125, 1.5])
    assert out["stop_reason"] == "submitted"
    assert out["answer_step"] == 1 and "Bob" in out["answer"]


WRONG_TOO = "SELECT nam FROM customers"  # fails: no such column


def _repeats_its_error_unless_asked_to_correct_it(messages, n):
    """The first query fails (no such table); shown as the last step of a trajectory, the
    model repeats it; asked to correct it (the failure, its hint and the read-only note), it
    writes the fix."""
    body = str(messages[-1].content)
    if "Result 2" in body:
        return ["SUBMIT"] * n
    if f"This query failed:\n```sql\n{WRONG}\n```" in body and "Hint: no table customer" in body:
        assert body.endswith("The database is read-only: only SELECT works.")
        assert "SUBMIT" not in str(messages[0].content)
        return [fenced(RIGHT)] * n
    return [fenced(WRONG)] * n


def _fails_twice_then_fixes(messages, n):
    """Decision 1: a query that fails; decision 2: another that fails; decision 3: the fix."""
    body = str(messages[-1].content)
    if "Result 3" in body:
        return ["SUBMIT"] * n
    if WRONG_TOO in body:
        return [fenced(RIGHT)] * n
    if WRONG in body:
        return [fenced(WRONG_TOO)] * n
    return [fenced(WRONG)] * n


def test_a_repeated_error_counts_as_submit_and_ends_the_episode(shop_db: Path) -> None:
    out, model = _scripted_run(
        shop_db, _repeats_its_error_unless_asked_to_correct_it, k=2, stop_when="no_gain"
    )
    actions = [s["action"] for s in out["steps"]]
    asked = [str(c["messages"][-1].content) for c in model.calls]
    # SUBMIT on a failed action submits no result: the episode says so
    assert actions == [WRONG] and out["stop_reason"] == "no_result"
    assert "Bob" not in out["answer"]
    assert not any("failed:" in body for body in asked)


def test_no_gain_counts_an_error_as_a_result_in_hand(shop_db: Path) -> None:
    # decision 2's only candidate fails in its fork too (value 0, as the error in hand): no_gain
    # stops there, with nothing to answer
    out, _ = _scripted_run(shop_db, _fails_twice_then_fixes, k=1, stop_when="no_gain")
    actions = [s["action"] for s in out["steps"]]
    assert actions == [WRONG] and out["stop_reason"] == "no_gain"
    assert "Bob" not in out["answer"]


def test_first_result_answers_with_the_first_result_instead_of_exploring(shop_db: Path) -> None:
    # the episode of the no_gain test: Bob comes back at decision 1, and first_result stops
    # there without asking the model again (no_gain would ask, and decline Oslo)
    out, model = _scripted_run(
        shop_db, _explores_after_a_good_result, k=3, stop_when="first_result"
    )
    assert [s["action"] for s in out["steps"]] == [RIGHT]
    assert out["stop_reason"] == "first_result"
    assert out["answer_step"] == 0 and "Bob" in out["answer"] and "stopped" not in out["answer"]
    assert len(model.calls) == 1


def _finds_nobody_then_explores(messages, n):
    """Decision 1: a query that runs and returns no rows; decision 2: Bob."""
    body = str(messages[-1].content)
    if "Result 1" in body:
        return [fenced(RIGHT)] * n
    return [fenced("SELECT name FROM customers WHERE city = 'Nowhere'")] * n


def test_first_result_counts_an_empty_result_as_a_result(shop_db: Path) -> None:
    out, model = _scripted_run(shop_db, _finds_nobody_then_explores, k=1, stop_when="first_result")
    assert len(out["steps"]) == 1 and out["steps"][0]["observation"]["empty"]
    assert out["stop_reason"] == "first_result" and len(model.calls) == 1


def test_invalid_stop_rule_is_refused() -> None:
    rule = r"stop_when='never' \(must be one of 'submit', 'no_gain', 'first_result'\)"
    with pytest.raises(ValueError, match=rule):
        SlinvitConfig(stop_when="never")  # type: ignore[arg-type]


def test_invalid_answer_rule_is_refused() -> None:
    with pytest.raises(ValueError, match=r"answer_from=.* \(must be one of .best., .last.\)"):
        SlinvitConfig(answer_from="first")  # type: ignore[arg-type]


def _fails_at_first(messages, n):
    """The first request's samples are two failing queries; fresh samples of the task (a later
    request) give the query that runs; after a result, SUBMIT."""
    body = str(messages[-1].content)
    if "Result 1" in body:
        return ["SUBMIT"] * n
    _fails_at_first.calls += 1
    if _fails_at_first.calls == 1:
        return [fenced(WRONG), fenced(WRONG_TOO)] * (n // 2)
    return [fenced(RIGHT)] * n


@pytest.fixture(autouse=True)
def _reset_fails_at_first() -> None:
    _fails_at_first.calls = 0


def test_a_failure_in_every_fork_runs_for_real_when_it_is_the_best_path(shop_db: Path) -> None:
    out, _ = _scripted_run(shop_db, _fails_at_first, k=2, stop_when="first_result")
    assert out["steps"][0]["action"] in (WRONG, WRONG_TOO)
    assert out["steps"][0]["observation"]["ok"] is False
