"""``try-again``: InterCode's "Try Again" protocol (an ORACLE baseline).

Up to ``max_turns`` turns (and never more LLM calls than the budget): the model writes an action,
it runs in the real environment, and its observation *and the benchmark reward* (which compares
with the gold answer) are shown to the model; the episode stops at reward 1 or when the turns run
out. A reply that submits (or has no action) uses its turn and is answered that the task is not
solved yet, so a weak model cannot end its episode early with a wrong answer.
"""

from __future__ import annotations

import time
from typing import Any

from langgraph_slinvit.bench.core import BenchSettings, Job, MethodResult, usage_from
from langgraph_slinvit.bench.methods.common import (
    action_messages,
    make_policy,
    prompt_digest,
    run_real,
)
from langgraph_slinvit.budget import BudgetExhausted
from langgraph_slinvit.envs.base import legal_actions_of, syntax_of
from langgraph_slinvit.prompts import SUBMIT
from langgraph_slinvit.proposal import action_of

NAME = "try-again"
PROTOCOL = (
    "After each action you are told its reward from an automatic checker: 1 means the task is "
    "solved; anything lower means try again with a different action."
)


NOT_SOLVED = "Reward: {reward:g}. The task is not solved yet; try a different action."
NO_ACTION = "No action found: reply with exactly one action in a fenced code block."


def config(settings: BenchSettings) -> dict[str, Any]:
    return {
        "temperature": settings.baseline_temperature,
        "max_turns": settings.max_turns,
        "prompt": prompt_digest(PROTOCOL, NOT_SOLVED, NO_ACTION),
        "actions": "legal-action matching",  # prose naming a legal action counts
    }


def is_oracle(settings: BenchSettings) -> bool:
    return True


def run(job: Job) -> MethodResult:
    settings = job.settings
    temperature = settings.baseline_temperature
    budget = settings.budget(time.time())
    policy = make_policy(job, temperature)
    task_text = f"{job.task.text}\n\n{PROTOCOL}"
    steps: list[dict] = []
    shown: list[dict] = []  # what the model sees: observations with their rewards
    rewards: list[float] = []
    stop = "turns"
    for _turn in range(settings.max_turns):
        try:
            samples = policy.sample(
                action_messages(job, shown, task_text), 1, budget, temperature=temperature
            )
        except BudgetExhausted as exc:
            stop = exc.reason
            break
        action = action_of(
            samples[0].text if samples else "", syntax_of(job.env), legal_actions_of(job.env)
        )
        if action is None or action == SUBMIT:
            reward = rewards[-1] if rewards else 0.0
            note = NOT_SOLVED.format(reward=reward) if action == SUBMIT else NO_ACTION
            shown.append({"action": action or "(none)", "observation": {"output": note}})
            continue
        obs = run_real(job.env, action, steps)
        reward = job.suite.evaluate(job.task, job.env, [steps[-1]]).reward  # ORACLE
        rewards.append(reward)
        output = f"{obs.output}\nReward: {reward:g}"
        shown.append({"action": action, "observation": {**obs.to_dict(), "output": output}})
        if reward == 1.0:
            stop = "solved"
            break
    return MethodResult(
        steps=steps,
        usage=usage_from(budget.spent, env_steps=len(steps)),
        oracle=True,
        details={"rewards": rewards, "stop_reason": stop},
    )
