"""InterCode-Bash episodes in an isolated root, as a SLINVIT ``Environment``.

Layout (bubblewrap; :class:`TaskRootSandbox` composes :class:`~..envs.sandbox.BwrapSandbox`):

* the task's file system (``nl2bash_fs_{1,2,3}.tar.gz``, entries relative to ``/``; fs_4 is
  empty) is extracted into a fresh private temporary directory ``root/`` (mode 0700, mtimes and
  permission bits kept, tarfile's ``data`` filter for path and link safety) and that directory is
  bound read-write **as the sandbox's** ``/``. So ``/testbed``, ``/system``, ``/workspace``,
  ``/backup``, ``/index.html`` are where InterCode's container has them, the current directory is
  ``/`` (InterCode's ``WORKDIR /``), and commands that create files at the top level
  (``tar czf /backup1.tar``, ``ln -s ... /``, ``mv -t /``, ``tee x.list`` run in ``/``) write into
  the episode's tree, where the file-system diff sees them, as in InterCode's ``git status``;
* on top of it, as in ``BwrapSandbox``: ``/usr``, ``/bin``, ``/lib*``, ``/etc`` (secrets
  masked) of the host **read-only**, fresh ``/proc``, ``/dev``, and size-limited tmpfs mounts on
  ``/tmp``, ``/dev/shm`` and, added here, ``/root`` (``HOME``, InterCode's ``~``) and ``/home``;
  all namespaces unshared (no network), ``--die-with-parent``, a cleared environment,
  ``prlimit`` limits and, as root, a pids cgroup;
* the shell runs as uid 0 *inside its user namespace* (InterCode's container runs as root:
  ``whoami``, ``ls -l`` owners and ``find -nouser`` then behave the same) with every capability
  dropped; on the host it is the caller's uid.

Writes to ``/usr`` or ``/etc`` fail with "Read-only file system" (bwrap 0.8 here has no
``--tmp-overlay``; it came with 0.9). Writes to ``~`` land in a throwaway tmpfs. Nothing reaches
the host outside the episode's temporary directory. The diff ignores what InterCode's
``.gitignore`` ignores plus the mount points (:data:`SYSTEM_ENTRIES`).

Evaluation is the benchmark's ORACLE and is kept out of the agent: :func:`run_gold` runs the gold
command in a fresh root, :func:`episode_result` records an episode (file-system diff against the
initial tree and the last command's full output), :func:`reward` is InterCode's reward and
:func:`oracle_reward_hook` turns it into an ``oracle_reward`` hook for the search.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from langgraph_slinvit.bench.rewards.bash import (
    BashEpisodeResult,
    ChangeKind,
    FileChange,
    FileInfo,
    bash_reward,
    diff_snapshots,
    snapshot_tree,
)
from langgraph_slinvit.bench.tasks import BashTask, resolve_data_dir
from langgraph_slinvit.envs.base import SHELL_SYNTAX, Observation, truncate
from langgraph_slinvit.envs.sandbox import BwrapSandbox, SandboxLimits
from langgraph_slinvit.envs.shell import ShellEnvironment, copy_tree_nofollow
from langgraph_slinvit.envs.shell_pool import ShellPool

if TYPE_CHECKING:
    from langgraph_slinvit.config import SlinvitConfig
    from langgraph_slinvit.value import ValueContext

__all__ = [
    "SYSTEM_ENTRIES",
    "BashTaskEnvironment",
    "EpisodeResult",
    "TaskRootSandbox",
    "episode_result",
    "extract_task_fs",
    "oracle_reward_hook",
    "reward",
    "run_gold",
]

SYSTEM_ENTRIES: frozenset[str] = frozenset(
    {
        # InterCode's docker.gitignore (bin boot dev etc home lib media opt proc root run sbin
        # srv sys usr var) plus the other mount points of the sandbox
        *("bin", "boot", "dev", "etc", "home", "lib", "media", "opt", "proc", "root", "run"),
        *("sbin", "srv", "sys", "usr", "var", "lib32", "lib64", "libx32", "tmp"),
    }
)
"""Top-level names that are not part of a task's file system: never diffed or listed."""

