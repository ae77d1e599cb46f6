"""Print what SLINVIT itself costs, apart from the model.

    python tools/bench_overhead.py            # forks and per-decision overhead (instant model)
    python tools/bench_overhead.py --real     # also one decision with the embedded local model

* SQLite fork: in-memory copy (backup API) of the largest Spider database.
* Workdir fork: copy of a working directory of a few hundred files, then the fork's first
  command, with the sandboxed shell started by the fork (bubblewrap) or pre-started
  (``prestarted_forks``); the same for an InterCode-Bash task's file system. Each in the
  system's temporary directory, then in ``/dev/shm`` (``fork_dir``; ``--fork-dir`` to choose).
* Overhead per decision: a full SLINVIT decision (propose, k branches, M rollouts, score,
  select, act) with an instant scripted model: everything that is not the model.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from langgraph_slinvit import SlinvitConfig, create_slinvit_agent
from langgraph_slinvit.bench.task_envs.bash import BashTaskEnvironment
from langgraph_slinvit.bench.task_envs.spider_sqlite import build_spider_sqlite
from langgraph_slinvit.bench.tasks import load_bash_tasks
from langgraph_slinvit.demo import DEMO_QUESTION, demo_database
from langgraph_slinvit.envs import ShellEnvironment, SQLEnvironment
from langgraph_slinvit.testing import ScriptedChatModel

QUERIES = [
    "SELECT name FROM customers WHERE id NOT IN (SELECT customer_id FROM orders)",
    "SELECT c.name FROM customers c LEFT JOIN orders o ON o.customer_id = c.id WHERE o.id IS NULL",
    "SELECT name FROM customers",
]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(label: str, ms: list[float], target: str = "") -> None:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    print(
        f"{label:<44} median {statistics.median(ms):8.2f} ms   p95 {p95:8.2f} ms   "
        f"n={len(ms)}  {target}"
    )


def sqlite_fork() -> None:
    dbs = build_spider_sqlite()
    name, path = max(dbs.items(), key=lambda kv: kv[1].stat().st_size)
    with SQLEnvironment(f"sqlite:///{path}") as env:

        def fork_close() -> None:
            env.fork().close()

        ms = timed(fork_close, 50)
    size = path.stat().st_size / 1024
    report(f"SQLite fork ({name}, {size:.0f} KiB)", ms, "target < 5 ms")


def fork_ready(env: ShellEnvironment | BashTaskEnvironment, label: str, repeat: int) -> None:
    """A fork until its first command has run (copy, and the sandbox start unless pre-started);
    forks come 0.5 s apart, as between a decision's model calls, and are closed at once."""

    def fork_and_run() -> None:
        fork = env.fork()
        fork.step("true")
        fork.close()

    fork_and_run()  # the first fork starts the pool
    ms = []
    for _ in range(repeat):
        time.sleep(0.5)
        ms += timed(fork_and_run, 1)
    report(label, ms, "target < 50 ms")


def workdir_fork(files: int = 300, repeat: int = 20, fork_dir: str | None = None) -> None:
    where = f" in {fork_dir}" if fork_dir else ""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "work"
        for i in range(files):
            sub = root / f"dir{i % 10}"
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"file{i}.txt").write_text(f"line {i}\n" * 20)
        with ShellEnvironment(root, prestarted_forks=0, fork_dir=fork_dir) as env:
            ms = timed(lambda: env.fork().close(), repeat)
            report(f"workdir fork ({files} files){where}: copy only", ms)
            fork_ready(env, "  + first command, shell started by the fork", repeat)
        with ShellEnvironment(root, fork_dir=fork_dir) as env:
            fork_ready(env, "  + first command, pre-started shell", repeat)
    task = load_bash_tasks()[0]
    with BashTaskEnvironment(task, prestarted_forks=0, fork_dir=fork_dir) as env:
        label = f"InterCode-Bash fork (fs{task.fs}){where}, shell started by the fork"
        fork_ready(env, label, repeat)
    with BashTaskEnvironment(task, fork_dir=fork_dir) as env:
        fork_ready(env, f"InterCode-Bash fork (fs{task.fs}){where}, pre-started shell", repeat)


def instant_model() -> ScriptedChatModel:
    def responder(messages, n):
        body = str(messages[-1].content)
        if "Answer the task" in body:
            return ["Two customers never ordered."] * n
        if "Result 1" in body:
            return ["SUBMIT"] * n
        return [f"```sql\n{QUERIES[i % len(QUERIES)]}\n```" for i in range(n)]

    return ScriptedChatModel(responder=responder, calls=[])


def decision_overhead(model_factory: Callable[[], object], runs: int, label: str) -> float:
    cfg = SlinvitConfig(k=3, rollouts=2, summarize_answer=False)
    per_decision = []
    with SQLEnvironment(f"sqlite:///{demo_database()}") as env:
        for _ in range(runs):
            agent = create_slinvit_agent(model_factory(), env, config=cfg)
            start = time.perf_counter()
            out = agent.invoke({"messages": [("user", DEMO_QUESTION)]})
            elapsed = (time.perf_counter() - start) * 1000
            decisions = max(1, out["steps"][-1]["decision"] + 1 if out["steps"] else 1)
            decisions += 1 if out["stop_reason"] == "submitted" else 0
            per_decision.append(elapsed / decisions)
    report(label, per_decision)
    return statistics.median(per_decision)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real", action="store_true", help="also time the local model")
    parser.add_argument(
        "--fork-dir",
        nargs="+",
        default=[None, "/dev/shm"],
        help="where shell forks copy their files (the default measures the system's temporary "
        "directory, then /dev/shm)",
    )
    args = parser.parse_args()
    sqlite_fork()
    for fork_dir in args.fork_dir:
        workdir_fork(fork_dir=fork_dir)
    overhead = decision_overhead(instant_model, 20, "decision, instant model (k=3, M=2)")
    if args.real:
        from langgraph_slinvit.models import chat_model

        model = chat_model()
        real = decision_overhead(lambda: model, 2, "decision, embedded local model (k=3, M=2)")
        print(f"overhead share of a real decision: {100 * overhead / real:.2f}%  (target < 5%)")


if __name__ == "__main__":
    main()
