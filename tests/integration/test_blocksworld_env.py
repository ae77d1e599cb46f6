"""BlocksWorldEnvironment on the 57 four-step tasks of the SLINVIT paper, and a SLINVIT run."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import pytest
from langchain_core.messages import BaseMessage

from langgraph_slinvit import SlinvitConfig, create_slinvit_agent
from langgraph_slinvit.bench.task_envs.blocksworld import (
    BlocksWorldEnvironment,
    rule_value_hook,
    success,
)
from langgraph_slinvit.bench.task_envs.blocksworld_pddl import (
    load_bw_config,
    parse_plan,
    render_action,
    shortest_plan,
)
from langgraph_slinvit.bench.tasks import load_blocksworld_tasks
from langgraph_slinvit.envs.base import Environment
from langgraph_slinvit.testing import ScriptedChatModel
from langgraph_slinvit.value import ValueContext

TASKS = load_blocksworld_tasks(4)
COLOURS = load_bw_config().encoded_objects


def pddl_with_colours(action) -> str:
    """``(unstack d a)`` -> ``(unstack yellow red)``."""
    return "(" + " ".join([action.name, *(COLOURS[b].split()[0] for b in action.args)]) + ")"


def test_the_paper_has_57_four_step_tasks() -> None:
    assert len(TASKS) == 57


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.task_id)
def test_gold_plan_reaches_the_goal_and_validates(task) -> None:
    env = BlocksWorldEnvironment(task)
    gold = parse_plan(task.gold_plan)
    assert env.value() < 1.0
    values = [env.value()]
    for i, action in enumerate(gold):
        text = render_action(action, env.config)
        assert text in env.legal_action_texts()  # the exact phrasing is offered
        # the phrasings step() accepts: as offered, shouted with a period, PDDL with colours
        variant = [text, text.upper() + ".", pddl_with_colours(action), str(action)][i % 4]
        obs = env.step(variant)
        assert obs.ok, obs.output
        assert obs.details["plan_length"] == i + 1
        assert obs.details["goal_reached"] == (i == len(gold) - 1)
        values.append(env.feedback_value(obs))
    assert env.goal_reached and success(env)
    assert "The goal is reached" in obs.output
    # the rule value rises on the last step, to exactly 1.0 at the goal and below it before
    assert values[-1] == 1.0 and values[-2] < 1.0
    assert all(0.0 <= v < 1.0 for v in values[:-1])
    ctx = ValueContext(task="", actions=[], observation=obs, env=env)
    assert rule_value_hook(ctx) == 1.0


def test_illegal_and_unparsable_actions_leave_the_state() -> None:
    env = BlocksWorldEnvironment(TASKS[0])
    before = env.state
    for action in ("stack the red block on top of the blue block", "fly the red block to Oslo"):
        obs = env.step(action)
        assert not obs.ok and obs.error
        assert obs.output.startswith("Illegal action: ")
        assert "Legal actions: " in obs.output
        assert env.feedback_value(obs) == 0.0
        assert env.state == before and env.plan == []
    first = env.legal_action_texts()[0]
    assert first in env.step("stack the red block on top of the blue block").output


def test_fork_is_isolated() -> None:
    env = BlocksWorldEnvironment(TASKS[1])
    assert isinstance(env, Environment)
    gold = parse_plan(TASKS[1].gold_plan)
    env.step(str(gold[0]))
    fork = env.fork()
    before = env.state
    for action in gold[1:]:
        assert fork.step(str(action)).ok
    assert fork.goal_reached and success(fork)
    assert env.state == before and len(env.plan) == 1 and not success(env)
    assert fork.fork().plan == fork.plan


def test_success_validates_the_plan_not_the_state() -> None:
    env = BlocksWorldEnvironment(TASKS[2])
    for action in parse_plan(TASKS[2].gold_plan):
        env.step(str(action))
    assert env.goal_reached and success(env)
    env.plan = env.plan[1:]  # a plan that does not get there, with the goal state kept
    assert env.goal_reached and not success(env)


_ACTION = re.compile(r"Action \d+:\n```text\n(.*?)\n```", re.DOTALL)


def planner_model(task) -> ScriptedChatModel:
    """Replays the prompt's actions, then proposes the next step of a shortest plan (or SUBMIT
    at the goal), plus a legal distractor with fewer votes."""

    def responder(messages: Sequence[BaseMessage], n: int) -> list[str]:
        body = str(messages[-1].content)
        if "Score:" in body or "Answer the task" in body:
            return ["Score: 5"] * n
        env = BlocksWorldEnvironment(task)
        for action in _ACTION.findall(body):
            env.step(action)
        if env.goal_reached:
            return ["SUBMIT"] * n
        best = render_action(shortest_plan(replace(env.problem, init=env.state))[0])
        other = next((a for a in env.legal_action_texts() if a != best), best)
        replies = [f"```text\n{best}\n```"] * (n - 1) + [f"```text\n{other}\n```"]
        return replies[:n]

    return ScriptedChatModel(responder=responder, calls=[])


@pytest.mark.parametrize("stop_when", ["submit", "no_gain"])
def test_slinvit_run_reaches_the_goal(stop_when: str) -> None:
    # no_gain must not stop it: the rollouts value states beyond the step, none is in hand
    task = TASKS[3]
    env = BlocksWorldEnvironment(task)
    config = SlinvitConfig(
        k=2,
        depth=1,
        rollouts=1,
        horizon=8,
        rollout_horizon=4,
        samples=4,
        summarize_answer=False,
        max_llm_calls=200,
        stop_when=stop_when,
    )
    agent = create_slinvit_agent(planner_model(task), env, config=config, value_fn=rule_value_hook)
    final = agent.invoke({"messages": [("user", "Reach the goal configuration of the blocks.")]})
    assert final["stop_reason"] == "terminal"  # reaching the goal ends the episode
    assert env.goal_reached and success(env)
    assert len(env.plan) == task.optimal_length


def test_slinvit_maps_prose_onto_legal_actions_and_looks_ahead_with_the_rule_value() -> None:
    """A small model answers in prose ("I will pick up ..."): each reply counts as the legal
    action it names, the second candidate comes from the legal actions (P_LLM 0), depth-2 paths
    are valued by the rule value, and the run stops at the goal without a SUBMIT."""
    task = TASKS[3]
    planner = planner_model(task)

    def prose(messages: Sequence[BaseMessage], n: int) -> list[str]:
        replies = planner.responder(messages, n)
        return [
            f"I think the next step is to {r.strip('`').removeprefix('text').strip()}."
            for r in replies
        ]

    model = ScriptedChatModel(responder=prose, calls=[])
    env = BlocksWorldEnvironment(task)
    config = SlinvitConfig(
        k=2,
        depth=2,
        rollouts=0,
        horizon=8,
        samples=4,
        p_llm="agreement",
        summarize_answer=False,
        max_llm_calls=60,
    )
    agent = create_slinvit_agent(model, env, config=config, value_fn=rule_value_hook)
    final = agent.invoke({"messages": [("user", "Reach the goal configuration of the blocks.")]})
    assert final["stop_reason"] == "terminal"
    assert success(env) and len(env.plan) == task.optimal_length
    # 1 proposal + k expansions per decision, none after the goal
    assert len(model.calls) <= task.optimal_length * 3


@pytest.mark.parametrize("stop_when", ["submit", "no_gain"])
def test_legal_expansion_looks_ahead_without_asking_the_model(stop_when: str) -> None:
    """``expand_from="legal"``: one request per decision (the root's proposals); below the root
    every legal action is tried in forks and valued by the rule value. Even a model that names
    no action then solves a 4-step task, which is why the report gives this no-LLM figure.
    ``no_gain`` does not stop it: a depth-2 value is that of a state two moves ahead, not one
    in hand, so the next decision reaching that state at the same value is no reason to stop."""
    task = TASKS[3]
    model = ScriptedChatModel(responder=lambda m, n: ["I am not sure."] * n, calls=[])
    env = BlocksWorldEnvironment(task)
    config = SlinvitConfig(
        k=4,
        depth=2,
        rollouts=0,
        horizon=8,
        samples=4,
        p_llm="agreement",
        lam=0.02,
        expand_from="legal",
        summarize_answer=False,
        max_llm_calls=20,
        stop_when=stop_when,
    )
    agent = create_slinvit_agent(model, env, config=config, value_fn=rule_value_hook)
    final = agent.invoke({"messages": [("user", "Reach the goal configuration of the blocks.")]})
    assert final["stop_reason"] == "terminal" and success(env)
    assert len(model.calls) == len(env.plan)  # one proposal request per real action
    with pytest.raises(ValueError, match=r"expand_from=.* \(must be one of .policy., .legal.\)"):
        SlinvitConfig(expand_from="everything")  # type: ignore[arg-type]


def _branch(config: SlinvitConfig):
    """One branch below the gold first move of a task, valued with the planner as policy."""
    from langgraph_slinvit.budget import Budget
    from langgraph_slinvit.policy import Policy
    from langgraph_slinvit.proposal import Candidate
    from langgraph_slinvit.search import Hooks, SearchState, evaluate_candidate

    task = TASKS[3]
    env = BlocksWorldEnvironment(task)
    planner = planner_model(task).responder
    # a request for one sample gets the plan's next step (the planner's last sample is a distractor)
    model = ScriptedChatModel(responder=lambda m, n: planner(m, max(n, 2))[:n], calls=[])
    first = render_action(parse_plan(task.gold_plan)[0], env.config)
    state = SearchState(task="Reach the goal.", context=env.describe(), steps=[], horizon_left=8)
    paths = evaluate_candidate(
        env,
        Policy(model),
        state,
        Candidate(first, 1.0, 4),
        config,
        Budget(llm_calls=100, tokens=10**6, deadline=float("inf")),
        Hooks(value_fn=rule_value_hook),
    )
    assert env.plan == []  # the branch ran in forks only
    return paths, model


def test_rollouts_from_the_best_leaves_only() -> None:
    """``rollout_leaves=1``: every depth-2 leaf is valued where it stands, and only the best one
    is rolled out, with its own value kept as one more record; the others cost no request."""
    base = SlinvitConfig(
        k=2, depth=2, expand_from="legal", rollouts=1, rollout_horizon=2, samples=4
    )
    every, every_model = _branch(base)
    best_only, model = _branch(replace(base, rollout_leaves=1))
    assert len(every) == len(best_only) > 2
    assert len(every_model.calls) == 2 * len(every)  # a rollout's first action, one more step
    assert len(model.calls) == 2
    rolled = [p for p in best_only if len(p["rollouts"]) > 1]
    assert len(rolled) == 1
    (path,) = rolled
    here, rollout = path["rollouts"]
    assert here["actions"] == path["actions"] and len(rollout["actions"]) == 4
    leaf_values = [p["rollouts"][0]["value"] for p in best_only]
    assert here["value"] == max(leaf_values)
    # the planner's rollout from the best leaf reaches the goal two moves later
    assert rollout["value"] == 1.0 > here["value"]
    for p in best_only:
        if p is not path:
            assert [r["actions"] for r in p["rollouts"]] == [p["actions"]]


def test_agent_with_rollouts_from_the_best_leaf_reaches_the_goal() -> None:
    """Through the graph: each decision rolls out one leaf per candidate (M=4 samples of one
    request, optimistic aggregation) and the run reaches the goal in the optimal plan length."""
    task = TASKS[3]
    planner = planner_model(task).responder
    model = ScriptedChatModel(responder=lambda m, n: planner(m, max(n, 2))[:n], calls=[])
    env = BlocksWorldEnvironment(task)
    config = SlinvitConfig(
        k=2,
        depth=2,
        expand_from="legal",
        rollouts=4,
        rollout_leaves=1,
        rollout_horizon=1,
        rollout_aggregate="max",
        horizon=6,
        samples=4,
        p_llm="agreement",
        summarize_answer=False,
        max_llm_calls=40,
    )
    agent = create_slinvit_agent(model, env, config=config, value_fn=rule_value_hook)
    final = agent.invoke({"messages": [("user", "Reach the goal configuration of the blocks.")]})
    assert final["stop_reason"] == "terminal"
    assert success(env) and len(env.plan) == task.optimal_length
    # per decision: one proposal, and one rollout request (n=4) for each candidate's best leaf
    assert len(model.calls) <= 3 * task.optimal_length
    assert {c["n"] for c in model.calls} == {4}


def test_rollouts_restricted_to_legal_moves() -> None:
    """``rollout_legal_only``: samples naming a move the state does not allow give no rollout,
    and a rollout ends before such a move; without it the environment refuses the move and the
    rollout counts the leaf's value again."""
    from langgraph_slinvit.budget import Budget
    from langgraph_slinvit.policy import Policy
    from langgraph_slinvit.search import Hooks, SearchState, rollout_values

    task = TASKS[3]
    leaf = BlocksWorldEnvironment(task)
    gold = [render_action(a, leaf.config) for a in parse_plan(task.gold_plan)]
    leaf.step(gold[0])
    legal = leaf.legal_action_texts()
    colours = [c.split()[0] for c in COLOURS.values()]
    illegal = next(
        a
        for c in colours
        for a in (f"pick up the {c} block", f"put down the {c} block")
        if a not in legal
    )
    firsts = [gold[1], illegal, "I would rather think first.", gold[1]]

    def responder(messages: Sequence[BaseMessage], n: int) -> list[str]:
        if n > 1:  # the rollouts' first moves
            return [f"```text\n{a}\n```" for a in firsts[:n]]
        return [f"```text\n{illegal}\n```"]  # every later move is one the state refuses

    def run(legal_only: bool, rollouts: int = 4):
        config = SlinvitConfig(
            rollouts=rollouts, rollout_horizon=2, horizon=6, rollout_legal_only=legal_only
        )
        state = SearchState(
            task="Reach the goal.", context=leaf.describe(), steps=[], horizon_left=6
        )
        budget = Budget(llm_calls=50, tokens=10**6, deadline=float("inf"))
        trajectory = [{"action": gold[0], "observation": {"output": "", "ok": True}}]
        model = ScriptedChatModel(responder=responder, calls=[])
        hooks = Hooks(value_fn=rule_value_hook)
        records, _ = rollout_values(
            leaf, Policy(model), state, trajectory, 2, config, budget, hooks
        )
        return records

    restricted = run(True)
    assert [r["actions"][1:] for r in restricted] == [[gold[1]], [gold[1]]]
    counted = run(False)
    assert [r["actions"][1:] for r in counted] == [
        [gold[1], illegal],
        [illegal, illegal],
        ["I would rather think first.", illegal],  # bare text is a move to this environment
        [gold[1], illegal],
    ]
    # the refused moves leave the state: those rollouts score the leaf's own value
    (here,) = run(False, rollouts=0)
    assert counted[1]["value"] == counted[2]["value"] == here["value"]
    assert len(leaf.plan) == 1  # the rollouts ran in forks


def test_untried_candidates_join_the_model_s_proposals_at_the_root() -> None:
    """``untried_candidates=1``: a model that proposes one move gets a second root candidate, a
    legal move the episode has not taken (P_LLM 0), the same one for the same seed; the
    expansions below it are the model's as usual."""
    task = TASKS[3]

    def first_candidates(seed: int) -> list[dict]:
        env = BlocksWorldEnvironment(task)
        legal = env.legal_action_texts()
        model = ScriptedChatModel(
            responder=lambda m, n: [f"```text\n{legal[0]}\n```"] * n, calls=[]
        )
        config = SlinvitConfig(
            k=1,
            depth=1,
            rollouts=0,
            horizon=1,
            samples=2,
            untried_candidates=1,
            seed=seed,
            summarize_answer=False,
        )
        agent = create_slinvit_agent(model, env, config=config, value_fn=rule_value_hook)
        events = agent.stream({"messages": [("user", "Reach the goal.")]}, stream_mode="custom")
        first = next(e for e in events if e["type"] == "candidates")
        assert first["candidates"][0]["action"] == legal[0]
        assert first["candidates"][1]["action"] in legal[1:]
        assert first["candidates"][1]["p_llm"] == 0.0
        return first["candidates"]

    assert len(first_candidates(3)) == 2
    assert first_candidates(3) == first_candidates(3)
