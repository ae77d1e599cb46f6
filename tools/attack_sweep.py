"""Run the sandbox attack sweep against the installed package; one line per attack and a total.

Every attack runs *inside* a ``BwrapSandbox`` (or, for the last ones, a ``ShellEnvironment`` and
the InterCode-Bash ``BashTaskEnvironment``, driven as the agent drives them); an attack prints
``ESCAPED`` when it worked. Attacks that would change host state are written so that a success
changes nothing: the core_pattern and hostname attacks write back the value they just read.

    python tools/attack_sweep.py
"""

from __future__ import annotations

import ctypes
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from langgraph_slinvit.envs.sandbox import BwrapSandbox

SOCKET_PROBE = (
    "python3 -c 'import socket,sys\n"
    "for p in sys.argv[1:]:\n"
    "    s=socket.socket(socket.AF_UNIX)\n"
    '    try: s.connect(p); print("ESCAPED", p)\n'
    "    except OSError: pass' "
)
# Syscall numbers (x86_64, aarch64): finit_module, perf_event_open.
SYSCALLS = {"x86_64": (313, 298), "aarch64": (273, 241)}.get(platform.machine(), (313, 298))
KERNEL_PROBE = (
    "python3 -c 'import ctypes,os,sys\n"
    "libc=ctypes.CDLL(None,use_errno=True); libc.syscall.restype=ctypes.c_long\n"
    "what=sys.argv[1]\n"
    'if what=="module":\n'
    '    fd=os.open("/dev/null",os.O_RDONLY)\n'
    f'    r=libc.syscall(ctypes.c_long({SYSCALLS[0]}),ctypes.c_long(fd),b"",ctypes.c_long(0))\n'
    'elif what=="perf":  # system-wide CPU clock on CPU 0: needs CAP_PERFMON\n'
    "    a=(ctypes.c_char*128)(); ctypes.memmove(a,(ctypes.c_uint32*2)(1,128),8)\n"
    f"    r=libc.syscall(ctypes.c_long({SYSCALLS[1]}),a,ctypes.c_long(-1),ctypes.c_long(0),"
    "ctypes.c_long(-1),ctypes.c_long(0))\n"
    "else:  # attach to a host process by its host pid\n"
    "    r=libc.ptrace(16,int(sys.argv[2]),0,0)\n"
    'print("ESCAPED" if r>=0 else "blocked", os.strerror(ctypes.get_errno()))\' '
)
HOST_PID = str(os.getpid())

