"""``slinvit bench report``: markdown tables and a success-vs-cost plot from the results database.

Per suite, runs that did not see the gold answer and oracle runs in tables of their own: a row
per run (method, model, configuration); success with its 95% Wilson interval; SQL's success on
the tasks whose gold result is not empty and under the ORDER-BY-only reward rule; the mean LLM
calls and tokens per task; success on the tasks every complete run ran (a paired comparison that
partial runs do not shrink); then success by difficulty, and each SLINVIT run against the other
runs on the tasks both ran (wins, losses and an exact sign test), oracle and non-oracle apart;
and each SLINVIT run against the ``vote`` baseline of the same model, n and temperature (success,
LLM calls and seconds per task, the sign test), or a line naming the runs no vote run matches.
"""

from __future__ import annotations

import importlib
import os
import re
import textwrap
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from langgraph_slinvit.bench.results import ResultRow
from langgraph_slinvit.bench.stats import sign_test_p, summarize, wilson_interval
from langgraph_slinvit.bench.suites import SUITES

_DIFFICULTY_ORDER = {"easy": 0, "medium": 1, "hard": 2, "extra": 3}
ORACLE_NOTE = (
    "**Oracle** rows (oracle: yes) used the benchmark's gold answer while running (the reward "
    "fed back to the model, or used as the search's value). A real user has no gold answer: "
    "compare methods on the non-oracle rows, and read oracle rows as upper bounds."
)


@dataclass
class Run:
    """The rows of one (suite, method, model, config hash, oracle) run."""

    method: str
    model: str
    config_hash: str
    oracle: bool
    rows: list[ResultRow]
    label: str = ""


def _runs(rows: Sequence[ResultRow]) -> list[Run]:
    groups: dict[tuple, list[ResultRow]] = defaultdict(list)
    for row in rows:
        groups[(row.method, row.model, row.config_hash, row.oracle)].append(row)
    runs = [Run(m, mo, h, o, rs) for (m, mo, h, o), rs in groups.items()]
    models = {run.model for run in runs}
    tags = [
        _method_tags(run, [r for r in runs if r.method == run.method]) + suite_tags
        for run, suite_tags in zip(runs, _suite_tags(runs), strict=True)
    ]
    same: dict[tuple, int] = defaultdict(int)
    for run, run_tags in zip(runs, tags, strict=True):
        same[(run.method, run.model, run.oracle, *run_tags)] += 1
    for run, run_tags in zip(runs, tags, strict=True):
        if (
            same[(run.method, run.model, run.oracle, *run_tags)] > 1
        ):  # two configurations: name them
            run_tags = [*run_tags, run.config_hash[:6]]
        label = run.method + (f" [{', '.join(run_tags)}]" if run_tags else "")
        if len(models) > 1:
            label += f" ({run.model})"
        run.label = label + (" (ORACLE)" if run.oracle else "")
    runs.sort(key=lambda r: (r.oracle, r.label))
    return runs


def _varying(settings: Sequence[dict]) -> list[str]:
    """Keys whose value differs between ``settings`` (a missing key counts as a value)."""
    keys = {k for s in settings for k in s}
    return sorted(k for k in keys if len({str(s.get(k)) for s in settings}) > 1)


def _suite_tags(runs: Sequence[Run]) -> list[list[str]]:
    """Per run, its suite settings that other runs do not share, e.g. "backend: mariadb"; a run
    whose suite settings lack a key gets no tag for it."""
    settings = [run.rows[0].config.get("suite") or {} for run in runs]
    varying = _varying(settings)
    return [[f"{k}: {s[k]}" for k in varying if k in s] for s in settings]


def _method_tags(run: Run, same_method: Sequence[Run]) -> list[str]:
    """The method settings in which ``run`` differs from another run of its method, e.g.
    "stop_when=no_gain" (the oracle flag has a column of its own; missing keys get no tag)."""
    settings = [r.rows[0].config.get("method") or {} for r in same_method]
    mine = run.rows[0].config.get("method") or {}
    return [
        f"{k}={'none' if mine[k] is None else mine[k]}"
        for k in _varying(settings)
        if k in mine and k != "oracle"
    ]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _difficulty_key(level: str) -> tuple:
    if level in _DIFFICULTY_ORDER:
        return (0, _DIFFICULTY_ORDER[level], "")
    number = re.search(r"\d+", level)
    return (1, int(number.group()) if number else 0, level)


