"""Run llama.cpp's ``llama-server`` on 127.0.0.1 as an OpenAI-compatible endpoint."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from .model_files import resolve_model_path
from .runtime import ensure_llama_server

__all__ = [
    "DEFAULT_MODEL_ALIAS",
    "LocalLlamaServer",
    "LocalServerError",
    "default_threads",
    "get_local_server",
    "shutdown_local_servers",
]

THREADS_ENV = "SLINVIT_THREADS"
DEFAULT_MODEL_ALIAS = "qwen2.5-coder-1.5b-instruct"


class LocalServerError(RuntimeError):
    """llama-server did not start, or died."""


def default_threads() -> int:
    """Threads for llama-server: ``$SLINVIT_THREADS`` if set, else 1.

    One thread is the default on purpose: on a small (2-core) machine that also runs the
    agent's own work, 2 threads were measured to collapse below 1 token/s under contention
    while 1 thread held about 19 tokens/s.
    """
    env = os.environ.get(THREADS_ENV, "").strip()
    if env:
        try:
            value = int(env)
        except ValueError as exc:
            raise ValueError(f"{THREADS_ENV}={env!r} is not an integer") from exc
        if value < 1:
            raise ValueError(f"{THREADS_ENV}={env!r} must be >= 1")
        return value
    return 1


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGTERM the server if the process that started it dies."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class LocalLlamaServer:
    """A ``llama-server`` child process serving one GGUF model on 127.0.0.1.

    ``base_url`` is the OpenAI-compatible root (``http://127.0.0.1:PORT/v1``). The server
    is started by the constructor (unless ``autostart=False``) and stopped by
    :meth:`stop`, by leaving a ``with`` block, or at interpreter exit.

    ``parallel`` slots serve that many sequences at once (a request with ``n=3`` uses 3);
    each slot gets ``ctx_size`` tokens of context (``-c ctx_size*parallel``).
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        threads: int | None = None,
        ctx_size: int = 8192,
        parallel: int = 4,
        seed: int = 0,
        binary: str | os.PathLike[str] | None = None,
        alias: str = DEFAULT_MODEL_ALIAS,
        startup_timeout: float = 180.0,
        extra_args: list[str] | None = None,
        autostart: bool = True,
    ) -> None:
        if ctx_size < 256 or parallel < 1:
            raise ValueError("ctx_size must be >= 256 and parallel >= 1")
        self.model_path = resolve_model_path(model_path)
        self.threads = threads if threads is not None else default_threads()
        if self.threads < 1:
            raise ValueError("threads must be >= 1")
        self.ctx_size = ctx_size
        self.parallel = parallel
        self.seed = seed
        self.alias = alias
        self.startup_timeout = startup_timeout
        self.extra_args = list(extra_args or [])
        self.binary = Path(binary) if binary is not None else ensure_llama_server()
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None
        self._owner_pid = os.getpid()
        self._lock = threading.Lock()
        if autostart:
            self.start()

    # -- properties -------------------------------------------------------------------

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` (llama-server's own endpoints: /health, /props...)."""
        if self.port is None:
            raise LocalServerError("llama-server is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, ``http://127.0.0.1:PORT/v1``."""
        return f"{self.root_url}/v1"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def is_running(self) -> bool:
        """True while the server process is alive."""
        return self.process is not None and self.process.poll() is None

    def command(self, port: int) -> list[str]:
        """The llama-server command line used for ``port``."""
        return [
            str(self.binary),
            "--model",
            str(self.model_path),
            "--alias",
            self.alias,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--threads",
            str(self.threads),
            "--threads-batch",
            str(self.threads),
            "--ctx-size",
            str(self.ctx_size * self.parallel),
            "--parallel",
            str(self.parallel),
            "--seed",
            str(self.seed),
            "--no-webui",
            "--cache-ram",  # the prompt cache defaults to 8 GiB of host memory
            "1024",
            *self.extra_args,
        ]

    # -- lifecycle --------------------------------------------------------------------

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server log ('' if none)."""
        if self.log_path is None:
            return ""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "".join(text.splitlines(True)[-lines:])

    def start(self) -> LocalLlamaServer:
        """Start the server (no-op if running) and wait until ``/health`` reports ok."""
        with self._lock:
            if self.is_running():
                return self
            last_error: Exception | None = None
            for _attempt in range(3):  # a free port can be taken before we bind it
                try:
                    self._start_once()
                    return self
                except LocalServerError as exc:
                    last_error = exc
                    self._terminate()
                    if "bind" not in str(exc).lower():
                        break
            assert last_error is not None
            raise last_error

    def _start_once(self) -> None:
        port = _free_port()
        fd, log_name = tempfile.mkstemp(prefix="slinvit-llama-server-", suffix=".log")
        self.log_path = Path(log_name)
        with os.fdopen(fd, "wb") as log:
            self.process = subprocess.Popen(
                self.command(port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=(
                    _die_with_parent
                    if threading.current_thread() is threading.main_thread()
                    else None
                ),
            )
        self.port = port
        self._owner_pid = os.getpid()
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        url = f"{self.root_url}/health"
        while True:
            assert self.process is not None
            code = self.process.poll()
            if code is not None:
                raise LocalServerError(
                    f"llama-server exited with code {code} during startup "
                    f"(cmd: {' '.join(self.command(self.port or 0))}).\n"
                    f"--- server log tail ---\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    body = json.loads(resp.read() or b"{}")
                    if resp.status == 200 and body.get("status") == "ok":
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise LocalServerError(
                    f"llama-server did not report healthy within {self.startup_timeout:.0f}s "
                    f"on {url}.\n--- server log tail ---\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def _terminate(self, timeout: float = 10.0) -> None:
        proc = self.process
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(timeout=timeout)
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server: SIGTERM, then SIGKILL after ``timeout`` seconds; wait for it."""
        if os.getpid() != self._owner_pid:  # a forked child must not stop its parent's server
            return
        with self._lock:
            self._terminate(timeout)

    def __enter__(self) -> LocalLlamaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"running on port {self.port}" if self.is_running() else "stopped"
        return f"LocalLlamaServer({self.model_path.name!r}, threads={self.threads}, {state})"


_servers: dict[tuple[object, ...], LocalLlamaServer] = {}
_servers_lock = threading.Lock()
_atexit_registered = False


def shutdown_local_servers() -> None:
    """Stop every server started through :func:`get_local_server` (also run at exit)."""
    with _servers_lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()


def get_local_server(
    model_path: str | os.PathLike[str] | None = None,
    *,
    threads: int | None = None,
    ctx_size: int = 8192,
    parallel: int = 4,
    seed: int = 0,
) -> LocalLlamaServer:
    """Return this process's shared server for these settings, starting it if needed.

    The model (default: fetched on first use) and binary are resolved first; the server
    is stopped at interpreter exit (or by :func:`shutdown_local_servers`).
    """
    global _atexit_registered
    resolved = resolve_model_path(model_path)
    n_threads = threads if threads is not None else default_threads()
    key = (str(resolved), n_threads, ctx_size, parallel, seed)
    with _servers_lock:
        if not _atexit_registered:
            atexit.register(shutdown_local_servers)
            _atexit_registered = True
        server = _servers.get(key)
        if server is not None and server.is_running():
            return server
        if server is not None:
            server.stop()
        server = LocalLlamaServer(
            resolved, threads=n_threads, ctx_size=ctx_size, parallel=parallel, seed=seed
        )
        _servers[key] = server
        return server
