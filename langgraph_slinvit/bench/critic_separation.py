"""Can a value see what the reward sees? Score answered trajectories of earlier runs, compare.

Every result row of a results database ends on an answered trajectory (its actions up to the
answered step) with a success label from the benchmark's reward. Distinct trajectories of the
same task, from any run that did not see the gold answer, are the candidates a decision could
have had to choose between. A value that separates them ranks the solved ones first:
:func:`auc` over all trajectories, and :func:`within_task` over the pairs of a solved and an
unsolved trajectory of the same task (the comparisons a decision makes). The labels come from
the reward (the gold answer): they grade the value, nothing here feeds them back into a run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Trajectory = tuple[str, ...]


@dataclass(frozen=True)
class Answered:
    """One task's distinct answered trajectories and whether each solved the task."""

    task_id: str
    solved: dict[Trajectory, bool]
    mixed_labels: int
    """Trajectories left out: runs that took them disagree on success (outputs that vary)."""


def answered_trajectories(rows: Iterable[Any]) -> dict[str, Answered]:
    """Per task, the distinct trajectories the rows answered with (actions up to
    ``details["answer_step"]``, all actions when it is absent) and their success; a
    trajectory whose rows disagree on success is left out and counted; empty ones are skipped."""
    labels: dict[str, dict[Trajectory, set[bool]]] = {}
    for row in rows:
        answer = row.details.get("answer_step")
        actions = row.actions if answer is None else row.actions[: answer + 1]
        if actions:
            labels.setdefault(row.task_id, {}).setdefault(tuple(actions), set()).add(
                bool(row.success)
            )
    return {
        task: Answered(
            task,
            {t: next(iter(s)) for t, s in found.items() if len(s) == 1},
            sum(1 for s in found.values() if len(s) > 1),
        )
        for task, found in labels.items()
    }


def auc(scores: Iterable[float], labels: Iterable[bool]) -> float | None:
    """The probability that a solved item scores above an unsolved one (ties count half):
    0.5 is chance, 1.0 a perfect ranking; None without both kinds."""
    pairs = list(zip(scores, labels, strict=True))
    pos = [s for s, y in pairs if y]
    neg = [s for s, y in pairs if not y]
    if not pos or not neg:
        return None
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


@dataclass(frozen=True)
class PairCounts:
    """Pairs of a solved and an unsolved trajectory of the same task."""

    right: int = 0
    """The solved one scored higher."""
    tied: int = 0
    wrong: int = 0

    @property
    def total(self) -> int:
        return self.right + self.tied + self.wrong


def within_task(scored: Mapping[str, Mapping[Trajectory, tuple[float, bool]]]) -> PairCounts:
    """Count, task by task, the (solved, unsolved) pairs the score orders right, ties, wrong."""
    right = tied = wrong = 0
    for found in scored.values():
        pos = [s for s, y in found.values() if y]
        neg = [s for s, y in found.values() if not y]
        for p in pos:
            for n in neg:
                right += p > n
                tied += p == n
                wrong += p < n
    return PairCounts(right, tied, wrong)
