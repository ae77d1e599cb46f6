"""``slinvit bench report``: markdown tables and a success-vs-cost plot from the results database.

One table per suite: a row per run (method, model, configuration), non-oracle rows first and
oracle rows after them, each labelled; success with its 95% Wilson interval; SQL's success on
the tasks whose gold result is not empty and under the ORDER-BY-only reward rule; the mean LLM
calls and tokens per task; success on the tasks every row ran (a paired comparison); then
success by difficulty, and each SLINVIT run against every other run on the tasks both ran
(wins, losses and an exact sign test).
"""

from __future__ import annotations

import importlib
import os
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from langgraph_slinvit.bench.results import ResultRow
from langgraph_slinvit.bench.stats import sign_test_p, summarize
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
    return [f"{k}={mine[k]}" for k in _varying(settings) if k in mine and k != "oracle"]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _difficulty_key(level: str) -> tuple:
    if level in _DIFFICULTY_ORDER:
        return (0, _DIFFICULTY_ORDER[level], "")
    number = re.search(r"\d+", level)
    return (1, int(number.group()) if number else 0, level)


def _reward_rule(suite: str) -> str:
    target = SUITES.get(suite)
    if target is None:
        return ""
    module, _, cls = target.partition(":")
    try:
        return str(getattr(importlib.import_module(module), cls).reward_rule)
    except (ImportError, AttributeError):
        return ""


def suite_section(suite: str, rows: Sequence[ResultRow]) -> str:
    """The markdown section of one suite."""
    runs = _runs(rows)
    sql = any(r.gold_empty is not None for r in rows)
    common = set.intersection(*({r.task_id for r in run.rows} for run in runs)) if runs else set()
    lines = [f"## {suite}", ""]
    rule = _reward_rule(suite)
    if rule:
        lines += [f"Success = reward exactly 1. Reward: {rule}.", ""]
    head = ["method", "oracle", "model", "n", "success (95% CI)"]
    if sql:
        head += ["success, non-empty gold", "success, ORDER-BY-only rule"]
    head += [f"paired ({len(common)} common tasks)", "LLM calls / task", "tokens / task",
             "seconds / task", "errors"]  # fmt: skip
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run in runs:
        s = summarize(run.rows)
        low, high = s["success_ci95"]
        cells = [run.label, "yes" if run.oracle else "no", run.model, str(s["n"]),
                 f"{_pct(s['success_rate'])} [{_pct(low)}, {_pct(high)}]"]  # fmt: skip
        if sql:
            n_ne = s.get("n_non_empty_gold", 0)
            cells.append(f"{_pct(s.get('success_rate_non_empty_gold', 0.0))} (n={n_ne})")
            alt = s.get("success_rate_order_by_only")
            cells.append(_pct(alt) if alt is not None else "-")
        paired = [r for r in run.rows if r.task_id in common]
        cells.append(_pct(sum(r.success for r in paired) / len(paired)) if paired else "-")
        cells += [f"{s['mean_llm_calls']:.1f}", f"{s['mean_tokens']:.0f}",
                  f"{s['mean_seconds']:.1f}", str(s["errors"])]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    levels = sorted({r.difficulty for r in rows}, key=_difficulty_key)
    lines += ["", f"Success by difficulty ({_difficulty_name(suite)}):", ""]
    lines += ["| method | oracle | " + " | ".join(levels) + " |", "|" + "---|" * (len(levels) + 2)]
    for run in runs:
        cells = [run.label, "yes" if run.oracle else "no"]
        for level in levels:
            at = [r for r in run.rows if r.difficulty == level]
            wins = sum(r.success for r in at)
            cells.append(f"{wins}/{len(at)} ({_pct(wins / len(at))})" if at else "-")
        lines.append("| " + " | ".join(cells) + " |")
    lines += _paired_lines(runs)
    return "\n".join(lines) + "\n"


