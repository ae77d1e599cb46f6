"""``run_bench_ray`` on a local two-worker Ray cluster, with scripted models.

The scripted models run in the Ray workers (they are shipped there); faults are injected from
inside a worker (it reports its PID and waits to be killed, or kills itself) by files in the
test's temporary folder, which the driver and the workers share.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage

from langgraph_slinvit.bench.cluster import SuiteSpec, run_bench_ray
from langgraph_slinvit.bench.core import BenchSettings, BenchTask
from langgraph_slinvit.bench.results import ResultRow, ResultsDB
from langgraph_slinvit.bench.runner import run_bench, select_tasks
from langgraph_slinvit.testing import ScriptedChatModel
from tests.integration.test_bench_sql import (
    RIGHT_TASK,
    SMALL_SEARCH,
    WRONG_TASK,
    answering_model,
)

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
pytestmark = pytest.mark.ray

BW_TASKS = [0, 1, 2, 3]
SLEEPER_S = 600.0
"""How long the worker that is to be killed sleeps: far longer than a run that does not wait."""
RAY_ENDPOINT_S = 300.0
"""Lifetime of a fake endpoint that Ray workers call: they start in seconds on an idle machine,
in over 30 s (the fake endpoint's default) on a busy one."""
SOLVED = {0, 2}  # the scripted planner follows the gold plan on these, a wrong move elsewhere
TIMING = {"seconds", "created_at"}  # what may differ between two runs of the same episode


@pytest.fixture(scope="module", autouse=True)
def ray_cluster() -> Any:
    """One local Ray instance with two CPUs for the module; run_bench_ray joins it."""
    import logging

    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )
    yield ray
    ray.shutdown()


def bw_sample() -> tuple[SuiteSpec, list[BenchTask]]:
    spec = SuiteSpec("blocksworld")
    return spec, select_tasks(spec.build().tasks(), indices=BW_TASKS)


def planner(
    tasks: Sequence[BenchTask],
    fault: Callable[[BenchTask], None] | None = None,
    pids: Path | None = None,
) -> ScriptedChatModel:
    """Try-again's turns: the next gold action on the SOLVED tasks, a wrong move elsewhere.
    ``fault(task)`` runs before each reply; ``pids`` collects the PIDs that answered."""
    plans = {t.text: [a for a in t.raw.gold_plan.split("\n") if a] for t in tasks}
    solved = {t.text for t in tasks if t.index in SOLVED}

    def responder(messages: Sequence[BaseMessage], n: int) -> list[str]:
        body = "\n".join(str(m.content) for m in messages)
        text = next(q for q in plans if q in body)
        if fault is not None:
            fault(next(t for t in tasks if t.text == text))
        if pids is not None:
            with pids.open("a") as f:
                f.write(f"{os.getpid()}\n")
        done = len(re.findall(r"^Action \d+:", str(messages[-1].content), re.M))
        plan = plans[text]
        action = plan[done] if text in solved and done < len(plan) else "stack the sky"
        return [f"```text\n{action if done < len(plan) else 'SUBMIT'}\n```"] * n

    return ScriptedChatModel(responder=responder, calls=[])


def comparable(rows: list[ResultRow]) -> dict[str, dict[str, Any]]:
    return {r.task_id: {k: v for k, v in asdict(r).items() if k not in TIMING} for r in rows}


def single_process_rows(
    spec: SuiteSpec, method: str, settings: BenchSettings, model: Any, tasks: list, path: Path
) -> list[ResultRow]:
    with ResultsDB(path) as db:
        run_bench(spec.build(), method, settings, lambda t: model, "scripted", db, tasks,
                  show_progress=False)  # fmt: skip
        return db.rows()


