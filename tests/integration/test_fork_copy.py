"""Forking a workdir that another process changes while it is copied copies nothing outside it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from langgraph_slinvit.envs import shell as shell_module
from langgraph_slinvit.envs.shell import ShellEnvironmentError, copy_tree_nofollow

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
