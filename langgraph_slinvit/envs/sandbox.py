"""Namespace sandbox (bubblewrap) for the persistent shell that runs model-written commands.

``BwrapSandbox.argv(workdir)`` returns a command line for ``pexpect.spawn`` that starts an
interactive shell inside a bubblewrap sandbox:

* the host file system is visible **read-only** and only in part: ``/usr`` (and the merged-usr
  ``/bin``, ``/sbin``, ``/lib*`` links), ``/etc`` with secrets masked (``/etc/shadow``,
  ``/etc/ssh``, ...) and any ``extra_ro_paths``; ``/root`` and ``/home`` are not there at all;
* ``workdir`` is the only writable host directory, bind-mounted at the **same path** as on the
  host (paths printed by tools stay valid outside) and used as the current directory;
  ``mount_at`` mounts it elsewhere (``ShellEnvironment.fork()`` mounts a copy at the original's
  path, so absolute paths in commands land in the copy);
* ``/tmp``, ``HOME`` (``/home/sandbox``) and ``/dev/shm`` are fresh, size-limited tmpfs mounts;
  the sandbox's root is a tmpfs remounted read-only, so nothing else can be created;
* every namespace is unshared (``--unshare-all``): no network (only a private loopback), its own
  PID namespace (``--die-with-parent``: killing bwrap kills everything inside), hostname, IPC;
* the shell runs as uid/gid 1000 in a user namespace with no capabilities and cannot create
  further user namespaces (``--disable-userns``);
* the environment is cleared: bwrap itself starts with an empty environment (``env -i``;
  otherwise ``/proc/1/environ`` inside would show the caller's), and ``--clearenv`` plus
  ``--setenv`` give the shell only PATH, HOME, LANG, TERM, ... and what the caller passes;
* kernel interfaces are out of reach: ``/proc/sys`` is read-only, ``/proc/sysrq-trigger``,
  ``/proc/kcore``, ``/proc/kmsg`` and ``/proc/timer_list`` are masked, ``/sys`` and ``/run``
  (database and docker sockets) are not mounted, ``/dev`` holds only the harmless nodes;
* resource limits (:class:`SandboxLimits`) are set by ``prlimit`` (util-linux) *inside* the
  sandbox, right before the shell is executed.
* bwrap starts in a new anonymous session keyring, with every signal at its default (a short
  host-side Python prefix, see ``_KEYRING_EXEC``): the caller's keys are not reachable inside;
  ``/proc/keys``, ``/proc/key-users``, ``/proc/kallsyms`` and ``/proc/modules`` are masked.

Fork bombs: ``RLIMIT_NPROC`` is counted per (user namespace, real uid) since Linux 5.14, so as a
non-root caller it bounds the sandbox alone. The kernel never enforces it for host uid 0, and a
sandbox started by root runs as host uid 0 whatever ``--uid`` says. As root, the sandbox is
therefore started inside a fresh ``pids`` cgroup (``pids.max``); when none can be created, the
process limit cannot be enforced and :meth:`BwrapSandbox.check` fails (unless
``require_process_limit=False``).

Not covered: total disk usage of ``workdir`` (``RLIMIT_FSIZE`` is per file), total memory of all
processes (``RLIMIT_AS`` is per process), a seccomp filter, and host-side tools that follow
symlinks the sandbox created in ``workdir`` (the host must not trust them).

Needs ``bwrap`` (Debian package ``bubblewrap``) and ``prlimit`` (``util-linux``).
:class:`NoSandbox` is the explicit, unsafe opt-out for machines without user namespaces.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = [
    "DEFAULT_SHELL",
    "BwrapSandbox",
    "NoSandbox",
    "Sandbox",
    "SandboxLimits",
    "SandboxUnavailableError",
    "sandbox_available",
]

logger = logging.getLogger(__name__)

DEFAULT_SHELL: tuple[str, ...] = ("bash", "--noprofile", "--norc")
SANDBOX_HOME = "/home/sandbox"
SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_MiB = 1024**2
_GiB = 1024**3
# Top-level entries that are symlinks into /usr on merged-usr systems, directories elsewhere.
_SYSTEM_TOP = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
# Host secrets below /etc that the shell must not read (the sandbox runs as the host uid, so
# for a root caller it could otherwise read /etc/shadow).
_MASKED_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers")
_MASKED_DIRS = ("/etc/ssh", "/etc/ssl/private", "/etc/sudoers.d")
# Kernel interfaces below /proc that write host kernel state. The sandbox started by root runs
# as host uid 0 (without capabilities), and sysctl files check only that uid: a writable
# /proc/sys lets the shell set kernel.core_pattern and run a program as host root.
_PROC_READ_ONLY = ("/proc/sys",)
# /proc/keys and /proc/key-users list the descriptions of every key the host uid may view.
_PROC_MASKED_FILES = (
    "/proc/sysrq-trigger",
    "/proc/kcore",
    "/proc/kmsg",
    "/proc/timer_list",
    "/proc/keys",
    "/proc/key-users",
    "/proc/kallsyms",  # kernel symbol addresses (an exploit's map)
    "/proc/modules",
)
_PROC_MASKED_DIRS = ("/proc/acpi", "/proc/scsi", "/proc/fs")
# keyctl(2) by machine (glibc has no wrapper; libkeyutils may be missing).
_KEYCTL_SYSCALL = {
    "x86_64": 250,
    "amd64": 250,
    "aarch64": 219,
    "arm64": 219,
    "riscv64": 219,
    "loongarch64": 219,
    "armv7l": 311,
    "armv6l": 311,
    "i386": 288,
    "i686": 288,
    "ppc64le": 271,
    "ppc64": 271,
    "s390x": 280,
}
# Runs on the host right before bwrap (``python -I -S -c CODE nr argv...``). The child would
# otherwise keep the caller's session keyring: a key added there (a token, a disk key) is
# readable inside by possession, even across the user namespace. Joining a new anonymous
# session keyring (KEYCTL_JOIN_SESSION_KEYRING, name NULL) leaves it nothing to possess.
# Python ignores SIGPIPE and SIGXFSZ and ignored dispositions survive exec: ``yes | head``
# would loop on EPIPE and a file past RLIMIT_FSIZE would not end its writer, so every signal
# goes back to its default and the mask is cleared. Fails closed (exit 125) unless keyctl is
# unavailable altogether (ENOSYS, or EPERM from a seccomp filter the sandbox inherits too).
_KEYRING_EXEC = """\
import ctypes, errno, os, signal, sys
for s in signal.valid_signals():
    if s not in (signal.SIGKILL, signal.SIGSTOP):
        try:
            signal.signal(s, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
signal.pthread_sigmask(signal.SIG_SETMASK, ())
nr, argv = int(sys.argv[1]), sys.argv[2:]
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
if libc.syscall(ctypes.c_long(nr), ctypes.c_long(1), ctypes.c_void_p(None)) < 0:
    err = ctypes.get_errno()
    probe = libc.syscall(ctypes.c_long(nr), ctypes.c_long(0), ctypes.c_long(-3), ctypes.c_long(0))
    if err not in (errno.ENOSYS, errno.EPERM) or probe >= 0 or ctypes.get_errno() != err:
        sys.stderr.write("slinvit-sandbox: cannot join a new session keyring: %s\\n"
                         % os.strerror(err))
        sys.exit(125)
os.execvp(argv[0], argv)
"""
_CGROUP_PREFIX = "slinvit-"
_CGROUP_STALE_SECONDS = 60.0


class SandboxUnavailableError(RuntimeError):
    """The sandbox cannot be created here; commands must not run unsandboxed by accident."""


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits for the sandboxed shell and every process it starts.

    ``None`` leaves a limit as inherited. Defaults are generous enough for builds, ``pip`` and
    test runs, and small enough that a runaway command cannot take the machine down.
    """

    cpu_seconds: int | None = 600
    """``RLIMIT_CPU``: CPU time of *each* process (SIGXCPU/SIGKILL). Idle waiting is free."""
    memory_bytes: int | None = 4 * _GiB
    """``RLIMIT_AS``: virtual address space of each process (allocation fails beyond it)."""
    max_processes: int | None = 512
    """Processes + threads of the whole sandbox: ``RLIMIT_NPROC`` or ``pids.max`` as root."""
    file_size_bytes: int | None = 1 * _GiB
    """``RLIMIT_FSIZE``: largest file a process may write (``EFBIG``/SIGXFSZ beyond it)."""
    open_files: int | None = 1024
    """``RLIMIT_NOFILE``: open file descriptors per process."""
    tmpfs_bytes: int = 512 * _MiB
    """Size of each tmpfs (``/tmp``, ``HOME``, ``/dev/shm``); tmpfs pages are RAM."""

    def prlimit_args(self) -> list[str]:
        """``prlimit`` options setting soft and hard limits (core dumps are always off)."""
        limits = {
            "cpu": self.cpu_seconds,
            "as": self.memory_bytes,
            "nproc": self.max_processes,
            "fsize": self.file_size_bytes,
            "nofile": self.open_files,
            "core": 0,
        }
        return [f"--{name}={value}" for name, value in limits.items() if value is not None]


class Sandbox(Protocol):
    """What ``ShellEnvironment`` needs: a check and the argv for ``pexpect.spawn``."""

    def check(self) -> None: ...

    def argv(
        self, workdir: Path, shell: Sequence[str] = DEFAULT_SHELL, *, mount_at: Path | None = None
    ) -> list[str]: ...


class NoSandbox:
    """UNSAFE opt-out: runs the shell directly on the host with the caller's environment.

    Model-written commands can then delete or read anything the caller can, including
    environment secrets. Only for machines without user namespaces, chosen explicitly.
    """

    def __init__(self) -> None:
        logger.warning("NoSandbox: model-written commands will run unsandboxed on the host")

    def check(self) -> None:
        """Always succeeds."""

    def argv(
        self, workdir: Path, shell: Sequence[str] = DEFAULT_SHELL, *, mount_at: Path | None = None
    ) -> list[str]:
        """The plain shell, started in ``workdir``; ``mount_at`` is impossible without mounts."""
        if mount_at is not None and Path(mount_at).resolve() != Path(workdir).resolve():
            raise ValueError("NoSandbox cannot show workdir at another path (mount_at)")
        return ["/bin/sh", "-c", 'cd -- "$0" && exec "$@"', str(workdir), *shell]


class BwrapSandbox:
    """Builds bubblewrap command lines; fails closed when the sandbox cannot be created."""

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        extra_ro_paths: Sequence[Path | str] = (),
        env: Mapping[str, str] | None = None,
        uid: int = 1000,
        gid: int = 1000,
        new_session: bool = False,
        require_process_limit: bool = True,
    ) -> None:
        """Configure the sandbox.

        Args:
            limits: resource limits; ``SandboxLimits()`` when omitted.
            extra_ro_paths: more host paths to expose read-only at the same path (e.g. a
                toolchain in ``/opt``).
            env: extra environment variables for the shell (nothing else is inherited).
            uid, gid: ids of the shell inside the user namespace (not root, so tools do not
                believe they are; on the host it is still the caller's uid).
            new_session: pass ``--new-session`` (``setsid``). This stops ``TIOCSTI`` keystroke
                injection into the *controlling terminal* (CVE-2017-5226) but also removes job
                control and makes Ctrl-C kill the whole sandbox. Leave it off when the shell
                runs on a private pty (pexpect); turn it on when attached to a user's terminal.
            require_process_limit: fail in :meth:`check` when ``limits.max_processes`` cannot be
                enforced (root without a writable pids cgroup).
        """
        self.limits = limits if limits is not None else SandboxLimits()
        self.extra_ro_paths = tuple(Path(p) for p in extra_ro_paths)
        self.env = dict(env or {})
        self.uid = uid
        self.gid = gid
        self.new_session = new_session
        self.require_process_limit = require_process_limit
        self._cgroups: list[Path] = []

    def check(self) -> None:
        """Raise :class:`SandboxUnavailableError` unless sandboxed shells can be started."""
        ok, reason = sandbox_available()
        if not ok:
            raise SandboxUnavailableError(reason)
        if self.require_process_limit and self._needs_cgroup() and _pids_cgroup_parent() is None:
            raise SandboxUnavailableError(
                "running as root: the kernel does not enforce RLIMIT_NPROC for uid 0 and no "
                "writable pids cgroup was found, so a fork bomb could not be stopped "
                "(run as a non-root user, give write access to a pids cgroup, or pass "
                "require_process_limit=False)"
            )

    def argv(
        self, workdir: Path, shell: Sequence[str] = DEFAULT_SHELL, *, mount_at: Path | None = None
    ) -> list[str]:
        """Command line running ``shell`` sandboxed, with ``workdir`` writable and current.

        ``workdir`` appears at its own (resolved) path, or at ``mount_at`` when given.

        As root (see module docstring) this creates a pids cgroup that the command joins first;
        empty ones are removed by :meth:`cleanup`, at interpreter exit and by later calls.
        """
        if not shell:
            raise ValueError("shell must not be empty")
        self.check()
        ro_paths = self._ro_paths()
        workdir = _validate_workdir(workdir, ro_paths)
        target = workdir if mount_at is None else _validate_mount_at(Path(mount_at), ro_paths)
        argv = self._bwrap_argv(workdir, shell, target)
        if self._needs_cgroup():
            parent = _pids_cgroup_parent()
            if parent is not None:
                _reap_stale_cgroups(parent)
                procs = _create_pids_cgroup(parent, self.limits.max_processes or 0)
                self._cgroups.append(procs.parent)
                _remove_at_exit(procs.parent)
                join = 'echo $$ > "$1" || exit 125; shift; exec "$@"'
                argv = ["/bin/sh", "-c", join, "slinvit-sandbox", str(procs), *argv]
        return argv

    def cleanup(self) -> None:
        """Remove this instance's pids cgroups that no longer contain processes."""
        self._cgroups = [cgroup for cgroup in self._cgroups if not _remove_cgroup(cgroup)]

    def _needs_cgroup(self) -> bool:
        return os.geteuid() == 0 and self.limits.max_processes is not None

    def _ro_paths(self) -> list[Path]:
        system = [Path("/usr"), Path("/etc"), *(Path("/", n) for n in _SYSTEM_TOP)]
        return [*system, *self.extra_ro_paths]

    def _bwrap_argv(self, workdir: Path, shell: Sequence[str], target: Path) -> list[str]:
        env, bwrap, prlimit = _tool("env"), _tool("bwrap"), _tool("prlimit")
        size = str(self.limits.tmpfs_bytes)
        args = [
            # a fresh session keyring and default signal dispositions (see _KEYRING_EXEC)
            *_keyring_exec(),
            # bwrap's own process stays visible inside as PID 1 and /proc/1/environ would show
            # the caller's environment (secrets) despite --clearenv: start bwrap with none.
            env,
            "-i",
            bwrap,
            "--unshare-all",  # user, ipc, pid, net, uts, cgroup: no network, own PID 1
            "--unshare-user",
            "--uid",
            str(self.uid),
            "--gid",
            str(self.gid),
            "--disable-userns",  # no nested user namespaces (kernel attack surface)
            "--cap-drop",
            "ALL",
            "--die-with-parent",  # bwrap's parent dies -> everything inside is SIGKILLed
            "--hostname",
            "sandbox",
            "--ro-bind",
            "/usr",
            "/usr",
        ]
        for name in _SYSTEM_TOP:
            host = Path("/", name)
            if host.is_symlink():
                args += ["--symlink", os.readlink(host), str(host)]
            elif host.is_dir():
                args += ["--ro-bind", str(host), str(host)]
        args += ["--ro-bind", "/etc", "/etc"]
        for path in _MASKED_FILES:
            if os.path.lexists(path):
                args += ["--ro-bind", "/dev/null", path]
        for path in _MASKED_DIRS:
            if os.path.isdir(path):
                args += ["--tmpfs", path, "--remount-ro", path]
        for path in self.extra_ro_paths:
            args += ["--ro-bind", str(path), str(path)]
        args += [
            "--proc",
            "/proc",
        ]
        for path in _PROC_READ_ONLY:
            args += ["--ro-bind", path, path]
        for path in _PROC_MASKED_FILES:
            if os.path.lexists(path):
                args += ["--ro-bind", "/dev/null", path]
        for path in _PROC_MASKED_DIRS:
            if os.path.isdir(path):
                args += ["--tmpfs", path, "--remount-ro", path]
        args += [
            "--dev",
            "/dev",  # a minimal /dev: null, zero, full, random, urandom, tty, pts
            "--size",
            size,
            "--tmpfs",
            "/dev/shm",
            "--remount-ro",
            "/dev",
            "--perms",
            "1777",
            "--size",
            size,
            "--tmpfs",
            "/tmp",
            "--size",
            size,
            "--tmpfs",
            SANDBOX_HOME,
            "--bind",
            str(workdir),
            str(target),
            "--remount-ro",
            "/",  # the sandbox's own root tmpfs: no writes outside the mounts
            "--chdir",
            str(target),
            "--clearenv",
        ]
        if self.new_session:
            args.append("--new-session")
        for key, value in self._environment(shell).items():
            args += ["--setenv", key, value]
        return [*args, "--", prlimit, *self.limits.prlimit_args(), "--", *shell]

    def _environment(self, shell: Sequence[str]) -> dict[str, str]:
        env = {
            "PATH": SANDBOX_PATH,
            "HOME": SANDBOX_HOME,
            "USER": "sandbox",
            "LOGNAME": "sandbox",
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "SHELL": shutil.which(shell[0], path=SANDBOX_PATH) or shell[0],
            "TMPDIR": "/tmp",
        }
        env.update(self.env)
        return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SandboxUnavailableError(f"{name} not found on PATH")
    return path


