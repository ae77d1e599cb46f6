"""Would a run have succeeded had it stopped earlier? Replays every prefix of its episodes.

For each recorded task of one run (suite, method, optionally config hash), the first 1, 2, ...
actions are run again in a fresh environment and scored by the suite's own reward. A task whose
full episode failed but one of its prefixes succeeds was lost by not stopping. No model runs;
the environments are real (bash in its sandbox, SQL on its database):

    python tools/replay_prefixes.py --suite intercode-bash --method slinvit --config 8cd68062e3e4
"""

from __future__ import annotations

import argparse

from langgraph_slinvit.bench.core import BenchTask, Suite
from langgraph_slinvit.bench.results import ResultsDB
from langgraph_slinvit.bench.suites import make_suite


def prefix_rewards(suite: Suite, task: BenchTask, actions: list[str]) -> list[float]:
    """The suite's reward after each prefix of ``actions``, each replayed from the start."""
    rewards = []
    for n in range(1, len(actions) + 1):
        env = suite.make_env(task)
        try:
            steps = [{"action": a, "observation": env.step(a).to_dict()} for a in actions[:n]]
            rewards.append(suite.evaluate(task, env, steps).reward)
        finally:
            env.close()
    return rewards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--config", help="config hash (or its start) of the run")
    parser.add_argument("--results", default="bench-results.sqlite")
    args = parser.parse_args()
    with ResultsDB(args.results) as db:
        rows = [
            r
            for r in db.rows(suite=args.suite, method=args.method)
            if r.error is None and r.config_hash.startswith(args.config or "")
        ]
    runs = {(r.model, r.config_hash) for r in rows}
    if len(runs) != 1:
        parser.error(f"{len(runs)} runs match; name one with --config: {sorted(runs)}")
    suite = make_suite(args.suite)
    tasks = {t.task_id: t for t in suite.tasks()}
    solved = early = 0
    try:
        for row in rows:
            actions = [a for a in row.actions if a]
            rewards = prefix_rewards(suite, tasks[row.task_id], actions)
            first_success = next((i + 1 for i, r in enumerate(rewards) if r >= 1.0), None)
            solved += row.success
            lost = not row.success and first_success is not None
            early += lost
            mark = "LOST BY GOING ON" if lost else ("solved" if row.success else "")
            shown = " ".join(f"{r:.2f}" for r in rewards)
            print(f"{row.task_id}: {len(actions)} actions, rewards by prefix [{shown}] {mark}")
    finally:
        suite.close()
    print(
        f"{len(rows)} tasks: {solved} solved; {early} more had a successful prefix "
        f"(would have been solved by stopping there)"
    )


if __name__ == "__main__":
    main()
