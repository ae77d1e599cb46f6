"""BlocksWorld: the SLINVIT paper's 57 four-step and 114 six-step ``generated_basic`` problems.

Success is judged on the executed plan, validated against the PDDL rules from the initial state
(never on a state a model predicted). The reward is 1 for a valid plan that reaches the goal,
else 0; the rule value of the final state is kept as ``progress``. The rule value (goal
relations satisfied, blocks misplaced on goal blocks) is SLINVIT's non-oracle ``value_fn``.
"""

from __future__ import annotations

import os
from typing import Any

from langgraph_slinvit.bench.core import BenchTask, Evaluation
from langgraph_slinvit.bench.task_envs.blocksworld import (
    BlocksWorldEnvironment,
    rule_value_hook,
    success,
)
from langgraph_slinvit.bench.task_envs.blocksworld_pddl import (
    BWConfig,
    load_bw_config,
    problem_for_task,
    render_goal,
)
from langgraph_slinvit.bench.tasks import load_blocksworld_tasks, resolve_data_dir
from langgraph_slinvit.envs.base import Environment
from langgraph_slinvit.value import ValueContext, ValueHook

STEPS = (4, 6)
"""Task files of the paper's runs (``step_4.json`` and ``step_6.json``, basic instances)."""


def _solved(env: Environment) -> bool:
    if not isinstance(env, BlocksWorldEnvironment):
        raise TypeError("the BlocksWorld suite needs a BlocksWorldEnvironment")
    return success(env)


class BlocksWorldSuite:
    """BlocksWorld problems as :class:`BlocksWorldEnvironment` state machines."""

    name = "blocksworld"
    language = "text"
    reward_rule = (
        "1 when the executed plan is valid under the PDDL rules and reaches the goal, else 0"
    )
    conditions: tuple[str, ...] = ("steps",)

    def __init__(self, *, data_dir: str | os.PathLike[str] | None = None) -> None:
        self.data_dir = data_dir
        self._config: BWConfig | None = None

    @property
    def config(self) -> BWConfig:
        """The natural-language templates (``bw_config.yaml``) of this suite's data folder."""
        if self._config is None:
            path = resolve_data_dir(self.data_dir) / "blocksworld" / "bw_config.yaml"
            self._config = load_bw_config(path)
        return self._config

    def tasks(self) -> list[BenchTask]:
        config = self.config
        tasks: list[BenchTask] = []
        for step in STEPS:
            for t in load_blocksworld_tasks(step, basic_only=True, data_dir=self.data_dir):
                goal = render_goal(problem_for_task(t), config)
                text = f"Reach this goal: {goal}."
                tasks.append(BenchTask(t.task_id, len(tasks), text, f"len {t.optimal_length}", t))
        return tasks

    def settings(self, method: str) -> dict[str, Any]:
        return {"steps": list(STEPS)}

    def make_env(self, task: BenchTask) -> Environment:
        return BlocksWorldEnvironment(task.raw, config=self.config)

    def evaluate(self, task: BenchTask, env: Environment, steps: list[dict]) -> Evaluation:
        solved = _solved(env)
        assert isinstance(env, BlocksWorldEnvironment)
        return Evaluation(
            reward=1.0 if solved else 0.0,
            details={
                "plan_length": len(env.plan),
                "optimal_length": task.raw.optimal_length,
                "progress": round(env.value(), 4),
            },
        )

    def oracle_hook(self, task: BenchTask) -> ValueHook:
        """ORACLE: the benchmark's verdict (a validated plan reaching the goal) on a fork."""

        def blocksworld_oracle_reward(ctx: ValueContext) -> float:
            return 1.0 if _solved(ctx.env) else 0.0

        return blocksworld_oracle_reward

    def value_fn(self, task: BenchTask) -> ValueHook | None:
        return rule_value_hook

    def close(self) -> None:
        pass
