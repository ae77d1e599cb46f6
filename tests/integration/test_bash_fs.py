"""Snapshots and the Bash reward on the real InterCode-Bash starting file systems (the gold
commands themselves are not run here: they need an isolated root)."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import pytest

from langgraph_slinvit.bench.rewards.bash import (
    BashEpisodeResult,
    compute_bash_reward,
    diff_snapshots,
    snapshot_tree,
)
from langgraph_slinvit.bench.tasks import resolve_data_dir


def _extract(fs: int, dest: Path) -> Path:
    archive = resolve_data_dir() / "intercode-bash" / f"nl2bash_fs_{fs}.tar.gz"
    dest.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest


@pytest.mark.parametrize("fs", [1, 2, 3])
def test_snapshot_of_starting_tree(fs: int, tmp_path: Path) -> None:
    root = _extract(fs, tmp_path / "root")
    snap = snapshot_tree(root)
    with tarfile.open(resolve_data_dir() / "intercode-bash" / f"nl2bash_fs_{fs}.tar.gz") as tar:
        members = {m.name.rstrip("/"): m for m in tar.getmembers() if m.isfile() or m.issym()}
    assert set(snap) == set(members)
    for name, info in snap.items():  # modification times survive extraction
        assert int(info.mtime) == members[name].mtime
    assert diff_snapshots(snap, snapshot_tree(root)) == {}


def test_reward_on_real_tree(tmp_path: Path) -> None:
    gold_root = _extract(1, tmp_path / "gold")
    agent_root = tmp_path / "agent"
    shutil.copytree(gold_root, agent_root, symlinks=True)
    before = snapshot_tree(gold_root)

    # the effect of e.g. `mkdir /testbed/out && cp /testbed/*.java /testbed/out/`
    for root in (gold_root, agent_root):
        (root / "testbed" / "out").mkdir()
        for src in sorted((root / "testbed").glob("*.java")):
            shutil.copy(src, root / "testbed" / "out" / src.name)
    gold = BashEpisodeResult(diff_snapshots(before, snapshot_tree(gold_root)), "")
    assert set(gold.fs_diff) == {"testbed/out/"}
    agent = BashEpisodeResult(diff_snapshots(before, snapshot_tree(agent_root)), "")
    assert compute_bash_reward(agent, gold).reward == 1.0

    # a wrong copy: one file differs -> the collapsed directory's hash differs
    victim = next((agent_root / "testbed" / "out").glob("*.java"))
    victim.write_text("changed")
    agent = BashEpisodeResult(diff_snapshots(before, snapshot_tree(agent_root)), "")
    r = compute_bash_reward(agent, gold)
    assert r.file_diff == 0.33 and r.file_changes == 0.0 and r.reward < 1

    # a destructive answer: deleting a file the gold kept
    (agent_root / "index.html").unlink()
    agent = BashEpisodeResult(diff_snapshots(before, snapshot_tree(agent_root)), "")
    assert compute_bash_reward(agent, gold).file_diff == 0.05
