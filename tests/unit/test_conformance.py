"""The agent behaves as ``create_agent`` does where a LangGraph user relies on it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableLambda
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import BaseModel

from langgraph_slinvit import SlinvitConfig, build_slinvit_graph, create_slinvit_agent, decide
from langgraph_slinvit.budget import Budget
from langgraph_slinvit.envs import SQLEnvironment
from langgraph_slinvit.policy import Policy
from langgraph_slinvit.presets import preset
from langgraph_slinvit.search import SearchState
from langgraph_slinvit.testing import ScriptedChatModel
from tests.conftest import RIGHT, WRONG, fenced, role_of, scripted

QUESTION = "Which customers never placed an order?"
COUNT = "SELECT count(*) FROM customers"
ROME = "SELECT name FROM customers WHERE city = 'Rome'"


def cfg(**kw) -> SlinvitConfig:
    return SlinvitConfig(**{"k": 1, "rollouts": 0, "summarize_answer": False, **kw})


def bodies(model: ScriptedChatModel) -> list[str]:
    return [str(c["messages"][-1].content) for c in model.calls]


def finish(agent, config) -> dict:
    """Resume past every ``interrupt_before`` pause until the run ends."""
    out = agent.invoke(None, config)
    latest = {"configurable": {"thread_id": config["configurable"]["thread_id"]}}
    for _ in range(10):
        if not agent.get_state(latest).next:
            return out
        out = agent.invoke(None, latest)
    raise AssertionError("the run did not end")


def test_time_travel_runs_the_new_action_instead_of_replaying_the_old_one(shop_db: Path) -> None:
    model = scripted([fenced(RIGHT)])
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        agent = create_slinvit_agent(
            model, env, search=cfg(), checkpointer=InMemorySaver(), interrupt_before=["act"]
        )
        thread = {"configurable": {"thread_id": "travel"}}
        agent.invoke({"messages": [("user", QUESTION)]}, thread)
        before_act = agent.get_state(thread)
        assert before_act.next == ("act",)
        first = finish(agent, thread)
        assert first["steps"][0]["action"] == RIGHT and "Bob" in first["answer"]
        # go back to the checkpoint before act and choose another action there
        chosen = {**before_act.values["chosen"], "actions": [COUNT]}
        forked = agent.update_state(before_act.config, {"chosen": chosen}, as_node="select")
        second = finish(agent, forked)
    step = second["steps"][0]
    assert step["action"] == COUNT
    assert "3" in step["observation"]["output"] and "Bob" not in step["observation"]["output"]


def test_time_travel_to_the_same_action_replays_it_and_another_action_runs(
    shop_db: Path, tmp_path: Path
) -> None:
    model = scripted([fenced(RIGHT)])
    ran: list[str] = []
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        real_step = env.step

        def counted(action: str):
            ran.append(action)
            return real_step(action)

        env.step = counted  # type: ignore[method-assign]
        agent = create_slinvit_agent(
            model,
            env,
            search=cfg(journal_path=str(tmp_path / "journal.sqlite")),
            checkpointer=InMemorySaver(),
            interrupt_before=["act"],
        )
        thread = {"configurable": {"thread_id": "replay"}}
        agent.invoke({"messages": [("user", QUESTION)]}, thread)
        before_act = agent.get_state(thread)
        first = finish(agent, thread)
        assert ran == [RIGHT]
        # resume from the checkpoint before act again, with the same action: the journal replays
        stream = agent.stream(None, before_act.config, stream_mode=["custom", "values"])
        events = [chunk for mode, chunk in stream if mode == "custom"]
        assert ran == [RIGHT]
        assert {"type": "replayed", "action": RIGHT} in events
        replayed = agent.get_state(thread).values
        assert replayed["steps"][0]["observation"] == first["steps"][0]["observation"]
        # the same checkpoint with another action: that action runs, and only it
        chosen = {**before_act.values["chosen"], "actions": [COUNT]}
        finish(agent, agent.update_state(before_act.config, {"chosen": chosen}, as_node="select"))
    assert ran == [RIGHT, COUNT]


def test_a_follow_up_turn_sees_the_earlier_question_actions_and_answer(shop_db: Path) -> None:
    def responder(messages, n):
        return ["SUBMIT"] * n if "Result 1" in str(messages[-1].content) else [fenced(RIGHT)] * n

    model = ScriptedChatModel(responder=responder, calls=[])
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        agent = create_slinvit_agent(model, env, search=cfg(), checkpointer=InMemorySaver())
        thread = {"configurable": {"thread_id": "chat"}}
        agent.invoke({"messages": [("user", QUESTION)]}, thread)
        first_calls = len(model.calls)
        out = agent.invoke({"messages": [("user", "And which of those live in Rome?")]}, thread)
    follow_up = bodies(model)[first_calls]
    assert "Task: And which of those live in Rome?" in follow_up
    assert f"User: {QUESTION}" in follow_up and RIGHT in follow_up and "Bob" in follow_up
    assert len(out["turns"]) == 2 and out["turns"][0]["question"] == QUESTION
    assert len([m for m in out["messages"] if isinstance(m, AIMessage)]) == 2


def test_earlier_turns_are_bounded_by_the_history_budget(shop_db: Path) -> None:
    model = scripted([fenced(RIGHT)])
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        agent = create_slinvit_agent(
            model, env, search=cfg(history_tokens=0), checkpointer=InMemorySaver()
        )
        thread = {"configurable": {"thread_id": "short"}}
        agent.invoke({"messages": [("user", QUESTION)]}, thread)
        n = len(model.calls)
        agent.invoke({"messages": [("user", "And in Rome?")]}, thread)
    assert "Earlier in this conversation" not in bodies(model)[n]


def test_astream_events_v2_with_parallel_branches(shop_db: Path) -> None:
    model = scripted([fenced(WRONG), fenced(RIGHT)])
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        agent = create_slinvit_agent(model, env, search=cfg(k=2, rollouts=1))

        async def collect() -> list[dict]:
            return [
                e
                async for e in agent.astream_events(
                    {"messages": [("user", QUESTION)]}, version="v2"
                )
            ]

        events = asyncio.run(collect())
    kinds = {e["event"] for e in events}
    assert "on_chat_model_start" in kinds and "on_chat_model_end" in kinds
    branches = {
        e["run_id"] for e in events if e["event"] == "on_chain_start" and e["name"] == "rollout"
    }
    assert len(branches) >= 2


def test_the_answer_streams_as_messages_and_the_search_does_not(shop_db: Path) -> None:
    model = scripted([fenced(RIGHT)], summary="Bob never placed an order.")
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        agent = create_slinvit_agent(model, env, search=cfg(summarize_answer=True))
        chunks = list(agent.stream({"messages": [("user", QUESTION)]}, stream_mode="messages"))
    nodes = {meta["langgraph_node"] for _, meta in chunks}
    assert nodes == {"respond"}  # no proposal or rollout was streamed
    text = "".join(str(c.content) for c, _ in chunks)
    assert "Bob never placed an order." in text


def test_input_and_output_schemas_for_studio(shop_db: Path) -> None:
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        agent = create_slinvit_agent(scripted(["x"]), env)
        assert "messages" in agent.get_input_jsonschema()["properties"]
        out = agent.get_output_jsonschema()["properties"]
    assert {"messages", "answer", "steps", "usage", "stop_reason"} <= set(out)


def test_name_system_prompt_and_run_context(shop_db: Path) -> None:
    model = scripted([fenced(RIGHT), fenced(WRONG)])
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        agent = create_slinvit_agent(
            model, env, search=cfg(k=2), name="db_expert", system_prompt="Answer in French."
        )
        out = agent.invoke({"messages": [("user", QUESTION)]}, context={"k": 1})
    assert out["messages"][-1].name == "db_expert"
    assert "Answer in French." in bodies(model)[0]
    assert len(out["steps"]) == 1  # k=1 from the run's context: one candidate, no second branch


def test_a_bad_run_context_is_refused_with_the_field(shop_db: Path) -> None:
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        agent = create_slinvit_agent(scripted([fenced(RIGHT)]), env, search=cfg())
        with pytest.raises(ValueError, match="k"):
            agent.invoke({"messages": [("user", QUESTION)]}, context={"k": 0})


class Names(BaseModel):
    names: list[str]


class StructuredScripted(ScriptedChatModel):
    def with_structured_output(self, schema, **kwargs):  # type: ignore[override]
        return RunnableLambda(lambda messages: schema(names=["Bob"]))


def test_response_format_gives_a_structured_response(shop_db: Path) -> None:
    def responder(messages, n):
        return ["SUBMIT"] * n if role_of(messages) == "act" else [fenced(RIGHT)] * n

    model = StructuredScripted(responder=responder, calls=[])
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        agent = create_slinvit_agent(model, env, search=cfg(), response_format=Names)
        out = agent.invoke({"messages": [("user", QUESTION)]})
    assert out["structured_response"] == Names(names=["Bob"])


def test_search_and_config_are_one_setting(shop_db: Path) -> None:
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        with pytest.raises(TypeError, match="once"):
            create_slinvit_agent(scripted(["x"]), env, search=cfg(), config=cfg())
        with pytest.raises(TypeError, match="SlinvitConfig"):
            create_slinvit_agent(scripted(["x"]), env, search={"k": 2})  # type: ignore[arg-type]
        old = create_slinvit_agent(scripted([fenced(RIGHT)]), env, config=cfg())
        assert old.invoke({"messages": [("user", QUESTION)]})["steps"][0]["action"] == RIGHT


def test_a_database_brings_the_sql_preset_by_default(shop_db: Path) -> None:
    model = scripted([fenced(RIGHT)])
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        assert env.default_settings() == preset("sql")
        out = create_slinvit_agent(model, env).invoke({"messages": [("user", QUESTION)]})
    assert model.calls[0]["n"] == preset("sql").n_samples
    assert out["stop_reason"] == "first_result"


def test_multimodal_content_gives_its_text_as_the_task(shop_db: Path) -> None:
    model = scripted([fenced(RIGHT)])
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    content = [{"type": "text", "text": QUESTION}, image]
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        out = create_slinvit_agent(model, env, search=cfg()).invoke(
            {"messages": [HumanMessage(content)]}
        )
    assert f"Task: {QUESTION}" in bodies(model)[0]
    assert "base64" not in bodies(model)[0] and "{'type'" not in bodies(model)[0]
    assert out["steps"][0]["action"] == RIGHT


def test_one_decision_through_the_graph_and_through_decide_scores_the_same(shop_db: Path) -> None:
    settings = SlinvitConfig(k=2, rollouts=2, horizon=1, summarize_answer=False)

    def model() -> ScriptedChatModel:
        return scripted([fenced(WRONG), fenced(RIGHT), fenced(RIGHT), fenced(ROME)])

    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        agent = build_slinvit_graph(model(), env, search=settings).compile()
        events = list(agent.stream({"messages": [("user", QUESTION)]}, stream_mode="custom"))
        (graph_scores,) = [e["paths"] for e in events if e["type"] == "scores"]
        state = SearchState(task=QUESTION, context=env.describe(), steps=[], horizon_left=1)
        budget = Budget(
            llm_calls=settings.max_llm_calls,
            tokens=settings.max_tokens,
            deadline=float("inf"),
            rollouts=settings.max_rollouts,
        )
        _, scored = decide(env, Policy(model()), state, settings, budget)
    plain = [{k: p[k] for k in ("actions", "prior", "v_hat", "score")} for p in scored]
    assert len(plain) == 2 and plain == graph_scores


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("temperature", -3, "temperature=-3 (must be a number >= 0)"),
        ("retries", -1, "retries=-1 (must be an integer >= 0)"),
        ("k", 2.5, "k=2.5 (must be an integer >= 1)"),
        ("max_seconds", 0, "max_seconds=0 (must be a number > 0)"),
        ("summarize_answer", "yes", "summarize_answer='yes' (must be True or False)"),
    ],
)
def test_invalid_settings_name_the_value_and_the_range(field, value, words) -> None:
    with pytest.raises(ValueError) as caught:
        SlinvitConfig(**{field: value})
    assert words in str(caught.value)
