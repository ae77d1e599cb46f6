"""Attacks on the bubblewrap sandbox, each run for real, then checked from the host.

Every test works on a workdir in ``tmp_path`` plus a sentinel file in a sibling directory that
the sandbox must not be able to touch, and compares a snapshot of host files before and after.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pexpect
import pytest

from langgraph_slinvit.envs import sandbox as sandbox_module
from langgraph_slinvit.envs.sandbox import (
    SANDBOX_PATH,
    BwrapSandbox,
    NoSandbox,
    SandboxLimits,
    SandboxUnavailableError,
    sandbox_available,
)


def _usable() -> tuple[bool, str]:
    try:
        BwrapSandbox().check()  # namespaces, and a process limit the kernel enforces
    except SandboxUnavailableError as exc:
        return False, f"sandbox unavailable: {exc}"
    return True, ""


AVAILABLE, REASON = _usable()
needs_sandbox = pytest.mark.skipif(not AVAILABLE, reason=REASON)
needs_python = pytest.mark.skipif(
    shutil.which("python3", path=SANDBOX_PATH) is None, reason="no system python3"
)
PROMPT = "__SLINVIT_PROMPT__$ "  # what bash shows for PS1 below (uid 1000: "\$" is "$")
PS1 = "__SLINVIT_PROMPT__\\$ "  # unlike PROMPT itself, `env` output does not match it
SECRET = "s3cr3t-" + uuid.uuid4().hex
HOST_FILES = ("/etc/hostname", "/etc/passwd", "/usr/bin/bash")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<missing>"


def _exists(path: Path) -> bool | None:
    try:
        return path.exists()
    except PermissionError:  # /root as a non-root user: the sandbox cannot write there either
        return None


@dataclass
class World:
    """A workdir with a few files and a sentinel outside it."""

    work: Path
    outside: Path
    sentinel: Path

    def snapshot(self) -> dict[str, Any]:
        home = Path.home()
        return {
            "sentinel": self.sentinel.read_text() if self.sentinel.exists() else None,
            "outside": sorted(p.name for p in self.outside.iterdir()),
            "home": sorted(p.name for p in home.iterdir()) if home.is_dir() else None,
            "root_x": _exists(Path("/root/x")),
            **{f: _digest(Path(f)) for f in HOST_FILES},
        }


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    work, outside = tmp_path / "work", tmp_path / "outside"
    (work / "src").mkdir(parents=True)
    outside.mkdir()
    (work / "README.md").write_text("hello\n")
    (work / "src" / "main.py").write_text("print('hi')\n")
    sentinel = outside / "sentinel"
    sentinel.write_text("untouched\n")
    w = World(work, outside, sentinel)
    before = w.snapshot()
    yield w
    after = w.snapshot()
    # Other processes may add files to the real home meanwhile; nothing may disappear.
    assert set(before.pop("home") or ()) <= set(after.pop("home") or ()), "home lost files"
    assert after == before, "the host changed"


MakeSandbox = Callable[..., BwrapSandbox]


@pytest.fixture
def make_sandbox() -> Iterator[MakeSandbox]:
    """``BwrapSandbox`` factory whose pids cgroups (root only) are removed afterwards."""
    created: list[BwrapSandbox] = []

    def make(limits: SandboxLimits | None = None, **kwargs: Any) -> BwrapSandbox:
        created.append(BwrapSandbox(limits, **kwargs))
        return created[-1]

    yield make
    for sb in created:
        for _ in range(50):
            sb.cleanup()
            if not sb._cgroups:
                break
            time.sleep(0.1)
        assert not sb._cgroups, "pids cgroup still in use"


def run(
    sb: BwrapSandbox, work: Path, script: str, *args: str, mount_at: Path | None = None
) -> subprocess.CompletedProcess[str]:
    argv = sb.argv(work, ["bash", "-c", script, *args], mount_at=mount_at)
    return subprocess.run(argv, capture_output=True, text=True, timeout=40, check=False)


class Session:
    """The interactive shell as ShellEnvironment drives it: pexpect on a pty."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.child = pexpect.spawn(
            argv[0],
            list(argv[1:]),
            encoding="utf-8",
            echo=False,
            timeout=20,
            # a pytest started in the background (nohup ... &) ignores SIGINT, and its children
            # inherit that: Ctrl-C could then never stop a command (a terminal user's shell has it)
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.child.expect_exact(PROMPT)

    def run(self, command: str, timeout: float = 20) -> str:
        self.child.sendline(command)
        self.child.expect_exact(PROMPT, timeout=timeout)
        return self.child.before.replace("\r\n", "\n")

    def close(self) -> None:
        self.child.close(force=True)


