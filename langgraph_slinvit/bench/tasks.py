"""Locate and load the read-only benchmark data (InterCode-SQL/Bash, BlocksWorld).

The data folder is, in this order: the ``data_dir`` argument of every loader (``slinvit bench
--data DIR``), the ``SLINVIT_DATA_DIR`` environment variable, and, only when the package runs
from a source checkout, the checkout's ``../shared/data``. An installed package (a wheel) has no
checkout, so there it needs one of the first two. Nothing here copies or writes the data.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DATA_DIR_ENV",
    "BashTask",
    "BlocksWorldTask",
    "SqlTask",
    "default_data_dir",
    "load_bash_tasks",
    "load_blocksworld_tasks",
    "load_sql_tasks",
    "resolve_data_dir",
]

DATA_DIR_ENV = "SLINVIT_DATA_DIR"
_REPO_ROOT = Path(__file__).resolve().parents[2]

# Instance folders of the step_N.json paths -> folders of the shared data.
_BW_FOLDERS = {"generated_basic": "instances", "generated_basic_3": "instances_3"}
_BW_PATH_RE = re.compile(r"(generated_basic(?:_3)?)/instance-(\d+)\.pddl$")


def _checkout_root() -> Path | None:
    """The source checkout this package runs from, or None when it is installed elsewhere."""
    root = _REPO_ROOT
    if (root / "pyproject.toml").is_file() and (root / ".git").exists():
        return root
    return None


def default_data_dir() -> Path:
    """``$SLINVIT_DATA_DIR`` if set, else the checkout's ``../shared/data``.

    Raises FileNotFoundError naming both ways to give the folder when neither applies (an
    installed package without ``SLINVIT_DATA_DIR``).
    """
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    root = _checkout_root()
    if root is None:
        raise FileNotFoundError(
            "no benchmark data folder: pass --data DIR (data_dir=...) or set "
            f"{DATA_DIR_ENV}; the ../shared/data default applies only when running from a "
            "source checkout"
        )
    return (root.parent / "shared" / "data").resolve()


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return ``data_dir`` as a Path, or :func:`default_data_dir` when it is None."""
    path = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    if not path.is_dir():
        raise FileNotFoundError(
            f"benchmark data directory {path} does not exist; pass --data DIR (data_dir=...) "
            f"or set {DATA_DIR_ENV}"
        )
    return path


@dataclass(frozen=True)
class SqlTask:
    """One InterCode-SQL task (Spider dev)."""

    task_id: str
    db: str
    question: str
    gold: str
    hardness: str
    db_tables: dict[str, list[str]] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class BashTask:
    """One InterCode-Bash task; ``fs`` is the file system (1-4) it starts from."""

    task_id: str
    fs: int
    question: str
    gold: str


@dataclass(frozen=True)
class BlocksWorldTask:
    """One BlocksWorld task of a step_N.json file."""

    task_id: str
    step: int
    instance_path: Path
    gold_plan: str
    optimal_length: int
    basic: bool  # True for generated_basic (instances/), False for generated_basic_3


def load_sql_tasks(data_dir: str | os.PathLike[str] | None = None) -> list[SqlTask]:
    """Load the 1034 InterCode-SQL tasks; ``task_id`` is ``spider-dev-NNNN`` (file order)."""
    path = resolve_data_dir(data_dir) / "intercode-sql" / "ic_spider_dev.json"
    records = json.loads(path.read_text(encoding="utf-8"))
    return [
        SqlTask(
            task_id=f"spider-dev-{i:04d}",
            db=r["db"],
            question=r["query"],
            gold=r["gold"],
            hardness=r.get("hardness", ""),
            db_tables=r.get("db_tables", {}),
        )
        for i, r in enumerate(records)
    ]


def load_bash_tasks(
    data_dir: str | os.PathLike[str] | None = None, fs: int | None = None
) -> list[BashTask]:
    """Load the InterCode-Bash tasks of nl2bash_fs_{1..4}.json (or only file system ``fs``).

    ``task_id`` is ``nl2bash-fs{N}-{index:03d}``.
    """
    root = resolve_data_dir(data_dir) / "intercode-bash"
    tasks: list[BashTask] = []
    for n in (1, 2, 3, 4) if fs is None else (fs,):
        records = json.loads((root / f"nl2bash_fs_{n}.json").read_text(encoding="utf-8"))
        tasks.extend(
            BashTask(task_id=f"nl2bash-fs{n}-{i:03d}", fs=n, question=r["query"], gold=r["gold"])
            for i, r in enumerate(records)
        )
    return tasks


def load_blocksworld_tasks(
    step: int = 4, basic_only: bool = True, data_dir: str | os.PathLike[str] | None = None
) -> list[BlocksWorldTask]:
    """Load ``blocksworld/step_{step}.json``.

    With ``basic_only`` (the default) only ``generated_basic`` instances are kept: these are the
    SLINVIT paper's tasks (57 for step 4, 114 for step 6). ``task_id`` is
    ``bw-step{step}-{folder}-{N}`` with folder ``instances`` or ``instances_3``.
    """
    root = resolve_data_dir(data_dir) / "blocksworld"
    records = json.loads((root / f"step_{step}.json").read_text(encoding="utf-8"))
    tasks: list[BlocksWorldTask] = []
    for instance, plan, length in records:
        m = _BW_PATH_RE.search(instance)
        if m is None:
            raise ValueError(f"unexpected instance path in step_{step}.json: {instance}")
        folder = _BW_FOLDERS[m.group(1)]
        basic = folder == "instances"
        if basic_only and not basic:
            continue
        tasks.append(
            BlocksWorldTask(
                task_id=f"bw-step{step}-{folder}-{m.group(2)}",
                step=step,
                instance_path=root / folder / f"instance-{m.group(2)}.pddl",
                gold_plan=plan,
                optimal_length=int(length),
                basic=basic,
            )
        )
    return tasks
