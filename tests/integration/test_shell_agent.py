"""The SLINVIT shell agent over a real bash (pexpect) in the bubblewrap sandbox."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from langgraph_slinvit import SlinvitConfig, create_slinvit_agent
from langgraph_slinvit.demo import demo_workspace
from langgraph_slinvit.envs import ShellEnvironment
from langgraph_slinvit.envs.shell import _session_members
from tests.conftest import fenced, scripted

RIGHT = "cat notes/*.txt | wc -l"
DESTRUCTIVE = ["rm -rf notes", "mv notes/todo.txt notes/done.txt", "echo gone > notes/ideas.txt"]


def snapshot(root: Path) -> dict[str, tuple[str, float]]:
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            out[str(path.relative_to(root))] = (
                hashlib.sha256(path.read_bytes()).hexdigest(),
                path.stat().st_mtime,
            )
    return out


def test_rollouts_run_rm_mv_and_redirects_but_the_real_workdir_is_unchanged(
    tmp_path: Path,
) -> None:
    work = demo_workspace(tmp_path / "work")
    before = snapshot(work)
    # the read-only command is the model's favourite; the destructive ones are rolled out too
    model = scripted(
        [fenced(RIGHT, "bash")] * 3 + [fenced(a, "bash") for a in DESTRUCTIVE], summary="5 lines."
    )
    events = []
    with ShellEnvironment(work, timeout=5) as env:
        agent = create_slinvit_agent(model, env, config=SlinvitConfig(k=4, rollouts=1, samples=6))
        final = {}
        for mode, chunk in agent.stream(
            {"messages": [("user", "How many lines do the .txt notes have?")]},
            stream_mode=["custom", "values"],
        ):
            if mode == "custom":
                events.append(chunk)
            else:
                final = chunk
    rolled = {a for e in events if e["type"] == "rollout" for a in e["path"]}
    assert set(DESTRUCTIVE) <= rolled
    assert [s["action"] for s in final["steps"]] == [RIGHT]
    assert final["steps"][0]["observation"]["output"].strip() == "5"
    assert snapshot(work) == before


def test_fork_isolation_for_absolute_paths(tmp_path: Path) -> None:
    work = demo_workspace(tmp_path / "work")
    before = snapshot(work)
    with ShellEnvironment(work) as env:
        fork = env.fork()
        obs = fork.step(f"rm -rf {work}/notes && ls {work}")
        assert obs.ok, obs.output
        assert "notes" not in obs.output  # deleted inside the fork, at the same absolute path
        nested = fork.fork()
        assert "notes" not in nested.step("ls").output
        nested.close()
        fork.close()
        assert "todo.txt" in env.step("ls notes").output
    assert snapshot(work) == before


def test_cwd_and_variables_persist_and_output_is_truncated(tmp_path: Path) -> None:
    work = demo_workspace(tmp_path / "work")
    with ShellEnvironment(work, max_chars=200) as env:
        assert env.step("cd notes && export X=42").ok
        assert env.step("pwd").output == str(work / "notes")
        assert env.step("echo $X").output == "42"
        big = env.step("yes abcdefgh | head -c 50000000")
        assert big.ok and big.details["bytes"] >= 50_000_000  # plus yes's "Broken pipe" on stderr
        assert len(big.output) < 400 and "truncated" in big.output
        failing = env.step("ls /no/such/place")
        assert not failing.ok and failing.details["exit_code"] != 0


def test_hanging_command_is_killed_within_its_timeout(tmp_path: Path) -> None:
    work = demo_workspace(tmp_path / "work")
    with ShellEnvironment(work, timeout=1.5) as env:
        env.step("cd notes")
        child = env._child
        assert child is not None
        session = child.pid
        started = time.monotonic()
        obs = env.step("sleep 1000 & sleep 1000; echo never")
        elapsed = time.monotonic() - started
        assert obs.timed_out and "killed" in obs.output
        assert elapsed < 1.5 + 2.0
        assert _session_members(session) == []  # nothing of the old session survives
        # the shell was restarted in the same directory
        assert env.step("pwd").output == str(work / "notes")


def test_a_command_that_only_changes_files_is_a_result_rollouts_can_agree_on(
    tmp_path: Path,
) -> None:
    work = demo_workspace(tmp_path / "work")
    with ShellEnvironment(work) as env:
        quiet = env.step("true")
        assert quiet.ok and quiet.empty  # no output, no file change: nothing to agree on
        moves = []
        for command in [
            "mv notes/todo.txt notes/done.txt",
            "mv notes/todo.txt notes/done.txt",
            "mv notes/todo.txt notes/finished.txt",
        ]:
            fork = env.fork()
            moves.append(fork.step(command))
            again = fork.step("true")
            assert again.empty  # the change is the previous command's, not this one's
            fork.close()
        assert all(m.ok and not m.empty and m.output == "(no output)" for m in moves)
        assert moves[0].signature == moves[1].signature != moves[2].signature
        assert env.step("ls notes/todo.txt").ok  # the real workdir was not touched
