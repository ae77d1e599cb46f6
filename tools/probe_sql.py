"""Probes of the local model and of recorded InterCode-SQL runs (docs/changelog.md).

``judge``: can the model *choose* the right query among candidates from their results? For every
task on which the recorded non-oracle runs answered with both right and wrong queries, the
distinct answers are run again (read-only) and shown to the model with the question and the
schema, in their order and reversed; it is asked for the number of the right one (8 votes at
temperature 0.8, and one greedy reply). Prints how many votes pick a right query against the
share a uniform pick would get.

``first-result`` (no model): what ``stop_when="first_result"`` would have answered in each
recorded run: every episode cut after its first real query that did not fail, replayed in a
fresh environment and scored by the suite's reward. The decisions before that point are the
recorded ones (the same requests, the same sampling seed), so the cut episode is the one the
rule runs; prints each run's recorded and cut success and the tasks that change.

``failures`` (no model): how each failed recorded answer differs from the gold result: no answer,
an error, an empty gold, the gold's columns plus extra ones, fewer columns, the same rows in
another order, the same columns in another order, or other rows.

    python tools/probe_sql.py failures --results docs/bench-results.sqlite
    python tools/probe_sql.py judge --results docs/bench-results.sqlite
    python tools/probe_sql.py first-result --results docs/bench-results.sqlite
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterator

from langchain_core.messages import HumanMessage, SystemMessage

from langgraph_slinvit.bench.core import BenchTask
from langgraph_slinvit.bench.suites.sql import SqlSuite
from langgraph_slinvit.local import local_chat_model
from langgraph_slinvit.proposal import is_failure

VOTES = 8
MAX_RESULT_CHARS = 700


def recorded_rows(results: str, min_tasks: int = 30) -> list[tuple[str, str, int, str]]:
    """``(task_id, method, success, details)`` of every complete non-oracle SQL run."""
    db = sqlite3.connect(f"file:{results}?mode=ro", uri=True)
    return db.execute(
        "SELECT task_id, method, success, details FROM results WHERE suite = 'intercode-sql' "
        "AND oracle = 0 AND config_hash IN (SELECT config_hash FROM results "
        "WHERE suite = 'intercode-sql' GROUP BY config_hash HAVING COUNT(*) >= ?)",
        (min_tasks,),
    ).fetchall()


def recorded_answers(results: str) -> dict[str, dict[str, set[int]]]:
    """``{task_id: {answer query: {success, ...}}}`` over every complete non-oracle SQL run."""
    answers: dict[str, dict[str, set[int]]] = defaultdict(dict)
    for task_id, _method, success, details in recorded_rows(results):
        query = json.loads(details).get("answer_query")
        if query:
            answers[task_id].setdefault(" ".join(query.split()), set()).add(success)
    return answers


def difference(answer: list[tuple] | None, gold: list[tuple] | None) -> str:
    """How a wrong answer's rows differ from the gold rows."""
    if answer is None:
        return "error"
    if not gold:
        return "empty gold"
    cells = lambda rows: [sorted(map(str, col)) for col in zip(*rows, strict=True)]  # noqa: E731
    mine, theirs = cells(answer), cells(gold)
    if len(answer) == len(gold) and len(mine) > len(theirs) and all(c in mine for c in theirs):
        return "extra columns"
    if sorted(map(str, answer)) == sorted(map(str, gold)):
        return "same rows, other order"
    if len(answer) == len(gold) and sorted(mine) == sorted(theirs):
        return "columns in another order"
    return "fewer columns" if len(mine) < len(theirs) else "other rows"


def failures(suite: SqlSuite, results: str) -> None:
    tasks = {t.task_id: t for t in suite.tasks()}
    kinds: Counter = Counter()
    where: dict[tuple[str, str], set[str]] = defaultdict(set)
    for task_id, method, success, details in recorded_rows(results):
        if success:
            continue
        query, raw = json.loads(details).get("answer_query"), tasks[task_id].raw
        kind = (
            "no answer"
            if not query
            else difference(suite.fetch_rows(raw.db, query), suite.gold_rows(raw))
        )
        kinds[method, kind] += 1
        where[method, kind].add(task_id.removeprefix("spider-dev-"))
    for (method, kind), n in sorted(kinds.items()):
        print(f"{method:9} {kind:26} {n:3}  tasks {', '.join(sorted(where[method, kind]))}")


def judge_messages(context: str, question: str, options: list[tuple[str, str]]) -> list:
    body = f"Context:\n{context}\n\nTask: {question}\n\nCandidate queries and their results:\n\n"
    for i, (query, output) in enumerate(options, 1):
        body += f"[{i}]\n```sql\n{query}\n```\nResult:\n{output}\n\n"
    body += "Which candidate answers the task correctly? Reply with its number only."
    return [SystemMessage("You are an expert SQL user."), HumanMessage(body)]


