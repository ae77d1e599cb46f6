"""Does the LLM critic see what execution feedback cannot? Replay the answered trajectories of a
results database's runs (those that did not see the gold answer), value each with the critic
SLINVIT's ``--value critic`` uses and with the last step's execution feedback, and report how
well each value ranks the solved trajectories first.

    python tools/critic_separation.py --results docs/bench-results.sqlite --suite intercode-bash

By default only the tasks that have both a solved and an unsolved trajectory are replayed (the
tasks on which a value can choose); ``--all-tasks`` replays every task. Each trajectory runs
in a fresh environment of the suite; the critic is one request at temperature 0 to the
embedded model (or ``OPENAI_BASE_URL``). ``--out FILE`` keeps every score as JSON.
"""

from __future__ import annotations

import argparse
import json
import time

from langgraph_slinvit.bench.critic_separation import (
    Trajectory,
    answered_trajectories,
    auc,
    within_task,
)
from langgraph_slinvit.bench.results import ResultsDB
from langgraph_slinvit.bench.suites import make_suite
from langgraph_slinvit.budget import Budget
from langgraph_slinvit.envs.base import critic_rubric_of, syntax_of
from langgraph_slinvit.models import chat_model
from langgraph_slinvit.policy import Policy
from langgraph_slinvit.records import ActionStep
from langgraph_slinvit.value import critic_value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", required=True)
    ap.add_argument("--suite", required=True)
    ap.add_argument("--all-tasks", action="store_true", help="also tasks with one label only")
    ap.add_argument("--out", default=None, help="write every trajectory's scores here (JSON)")
    args = ap.parse_args()
    with ResultsDB(args.results) as db:
        rows = [r for r in db.rows(suite=args.suite) if not r.oracle]
    answered = answered_trajectories(rows)
    chosen = {
        task: a
        for task, a in answered.items()
        if args.all_tasks or len(set(a.solved.values())) == 2
    }
    left_out = sum(a.mixed_labels for a in answered.values())
    suite = make_suite(args.suite)
    tasks = {t.task_id: t for t in suite.tasks()}
    policy = Policy(chat_model(), temperature=0.0)
    budget = Budget(llm_calls=10**9, tokens=10**12, deadline=float("inf"))
    critic: dict[str, dict[Trajectory, tuple[float, bool]]] = {}
    feedback: dict[str, dict[Trajectory, tuple[float, bool]]] = {}
    kept: list[dict] = []
    total = sum(len(a.solved) for a in chosen.values())
    print(
        f"{args.suite}: {len(rows)} rows, {len(answered)} tasks, replaying {total} "
        f"trajectories of {len(chosen)} tasks ({left_out} left out: their runs disagree on success)"
    )
    started = time.time()
    for task_id, a in sorted(chosen.items()):
        task = tasks[task_id]
        for trajectory, solved in a.solved.items():
            env = suite.make_env(task)
            try:
                steps: list[ActionStep] = []
                for action in trajectory:
                    obs = env.step(action)
                    steps.append({"action": action, "observation": obs.to_dict()})
                fb = env.feedback_value(obs)
                cv = critic_value(
                    policy, task.text, steps, syntax_of(env), budget, critic_rubric_of(env)
                )
            finally:
                env.close()
            critic.setdefault(task_id, {})[trajectory] = (cv, solved)
            feedback.setdefault(task_id, {})[trajectory] = (fb, solved)
            kept.append(
                {
                    "task": task_id,
                    "actions": list(trajectory),
                    "solved": solved,
                    "critic": cv,
                    "feedback": fb,
                }
            )
            print(f"  {task_id} solved={int(solved)} critic={cv:.1f} feedback={fb:.2f}", flush=True)
    for name, scores in (("critic", critic), ("feedback", feedback)):
        flat = [v for found in scores.values() for v in found.values()]
        area = auc([s for s, _ in flat], [y for _, y in flat])
        pairs = within_task(scores)
        area_text = "n/a" if area is None else f"{area:.2f}"
        print(
            f"{name}: AUC {area_text} over {len(flat)} trajectories; within a task, of "
            f"{pairs.total} (solved, unsolved) pairs: {pairs.right} ranked right, "
            f"{pairs.tied} tied, {pairs.wrong} wrong"
        )
    print(f"{time.time() - started:.0f} s, {budget.spent.get('llm_calls', 0)} critic requests")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(kept, fh, indent=1)


if __name__ == "__main__":
    main()
