"""The benchmarked methods. Each module has ``NAME``, ``config(settings)`` (what about the run
changes its results: hashed into the results key), ``is_oracle(settings)`` and ``run(job)``."""

from __future__ import annotations

from types import ModuleType

from langgraph_slinvit.bench.methods import lats, react, single, slinvit, try_again, vote

METHODS: dict[str, ModuleType] = {
    m.NAME: m for m in (slinvit, react, try_again, lats, single, vote)
}


def get_method(name: str) -> ModuleType:
    """The method module called ``name``."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r} (choose from {', '.join(METHODS)})")
    return METHODS[name]


__all__ = ["METHODS", "get_method"]
