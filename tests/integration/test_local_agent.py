"""SLINVIT with the real embedded model (Qwen2.5-Coder-1.5B on llama-server), end to end.

CI prepares the model and the server (tools/prepare_local_model.py). Set
SLINVIT_SKIP_LOCAL_MODEL=1 to skip on a machine without them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from langgraph_slinvit import cli
from langgraph_slinvit.demo import (
    DEMO_ANSWER,
    DEMO_SHELL_TASK,
    demo_workspace,
)
from langgraph_slinvit.envs.base import Observation

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(
        os.environ.get("SLINVIT_SKIP_LOCAL_MODEL") == "1", reason="SLINVIT_SKIP_LOCAL_MODEL=1"
    ),
]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert cli.main([*argv, "--json", "--seed", "0"]) == 0
    return json.loads(capsys.readouterr().out)


def test_demo_question_is_answered_correctly(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(["demo"], capsys)
    assert result["actions"], "the agent ran no query"
    for name in DEMO_ANSWER:  # the rendered result of the final query is part of the answer
        assert name in result["answer"]
    assert "Donald Knuth" not in result["answer"].split("```")[-1]
    assert 1 <= result["usage"]["llm_calls"] <= 80


def test_first_result_answers_the_demo_with_its_first_query(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # stop_when=first_result: the first real query that runs is the answer; no further
    # decision is made after it (one real action, whatever the model would propose next)
    result = run_cli(["demo", "--stop-when", "first_result"], capsys)
    assert len(result["actions"]) == 1
    assert result["usage"]["env_steps"] == 1
    for name in DEMO_ANSWER:
        assert name in result["answer"]


def test_shell_task_counts_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = demo_workspace(tmp_path / "work")
    before = {p: p.read_bytes() for p in work.rglob("*") if p.is_file()}
    result = run_cli(["run", DEMO_SHELL_TASK, "--dir", str(work), "--k", "2"], capsys)
    assert result["actions"]
    final_output = result["answer"].split("```")[-1]
    assert final_output.strip().splitlines()[-1].strip() == "2"  # todo.txt and ideas.txt
    # a read-only task: the real workdir is unchanged
    assert {p: p.read_bytes() for p in work.rglob("*") if p.is_file()} == before


class _FirstForksFail:
    """A real SQLite environment whose first ``n`` forks fail every action (as if each
    candidate query had an error), so the first round of the first decision fails."""

    def __init__(self, env, n: int) -> None:
        self._env, self._left = env, n
        self.failed: list[str] = []

    def __getattr__(self, name: str):
        return getattr(self._env, name)

    def fork(self, **kw):
        fork = self._env.fork(**kw)
        if self._left <= 0:
            return fork
        self._left -= 1
        outer = self

        class Failing:
            def __getattr__(self, name: str):
                return getattr(fork, name)

            def step(self, action: str) -> Observation:
                outer.failed.append(action)
                return Observation(output="Error: made to fail", ok=False, error="made to fail")

        return Failing()
