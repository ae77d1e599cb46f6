"""Sandboxed shells started before the forks that need them.

Starting bubblewrap and bash costs about a quarter of a second, several times what copying a
small working directory does. A :class:`ShellPool` keeps ``size`` sandboxed shells running on
empty directories, each bound where a fork's files belong; ``fork()`` takes one, copies its
files into the directory (visible inside the sandbox at once, through the bind mount) and
enters the fork's current directory with its first command. A background thread starts the
next one while the fork runs. The shells are the same command line a fork would start itself:
only the moment they start differs.
"""

from __future__ import annotations

import collections
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pexpect

from langgraph_slinvit.envs.sandbox import Sandbox
from langgraph_slinvit.envs.shell import kill_session, spawn_bash

__all__ = ["ReadyShell", "ShellPool"]


@dataclass
class ReadyShell:
    """A started sandboxed bash whose writable directory ``host_root`` is still empty."""

    tmp: tempfile.TemporaryDirectory[str]
    host_root: Path
    child: pexpect.spawn
    nonce: str

    def discard(self) -> None:
        """Kill the shell and delete its directory."""
        kill_session(self.child)
        self.tmp.cleanup()


class ShellPool:
    """Keeps ``size`` sandboxed shells started for forks; thread-safe.

    Args:
        sandbox: the sandbox the forks run in.
        mount_at: where the sandbox shows the directory (the real working directory's path, so
            absolute paths land in the copy); None for a sandbox that places it itself.
        timeout: the forks' per-command timeout.
        size: shells kept ready.
        prefix: prefix of the temporary directories.
        dirname: name of the directory inside each temporary directory.
        tmp_dir: where the temporary directories are made (None: the system's default).
    """

    def __init__(
        self,
        sandbox: Sandbox,
        *,
        mount_at: Path | None,
        timeout: float,
        size: int = 4,
        prefix: str = "slinvit-fork-",
        dirname: str = "work",
        tmp_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.sandbox, self.mount_at, self.timeout = sandbox, mount_at, timeout
        self.size, self.prefix, self.dirname = size, prefix, dirname
        self.tmp_dir = tmp_dir
        self.taken_ready = 0
        """Forks that got a shell started ahead of them."""
        self.taken_cold = 0
        """Forks that found none ready and started their own."""
        self._ready: collections.deque[ReadyShell] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ReadyShell:
        """Start one shell now, in the calling thread."""
        tmp = tempfile.TemporaryDirectory(prefix=self.prefix, dir=self.tmp_dir)
        try:
            host_root = Path(tmp.name) / self.dirname
            host_root.mkdir(mode=0o700)
            argv = self.sandbox.argv(host_root, mount_at=self.mount_at)
            nonce = secrets.token_hex(6)
            cwd = self.mount_at if self.mount_at is not None else Path("/")
            child = spawn_bash(argv, host_root, cwd, nonce, self.timeout)
        except BaseException:
            tmp.cleanup()
            raise
        return ReadyShell(tmp, host_root, child, nonce)

    def take(self) -> ReadyShell:
        """A started shell: a ready one if there is one, else one started now. After
        :meth:`close`, always one started now."""
        with self._cond:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._refill, name="slinvit-shell-pool", daemon=True
                )
                self._thread.start()
            if self._ready:
                self.taken_ready += 1
                shell = self._ready.popleft()
                self._cond.notify_all()
                return shell
            self.taken_cold += 1
        return self.start()

    def close(self) -> None:
        """Stop refilling and discard the shells nobody took."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=60)
        with self._cond:
            ready, self._ready = list(self._ready), collections.deque()
        for shell in ready:
            shell.discard()
        cleanup = getattr(self.sandbox, "cleanup", None)
        if cleanup is not None:
            cleanup()

    @property
    def error(self) -> BaseException | None:
        """Why the background thread stopped starting shells, if it did (forks then start
        their own and raise the same error themselves)."""
        return self._error

    def _refill(self) -> None:
        while True:
            with self._cond:
                while not self._closed and len(self._ready) >= self.size:
                    self._cond.wait()
                if self._closed:
                    return
            try:
                shell = self.start()
            except BaseException as exc:  # surfaced by the forks' own start
                self._error = exc
                return
            with self._cond:
                if not self._closed:
                    self._ready.append(shell)
                    continue
            shell.discard()
            return

    def __enter__(self) -> ShellPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