def _suite_attribute(suite: str, name: str, default: object) -> object:
    """A class attribute of the suite called ``suite`` (``default`` when it has none)."""
    target = SUITES.get(suite)
    if target is None:
        return default
    module, _, cls = target.partition(":")
    try:
        return getattr(getattr(importlib.import_module(module), cls), name)
    except (ImportError, AttributeError):
        return default


def _reward_rule(suite: str) -> str:
    return str(_suite_attribute(suite, "reward_rule", ""))


def _conditions(run: Run, keys: Sequence[str]) -> tuple[str, ...]:
    """The run's values of the suite settings every method sees (a missing key is a value)."""
    settings = run.rows[0].config.get("suite") or {}
    return tuple(str(settings.get(key)) for key in keys)


def _kept_runs(rows: Sequence[ResultRow], min_tasks: int) -> tuple[list[Run], list[Run]]:
    """The runs with at least ``min_tasks`` tasks, and the others (labels come from all runs)."""
    runs = _runs(rows)
    kept = [r for r in runs if len(r.rows) >= min_tasks]
    return kept, [r for r in runs if len(r.rows) < min_tasks]


def suite_section(suite: str, rows: Sequence[ResultRow], min_tasks: int = 0) -> str:
    """The markdown section of one suite: non-oracle and oracle runs in tables of their own;
    runs with fewer than ``min_tasks`` tasks are only named."""
    runs, left_out = _kept_runs(rows, min_tasks)
    rows = [row for run in runs for row in run.rows]
    groups = [
        ("runs that did not see the gold answer", [r for r in runs if not r.oracle]),
        ("oracle runs", [r for r in runs if r.oracle]),
    ]
    groups = [(name, group) for name, group in groups if group]
    lines = [f"## {suite}", ""]
    rule = _reward_rule(suite)
    if rule:
        lines += [f"Success = reward exactly 1. Reward: {rule}.", ""]
    if left_out:
        names = ", ".join(f"{run.label} ({len(run.rows)} tasks)" for run in left_out)
        lines += [f"Left out of this report, with fewer than {min_tasks} tasks: {names}.", ""]
    complete, common = _complete_runs(runs)
    for name, group in groups:
        oracle = " (they saw the gold answer: upper bounds, not comparable to the runs above)"
        lines += [f"{name[0].upper()}{name[1:]}{oracle if group[0].oracle else ''}:", ""]
        lines += _main_table(group, rows, complete, common)
        lines.append("")
    levels = sorted({r.difficulty for r in rows}, key=_difficulty_key)
    intervals = bool(_suite_attribute(suite, "level_intervals", False))
    for name, group in groups:
        lines += [f"Success by difficulty ({_difficulty_name(suite)}), {name}:", ""]
        lines += [
            "| method | oracle | " + " | ".join(levels) + " |",
            "|" + "---|" * (len(levels) + 2),
        ]
        for run in group:
            cells = [run.label, "yes" if run.oracle else "no"]
            for level in levels:
                at = [r for r in run.rows if r.difficulty == level]
                wins = sum(r.success for r in at)
                if not at:
                    cells.append("-")
                    continue
                cell = f"{wins}/{len(at)} ({_pct(wins / len(at))}"
                if intervals:
                    low, high = wilson_interval(wins, len(at))
                    cell += f", {100 * low:.0f}-{100 * high:.0f}%"
                cells.append(cell + ")")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    conditions = tuple(_suite_attribute(suite, "conditions", ()))
    lines += _paired_lines(runs, conditions)
    lines += _vote_lines(runs, conditions)
    return "\n".join(lines).rstrip("\n") + "\n"


def _complete_runs(runs: Sequence[Run]) -> tuple[list[Run], set[str]]:
    """The runs that ran the most tasks of their suite, and the tasks all of them ran: the
    paired column compares runs on these, so that a partial run does not shrink it."""
    most = max((len(run.rows) for run in runs), default=0)
    complete = [run for run in runs if len(run.rows) == most]
    tasks = [{r.task_id for r in run.rows} for run in complete]
    return complete, set.intersection(*tasks) if tasks else set()