ATTACKS: dict[str, str] = {
    "core_pattern write": "v=$(cat /proc/sys/kernel/core_pattern);"
    ' printf "%s\\n" "$v" > /proc/sys/kernel/core_pattern 2>/dev/null && echo ESCAPED',
    "sysctl write (kernel.hostname)": "v=$(cat /proc/sys/kernel/hostname);"
    ' printf "%s\\n" "$v" > /proc/sys/kernel/hostname 2>/dev/null && echo ESCAPED',
    "sysrq-trigger writable": "test -w /proc/sysrq-trigger && echo ESCAPED",
    "/sys visible": "test -e /sys/kernel && echo ESCAPED",
    "capabilities (CapEff)": "grep -q '^CapEff:[[:space:]]*0*$' /proc/self/status || echo ESCAPED",
    "mount": "mount -t tmpfs none /tmp 2>/dev/null && echo ESCAPED",
    "unshare -r": "unshare -r true 2>/dev/null && echo ESCAPED",
    "chroot": "chroot / true 2>/dev/null && echo ESCAPED",
    "nsenter into PID 1": "nsenter -t 1 -m true 2>/dev/null && echo ESCAPED",
    "mknod block device": "mknod /tmp/d b 8 0 2>/dev/null && echo ESCAPED",
    "host /dev nodes": "ls /dev | grep -qvE"
    " '^(core|fd|full|null|ptmx|pts|random|shm|std(in|out|err)|tty|urandom|zero)$' && echo ESCAPED",
    "read /etc/shadow": "test -s /etc/shadow && echo ESCAPED",
    "write outside workdir": "touch /usr/x /etc/x /x 2>/dev/null && echo ESCAPED",
    "host home visible": 'test -e /root/. -o -n "$(ls -A /home | grep -v sandbox)" && echo ESCAPED',
    "network (TCP to 127.0.0.1:5432)": "(exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null"
    " && echo ESCAPED",
    "database/docker unix sockets": SOCKET_PROBE
    + "/var/run/postgresql/.s.PGSQL.5432 /run/mysqld/mysqld.sock /var/run/docker.sock",
    "ptrace of a host process": f"test -e /proc/{HOST_PID}/cmdline && grep -q attack_sweep"
    f" /proc/{HOST_PID}/cmdline && echo ESCAPED; {KERNEL_PROBE} ptrace {HOST_PID};"
    " grep -qE '^Cap(Eff|Prm|Bnd):[[:space:]]*0*[1-9a-f]' /proc/1/status && echo ESCAPED",
    "kernel modules (finit_module, /proc/modules)": f"{KERNEL_PROBE} module;"
    " for f in /proc/modules /proc/kallsyms; do head -c1 $f 2>/dev/null | grep -q . &&"
    " echo ESCAPED; done",  # procfs files report size 0: read one byte
    "perf_event_open (system-wide)": f"{KERNEL_PROBE} perf",
    "cgroup file writes": "for f in /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max; do"
    " test -w $f && echo ESCAPED; done; mkdir -p /tmp/cg;"
    " mount -t cgroup2 none /tmp/cg 2>/dev/null && echo ESCAPED;"
    " mount -t cgroup -o pids none /tmp/cg 2>/dev/null && echo ESCAPED",
}


def keyring_attack(sandbox: BwrapSandbox, work: Path) -> bool:
    """A key added to the caller's session keyring must be unreadable inside."""
    numbers = {"x86_64": (248, 250), "aarch64": (217, 219)}.get(platform.machine())
    if numbers is None:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    payload = b"sweep-" + uuid.uuid4().hex.encode()
    key = libc.syscall(
        ctypes.c_long(numbers[0]), b"user", b"slinvit-sweep", payload,
        ctypes.c_size_t(len(payload)), ctypes.c_long(-3),
    )  # fmt: skip
    if key < 0:
        return False  # keyctl unavailable here: nothing to reach
    probe = (
        "import ctypes,sys\nlibc=ctypes.CDLL(None,use_errno=True)\n"
        "b=ctypes.create_string_buffer(256)\n"
        f"n=libc.syscall(ctypes.c_long({numbers[1]}),ctypes.c_long(11),"
        "ctypes.c_long(int(sys.argv[1])),b,ctypes.c_long(256))\n"
        "print(b.raw[:max(n,0)].decode())\n"
    )
    try:
        argv = sandbox.argv(work, ["python3", "-c", probe, str(key)])
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout
        out += subprocess.run(
            sandbox.argv(work, ["cat", "/proc/keys"]), capture_output=True, text=True, timeout=60
        ).stdout
    finally:
        libc.syscall(ctypes.c_long(numbers[1]), ctypes.c_long(3), ctypes.c_long(key))  # revoke
    return payload.decode() in out or "slinvit-sweep" in out


