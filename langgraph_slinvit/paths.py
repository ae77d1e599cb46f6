"""Where the project keeps its caches (models, builds, converted data, demo files, journal)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$SLINVIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/langgraph-slinvit`` (``~/.cache/...``)."""
    env = os.environ.get("SLINVIT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "langgraph-slinvit"
