"""Success rates with Wilson intervals, and per-run summaries of result rows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from langgraph_slinvit.bench.results import ResultRow


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (95% for ``z = 1.96``)."""
    if n <= 0:
        return (0.0, 0.0)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def sign_test_p(wins: int, losses: int) -> float:
    """Exact two-sided sign test: the chance of a split at least this uneven if both methods
    were equally good on the tasks where they differ (ties are left out)."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1)) / 2**n
    return min(1.0, 2 * tail)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def summarize(rows: Sequence[ResultRow]) -> dict[str, Any]:
    """Success rate (with its 95% Wilson interval), cost means and counts of a set of rows."""
    n = len(rows)
    wins = sum(r.success for r in rows)
    low, high = wilson_interval(wins, n)
    out: dict[str, Any] = {
        "n": n,
        "successes": wins,
        "success_rate": round(wins / n, 4) if n else 0.0,
        "success_ci95": [round(low, 4), round(high, 4)],
        "mean_reward": round(_mean([r.reward for r in rows]), 4),
        "mean_llm_calls": round(_mean([r.llm_calls for r in rows]), 3),
        "mean_prompt_tokens": round(_mean([r.prompt_tokens for r in rows]), 1),
        "mean_completion_tokens": round(_mean([r.completion_tokens for r in rows]), 1),
        "mean_tokens": round(_mean([r.tokens for r in rows]), 1),
        "mean_env_steps": round(_mean([r.env_steps for r in rows]), 3),
        "mean_rollout_steps": round(_mean([r.rollout_steps for r in rows]), 3),
        "mean_seconds": round(_mean([r.seconds for r in rows]), 3),
        "errors": sum(r.error is not None for r in rows),
    }
    graded = [r for r in rows if r.gold_empty is not None]
    if graded:
        non_empty = [r for r in graded if not r.gold_empty]
        hits = sum(r.success for r in non_empty)
        out["n_non_empty_gold"] = len(non_empty)
        out["success_rate_non_empty_gold"] = round(hits / len(non_empty), 4) if non_empty else 0.0
    engine = [r.details.get("engine_seconds") for r in rows]
    wall = sum(r.seconds for r in rows)
    if rows and all(e is not None for e in engine) and wall > 0:
        out["engine_share"] = round(sum(engine) / wall, 4)
    alt = [r.details.get("success_order_by_only") for r in rows]
    if rows and all(a is not None for a in alt):
        out["success_rate_order_by_only"] = round(sum(bool(a) for a in alt) / n, 4)
    return out
