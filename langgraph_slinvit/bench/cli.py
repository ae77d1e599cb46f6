"""``slinvit bench`` (run one method on one suite) and ``slinvit bench report``.

    slinvit bench --suite intercode-sql --method single --limit 40
    slinvit bench --suite intercode-sql --method slinvit --limit 40 --oracle --json
    slinvit bench --suite intercode-sql --method vote --preset sql --limit 60
    slinvit bench --suite blocksworld --method slinvit --ray auto --base-url URL1,URL2
    slinvit bench report --out docs/results.md --plot docs/results.png

Every method gets the same model, the same prompt context and the same budget of LLM calls per
task (``--max-llm-calls``; default: the preset's own budget where it sets one, else 20).
``--limit N`` takes N tasks from a shuffle seeded by ``--sample-seed``, so every method sees
the same tasks. Results go to an SQLite file
(``--results``); tasks already there are skipped, so a run resumes and a rerun costs nothing.
With ``--ray`` the tasks run on Ray workers and this process writes every row.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph_slinvit.bench.methods import METHODS
from langgraph_slinvit.bench.suites import SUITES

DEFAULT_RESULTS = "bench-results.sqlite"
DEFAULT_LLM_CALLS = 20


def add_bench_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``bench`` (and its ``report`` subcommand) to the ``slinvit`` subparsers."""
    from langgraph_slinvit.bench.suites.sql import DEFAULT_MARIADB_URL
    from langgraph_slinvit.cli_options import add_common_options

    bench = sub.add_parser(
        "bench",
        help="benchmark SLINVIT against baselines (InterCode-SQL/Bash, BlocksWorld)",
        description=__doc__.split("\n\n")[0],
    )
    bench.add_argument("--suite", choices=list(SUITES))
    bench.add_argument("--method", choices=list(METHODS))
    pick = bench.add_argument_group("tasks")
    pick.add_argument("--limit", type=int, help="N tasks from a seeded shuffle (default: all)")
    pick.add_argument("--tasks", help="explicit task indices or ids, comma-separated: 3,17,250")
    pick.add_argument("--sample-seed", type=int, default=0, help="seed of the shuffle (default 0)")
    pick.add_argument(
        "--per-level",
        type=int,
        metavar="N",
        help="a stratified sample: the first N tasks of each difficulty (ALFWorld: task type) "
        "in the seeded shuffle",
    )
    pick.add_argument(
        "--data", help="benchmark data folder (default: $SLINVIT_DATA_DIR or ../shared/data)"
    )
    bench.add_argument(
        "--oracle",
        action="store_true",
        help="slinvit only: use the benchmark reward (the gold answer) as the "
        "value; recorded as an ORACLE run",
    )
    bench.add_argument(
        "--results", default=DEFAULT_RESULTS, help=f"results database (default {DEFAULT_RESULTS})"
    )
    bench.add_argument(
        "--backend",
        choices=["sqlite", "mariadb"],
        default="sqlite",
        help="intercode-sql: the Spider databases as SQLite files or on MariaDB",
    )
    bench.add_argument("--mariadb-url", default=DEFAULT_MARIADB_URL, help="MariaDB server URL")
    bench.add_argument(
        "--no-schema-hints",
        dest="schema_hints",
        action="store_false",
        help="intercode-sql: bare database errors, without the line naming the table that "
        "holds a missing column (as runs before the hints existed)",
    )
    bench.add_argument(
        "--alfworld-critic",
        choices=["open", "listed"],
        default="open",
        help="alfworld: the sub-goal critic splits the task itself (open, default) or is given "
        "the task type's sub-goals (listed)",
    )
    bench.add_argument(
        "--alfworld-rule-value",
        action="store_true",
        help="alfworld, slinvit: value a state by the task's sub-goals that the game's replies "
        "show done (a rule, not the win flag) instead of execution feedback alone",
    )
    bench.add_argument(
        "--alfworld-new-replies",
        action="store_true",
        help="with --alfworld-rule-value: a tenth of the value goes to paths whose replies tell "
        "something new (not 'Nothing happens.', not a text already read), so that a search "
        "that advances no sub-goal explores instead of repeating an action",
    )
    bench.add_argument(
        "--fork-dir",
        metavar="DIR",
        help="intercode-bash: where forks copy the task's tree (default: the system's temporary "
        "directory; a memory file system such as /dev/shm makes forks faster where that is on "
        "disk); not part of a run's identity",
    )
    dist = bench.add_argument_group("Ray workers")
    dist.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="run the tasks on Ray workers: a local Ray instance, or join the cluster at "
        "ADDRESS (auto, ray://host:10001); needs the ray extra. --base-url may then name "
        "several endpoints, comma-separated, given to the workers round-robin",
    )
    dist.add_argument(
        "--workers",
        type=int,
        help="Ray workers (default: the cluster's CPUs over the CPUs of one worker: "
        "1, or --threads for the embedded model)",
    )
    base = bench.add_argument_group("baselines")
    base.add_argument(
        "--baseline-temperature",
        type=float,
        default=0.0,
        help="temperature of react and try-again (default 0)",
    )
    base.add_argument(
        "--max-turns", type=int, default=10, help="react model calls / try-again turns (default 10)"
    )
    add_common_options(bench)
    bench.set_defaults(handler=run_command, bench_command=None)
    reports = bench.add_subparsers(dest="bench_command", metavar="report")
    report = reports.add_parser("report", help="markdown tables and a plot of the results")
    report.add_argument("--results", default=DEFAULT_RESULTS)
    report.add_argument("--out", default="docs/results.md", help="markdown file to write")
    report.add_argument("--plot", default="docs/results.png", help="PNG plot to write")
    report.add_argument("--no-plot", action="store_true", help="write no plot")
    report.add_argument(
        "--min-tasks",
        type=int,
        default=0,
        metavar="N",
        help="name, but do not table or plot, runs with fewer than N tasks (default 0: every run)",
    )
    report.add_argument(
        "--intro",
        metavar="FILE",
        help="markdown placed at the top of the report (conditions, commands)",
    )
    report.set_defaults(handler=report_command)
    return bench


