"""What did the rollouts of a BlocksWorld run do? Per SLINVIT run with rollouts in a results
database: how many one-move rollouts made a move the state allows, how the rollouts' values
compare with the leaf each started from, and in how many decisions the rollouts changed the
choice (against the same scores with every path valued at its leaf).

    python tools/bw_rollout_moves.py --results docs/bench-results.sqlite

Each decision's state is rebuilt by replaying the task's real moves before it and the path's
moves in a fresh environment; a rollout's move is judged against that state's legal moves.
Only rows that keep their decisions (``details["method"]["decisions"]``) are counted.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from langgraph_slinvit.bench.results import ResultRow, ResultsDB
from langgraph_slinvit.bench.suites import make_suite


@dataclass
class MoveCounts:
    """What the rollouts of one run did."""

    decisions: int = 0
    changed: int = 0
    moves: int = 0
    """Rollouts of exactly one move past the leaf (the records keep a rollout's last move)."""
    illegal: int = 0
    unjudged: int = 0
    """Rollouts with no move (an unusable reply) or with more than one."""
    versus_leaf: Counter[tuple[bool, str]] = field(default_factory=Counter)
    """(legal move, 'up' | 'same' | 'down' against the leaf's value) -> rollouts."""


def count_moves(rows: list[ResultRow], suite=None) -> MoveCounts:
    """Replay each decision's state and classify its one-move rollouts."""
    suite = suite or make_suite("blocksworld")
    tasks = {t.index: t for t in suite.tasks()}
    counts = MoveCounts()
    for row in rows:
        decisions = row.details.get("method", {}).get("decisions", [])
        for i, decision in enumerate(decisions):
            counts.decisions += 1
            without = []
            for path, score, v_hat in zip(
                decision["paths"], decision["score"], decision["v_hat"], strict=True
            ):
                records = path["rollouts"]
                leaf = records[0]
                without.append(score - v_hat + leaf["value"])
                if len(records) < 2:
                    continue
                env = suite.make_env(tasks[row.task_index])
                for move in [*row.actions[:i], *path["actions"]]:
                    env.step(move)
                legal = set(env.legal_actions())
                for record in records[1:]:
                    if record["length"] != leaf["length"] + 1:
                        counts.unjudged += 1  # no move, or more than the one judged here
                        continue
                    counts.moves += 1
                    allowed = record["last"] in legal
                    counts.illegal += not allowed
                    side = (
                        "up"
                        if record["value"] > leaf["value"]
                        else "down"
                        if record["value"] < leaf["value"]
                        else "same"
                    )
                    counts.versus_leaf[(allowed, side)] += 1
            best = max(range(len(without)), key=lambda j: (without[j], -j))
            counts.changed += best != decision["chosen"]
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", required=True)
    args = ap.parse_args()
    runs: dict[tuple[str, str], list[ResultRow]] = defaultdict(list)
    with ResultsDB(args.results) as db:
        for row in db.rows(suite="blocksworld", method="slinvit"):
            settings = row.config.get("method", {})
            if settings.get("rollouts") and "decisions" in row.details.get("method", {}):
                runs[(row.model, row.config_hash)].append(row)
    suite = make_suite("blocksworld")
    for (model, chash), rows in sorted(runs.items()):
        c = count_moves(rows, suite)
        s = rows[0].config["method"]
        legal_only = s.get("rollout_legal_only", False)
        print(
            f"{chash} ({model}; M={s['rollouts']}, rollout_horizon={s['rollout_horizon']}, "
            f"rollout_leaves={s.get('rollout_leaves', 0)}, rollout_legal_only={legal_only}): "
            f"{len(rows)} tasks, {sum(r.success for r in rows)} solved; "
            f"rollouts changed the choice in {c.changed} of {c.decisions} decisions; "
            f"{c.moves} one-move rollouts, the move refused by the state in {c.illegal} "
            f"({100 * c.illegal / max(c.moves, 1):.0f}%), {c.unjudged} others not judged; "
            "against the leaf's value: "
            + ", ".join(
                f"{'legal' if ok else 'refused'} {side} {n}"
                for (ok, side), n in sorted(c.versus_leaf.items())
            )
        )


if __name__ == "__main__":
    main()