def _keyring_exec() -> list[str]:
    """The host-side prefix that gives bwrap a new session keyring and default signals."""
    machine = platform.machine().lower()
    nr = _KEYCTL_SYSCALL.get(machine)
    if nr is None:
        raise SandboxUnavailableError(
            f"no keyctl syscall number known for {machine!r}: the sandbox could not be given "
            "its own session keyring"
        )
    python = sys.executable or shutil.which("python3")
    if not python or not os.access(python, os.X_OK):
        raise SandboxUnavailableError("no Python interpreter to start the sandbox with")
    return [python, "-I", "-S", "-c", _KEYRING_EXEC, str(nr)]


def _validate_workdir(workdir: Path, ro_paths: Sequence[Path]) -> Path:
    """Resolve ``workdir`` and refuse directories whose bind would expose system paths rw."""
    resolved = Path(workdir).resolve(strict=True)
    if not resolved.is_dir():
        raise NotADirectoryError(resolved)
    return _validate_mount_at(resolved, ro_paths)


def _validate_mount_at(target: Path, ro_paths: Sequence[Path]) -> Path:
    """Refuse mount points that would hide or replace the system paths (``/``, ``/usr``, ...)."""
    if not target.is_absolute():
        raise ValueError(f"mount point must be absolute: {target}")
    resolved = Path(os.path.normpath(target))
    for ro in ro_paths:
        ro = ro.resolve() if ro.exists() else ro
        if ro == resolved or ro.is_relative_to(resolved):
            raise ValueError(f"workdir {resolved} would make {ro} writable in the sandbox")
    return resolved