_SYMLINK_POINTS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_PRIVATE_TMPFS = ("/home", "/root")
_ROOT_HOME = "/root"


# --------------------------------------------------------------------------- the sandbox


class TaskRootSandbox(BwrapSandbox):
    """``BwrapSandbox`` whose writable directory is the sandbox's root ``/`` itself.

    It reuses ``BwrapSandbox``'s command line (system mounts, masks, limits, environment,
    pids cgroup) and changes only the placement of the work directory: bound at ``/`` before
    every other mount, with no ``--remount-ro /``, the current directory ``/``, and private
    tmpfs mounts on ``/home`` and ``/root``. The shell runs as uid/gid 0 inside its namespace
    with ``HOME=/root``.
    """

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        uid: int = 0,
        gid: int = 0,
        require_process_limit: bool = True,
    ) -> None:
        super().__init__(
            limits,
            uid=uid,
            gid=gid,
            env={"HOME": _ROOT_HOME, "USER": "root", "LOGNAME": "root"},
            require_process_limit=require_process_limit,
        )

    def _bwrap_argv(self, workdir: Path, shell: Sequence[str], target: Path) -> list[str]:
        _clear_symlink_points(workdir)
        args = super()._bwrap_argv(workdir, shell, target)
        args = _remove(args, ["--bind", str(workdir), str(target)])
        args = _remove(args, ["--remount-ro", "/"])
        args = _remove(args, ["--chdir", str(target)])
        size = str(self.limits.tmpfs_bytes)
        first_mount = args.index("--ro-bind")
        if args[first_mount : first_mount + 3] != ["--ro-bind", "/usr", "/usr"]:
            raise RuntimeError("BwrapSandbox command line changed: /usr is not the first mount")
        root: list[str] = ["--bind", str(workdir), "/"]
        for path in _PRIVATE_TMPFS:
            root += ["--size", size, "--tmpfs", path]
        separator = args.index("--")
        args[separator:separator] = ["--chdir", "/"]
        return [*args[:first_mount], *root, *args[first_mount:]]


def _clear_symlink_points(root: Path) -> None:
    """Delete what an earlier session left where bwrap creates ``/bin -> usr/bin`` and the
    like: bwrap 0.8 refuses to create a symlink over an existing one (a restarted or forked
    session would not start). These names are never part of a task's tree."""
    for name in _SYMLINK_POINTS:
        path = root / name
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)


def _remove(args: list[str], sequence: list[str]) -> list[str]:
    """``args`` without the first occurrence of ``sequence`` (which must be there)."""
    n = len(sequence)
    for i in range(len(args) - n + 1):
        if args[i : i + n] == sequence:
            return args[:i] + args[i + n :]
    raise RuntimeError(f"BwrapSandbox command line changed: {sequence} not found")


# --------------------------------------------------------------------------- the file system


