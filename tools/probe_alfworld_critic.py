"""Does the ALFWorld sub-goal critic tell more progress from less? Print its values along
each game's walkthrough, for the critic that splits the task itself and the one given the
task's sub-goals.

    python tools/probe_alfworld_critic.py                          # embedded model, 1 game a type
    python tools/probe_alfworld_critic.py --per-type 2 --base-url http://127.0.0.1:8080/v1

Each game's stored walkthrough (a fixture here, never a prior of the agent) is cut after about a
third, two thirds, and all but its last action; the critic values each prefix, whose true
progress grows in that order. A critic that separates states values a longer prefix higher:
the script prints the mean value per cut and the share of (shorter, longer) pairs of one game
valued strictly in order, in order or tied, and reversed. Critic requests are greedy, as in the
search.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from langgraph_slinvit.bench.runner import select_tasks
from langgraph_slinvit.bench.suites.alfworld import ALFWorldSuite
from langgraph_slinvit.budget import Budget
from langgraph_slinvit.envs.alfworld import ALFWorldEnvironment, listed_rubric
from langgraph_slinvit.envs.base import CriticRubric, syntax_of
from langgraph_slinvit.models import chat_model
from langgraph_slinvit.policy import Policy
from langgraph_slinvit.value import critic_value

CUTS = ("a third", "two thirds", "all but the last")


def _cuts(length: int) -> list[int]:
    return sorted({max(1, round(length / 3)), max(1, round(2 * length / 3)), max(1, length - 1)})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-type", type=int, default=1, help="games of each task type")
    parser.add_argument("--sample-seed", type=int, default=1, help="seed of the game sample")
    parser.add_argument("--base-url", help="an OpenAI-compatible endpoint (default: embedded)")
    parser.add_argument("--threads", type=int, help="threads of the embedded model")
    args = parser.parse_args()

    local = {} if args.base_url or args.threads is None else {"threads": args.threads}
    model = chat_model(base_url=args.base_url, temperature=0.0, **local)
    policy = Policy(model, temperature=0.0)
    suite = ALFWorldSuite()
    tasks = select_tasks(suite.tasks(), per_level=args.per_type, seed=args.sample_seed)
    critics: dict[str, Callable[[ALFWorldEnvironment], CriticRubric]] = {
        "splits the task itself": lambda env: env.critic_rubric(),
        "given the sub-goals": lambda env: listed_rubric(env.game.task_type, env.task),
    }
    values: dict[str, list[list[float]]] = {name: [] for name in critics}
    started = time.perf_counter()
    for task in tasks:
        env = ALFWorldEnvironment(task.raw)
        try:
            walkthrough = task.raw.walkthrough()
            steps = []
            for command in walkthrough:
                steps.append({"action": command, "observation": env.step(command).to_dict()})
            cuts = _cuts(len(walkthrough))
            for name, rubric_of in critics.items():
                rubric = rubric_of(env)
                row = [
                    critic_value(
                        policy,
                        env.task,
                        steps[:cut],
                        syntax_of(env),
                        Budget(llm_calls=10, tokens=10**6, deadline=time.time() + 3600),
                        rubric,
                    )
                    for cut in cuts
                ]
                values[name].append(row)
                print(f"{task.difficulty:9} {task.task_id[:48]:48} {name:24} cuts {cuts}: {row}")
        finally:
            env.close()
    print(f"\n{len(tasks)} games, {time.perf_counter() - started:.0f} s")
    for name, rows in values.items():
        means = [statistics.mean(r[i] for r in rows if i < len(r)) for i in range(len(CUTS))]
        pairs = [(r[i], r[j]) for r in rows for i in range(len(r)) for j in range(i + 1, len(r))]
        up = sum(b > a for a, b in pairs)
        tied = sum(b == a for a, b in pairs)
        print(
            f"{name:24} mean value at {', '.join(CUTS)}: "
            + ", ".join(f"{m:.2f}" for m in means)
            + f"; pairs in order {up}/{len(pairs)}, tied {tied}, reversed {len(pairs) - up - tied}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
