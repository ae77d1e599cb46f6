"""Benchmark suites. Each is imported only when it is used, so ``intercode-sql`` needs neither
bubblewrap (Bash) nor the BlocksWorld environment."""

from __future__ import annotations

import importlib
import os
from typing import Any

from langgraph_slinvit.bench.core import Suite

SUITES: dict[str, str] = {
    "intercode-sql": "langgraph_slinvit.bench.suites.sql:SqlSuite",
    "intercode-bash": "langgraph_slinvit.bench.suites.bash:BashSuite",
    "blocksworld": "langgraph_slinvit.bench.suites.blocksworld:BlocksWorldSuite",
    "alfworld": "langgraph_slinvit.bench.suites.alfworld:ALFWorldSuite",
}


def make_suite(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    **options: Any,
) -> Suite:
    """The suite called ``name``; ``options`` go to its constructor (e.g. ``backend`` for SQL)."""
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r} (choose from {', '.join(SUITES)})")
    module, _, cls = SUITES[name].partition(":")
    return getattr(importlib.import_module(module), cls)(data_dir=data_dir, **options)


__all__ = ["SUITES", "make_suite"]