def marked_pids(marker: str) -> list[int]:
    """Host pids whose command line contains ``marker``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker.encode() in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                pass
    return pids


def wait_gone(marker: str, seconds: float = 5) -> list[int]:
    deadline = time.monotonic() + seconds
    while (pids := marked_pids(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pids


# --- attacks ------------------------------------------------------------------------------


@needs_sandbox
def test_rm_rf_home(world: World, make_sandbox: MakeSandbox) -> None:
    shell = Session(make_sandbox(env={"PS1": PS1}).argv(world.work))
    try:
        assert shell.run("echo $HOME").strip() == "/home/sandbox"
        shell.run("touch ~/cache; rm -rf ~ ~/ $HOME/..; echo rc=$?")
        assert shell.run("ls -A ~ | wc -l").strip() == "0"
    finally:
        shell.close()
    assert (world.work / "README.md").read_text() == "hello\n"


@needs_sandbox
def test_rm_rf_root(world: World, make_sandbox: MakeSandbox) -> None:
    script = "timeout 25 rm -rf / --no-preserve-root; echo rm=$?; ls /usr/bin/bash"
    result = run(make_sandbox(), world.work, script)
    assert "Read-only file system" in result.stderr
    assert "/usr/bin/bash" in result.stdout  # the host system is still there inside
    if "rm=124" not in result.stdout:  # finished (a huge /usr may take longer; as far as it gets)
        # The workdir is the one writable host directory, so its content is gone (by design).
        assert world.work.is_dir() and list(world.work.iterdir()) == []


@needs_sandbox
def test_write_outside_workdir(world: World, make_sandbox: MakeSandbox) -> None:
    script = f"""
    echo pwned > {world.sentinel}; echo pwned > {world.outside}/new
    touch /root/x; echo pwned >> /etc/hostname; mkdir /newdir; cp /bin/sh /usr/local/bin/x
    cat /etc/shadow; ls /root
    echo ok > {world.work}/created; mkdir -p /tmp/scratch && echo ok > /tmp/scratch/f
    cat /tmp/scratch/f
    """
    result = run(make_sandbox(), world.work, script)
    denied = ("Read-only file system", "No such file or directory", "Permission denied")
    failures = [line for line in result.stderr.splitlines() if line.endswith(denied)]
    assert len(failures) == 8, result.stderr  # every write above, the shadow read, ls /root
    assert "Read-only file system" in result.stderr
    assert "/etc/shadow: Permission denied" in result.stderr  # masked
    assert "root:" not in result.stdout
    assert result.stdout.strip() == "ok"  # /tmp is a private tmpfs
    assert (world.work / "created").read_text() == "ok\n"  # positive control
    assert not Path("/tmp/scratch/f").exists()


@needs_sandbox
def test_symlinks_pointing_outside(world: World, make_sandbox: MakeSandbox) -> None:
    (world.work / "root").symlink_to("/")
    (world.work / "passwd").symlink_to("/etc/passwd")
    (world.work / "sentinel").symlink_to(world.sentinel)
    script = """
    echo pwned > sentinel; echo pwned >> passwd; touch root/etc/x root/root/x
    ln -sf /etc/hostname mine && echo pwned > mine
    ln -sf ../outside work-up && echo pwned > work-up/x
    """
    result = run(make_sandbox(), world.work, script)
    assert "No such file or directory" in result.stderr
    assert "Read-only file system" in result.stderr
    assert (world.work / "root").is_symlink() and (world.work / "mine").is_symlink()


@needs_sandbox
def test_fork_bomb_is_bounded(world: World, make_sandbox: MakeSandbox) -> None:
    limit = 64
    marker = f"slinvit-bomb-{uuid.uuid4().hex}"
    argv = make_sandbox(SandboxLimits(max_processes=limit)).argv(
        world.work, ["bash", "-c", "b(){ b | b & }; b; sleep 30", marker]
    )
    log = world.work.parent / "bomb.log"
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=out, start_new_session=True)
    peak, start = 0, time.monotonic()
    try:
        while time.monotonic() - start < 3:
            peak = max(peak, len(marked_pids(marker)))
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    # It ran, and the limit held (bwrap's own processes carry the marker too).
    assert limit // 2 <= peak <= limit + 2, peak
    assert "Resource temporarily unavailable" in log.read_text()
    assert wait_gone(marker) == [], "fork bomb processes survived"


@needs_sandbox
@needs_python
def test_memory_limit(world: World, make_sandbox: MakeSandbox) -> None:
    default = run(make_sandbox(), world.work, "python3 -c 'a = \" \" * 10**10'")
    assert default.returncode != 0 and "MemoryError" in default.stderr
    small = make_sandbox(SandboxLimits(memory_bytes=256 * 1024**2))
    result = run(small, world.work, "head -c 5G /dev/zero | tail; echo tail=${PIPESTATUS[1]}")
    assert "tail=0" not in result.stdout and "memory exhausted" in result.stderr


@needs_sandbox
def test_file_size_and_tmpfs_limits(world: World, make_sandbox: MakeSandbox) -> None:
    assert (SandboxLimits().file_size_bytes or 0) < 2 * 1024**3
    limits = SandboxLimits(file_size_bytes=16 * 1024**2, tmpfs_bytes=8 * 1024**2)
    script = "head -c 2G /dev/zero > big; echo head=$?; head -c 100M /dev/zero > /tmp/t; echo $?"
    result = run(make_sandbox(limits), world.work, script)
    assert "head=153" in result.stdout  # 128 + SIGXFSZ
    assert "No space left on device" in result.stderr
    assert (world.work / "big").stat().st_size == 16 * 1024**2
    (world.work / "big").unlink()


@needs_sandbox
def test_cpu_limit(world: World, make_sandbox: MakeSandbox) -> None:
    result = run(make_sandbox(SandboxLimits(cpu_seconds=1)), world.work, "while :; do :; done")
    assert result.returncode in (128 + signal.SIGXCPU, 128 + signal.SIGKILL, -signal.SIGXCPU)


@needs_sandbox
@needs_python
def test_no_network(world: World, make_sandbox: MakeSandbox) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        socket.create_connection(("127.0.0.1", port), 1).close()  # reachable from the host
        script = f"""
        for port in {port} 5432; do
          python3 -c "import socket, sys; socket.create_connection(('127.0.0.1', $port), 1)" \
            2>&1 | tail -1
        done
        cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d ' '
        curl -sS -m 2 http://127.0.0.1:{port}/ 2>&1 || true
        """
        start = time.monotonic()
        result = run(make_sandbox(), world.work, script)
    assert time.monotonic() - start < 10
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ConnectionRefusedError") and lines[1].startswith(
        "ConnectionRefusedError"
    ), result.stdout
    assert lines[2] == "lo"  # the only interface
    if shutil.which("curl"):
        assert "Failed to connect" in result.stdout or "Couldn't connect" in result.stdout


@needs_sandbox
def test_parent_environment_does_not_leak(
    world: World, make_sandbox: MakeSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLINVIT_TEST_SECRET", SECRET)
    shell = Session(make_sandbox(env={"PS1": PS1}).argv(world.work))
    try:
        env = shell.run("env")
        procs = shell.run("cat /proc/[0-9]*/environ | tr '\\0' '\\n'; cat /proc/[0-9]*/cmdline")
    finally:
        shell.close()
    assert "PATH=" in env and "SLINVIT_TEST_SECRET" not in env and SECRET not in env
    assert SECRET not in procs and "SLINVIT_TEST_SECRET" not in procs


@needs_sandbox
def test_endless_command_dies_with_its_caller(world: World, make_sandbox: MakeSandbox) -> None:
    marker = f"slinvit-endless-{uuid.uuid4().hex}"
    shell = Session(make_sandbox(env={"PS1": PS1}).argv(world.work))
    daemon = f"bash -c 'exec -a {marker}-daemon sleep 1000'"
    shell.run(f"(setsid nohup {daemon} >/dev/null 2>&1 &)")  # escapes the process group
    shell.child.sendline(f"bash -c 'exec -a {marker}-fg sleep 1000'")
    deadline = time.monotonic() + 5
    while len(marked_pids(marker)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(marked_pids(marker)) == 2
    os.kill(shell.child.pid, signal.SIGKILL)  # only bwrap itself, not its process group
    assert wait_gone(marker) == [], "sandboxed processes survived their caller"
    shell.close()


@needs_sandbox
def test_huge_output_is_readable_in_chunks(world: World, make_sandbox: MakeSandbox) -> None:
    argv = make_sandbox().argv(world.work, ["bash", "-c", "yes | head -c 300M"])
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    total, start = 0, time.monotonic()
    while chunk := proc.stdout.read(1 << 20):
        total += len(chunk)
    assert proc.wait(timeout=10) == 0
    assert total == 300 * 1024**2 and time.monotonic() - start < 20


# --- the shell itself still works ---------------------------------------------------------


@needs_sandbox
def test_interactive_shell_works(world: World, make_sandbox: MakeSandbox) -> None:
    shell = Session(make_sandbox(env={"PS1": PS1}).argv(world.work))
    try:
        assert shell.run("pwd").strip() == str(world.work.resolve())
        assert shell.run("cat README.md src/main.py") == "hello\nprint('hi')\n"
        assert shell.run("id -u; hostname").split() == ["1000", "sandbox"]
        shell.child.sendline("sleep 300")  # far longer than the wait below: only Ctrl-C ends it
        time.sleep(0.3)
        seen = ""
        for _ in range(10):  # Ctrl-C stops the command, not the shell; on a loaded machine the
            shell.child.sendintr()  # first ones can arrive before sleep has started
            if shell.child.expect_exact([PROMPT, pexpect.TIMEOUT], timeout=2) == 0:
                break
            seen += str(shell.child.before)
        else:
            pytest.fail(f"Ctrl-C did not bring the prompt back in 20 s; the shell printed {seen!r}")
        assert shell.run("echo still here").strip() == "still here"
        shell.run("echo out > made-inside.txt")
    finally:
        shell.close()
    assert (world.work / "made-inside.txt").read_text() == "out\n"
    (world.work / "made-inside.txt").unlink()


@needs_sandbox
def test_mount_at_shows_a_copy_at_the_original_path(
    world: World, make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(world.work, copy)
    script = f"pwd; echo changed > {world.work}/README.md"
    result = run(make_sandbox(), copy, script, mount_at=world.work)
    assert result.stdout.strip() == str(world.work)
    assert (copy / "README.md").read_text() == "changed\n"
    assert (world.work / "README.md").read_text() == "hello\n"


def test_fails_closed_when_unavailable(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    ok, reason = sandbox_available.__wrapped__()
    assert not ok and "bwrap not found" in reason
    monkeypatch.setattr(sandbox_module, "sandbox_available", lambda: (False, "no userns"))
    with pytest.raises(SandboxUnavailableError, match="no userns"):
        BwrapSandbox().argv(world.work)


def test_root_without_pids_cgroup_fails_closed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_module, "sandbox_available", lambda: (True, "ok"))
    monkeypatch.setattr(sandbox_module.os, "geteuid", lambda: 0)
    monkeypatch.setattr(sandbox_module, "_pids_cgroup_parent", lambda: None)
    with pytest.raises(SandboxUnavailableError, match="RLIMIT_NPROC"):
        BwrapSandbox().check()
    BwrapSandbox(require_process_limit=False).check()


@needs_sandbox
def test_workdir_must_not_expose_the_system(tmp_path: Path) -> None:
    for bad in (Path("/"), Path("/usr")):
        with pytest.raises(ValueError, match="writable"):
            BwrapSandbox().argv(bad)


def test_no_sandbox_is_the_plain_shell(world: World) -> None:
    argv = NoSandbox().argv(world.work, ["bash", "-c", "pwd"])
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == str(world.work)
    with pytest.raises(ValueError, match="mount_at"):
        NoSandbox().argv(world.work, mount_at=world.outside)


# --- kernel interfaces and privileges -----------------------------------------------------


@needs_sandbox
def test_core_pattern_and_sysctl_writes_fail(world: World, make_sandbox: MakeSandbox) -> None:
    # Writes back the host's own value: even if the write went through, the host is unchanged,
    # and the exit status still tells whether the sandbox allowed it.
    knobs = ("kernel/core_pattern", "kernel/hostname", "vm/drop_caches")
    before = {k: Path("/proc/sys", k).read_text() if k != "vm/drop_caches" else "" for k in knobs}
    script = (
        "v=$(cat /proc/sys/kernel/core_pattern);"
        ' printf "%s\\n" "$v" > /proc/sys/kernel/core_pattern'
        " && echo CORE_WRITTEN; v=$(cat /proc/sys/kernel/hostname);"
        ' printf "%s\\n" "$v" > /proc/sys/kernel/hostname && echo HOSTNAME_WRITTEN;'
        " test -w /proc/sys/vm/drop_caches && echo DROP_CACHES_WRITABLE;"
        " test -w /proc/sysrq-trigger && echo SYSRQ_WRITABLE; echo done"
    )
    result = run(make_sandbox(), world.work, script)
    assert result.stdout.strip() == "done", result.stdout + result.stderr
    assert "Read-only file system" in result.stderr
    for knob, value in before.items():
        if value:
            assert Path("/proc/sys", knob).read_text() == value


@needs_sandbox
def test_no_capabilities(world: World, make_sandbox: MakeSandbox) -> None:
    result = run(make_sandbox(), world.work, "grep -E '^Cap(Eff|Prm|Amb):' /proc/self/status")
    caps = dict(line.split(":") for line in result.stdout.strip().splitlines())
    assert len(caps) == 3 and {v.strip() for v in caps.values()} == {"0000000000000000"}, caps


# (add_key, keyctl) syscall numbers by machine.
KEY_SYSCALLS = {"x86_64": (248, 250), "aarch64": (217, 219), "riscv64": (217, 219)}
KEY_SPEC_SESSION_KEYRING = -3
KEYCTL_REVOKE, KEYCTL_SEARCH, KEYCTL_READ = 3, 10, 11
KEY_PROBE = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
nr, key, desc = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode()
buf = ctypes.create_string_buffer(256)
n = libc.syscall(ctypes.c_long(nr), ctypes.c_long(11), ctypes.c_long(key), buf, ctypes.c_long(256))
print("read", n, ctypes.get_errno(), buf.raw[: max(n, 0)].decode())
found = libc.syscall(ctypes.c_long(nr), ctypes.c_long(10), ctypes.c_long(-3), b"user", desc,
                     ctypes.c_long(0))
print("search", found, ctypes.get_errno())
"""


