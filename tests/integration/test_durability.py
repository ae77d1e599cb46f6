"""kill -9 in the middle of a run; the resumed run finishes and runs no real action twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.durable_agent", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_kill_during_a_real_action_then_resume(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "slow").write_text("pause after real actions")
    args = [str(tmp_path / "ckpt.db"), str(work), str(tmp_path / "journal.db"), "t1"]
    proc = start([*args, "start"])
    deadline = time.monotonic() + 60
    while not (work / "acted").exists():  # the first real action has run; no checkpoint yet
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never reached its first action"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert (work / "log.txt").read_text() == "first\n"

    (work / "slow").unlink()
    resumed = start([*args, "resume"])
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["actions"] == ["echo first >> log.txt", "echo second >> log.txt"]
    assert result["stop_reason"] == "submitted"
    # each real action ran exactly once, the killed one included
    assert (work / "log.txt").read_text() == "first\nsecond\n"
