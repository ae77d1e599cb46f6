"""Forking a workdir that another process changes while it is copied copies nothing outside it."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from langgraph_slinvit.envs import shell as shell_module
from langgraph_slinvit.envs.sandbox import sandbox_available
from langgraph_slinvit.envs.shell import ShellEnvironmentError, copy_tree_nofollow

needs_sandbox = pytest.mark.skipif(not sandbox_available()[0], reason=sandbox_available()[1])

SECRET = "top-secret-value"


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    work, secrets_dir = tmp_path / "work", tmp_path / "secrets"
    (work / "sub").mkdir(parents=True)
    (work / "sub" / "a.txt").write_text("a\n")
    (work / "link").symlink_to("/")
    secrets_dir.mkdir()
    (secrets_dir / "key").write_text(SECRET)
    return work, secrets_dir


def _all_text(root: Path) -> str:
    parts = []
    for dirpath, _dirs, files in os.walk(root):  # does not follow symlinks
        for name in files:
            path = Path(dirpath, name)
            if not path.is_symlink():
                parts.append(path.read_text())
    return "".join(parts)


def test_copy_keeps_files_modes_and_symlinks(tree: tuple[Path, Path], tmp_path: Path) -> None:
    work, _ = tree
    (work / "run.sh").write_text("echo hi\n")
    (work / "run.sh").chmod(0o755)
    os.mkfifo(work / "pipe")  # would block a plain copy; skipped
    copy_tree_nofollow(work, tmp_path / "copy")
    copy = tmp_path / "copy"
    assert (copy / "sub" / "a.txt").read_text() == "a\n"
    assert (copy / "link").is_symlink() and os.readlink(copy / "link") == "/"
    assert (copy / "run.sh").stat().st_mode & 0o777 == 0o755
    assert not (copy / "pipe").exists()


@pytest.mark.parametrize("swap_to", ["secrets_dir", "root", "secret_file"])
def test_directory_swapped_for_a_symlink_mid_copy(
    tree: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swap_to: str
) -> None:
    work, secrets_dir = tree
    link_target = {
        "secrets_dir": secrets_dir,
        "root": Path("/"),
        "secret_file": secrets_dir / "key",
    }[swap_to]
    real_lstat = shell_module._lstat

    def lstat_then_swap(name: str, dir_fd: int) -> os.stat_result:
        result = real_lstat(name, dir_fd)
        if name == "sub":  # the attacker wins the race right after the type check
            (work / "sub" / "a.txt").unlink()
            (work / "sub").rmdir()
            (work / "sub").symlink_to(link_target)
        return result

    monkeypatch.setattr(shell_module, "_lstat", lstat_then_swap)
    with pytest.raises(ShellEnvironmentError, match="sub"):
        copy_tree_nofollow(work, tmp_path / "copy")
    assert SECRET not in _all_text(tmp_path / "copy")
    assert not (tmp_path / "copy" / "sub" / "key").exists()


def test_regular_file_swapped_for_a_symlink_mid_copy(
    tree: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, secrets_dir = tree
    (work / "notes.txt").write_text("notes\n")
    real_lstat = shell_module._lstat

    def lstat_then_swap(name: str, dir_fd: int) -> os.stat_result:
        result = real_lstat(name, dir_fd)
        if name == "notes.txt":
            (work / "notes.txt").unlink()
            (work / "notes.txt").symlink_to(secrets_dir / "key")
        return result

    monkeypatch.setattr(shell_module, "_lstat", lstat_then_swap)
    with pytest.raises(ShellEnvironmentError, match=r"notes\.txt"):
        copy_tree_nofollow(work, tmp_path / "copy")
    assert SECRET not in _all_text(tmp_path / "copy")


def test_fifos_and_symlink_mtimes_on_request(tree: tuple[Path, Path], tmp_path: Path) -> None:
    work, _ = tree
    os.mkfifo(work / "pipe", 0o640)
    os.utime(work / "link", ns=(1_000_000_000, 2_000_000_000), follow_symlinks=False)
    copy_tree_nofollow(work, tmp_path / "copy", fifos=True)
    copy = tmp_path / "copy"
    assert stat.S_ISFIFO((copy / "pipe").lstat().st_mode)
    assert (copy / "pipe").lstat().st_mode & 0o777 == 0o640
    assert (copy / "link").lstat().st_mtime_ns == 2_000_000_000


class _Listing:
    """What ``os.scandir`` returns, already read, usable as a context manager."""

    def __init__(self, entries: list[os.DirEntry[str]]) -> None:
        self.entries = entries

    def __enter__(self) -> _Listing:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def __iter__(self) -> Iterator[os.DirEntry[str]]:
        return iter(self.entries)

    def close(self) -> None:
        pass


def swap_after_listing(monkeypatch: pytest.MonkeyPatch, root: Path, swap: Callable[[], None]):
    """Run ``swap`` once, right after the first listing of ``root`` (by ``os.listdir`` or
    ``os.scandir``, by path or by descriptor): the attacker wins the race whatever the copy."""
    real_listdir, real_scandir = os.listdir, os.scandir
    done: list[bool] = []

    def listed(path: Any) -> bool:
        if done:
            return False
        if isinstance(path, int):
            path = os.readlink(f"/proc/self/fd/{path}")
        if os.path.realpath(path) != str(root.resolve()):
            return False
        done.append(True)
        return True

    def listdir(path: Any = ".") -> list[str]:
        names = real_listdir(path)
        if listed(path):
            swap()
        return names

    def scandir(path: Any = ".") -> _Listing:
        with real_scandir(path) as entries:
            listing = _Listing(list(entries))
        if listed(path):
            swap()
        return listing

    monkeypatch.setattr(os, "listdir", listdir)
    monkeypatch.setattr(os, "scandir", scandir)


def _library_env(root: Path) -> Any:
    from langgraph_slinvit.envs.sandbox import BwrapSandbox
    from langgraph_slinvit.envs.shell import ShellEnvironment

    return ShellEnvironment(root, sandbox=BwrapSandbox())


def _bench_env(tmp_path: Path) -> Any:
    from langgraph_slinvit.bench.task_envs.bash import BashTaskEnvironment
    from langgraph_slinvit.bench.tasks import BashTask

    task = BashTask(task_id="swap", fs=4, question="", gold="true")  # fs 4: an empty tree
    return BashTaskEnvironment(task, data_dir=tmp_path)


@needs_sandbox
@pytest.mark.parametrize("kind", ["library", "bench"])
@pytest.mark.parametrize("swap_to", ["root", "secrets_dir", "secret_file"])
def test_fork_of_a_tree_swapped_while_listed_copies_nothing_outside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, swap_to: str
) -> None:
    """``ShellEnvironment.fork`` and the InterCode-Bash ``BashTaskEnvironment.fork``: a
    directory replaced by a symlink between the listing and the copy is never followed
    (``shutil.copytree`` in the bench environment followed it and copied the secrets)."""
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "key").write_text(SECRET)
    if kind == "library":
        (tmp_path / "work").mkdir()
        env = _library_env(tmp_path / "work")
        root = env.workdir
    else:
        env = _bench_env(tmp_path)
        root = env.root
    try:
        (root / "sub" / "deeper").mkdir(parents=True)
        (root / "sub" / "a.txt").write_text("a\n")
        target = {"root": Path("/"), "secrets_dir": secrets_dir, "secret_file": secrets_dir / "key"}

        def swap() -> None:
            shutil.rmtree(root / "sub")
            (root / "sub").symlink_to(target[swap_to])

        swap_after_listing(monkeypatch, root, swap)
        try:
            fork = env.fork()
        except ShellEnvironmentError:
            return  # refused: nothing was copied (the copy is removed with its temp dir)
        monkeypatch.undo()
        try:
            copy = fork._host_root if kind == "library" else fork.root
            assert SECRET not in _all_text(copy)
            sub = copy / "sub"
            assert sub.is_symlink() or not sub.exists(), sorted(p.name for p in sub.iterdir())
        finally:
            fork.close()
    finally:
        monkeypatch.undo()
        env.close()
