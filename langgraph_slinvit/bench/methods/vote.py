"""``vote``: execution-based self-consistency (a non-oracle baseline for SLINVIT).

At each step one request asks SLINVIT's own proposal prompt for ``n`` samples (the ``samples``
and ``temperature`` of the run's :class:`~langgraph_slinvit.config.SlinvitConfig`, so
``--preset sql`` gives the same n and temperature as the SLINVIT run it is compared with).
Every distinct proposed action runs once in a fork of the environment (equal actions give equal
results, so running a duplicate again would only cost time), the samples are grouped by the
result their action gave, and the action of the winning group (its earliest sample's action)
runs for real. No search, no value, no rollouts, no gold answer. The actions run in forks are
counted as ``rollout_steps`` (simulated actions), the real ones as ``env_steps``.

Which group wins (:func:`choose`):

* samples whose results are equal (the environment's result ``signature``, else its output)
  form one group; a sample that repeats the action that just ran (``repeat_means_submit``) or
  replies ``SUBMIT`` is in the ``SUBMIT`` group (stop with the result in hand); a sample with
  no usable action is in no group;
* a sample whose action fails (an error, a timeout, a refusal) is grouped with the samples
  that failed with the same error, and a failed group never beats a group that did not fail,
  whatever their sizes: self-consistency over executions discards the samples that do not run
  (a failed group wins only when nothing ran without failing);
* among the rest, the largest group wins; on a tie, the group of the earliest sample.

The episode is the same vote at each step until the ``SUBMIT`` group wins, the environment
says the episode is over (a puzzle's goal), the first result that did not fail when the run's
``stop_when`` is ``first_result`` (the SQL preset: a question is answered by one query), the
horizon ``H`` of real actions, or a budget runs out. ``stop_when="no_gain"`` needs a value, so
it counts as ``submit`` here. The answer is the last real step that did not fail (the last step
when all failed): as in SLINVIT, an answer never rests on an error when a result exists.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from langgraph_slinvit.bench.core import BenchSettings, Job, MethodResult, usage_from
from langgraph_slinvit.bench.identity import vote_recorded_config
from langgraph_slinvit.bench.methods.common import (
    action_messages,
    make_policy,
    prompt_digest,
    run_real,
)
from langgraph_slinvit.budget import BudgetExhausted
from langgraph_slinvit.envs.base import Environment, Observation, legal_actions_of, syntax_of
from langgraph_slinvit.prompts import SUBMIT
from langgraph_slinvit.prompts import SYSTEM as PROPOSAL_SYSTEM
from langgraph_slinvit.proposal import action_of, is_failure, normalize

NAME = "vote"
RULE = "equal results group; failed groups last; then the largest; then the earliest sample"
"""The grouping rule in words: part of the run identity (a new rule is a new run)."""


@dataclass
class Group:
    """Samples whose actions gave equal results."""

    action: str
    """The earliest sample's action (the one that runs for real if the group wins)."""
    first: int
    """Index of the group's earliest sample."""
    failed: bool
    samples: list[int] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.samples)


def outcome_key(action: str, obs: Observation | None) -> tuple[str, str]:
    """The result ``action`` gave, as a key under which equal results are one group."""
    if action == SUBMIT or obs is None:
        return ("submit", "")
    if is_failure(obs.to_dict()):
        return ("failed", obs.error or obs.signature or obs.output)
    return ("result", obs.signature if obs.signature is not None else obs.output)


def choose(groups: list[Group]) -> Group | None:
    """The winning group: groups that did not fail first, then the largest, then the earliest."""
    if not groups:
        return None
    return min(groups, key=lambda g: (g.failed, -g.size, g.first))


def vote_step(
    env: Environment, texts: list[str], last_action: str | None
) -> tuple[Group | None, list[Group], dict[str, Observation]]:
    """Group the sampled ``texts`` by the result of their action, each distinct action run once
    in a fork of ``env``; returns the winner, all groups, and each action's fork observation."""
    choices = legal_actions_of(env)
    repeat = normalize(last_action) if last_action else None
    results: dict[str, Observation] = {}
    groups: dict[tuple[str, str], Group] = {}
    for i, text in enumerate(texts):
        action = action_of(text, syntax_of(env), choices)
        if action is None or (choices is not None and action not in choices):
            continue  # no usable action (with a finite set: no legal one, no SUBMIT)
        key = normalize(action)
        if key == repeat and choices is None:
            action = key = SUBMIT
        if action != SUBMIT and key not in results:
            fork = env.fork()
            try:
                results[key] = fork.step(action)
            finally:
                fork.close()
        outcome = outcome_key(action, results.get(key))
        if outcome not in groups:
            groups[outcome] = Group(action=action, first=i, failed=outcome[0] == "failed")
        groups[outcome].samples.append(i)
    ordered = list(groups.values())
    return choose(ordered), ordered, results


def _settings(settings: BenchSettings) -> dict[str, Any]:
    return {
        **vote_recorded_config(settings.slinvit),
        "max_llm_calls": settings.max_llm_calls,
        "max_tokens": settings.max_tokens,
        "max_seconds": settings.max_seconds,
    }


def config(settings: BenchSettings) -> dict[str, Any]:
    """What the run's results depend on: n, temperature, horizon, the stop rule, the budgets,
    and a digest of the proposal prompt and of this method's grouping rule."""
    return {**_settings(settings), "prompt": prompt_digest(PROPOSAL_SYSTEM, RULE)}


def is_oracle(settings: BenchSettings) -> bool:
    return False


def run(job: Job) -> MethodResult:
    chosen = _settings(job.settings)
    n, temperature, horizon = chosen["n"], chosen["temperature"], chosen["horizon"]
    budget = job.settings.budget(time.time())
    policy = make_policy(job, temperature)
    steps: list[dict] = []
    votes: list[dict[str, Any]] = []
    forked = 0
    stop = "horizon"
    while len(steps) < horizon:
        try:
            samples = policy.sample(
                action_messages(job, steps),
                n,
                budget,
                temperature=temperature,
                max_tokens=job.settings.slinvit.reply_tokens,
            )
        except BudgetExhausted as exc:
            stop = exc.reason
            break
        last = steps[-1]["action"] if steps and chosen["repeat_means_submit"] else None
        winner, groups, results = vote_step(job.env, [s.text for s in samples], last)
        forked += len(results)
        votes.append(
            {
                "samples": len(samples),
                "groups": [[g.action[:200], g.size, g.failed] for g in groups],
                "chosen": winner.action[:200] if winner else None,
            }
        )
        if winner is None:
            stop = "no_action"
            break
        if winner.action == SUBMIT:
            stop = "submitted"
            break
        obs = run_real(job.env, winner.action, steps)
        if obs.terminal:
            stop = "terminal"
            break
        if chosen["stop_when"] == "first_result" and not is_failure(obs.to_dict()):
            stop = "first_result"
            break
    ok = [i for i, s in enumerate(steps) if not is_failure(s["observation"])]
    return MethodResult(
        steps=steps,
        usage=usage_from(budget.spent, env_steps=len(steps), rollout_steps=forked),
        oracle=False,
        answer_step=ok[-1] if ok else None,
        details={"stop_reason": stop, "votes": votes},
    )
