"""How busy SLINVIT keeps a model server: rollouts one at a time against rollouts in threads.

    python tools/bench_throughput.py                     # BlocksWorld, embedded model, 4 slots
    python tools/bench_throughput.py --tasks 2 --rollouts 4 --workers 1 4

For each ``rollout_workers`` value it runs the same BlocksWorld tasks (the first of
``step_4.json``) with the embedded llama-server (``--parallel`` slots) and prints, per run:

* wall seconds per real decision;
* slots busy: the server's ``/slots`` polled every 50 ms, the mean number processing, over the
  whole run, over the moments when at least one is, and over the rollout phase (while a
  request of the graph's ``rollout`` node is in flight);
* the share of wall time with no model request in flight (measured on the client with
  callbacks): forks, the environment, the agent's own work and the graph.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from langgraph_slinvit import create_slinvit_agent
from langgraph_slinvit.bench.task_envs.blocksworld import BlocksWorldEnvironment
from langgraph_slinvit.bench.tasks import load_blocksworld_tasks
from langgraph_slinvit.local.chat import local_chat_model
from langgraph_slinvit.local.server import get_local_server
from langgraph_slinvit.presets import preset


class SlotPoller:
    """Polls llama-server's ``/slots`` and keeps how many slots were processing each time."""

    def __init__(self, root_url: str, in_rollout: Callable[[], bool], every: float = 0.05) -> None:
        self.url, self.every, self.in_rollout = f"{root_url}/slots", every, in_rollout
        self.samples: list[int] = []
        self.rollout_samples: list[int] = []
        """The samples taken while a request of the rollout phase was in flight."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with urllib.request.urlopen(self.url, timeout=5) as resp:
                slots = json.loads(resp.read())
            busy = sum(1 for s in slots if s.get("is_processing"))
            self.samples.append(busy)
            if self.in_rollout():
                self.rollout_samples.append(busy)
            self._stop.wait(self.every)

    def __enter__(self) -> SlotPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class InFlight(BaseCallbackHandler):
    """Client-side intervals with at least one model request in flight, and the requests of
    the rollout phase (made in the graph's ``rollout`` node: with depth 1 and the feedback
    value, the rollouts' own requests) in flight now."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0
        self.busy = 0.0
        self.requests = 0
        self._since = 0.0
        self._rollout_runs: set[UUID] = set()

    def on_chat_model_start(
        self, *args: Any, run_id: UUID, metadata: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        with self._lock:
            self.requests += 1
            if self.running == 0:
                self._since = time.perf_counter()
            self.running += 1
            if (metadata or {}).get("langgraph_node") == "rollout":
                self._rollout_runs.add(run_id)

    def in_rollout(self) -> bool:
        return bool(self._rollout_runs)

    def _end(self, run_id: UUID) -> None:
        with self._lock:
            self.running -= 1
            self._rollout_runs.discard(run_id)
            if self.running == 0:
                self.busy += time.perf_counter() - self._since

    def on_llm_end(self, *args: Any, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id)

    def on_llm_error(self, *args: Any, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=1, help="BlocksWorld tasks (the first ones)")
    ap.add_argument("--rollouts", type=int, default=4, help="M per leaf")
    ap.add_argument("--rollout-horizon", type=int, default=2)
    ap.add_argument(
        "--horizon",
        type=int,
        default=3,
        help="real decisions per task (a rollout has at most horizon - 1 steps: with 2, every "
        "rollout is its first action only, one request of M samples, and no thread runs)",
    )
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--parallel", type=int, default=4, help="llama-server slots")
    args = ap.parse_args()

    server = get_local_server(parallel=args.parallel)
    model = local_chat_model(parallel=args.parallel)
    tasks = load_blocksworld_tasks(4)[: args.tasks]
    print(
        f"BlocksWorld step-4 tasks: {len(tasks)}, M={args.rollouts}, rollout horizon "
        f"{args.rollout_horizon}, {args.horizon} decisions per task, {args.parallel} slots"
    )
    for workers in args.workers:
        config = preset(
            "blocksworld",
            k=2,
            depth=1,
            rollouts=args.rollouts,
            rollout_horizon=args.rollout_horizon,
            horizon=args.horizon,
            rollout_workers=workers,
            summarize_answer=False,
            seed=7,
        )
        flight, decisions = InFlight(), 0
        started = time.perf_counter()
        with SlotPoller(server.root_url, flight.in_rollout) as poller:
            for task in tasks:
                agent = create_slinvit_agent(model, BlocksWorldEnvironment(task), search=config)
                out = agent.invoke(
                    {"messages": [("user", "Solve the puzzle.")]}, {"callbacks": [flight]}
                )
                decisions += len(out["steps"])
        wall = time.perf_counter() - started
        busy = [n for n in poller.samples if n > 0]
        print(
            f"rollout_workers={workers}: {wall / max(decisions, 1):6.1f} s per decision "
            f"({decisions} decisions, {flight.requests} requests, {wall:.0f} s); slots busy "
            f"mean {statistics.fmean(poller.samples or [0]):.2f} overall, "
            f"{statistics.fmean(busy or [0]):.2f} while any is, "
            f"{statistics.fmean(poller.rollout_samples or [0]):.2f} during the rollout phase; "
            "no request in flight "
            f"{100 * (1 - flight.busy / wall):.1f}% of wall time"
        )


if __name__ == "__main__":
    main()
