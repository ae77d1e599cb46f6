"""InterCode-Bash (NL2Bash): 200 tasks over four file systems, each episode in its own sandbox.

The reward is InterCode's: file-system changes, contents of added files and the similarity of
the last command's output, against the gold command run in a fresh root (computed once per
task). Needs bubblewrap (``langgraph_slinvit.envs.sandbox``).
"""

from __future__ import annotations

import os
from typing import Any

from langgraph_slinvit.bench.core import BenchTask, Evaluation
from langgraph_slinvit.bench.rewards.bash import BashEpisodeResult, compute_bash_reward
from langgraph_slinvit.bench.task_envs.bash import (
    BashTaskEnvironment,
    episode_result,
    oracle_reward_hook,
    run_gold,
)
from langgraph_slinvit.bench.tasks import BashTask, load_bash_tasks
from langgraph_slinvit.envs.base import Environment
from langgraph_slinvit.value import ValueHook


class BashSuite:
    """InterCode-Bash tasks in :class:`BashTaskEnvironment` sandboxes."""

    name = "intercode-bash"
    language = "bash"
    reward_rule = (
        "InterCode's Bash reward: a third each for file-system changes, added files' contents "
        "and the last command's output similarity (TF-IDF), plus 0.01"
    )
    conditions: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        fork_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        """``fork_dir``: where the episodes' forks copy the task's tree (None: the system's
        temporary directory); it changes how fast a fork is, never a result."""
        self.data_dir = data_dir
        self.fork_dir = fork_dir
        self._gold: dict[str, BashEpisodeResult] = {}

    def tasks(self) -> list[BenchTask]:
        return [
            BenchTask(t.task_id, i, t.question, f"fs{t.fs}", t)
            for i, t in enumerate(load_bash_tasks(self.data_dir))
        ]

    def settings(self, method: str) -> dict[str, Any]:
        # slinvit alone reads ``Observation.empty`` (agreement) and names an answer step
        if method == "slinvit":
            return {"empty": "no output and no file change", "answer": "the answered step's output"}
        return {}

    def make_env(self, task: BenchTask) -> Environment:
        return BashTaskEnvironment(task.raw, data_dir=self.data_dir, fork_dir=self.fork_dir)

    def gold(self, task: BashTask) -> BashEpisodeResult:
        """ORACLE: the gold command's result in a fresh root (cached)."""
        if task.task_id not in self._gold:
            self._gold[task.task_id] = run_gold(task, data_dir=self.data_dir)
        return self._gold[task.task_id]

    def evaluate(self, task: BenchTask, env: Environment, steps: list[dict]) -> Evaluation:
        if not isinstance(env, BashTaskEnvironment):
            raise TypeError("the InterCode-Bash suite needs its own BashTaskEnvironment")
        answer = None
        if steps:  # the answered step's output; the files as the whole episode left them
            answer = len(steps) - 1
            ran = [c.action for c in env.commands[: answer + 1]]
            if ran != [s["action"] for s in steps]:
                raise ValueError(f"the answered steps are not the commands the episode ran: {ran}")
        parts = compute_bash_reward(episode_result(env, answer=answer), self.gold(task.raw))
        return Evaluation(
            reward=parts.reward,
            details={
                "file_diff": parts.file_diff,
                "file_changes": parts.file_changes,
                "answer_similarity": parts.answer_similarity,
            },
        )

    def oracle_hook(self, task: BenchTask) -> ValueHook:
        return oracle_reward_hook(task.raw, data_dir=self.data_dir, gold=self.gold(task.raw))

    def value_fn(self, task: BenchTask) -> ValueHook | None:
        return None

    def close(self) -> None:
        self._gold.clear()
