"""BlocksWorld state machine, validator, BFS, rendering and rule value on inline problems."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langgraph_slinvit.bench.task_envs.blocksworld_pddl import (
    Action,
    BlocksState,
    BWConfig,
    IllegalActionError,
    apply,
    is_legal,
    legal_actions,
    optimal_length,
    parse_action,
    parse_action_text,
    parse_pddl_problem,
    parse_plan,
    render_action,
    render_goal,
    render_plan,
    render_state,
    rule_value,
    shortest_plan,
    validate_plan,
)

PROBLEM = """
; instance-1 of generated_basic
(define (problem BW-rand-4)
(:domain blocksworld-4ops)
(:objects a b c d )
(:init
(handempty)
(ontable a)
(on b c)
(ontable c)
(ontable d)
(clear a)
(clear b)
(clear d)
)
(:goal
(and
(on c b))
)
)
"""

CONFIG = BWConfig(
    actions={
        "pick-up": "pick up the {}",
        "put-down": "put down the {}",
        "stack": "stack the {} on top of the {}",
        "unstack": "unstack the {} from on top of the {}",
    },
    predicates={
        "ontable": "the {} is on the table",
        "clear": "the {} is clear",
        "handempty": "the hand is empty",
        "on": "the {} is on top of the {}",
        "holding": "the hand is holding the {}",
    },
    encoded_objects={"a": "red block", "b": "blue block", "c": "orange block", "d": "yellow block"},
)


@pytest.fixture
def problem():
    return parse_pddl_problem(PROBLEM)


def test_parse_problem(problem) -> None:
    assert problem.name == "bw-rand-4"
    assert problem.blocks == ("a", "b", "c", "d")
    assert ("on", "b", "c") in problem.init.facts
    assert problem.goal == frozenset({("on", "c", "b")})
    assert problem.init.stacks() == [["a"], ["c", "b"], ["d"]]
    assert problem.init.holding is None and problem.init.below("b") == "c"


def test_state_is_hashable_and_immutable(problem) -> None:
    s = problem.init
    assert hash(s) == hash(BlocksState(frozenset(s.facts)))
    with pytest.raises(AttributeError):
        s.facts = frozenset()  # type: ignore[misc]


def test_legal_actions_and_apply(problem) -> None:
    acts = legal_actions(problem.init)
    assert set(map(str, acts)) == {"(pick-up a)", "(pick-up d)", "(unstack b c)"}
    s1 = apply(problem.init, Action("unstack", ("b", "c")))
    assert s1.holding == "b" and ("clear", "c") in s1.facts and ("handempty",) not in s1.facts
    s1.check()
    assert set(map(str, legal_actions(s1))) == {
        "(put-down b)",
        "(stack b a)",
        "(stack b c)",
        "(stack b d)",
    }


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("(pick-up b)", "(ontable b)"),
        ("(pick-up c)", "(clear c)"),
        ("(stack a b)", "(holding a)"),
        ("(unstack a b)", "(on a b)"),
        ("(put-down a)", "(holding a)"),
        ("(pick-up z)", "unknown block"),
        ("(fly a)", "unknown action"),
        ("(stack a)", "takes 2 argument"),
    ],
)
def test_illegal_actions_raise(problem, action: str, message: str) -> None:
    with pytest.raises(IllegalActionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        apply(problem.init, parse_action(action))
    assert not is_legal(problem.init, parse_action(action))


def test_validate_plan(problem) -> None:
    plan = parse_plan("(unstack b c)\n(put-down b)\n(pick-up c)\n(stack c b)\n")
    assert validate_plan(problem, plan) == (True, "plan valid")
    assert validate_plan(problem, ["unstack b c", "put-down b", "pick-up c", "stack c b"])[0]
    ok, reason = validate_plan(problem, [*plan[:2], Action("stack", ("c", "b"))])
    assert not ok and reason.startswith("step 3:") and "(holding c)" in reason
    ok, reason = validate_plan(problem, plan[:3])
    assert not ok and "goal not reached" in reason and "(on c b)" in reason


def test_shortest_plan(problem) -> None:
    plan = shortest_plan(problem)
    assert plan is not None and len(plan) == 4 == optimal_length(problem)
    assert validate_plan(problem, plan)[0]
    assert shortest_plan(problem, max_depth=3) is None


def test_inconsistent_states_rejected() -> None:
    with pytest.raises(ValueError):
        BlocksState.from_atoms([("ontable", "a"), ("on", "a", "b"), ("handempty",)])
    with pytest.raises(ValueError):
        BlocksState.from_atoms([("ontable", "a"), ("handempty",)])  # clear(a) missing
    with pytest.raises(ValueError):
        BlocksState.from_atoms([("holding", "a"), ("handempty",)])


def test_rendering(problem) -> None:
    assert render_state(problem.init, CONFIG) == (
        "the red block is clear, the blue block is clear, the yellow block is clear, "
        "the hand is empty, the blue block is on top of the orange block, "
        "the red block is on the table, the orange block is on the table "
        "and the yellow block is on the table"
    )
    assert render_goal(problem, CONFIG) == "the orange block is on top of the blue block"
    unstack = Action("unstack", ("b", "c"))
    text = render_action(unstack, CONFIG)
    assert text == "unstack the blue block from on top of the orange block"
    assert parse_action_text(text.capitalize() + ".", CONFIG) == unstack
    assert parse_action_text("Stack the red block on top of the blue block", CONFIG) == Action(
        "stack", ("a", "b")
    )
    assert render_plan([unstack, Action("put-down", ("b",))], CONFIG).splitlines()[1] == (
        "put down the blue block"
    )
    held = apply(problem.init, Action("pick-up", ("a",)))
    assert "the hand is holding the red block" in render_state(held, CONFIG)
    with pytest.raises(ValueError):
        parse_action_text("jump around", CONFIG)


def test_rule_value(problem) -> None:
    goal = frozenset({("on", "c", "b"), ("on", "b", "a")})
    # b on c: c and b are goal blocks and on(b, c) is not a goal atom -> -1
    assert rule_value(problem.init, goal) == -1.0
    done = BlocksState.from_atoms(
        [
            ("ontable", "a"),
            ("on", "b", "a"),
            ("on", "c", "b"),
            ("ontable", "d"),
            ("clear", "c"),
            ("clear", "d"),
            ("handempty",),
        ]
    )
    assert rule_value(done, goal) == 2 + 10.0
    assert rule_value(done, goal, goal_bonus=0) == 2.0
    held = apply(done, Action("pick-up", ("d",)))
    assert rule_value(held, goal) == 2 + 10.0  # a held block is not penalised
    # d on goal block c (on(d, c) is not a goal atom): -1, the goal itself still holds
    assert rule_value(apply(held, Action("stack", ("d", "c"))), goal) == 2 - 1 + 10.0
    # goal broken: c back on the table, b covered by d
    broken = apply(apply(done, Action("unstack", ("c", "b"))), Action("put-down", ("c",)))
    broken = apply(apply(broken, Action("pick-up", ("d",))), Action("stack", ("d", "b")))
    assert rule_value(broken, goal) == 1 - 1


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 40), max_size=12))
def test_random_walks_stay_consistent(choices: list[int]) -> None:
    state = parse_pddl_problem(PROBLEM).init
    for c in choices:
        acts = legal_actions(state)
        assert acts  # BlocksWorld never dead-ends
        state = apply(state, acts[c % len(acts)])
        state.check()
