"""Forks on pre-started sandboxed shells behave exactly like forks that start their own."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from langgraph_slinvit.bench.task_envs.bash import BashTaskEnvironment, TaskRootSandbox
from langgraph_slinvit.bench.tasks import load_bash_tasks
from langgraph_slinvit.envs.sandbox import sandbox_available
from langgraph_slinvit.envs.shell import (
    ShellEnvironment,
    ShellEnvironmentError,
    copy_tree_nofollow,
)
from langgraph_slinvit.envs.shell_pool import ShellPool

pytestmark = pytest.mark.skipif(not sandbox_available()[0], reason=sandbox_available()[1])

COMMANDS = [
    "pwd",
    # the fork's own parent folder ("..") is made when the fork is, so its time is left out
    "ls -la --time-style=+%s . sub | sed 1d | grep -v ' [.][.]$'",
    "cat sub/a.txt",
    "echo changed > sub/a.txt && touch -d @1000000 sub/a.txt && echo new > b.txt",
    "stat -c '%n %s %a %Y' sub/a.txt && stat -c '%n %s %a' b.txt",
    "cd /tmp && pwd && ls -d pytest-of-*",
]


def _project(tmp_path: Path) -> Path:
    work = tmp_path / "project"
    (work / "sub").mkdir(parents=True)
    (work / "sub" / "a.txt").write_text("a\n")
    (work / "run.sh").write_text("echo hi\n")
    (work / "run.sh").chmod(0o755)
    (work / "link").symlink_to("sub/a.txt")
    return work


def _wait_ready(pool: ShellPool, n: int) -> None:
    deadline = time.monotonic() + 30
    while len(pool._ready) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(pool._ready) >= n, f"pool did not start {n} shells: {pool.error}"


def _outputs(env: ShellEnvironment | BashTaskEnvironment) -> list[str]:
    return [env.step(c).output for c in COMMANDS]


def test_a_pooled_fork_matches_a_fork_that_starts_its_own_shell(tmp_path: Path) -> None:
    work = _project(tmp_path)
    with ShellEnvironment(work) as pooled, ShellEnvironment(work, prestarted_forks=0) as plain:
        for env in (pooled, plain):
            env.step("cd sub")
        first = pooled.fork()  # the first fork starts the pool (and its own shell)
        first.close()
        pool = pooled.fork_pool()
        assert pool is not None and plain.fork_pool() is None
        _wait_ready(pool, 2)
        with pooled.fork() as a, plain.fork() as b:
            assert pool.taken_ready >= 1
            assert a.cwd == b.cwd == work / "sub"
            a.step("cd ..")
            b.step("cd ..")
            assert _outputs(a) == _outputs(b)
        # the forks' writes never reached the real directory
        assert (work / "sub" / "a.txt").read_text() == "a\n"
        assert not (work / "b.txt").exists()


@pytest.mark.parametrize("prestarted", [0, 2])
def test_forks_copy_into_the_chosen_fork_dir_and_behave_as_elsewhere(
    tmp_path: Path, prestarted: int
) -> None:
    work, fork_dir = _project(tmp_path), tmp_path / "forks"
    fork_dir.mkdir()
    with (
        ShellEnvironment(work, prestarted_forks=prestarted, fork_dir=fork_dir) as there,
        ShellEnvironment(work, prestarted_forks=0) as default,
    ):
        with there.fork() as a, default.fork() as b:
            assert a._host_root.is_relative_to(fork_dir)
            assert not b._host_root.is_relative_to(fork_dir)
            assert a.step("./run.sh").output == "hi"  # files there may be run
            assert _outputs(a) == _outputs(b)
        if not prestarted:  # a closed fork leaves nothing (pre-started shells wait there)
            assert list(fork_dir.iterdir()) == []
    assert list(fork_dir.iterdir()) == []  # closing the environment discards them too
    assert (work / "sub" / "a.txt").read_text() == "a\n"


def test_a_task_root_fork_copies_into_the_chosen_fork_dir(tmp_path: Path) -> None:
    task = next(t for t in load_bash_tasks() if t.task_id == "nl2bash-fs1-008")
    with BashTaskEnvironment(task, fork_dir=tmp_path, prestarted_forks=0) as env:
        with env.fork() as fork:
            assert fork.root.is_relative_to(tmp_path)
            fork.step("rm -r /testbed")
            assert fork.fs_diff()
        assert env.fs_diff() == {}
    assert list(tmp_path.iterdir()) == []


def test_forks_of_forks_share_the_pool_and_close_discards_it(tmp_path: Path) -> None:
    work = _project(tmp_path)
    env = ShellEnvironment(work, prestarted_forks=2)
    fork = env.fork()
    pool = env.fork_pool()
    assert pool is not None and fork.fork_pool() is pool
    _wait_ready(pool, 2)
    dirs = [shell.host_root for shell in pool._ready]
    pids = [shell.child.pid for shell in pool._ready]
    grandchild = fork.fork()
    assert grandchild.step("cat sub/a.txt").output == "a"
    assert pool.taken_ready >= 1
    grandchild.close()
    fork.close()  # a fork does not own the pool
    assert not pool._closed
    env.close()
    assert pool._closed and not pool._ready
    for path in dirs:
        assert not path.exists() or path == grandchild._host_root
    for pid in pids:
        assert not _alive(pid), f"pre-started shell {pid} survived close()"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def test_a_task_root_fork_on_a_pooled_shell_keeps_the_tree_and_the_diff() -> None:
    task = next(t for t in load_bash_tasks() if t.task_id == "nl2bash-fs1-008")
    sandbox = TaskRootSandbox()
    # the listing leaves out ".." (/, whose mtime each sandbox start changes)
    commands = ["cd /testbed && chmod 755 *.php", "ls -lA --time-style=+%s /testbed | sed 1d"]
    with (
        BashTaskEnvironment(task, sandbox=sandbox) as pooled,
        BashTaskEnvironment(task, sandbox=sandbox, prestarted_forks=0) as plain,
    ):
        for env in (pooled, plain):
            env.step("cd /testbed")
        pooled.fork().close()
        pool = pooled.fork_pool()
        assert pool is not None
        _wait_ready(pool, 1)
        with pooled.fork() as a, plain.fork() as b:
            assert pool.taken_ready >= 1
            assert [a.step(c).output for c in commands] == [b.step(c).output for c in commands]
            assert a.fs_diff() == b.fs_diff() and a.fs_diff()
            assert a.cwd == b.cwd == Path("/testbed")
        assert pooled.fs_diff() == {}


def test_copy_into_an_existing_directory_merges_mount_points_and_refuses_conflicts(
    tmp_path: Path,
) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "usr").mkdir(parents=True)
    (src / "data.txt").write_text("x")
    (src / "bin").symlink_to("usr/bin")
    (dst / "usr").mkdir(parents=True)
    (dst / "bin").symlink_to("usr/bin")
    copy_tree_nofollow(src, dst, into_existing=True)
    assert (dst / "data.txt").read_text() == "x" and os.readlink(dst / "bin") == "usr/bin"
    other = tmp_path / "other"
    other.mkdir()
    (other / "data.txt").write_text("already here")
    with pytest.raises(ShellEnvironmentError, match="exists already"):
        copy_tree_nofollow(src, other, into_existing=True)
    assert (other / "data.txt").read_text() == "already here"