@pytest.fixture
def session_key() -> Iterator[tuple[int, int, str, str]]:
    """A ``user`` key in the caller's session keyring: (keyctl nr, key id, description, payload)."""
    machine = platform.machine().lower()
    if machine not in KEY_SYSCALLS:
        pytest.skip(f"no add_key syscall number for {machine}")
    add_key, nr = KEY_SYSCALLS[machine]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    desc, payload = "slinvit-" + uuid.uuid4().hex[:8], SECRET
    key = libc.syscall(
        ctypes.c_long(add_key),
        b"user",
        desc.encode(),
        payload.encode(),
        ctypes.c_size_t(len(payload)),
        ctypes.c_long(KEY_SPEC_SESSION_KEYRING),
    )
    if key < 0:
        pytest.skip(f"add_key refused here: {os.strerror(ctypes.get_errno())}")
    buf = ctypes.create_string_buffer(256)
    size = libc.syscall(ctypes.c_long(nr), ctypes.c_long(KEYCTL_READ), ctypes.c_long(key), buf, 256)
    assert buf.raw[:size].decode() == payload  # the caller itself can read it
    try:
        yield nr, key, desc, payload
    finally:
        libc.syscall(ctypes.c_long(nr), ctypes.c_long(KEYCTL_REVOKE), ctypes.c_long(key))


