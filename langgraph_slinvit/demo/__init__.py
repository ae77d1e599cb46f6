"""The project's own example data: a small shop database and a small shell workspace."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from importlib import resources
from pathlib import Path

from langgraph_slinvit.paths import cache_root

DEMO_QUESTION = "What are the names of the customers who have never placed an order?"
DEMO_ANSWER = {"Edsger Dijkstra", "Margaret Hamilton"}
DEMO_SHELL_TASK = "How many .txt files are in the notes folder?"


def _cache_dir() -> Path:
    path = cache_root() / "demo"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_demo_database(path: str | Path) -> Path:
    """Write the shop database to ``path`` (replacing it) and return the path."""
    target = Path(path)
    script = resources.files(__package__).joinpath("shop.sql").read_text()
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    os.close(fd)
    conn = sqlite3.connect(tmp)
    try:
        conn.executescript(script)
        conn.commit()
    finally:
        conn.close()
    os.replace(tmp, target)
    return target


def demo_database() -> Path:
    """The shop database in the user's cache (written once, rewritten if missing)."""
    path = _cache_dir() / "shop.db"
    if not path.exists():
        write_demo_database(path)
    return path


def demo_workspace(root: str | Path | None = None) -> Path:
    """A small folder of notes for the shell demo (fresh under ``root`` or a temp dir)."""
    base = Path(root) if root else Path(tempfile.mkdtemp(prefix="slinvit-demo-"))
    notes = base / "notes"
    notes.mkdir(parents=True, exist_ok=True)
    (notes / "todo.txt").write_text("buy milk\nfix the bike\ncall Ada\n")
    (notes / "ideas.txt").write_text("a SLINVIT agent\na faster fork\n")
    (notes / "readme.md").write_text("# notes\nnot a txt file\n")
    return base