def _marked(marker: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            pass
    return pids


def background_attack(sandbox: BwrapSandbox, work: Path) -> bool:
    """nohup, setsid and a double fork must not outlive ShellEnvironment.close()."""
    from langgraph_slinvit.envs.shell import ShellEnvironment

    marker = "slvsweep" + uuid.uuid4().hex[:8]
    env = ShellEnvironment(work, timeout=10, sandbox=sandbox)
    try:
        env.step(
            f"setsid bash -c 'exec -a {marker} sleep 600' >/dev/null 2>&1 </dev/null & "
            f"( ( exec -a {marker} sleep 600 & ) & ); "
            f"nohup bash -c 'exec -a {marker} sleep 600' >/dev/null 2>&1 </dev/null & sleep 0.3"
        )
        started = len(_marked(marker))
    finally:
        env.close()
    deadline = time.monotonic() + 5
    while _marked(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return started == 0 or bool(_marked(marker))  # not started: the probe itself failed


SWAP_LOOP = (
    "mkdir -p {d}/sub && echo mine > {d}/sub/a.txt; ( while :; do mv {d}/sub {d}/sub.d &&"
    " ln -s {secret} {d}/sub && rm {d}/sub && mv {d}/sub.d {d}/sub; done"
    " ) >/dev/null 2>&1 </dev/null & echo started"
)


def _swap_forks(env: object, copy_root: Callable[[object], Path], secret: str) -> bool:
    leaked = False
    for _ in range(40):
        try:
            fork = env.fork()  # type: ignore[attr-defined]
        except Exception:  # refused: the tree changed while it was copied
            continue
        try:
            for dirpath, _dirs, files in os.walk(copy_root(fork)):
                for name in files:
                    path = Path(dirpath, name)
                    if not path.is_symlink() and secret in path.read_text(errors="replace"):
                        leaked = True
        finally:
            fork.close()
    return leaked


def swap_fork_attack(sandbox: BwrapSandbox, work: Path) -> bool:
    """A background job swaps a directory for a symlink to a secret while the host forks."""
    from langgraph_slinvit.envs.shell import ShellEnvironment

    with tempfile.TemporaryDirectory(prefix="slinvit-sweep-secret-") as outside:
        secret = "sweep-secret-" + uuid.uuid4().hex
        Path(outside, "key").write_text(secret)
        env = ShellEnvironment(work, timeout=10, sandbox=sandbox)
        try:
            env.step(SWAP_LOOP.format(d=work, secret=outside))
            return _swap_forks(env, lambda f: f._host_root, secret)  # type: ignore[attr-defined]
        finally:
            env.close()


def bench_swap_fork_attack(sandbox: BwrapSandbox, work: Path) -> bool:
    """The same race against the InterCode-Bash environment (its tree is the sandbox's /)."""
    from langgraph_slinvit.bench.task_envs.bash import BashTaskEnvironment
    from langgraph_slinvit.bench.tasks import BashTask

    with tempfile.TemporaryDirectory(prefix="slinvit-sweep-secret-") as outside:
        secret = "sweep-secret-" + uuid.uuid4().hex
        Path(outside, "key").write_text(secret)
        task = BashTask(task_id="sweep", fs=4, question="", gold="true")
        env = BashTaskEnvironment(task, data_dir=work)
        try:
            env.step(SWAP_LOOP.format(d="/swap", secret=outside))
            return _swap_forks(env, lambda f: f.root, secret)  # type: ignore[attr-defined]
        finally:
            env.close()


HOST_ATTACKS: dict[str, Callable[[BwrapSandbox, Path], bool]] = {
    "caller's session keyring": keyring_attack,
    "background process outliving close()": background_attack,
    "symlink-swap during fork (ShellEnvironment)": swap_fork_attack,
    "symlink-swap during fork (BashTaskEnvironment)": bench_swap_fork_attack,
}


def main() -> int:
    sandbox = BwrapSandbox()
    escaped = 0
    total = len(ATTACKS) + len(HOST_ATTACKS)
    with tempfile.TemporaryDirectory(prefix="slinvit-sweep-") as tmp:
        for name, script in ATTACKS.items():
            argv = sandbox.argv(Path(tmp), ["bash", "-c", script])
            result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
            hit = "ESCAPED" in result.stdout
            escaped += hit
            print(f"{'ESCAPED' if hit else 'blocked'}  {name}", flush=True)
        for name, attack in HOST_ATTACKS.items():
            with tempfile.TemporaryDirectory(prefix="work-", dir=tmp) as work:
                hit = attack(sandbox, Path(work).resolve())
            escaped += hit
            print(f"{'ESCAPED' if hit else 'blocked'}  {name}", flush=True)
    sandbox.cleanup()
    print(f"total: {total - escaped}/{total} blocked, {escaped} escaped")
    return 1 if escaped else 0


if __name__ == "__main__":
    sys.exit(main())
