"""The LLM verifier value: P(Yes) from the first token's log-probabilities, its log-odds in the
score, and a search in which it overrules a majority the LLM itself rejects."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from langgraph_slinvit import SlinvitConfig, create_slinvit_agent, decide
from langgraph_slinvit.budget import Budget
from langgraph_slinvit.envs import SQLEnvironment
from langgraph_slinvit.policy import Policy
from langgraph_slinvit.search import SearchState, score_paths
from langgraph_slinvit.testing import ScriptedChatModel
from langgraph_slinvit.value import VERIFIER_CLIP, VerifierUnavailableError, verifier_value
from tests.conftest import RIGHT, fenced

QUESTION = "Which customers never placed an order?"
EVERYONE = "SELECT name FROM customers"
"""Runs and returns rows, but not the answer: the majority of the samples below."""
ASKS = "Does this result correctly answer the task?"


def budget() -> Budget:
    return Budget(llm_calls=50, tokens=10**6, deadline=float("inf"))


def verifier_model(verdicts: dict[str, dict[str, float]]) -> ScriptedChatModel:
    """Proposes EVERYONE three times and RIGHT once; as a verifier, answers with the
    log-probabilities of ``verdicts[query]`` for the query its prompt shows."""

    def top(messages) -> dict[str, float]:
        body = str(messages[-1].content)
        return next(v for query, v in verdicts.items() if f"\n{query}\n" in body)

    def respond(messages, n):
        if ASKS in str(messages[-1].content):
            best = max(top(messages).items(), key=lambda kv: kv[1])[0]
            return [best.strip()] * n
        return [fenced(EVERYONE)] * 3 + [fenced(RIGHT)] * (n - 3)

    return ScriptedChatModel(responder=respond, top_logprobs=top, calls=[])


YES, NO = {"Yes": -0.1, " No": -2.5}, {"No": -0.1, "Yes": -2.5}


def test_yes_probability_reads_the_first_tokens_alternatives() -> None:
    model = ScriptedChatModel(
        responder=lambda m, n: ["Yes"], calls=[],
        top_logprobs=lambda m: {"Yes": math.log(0.6), " yes": math.log(0.1),
                                "No": math.log(0.2), "Maybe": math.log(0.1)},
    )  # fmt: skip
    p = Policy(model, want_logprobs=False).yes_probability([HumanMessage("q")], budget())
    assert p == pytest.approx(0.7 / 0.9)
    assert model.calls[0]["kwargs"]["top_logprobs"] and model.calls[0]["kwargs"]["logprobs"]
    neither = ScriptedChatModel(responder=lambda m, n: ["Hmm"], top_logprobs=lambda m: {"Hm": 0.0})
    assert Policy(neither).yes_probability([HumanMessage("q")], budget()) == 0.5
    silent = ScriptedChatModel(responder=lambda m, n: ["Yes"])  # no log-probabilities at all
    assert Policy(silent).yes_probability([HumanMessage("q")], budget()) is None


def test_verifier_value_is_clipped_log_odds_and_needs_logprobs() -> None:
    def value(top) -> float:
        model = ScriptedChatModel(responder=lambda m, n: ["Yes"], top_logprobs=lambda m: top)
        return verifier_value(Policy(model), "t", "c", "SELECT 1", "1", "sql", budget())

    assert value({"Yes": math.log(0.8), "No": math.log(0.2)}) == pytest.approx(math.log(4))
    assert value({"Yes": 0.0}) == VERIFIER_CLIP
    assert value({"No": -1e-9, "Yes": -30.0}) == -VERIFIER_CLIP
    with pytest.raises(VerifierUnavailableError, match="log-probabilities"):
        verifier_value(
            Policy(ScriptedChatModel(responder=lambda m, n: ["Yes"])),
            "t", "c", "SELECT 1", "1", "sql", budget(),
        )  # fmt: skip


def test_score_adds_the_weighted_log_odds_of_each_rollouts_result() -> None:
    def path(sig: str) -> dict:
        rollout = {"actions": ["a"], "value": 1.0, "signature": sig, "source": "feedback",
                   "output": ""}  # fmt: skip
        return {"actions": ["a"], "p_llm": [0.5], "leaf_output": "", "critic": None,
                "rollouts": [rollout], "stopped_by": None}  # fmt: skip

    cfg = SlinvitConfig(lam=0.0, agreement_weight=0.0, verifier_weight=0.5)
    scored = score_paths([path("r1"), path("r2")], cfg, {"r1": 2.0})
    assert [p["v_hat"] for p in scored] == [2.0, 1.0]  # r2 has no verdict: no term
    assert score_paths([path("r1")], SlinvitConfig(lam=0.0, agreement_weight=0.0))[0][
        "v_hat"
    ] == 1.0


def test_the_verifier_overrules_a_majority_it_rejects(shop_db: Path) -> None:
    verdicts = {RIGHT: YES, EVERYONE: NO}
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        state = SearchState(task=QUESTION, context=env.describe(), steps=[], horizon_left=3)
        base = SlinvitConfig(k=2, samples=4, rollouts=0, p_llm="agreement", agreement_weight=1.0)
        plain, _ = decide(env, Policy(verifier_model(verdicts)), state, base, budget())
        model = verifier_model(verdicts)
        spent = budget()
        with_verifier = SlinvitConfig(**{**base.to_dict(), "verifier_weight": 1.0})
        best, scored = decide(env, Policy(model), state, with_verifier, spent)
    assert plain is not None and plain["actions"] == [EVERYONE]  # agreement alone: the majority
    assert best is not None and best["actions"] == [RIGHT]
    asked = [c for c in model.calls if ASKS in str(c["messages"][-1].content)]
    assert len(asked) == 2  # one request per distinct result
    assert spent.spent["llm_calls"] == 1 + 2
    log_odds = math.log(math.exp(-0.1) / math.exp(-2.5))
    right = next(p for p in scored if p["actions"] == [RIGHT])
    assert right["v_hat"] == pytest.approx(1.0 + 0.25 + log_odds)


def test_the_agent_graph_verifies_and_counts_the_requests(shop_db: Path) -> None:
    model = verifier_model({RIGHT: YES, EVERYONE: NO})
    cfg = SlinvitConfig(k=2, samples=4, rollouts=0, horizon=1, p_llm="agreement",
                        agreement_weight=1.0, verifier_weight=1.0)  # fmt: skip
    with SQLEnvironment(f"sqlite:///{shop_db}") as env:
        agent = create_slinvit_agent(model, env, config=cfg)
        events = list(agent.stream({"messages": [("user", QUESTION)]}, stream_mode="custom"))
        out = agent.invoke({"messages": [("user", QUESTION)]})
    verified = [e for e in events if e["type"] == "verified"]
    assert len(verified) == 1 and len(verified[0]["results"]) == 2
    assert out["steps"][0]["action"] == RIGHT
    asked = [c for c in model.calls if ASKS in str(c["messages"][-1].content)]
    assert out["usage"]["llm_calls"] >= 1 + 2 and len(asked) == 4  # 2 per run, two runs
