"""Print what an ALFWorld fork costs: a fresh engine of the game with the real history replayed.

    python tools/bench_alfworld_fork.py                 # one game of each task type
    python tools/bench_alfworld_fork.py --per-type 3    # three of each

For each game the real episode plays its walkthrough; after 0, 5, 10, ... steps (and before the
last) a fork is timed, so the cost shows against the length of the history it replays. The
first engine of a game pays the PDDL translation (memoized per process): it is timed apart.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

from langgraph_slinvit.bench.runner import select_tasks
from langgraph_slinvit.bench.suites.alfworld import ALFWorldSuite
from langgraph_slinvit.envs.alfworld import ALFWorldEnvironment


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-type", type=int, default=1, help="games of each task type")
    parser.add_argument("--every", type=int, default=5, help="fork after every N real steps")
    parser.add_argument("--data", help="benchmark data folder (default: ../shared/data)")
    args = parser.parse_args()

    suite = ALFWorldSuite(data_dir=args.data)
    tasks = select_tasks(suite.tasks(), per_level=args.per_type, seed=0)
    first_start: list[float] = []
    by_length: dict[int, list[float]] = defaultdict(list)
    for task in tasks:
        started = time.perf_counter()
        env = ALFWorldEnvironment(task.raw)
        first_start.append(time.perf_counter() - started)
        try:
            walkthrough = task.raw.walkthrough()
            for i, command in enumerate(walkthrough):
                if i % args.every == 0 or i == len(walkthrough) - 1:
                    started = time.perf_counter()
                    fork = env.fork()
                    by_length[i].append(time.perf_counter() - started)
                    assert fork.state_key() == env.state_key(), "a fork differs from its game"
                    fork.close()
                env.step(command)
        finally:
            env.close()
    print(
        f"{len(tasks)} games; first engine of a game (translation included): "
        f"median {statistics.median(first_start):.3f} s, max {max(first_start):.3f} s"
    )
    every = [s for times in by_length.values() for s in times]
    print(
        f"all forks: median {statistics.median(every):.3f} s, max {max(every):.3f} s, "
        f"n={len(every)}"
    )
    for length in sorted(by_length):
        times = by_length[length]
        print(
            f"  history of {length:2d} steps: median {statistics.median(times):.3f} s "
            f"(n={len(times)})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
