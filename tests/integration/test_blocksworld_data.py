"""BlocksWorld on the real instances: the domain file, gold plans, BFS optimal lengths."""

from __future__ import annotations

import pytest

from langgraph_slinvit.bench.task_envs.blocksworld_pddl import (
    BLOCKSWORLD_DOMAIN,
    Action,
    apply,
    load_bw_config,
    load_domain,
    optimal_length,
    parse_plan,
    problem_for_task,
    render_action,
    render_goal,
    render_state,
    rule_value,
    validate_plan,
)
from langgraph_slinvit.bench.tasks import load_blocksworld_tasks

PAPER_TASKS = load_blocksworld_tasks(4) + load_blocksworld_tasks(6)


def test_domain_file_matches_builtin_operators() -> None:
    assert load_domain() == BLOCKSWORLD_DOMAIN


def test_paper_task_counts() -> None:
    assert len(PAPER_TASKS) == 57 + 114


@pytest.mark.parametrize("task", PAPER_TASKS, ids=lambda t: t.task_id)
def test_gold_plan_valid_and_optimal(task) -> None:
    problem = problem_for_task(task)
    plan = parse_plan(task.gold_plan)
    assert validate_plan(problem, plan) == (True, "plan valid")
    assert len(plan) == task.optimal_length == optimal_length(problem)
    assert rule_value(problem.init, problem.goal) < rule_value(
        _final_state(problem, plan), problem.goal
    )


def _final_state(problem, plan):
    state = problem.init
    for action in plan:
        state = apply(state, action)
    return state


@pytest.mark.parametrize("step", [2, 8, 10, 12, 14, 16])
def test_other_steps_and_generated_basic_3(step: int) -> None:
    for task in load_blocksworld_tasks(step, basic_only=False):
        problem = problem_for_task(task)
        assert validate_plan(problem, parse_plan(task.gold_plan))[0], task.task_id
        assert optimal_length(problem) == task.optimal_length, task.task_id


def test_gold_plan_with_an_illegal_step_fails() -> None:
    task = PAPER_TASKS[0]
    problem = problem_for_task(task)
    plan = parse_plan(task.gold_plan)
    first = plan[0]
    bad = [Action("pick-up", (first.args[0],)), *plan[1:]]  # the block is not on the table
    ok, reason = validate_plan(problem, bad)
    assert not ok and reason.startswith("step 1:")
    ok, reason = validate_plan(problem, plan[:-1])
    assert not ok and "goal not reached" in reason


def test_rendering_with_real_config() -> None:
    cfg = load_bw_config()
    problem = problem_for_task(PAPER_TASKS[0])
    text = render_state(problem.init, cfg)
    assert "the hand is empty" in text and " and " in text
    assert render_goal(problem, cfg).startswith("the ")
    assert render_action(Action("stack", ("a", "b")), cfg) == (
        "stack the red block on top of the blue block"
    )
    assert "I can only pick up or unstack one block at a time." in cfg.domain_intro
