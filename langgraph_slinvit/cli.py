"""The ``slinvit`` command line: ask a database, run a shell task, or watch the demo.

    slinvit demo
    slinvit ask "Which customers never ordered?" --db sqlite:///shop.db
    slinvit run "Count the lines of all .txt files" --dir ./notes

Without ``--base-url``/``--api-key`` (or ``OPENAI_BASE_URL``/``OPENAI_API_KEY``) the embedded
local model is used. Errors a user can fix end with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langgraph_slinvit.cli_options import (
    UserError,
    add_common_options,
    server_slots,
)
from langgraph_slinvit.cli_options import config_from_args as _config
from langgraph_slinvit.cli_options import model_from_args as _model

__all__ = ["UserError", "build_parser", "main", "run_agent", "server_slots"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slinvit", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="answer a question about a database (SQL agent)")
    ask.add_argument("question")
    ask.add_argument("--db", required=True, help="SQLAlchemy URL, e.g. sqlite:///shop.db")
    ask.add_argument(
        "--allow-writes",
        action="store_true",
        help="let real actions change the database (rollouts never do)",
    )
    add_common_options(ask, preset="sql")
    run = sub.add_parser("run", help="carry out a task in a directory (shell agent)")
    run.add_argument("task")
    run.add_argument("--dir", required=True, help="working directory")
    run.add_argument("--timeout", type=float, default=10.0, help="seconds per command")
    run.add_argument(
        "--no-sandbox",
        action="store_true",
        help="UNSAFE: run bash without bubblewrap (machines without namespaces)",
    )
    add_common_options(run, preset="shell")
    demo = sub.add_parser("demo", help="the SQL agent on the bundled shop database")
    add_common_options(demo, preset="sql")
    try:
        from langgraph_slinvit.bench.cli import add_bench_parser
    except ImportError:  # the benchmark tools are optional
        pass
    else:
        add_bench_parser(sub)
    return parser


def _environment(args: argparse.Namespace) -> tuple[Any, str]:
    from langgraph_slinvit.envs import ShellEnvironment, SQLEnvironment, unsandboxed

    if args.command == "demo":
        from langgraph_slinvit.demo import DEMO_QUESTION, demo_database

        return SQLEnvironment(f"sqlite:///{demo_database()}"), DEMO_QUESTION
    if args.command == "ask":
        return SQLEnvironment(args.db, allow_writes=args.allow_writes), args.question
    workdir = Path(args.dir)
    if not workdir.is_dir():
        raise UserError(f"directory not found: {workdir}")
    sandbox = unsandboxed() if args.no_sandbox else None
    return ShellEnvironment(workdir, timeout=args.timeout, sandbox=sandbox), args.task


def run_agent(args: argparse.Namespace) -> dict[str, Any]:
    """Run one SLINVIT episode for the parsed arguments; returns answer, actions and usage."""
    from langgraph_slinvit.graph import create_slinvit_agent
    from langgraph_slinvit.render import make_renderer

    config = _config(args)
    env, task = _environment(args)
    try:
        model = _model(args, config.temperature)
        agent = create_slinvit_agent(model, env, config=config)
        renderer = make_renderer(quiet=args.quiet or args.json)
        final: dict[str, Any] = {}
        for mode, chunk in agent.stream(
            {"messages": [("user", task)]}, stream_mode=["custom", "values"]
        ):
            if mode == "custom" and renderer is not None:
                renderer.event(chunk)
            elif mode == "values":
                final = chunk
    finally:
        env.close()
    return {
        "answer": final.get("answer", ""),
        "actions": [s["action"] for s in final.get("steps", []) if s.get("action")],
        "usage": final.get("usage", {}),
        "stop_reason": final.get("stop_reason", ""),
    }


def _user_errors() -> tuple[type[BaseException], ...]:
    from langgraph_slinvit.envs import ShellEnvironmentError, SQLEnvironmentError
    from langgraph_slinvit.policy import ModelEndpointError

    errors: list[type[BaseException]] = [
        UserError,
        SQLEnvironmentError,
        ShellEnvironmentError,
        ModelEndpointError,
        FileNotFoundError,
    ]
    try:
        from langgraph_slinvit.envs.sandbox import SandboxUnavailableError

        errors.append(SandboxUnavailableError)
    except ImportError:  # pragma: no cover
        pass
    try:
        from langgraph_slinvit import local

        errors += [
            local.ModelChecksumError,
            local.ModelDownloadError,
            local.ModelNotFoundError,
            local.LlamaServerBuildError,
            local.LocalServerError,
        ]
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "handler", None) is not None:
            return int(args.handler(args) or 0)
        result = run_agent(args)
    except KeyboardInterrupt:
        print("slinvit: interrupted", file=sys.stderr)
        return 130
    except _user_errors() as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"slinvit: error: {message}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({k: result[k] for k in ("answer", "actions", "usage")}))
    else:
        from langgraph_slinvit.render import make_renderer

        renderer = make_renderer()
        assert renderer is not None
        renderer.summary(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
