"""Run one method on a fixed sample of one suite's tasks, resuming from the results database."""

from __future__ import annotations

import random
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from langgraph_slinvit.bench.core import BenchSettings, BenchTask, Job, Suite
from langgraph_slinvit.bench.methods import get_method
from langgraph_slinvit.bench.results import ResultRow, ResultsDB, config_hash
from langgraph_slinvit.bench.stats import summarize
from langgraph_slinvit.policy import ModelEndpointError, is_transient


def select_tasks(
    tasks: Sequence[BenchTask],
    *,
    limit: int | None = None,
    indices: Sequence[int | str] | None = None,
    seed: int = 0,
    per_level: int | None = None,
) -> list[BenchTask]:
    """The tasks of a run: explicit ``indices`` (positions or task ids), else the first ``limit``
    of a shuffle seeded by ``seed`` (the same sample for every method), else all of them.
    ``per_level`` keeps, of that shuffle, the first ``per_level`` tasks of each difficulty
    (a stratified sample: ALFWorld's task types), in suite order."""
    if per_level is not None:
        if indices is not None or limit is not None:
            raise ValueError("per_level cannot be combined with indices or limit")
        shuffled = list(tasks)
        random.Random(seed).shuffle(shuffled)
        taken: dict[str, int] = {}
        keep = set()
        for task in shuffled:
            if taken.get(task.difficulty, 0) < per_level:
                taken[task.difficulty] = taken.get(task.difficulty, 0) + 1
                keep.add(task.task_id)
        return [t for t in tasks if t.task_id in keep]
    if indices is not None:
        by_id = {t.task_id: t for t in tasks}
        chosen = []
        for item in indices:
            if isinstance(item, int):
                if not 0 <= item < len(tasks):
                    raise ValueError(f"task index {item} out of range 0..{len(tasks) - 1}")
                chosen.append(tasks[item])
            elif item in by_id:
                chosen.append(by_id[item])
            else:
                raise ValueError(f"unknown task {item!r}")
        return chosen
    if limit is None:
        return list(tasks)
    order = list(range(len(tasks)))
    random.Random(seed).shuffle(order)
    return [tasks[i] for i in order[: max(0, limit)]]


class ModelCache:
    """Builds the run's model lazily, once per temperature (no model when nothing runs)."""

    def __init__(self, factory: Callable[[float], BaseChatModel]) -> None:
        self._factory = factory
        self._models: dict[float, BaseChatModel] = {}

    def __call__(self, temperature: float) -> BaseChatModel:
        if temperature not in self._models:
            self._models[temperature] = self._factory(temperature)
        return self._models[temperature]


def _fatal(exc: BaseException) -> bool:
    """Errors that would fail every task alike (the endpoint is down): stop the run."""
    return isinstance(exc, ModelEndpointError) or is_transient(exc)


def unrun_fields(oracle: bool) -> dict[str, Any]:
    """A row's fields for a task that did not run through (nothing solved, nothing spent)."""
    return {
        "oracle": oracle,
        "success": False,
        "reward": 0.0,
        "gold_empty": None,
        "llm_calls": 0.0,
        "prompt_tokens": 0.0,
        "completion_tokens": 0.0,
        "env_steps": 0.0,
        "rollout_steps": 0.0,
        "actions": [],
        "details": {},
        "seconds": 0.0,
    }


def run_task(
    suite: Suite, method_name: str, task: BenchTask, settings: BenchSettings, model: ModelCache
) -> tuple[dict[str, Any], str | None]:
    """Run one task; returns the row's fields and the error (None when it ran through)."""
    method = get_method(method_name)
    env = suite.make_env(task)
    started = time.perf_counter()
    fields = unrun_fields(method.is_oracle(settings))
    error = None
    try:
        job = Job(suite, task, env, env.describe(), settings, model)
        result = method.run(job)
        evaluation = suite.evaluate(task, env, result.answered_steps)
        fields.update(result.usage)
        fields.update(
            oracle=result.oracle,
            success=evaluation.success,
            reward=evaluation.reward,
            gold_empty=evaluation.gold_empty,
            actions=result.actions,
            details={
                **evaluation.details,
                "method": result.details,
                "answer_step": result.answer_step,
            },
        )
    except Exception as exc:
        if _fatal(exc):
            raise
        error = f"{type(exc).__name__}: {exc}"
        fields["details"] = {"traceback": traceback.format_exc(limit=8)}
    finally:
        env.close()
    fields["seconds"] = round(time.perf_counter() - started, 3)
    return fields, error


def _task_line(row: ResultRow, finished: int, total: int, rate: str) -> str:
    outcome = f"error: {row.error}" if row.error else ("solved" if row.success else "failed")
    return (
        f"[{finished}/{total}] {row.task_id}: {outcome} (reward {row.reward:.2f}, "
        f"{row.llm_calls:.0f} LLM calls, {row.seconds:.0f} s); {rate}"
    )