def _main_table(
    runs: Sequence[Run], rows: Sequence[ResultRow], complete: Sequence[Run], common: set[str]
) -> list[str]:
    sql = any(r.gold_empty is not None for r in rows)
    head = ["method", "oracle", "model", "n", "success (95% CI)"]
    if sql:
        head += ["success, non-empty gold", "success, ORDER-BY-only rule"]
    head += [
        f"paired ({len(common)} tasks every complete run ran)",
        "LLM calls / task",
        "tokens / task",
        "seconds / task",
        "errors",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run in runs:
        s = summarize(run.rows)
        low, high = s["success_ci95"]
        cells = [
            run.label,
            "yes" if run.oracle else "no",
            run.model,
            str(s["n"]),
            f"{_pct(s['success_rate'])} [{_pct(low)}, {_pct(high)}]",
        ]
        if sql:
            n_ne = s.get("n_non_empty_gold", 0)
            cells.append(f"{_pct(s.get('success_rate_non_empty_gold', 0.0))} (n={n_ne})")
            alt = s.get("success_rate_order_by_only")
            cells.append(_pct(alt) if alt is not None else "-")
        paired = [r for r in run.rows if r.task_id in common]
        if not any(run is c for c in complete):
            cells.append("- (partial run)")
        else:
            cells.append(_pct(sum(r.success for r in paired) / len(paired)) if paired else "-")
        cells += [
            f"{s['mean_llm_calls']:.1f}",
            f"{s['mean_tokens']:.0f}",
            f"{s['mean_seconds']:.1f}",
            str(s["errors"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


_PAIR_TABLES = (
    (False, False, "SLINVIT without the gold answer against each other run without it"),
    (True, True, "Oracle SLINVIT against each other oracle run"),
    (
        False,
        True,
        "SLINVIT without the gold answer against oracle runs (the other run saw the gold answer)",
    ),
)


def _paired_lines(runs: Sequence[Run], conditions: Sequence[str] = ()) -> list[str]:
    """SLINVIT runs against other runs on the tasks both ran: non-oracle against non-oracle,
    oracle against oracle, and non-oracle SLINVIT against oracle runs, each in its own table
    (an oracle SLINVIT against a run without the gold answer says nothing and is left out).
    Only runs made under the same ``conditions`` (suite settings every method sees, such as
    the SQL backend or schema hints) are paired."""
    order = {id(run): i for i, run in enumerate(runs)}
    lines: list[str] = []
    for mine_oracle, their_oracle, title in _PAIR_TABLES:
        pairs = [
            (a, b)
            for a in runs
            if a.method == "slinvit" and a.oracle == mine_oracle
            for b in runs
            if b is not a
            and b.oracle == their_oracle
            and _conditions(a, conditions) == _conditions(b, conditions)
            and not (b.method == "slinvit" and b.oracle == a.oracle and order[id(b)] < order[id(a)])
        ]
        table = [_pair_row(a, b) for a, b in pairs]
        table = [row for row in table if row]
        if not table:
            continue
        lines += [
            f"{title}, on the tasks both ran (wins / losses = tasks only one of the "
            "two solves; exact two-sided sign test):",
            "",
            "| SLINVIT run | other run | tasks | success | wins / losses | sign test p |",
            "|---|---|---|---|---|---|",
            *table,
            "",
        ]
    return lines


def _pair_row(a: Run, b: Run) -> str:
    mine = {r.task_id: r.success for r in a.rows}
    theirs = {r.task_id: r.success for r in b.rows}
    common = sorted(mine.keys() & theirs.keys())
    if not common:
        return ""
    wins = sum(1 for t in common if mine[t] and not theirs[t])
    losses = sum(1 for t in common if theirs[t] and not mine[t])
    rate_a = sum(mine[t] for t in common) / len(common)
    rate_b = sum(theirs[t] for t in common) / len(common)
    p = sign_test_p(wins, losses)
    shown = "<0.001" if p < 0.001 else f"{p:.3f}"
    return (
        f"| {a.label} | {b.label} | {len(common)} | {_pct(rate_a)} vs {_pct(rate_b)} | "
        f"{wins} / {losses} | {shown} |"
    )


def _samples_and_temperature(run: Run) -> tuple[int, float] | None:
    """The n and temperature of a SLINVIT or vote run's proposal requests (None: unknown)."""
    settings = run.rows[0].config.get("method") or {}
    if run.method == "vote":
        n = settings.get("n")
    elif "samples" in settings:
        n = settings["samples"] or max(int(settings.get("k", 1)), 4)  # SlinvitConfig.n_samples
    else:
        return None
    temperature = settings.get("temperature")
    if n is None or temperature is None:
        return None
    return int(n), float(temperature)


def _vote_lines(runs: Sequence[Run], conditions: Sequence[str] = ()) -> list[str]:
    """Each SLINVIT run without the gold answer against the ``vote`` runs of the same model,
    n and temperature made under the same ``conditions``, on the tasks both ran: success, LLM
    calls and seconds per task, wins / losses and the exact sign test; the SLINVIT runs that
    no vote run matches are counted by their n and temperature."""
    mine = [r for r in runs if r.method == "slinvit" and not r.oracle]
    votes = [r for r in runs if r.method == "vote" and not r.oracle]
    if not mine:
        return []
    table: list[str] = []
    unmatched: dict[str, int] = {}  # "n=.., temperature .." -> SLINVIT runs without a vote run
    for a in mine:
        key = _samples_and_temperature(a)
        rows = [
            _vote_row(a, b, key)
            for b in votes
            if key is not None
            and b.model == a.model
            and _samples_and_temperature(b) == key
            and _conditions(a, conditions) == _conditions(b, conditions)
        ]
        rows = [row for row in rows if row]
        table += rows
        if not rows:
            shown = f"n={key[0]}, temperature {key[1]:g}" if key else "n and temperature unknown"
            unmatched[shown] = unmatched.get(shown, 0) + 1
    lines = []
    if table:
        lines += [
            "SLINVIT against `vote` (the same n samples at the same temperature, each run in a "
            "fork, the largest group of equal results acts), on the tasks both ran (exact "
            "two-sided sign test on the tasks only one of the two solves):",
            "",
            "| SLINVIT run | vote run | n, temperature | tasks | success | LLM calls / task | "
            "seconds / task | wins / losses | sign test p |",
            "|---|---|---|---|---|---|---|---|---|",
            *table,
            "",
        ]
    if unmatched:
        named = [f"{k} ({v} run{'s' if v > 1 else ''})" for k, v in unmatched.items()]
        lines += [
            "No `vote` run of the same model, n and temperature for the SLINVIT runs at "
            + "; ".join(named)
            + ".",
            "",
        ]
    return lines


def _vote_row(a: Run, b: Run, key: tuple[int, float] | None) -> str:
    mine = {r.task_id: r for r in a.rows}
    theirs = {r.task_id: r for r in b.rows}
    common = sorted(mine.keys() & theirs.keys())
    if not common or key is None:
        return ""
    wins = sum(1 for t in common if mine[t].success and not theirs[t].success)
    losses = sum(1 for t in common if theirs[t].success and not mine[t].success)
    p = sign_test_p(wins, losses)

    def mean(rows: dict[str, ResultRow], field: str) -> float:
        return sum(getattr(rows[t], field) for t in common) / len(common)

    rate_a = sum(mine[t].success for t in common) / len(common)
    rate_b = sum(theirs[t].success for t in common) / len(common)
    return (
        f"| {a.label} | {b.label} | {key[0]}, {key[1]:g} | {len(common)} | "
        f"{_pct(rate_a)} vs {_pct(rate_b)} | "
        f"{mean(mine, 'llm_calls'):.1f} vs {mean(theirs, 'llm_calls'):.1f} | "
        f"{mean(mine, 'seconds'):.1f} vs {mean(theirs, 'seconds'):.1f} | "
        f"{wins} / {losses} | {'<0.001' if p < 0.001 else f'{p:.3f}'} |"
    )


def _difficulty_name(suite: str) -> str:
    return {
        "intercode-sql": "Spider hardness",
        "intercode-bash": "file system",
        "blocksworld": "optimal plan length",
        "alfworld": "task type, 95% intervals",
    }.get(suite, "difficulty")


def render_markdown(
    rows: Sequence[ResultRow],
    source: str = "",
    min_tasks: int = 0,
    *,
    intro: str = "",
    command: str = "",
) -> str:
    """The whole report: how it was generated, ``intro`` (markdown), a note on oracle rows,
    then one section per suite (runs with fewer than ``min_tasks`` tasks are named, not
    tabled)."""
    by_suite: dict[str, list[ResultRow]] = defaultdict(list)
    for row in rows:
        by_suite[row.suite].append(row)
    parts = ["# Benchmark results", ""]
    if command:
        parts += [
            f"Generated by `{command}` from the rows of `{source}`; the same command "
            "rebuilds this file and its plot.",
            "",
        ]
    elif source:
        parts += [f"Generated by `slinvit bench report` from `{source}`.", ""]
    if intro.strip():
        parts += [intro.strip(), ""]
    parts += [ORACLE_NOTE, ""]
    if not by_suite:
        parts.append("No results yet: run `slinvit bench --suite ... --method ...` first.\n")
    for suite in sorted(by_suite):
        parts.append(suite_section(suite, by_suite[suite], min_tasks))
    return "\n".join(parts)


def render_plot(
    rows: Sequence[ResultRow], path: str | os.PathLike[str], min_tasks: int = 0
) -> Path:
    """Success rate against mean LLM calls per task, one panel per suite: a point per run with
    at least ``min_tasks`` tasks, a colour per method, oracle runs as open triangles."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    by_suite: dict[str, list[ResultRow]] = defaultdict(list)
    for row in rows:
        by_suite[row.suite].append(row)
    suites = sorted(by_suite) or ["no results"]
    fig, axes = plt.subplots(
        1, len(suites), figsize=(6 * len(suites), 8), sharey=True, squeeze=False
    )
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    methods = sorted({row.method for row in rows})
    color = {m: palette[i % len(palette)] for i, m in enumerate(methods)}
    for ax, suite in zip(axes[0], suites, strict=True):
        keys, right = [], 1.0  # points are numbered; the numbers are explained under the panel
        numbers: dict[tuple[float, float], list[str]] = defaultdict(list)  # coinciding points
        for number, run in enumerate(_kept_runs(by_suite.get(suite, []), min_tasks)[0], 1):
            s = summarize(run.rows)
            x, y = s["mean_llm_calls"], s["success_rate"]
            right = max(right, x)
            low, high = s["success_ci95"]
            ax.errorbar(
                x,
                y,
                yerr=[[y - low], [high - y]],
                fmt="^" if run.oracle else "o",
                color=color[run.method],
                markersize=8,
                capsize=3,
                markerfacecolor="white" if run.oracle else color[run.method],
            )
            numbers[(x, y)].append(str(number))
            keys.append(
                textwrap.fill(
                    f"{number}: {run.label} (n={s['n']})", width=70, subsequent_indent="    "
                )
            )
        for (x, y), shown in numbers.items():
            ax.annotate(
                ",".join(shown),
                (x, y),
                textcoords="offset points",
                xytext=(6, 2),
                fontsize=8,
                weight="bold",
            )
        ax.text(0, -0.14, "\n".join(keys), transform=ax.transAxes, va="top", fontsize=7)
        ax.set_title(suite)
        ax.set_xlabel("mean LLM calls per task")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlim(0, right * 1.15)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("success rate (95% Wilson interval)")
    handles = [Line2D([], [], color=color[m], marker="o", linestyle="", label=m) for m in methods]
    handles += [
        Line2D(
            [],
            [],
            color="gray",
            marker="^",
            markerfacecolor="white",
            linestyle="",
            label="oracle (saw the gold answer)",
        )
    ]
    fig.legend(
        handles=handles,
        fontsize=8,
        loc="upper center",
        ncol=len(handles),
        bbox_to_anchor=(0.5, 0.95),
    )
    fig.suptitle("Success rate vs LLM calls per task")
    fig.subplots_adjust(left=0.05, right=0.98, top=0.88, bottom=0.3, wspace=0.08)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
