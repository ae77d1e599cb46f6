"""InterCode-Bash episodes in an isolated root (bubblewrap): gold rewards, host isolation, forks."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from langgraph_slinvit import SlinvitConfig, create_slinvit_agent
from langgraph_slinvit.bench.rewards.bash import compute_bash_reward
from langgraph_slinvit.bench.task_envs.bash import (
    BashTaskEnvironment,
    TaskRootSandbox,
    episode_result,
    oracle_reward_hook,
    reward,
    run_gold,
)
from langgraph_slinvit.bench.tasks import BashTask, load_bash_tasks
from langgraph_slinvit.envs.base import Environment
from langgraph_slinvit.envs.sandbox import sandbox_available
from langgraph_slinvit.value import ValueContext
from tests.conftest import fenced, scripted

pytestmark = pytest.mark.skipif(not sandbox_available()[0], reason=sandbox_available()[1])

TASKS = {t.task_id: t for t in load_bash_tasks()}
# deterministic gold commands across the four file systems: outputs, additions (also at "/"),
# removals, modifications (chmod), permission bits and mtimes of the archive
SAMPLE = [
    "nl2bash-fs1-000",  # md5sum | sort | uniq -d: output only
    "nl2bash-fs1-008",  # chmod 755 *.php: modified files
    "nl2bash-fs1-015",  # cp -R into tmp/: added file and directory
    "nl2bash-fs1-047",  # find -mtime +2 | rm: needs the archive's mtimes
    "nl2bash-fs1-057",  # ln -s ... /: a new top-level entry
    "nl2bash-fs2-000",  # grep -inr
    "nl2bash-fs2-005",  # yes y | rm -r /system/*.txt
    "nl2bash-fs2-018",  # find -mmin +5 -delete
    "nl2bash-fs2-046",  # mv -b -S .old
    "nl2bash-fs3-008",  # find -perm 400: permission bits kept
    "nl2bash-fs3-009",  # find -perm 777
    "nl2bash-fs3-011",  # mv -t / : files moved to the root
    "nl2bash-fs3-058",  # gzip -dc | tar -xf - -C /backup
    "nl2bash-fs4-006",  # mkdir -p in "/" of an empty tree
    "nl2bash-fs4-008",  # yes | head | grep | paste
]


@pytest.fixture(scope="module")
def sandbox() -> TaskRootSandbox:
    return TaskRootSandbox()


@pytest.mark.parametrize("task_id", SAMPLE)
def test_gold_against_itself_scores_1_and_a_wrong_command_less(
    task_id: str, sandbox: TaskRootSandbox
) -> None:
    task = TASKS[task_id]
    gold = run_gold(task, sandbox=sandbox)
    assert not gold.timed_out
    with BashTaskEnvironment(task, sandbox=sandbox) as env:
        assert env.cwd == Path("/")
        env.step(task.gold)
        agent = episode_result(env)
        assert reward(agent, gold) == 1.0, compute_bash_reward(agent, gold)
    with BashTaskEnvironment(task, sandbox=sandbox) as env:
        env.step("echo hello")
        assert reward(episode_result(env), gold) < 1.0


def test_mtimes_and_modes_of_the_archive_are_kept(sandbox: TaskRootSandbox) -> None:
    with BashTaskEnvironment(TASKS["nl2bash-fs3-000"], sandbox=sandbox) as env:
        out = env.step("stat -c '%a %Y %n' /workspace/dir1/all.txt /workspace/old2.txt").output
    assert "777 " in out and f"{1675209599} /workspace/old2.txt" in out  # 2023-01-31 23:59:59


def test_host_is_untouched(sandbox: TaskRootSandbox) -> None:
    name = f"slinvit_sentinel_{secrets.token_hex(4)}"
    host_paths = [Path("/usr/local/bin", name), Path.home() / name, Path("/", name)]

    def usr_local() -> tuple[list[str], int]:
        return sorted(os.listdir("/usr/local/bin")), os.stat("/usr/local/bin").st_mtime_ns

    before = usr_local()
    gold = (
        f"touch /usr/local/bin/{name}; mkdir -p /usr/share/{name}; echo x > ~/{name}; "
        f"echo y > /{name}; ls ~; pwd; whoami"
    )
    task = BashTask(task_id="host-check", fs=1, question="", gold=gold)
    with BashTaskEnvironment(task, sandbox=sandbox) as env:
        obs = env.step(gold)
        assert "Read-only file system" in obs.output  # /usr is read-only in the episode
        assert obs.output.splitlines()[-3:] == [name, "/", "root"]  # ~ is the episode's
        assert env.step(f"cat ~/{name} /{name}").output == "x\ny"
        assert (env.root / name).read_text() == "y\n"  # "/" is the episode's tree
        assert set(episode_result(env).fs_diff) == {name}
    for path in host_paths:
        assert not path.exists(), path
    assert not Path("/usr/share", name).exists()
    assert usr_local() == before
    # a real gold command that writes below /usr
    run_gold(TASKS["nl2bash-fs3-032"], sandbox=sandbox)
    assert not Path("/usr/workspace").exists()


def test_fork_isolation(sandbox: TaskRootSandbox) -> None:
    with BashTaskEnvironment(TASKS["nl2bash-fs2-000"], sandbox=sandbox) as env:
        env.step("cd /system/folder1 && rm keep.txt")
        fork = env.fork()
        try:
            assert isinstance(fork, Environment)
            assert fork.cwd == Path("/system/folder1") and fork.last_stdout == env.last_stdout
            assert fork.snapshot() == env.snapshot()  # same content, mode bits and mtimes
            fork.step("echo new > /system/new.txt; rm /system/text1.txt; pwd")
            assert fork.last_stdout == "/system/folder1"
            assert set(fork.fs_diff()) == {
                "system/folder1/keep.txt",
                "system/new.txt",
                "system/text1.txt",
            }
            assert set(env.fs_diff()) == {"system/folder1/keep.txt"}
            assert (env.root / "system" / "text1.txt").exists()
            assert env.step("ls /system/new.txt").ok is False
        finally:
            fork.close()
        assert not fork.root.exists()


def test_oracle_hook_and_a_slinvit_oracle_run(sandbox: TaskRootSandbox) -> None:
    task = TASKS["nl2bash-fs2-005"]  # yes y | rm -r /system/*.txt
    gold = run_gold(task, sandbox=sandbox)
    oracle = oracle_reward_hook(task, gold=gold)
    with BashTaskEnvironment(task, sandbox=sandbox) as env:
        fork = env.fork()
        try:
            obs = fork.step(task.gold)
            assert oracle(ValueContext("", [task.gold], obs, fork)) == 1.0
        finally:
            fork.close()
        assert oracle(ValueContext("", [], None, env)) < 1.0  # the real env is untouched

        wrong = "rm /system/text1.txt"
        model = scripted([fenced(wrong, "bash")] * 3 + [fenced(task.gold, "bash")])
        config = SlinvitConfig(k=2, rollouts=0, horizon=1, summarize_answer=False)
        agent = create_slinvit_agent(model, env, config=config, oracle_reward=oracle)
        final = agent.invoke({"messages": [("user", task.question)]})
        assert [s["action"] for s in final["steps"]] == [task.gold]
        assert reward(episode_result(env), gold) == 1.0


def test_the_suite_scores_the_answered_steps_output_and_the_files_as_the_episode_left_them(
    sandbox: TaskRootSandbox,
) -> None:
    from langgraph_slinvit.bench.suites import make_suite

    suite = make_suite("intercode-bash")
    task = next(t for t in suite.tasks() if t.task_id == "nl2bash-fs1-022")  # output only

    def episode(*commands: str) -> tuple[BashTaskEnvironment, list[dict]]:
        env = BashTaskEnvironment(task.raw, sandbox=sandbox)
        return env, [{"action": c, "observation": env.step(c).to_dict()} for c in commands]

    env, steps = episode(task.raw.gold, "echo something else")
    try:
        assert suite.evaluate(task, env, steps).reward < 1.0  # the last output is the answer
        assert suite.evaluate(task, env, steps[:1]).reward == 1.0  # the answer is the gold's
        with pytest.raises(ValueError, match="not the commands"):
            suite.evaluate(task, env, steps[1:])
    finally:
        env.close()
    env, steps = episode(task.raw.gold, "touch /testbed/new.txt")
    try:  # answering with the first output does not undo the second command's file
        assert suite.evaluate(task, env, steps[:1]).reward < 1.0
    finally:
        env.close()
