"""Run the sandbox attack sweep against the installed package; one line per attack and a total.

Every attack runs *inside* a ``BwrapSandbox``; an attack prints ``ESCAPED`` when it worked.
Attacks that would change host state are written so that a success changes nothing: the
core_pattern and hostname attacks write back the value they just read.

    python tools/attack_sweep.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from langgraph_slinvit.envs.sandbox import BwrapSandbox

SOCKET_PROBE = (
    "python3 -c 'import socket,sys\n"
    "for p in sys.argv[1:]:\n"
    "    s=socket.socket(socket.AF_UNIX)\n"
    '    try: s.connect(p); print("ESCAPED", p)\n'
    "    except OSError: pass' "
)

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
}


def main() -> int:
    sandbox = BwrapSandbox()
    escaped = 0
    with tempfile.TemporaryDirectory(prefix="slinvit-sweep-") as tmp:
        for name, script in ATTACKS.items():
            argv = sandbox.argv(Path(tmp), ["bash", "-c", script])
            result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
            hit = "ESCAPED" in result.stdout
            escaped += hit
            print(f"{'ESCAPED' if hit else 'blocked'}  {name}")
    sandbox.cleanup()
    print(f"total: {len(ATTACKS) - escaped}/{len(ATTACKS)} blocked, {escaped} escaped")
    return 1 if escaped else 0


if __name__ == "__main__":
    sys.exit(main())
