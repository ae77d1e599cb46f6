"""Does the value separate the candidates? Read from the decisions a SLINVIT run recorded.

Each ``slinvit`` result row keeps, per decision, every scored path's ``v_hat`` and ``score``
and the chosen path's index (``details["method"]["decisions"]``). A value that gives every
path the same ``v_hat`` cannot choose; a decision whose chosen path is also the one with the
highest prior (``score - v_hat``) is the proposal's own ranking, whatever the value said.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

TOL = 1e-6


@dataclass(frozen=True)
class Separation:
    """How often a run's value decided anything, over its decisions with two paths or more."""

    decisions: int
    """Decisions with at least two scored paths."""
    tied: int
    """Of those, decisions where every path had the same ``v_hat``."""
    value_chose: int
    """Of those, decisions whose chosen path is not the one the prior alone ranks first."""

    def share(self, count: int) -> float:
        return count / self.decisions if self.decisions else 0.0


def _prior_first(decision: dict[str, Any]) -> int:
    # score and v_hat are recorded to 4 decimals: so is the prior read back from them
    priors = [round(s - v, 4) for s, v in zip(decision["score"], decision["v_hat"], strict=True)]
    return max(range(len(priors)), key=lambda i: (priors[i], -i))


def separation(decisions: Iterable[dict[str, Any]]) -> Separation:
    """Count, over the decisions with two or more paths, ties of ``v_hat`` and the decisions
    the value changed (the chosen path is not the prior's first, ties to the earlier path)."""
    n = tied = chose = 0
    for d in decisions:
        values: Sequence[float] = d.get("v_hat", [])
        if len(values) < 2 or d.get("chosen") is None:
            continue
        n += 1
        if max(values) - min(values) <= TOL:
            tied += 1
        if d["chosen"] != _prior_first(d):
            chose += 1
    return Separation(n, tied, chose)


def run_separation(rows: Iterable[Any]) -> Separation:
    """:func:`separation` over every decision of a run's result rows (those that kept them)."""
    return separation(d for row in rows for d in row.details.get("method", {}).get("decisions", []))