@needs_sandbox
@needs_python
def test_caller_session_keyring_is_out_of_reach(
    world: World, make_sandbox: MakeSandbox, session_key: tuple[int, int, str, str]
) -> None:
    """Inherited, the caller's session keyring made its keys readable inside by possession."""
    nr, key, desc, payload = session_key
    script = 'python3 -c "$0" "$@"; cat /proc/keys /proc/key-users; echo done'
    result = run(make_sandbox(), world.work, script, KEY_PROBE, str(nr), str(key), desc)
    out = result.stdout
    assert "done" in out and payload not in out and desc not in out, out + result.stderr
    assert "read -1" in out and "search -1" in out, out + result.stderr


@needs_sandbox
def test_shell_starts_with_default_signal_dispositions(world: World) -> None:
    """Python ignores SIGPIPE and SIGXFSZ, and pexpect's child used to inherit that."""
    from langgraph_slinvit.envs.shell import ShellEnvironment

    with ShellEnvironment(world.work, timeout=10, sandbox=BwrapSandbox()) as env:
        obs = env.step("grep -E '^Sig(Ign|Blk):' /proc/self/status; yes | head -c 3 | wc -c")
    assert obs.output.split() == ["SigBlk:", "0" * 16, "SigIgn:", "0" * 16, "3"], obs.output