def _picked(text: str, count: int) -> int | None:
    match = re.search(r"\d+", text)
    return int(match.group()) if match and 1 <= int(match.group()) <= count else None


def mixed_options(suite: SqlSuite, results: str) -> Iterator[tuple[BenchTask, str, list]]:
    """Every task on which the recorded runs answered both rightly and wrongly: the task, its
    schema, and ``(query, result text, right)`` for each distinct recorded answer."""
    answers = recorded_answers(results)
    tasks = {t.task_id: t for t in suite.tasks()}
    for task_id, queries in sorted(answers.items()):
        if not (any(1 in s for s in queries.values()) and any(0 in s for s in queries.values())):
            continue
        env = suite.make_env(tasks[task_id])  # read-only: an answer cannot change the database
        try:
            options = []
            for query, successes in queries.items():
                output = env.step(query).output
                if len(output) > MAX_RESULT_CHARS:
                    output = output[:MAX_RESULT_CHARS] + " ..."
                options.append((query, output, 1 in successes))
            yield tasks[task_id], env.describe(), options
        finally:
            env.close()


def judge(suite: SqlSuite, results: str, seed: int) -> None:
    sampled = local_chat_model(temperature=0.8, max_tokens=8, n=VOTES, parallel=VOTES, seed=seed)
    greedy = local_chat_model(temperature=0.0, max_tokens=8, parallel=VOTES)
    total = Counter()
    for task, context, options in mixed_options(suite, results):
        task_id = task.task_id
        for order in (options, options[::-1]):
            messages = judge_messages(context, task.text, [(q, o) for q, o, _ in order])
            votes = Counter(
                _picked(g.text, len(order)) for g in sampled.generate([messages]).generations[0]
            )
            first = _picked(str(greedy.invoke(messages).content), len(order))
            right = sum(n for i, n in votes.items() if i is not None and order[i - 1][2])
            n_right = sum(1 for o in order if o[2])
            total.update(
                cases=1,
                votes=VOTES,
                right_votes=right,
                uniform=n_right / len(order) * VOTES,
                greedy_right=int(first is not None and order[first - 1][2]),
                greedy_first=int(first == 1),
            )
            print(
                f"{task_id}: {len(order)} options, {n_right} right; votes "
                f"{dict(sorted((k or 0, v) for k, v in votes.items()))} ({right} right); "
                f"greedy {first}",
                flush=True,
            )
    print(
        f"{total['cases']} cases: {total['right_votes']}/{total['votes']} votes right "
        f"(uniform pick: {total['uniform']:.1f}); greedy right {total['greedy_right']}, "
        f"greedy picks option 1 in {total['greedy_first']}"
    )


def first_result(suite: SqlSuite, results: str, min_tasks: int = 30) -> None:
    tasks = {t.task_id: t for t in suite.tasks()}
    db = sqlite3.connect(f"file:{results}?mode=ro", uri=True)
    runs = db.execute(
        "SELECT config_hash, json_extract(config, '$.method.seed'), "
        "json_extract(config, '$.method.samples'), json_extract(config, '$.method.stop_when') "
        "FROM results WHERE suite = 'intercode-sql' AND method = 'slinvit' AND oracle = 0 "
        "GROUP BY config_hash HAVING COUNT(*) >= ? ORDER BY config_hash",
        (min_tasks,),
    ).fetchall()
    for config_hash, seed, samples, stop_when in runs:
        rows = db.execute(
            "SELECT task_id, success, actions FROM results WHERE config_hash = ? "
            "AND suite = 'intercode-sql'",
            (config_hash,),
        ).fetchall()
        cut_success, changed = 0, []
        for task_id, success, actions in rows:
            task, steps = tasks[task_id], []
            env = suite.make_env(task)
            try:
                for action in json.loads(actions):
                    steps.append({"action": action, "observation": env.step(action).to_dict()})
                    if not is_failure(steps[-1]["observation"]):
                        break
                cut = int(suite.evaluate(task, env, steps).reward == 1.0)
            finally:
                env.close()
            cut_success += cut
            if cut != success:
                changed.append(f"{task_id.removeprefix('spider-dev-')} {success}->{cut}")
        print(
            f"{config_hash} seed={seed} samples={samples} stop_when={stop_when}: "
            f"{sum(r[1] for r in rows)}/{len(rows)} recorded, {cut_success}/{len(rows)} cut"
            f"  {', '.join(changed)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("probe", choices=["failures", "judge", "first-result"])
    parser.add_argument("--results", default="docs/bench-results.sqlite")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    args = parser.parse_args()
    suite = SqlSuite()
    try:
        if args.probe == "failures":
            failures(suite, args.results)
        elif args.probe == "judge":
            judge(suite, args.results, args.seed)
        else:
            first_result(suite, args.results)
    finally:
        suite.close()


if __name__ == "__main__":
    main()