def run_config(suite: Suite, method_name: str, settings: BenchSettings) -> dict[str, Any]:
    """What a run's results depend on (its configuration hash is the resume key)."""
    method = get_method(method_name)
    return {"method": method.config(settings), "suite": suite.settings(method_name)}


class RunLedger:
    """The writing side of a run: which tasks are left, one row per finished task, the progress
    bar and the running success rate. Both the in-process runner and the Ray runner record
    through it, so they resume, count and show progress alike."""

    def __init__(
        self,
        suite: Suite,
        method_name: str,
        settings: BenchSettings,
        model_name: str,
        db: ResultsDB,
        tasks: Sequence[BenchTask],
        *,
        show_progress: bool = True,
        console: Console | None = None,
    ) -> None:
        self.suite_name = suite.name
        self.method_name = method_name
        self.model_name = model_name
        self.db = db
        self.tasks = list(tasks)
        self.default_oracle = get_method(method_name).is_oracle(settings)
        self.config = run_config(suite, method_name, settings)
        self.chash = config_hash(self.config)
        done = db.done(suite.name, method_name, model_name, self.chash)
        self.todo = [t for t in self.tasks if t.task_id not in done]
        resumed = [t.task_id for t in self.tasks if t.task_id in done]  # not counted: others
        self.wins = sum(r.success for r in self._rows(resumed))
        self.finished = len(resumed)
        self.ran = 0
        self.show_progress = show_progress
        self.progress = Progress(
            TextColumn(f"{suite.name} / {method_name}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            disable=not show_progress,
            transient=False,
        )
        self._bar: Any = None

    def _rows(self, task_ids: Sequence[str]) -> list[ResultRow]:
        return self.db.rows(
            suite=self.suite_name,
            method=self.method_name,
            model=self.model_name,
            chash=self.chash,
            task_ids=task_ids,
        )

    def rate(self) -> str:
        """The running success rate of this command's tasks."""
        if not self.finished:
            return "success -"
        return f"success {self.wins}/{self.finished} ({self.wins / self.finished:.0%})"

    def __enter__(self) -> RunLedger:
        self.progress.__enter__()
        self._bar = self.progress.add_task(
            "run", total=len(self.tasks), completed=self.finished, rate=self.rate()
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def finished_elsewhere(self, task: BenchTask) -> bool:
        """True (and counted) when another process sharing the database finished ``task``."""
        theirs = self._rows([task.task_id])
        if not theirs or theirs[0].error is not None:
            return False
        self.finished += 1
        self.wins += theirs[0].success
        self.progress.update(self._bar, advance=1, rate=self.rate())
        return True

    def record(self, task: BenchTask, fields: dict[str, Any], error: str | None) -> ResultRow:
        """Write the row of a task this command ran, and show it."""
        row = ResultRow(
            suite=self.suite_name,
            method=self.method_name,
            model=self.model_name,
            config_hash=self.chash,
            task_id=task.task_id,
            task_index=task.index,
            difficulty=task.difficulty,
            config=self.config,
            error=error,
            **fields,
        )
        self.db.put(row)
        self.ran += 1
        self.finished += 1
        self.wins += row.success
        self.progress.update(self._bar, advance=1, rate=self.rate())
        if self.show_progress and not self.progress.console.is_terminal:  # a log: line per task
            self.progress.console.print(
                _task_line(row, self.finished, len(self.tasks), self.rate()),
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        return row

    def summary(self) -> dict[str, Any]:
        """The sample's summary (every task of the command, whoever ran it)."""
        rows = self._rows([t.task_id for t in self.tasks])
        return {
            "suite": self.suite_name,
            "method": self.method_name,
            "model": self.model_name,
            "config_hash": self.chash,
            "oracle": any(r.oracle for r in rows) if rows else self.default_oracle,
            **summarize(rows),
            "ran": self.ran,
            "skipped": len(self.tasks) - self.ran,
            "results": self.db.path,
        }


def run_bench(
    suite: Suite,
    method_name: str,
    settings: BenchSettings,
    model_factory: Callable[[float], BaseChatModel],
    model_name: str,
    db: ResultsDB,
    tasks: Sequence[BenchTask],
    *,
    show_progress: bool = True,
    console: Console | None = None,
) -> dict[str, Any]:
    """Run ``method_name`` on ``tasks`` and summarize the sample. Finished tasks are skipped,
    also those that another process sharing the results database finishes meanwhile, so two
    processes can split one run."""
    model = ModelCache(model_factory)
    ledger = RunLedger(
        suite,
        method_name,
        settings,
        model_name,
        db,
        tasks,
        show_progress=show_progress,
        console=console,
    )
    with ledger:
        for task in ledger.todo:
            if ledger.finished_elsewhere(task):
                continue  # counted, not rerun
            fields, error = run_task(suite, method_name, task, settings, model)
            ledger.record(task, fields, error)
    return ledger.summary()
