"""V_hat: the value of a state, without a gold answer unless an oracle is passed explicitly.

Three sources, in the order they are preferred:

1. ``oracle_reward`` (benchmarks only): the task's own reward, e.g. InterCode's comparison with the
   gold answer. It is named an oracle everywhere it appears, and results using it are reported
   apart.
2. ``value_fn``: a rule-based value written for the task (e.g. BlocksWorld's goal relations).
3. The environment's execution feedback (``Environment.feedback_value``: errors, empty results,
   exit codes), to which the search adds agreement between independent rollouts.

An LLM critic (``critic_value``) can replace or be averaged with the Monte-Carlo estimate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from langgraph_slinvit.budget import Budget
from langgraph_slinvit.envs.base import ActionSyntax, CriticRubric, Environment, Observation
from langgraph_slinvit.policy import Policy
from langgraph_slinvit.prompts import critic_messages
from langgraph_slinvit.records import ActionStep


@dataclass
class ValueContext:
    """What a value hook sees about a terminal state."""

    task: str
    actions: list[str]
    """Every action from the start of the episode to this state (real, path and rollout)."""
    observation: Observation | None
    """The last observation (None when no action ran yet)."""
    env: Environment
    """The (forked) environment in that state; a hook may run read-only actions in it."""


ValueHook = Callable[[ValueContext], float]


@dataclass
class TerminalValue:
    value: float
    signature: str | None
    """Result digest used for agreement; None when the result should not count as agreement."""
    source: str
    """``oracle``, ``rule`` or ``feedback``."""


def terminal_value(
    ctx: ValueContext,
    *,
    oracle_reward: ValueHook | None = None,
    value_fn: ValueHook | None = None,
) -> TerminalValue:
    """The value of a terminal state from the best source available."""
    if oracle_reward is not None:
        return TerminalValue(float(oracle_reward(ctx)), None, "oracle")
    if value_fn is not None:
        return TerminalValue(float(value_fn(ctx)), None, "rule")
    obs = ctx.observation
    if obs is None:
        return TerminalValue(0.0, None, "feedback")
    agreeable = obs.ok and not obs.empty and obs.signature is not None
    return TerminalValue(
        ctx.env.feedback_value(obs), obs.signature if agreeable else None, "feedback"
    )


_SCORE = re.compile(r"score\s*[:=]\s*(\d+(?:\.\d+)?)", re.IGNORECASE)


def parse_critic_score(text: str) -> float | None:
    """The ``Score: N`` (0-10) in a critic reply, scaled to [0, 1]; None if absent."""
    matches = _SCORE.findall(text or "")
    if not matches:
        return None
    return max(0.0, min(1.0, float(matches[-1]) / 10.0))


def critic_value(
    policy: Policy,
    task: str,
    steps: Sequence[ActionStep],
    syntax: ActionSyntax,
    budget: Budget,
    rubric: CriticRubric | None = None,
) -> float:
    """The LLM's own judgement (0..1) of the trajectory: by default whether the last result
    answers the task (``Score: N`` of 10); an environment's ``rubric`` asks its own question."""
    if not steps:
        return 0.0
    if rubric is None:
        messages, parse = critic_messages(task, steps, syntax), parse_critic_score
    else:
        messages, parse = critic_messages(task, steps, syntax, rubric.question), rubric.parse
    reply = policy.sample(messages, 1, budget, temperature=0.0)
    score = parse(reply[0].text if reply else "")
    return 0.0 if score is None else float(score)
