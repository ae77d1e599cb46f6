"""Speed-up of two Ray workers over one, and the driver's overhead per task, on this machine.

    python tools/bench_ray.py                    # 32 BlocksWorld tasks, 0.25 s per model call
    python tools/bench_ray.py --tasks 64 --delay 0.5

The model is scripted (no real model): every call waits a fixed delay, standing in for an
endpoint's latency, then answers with the task's gold plan. The same tasks run into a fresh
results database in one process (``run_bench``), then on a local Ray instance with one and with
two workers (``run_bench_ray``; Ray itself is started once, before the timings); the runs must
agree on what they solve. Every model call notes when it starts and ends, so a run's wall time
splits into the time around the calls (the workers' start: processes, imports, suites; and their
stop) and the span from the first call's start to the last call's end. The speed-up is given
for both. The driver's overhead per task is the one-worker span less the one-process span, per
task (one worker runs the tasks one after the other, so this is each task's trip to the worker
and back, its row written and the next task sent), beside the driver's own CPU time per task.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from langchain_core.messages import BaseMessage

from langgraph_slinvit.bench.cluster import SuiteSpec, import_ray, run_bench_ray
from langgraph_slinvit.bench.core import BenchSettings, BenchTask
from langgraph_slinvit.bench.results import ResultsDB
from langgraph_slinvit.bench.runner import run_bench, select_tasks
from langgraph_slinvit.testing import ScriptedChatModel

METHOD = "single"


def delayed_planner(tasks: Sequence[BenchTask], delay: float, clock: Path) -> ScriptedChatModel:
    """Waits ``delay`` seconds per call, then gives the whole gold plan of the prompt's task;
    appends each call's start and end time to ``clock``."""
    plans = {t.text: t.raw.gold_plan.strip() for t in tasks}
    where = str(clock)

    def responder(messages: Sequence[BaseMessage], n: int) -> list[str]:
        began = time.time()
        time.sleep(delay)
        prompt = "\n".join(str(m.content) for m in messages)
        task = max((q for q in plans if q in prompt), key=len)  # a task's text may hold another's
        with open(where, "a") as f:
            f.write(f"{began} {time.time()}\n")
        return ["```text\n" + plans[task] + "\n```"] * n

    return ScriptedChatModel(responder=responder, calls=[])


class Timing:
    """One run: wall and driver CPU seconds, the span of its model calls, its summary."""

    def __init__(self, run: Callable[[ResultsDB, Path], dict], folder: Path, name: str) -> None:
        clock = folder / f"{name}.clock"
        with ResultsDB(folder / f"{name}.sqlite") as db:
            wall, cpu = time.perf_counter(), time.process_time()
            self.summary = run(db, clock)
            self.wall = time.perf_counter() - wall
            self.cpu = time.process_time() - cpu
        stamps = [tuple(map(float, line.split())) for line in clock.read_text().splitlines()]
        self.span = max(end for _, end in stamps) - min(start for start, _ in stamps)
        self.start_up = self.wall - self.span


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=32, help="BlocksWorld tasks (default 32)")
    parser.add_argument("--delay", type=float, default=0.25, help="seconds per model call")
    args = parser.parse_args(argv)

    ray = import_ray()
    spec = SuiteSpec("blocksworld")
    suite = spec.build()
    tasks = select_tasks(suite.tasks(), limit=args.tasks, seed=0)
    settings = BenchSettings()
    started = time.perf_counter()
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )
    ray_start = time.perf_counter() - started

    def in_process(db: ResultsDB, clock: Path) -> dict:
        model = delayed_planner(tasks, args.delay, clock)
        return run_bench(
            suite, METHOD, settings, lambda t: model, "scripted", db, tasks, show_progress=False
        )

    def on_ray(workers: int) -> Callable[[ResultsDB, Path], dict]:
        def run(db: ResultsDB, clock: Path) -> dict:
            model = delayed_planner(tasks, args.delay, clock)
            return run_bench_ray(
                spec, METHOD, settings, [lambda t: model], "scripted", db, tasks,
                workers=workers, show_progress=False,
            )  # fmt: skip

        return run

    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            alone = Timing(in_process, folder, "in-process")
            one = Timing(on_ray(1), folder, "ray-1")
            two = Timing(on_ray(2), folder, "ray-2")
    finally:
        ray.shutdown()
    n = len(tasks)
    solved = {t.summary["successes"] for t in (alone, one, two)}
    assert len(solved) == 1, f"the runs disagree on how many tasks they solve: {solved}"
    assert all(t.summary["ran"] == n and t.summary["errors"] == 0 for t in (alone, one, two))
    print(f"model: scripted, a fixed {args.delay:g} s delay per call (simulated latency)")
    print(f"tasks: {n} BlocksWorld, method {METHOD} (one call per task), {solved.pop()} solved")
    print(f"ray start (local, 2 CPUs, once, not in the runs): {ray_start:.2f} s")
    for name, t in (("one process", alone), ("ray, 1 worker", one), ("ray, 2 workers", two)):
        print(
            f"{name + ':':16} {t.wall:6.2f} s = {t.start_up:5.2f} s around + {t.span:6.2f} s calls"
        )
    print(
        f"speed-up of 2 workers over 1: {one.wall / two.wall:.2f}x wall, "
        f"{one.span / two.span:.2f}x past the workers' start and stop"
    )
    print(
        f"driver overhead per task: {1000 * (one.span - alone.span) / n:.1f} ms wall "
        f"(1-worker span less 1-process span), {1000 * one.cpu / n:.1f} ms of the driver's CPU"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