@needs_sandbox
@pytest.mark.parametrize(
    "command",
    [
        "mount -t tmpfs none /tmp",
        "unshare -r true",
        "unshare -m true",
        "chroot / true",
        "nsenter -t 1 -m true",
        "mknod /tmp/null c 1 3",
        "mknod /tmp/disk b 8 0",
    ],
)
def test_privileged_operations_fail(world: World, make_sandbox: MakeSandbox, command: str) -> None:
    tool = command.split()[0]
    if shutil.which(tool, path=SANDBOX_PATH) is None:
        pytest.skip(f"{tool} not installed")
    result = run(make_sandbox(), world.work, f"{command} && echo ESCAPED")
    assert "ESCAPED" not in result.stdout and result.returncode != 0, result.stderr


@needs_sandbox
def test_kernel_filesystems_are_not_mounted(world: World, make_sandbox: MakeSandbox) -> None:
    result = run(make_sandbox(), world.work, "ls -A /sys /run /var/run 2>/dev/null; ls /dev")
    assert set(result.stdout.split()) <= {
        "core",
        "fd",
        "full",
        "null",
        "ptmx",
        "pts",
        "random",
        "shm",
        "stderr",
        "stdin",
        "stdout",
        "tty",
        "urandom",
        "zero",
    }, result.stdout


