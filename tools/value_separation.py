"""Did the value decide anything? Per SLINVIT run of a results database, over the decisions
with two paths or more: how many gave every path the same value, and how many chose another
path than the proposal's own ranking (the prior) would have.

    python tools/value_separation.py --results docs/bench-results.sqlite --suite intercode-bash

Only runs whose rows keep their decisions' values (``details["method"]["decisions"]``,
recorded since 2026-12-07) are listed.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from langgraph_slinvit.bench.results import ResultRow, ResultsDB
from langgraph_slinvit.bench.separation import run_separation

SHOWN = ("k", "depth", "rollouts", "rollout_horizon", "samples", "temperature", "stop_when")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", required=True)
    ap.add_argument("--suite", default=None)
    args = ap.parse_args()
    runs: dict[tuple[str, str, str], list[ResultRow]] = defaultdict(list)
    with ResultsDB(args.results) as db:
        for row in db.rows(suite=args.suite, method="slinvit"):
            if "decisions" in row.details.get("method", {}):
                runs[(row.suite, row.model, row.config_hash)].append(row)
    for (suite, model, chash), rows in sorted(runs.items()):
        s = run_separation(rows)
        settings = rows[0].config.get("method", {})
        label = ", ".join(f"{k}={settings.get(k)}" for k in SHOWN)
        print(
            f"{suite} {chash} ({model}; {label}): {len(rows)} tasks, "
            f"{sum(r.success for r in rows)} solved, {s.decisions} decisions with 2+ paths: "
            f"all values equal in {s.tied} ({100 * s.share(s.tied):.0f}%), the value chose "
            f"another path than the prior in {s.value_chose} ({100 * s.share(s.value_chose):.0f}%)"
        )


if __name__ == "__main__":
    main()