def _keep_mode_filter(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    """tarfile's ``data`` filter (no absolute paths, no escaping links, no devices, no chown)
    with the member's permission bits kept (tasks use ``find -perm 777``/``-perm 400``), minus
    setuid/setgid/sticky."""
    safe = tarfile.data_filter(member, dest)
    if safe is None:
        return None
    if member.isreg() or member.isdir():
        return safe.replace(mode=member.mode & 0o777, deep=False)
    return safe


def extract_task_fs(
    fs: int, dest: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Extract ``nl2bash_fs_{fs}.tar.gz`` into the new directory ``dest`` (fs 4: empty)."""
    root = Path(dest)
    root.mkdir(mode=0o755)
    archive = resolve_data_dir(data_dir) / "intercode-bash" / f"nl2bash_fs_{fs}.tar.gz"
    if not archive.exists():
        if fs == 4:
            return root
        raise FileNotFoundError(archive)
    with tarfile.open(archive) as tar:
        tops = {Path(m.name).parts[0] for m in tar.getmembers() if Path(m.name).parts}
        clash = tops & SYSTEM_ENTRIES
        if clash:
            raise ValueError(f"{archive.name} has entries where system paths go: {sorted(clash)}")
        tar.extractall(root, filter=_keep_mode_filter)
    return root


def _listing(root: Path, limit: int) -> str:
    lines: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        if rel == Path("."):
            dirnames[:] = [d for d in dirnames if d not in SYSTEM_ENTRIES]
            filenames = [f for f in filenames if f not in SYSTEM_ENTRIES]
        dirnames.sort()
        lines += [f"/{(rel / name).as_posix()}" for name in sorted(filenames)]
        lines += [f"/{(rel / name).as_posix()}/" for name in dirnames]
        if len(lines) > limit:
            break
    more = f"\n... ({len(lines) - limit}+ more)" if len(lines) > limit else ""
    return "\n".join(sorted(lines[:limit])) + more if lines else "(empty)"


# --------------------------------------------------------------------------- the environment


@dataclass(frozen=True)
class EpisodeResult(BashEpisodeResult):
    """What InterCode's reward compares, plus how the last command ended."""

    exit_code: int | None = None
    timed_out: bool = False


class CommandRecord(NamedTuple):
    """One command run in a :class:`BashTaskEnvironment` and how it ended."""

    action: str
    stdout: str | None
    """Its full output (stdout and stderr, up to ``output_limit``)."""
    exit_code: int | None
    timed_out: bool


class BashTaskEnvironment:
    """One InterCode-Bash episode: a persistent sandboxed bash over the task's file system.

    Args:
        task: the task; its ``fs`` selects the starting file system.
        data_dir: the shared data folder (default: :func:`~.data.resolve_data_dir`).
        timeout: seconds one command may run before the session is killed and restarted.
        max_chars: characters of output shown to the LLM per command.
        output_limit: characters of output kept for the reward (``last_stdout``).
        sandbox: the sandbox (default: a :class:`TaskRootSandbox`; created once, shared by forks).
        prestarted_forks: sandboxed shells kept started for forks
            (:class:`~langgraph_slinvit.envs.shell_pool.ShellPool`, shared by forks of forks);
            0 starts each fork's shell at its first command.
        fork_dir: where forks copy the tree (None: the system's temporary directory; see
            :class:`~langgraph_slinvit.envs.shell.ShellEnvironment`).
    """

    language = "bash"
    action_syntax = SHELL_SYNTAX

    def __init__(
        self,
        task: BashTask,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        timeout: float = 10.0,
        max_chars: int = 1000,
        output_limit: int = 200_000,
        sandbox: TaskRootSandbox | None = None,
        prestarted_forks: int = 4,
        fork_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.task = task
        self.fork_dir = fork_dir
        self.prestarted_forks = prestarted_forks
        self._pool: ShellPool | None = None
        self._owns_pool = False
        self.timeout, self.max_chars, self.output_limit = timeout, max_chars, output_limit
        self.sandbox = sandbox if sandbox is not None else TaskRootSandbox()
        self.sandbox.check()
        tmp = tempfile.TemporaryDirectory(prefix=f"slinvit-bash-fs{task.fs}-")
        self._tmp: tempfile.TemporaryDirectory[str] | None = tmp
        try:
            self.root = extract_task_fs(task.fs, Path(tmp.name) / "root", data_dir)
            self.initial_snapshot: Mapping[str, FileInfo] = snapshot_tree(
                self.root, exclude=SYSTEM_ENTRIES
            )
            self._shell = self._new_shell("/")
        except BaseException:
            tmp.cleanup()
            raise
        self.commands: list[CommandRecord] = []
        """Every command run in this environment, in order, with its full output."""

    def _new_shell(self, cwd: str | Path) -> ShellEnvironment:
        shell = ShellEnvironment(
            self.root,
            timeout=self.timeout,
            max_chars=self.output_limit,
            sandbox=self.sandbox,
            prestarted_forks=0,  # this environment forks itself, with its own pool
        )
        shell.cwd = Path(cwd)  # a path inside the sandbox (the host path means nothing there)
        return shell

    @property
    def last_stdout(self) -> str | None:
        """The full output (stdout and stderr, up to ``output_limit``) of the last command; None
        before the first one (InterCode's observation)."""
        return self.commands[-1].stdout if self.commands else None

    @property
    def cwd(self) -> Path:
        """The shell's current directory, as the sandbox sees it."""
        return self._shell.cwd

    @classmethod
    def default_settings(cls) -> SlinvitConfig:
        """The ``shell`` preset: the settings that carry out tasks in a directory best
        in the published benchmark (``langgraph_slinvit.presets``)."""
        from langgraph_slinvit.presets import preset

        return preset("shell")

    def describe(self) -> str:
        """Where commands run and the files of the task's file system."""
        return (
            "A Linux machine (bash, you are root); commands run one at a time in the same shell, "
            f"the current directory is {self.cwd}. /usr and /etc are read-only; no network.\n"
            f"Files:\n{_listing(self.root, limit=80)}"
        )

    def step(self, action: str) -> Observation:
        """Run one command; the LLM sees ``max_chars`` of its merged stdout/stderr."""
        obs = self._shell.step(action)
        code = obs.details.get("exit_code")
        if code is None:  # empty command, timeout or a dead shell: the message is the output
            raw = obs.output
        else:
            raw = "" if obs.details.get("bytes") == 0 else obs.output
            suffix = f"\n[exit code {code}]"
            if code != 0 and raw.endswith(suffix):
                raw = raw[: -len(suffix)]
        self.commands.append(CommandRecord(action, raw, code, obs.timed_out))
        if code is None:
            return obs
        size = int(obs.details.get("bytes", 0))
        shown = raw[: self.max_chars]
        if size > self.max_chars:
            shown += f"\n... [truncated: {size} bytes of output in all]"
        output = truncate(shown, self.max_chars + 200) or "(no output)"
        if code != 0:
            output += f"\n[exit code {code}]"
        return replace(obs, output=output)

    def feedback_value(self, obs: Observation) -> float:
        """1 for a command that succeeded, 0.1 for a non-zero exit, 0 for a timeout or refusal."""
        return self._shell.feedback_value(obs)

    def parallel_forks(self) -> bool:
        """Forks may run at once: each is its own copy of the tree with its own session."""
        return True

    def fork(self) -> BashTaskEnvironment:
        """Copy the tree (symlinks as links, FIFOs recreated, modes and mtimes kept, nothing
        followed: :func:`~langgraph_slinvit.envs.shell.copy_tree_nofollow`) and start a new
        session on the copy, mounted at the same paths and in the same directory; shell
        variables are not copied. Raises ``ShellEnvironmentError`` when an entry of the tree
        changes type while it is copied."""
        pool = self.fork_pool()  # first: forks of the clone share it
        clone = object.__new__(BashTaskEnvironment)
        clone.__dict__.update(self.__dict__)
        clone._owns_pool = False
        clone.commands = list(self.commands)
        ready = pool.take() if pool is not None else None
        if ready is None:
            tmp = tempfile.TemporaryDirectory(
                prefix=f"slinvit-bash-fs{self.task.fs}-fork-", dir=self.fork_dir
            )
            clone.root = Path(tmp.name) / "root"
        else:
            tmp, clone.root = ready.tmp, ready.host_root
        clone._tmp = tmp
        try:
            # the library's no-follow copy: a background job that swaps a directory for a
            # symlink (to / or to a secret) while it is copied makes the fork fail instead
            copy_tree_nofollow(self.root, clone.root, fifos=True, into_existing=ready is not None)
            clone._shell = clone._new_shell(self.cwd)
            if ready is not None:
                clone._shell.adopt(ready)
        except BaseException:
            if ready is not None:
                ready.discard()
            tmp.cleanup()
            raise
        return clone

    def fork_pool(self) -> ShellPool | None:
        """The pre-started shells forks use; None when ``prestarted_forks`` is 0."""
        if self._pool is None and self.prestarted_forks > 0:
            self._pool = ShellPool(
                self.sandbox,
                mount_at=None,
                timeout=self.timeout,
                size=self.prestarted_forks,
                prefix=f"slinvit-bash-fs{self.task.fs}-fork-",
                dirname="root",
                tmp_dir=self.fork_dir,
            )
            self._owns_pool = True
        return self._pool

    def snapshot(self) -> dict[str, FileInfo]:
        """The current files of the task's tree (system mount points excluded)."""
        return snapshot_tree(self.root, exclude=SYSTEM_ENTRIES)

    def fs_diff(self) -> dict[str, FileChange]:
        """Changes since the episode started, as InterCode's ``git status`` lists them."""
        return diff_snapshots(self.initial_snapshot, self.snapshot())

    def close(self) -> None:
        """Kill the session, delete the episode's tree and stop the pre-started shells this
        environment created."""
        self._shell.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        if self._owns_pool and self._pool is not None:
            self._pool.close()
            self._pool, self._owns_pool = None, False

    def __enter__(self) -> BashTaskEnvironment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- evaluation (oracle)


def episode_result(env: BashTaskEnvironment, *, answer: int | None = None) -> EpisodeResult:
    """The episode as the reward sees it: the tree's changes as they are now and the output of
    the command the agent answers with (``answer``, its index in ``env.commands``; default the
    last command)."""
    record = env.commands[-1 if answer is None else answer] if env.commands else None
    return EpisodeResult(
        fs_diff=env.fs_diff(),
        stdout=record.stdout if record else None,
        exit_code=record.exit_code if record else None,
        timed_out=record.timed_out if record else False,
    )


def run_gold(
    task: BashTask,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    timeout: float = 10.0,
    sandbox: TaskRootSandbox | None = None,
) -> EpisodeResult:
    """ORACLE: run the task's gold command in a fresh isolated root and record the result."""
    with BashTaskEnvironment(task, data_dir=data_dir, timeout=timeout, sandbox=sandbox) as env:
        env.step(task.gold)
        return episode_result(env)


def reward(
    agent_result: BashEpisodeResult,
    gold_result: BashEpisodeResult,
    *,
    content_kinds: Iterable[ChangeKind] = ("added",),
) -> float:
    """InterCode's Bash reward (success is exactly 1.0); see :mod:`.bash_reward`."""
    return bash_reward(agent_result, gold_result, content_kinds=content_kinds)


def oracle_reward_hook(
    task: BashTask,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    timeout: float = 10.0,
    gold: BashEpisodeResult | None = None,
) -> Callable[[ValueContext], float]:
    """ORACLE ``oracle_reward`` hook: InterCode's reward of the terminal fork's state (its
    tree's changes and its last command's output) against the gold result, which is computed
    once (or passed as ``gold``). Runs using it are oracle runs and must be reported apart."""
    cache: dict[str, BashEpisodeResult] = {} if gold is None else {"gold": gold}

    def bash_oracle_reward(ctx: ValueContext) -> float:
        env = ctx.env
        if not isinstance(env, BashTaskEnvironment):
            raise TypeError("the InterCode-Bash oracle needs a BashTaskEnvironment")
        if "gold" not in cache:
            cache["gold"] = run_gold(task, data_dir=data_dir, timeout=timeout)
        return reward(episode_result(env), cache["gold"])

    return bash_oracle_reward