@functools.cache
def sandbox_available() -> tuple[bool, str]:
    """Probe once whether bwrap can create the sandbox here; ``(ok, reason)``."""
    for name in ("bwrap", "prlimit"):
        if shutil.which(name) is None:
            package = "bubblewrap" if name == "bwrap" else "util-linux"
            return False, f"{name} not found on PATH (install the {package} package)"
    probe = BwrapSandbox(SandboxLimits(max_processes=None), require_process_limit=False)
    with tempfile.TemporaryDirectory(prefix="slinvit-probe-") as tmp:
        workdir = Path(tmp).resolve()
        argv = probe._bwrap_argv(workdir, ["true"], workdir)
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, f"bwrap probe failed: {exc}"
    if result.returncode != 0:
        detail = result.stderr.strip() or f"exit status {result.returncode}"
        return False, f"bwrap cannot create the sandbox here (user namespaces?): {detail}"
    return True, "bwrap sandbox available"


def _decode_mount_path(field: str) -> str:
    """Undo the octal escapes (``\\040`` for space) of /proc/self/mountinfo."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


@functools.cache
def _pids_cgroup_parent() -> Path | None:
    """A writable pids cgroup directory (v1 ``pids`` or v2 with pids delegated), or None."""
    try:
        mountinfo = Path("/proc/self/mountinfo").read_text().splitlines()
        own = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    candidates: list[Path] = []
    for line in mountinfo:
        fields = line.split()
        sep = fields.index("-")
        fstype, superopts = fields[sep + 1], fields[sep + 3]
        root, mountpoint = _decode_mount_path(fields[3]), _decode_mount_path(fields[4])
        if fstype == "cgroup" and "pids" in superopts.split(","):
            own_path = next(
                (c.split(":", 2)[2] for c in own if "pids" in c.split(":")[1].split(",")), "/"
            )
        elif fstype == "cgroup2":
            own_path = next((c.split(":", 2)[2] for c in own if c.startswith("0::")), "/")
        else:
            continue
        relative = os.path.relpath(own_path, root)
        base = Path(mountpoint)
        if not relative.startswith(".."):
            base = base / relative
        candidates.append(base)
        if fstype == "cgroup":  # prefer v1 pids: no delegation rules
            candidates.insert(0, candidates.pop())
    for base in candidates:
        control = base / "cgroup.subtree_control"  # v2 only: pids must be enabled for children
        if control.exists() and "pids" not in control.read_text().split():
            continue
        try:
            probe = _create_pids_cgroup(base, 1)
            probe.parent.rmdir()
        except OSError:
            continue
        return base
    return None


def _create_pids_cgroup(parent: Path, max_pids: int) -> Path:
    """Create a child cgroup with ``pids.max``; return its ``cgroup.procs`` path."""
    cgroup = parent / f"{_CGROUP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
    cgroup.mkdir()
    try:
        (cgroup / "pids.max").write_text(str(max_pids))
    except OSError:
        cgroup.rmdir()
        raise
    return cgroup / "cgroup.procs"


_AT_EXIT: set[Path] = set()


def _remove_cgroup(cgroup: Path) -> bool:
    """``rmdir`` an empty cgroup; False while processes are still in it."""
    try:
        cgroup.rmdir()
    except FileNotFoundError:
        pass
    except OSError:  # EBUSY: still in use
        return False
    _AT_EXIT.discard(cgroup)
    return True


def _remove_at_exit(cgroup: Path) -> None:
    _AT_EXIT.add(cgroup)


@atexit.register
def _remove_cgroups_at_exit() -> None:
    for cgroup in list(_AT_EXIT):
        _remove_cgroup(cgroup)


def _reap_stale_cgroups(parent: Path) -> None:
    """Remove empty sandbox cgroups left behind by finished shells (busy ones stay)."""
    now = time.time()
    for cgroup in parent.glob(f"{_CGROUP_PREFIX}*"):
        try:
            if now - cgroup.stat().st_mtime > _CGROUP_STALE_SECONDS:
                cgroup.rmdir()
        except OSError:
            pass
