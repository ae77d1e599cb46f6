"""A results-database row with plain defaults, for the report and results tests."""

from __future__ import annotations

from typing import Any

from langgraph_slinvit.bench.results import ResultRow


def result_row(task_id: str, method: str = "single", **overrides: Any) -> ResultRow:
    """A successful one-call InterCode-SQL row of ``task_id`` ("t007": index 7)."""
    fields: dict[str, Any] = dict(
        suite="intercode-sql",
        method=method,
        model="m",
        config_hash="h",
        task_id=task_id,
        task_index=int(task_id[1:]),
        difficulty="easy",
        oracle=False,
        success=True,
        reward=1.0,
        gold_empty=False,
        llm_calls=1,
        prompt_tokens=10,
        completion_tokens=5,
        env_steps=1,
        rollout_steps=0,
        seconds=0.1,
    )
    fields.update(overrides)
    return ResultRow(**fields)
