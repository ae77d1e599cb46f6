"""``single``: one greedy (temperature 0) answer, executed once.

On a puzzle (language ``text``, e.g. BlocksWorld) one action cannot solve a multi-step task, so
the one answer is the whole plan: the prompt asks for one action per line, and every line runs
in order (an illegal line is reported by the environment and the rest still run).
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import HumanMessage

from langgraph_slinvit.bench.core import BenchSettings, Job, MethodResult, usage_from
from langgraph_slinvit.bench.methods.common import (
    action_messages,
    clip,
    make_policy,
    prompt_digest,
    run_real,
)
from langgraph_slinvit.budget import BudgetExhausted
from langgraph_slinvit.envs.base import syntax_of
from langgraph_slinvit.prompts import SUBMIT
from langgraph_slinvit.proposal import parse_action

NAME = "single"
PLAN_LANGUAGE = "text"
"""The action syntax of puzzles, where one action cannot solve a task: a whole plan is asked."""
WHOLE_PLAN = (
    "Write the whole plan at once: every action in order, one per line, in one fenced block."
)


def config(settings: BenchSettings) -> dict[str, Any]:
    return {"temperature": 0.0, "plan_prompt": prompt_digest(WHOLE_PLAN)}


def is_oracle(settings: BenchSettings) -> bool:
    return False


def run(job: Job) -> MethodResult:
    budget = job.settings.budget(time.time())
    policy = make_policy(job, 0.0)
    steps: list[dict] = []
    reply = ""
    syntax = syntax_of(job.env)
    plan = syntax.name == PLAN_LANGUAGE
    messages = action_messages(job, [])
    if plan:
        messages[-1] = HumanMessage(f"{messages[-1].content}\n\n{WHOLE_PLAN}")
    try:
        samples = policy.sample(messages, 1, budget, temperature=0.0)
        reply = samples[0].text if samples else ""
    except BudgetExhausted:
        pass
    action = parse_action(reply, syntax)
    if action is not None and action != SUBMIT:
        lines = [a.strip() for a in action.splitlines() if a.strip()] if plan else [action]
        for line in lines:
            run_real(job.env, line, steps)
    return MethodResult(
        steps=steps,
        usage=usage_from(budget.spent, env_steps=len(steps)),
        oracle=False,
        details={"reply": clip(reply), "parsed": action is not None},
    )
