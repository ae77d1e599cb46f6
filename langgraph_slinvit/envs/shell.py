"""Shell environment: a persistent bash session driven by pexpect.

* Every command runs in the same bash (``cd`` and variables persist), with stdin from
  ``/dev/null``; its output goes to a file and only the first ``max_chars`` characters come back,
  so a command printing hundreds of megabytes cannot flood memory or prompts.
* A command that runs longer than ``timeout`` seconds is killed together with the whole session
  (every process of it), and bash is restarted in the same directory.
* ``fork()`` copies the working directory into a temporary directory and starts a new session
  there. Under a sandbox the copy is mounted at the *same path* as the real working directory, so
  absolute paths in model-written commands still land in the copy, never in the real directory.
  The copy opens every directory and file relative to its parent's descriptor with
  ``O_NOFOLLOW``: a directory that a running process swaps for a symlink (to ``/`` or to a
  secret) while it is copied makes the fork fail instead of copying what the link points to.
  Symlinks are copied as links (with their own mtimes); FIFOs, sockets and device nodes are
  skipped (:func:`copy_tree_nofollow` can recreate FIFOs, as the InterCode-Bash environment does).
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import os
import re
import secrets
import shutil
import signal
import stat
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pexpect

from langgraph_slinvit.envs.base import SHELL_SYNTAX, Observation, truncate
from langgraph_slinvit.envs.sandbox import BwrapSandbox, NoSandbox, Sandbox

if TYPE_CHECKING:
    from langgraph_slinvit.config import SlinvitConfig
    from langgraph_slinvit.envs.shell_pool import ReadyShell, ShellPool


class ShellEnvironmentError(RuntimeError):
    """Raised when the working directory or the shell cannot be set up."""


def _clean_env(home: Path) -> dict[str, str]:
    """The only variables an unsandboxed shell gets (no secrets from the parent)."""
    path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
    return {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8", "TERM": "dumb"}


def default_sandbox() -> Sandbox:
    """The sandbox used when none is given: bubblewrap, failing closed if it is unavailable."""
    sandbox = BwrapSandbox()
    sandbox.check()
    return sandbox


def unsandboxed() -> Sandbox:
    """Explicit, UNSAFE opt-out for machines without user namespaces: commands can reach the
    host, and a fork runs at another path, so absolute paths to the real workdir escape it."""
    return NoSandbox()


class ShellEnvironment:
    """Run shell commands in ``workdir`` through a persistent bash session.

    Args:
        workdir: the directory the agent works in; it must exist.
        timeout: seconds one command may run before it and its session are killed.
        max_chars: characters of output shown to the LLM per command.
        sandbox: how bash is isolated; default bubblewrap (:mod:`langgraph_slinvit.envs.sandbox`).
            ``unsandboxed()`` opts out explicitly.
        prestarted_forks: sandboxed shells kept started for forks (:class:`ShellPool`), from
            the first ``fork()`` on, so that a fork only copies files; 0 starts each fork's shell
            when it runs its first command. Unsandboxed forks always start their own.
        fork_dir: where forks copy the files (None: the system's temporary directory). A
            memory file system (``/dev/shm``) makes a fork's copy far faster where the
            temporary directory is on disk (``tools/bench_overhead.py`` measures both); the
            copies then take memory, and the directory must allow executing files.
    """

    language = "bash"
    action_syntax = SHELL_SYNTAX

    def __init__(
        self,
        workdir: str | Path,
        *,
        timeout: float = 10.0,
        max_chars: int = 1000,
        sandbox: Sandbox | None = None,
        prestarted_forks: int = 4,
        fork_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        root = Path(workdir).expanduser()
        if not root.is_dir():
            raise ShellEnvironmentError(f"working directory not found: {root}")
        self.workdir = root.resolve()
        self.timeout = timeout
        self.max_chars = max_chars
        self.sandbox = sandbox if sandbox is not None else default_sandbox()
        self.is_fork = False
        self.cwd = self.workdir
        self._host_root = self.workdir  # where the files live on the host
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._child: pexpect.spawn | None = None
        self._nonce = secrets.token_hex(6)
        self._tree: str | None = None  # digest of the files after the last command
        self._enter: str | None = None  # directory a pre-started shell enters first
        self.prestarted_forks = prestarted_forks
        self.fork_dir = fork_dir
        self._pool: ShellPool | None = None
        self._owns_pool = False

    # -- session management ------------------------------------------------------------------
    @property
    def _isolated(self) -> bool:
        return not isinstance(self.sandbox, NoSandbox)

    def _start(self) -> pexpect.spawn:
        mount_at = self.workdir if self._isolated else None
        argv = self.sandbox.argv(self._host_root, mount_at=mount_at)
        env = None if self._isolated else _clean_env(self._host_root)
        self._child = spawn_bash(
            argv, self._host_root, self._shell_path(self.cwd), self._nonce, self.timeout, env
        )
        return self._child

    def _shell_path(self, host_or_logical: Path) -> Path:
        """The path bash sees for a logical path under ``workdir``."""
        if self._isolated or not self.is_fork:
            return host_or_logical
        rel = host_or_logical.relative_to(self.workdir)
        return self._host_root / rel

    def _logical_path(self, shell_path: str) -> Path:
        path = Path(shell_path)
        if self.is_fork and not self._isolated:
            try:
                return self.workdir / path.relative_to(self._host_root)
            except ValueError:
                return path
        return path

    def _kill_session(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            kill_session(child)

    # -- the protocol -------------------------------------------------------------------------
    @classmethod
    def default_settings(cls) -> SlinvitConfig:
        """The ``shell`` preset: the settings that carry out tasks in a directory best
        in the published benchmark (``langgraph_slinvit.presets``)."""
        from langgraph_slinvit.presets import preset

        return preset("shell")

    def describe(self) -> str:
        """Working directory, current directory and a bounded listing of the files."""
        listing = _listing(self._host_root, limit=80)
        return (
            f"Working directory: {self.workdir}\nCurrent directory: {self.cwd}\n"
            f"Files (relative to the working directory):\n{listing}"
        )

    def step(self, action: str) -> Observation:
        """Run one command; stdout and stderr are merged and truncated."""
        command = action.strip()
        if not command:
            return Observation(output="Error: empty command", ok=False, error="empty command")
        child = self._child or self._start()
        before = self._tree if self._tree is not None else _tree_digest(self._host_root)
        payload = base64.b64encode(command.encode()).decode()
        end = f"__SLV_END_{self._nonce}"
        limit = self.max_chars + 1
        enter, self._enter = self._enter, None
        prefix = f"cd {_quote(enter)} 2>/dev/null; " if enter else ""
        child.sendline(
            f"{prefix}eval \"$(printf '%s' '{payload}' | base64 -d)\" "
            '</dev/null >"$__slv_out" 2>&1; '
            f'__slv_rc=$?; head -c {limit} "$__slv_out"; '
            f'printf \'\\n{end} %s %s %s\\n\' "$__slv_rc" "$(wc -c <"$__slv_out")" "$PWD"'
        )
        started = time.monotonic()
        pattern = re.compile(re.escape(end) + r" (\d+) (\d+) (.*?)\r?\n")
        try:
            child.expect(pattern, timeout=self.timeout)
        except pexpect.TIMEOUT:
            self._kill_session()
            self._tree = None  # the killed command may have changed files
            return Observation(
                output=f"Error: command timed out after {self.timeout:g}s and was killed "
                "(the shell was restarted; variables set earlier are lost).",
                ok=False,
                timed_out=True,
                error="timeout",
            )
        except pexpect.EOF:
            self._kill_session()
            self._tree = None
            return Observation(
                output="The shell exited (it was restarted in the same directory).",
                ok=False,
                error="shell exited",
            )
        match = child.match
        code, size, pwd = int(match.group(1)), int(match.group(2)), match.group(3)
        self.cwd = self._logical_path(pwd)
        text = (child.before or "").replace("\r\n", "\n").rstrip("\n")
        if size > self.max_chars:
            text = text[: self.max_chars] + f"\n... [truncated: {size} bytes of output in all]"
        shown = truncate(text, self.max_chars + 200)
        output = shown if shown else "(no output)"
        if code != 0:
            output += f"\n[exit code {code}]"
        tree = self._tree = _tree_digest(self._host_root)
        digest = hashlib.sha1(text.encode(errors="replace"))
        digest.update(tree.encode())
        return Observation(
            output=output,
            ok=code == 0,
            error=None if code == 0 else f"exit code {code}",
            # a command's result is its output and its change to the files: one that only
            # changes files is not empty (its signature can agree with other rollouts')
            empty=size == 0 and tree == before,
            signature=digest.hexdigest()[:16],
            details={
                "exit_code": code,
                "bytes": size,
                "cwd": str(self.cwd),
                "seconds": round(time.monotonic() - started, 3),
            },
        )

    def feedback_value(self, obs: Observation) -> float:
        """1 for a command that succeeded, 0.1 for a non-zero exit, 0 for a timeout or refusal."""
        if obs.timed_out or obs.refused:
            return 0.0
        return 1.0 if obs.ok else 0.1

    def parallel_forks(self) -> bool:
        """Forks may run at once: each is its own copy of the files with its own session."""
        return True

    def fork(self) -> ShellEnvironment:
        """Copy the working directory to a temporary directory and run a new session there
        (a pre-started one when ``prestarted_forks`` > 0 and the shell is sandboxed)."""
        pool = self.fork_pool()  # first: forks of the clone share it
        clone = object.__new__(ShellEnvironment)
        clone.__dict__.update(self.__dict__)
        clone.is_fork = True
        clone._child, clone._enter, clone._owns_pool = None, None, False
        clone._nonce = secrets.token_hex(6)
        if pool is None:
            clone._tmp = tempfile.TemporaryDirectory(prefix="slinvit-fork-", dir=self.fork_dir)
            clone._host_root = Path(clone._tmp.name) / "work"
            into_existing = False
        else:
            ready = pool.take()
            clone._tmp, clone._host_root = ready.tmp, ready.host_root
            clone.adopt(ready)
            into_existing = True
        try:
            copy_tree_nofollow(self._host_root, clone._host_root, into_existing=into_existing)
        except BaseException:
            clone.close()
            raise
        return clone

    def adopt(self, ready: ReadyShell) -> None:
        """Use the pre-started ``ready`` shell (whose directory holds this environment's files)
        as the session; its first command enters :attr:`cwd` first."""
        if self._child is not None:
            raise ShellEnvironmentError("the environment already has a running shell")
        self._child, self._nonce = ready.child, ready.nonce
        self._enter = str(self._shell_path(self.cwd))

    def fork_pool(self) -> ShellPool | None:
        """The pre-started shells this environment's forks use (shared by forks of forks);
        None when disabled or unsandboxed. Created, and its shells started, on first use."""
        if self._pool is None and self._isolated and self.prestarted_forks > 0:
            from langgraph_slinvit.envs.shell_pool import ShellPool

            self._pool = ShellPool(
                self.sandbox,
                mount_at=self.workdir,
                timeout=self.timeout,
                size=self.prestarted_forks,
                prefix="slinvit-fork-",
                tmp_dir=self.fork_dir,
            )
            self._owns_pool = True
        return self._pool

    def close(self) -> None:
        """Kill the session, delete a fork's copy, and stop the pre-started shells this
        environment created."""
        self._kill_session()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        if self._owns_pool and self._pool is not None:
            self._pool.close()
            self._pool, self._owns_pool = None, False

    def __enter__(self) -> ShellEnvironment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _lstat(name: str, dir_fd: int) -> os.stat_result:
    return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)


def copy_tree_nofollow(
    src: Path, dst: Path, *, fifos: bool = False, into_existing: bool = False
) -> None:
    """Copy the tree at ``src`` to the new directory ``dst`` without following any symlink.

    Every directory and file is opened relative to its parent's descriptor with ``O_NOFOLLOW``;
    modes and mtimes are kept (a symlink's own mtime too). Symlinks are copied as links; FIFOs
    are recreated when ``fifos`` is true, skipped otherwise; sockets and devices are skipped.
    With ``into_existing``, ``dst`` is a directory that exists already (a pre-started sandbox's
    mount points in it): directories present on both sides are merged and a symlink present on
    both sides with the same target is kept; any other entry already there is an error.
    Raises :class:`ShellEnvironmentError` when an entry changes type while it is copied.
    """
    try:
        fd = os.open(src, _DIR_FLAGS)
    except OSError as exc:
        raise ShellEnvironmentError(f"cannot open working directory {src}: {exc}") from exc
    try:
        _copy_dir(fd, Path(dst), Path(src), fifos, into_existing)
    finally:
        os.close(fd)


def _copy_dir(dir_fd: int, dst: Path, shown: Path, fifos: bool, merge: bool = False) -> None:
    if not merge:
        os.mkdir(dst, 0o700)
    for name in sorted(os.listdir(dir_fd)):
        st = _lstat(name, dir_fd)
        target = dst / name
        exists = merge and os.path.lexists(target)
        try:
            if exists and not _mergeable(st, name, dir_fd, target):
                raise ShellEnvironmentError(f"{target} exists already and differs from {shown}")
            if stat.S_ISLNK(st.st_mode):
                if not exists:
                    os.symlink(os.readlink(name, dir_fd=dir_fd), target)
                os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
            elif stat.S_ISDIR(st.st_mode):
                sub = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
                try:
                    _copy_dir(sub, target, shown / name, fifos, exists)
                finally:
                    os.close(sub)
            elif stat.S_ISREG(st.st_mode):
                _copy_file(name, dir_fd, target)
            elif stat.S_ISFIFO(st.st_mode) and fifos:  # never opened: only its metadata
                os.mkfifo(target, stat.S_IMODE(st.st_mode))
                os.chmod(target, stat.S_IMODE(st.st_mode))
                os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
        except (NotADirectoryError, IsADirectoryError) as exc:
            raise ShellEnvironmentError(f"{shown / name} changed while being copied") from exc
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # it became a symlink
                raise ShellEnvironmentError(
                    f"{shown / name} became a symlink while being copied"
                ) from exc
            raise
    st = os.fstat(dir_fd)
    os.chmod(dst, stat.S_IMODE(st.st_mode))
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


def _mergeable(st: os.stat_result, name: str, dir_fd: int, target: Path) -> bool:
    """Whether an entry already at ``target`` can stand for the source entry ``name``."""
    have = os.lstat(target)
    if stat.S_ISDIR(st.st_mode) and stat.S_ISDIR(have.st_mode):
        return True
    if stat.S_ISLNK(st.st_mode) and stat.S_ISLNK(have.st_mode):
        return os.readlink(name, dir_fd=dir_fd) == os.readlink(target)
    return False


def _copy_file(name: str, dir_fd: int, target: Path) -> None:
    src = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    try:
        st = os.fstat(src)
        if not stat.S_ISREG(st.st_mode):
            raise ShellEnvironmentError(f"{name} is no longer a regular file")
        os.set_blocking(src, True)
        with open(src, "rb", closefd=False) as fin, open(target, "xb") as fout:
            shutil.copyfileobj(fin, fout, 1024 * 1024)
        os.chmod(target, stat.S_IMODE(st.st_mode))
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    finally:
        os.close(src)


def spawn_bash(
    argv: list[str],
    host_root: Path,
    cwd: Path,
    nonce: str,
    timeout: float,
    env: dict[str, str] | None = None,
) -> pexpect.spawn:
    """Start ``argv`` (a bash, sandboxed or not) on a private pty and wait until it is ready
    in ``cwd``; output markers carry ``nonce``."""
    try:
        child = pexpect.spawn(
            argv[0],
            argv[1:],
            encoding="utf-8",
            codec_errors="replace",
            echo=False,
            timeout=timeout,
            dimensions=(50, 200),
            cwd=str(host_root),
            env=env,
        )
    except pexpect.ExceptionPexpect as exc:
        raise ShellEnvironmentError(f"cannot start bash: {exc}") from exc
    # pexpect sleeps 50 ms before every send (for terminals that echo before they are set up):
    # the pty starts without echo and every command waits for its end marker, so none is needed
    child.delaybeforesend = None
    ready = f"__SLV_READY_{nonce}"
    child.sendline(
        "export PS1='' PS2='' PROMPT_COMMAND=''; unset HISTFILE; stty -echo 2>/dev/null; "
        "__slv_out=$(mktemp 2>/dev/null || echo /tmp/.slv_out_$$); "
        f"cd {_quote(str(cwd))} 2>/dev/null; echo {ready}"
    )
    try:
        child.expect(re.escape(ready) + r"\r?\n", timeout=30)
    except (pexpect.TIMEOUT, pexpect.EOF) as exc:
        tail = str(child.before or "")[-500:]
        child.close(force=True)
        shown = " ".join(argv[:3])
        raise ShellEnvironmentError(f"bash did not start ({shown} ...): {tail}") from exc
    return child


def kill_session(child: pexpect.spawn) -> None:
    """Kill every process of ``child``'s session and wait (2 s at most) until none is left
    (a process forked meanwhile is killed too), then close it."""
    give_up = time.monotonic() + 2.0
    while (members := _session_members(child.pid)) and time.monotonic() < give_up:
        for pid in members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.002)
    # already killed: skip the 100 ms that closing waits for a child to exit by itself (a child
    # still alive after it gets pexpect's own terminate sequence, with its delays)
    child.delayafterclose = 0
    child.ptyproc.delayafterclose = 0
    child.close(force=True)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _session_members(sid: int) -> list[int]:
    """Every live process whose session id is ``sid`` (zombies are dead and are skipped)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != b"Z":  # after ')': state, ppid, pgrp, session
            members.append(int(entry))
    return members


def _listing(root: Path, limit: int) -> str:
    lines: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = Path(dirpath).relative_to(root)
        for name in sorted(filenames):
            lines.append(str(rel / name) if str(rel) != "." else name)
        for name in dirnames:
            path = rel / name
            lines.append((str(path) if str(rel) != "." else name) + "/")
        if len(lines) >= limit:
            break
    shown = lines[:limit]
    more = "" if len(lines) <= limit else f"\n... ({len(lines) - limit}+ more)"
    return "\n".join(shown) + more if shown else "(empty)"


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha1()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            try:
                size = os.lstat(path).st_size
            except OSError:
                size = -1
            digest.update(f"{os.path.relpath(path, root)}:{size}\n".encode())
    return digest.hexdigest()
