"""tools/bw_rollout_moves.py rebuilds a decision's states from the recorded moves and judges
each one-move rollout against the real BlocksWorld rules."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from langgraph_slinvit.bench.suites import make_suite
from langgraph_slinvit.bench.task_envs.blocksworld_pddl import parse_plan, render_action
from tests.unit.result_rows import result_row

TOOL = Path(__file__).resolve().parents[2] / "tools" / "bw_rollout_moves.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("bw_rollout_moves", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_one_move_rollouts_are_judged_on_the_state_they_started_from() -> None:
    tool = load_tool()
    suite = make_suite("blocksworld")
    task = suite.tasks()[3]
    env = suite.make_env(task)
    gold = [render_action(a, env.config) for a in parse_plan(task.raw.gold_plan)]
    env.step(gold[0])
    env.step(gold[1])
    allowed = env.legal_actions()[0]
    refused = next(
        f"{verb} the {c.split()[0]} block"
        for c in env.config.encoded_objects.values()
        for verb in ("pick up", "put down")
        if f"{verb} the {c.split()[0]} block" not in env.legal_actions()
    )
    leaf = {"value": 0.2, "length": 2, "last": gold[1]}
    rolled = {
        "actions": gold[:2],
        "rollouts": [
            leaf,
            {"value": 0.5, "length": 3, "last": allowed},
            {"value": 0.2, "length": 3, "last": refused},
            {"value": 0.2, "length": 2, "last": gold[1]},  # an unusable reply: no move
        ],
    }
    other = {"actions": [gold[0], "put down the x block"], "rollouts": [dict(leaf, value=0.25)]}
    # the rolled path wins on its rollouts' mean (0.3) although its leaf (0.2) is below 0.25
    decision = {"paths": [rolled, other], "v_hat": [0.3, 0.25], "score": [0.3, 0.25], "chosen": 0}
    row = result_row(
        "t003",
        method="slinvit",
        suite="blocksworld",
        task_index=3,
        actions=[],
        details={"method": {"decisions": [decision]}},
    )
    counts = tool.count_moves([row], suite)
    assert (counts.decisions, counts.changed) == (1, 1)
    assert (counts.moves, counts.illegal, counts.unjudged) == (2, 1, 1)
    assert counts.versus_leaf == {(True, "up"): 1, (False, "same"): 1}
