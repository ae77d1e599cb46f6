"""``single``: one greedy (temperature 0) answer, executed once."""

from __future__ import annotations

import time
from typing import Any

from langgraph_slinvit.bench.core import BenchSettings, Job, MethodResult, usage_from
from langgraph_slinvit.bench.methods.common import action_messages, clip, make_policy, run_real
from langgraph_slinvit.budget import BudgetExhausted
from langgraph_slinvit.prompts import SUBMIT
from langgraph_slinvit.proposal import parse_action

NAME = "single"


def config(settings: BenchSettings) -> dict[str, Any]:
    return {"temperature": 0.0}


def is_oracle(settings: BenchSettings) -> bool:
    return False


def run(job: Job) -> MethodResult:
    budget = job.settings.budget(time.time())
    policy = make_policy(job, 0.0)
    steps: list[dict] = []
    reply = ""
    try:
        samples = policy.sample(action_messages(job, []), 1, budget, temperature=0.0)
        reply = samples[0].text if samples else ""
    except BudgetExhausted:
        pass
    action = parse_action(reply, job.env.language)
    if action is not None and action != SUBMIT:
        run_real(job.env, action, steps)
    return MethodResult(
        steps=steps,
        usage=usage_from(budget.spent, env_steps=len(steps)),
        oracle=False,
        details={"reply": clip(reply), "parsed": action is not None},
    )
