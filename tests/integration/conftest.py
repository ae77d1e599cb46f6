"""Fixtures shared by the integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from langgraph_slinvit.bench.task_envs.spider_sqlite import build_spider_sqlite


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache root holding the Spider SQLite files (built once per session)."""
    root = tmp_path_factory.mktemp("slinvit-cache")
    build_spider_sqlite(root / "spider_sqlite")
    return root
