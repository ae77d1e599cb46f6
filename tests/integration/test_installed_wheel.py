"""The built wheel, installed outside the checkout, runs ``slinvit bench`` on the shared data.

Offline: the wheel is built without build isolation from a copy of the tracked files, and the
fresh virtual environment reuses this environment's installed dependencies (a path entry, so
this checkout's editable install is not active there). The model is a local OpenAI-compatible
endpoint in this process whose every reply names no action, so BlocksWorld's first legal
actions and rule-value lookahead decide the run (the setting of ``tools/bw_search_without_llm``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import threading
import venv
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from langgraph_slinvit.bench.tasks import DATA_DIR_ENV

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"


class _MuteEndpoint(BaseHTTPRequestHandler):
    """``/v1/chat/completions`` answering every request with ``n`` replies naming no action."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        n = int(body.get("n") or 1)
        reply = {
            "id": "mute",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", "mute"),
            "choices": [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": "I am not sure."},
                    "finish_reason": "stop",
                }
                for i in range(n)
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _MuteEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment outside the checkout with the wheel installed; its bin/."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, tracked):
        path = REPO / name.decode()
        if path.is_file():
            (src / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, src / name.decode())
    wheels = root / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(wheels),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("langgraph_slinvit-*.whl")
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # this environment's dependencies as a plain path entry: its .pth files (the editable
    # install of this checkout among them) are not processed there
    Path(purelib, "reuse_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    where = subprocess.run(
        [str(py), "-c", "import langgraph_slinvit; print(langgraph_slinvit.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    ).stdout.strip()
    assert Path(where).is_relative_to(env_dir), where
    return env_dir / "bin"


def _bench(bin_dir: Path, cwd: Path, endpoint: str, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != DATA_DIR_ENV and not k.startswith("OPENAI")}
    argv = [
        str(bin_dir / "slinvit"),
        "bench",
        "--suite",
        "blocksworld",
        "--method",
        "slinvit",
        "--limit",
        "1",
        "--results",
        str(cwd / "results.sqlite"),
        "--base-url",
        endpoint,
        "--api-key",
        "none",
        "--model",
        "mute",
        "--expand-from",
        "legal",
        "--p-llm",
        "agreement",
        "--rollouts",
        "0",
        "--depth",
        "2",
        "--k",
        "2",
        "--quiet",
        *extra,
    ]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"no shared benchmark data at {SHARED_DATA}")
def test_the_installed_wheel_runs_a_benchmark_with_the_data_it_is_given(
    installed: Path, endpoint: str, tmp_path: Path
) -> None:
    done = _bench(installed, tmp_path, endpoint, "--data", str(SHARED_DATA))
    assert done.returncode == 0, done.stderr
    assert "blocksworld / slinvit" in done.stdout, done.stdout
    assert re.search(r"success [01]/1 = ", done.stdout), done.stdout
    assert "ran 1, resumed 0, errors 0" in done.stdout, done.stdout
    assert (tmp_path / "results.sqlite").is_file()


def test_the_installed_wheel_without_a_data_folder_names_both_ways_to_give_one(
    installed: Path, endpoint: str, tmp_path: Path
) -> None:
    done = _bench(installed, tmp_path, endpoint)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--data DIR" in done.stderr and DATA_DIR_ENV in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