class CountingDB(ResultsDB):
    """A results database that counts the rows written per task."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes: Counter[str] = Counter()

    def put(self, row: ResultRow) -> None:
        self.writes[row.task_id] += 1
        super().put(row)


def on_ray(
    spec: SuiteSpec,
    method: str,
    settings: BenchSettings,
    model: Any,
    tasks: list,
    db: ResultsDB,
    **kw: Any,
) -> dict[str, Any]:
    return run_bench_ray(
        spec, method, settings, [lambda t: model], "scripted", db, tasks,
        workers=2, show_progress=False, **kw,
    )  # fmt: skip


def test_two_workers_give_the_rows_of_one_process_on_blocksworld(tmp_path: Path) -> None:
    spec, tasks = bw_sample()
    settings = BenchSettings()
    alone = single_process_rows(spec, "try-again", settings, planner(tasks), tasks,
                                tmp_path / "one.sqlite")  # fmt: skip
    pids = tmp_path / "pids"
    with CountingDB(tmp_path / "ray.sqlite") as db:
        summary = on_ray(spec, "try-again", settings, planner(tasks, pids=pids), tasks, db)
        rows = db.rows()
    assert comparable(rows) == comparable(alone)
    assert summary["n"] == 4 and summary["successes"] == len(SOLVED) and summary["ran"] == 4
    assert {r.task_id for r in rows if r.success} == {tasks[i].task_id for i in SOLVED}
    workers = set(pids.read_text().split())
    assert len(workers) == 2 and str(os.getpid()) not in workers  # both workers ran episodes
    assert set(db.writes.values()) == {1}


def test_two_workers_give_the_rows_of_one_process_on_intercode_sql(
    cache_dir: Path, tmp_path: Path
) -> None:
    spec = SuiteSpec("intercode-sql", options={"sqlite_dir": str(cache_dir / "spider_sqlite")})
    suite = spec.build()
    tasks = select_tasks(suite.tasks(), indices=[RIGHT_TASK, WRONG_TASK, 0, 1])
    settings = BenchSettings(slinvit=SMALL_SEARCH)
    base = answering_model(suite)
    known = {t.text for t in tasks[:2]}

    def responder(messages: Sequence[BaseMessage], n: int) -> list[str]:
        if not any(q in str(m.content) for m in messages for q in known):
            return ["```sql\nSELECT count(*) FROM sqlite_master\n```"] * n  # the other tasks
        return list(base.responder(messages, n))

    model = ScriptedChatModel(responder=responder, calls=[])
    alone = single_process_rows(spec, "slinvit", settings, model, tasks, tmp_path / "one.sqlite")
    with ResultsDB(tmp_path / "ray.sqlite") as db:
        summary = on_ray(spec, "slinvit", settings, model, tasks, db)
        rows = db.rows()
    assert comparable(rows) == comparable(alone)
    assert summary["n"] == 4 and summary["errors"] == 0 and summary["successes"] >= 1
    assert all(r.llm_calls >= 1 and r.env_steps >= 1 for r in rows)


def test_a_killed_worker_loses_only_its_task_which_is_retried_once(tmp_path: Path) -> None:
    spec, tasks = bw_sample()
    victim = tasks[1]
    marker = tmp_path / "victim.pid"

    def wait_to_be_killed(task: BenchTask) -> None:
        if task.task_id == victim.task_id and not marker.exists():
            marker.write_text(str(os.getpid()))
            time.sleep(SLEEPER_S)  # killed meanwhile; the retry finds the marker and goes on

    killed: list[int] = []

    def killer() -> None:
        for _ in range(600):
            if marker.exists() and marker.read_text():
                pid = int(marker.read_text())
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.1)

    settings = BenchSettings()
    alone = single_process_rows(spec, "try-again", settings, planner(tasks), tasks,
                                tmp_path / "one.sqlite")  # fmt: skip
    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    pids = tmp_path / "pids"
    started = time.monotonic()
    with CountingDB(tmp_path / "ray.sqlite") as db:
        model = planner(tasks, fault=wait_to_be_killed, pids=pids)
        summary = on_ray(spec, "try-again", settings, model, tasks, db)
        rows = db.rows()
    thread.join(timeout=5)
    # the run did not wait for the sleeper (a busy machine takes a minute or two to start Ray)
    assert killed and time.monotonic() - started < SLEEPER_S / 2
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0], 0)  # that worker is gone
    assert summary["errors"] == 0 and summary["ran"] == 4
    assert comparable(rows) == comparable(alone)  # the retried task as if nothing happened
    assert set(db.writes.values()) == {1}
    assert str(killed[0]) not in pids.read_text().split()  # it died before answering


def test_a_task_whose_worker_dies_twice_is_an_error_that_a_rerun_retries(tmp_path: Path) -> None:
    spec, tasks = bw_sample()
    victim = tasks[2]
    tries = tmp_path / "tries"

    def die(task: BenchTask) -> None:
        if task.task_id == victim.task_id:
            with tries.open("a") as f:
                f.write(f"{os.getpid()}\n")
            os.kill(os.getpid(), signal.SIGKILL)

    settings = BenchSettings()
    with CountingDB(tmp_path / "ray.sqlite") as db:
        first = on_ray(spec, "try-again", settings, planner(tasks, fault=die), tasks, db)
        lost = {r.task_id: r for r in db.rows()}[victim.task_id]
        assert len(tries.read_text().split()) == 2  # the first try and exactly one retry
        assert first["errors"] == 1 and first["n"] == 4 and first["ran"] == 4
        assert lost.error is not None and lost.error.startswith("WorkerLost:")
        assert not lost.success and lost.llm_calls == 0 and "worker_error" in lost.details
        assert all(r.error is None for r in db.rows() if r.task_id != victim.task_id)
        # a rerun runs only the task that ended in an error, now with a worker that lives
        again = on_ray(spec, "try-again", settings, planner(tasks), tasks, db)
        rows = {r.task_id: r for r in db.rows()}
    assert again["ran"] == 1 and again["skipped"] == 3 and again["errors"] == 0
    assert rows[victim.task_id].error is None and rows[victim.task_id].success
    assert db.writes[victim.task_id] == 2 and sum(db.writes.values()) == 5


def test_a_rerun_resumes_and_writes_no_row_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, tasks = bw_sample()
    settings = BenchSettings()
    path = tmp_path / "results.sqlite"
    single_process_rows(spec, "try-again", settings, planner(tasks), tasks[:2], path)
    with CountingDB(path) as db:
        before = {r.task_id: r.created_at for r in db.rows()}
        resumed = on_ray(spec, "try-again", settings, planner(tasks), tasks, db)
        assert resumed["ran"] == 2 and resumed["skipped"] == 2 and resumed["n"] == 4
        assert set(db.writes) == {t.task_id for t in tasks[2:]}
        assert set(db.writes.values()) == {1}
        # the same command again: nothing to run, nothing written, no worker started
        monkeypatch.setattr(ray, "remote", lambda *a, **k: pytest.fail("a worker was started"))
        nothing = on_ray(spec, "try-again", settings, planner(tasks), tasks, db)
        rows = db.rows()
    assert nothing["ran"] == 0 and nothing["skipped"] == 4
    assert sum(db.writes.values()) == 2 and len(rows) == 4
    assert {r.task_id: r.created_at for r in rows if r.task_id in before} == before
    assert nothing["success_rate"] == resumed["success_rate"] == 0.5


def test_the_command_line_spreads_the_workers_over_two_endpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from langgraph_slinvit import cli
    from tests.integration import test_endpoint_faults as faults

    _, tasks = bw_sample()
    plans = {t.text: t.raw.gold_plan.strip() for t in tasks}

    def whole_plan(body: dict) -> str:  # `single` asks for the whole plan in one reply
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        return "```text\n" + next(p for q, p in plans.items() if q in prompt) + "\n```"

    monkeypatch.setattr(faults, "reply_for", whole_plan)
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    first = faults.FakeEndpoint(lambda i: "ok", lifetime=RAY_ENDPOINT_S)
    second = faults.FakeEndpoint(lambda i: "ok", lifetime=RAY_ENDPOINT_S)
    try:
        code = cli.main(
            ["bench", "--suite", "blocksworld", "--method", "single",
             "--tasks", ",".join(map(str, BW_TASKS)), "--results", str(tmp_path / "r.sqlite"),
             "--ray", "--workers", "2", "--base-url", f"{first.url},{second.url}",
             "--model", "fake", "--json"]
        )  # fmt: skip
    finally:
        first.stop()
        second.stop()
    out = capsys.readouterr()
    assert code == 0, out.err[-2000:]  # the command's own error line, when it fails
    summary = json.loads(out.out)
    assert summary["n"] == 4 and summary["successes"] == 4
    assert summary["model"] == "fake" and summary["errors"] == 0
    assert len(first.requests) >= 1 and len(second.requests) >= 1  # one endpoint per worker
    assert len(first.requests) + len(second.requests) == 4  # one request per task


def test_an_endpoint_that_is_down_stops_the_run_as_in_one_process(tmp_path: Path) -> None:
    from langgraph_slinvit.policy import ModelEndpointError

    spec, tasks = bw_sample()
    down = ScriptedChatModel(error=ModelEndpointError("endpoint http://gone/v1 is down"), calls=[])
    for runner in ("one process", "ray"):
        with ResultsDB(tmp_path / f"{runner}.sqlite") as db:
            with pytest.raises(ModelEndpointError, match="is down"):
                if runner == "ray":
                    on_ray(spec, "single", BenchSettings(), down, tasks, db)
                else:
                    run_bench(spec.build(), "single", BenchSettings(), lambda t: down,
                              "scripted", db, tasks, show_progress=False)  # fmt: skip
            assert db.rows() == []  # no task is recorded as failed for it: a rerun runs them all


def test_the_command_starts_and_stops_its_own_local_ray(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys

    from tests.integration import test_endpoint_faults as faults

    _, tasks = bw_sample()
    plans = {t.text: t.raw.gold_plan.strip() for t in tasks}

    def whole_plan(body: dict) -> str:
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        return "```text\n" + next(p for q, p in plans.items() if q in prompt) + "\n```"

    monkeypatch.setattr(faults, "reply_for", whole_plan)
    endpoint = faults.FakeEndpoint(lambda i: "ok", lifetime=RAY_ENDPOINT_S)
    results = tmp_path / "r.sqlite"
    command = [
        sys.executable, "-m", "langgraph_slinvit.cli", "bench", "--suite", "blocksworld",
        "--method", "single", "--tasks", "0,1,2", "--results", str(results),
        "--ray", "--workers", "2", "--base-url", endpoint.url, "--model", "fake", "--json",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAY_"))}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    finally:
        endpoint.stop()
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["n"] == 3 and summary["successes"] == 3 and summary["ran"] == 3
    assert len(endpoint.requests) == 3
    with ResultsDB(results) as db:
        assert sorted(r.task_id for r in db.rows()) == sorted(t.task_id for t in tasks[:3])