def _paired_lines(runs: Sequence[Run]) -> list[str]:
    """SLINVIT runs against every other run, on the tasks both ran."""
    order = {id(run): i for i, run in enumerate(runs)}
    pairs = [
        (a, b) for a in runs if a.method == "slinvit" for b in runs
        if b is not a and not (b.method == "slinvit" and order[id(b)] < order[id(a)])
    ]  # fmt: skip
    if not pairs:
        return []
    lines = ["", "SLINVIT against each other run, on the tasks both ran (wins / losses = tasks "
             "only one of the two solves; exact two-sided sign test):", "",
             "| SLINVIT run | other run | tasks | success | wins / losses | sign test p |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for a, b in pairs:
        mine = {r.task_id: r.success for r in a.rows}
        theirs = {r.task_id: r.success for r in b.rows}
        common = sorted(mine.keys() & theirs.keys())
        if not common:
            continue
        wins = sum(1 for t in common if mine[t] and not theirs[t])
        losses = sum(1 for t in common if theirs[t] and not mine[t])
        rate_a = sum(mine[t] for t in common) / len(common)
        rate_b = sum(theirs[t] for t in common) / len(common)
        p = sign_test_p(wins, losses)
        shown = "<0.001" if p < 0.001 else f"{p:.3f}"
        lines.append(f"| {a.label} | {b.label} | {len(common)} | {_pct(rate_a)} vs "
                     f"{_pct(rate_b)} | {wins} / {losses} | {shown} |")  # fmt: skip
    return lines


def _difficulty_name(suite: str) -> str:
    return {
        "intercode-sql": "Spider hardness",
        "intercode-bash": "file system",
        "blocksworld": "optimal plan length",
    }.get(suite, "difficulty")


def render_markdown(rows: Sequence[ResultRow], source: str = "") -> str:
    """The whole report: a note on oracle rows, then one section per suite."""
    by_suite: dict[str, list[ResultRow]] = defaultdict(list)
    for row in rows:
        by_suite[row.suite].append(row)
    parts = ["# Benchmark results", ""]
    if source:
        parts += [f"Generated by `slinvit bench report` from `{source}`.", ""]
    parts += [ORACLE_NOTE, ""]
    if not by_suite:
        parts.append("No results yet: run `slinvit bench --suite ... --method ...` first.\n")
    for suite in sorted(by_suite):
        parts.append(suite_section(suite, by_suite[suite]))
    return "\n".join(parts)


def render_plot(rows: Sequence[ResultRow], path: str | os.PathLike[str]) -> Path:
    """Success rate against mean LLM calls per task: a point per run, oracle runs as triangles."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    by_suite: dict[str, list[ResultRow]] = defaultdict(list)
    for row in rows:
        by_suite[row.suite].append(row)
    fig, ax = plt.subplots(figsize=(8, 5.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    handles = []
    placed: dict[tuple[float, float], int] = defaultdict(int)
    for i, suite in enumerate(sorted(by_suite)):
        color = colors[i % len(colors)]
        handles.append(Line2D([], [], color=color, marker="o", linestyle="", label=suite))
        for run in _runs(by_suite[suite]):
            s = summarize(run.rows)
            x, y = s["mean_llm_calls"], s["success_rate"]
            spot = (round(x, 1), round(y, 2))
            placed[spot] += 1
            low, high = s["success_ci95"]
            ax.errorbar(x, y, yerr=[[y - low], [high - y]], fmt="^" if run.oracle else "o",
                        color=color, markersize=8, capsize=3,
                        markerfacecolor="white" if run.oracle else color)  # fmt: skip
            offset = (6, 4 - 10 * (placed[spot] - 1))  # labels of coinciding points stack
            ax.annotate(run.label, (x, y), textcoords="offset points", xytext=offset, fontsize=8)
    handles += [
        Line2D([], [], color="gray", marker="o", linestyle="", label="non-oracle"),
        Line2D([], [], color="gray", marker="^", markerfacecolor="white", linestyle="",
               label="oracle (saw the gold answer)"),
    ]  # fmt: skip
    ax.legend(handles=handles, fontsize=8, loc="best")
    ax.set_xlabel("mean LLM calls per task")
    ax.set_ylabel("success rate (95% Wilson interval)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.set_title("Success rate vs LLM calls per task")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
