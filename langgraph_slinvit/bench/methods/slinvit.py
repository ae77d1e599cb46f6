"""``slinvit``: the SLINVIT agent of this package (``create_slinvit_agent``).

Non-oracle by default: its value is the suite's rule value if it has one (BlocksWorld), else
execution feedback and agreement between rollouts. With ``--oracle`` the benchmark reward is its
``oracle_reward`` (as in the reference code) and the run is recorded as an oracle run. The final
summary call is switched off: it costs a call and does not change the episode.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from langgraph_slinvit.bench.core import BenchSettings, Job, MethodResult, usage_from
from langgraph_slinvit.bench.identity import recorded_config
from langgraph_slinvit.config import SlinvitConfig
from langgraph_slinvit.graph import create_slinvit_agent

NAME = "slinvit"


def agent_config(settings: BenchSettings) -> SlinvitConfig:
    """SLINVIT's configuration for a benchmark run (the shared budgets, no summary call)."""
    return replace(
        settings.slinvit,
        max_llm_calls=settings.max_llm_calls,
        max_tokens=settings.max_tokens,
        max_seconds=settings.max_seconds,
        summarize_answer=False,
    )


def config(settings: BenchSettings) -> dict[str, Any]:
    """The recorded configuration (:mod:`~langgraph_slinvit.bench.identity`) plus ``oracle``."""
    return {**recorded_config(agent_config(settings)), "oracle": settings.oracle}


def is_oracle(settings: BenchSettings) -> bool:
    return settings.oracle


def run(job: Job) -> MethodResult:
    cfg = agent_config(job.settings)
    oracle = job.settings.oracle
    agent = create_slinvit_agent(
        job.model(cfg.temperature),
        job.env,
        config=cfg,
        value_fn=job.suite.value_fn(job.task),
        oracle_reward=job.suite.oracle_hook(job.task) if oracle else None,
    )
    out: dict[str, Any] = {}
    decisions: list[dict[str, Any]] = []  # scored paths are state, not output: from updates
    scored: list[dict[str, Any]] = []
    for mode, chunk in agent.stream(
        {"messages": [("user", job.task.text)]}, stream_mode=["updates", "values"]
    ):
        if mode == "values":
            out = chunk
            continue
        for update in chunk.values():
            if not isinstance(update, dict):
                continue
            if update.get("scored"):
                scored = update["scored"]
            if "chosen" in update and scored:
                decisions.append(decision_record(scored, update["chosen"]))
                scored = []
    taken = out.get("steps", [])
    real = [i for i, s in enumerate(taken) if s.get("action")]  # steps that ran an action
    steps = [{"action": taken[i]["action"], "observation": taken[i]["observation"]} for i in real]
    answer = out.get("answer_step")
    usage = out.get("usage", {})
    return MethodResult(
        steps=steps,
        usage=usage_from(usage),
        oracle=oracle,
        answer_step=real.index(answer) if answer is not None else None,
        details={
            "stop_reason": out.get("stop_reason", ""),
            "rollouts": usage.get("rollouts", 0),
            "step_values": [taken[i].get("value") for i in real],
            "decisions": decisions,
        },
    )


def decision_record(scored: list[dict[str, Any]], chosen: dict[str, Any] | None) -> dict[str, Any]:
    """One decision as the results database keeps it: every scored path's ``v_hat`` and
    ``score``, the chosen path's index, and per path its actions and its rollouts' values,
    lengths (actions from the episode's start) and last actions. Whether the value separated
    the candidates, and whether rollouts went past the path, are read from these."""
    return {
        "v_hat": [p["v_hat"] for p in scored],
        "score": [p["score"] for p in scored],
        "chosen": next((i for i, p in enumerate(scored) if p == chosen), None),
        "paths": [
            {
                "actions": p["actions"],
                "rollouts": [
                    {
                        "value": r["value"],
                        "length": len(r["actions"]),
                        "last": r["actions"][-1] if r["actions"] else None,
                    }
                    for r in p["rollouts"]
                ],
            }
            for p in scored
        ],
    }
