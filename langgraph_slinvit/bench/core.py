"""Shared data types of the benchmark: tasks, settings, a method's result, a suite's verdict."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel

from langgraph_slinvit.budget import Budget
from langgraph_slinvit.config import SlinvitConfig
from langgraph_slinvit.envs.base import Environment
from langgraph_slinvit.value import ValueHook

ModelFactory = Callable[[float], BaseChatModel]
"""Builds the run's chat model at a given default temperature (one model for every method)."""

USAGE_FIELDS = (
    "llm_calls",
    "prompt_tokens",
    "completion_tokens",
    "env_steps",
    "rollout_steps",
)


@dataclass(frozen=True)
class BenchTask:
    """One task of a suite, as every method sees it."""

    task_id: str
    index: int
    """Position in the suite's full task list (what ``--tasks`` selects)."""
    text: str
    """The task the agent is given (the question, the goal...)."""
    difficulty: str
    """Spider hardness, ``fsN`` for Bash, ``len N`` (optimal plan length) for BlocksWorld."""
    raw: Any = field(compare=False, repr=False)
    """The loader's task object (``SqlTask``, ``BashTask``, ``BlocksWorldTask``)."""


@dataclass
class Evaluation:
    """A suite's verdict on an episode: the benchmark reward and what else is worth keeping."""

    reward: float
    details: dict[str, Any] = field(default_factory=dict)
    gold_empty: bool | None = None
    """SQL only: whether the gold result has no rows (any empty answer then scores 1)."""

    @property
    def success(self) -> bool:
        """The benchmark's success: reward exactly 1."""
        return self.reward == 1.0


@dataclass
class MethodResult:
    """What a method did on one task: its real steps and what it spent."""

    steps: list[dict[str, Any]]
    """Real actions in order: ``{"action": str, "observation": Observation.to_dict()}``."""
    usage: dict[str, float]
    """``llm_calls``, ``prompt_tokens``, ``completion_tokens``, ``env_steps``, ``rollout_steps``."""
    oracle: bool
    """Whether the method saw the gold answer (through the benchmark reward) while running."""
    details: dict[str, Any] = field(default_factory=dict)
    answer_step: int | None = None
    """Index in ``steps`` of the result the method answers with; None = its last step."""

    @property
    def answered_steps(self) -> list[dict[str, Any]]:
        """The steps up to the answer: what a suite that scores the last result evaluates
        (InterCode-SQL scores the last query; re-running the chosen query would be the same)."""
        if self.answer_step is None:
            return self.steps
        return self.steps[: self.answer_step + 1]

    @property
    def actions(self) -> list[str]:
        return [s["action"] for s in self.steps if s.get("action")]


def usage_from(spent: dict[str, float], **extra: float) -> dict[str, float]:
    """The benchmark's usage fields from a budget's ``spent`` dict (plus ``extra``)."""
    usage = {k: float(spent.get(k, 0)) for k in USAGE_FIELDS}
    for key, value in extra.items():
        usage[key] = usage.get(key, 0) + value
    return usage


@dataclass(frozen=True)
class BenchSettings:
    """Everything about a run that is the same for every task."""

    max_llm_calls: int = 20
    """LLM requests per task, for every method (a request with n samples counts once)."""
    max_tokens: int = 200_000
    max_seconds: float = 900.0
    temperature: float = 0.8
    """Sampling temperature of SLINVIT and of LATS' expansions."""
    baseline_temperature: float = 0.0
    """Temperature of ``react`` and ``try-again`` (``single`` is always greedy)."""
    max_turns: int = 10
    """Model calls of ``react`` and turns of ``try-again`` (InterCode's protocol), at most."""
    lats_k: int = 2
    """Children per LATS expansion."""
    lats_exploration: float = 1.0
    """The UCT exploration constant of LATS."""
    oracle: bool = False
    """``--oracle``: give SLINVIT the benchmark reward as its value (an oracle run)."""
    slinvit: SlinvitConfig = field(default_factory=SlinvitConfig)
    """SLINVIT's own configuration (its ``max_llm_calls`` is ``max_llm_calls``)."""

    def budget(self, started: float) -> Budget:
        """A fresh per-task budget of LLM calls, tokens and seconds."""
        return Budget(
            llm_calls=self.max_llm_calls,
            tokens=self.max_tokens,
            deadline=started + self.max_seconds,
        )


class Suite(Protocol):
    """A benchmark adapter."""

    name: str
    language: str
    reward_rule: str
    """One line naming the reward rule the success column uses (shown in the report)."""
    conditions: tuple[str, ...]
    """The ``settings`` keys that change what every method sees (the SQL backend, schema
    hints): the report pairs only runs made under the same conditions."""

    def tasks(self) -> list[BenchTask]:
        """Every task of the suite, in a fixed order."""
        ...

    def make_env(self, task: BenchTask) -> Environment:
        """A fresh environment in the task's start state."""
        ...

    def evaluate(self, task: BenchTask, env: Environment, steps: list[dict]) -> Evaluation:
        """The benchmark reward of an episode (``env`` is its real environment, at its end;
        ``steps`` end with the step the method answers with)."""
        ...

    def oracle_hook(self, task: BenchTask) -> ValueHook:
        """ORACLE: the benchmark reward of a (forked) state, as a SLINVIT ``oracle_reward``."""
        ...

    def value_fn(self, task: BenchTask) -> ValueHook | None:
        """A rule-based, non-oracle value of a state, if the suite has one."""
        ...

    def settings(self, method: str) -> dict[str, Any]:
        """What about the suite changes ``method``'s results (e.g. the SQL backend): part of
        the config hash, so that a change here reruns only the methods it affects."""
        ...

    def close(self) -> None:
        """Release what the suite holds (connections, caches)."""
        ...


@dataclass
class Job:
    """One task for one method: everything the method may use."""

    suite: Suite
    task: BenchTask
    env: Environment
    context: str
    """``env.describe()`` at the start: the prompt context every method gets."""
    settings: BenchSettings
    model: Callable[[float], BaseChatModel]
    """The run's model at a default temperature (built once per temperature, then reused)."""