HOST_SOCKETS = (
    "/var/run/postgresql/.s.PGSQL.5432",
    "/run/postgresql/.s.PGSQL.5432",
    "/run/mysqld/mysqld.sock",
    "/var/run/mysqld/mysqld.sock",
    "/var/run/docker.sock",
    "/run/docker.sock",
)


@needs_sandbox
@needs_python
def test_host_database_and_docker_sockets_are_unreachable(
    world: World, make_sandbox: MakeSandbox
) -> None:
    probe = (
        "import socket, sys\n"
        "for path in sys.argv[1:]:\n"
        "    s = socket.socket(socket.AF_UNIX)\n"
        "    try:\n"
        "        s.connect(path); print('CONNECTED', path)\n"
        "    except OSError as exc:\n"
        "        print('refused', path, exc.errno)\n"
    )
    result = run(make_sandbox(), world.work, 'python3 -c "$0" "$@"', probe, *HOST_SOCKETS)
    assert "CONNECTED" not in result.stdout, result.stdout
    assert result.stdout.count("refused") == len(HOST_SOCKETS), result.stdout + result.stderr


@needs_sandbox
def test_background_processes_die_on_close(world: World) -> None:
    from langgraph_slinvit.envs.shell import ShellEnvironment

    marker = "slv" + uuid.uuid4().hex[:10]
    env = ShellEnvironment(world.work, timeout=10, sandbox=BwrapSandbox())
    try:
        obs = env.step(
            f"setsid bash -c 'exec -a {marker}-setsid sleep 3600' >/dev/null 2>&1 < /dev/null & "
            f"( ( exec -a {marker}-double sleep 3600 & ) & ) ; "
            f"nohup bash -c 'exec -a {marker}-nohup sleep 3600' </dev/null >/dev/null 2>&1 & "
            "sleep 0.5; echo started"
        )
        assert "started" in obs.output
        assert len(marked_pids(marker)) == 3, "the background processes did not start"
    finally:
        env.close()
    assert wait_gone(marker) == [], "background processes outlived close()"


