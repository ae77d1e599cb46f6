"""Loaders over the real shared benchmark data."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from langgraph_slinvit.bench.tasks import (
    DATA_DIR_ENV,
    default_data_dir,
    load_bash_tasks,
    load_blocksworld_tasks,
    load_sql_tasks,
    resolve_data_dir,
)


def test_default_data_dir_and_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    repo_root = Path(__file__).resolve().parents[2]
    assert default_data_dir() == (repo_root.parent / "shared" / "data").resolve()
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert default_data_dir() == tmp_path.resolve()
    with pytest.raises(FileNotFoundError):
        resolve_data_dir(tmp_path / "missing")


def test_outside_a_checkout_the_data_folder_must_be_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from langgraph_slinvit.bench import tasks as data

    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(data, "_REPO_ROOT", tmp_path / "site-packages")
    with pytest.raises(FileNotFoundError, match=r"--data DIR.*SLINVIT_DATA_DIR"):
        default_data_dir()
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert resolve_data_dir() == tmp_path.resolve()


def test_sql_tasks() -> None:
    tasks = load_sql_tasks()
    assert len(tasks) == 1034
    assert len({t.task_id for t in tasks}) == 1034
    assert len({t.db for t in tasks}) == 20
    assert tasks[0].task_id == "spider-dev-0000" and tasks[0].db == "poker_player"
    assert all(t.gold and t.question for t in tasks)


def test_bash_tasks() -> None:
    tasks = load_bash_tasks()
    assert Counter(t.fs for t in tasks) == {1: 60, 2: 53, 3: 60, 4: 27}
    assert len({t.task_id for t in tasks}) == 200
    assert [t.task_id for t in load_bash_tasks(fs=4)][:2] == ["nl2bash-fs4-000", "nl2bash-fs4-001"]


@pytest.mark.parametrize(("step", "basic", "total"), [(4, 57, 86), (6, 114, 155)])
def test_blocksworld_paper_task_counts(step: int, basic: int, total: int) -> None:
    paper = load_blocksworld_tasks(step)
    assert len(paper) == basic
    assert all(t.basic and t.instance_path.parent.name == "instances" for t in paper)
    everything = load_blocksworld_tasks(step, basic_only=False)
    assert len(everything) == total
    assert {t.instance_path.parent.name for t in everything} == {"instances", "instances_3"}
    assert all(t.instance_path.is_file() and t.optimal_length == step for t in everything)
    assert len({t.task_id for t in everything}) == total
