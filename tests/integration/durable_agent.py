"""A SLINVIT run in its own process, for the kill -9 durability test.

    python -m tests.integration.durable_agent CHECKPOINT_DB WORKDIR JOURNAL THREAD start|resume

The environment appends to ``WORKDIR/log.txt`` (its real side effect) and, when the file
``WORKDIR/slow`` exists, sleeps after each real action: the window in which the test kills it.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver

from langgraph_slinvit import SlinvitConfig, create_slinvit_agent
from langgraph_slinvit.envs import Observation, ShellEnvironment
from tests.conftest import fenced, scripted

ACTIONS = ["echo first >> log.txt", "echo second >> log.txt"]


class SlowAfterStep(ShellEnvironment):
    """A shell that pauses after each *real* action when asked to (forks do not pause)."""

    def step(self, action: str) -> Observation:
        obs = super().step(action)
        if not self.is_fork and (self.workdir / "slow").exists():
            (self.workdir / "acted").write_text(action)
            time.sleep(60)
        return obs


def main() -> None:
    db, workdir, journal, thread, mode = sys.argv[1:6]
    model = scripted([fenced(ACTIONS[0], "bash")], after="SUBMIT")

    def responder(messages, n):  # first action, then the second, then submit
        body = str(messages[-1].content)
        if "Result 2" in body:
            return ["SUBMIT"] * n
        if "Result 1" in body:
            return [fenced(ACTIONS[1], "bash")] * n
        return [fenced(ACTIONS[0], "bash")] * n

    model.responder = responder
    conn = sqlite3.connect(db, check_same_thread=False)
    env = SlowAfterStep(Path(workdir), timeout=5)
    cfg = SlinvitConfig(k=1, rollouts=1, summarize_answer=False, journal_path=journal)
    agent = create_slinvit_agent(model, env, config=cfg, checkpointer=SqliteSaver(conn))
    config = {"configurable": {"thread_id": thread}}
    if mode == "start":
        out = agent.invoke({"messages": [("user", "log two lines")]}, config)
    else:
        out = agent.invoke(None, config)
    print(
        json.dumps(
            {"actions": [s["action"] for s in out["steps"]], "stop_reason": out["stop_reason"]}
        )
    )
    env.close()


if __name__ == "__main__":
    main()
