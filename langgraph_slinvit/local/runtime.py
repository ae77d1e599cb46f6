"""Get a ``llama-server`` binary: built once from source, then cached.

llama.cpp's own ``llama-server`` is used (it honours ``n`` > 1 choices, parallel slots,
prompt caching and seeds). Its source comes from PyPI: the ``llama-cpp-python`` sdist
vendors the llama.cpp tree under ``vendor/llama.cpp``. Only the ``llama-server`` target is
built, CPU only, static, without curl/OpenSSL/web UI, and portable (``GGML_NATIVE=OFF``:
an x86-64-v3 baseline (AVX2/FMA/F16C/BMI2) when the CPU has it, plain x86-64 otherwise).

Cache layout (the root can be moved with ``SLINVIT_CACHE_DIR``)::

    <cache root>/llama.cpp/<llama-cpp-python version>/bin/llama-server
    <cache root>/llama.cpp/<llama-cpp-python version>/build-info.json
    <cache root>/llama.cpp/<llama-cpp-python version>/build.log

Set ``SLINVIT_LLAMA_SERVER`` to the path of an existing binary to skip all of this.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from .model_files import _file_lock, cache_root

__all__ = [
    "LLAMA_CPP_PYTHON_VERSION",
    "LlamaServerBuildError",
    "ensure_llama_server",
    "llama_server_version",
]

SERVER_ENV = "SLINVIT_LLAMA_SERVER"
VERSION_ENV = "SLINVIT_LLAMA_CPP_VERSION"
JOBS_ENV = "SLINVIT_BUILD_JOBS"

#: llama-cpp-python sdist whose vendored llama.cpp is built (override: SLINVIT_LLAMA_CPP_VERSION).
LLAMA_CPP_PYTHON_VERSION = "0.3.36"

_X86_V3_FLAGS = ("avx", "avx2", "fma", "f16c", "bmi2")
_X86_V3_CMAKE = ("GGML_SSE42", "GGML_AVX", "GGML_AVX2", "GGML_FMA", "GGML_F16C", "GGML_BMI2")
_BASE_CMAKE = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DGGML_NATIVE=OFF",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DGGML_OPENMP=OFF",
    "-DGGML_CCACHE=OFF",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_APP=OFF",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_SERVER=ON",
)


class LlamaServerBuildError(RuntimeError):
    """Fetching or building llama-server failed, or the given binary is unusable."""


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    m = re.search(r"^flags\s*:(.*)$", text, re.M)
    return set(m.group(1).split()) if m else set()


def _cpu_variant() -> tuple[str, list[str], list[str]]:
    """Return (variant name, required /proc/cpuinfo flags, extra cmake args)."""
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64"):
        return (f"{machine}-baseline", [], [])
    flags = _cpu_flags()
    if all(f in flags for f in _X86_V3_FLAGS):
        return ("x86-64-v3", list(_X86_V3_FLAGS), [])
    return ("x86-64", [], [f"-D{opt}=OFF" for opt in _X86_V3_CMAKE])


def llama_server_version(binary: str | os.PathLike[str], timeout: float = 60) -> str | None:
    """Run ``binary --version``; return its output, or None if it does not run cleanly."""
    try:
        proc = subprocess.run(
            [str(binary), "--version"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return (proc.stdout + proc.stderr).strip()


def _cached_build_ok(install_dir: Path) -> bool:
    binary = install_dir / "bin" / "llama-server"
    try:
        info = json.loads((install_dir / "build-info.json").read_text())
    except (OSError, ValueError):
        return False
    if not binary.is_file() or not os.access(binary, os.X_OK):
        return False
    needed = info.get("required_cpu_flags") or []
    if needed and not set(needed) <= _cpu_flags():
        return False
    return llama_server_version(binary) is not None


def _log(msg: str) -> None:
    print(f"[slinvit] {msg}", file=sys.stderr, flush=True)


def _run_logged(cmd: list[str], log: Path, cwd: Path | None = None) -> None:
    """Run ``cmd`` appending its output to ``log``; report build progress every ~10%."""
    with open(log, "a") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n")
        fh.flush()
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        assert proc.stdout is not None
        last = -10
        for line in proc.stdout:
            fh.write(line)
            m = re.match(r"\[\s*(\d+)%\]", line)
            pct = int(m.group(1)) if m else None
            if pct is None and (n := re.match(r"\[(\d+)/(\d+)\]", line)):
                pct = 100 * int(n.group(1)) // max(1, int(n.group(2)))
            if pct is not None and pct >= last + 10:
                last = pct
                _log(f"building llama-server: {pct}%")
        rc = proc.wait()
    if rc != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(True)[-40:])
        raise LlamaServerBuildError(f"command failed ({rc}): {' '.join(cmd)}\n{tail}")


def _download_sdist(version: str, dest: Path, log: Path) -> Path:
    _log(f"downloading llama-cpp-python=={version} source from PyPI")
    _run_logged(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "-d",
            str(dest),
            f"llama-cpp-python=={version}",
        ],
        log,
    )
    found = sorted(dest.glob("llama_cpp_python-*.tar.gz")) + sorted(
        dest.glob("llama-cpp-python-*.tar.gz")
    )
    if not found:
        raise LlamaServerBuildError(f"no llama-cpp-python sdist downloaded into {dest}")
    return found[0]


def _extract_llama_cpp(sdist: Path, dest: Path) -> tuple[Path, str]:
    """Extract ``vendor/llama.cpp`` from the sdist; return (source dir, commit or 'unknown')."""
    commit = "unknown"
    with tarfile.open(sdist, "r:gz") as tf:
        members = []
        for member in tf.getmembers():
            parts = member.name.split("/", 1)
            rel = parts[1] if len(parts) == 2 else ""
            if rel.startswith("vendor/llama.cpp/") and ".." not in rel.split("/"):
                members.append(member)
            elif rel == ".git/modules/vendor/llama.cpp/HEAD":
                fh = tf.extractfile(member)
                if fh is not None:
                    head = fh.read().decode(errors="replace").strip()
                    if re.fullmatch(r"[0-9a-f]{40}", head):
                        commit = head[:7]
        if not members:
            raise LlamaServerBuildError(f"{sdist.name} has no vendor/llama.cpp tree")
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4
            tf.extractall(dest, members=members, filter="data")
        else:  # pragma: no cover
            tf.extractall(dest, members=members)  # member names checked above
    top = members[0].name.split("/", 1)[0]
    src = dest / top / "vendor" / "llama.cpp"
    if not (src / "CMakeLists.txt").is_file():
        raise LlamaServerBuildError(f"{sdist.name}: vendor/llama.cpp/CMakeLists.txt missing")
    return src, commit


def _build(version: str, install_dir: Path) -> Path:
    """Download, configure, build and install llama-server into ``install_dir``."""
    for tool in ("cmake", "c++", "cc"):
        if shutil.which(tool) is None:
            raise LlamaServerBuildError(
                f"building llama-server needs `{tool}` on PATH (cmake and a C/C++ compiler; "
                f"e.g. `apt-get install cmake build-essential`), or set {SERVER_ENV}"
            )
    parent = install_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    variant, required_flags, variant_args = _cpu_variant()
    jobs = os.environ.get(JOBS_ENV) or "2"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=".build-", dir=parent) as work_s:
        work = Path(work_s)
        log = work / "build.log"
        sdist = _download_sdist(version, work / "sdist", log)
        src, commit = _extract_llama_cpp(sdist, work / "src")
        build = work / "build"
        cmake_args = [
            *_BASE_CMAKE,
            *variant_args,
            f"-DLLAMA_BUILD_COMMIT={commit}",
            "-DLLAMA_BUILD_NUMBER=0",
        ]
        generator = ["-G", "Ninja"] if shutil.which("ninja") else []
        _log(
            f"building llama-server from llama.cpp {commit} ({variant}, -j{jobs}); "
            "this takes several minutes, once"
        )
        _run_logged(["cmake", "-S", str(src), "-B", str(build), *generator, *cmake_args], log)
        _run_logged(["cmake", "--build", str(build), "--target", "llama-server", "-j", jobs], log)
        built = build / "bin" / "llama-server"
        if not built.is_file():
            raise LlamaServerBuildError(f"build finished but {built} is missing; see {log}")
        staged = work / "install"
        (staged / "bin").mkdir(parents=True)
        shutil.copy2(built, staged / "bin" / "llama-server")
        binary = staged / "bin" / "llama-server"
        version_text = llama_server_version(binary)
        if version_text is None:
            raise LlamaServerBuildError(f"the freshly built {built} does not run; see {log}")
        info = {
            "llama_cpp_python_version": version,
            "llama_cpp_commit": commit,
            "server_version": version_text,
            "cpu_variant": variant,
            "required_cpu_flags": required_flags,
            "cmake_args": cmake_args,
            "build_seconds": round(time.monotonic() - started, 1),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        (staged / "build-info.json").write_text(json.dumps(info, indent=2) + "\n")
        shutil.copy2(log, staged / "build.log")
        # Swap in atomically: the old (broken) build is moved aside before the rename.
        if install_dir.exists():
            old = work / "old"
            os.replace(install_dir, old)
        os.replace(staged, install_dir)
    _log(f"llama-server built in {time.monotonic() - started:.0f}s: {install_dir}")
    return install_dir / "bin" / "llama-server"


def ensure_llama_server(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the path of a working ``llama-server`` binary.

    ``$SLINVIT_LLAMA_SERVER`` wins if set (it must run). Otherwise the cached build under
    ``<cache root>/llama.cpp/<version>/bin/`` is used; if it is missing, or fails to run
    (``--version`` nonzero, e.g. built for another CPU), it is (re)built from the
    llama-cpp-python sdist (a few minutes; needs cmake and a C++ compiler).
    """
    override = os.environ.get(SERVER_ENV)
    if override:
        binary = Path(override).expanduser()
        if not binary.is_file():
            raise LlamaServerBuildError(f"{SERVER_ENV}={override}: no such file")
        if llama_server_version(binary) is None:
            raise LlamaServerBuildError(f"{SERVER_ENV}={override}: `--version` does not run")
        return binary.resolve()
    version = os.environ.get(VERSION_ENV) or LLAMA_CPP_PYTHON_VERSION
    base = cache_root(cache_dir) / "llama.cpp"
    install_dir = base / version
    base.mkdir(parents=True, exist_ok=True)
    with _file_lock(base / f".{version}.lock"):
        if _cached_build_ok(install_dir):
            return install_dir / "bin" / "llama-server"
        if install_dir.exists():
            _log(f"cached llama-server in {install_dir} is unusable on this machine; rebuilding")
        return _build(version, install_dir)
