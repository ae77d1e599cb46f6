"""Run a benchmark on Ray workers: tasks spread over worker actors, one writer of the results.

Each worker is a Ray actor holding its own suite and model (an endpoint, or an embedded model it
starts). The driver hands every free worker the next task and writes each finished task's row
through the same :class:`~langgraph_slinvit.bench.runner.RunLedger` as the in-process runner, so
the results database keeps one writer, resuming works as before and no row is written twice.
A worker that dies loses only its in-flight task: Ray restarts the worker and retries that task
once; a task whose worker dies again is recorded as an error.

Ray is an optional dependency (``pip install 'langgraph-slinvit[ray]'``), imported only here and
only when a run asks for it.
"""

from __future__ import annotations

import logging
import math
import os
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from rich.console import Console

from langgraph_slinvit.bench.core import BenchSettings, BenchTask, ModelFactory, Suite
from langgraph_slinvit.bench.results import ResultsDB
from langgraph_slinvit.bench.runner import ModelCache, RunLedger, run_task, unrun_fields

__all__ = [
    "RAY_EXTRA",
    "RayUnavailable",
    "SuiteSpec",
    "TaskWorker",
    "import_ray",
    "run_bench_ray",
]

RAY_EXTRA = "pip install 'langgraph-slinvit[ray]'"
TASK_RETRIES = 1
"""How often a task whose worker died is run again before it is recorded as an error."""


class RayUnavailable(RuntimeError):
    """Ray is not installed (it is the ``ray`` extra)."""


def import_ray() -> ModuleType:
    """The ``ray`` module, or :class:`RayUnavailable` saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable(f"running on Ray needs the ray extra: {RAY_EXTRA}") from exc
    return ray


@dataclass(frozen=True)
class SuiteSpec:
    """How a worker builds its own copy of a suite (suites hold connections: never shipped)."""

    name: str
    data_dir: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Suite:
        from langgraph_slinvit.bench.suites import make_suite

        return make_suite(self.name, data_dir=self.data_dir, **self.options)


class TaskWorker:
    """One worker's suite and model; Ray runs it as an actor, one task at a time."""

    def __init__(
        self,
        suite: SuiteSpec,
        method_name: str,
        settings: BenchSettings,
        model_factory: ModelFactory,
    ) -> None:
        self.suite = suite.build()
        self.method_name = method_name
        self.settings = settings
        self.model = ModelCache(model_factory)
        # Built now, on the actor's main thread: an embedded model's server then dies with
        # this worker (a killed worker leaves no server behind), and starts once per worker.
        self.model(settings.temperature)

    def pid(self) -> int:
        """The worker's process id."""
        return os.getpid()

    def run(self, task: BenchTask) -> tuple[dict[str, Any], str | None]:
        """One task's row fields and error, as :func:`~langgraph_slinvit.bench.runner.run_task`."""
        return run_task(self.suite, self.method_name, task, self.settings, self.model)

    def close(self) -> None:
        self.suite.close()


def _connect(ray: ModuleType, address: str | None, num_cpus: int | None) -> bool:
    """Join ``address`` (``auto``, ``ray://host:port``...) or start a local instance; True when
    this call started or joined Ray (and so must shut it down), False when already connected."""
    if ray.is_initialized():
        return False
    quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    if address is None:
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, **quiet)
    else:
        ray.init(address=address, **quiet)
    return True


def _lost(task: BenchTask, exc: BaseException, oracle: bool) -> tuple[dict[str, Any], str]:
    """The row of a task whose worker died on every try."""
    fields = unrun_fields(oracle)
    fields["details"] = {"worker_error": str(exc)[-2000:]}
    tries = TASK_RETRIES + 1
    return fields, f"WorkerLost: the worker running {task.task_id} died {tries} times"


def run_bench_ray(
    suite: SuiteSpec,
    method_name: str,
    settings: BenchSettings,
    model_factories: Sequence[ModelFactory],
    model_name: str,
    db: ResultsDB,
    tasks: Sequence[BenchTask],
    *,
    address: str | None = None,
    workers: int | None = None,
    cpus_per_worker: float = 1.0,
    show_progress: bool = True,
    console: Console | None = None,
) -> dict[str, Any]:
    """:func:`~langgraph_slinvit.bench.runner.run_bench` on Ray workers.

    ``address`` joins a running cluster (``auto``, ``ray://host:10001``); None starts a local
    instance (or uses the one this process already started). Worker ``i`` builds its model with
    ``model_factories[i % len(model_factories)]`` (one factory per endpoint: round-robin).
    ``workers`` defaults to the cluster's CPUs over ``cpus_per_worker``, at most one per task.
    """
    if not model_factories:
        raise ValueError("run_bench_ray needs at least one model factory")
    ray = import_ray()
    driver_suite = suite.build()
    try:
        ledger = RunLedger(
            driver_suite,
            method_name,
            settings,
            model_name,
            db,
            tasks,
            show_progress=show_progress,
            console=console,
        )
    finally:
        driver_suite.close()
    if not ledger.todo:  # a finished run costs nothing: Ray is not even started
        with ledger:
            pass
        return ledger.summary()
    local_cpus = None
    if address is None and workers is not None:
        local_cpus = max(os.cpu_count() or 1, math.ceil(workers * cpus_per_worker))
    started = _connect(ray, address, local_cpus)
    pool: list[Any] = []
    try:
        if workers is None:
            cpus = ray.cluster_resources().get("CPU", 1.0)
            workers = max(1, int(cpus // cpus_per_worker))
        actor = ray.remote(
            num_cpus=cpus_per_worker, max_restarts=-1, max_task_retries=TASK_RETRIES
        )(TaskWorker)
        pool = [
            actor.remote(suite, method_name, settings, model_factories[i % len(model_factories)])
            for i in range(min(workers, len(ledger.todo)))
        ]
        with ledger:
            _drive(ray, ledger, pool)
    finally:
        for worker in pool:
            ray.kill(worker, no_restart=True)
        if started:
            ray.shutdown()
    return ledger.summary()


def _drive(ray: ModuleType, ledger: RunLedger, pool: list[Any]) -> None:
    """Keep every worker busy with the next task; record each result as it arrives."""
    from ray.exceptions import RayActorError, RayTaskError

    pending = deque(ledger.todo)
    running: dict[Any, tuple[Any, BenchTask]] = {}

    def dispatch(worker: Any) -> None:
        while pending:
            task = pending.popleft()
            if not ledger.finished_elsewhere(task):  # another process may share the run
                running[worker.run.remote(task)] = (worker, task)
                return

    for worker in pool:
        dispatch(worker)
    while running:
        [ref], _ = ray.wait(list(running), num_returns=1)
        worker, task = running.pop(ref)
        try:
            fields, error = ray.get(ref)
        except RayTaskError as exc:  # run_task lets through only errors that stop the run
            raise exc.as_instanceof_cause() from None
        except RayActorError as exc:
            if exc.actor_init_failed:
                raise RuntimeError(f"a Ray worker could not start: {exc}") from None
            fields, error = _lost(task, exc, ledger.default_oracle)
        ledger.record(task, fields, error)
        dispatch(worker)
