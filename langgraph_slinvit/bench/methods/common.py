"""Helpers shared by the methods: the policy, the prompt, real steps."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from langchain_core.messages import BaseMessage

from langgraph_slinvit.bench.core import Job
from langgraph_slinvit.envs.base import Environment, Observation, syntax_of
from langgraph_slinvit.policy import Policy
from langgraph_slinvit.prompts import proposal_messages
from langgraph_slinvit.records import ActionStep

MAX_REPLY_CHARS = 2000
"""Characters of a raw model reply kept in a result's details."""


def make_policy(job: Job, temperature: float) -> Policy:
    """The run's model as a budgeted :class:`Policy` (no log-probabilities needed)."""
    cfg = job.settings.slinvit
    return Policy(
        job.model(temperature),
        temperature=temperature,
        want_logprobs=False,
        retries=cfg.retries,
        backoff=cfg.retry_backoff,
        seed=cfg.seed,
    )


def action_messages(
    job: Job, steps: Sequence[ActionStep], task_text: str | None = None
) -> list[BaseMessage]:
    """SLINVIT's own proposal prompt (context, task, trajectory): the same for every method."""
    return proposal_messages(
        task_text if task_text is not None else job.task.text,
        job.context,
        steps,
        syntax_of(job.env),
    )


def run_real(env: Environment, action: str, steps: list[ActionStep]) -> Observation:
    """Run ``action`` in the real environment and append the step to ``steps``."""
    obs = env.step(action)
    steps.append({"action": action, "observation": obs.to_dict()})
    return obs


def prompt_digest(*texts: str) -> str:
    """A short digest of a method's own prompt texts (part of its config: a new prompt is a
    new run, not a resumed one)."""
    return hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:8]


def clip(text: str, limit: int = MAX_REPLY_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + " ..."