NON_ROOT_PROBE = """
import importlib.util, subprocess, sys
spec = importlib.util.spec_from_file_location("sandbox", sys.argv[1])
sandbox = importlib.util.module_from_spec(spec)
sys.modules["sandbox"] = sandbox
spec.loader.exec_module(sandbox)
argv = sandbox.BwrapSandbox().argv(sandbox.Path(sys.argv[2]), ["bash", "-c", sys.argv[3]])
result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
print(result.stdout, end="")
"""


@needs_sandbox
@pytest.mark.skipif(os.geteuid() != 0, reason="the suite already runs as a non-root user")
@pytest.mark.skipif(not os.access("/usr/bin/python3", os.X_OK), reason="no system python3")
def test_kernel_attacks_fail_for_a_non_root_caller(tmp_path: Path) -> None:
    """The same sandbox started by an unprivileged host user (here: nobody)."""
    module = Path(sandbox_module.__file__).resolve()
    if any(not os.access(p, os.R_OK | os.X_OK) for p in module.parents if p != Path("/")):
        pytest.skip("the package is not readable by other users")
    shared = Path(tempfile.mkdtemp(prefix="slinvit-nonroot-", dir="/tmp"))
    try:
        shared.chmod(0o777)
        script = (
            "id -u; grep -c '^CapEff:[[:space:]]*0*$' /proc/self/status;"
            " v=$(cat /proc/sys/kernel/core_pattern);"
            ' printf "%s\\n" "$v" > /proc/sys/kernel/core_pattern 2>/dev/null && echo ESCAPED;'
            " unshare -r true 2>/dev/null && echo ESCAPED;"
            " mount -t tmpfs none /tmp 2>/dev/null && echo ESCAPED; echo end"
        )
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        argv += ["/usr/bin/python3", "-c", NON_ROOT_PROBE, str(module), str(shared), script]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(shared)}
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
        assert result.stdout.split() == ["1000", "1", "end"], result.stdout + result.stderr
    finally:
        shutil.rmtree(shared)


@needs_sandbox
@needs_python
@pytest.mark.parametrize(
    "attack",
    [
        "ptrace of a host process",
        "kernel modules (finit_module, /proc/modules)",
        "perf_event_open (system-wide)",
        "cgroup file writes",
    ],
)
def test_kernel_interfaces_of_the_attack_sweep_fail(
    world: World, make_sandbox: MakeSandbox, attack: str
) -> None:
    """The sweep's probes (tools/attack_sweep.py): host pids are not visible and cannot be
    traced, PID 1 (bwrap) holds no capability, finit_module and a system-wide perf event are
    refused, /proc/modules and /proc/kallsyms are masked, no cgroup file can be reached."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "tools" / "attack_sweep.py"
    spec = importlib.util.spec_from_file_location("attack_sweep", path)
    assert spec is not None and spec.loader is not None
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    result = run(make_sandbox(), world.work, sweep.ATTACKS[attack])
    assert "ESCAPED" not in result.stdout, result.stdout + result.stderr
    if "python3" in sweep.ATTACKS[attack]:  # the probe ran and reported
        assert "blocked" in result.stdout, result.stdout + result.stderr