def _task_list(text: str) -> list[int | str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    return [int(t) if t.isdigit() else t for t in items]


def model_name(args: argparse.Namespace) -> str:
    """The name the results are recorded under (known without starting the model)."""
    if (
        args.base_url
        or args.api_key
        or os.environ.get("OPENAI_BASE_URL")
        or os.environ.get("OPENAI_API_KEY")
    ):
        return args.model or os.environ.get("SLINVIT_MODEL") or "gpt-4o-mini"
    path = args.model_path or os.environ.get("SLINVIT_MODEL_PATH")
    if path:
        return f"local:{Path(path).name}"
    from langgraph_slinvit.local.server import DEFAULT_MODEL_ALIAS

    return f"local:{DEFAULT_MODEL_ALIAS}"


@dataclass(frozen=True)
class WorkerModel:
    """A model factory a Ray worker calls: one endpoint, or an embedded model of its own.
    Plain data (resolved from the driver's options and environment), so it travels."""

    options: dict[str, Any] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        """True for the embedded model (an endpoint always carries an API key)."""
        return "api_key" not in self.options

    def __call__(self, temperature: float) -> Any:
        from langgraph_slinvit.models import chat_model

        return chat_model(temperature=temperature, **self.options)


def endpoints(args: argparse.Namespace) -> list[str]:
    """The ``--base-url`` endpoints (comma-separated), else ``$OPENAI_BASE_URL``'s."""
    text = args.base_url or os.environ.get("OPENAI_BASE_URL") or ""
    return [u.strip() for u in text.split(",") if u.strip()]


def worker_models(args: argparse.Namespace) -> list[WorkerModel]:
    """One :class:`WorkerModel` per endpoint (worker ``i`` uses the ``i % n``-th), or one
    embedded model, which every worker starts for itself."""
    from langgraph_slinvit.cli_options import config_from_args, server_slots

    urls = endpoints(args)
    api_key = args.api_key or os.environ.get("OPENAI_API_KEY")
    if urls or api_key:
        remote = {
            "model": args.model or os.environ.get("SLINVIT_MODEL") or "gpt-4o-mini",
            "api_key": api_key or "sk-none",
        }
        return [WorkerModel({**remote, "base_url": url}) for url in urls or [None]]
    local: dict[str, Any] = {"parallel": server_slots(config_from_args(args))}
    if args.model_path:
        local["model_path"] = args.model_path
    if args.threads:
        local["threads"] = args.threads
    return [WorkerModel(local)]


def bench_llm_calls(args: argparse.Namespace) -> int:
    """LLM requests per task: ``--max-llm-calls``, else the preset's own budget where it sets
    one (``alfworld``: 150), else :data:`DEFAULT_LLM_CALLS` for every method."""
    from langgraph_slinvit.presets import PRESETS

    if getattr(args, "max_llm_calls", None) is not None:
        return int(args.max_llm_calls)
    chosen = PRESETS.get(getattr(args, "preset", "default"), {})
    return int(chosen.get("max_llm_calls", DEFAULT_LLM_CALLS))


def bench_settings(args: argparse.Namespace) -> Any:
    """The :class:`BenchSettings` of a parsed ``slinvit bench`` command line."""
    from langgraph_slinvit.bench.core import BenchSettings
    from langgraph_slinvit.cli_options import config_from_args

    args.max_llm_calls = bench_llm_calls(args)
    config = config_from_args(args)
    return BenchSettings(
        max_llm_calls=config.max_llm_calls,
        max_tokens=config.max_tokens,
        max_seconds=config.max_seconds,
        temperature=config.temperature,
        baseline_temperature=args.baseline_temperature,
        max_turns=args.max_turns,
        oracle=args.oracle,
        slinvit=config,
    )


def suite_options(args: argparse.Namespace) -> dict[str, Any]:
    """The suite constructor's options of a parsed ``slinvit bench`` command line."""
    if args.suite == "intercode-sql":
        return {
            "backend": args.backend,
            "mariadb_url": args.mariadb_url,
            "schema_hints": args.schema_hints,
        }
    if args.suite == "alfworld":
        return {
            "critic": args.alfworld_critic,
            "rule_value": args.alfworld_rule_value,
            "new_replies": args.alfworld_new_replies,
        }
    if args.suite == "intercode-bash" and args.fork_dir:
        return {"fork_dir": args.fork_dir}
    return {}


def run_command(args: argparse.Namespace) -> int:
    """``slinvit bench --suite ... --method ...``."""
    from langgraph_slinvit.bench.results import ResultsDB
    from langgraph_slinvit.bench.runner import run_bench, select_tasks
    from langgraph_slinvit.bench.suites import make_suite
    from langgraph_slinvit.bench.task_envs.spider_sqlite import SpiderDatabaseUnavailable
    from langgraph_slinvit.cli_options import UserError, model_from_args

    if not args.suite or not args.method:
        raise UserError("slinvit bench needs --suite and --method (or: slinvit bench report)")
    if args.limit is not None and args.tasks:
        raise UserError("use either --limit or --tasks, not both")
    if args.backend != "sqlite" and args.suite != "intercode-sql":
        raise UserError("--backend applies to --suite intercode-sql only")
    if not args.schema_hints and args.suite != "intercode-sql":
        raise UserError("--no-schema-hints applies to --suite intercode-sql only")
    if args.alfworld_critic != "open" and args.suite != "alfworld":
        raise UserError("--alfworld-critic applies to --suite alfworld only")
    if args.alfworld_rule_value and args.suite != "alfworld":
        raise UserError("--alfworld-rule-value applies to --suite alfworld only")
    if args.alfworld_new_replies and not args.alfworld_rule_value:
        raise UserError("--alfworld-new-replies changes the rule value: add --alfworld-rule-value")
    if args.fork_dir is not None:
        if args.suite != "intercode-bash":
            raise UserError("--fork-dir applies to --suite intercode-bash only")
        if not os.path.isdir(args.fork_dir):
            raise UserError(f"--fork-dir {args.fork_dir}: no such directory")
    if args.oracle and args.method != "slinvit":
        print(
            f"slinvit: note: --oracle changes only slinvit; {args.method} is "
            f"{'always' if args.method == 'try-again' else 'never'} an oracle method",
            file=sys.stderr,
        )
    if args.ray is None and len(endpoints(args)) > 1:
        raise UserError("several --base-url endpoints need --ray (they are given to its workers)")
    if args.workers is not None and (args.ray is None or args.workers < 1):
        raise UserError("--workers needs --ray and is at least 1")
    settings = bench_settings(args)
    suite = make_suite(args.suite, data_dir=args.data, **suite_options(args))
    try:
        try:
            tasks = select_tasks(
                suite.tasks(),
                limit=args.limit,
                indices=_task_list(args.tasks) if args.tasks else None,
                seed=args.sample_seed,
                per_level=args.per_level,
            )
        except ValueError as exc:
            raise UserError(str(exc)) from exc
        with ResultsDB(args.results) as db:
            if args.ray is not None:
                summary = _run_on_ray(args, settings, db, tasks)
            else:
                summary = run_bench(
                    suite,
                    args.method,
                    settings,
                    lambda t: model_from_args(args, t),
                    model_name(args),
                    db,
                    tasks,
                    show_progress=not (args.quiet or args.json),
                )
    except SpiderDatabaseUnavailable as exc:
        raise UserError(str(exc)) from exc
    finally:
        suite.close()
    if args.json:
        print(json.dumps(summary))
    else:
        _print_summary(summary)
    return 0


def _run_on_ray(args: argparse.Namespace, settings: Any, db: Any, tasks: list) -> dict[str, Any]:
    """``run_bench`` on Ray workers (``--ray``)."""
    from langgraph_slinvit.bench.cluster import RayUnavailable, SuiteSpec, run_bench_ray
    from langgraph_slinvit.cli_options import UserError

    factories = worker_models(args)
    try:
        return run_bench_ray(
            SuiteSpec(args.suite, args.data, suite_options(args)),
            args.method,
            settings,
            factories,
            model_name(args),
            db,
            tasks,
            address=args.ray or None,
            workers=args.workers,
            cpus_per_worker=float(args.threads or 1) if factories[0].embedded else 1.0,
            show_progress=not (args.quiet or args.json),
        )
    except (RayUnavailable, ConnectionError) as exc:
        raise UserError(str(exc)) from exc


def _print_summary(s: dict[str, Any]) -> None:
    low, high = s["success_ci95"]
    oracle = "ORACLE (saw the gold answer)" if s["oracle"] else "non-oracle"
    print(f"{s['suite']} / {s['method']} ({oracle}), model {s['model']}, config {s['config_hash']}")
    print(
        f"  success {s['successes']}/{s['n']} = {100 * s['success_rate']:.1f}% "
        f"[95% CI {100 * low:.1f}-{100 * high:.1f}%]"
    )
    if "success_rate_non_empty_gold" in s:
        print(
            f"  non-empty gold: {100 * s['success_rate_non_empty_gold']:.1f}% "
            f"(n={s['n_non_empty_gold']}); ORDER-BY-only rule: "
            f"{100 * s.get('success_rate_order_by_only', 0):.1f}%"
        )
    print(
        f"  per task: {s['mean_llm_calls']:.1f} LLM calls, {s['mean_tokens']:.0f} tokens, "
        f"{s['mean_env_steps']:.1f} env steps, {s['mean_seconds']:.1f} s"
    )
    if "engine_share" in s:
        print(
            f"  time in the game engine (starts, steps, forks' replays): "
            f"{100 * s['engine_share']:.1f}% of wall time"
        )
    print(
        f"  ran {s['ran']}, resumed {s['skipped']}, errors {s['errors']}; results in {s['results']}"
    )


def report_command(args: argparse.Namespace) -> int:
    """``slinvit bench report``."""
    from langgraph_slinvit.bench.report import render_markdown, render_plot
    from langgraph_slinvit.bench.results import ResultsDB
    from langgraph_slinvit.cli_options import UserError

    if not Path(args.results).is_file():
        raise UserError(f"no results database at {args.results} (run slinvit bench first)")
    intro = ""
    if args.intro:
        if not Path(args.intro).is_file():
            raise UserError(f"no intro file at {args.intro}")
        intro = Path(args.intro).read_text(encoding="utf-8")
    with ResultsDB(args.results) as db:
        rows = db.rows()
    command = " ".join(
        [
            "slinvit bench report",
            f"--results {args.results}",
            *([f"--min-tasks {args.min_tasks}"] if args.min_tasks else []),
            *([f"--intro {args.intro}"] if args.intro else []),
            f"--out {args.out}",
            "--no-plot" if args.no_plot else f"--plot {args.plot}",
        ]
    )
    markdown = render_markdown(
        rows, source=args.results, min_tasks=args.min_tasks, intro=intro, command=command
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown, encoding="utf-8")
    written = [str(out)]
    if not args.no_plot:
        try:
            written.append(str(render_plot(rows, args.plot, min_tasks=args.min_tasks)))
        except ImportError:
            print(
                "slinvit: note: matplotlib is not installed; no plot written "
                "(pip install matplotlib)",
                file=sys.stderr,
            )
    print(markdown)
    print(f"wrote {', '.join(written)}", file=sys.stderr)
    return 0
