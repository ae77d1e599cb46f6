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
) -> list[BenchTask]:
    """The tasks of a run: explicit ``indices`` (positions or task ids), else the first ``limit``
    of a shuffle seeded by ``seed`` (the same sample for every method), else all of them."""
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


def run_task(
    suite: Suite, method_name: str, task: BenchTask, settings: BenchSettings, model: ModelCache
) -> tuple[dict[str, Any], str | None]:
    """Run one task; returns the row's fields and the error (None when it ran through)."""
    method = get_method(method_name)
    env = suite.make_env(task)
    started = time.perf_counter()
    fields: dict[str, Any] = {
        "oracle": method.is_oracle(settings),
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
    }
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
    method = get_method(method_name)
    config = run_config(suite, method_name, settings)
    chash = config_hash(config)
    done = db.done(suite.name, method_name, model_name, chash)
    todo = [t for t in tasks if t.task_id not in done]
    model = ModelCache(model_factory)
    resumed = [t.task_id for t in tasks if t.task_id in done]  # the run's other tasks not counted
    wins = sum(
        r.success
        for r in db.rows(
            suite=suite.name, method=method_name, model=model_name, chash=chash, task_ids=resumed
        )
    )
    finished = len(resumed)
    progress = Progress(
        TextColumn(f"{suite.name} / {method_name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        disable=not show_progress,
        transient=False,
    )

    def rate() -> str:
        return f"success {wins}/{finished} ({wins / finished:.0%})" if finished else "success -"

    with progress:
        bar = progress.add_task("run", total=len(tasks), completed=finished, rate=rate())
        ran = 0
        for task in todo:
            theirs = db.rows(
                suite=suite.name,
                method=method_name,
                model=model_name,
                chash=chash,
                task_ids=[task.task_id],
            )
            if theirs and theirs[0].error is None:
                # another process sharing this run finished it meanwhile: count it, do not rerun
                finished += 1
                wins += theirs[0].success
                progress.update(bar, advance=1, rate=rate())
                continue
            ran += 1
            fields, error = run_task(suite, method_name, task, settings, model)
            row = ResultRow(
                suite=suite.name,
                method=method_name,
                model=model_name,
                config_hash=chash,
                task_id=task.task_id,
                task_index=task.index,
                difficulty=task.difficulty,
                config=config,
                error=error,
                **fields,
            )
            db.put(row)
            finished += 1
            wins += row.success
            progress.update(bar, advance=1, rate=rate())
            if show_progress and not progress.console.is_terminal:  # a log: a line per task
                progress.console.print(
                    _task_line(row, finished, len(tasks), rate()),
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
    rows = db.rows(
        suite=suite.name,
        method=method_name,
        model=model_name,
        chash=chash,
        task_ids=[t.task_id for t in tasks],
    )
    summary = summarize(rows)
    oracle = any(r.oracle for r in rows) if rows else method.is_oracle(settings)
    return {
        "suite": suite.name,
        "method": method_name,
        "model": model_name,
        "config_hash": chash,
        "oracle": oracle,
        **summary,
        "ran": ran,
        "skipped": len(tasks) - ran,
        "results": db.path,
    }
