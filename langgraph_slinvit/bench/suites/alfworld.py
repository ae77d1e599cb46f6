"""ALFWorld: the 134 ``valid_unseen`` (out-of-distribution) household games, in the real
TextWorld engine (:class:`~langgraph_slinvit.envs.alfworld.ALFWorldEnvironment`).

The reward is the game's own: 1 when the game says the task is won within 50 steps, else 0. The
task type (pick, look, clean, heat, cool, pick two) is each task's ``difficulty``, so the report
gives success by task type. The non-oracle value is the environment's sub-goal critic (an LLM
call), or with ``rule_value`` the share of the task's sub-goals that the game's replies show done
(:meth:`ALFWorldSuite.value_fn`); an oracle run uses the win flag.
Each row keeps ``engine_seconds``, the time spent in the engine (starts, steps, forks' replays),
and the summary its share of wall time.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from langgraph_slinvit.bench.core import BenchTask, Evaluation
from langgraph_slinvit.bench.methods.react import UNTOOLED_RUNS_ACTION
from langgraph_slinvit.bench.tasks import resolve_data_dir
from langgraph_slinvit.envs.alfworld import (
    MAX_STEPS,
    ALFWorldEnvironment,
    ALFWorldGame,
    CriticStyle,
    check_critic_style,
    load_alfworld_games,
)
from langgraph_slinvit.envs.base import Environment
from langgraph_slinvit.value import ValueContext, ValueHook

ARCHIVE = "alfworld/valid_unseen.tar.gz"
"""The games, relative to the data folder."""
RULE_VALUE = "sub-goals, lamp at hand"
"""The rule value's name in a run's identity. Its first version ("sub-goals", 2026-12-07) counted
a lamp task done with the object held anywhere once the lamp was on; the game wants the object
held where the lamp is."""
RULE_VALUE_NEW_REPLIES = f"{RULE_VALUE}, new replies"
"""The rule value with a tenth for new replies
(:func:`~langgraph_slinvit.envs.alfworld.exploring_progress`)."""
CRITIC_METHODS = ("slinvit", "lats")
"""The methods that ask the environment's sub-goal critic (its question is in their runs'
identity)."""


def _game_env(env: Environment) -> ALFWorldEnvironment:
    if not isinstance(env, ALFWorldEnvironment):
        raise TypeError("the ALFWorld suite needs an ALFWorldEnvironment")
    return env


class ALFWorldSuite:
    """ALFWorld's ``valid_unseen`` games as :class:`ALFWorldEnvironment` episodes."""

    name = "alfworld"
    language = "text"
    reward_rule = f"1 when the game reports the task won within {MAX_STEPS} steps, else 0"
    conditions: tuple[str, ...] = ("max_steps",)
    level_intervals = True
    """The report gives a 95% interval for each task type's success."""

    def __init__(
        self,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        max_steps: int = MAX_STEPS,
        critic: CriticStyle = "open",
        rule_value: bool = False,
        new_replies: bool = False,
    ) -> None:
        check_critic_style(critic)
        self.data_dir = data_dir
        self.max_steps = max_steps
        self.critic = critic
        self.rule_value = rule_value
        """SLINVIT's value is :meth:`ALFWorldEnvironment.subgoal_progress` (a rule that reads
        the game's replies) instead of execution feedback alone."""
        if new_replies and not rule_value:
            raise ValueError("new_replies changes the rule value: it needs rule_value=True")
        self.new_replies = new_replies
        """The rule value gives a tenth of itself to replies that tell something new
        (:meth:`ALFWorldEnvironment.exploring_progress`)."""
        self._games: list[ALFWorldGame] | None = None

    def games(self) -> list[ALFWorldGame]:
        """The games of the data folder (unpacked into the cache once)."""
        if self._games is None:
            self._games = load_alfworld_games(resolve_data_dir(self.data_dir) / ARCHIVE)
        return self._games

    def tasks(self) -> list[BenchTask]:
        return [
            BenchTask(game.game_id, i, task_sentence(game), game.task_type, game)
            for i, game in enumerate(self.games())
        ]

    def settings(self, method: str) -> dict[str, Any]:
        if method == "react":  # the small model often names the command instead of a tool call
            return {"max_steps": self.max_steps, "untooled_reply": UNTOOLED_RUNS_ACTION}
        settings: dict[str, Any] = {"max_steps": self.max_steps}
        if self.critic != "open" and method in CRITIC_METHODS:  # "open": as the first runs
            settings["critic"] = self.critic
        if self.rule_value and method == "slinvit":
            settings["rule_value"] = RULE_VALUE_NEW_REPLIES if self.new_replies else RULE_VALUE
        return settings

    def make_env(self, task: BenchTask) -> Environment:
        return ALFWorldEnvironment(task.raw, max_steps=self.max_steps, critic=self.critic)

    def evaluate(self, task: BenchTask, env: Environment, steps: list[dict]) -> Evaluation:
        game = _game_env(env)
        return Evaluation(
            reward=1.0 if game.won else 0.0,
            details={
                "task_type": task.difficulty,
                "steps": game.steps_taken,
                "nothing_happens": sum(
                    bool((s["observation"].get("details") or {}).get("nothing_happens"))
                    for s in steps
                ),
                "engine_seconds": round(game.engine_seconds, 3),
            },
        )

    def oracle_hook(self, task: BenchTask) -> ValueHook:
        """ORACLE: the game's win flag on a fork."""

        def alfworld_oracle_reward(ctx: ValueContext) -> float:
            return 1.0 if _game_env(ctx.env).won else 0.0

        return alfworld_oracle_reward

    def value_fn(self, task: BenchTask) -> ValueHook | None:
        """With ``rule_value``, the sub-goals the game's replies show done (non-oracle: never
        the win flag; with ``new_replies``, a tenth for replies that tell something new); else
        None, and the sub-goal critic (an LLM call) is the value."""
        if not self.rule_value:
            return None

        def alfworld_subgoal_value(ctx: ValueContext) -> float:
            return _game_env(ctx.env).subgoal_progress()

        def alfworld_exploring_value(ctx: ValueContext) -> float:
            return _game_env(ctx.env).exploring_progress()

        return alfworld_exploring_value if self.new_replies else alfworld_subgoal_value

    def close(self) -> None:
        pass


_TASK_RULE = re.compile(r'"rhs":\s*"Your task is to:\s*([^"]+)"')


def task_sentence(game: ALFWorldGame) -> str:
    """The game's task sentence (``put some watch on safe.``), read from its grammar's
    ``task`` rule without starting an engine."""
    grammar = json.loads(game.path.read_text()).get("grammar") or ""
    match = _TASK_RULE.search(grammar)
    if not match:
        raise ValueError(f"{game.path} has no task rule in its grammar")
    return match.group(1).strip()
