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
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langgraph_slinvit.config import SlinvitConfig


class UserError(Exception):
    """An error the user can fix; printed as one line, no traceback."""


def _add_common(p: argparse.ArgumentParser) -> None:
    m = p.add_argument_group("model")
    m.add_argument("--base-url", help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL, "
                   "else the embedded local model)")  # fmt: skip
    m.add_argument("--model", help="model name at the endpoint (default: $SLINVIT_MODEL)")
    m.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY)")
    m.add_argument("--model-path", help="a GGUF file for the local model instead of the default")
    m.add_argument("--threads", type=int, help="local model threads (default 1, $SLINVIT_THREADS)")
    s = p.add_argument_group("search (SLINVIT)")
    d = SlinvitConfig()
    s.add_argument("--k", type=int, default=d.k, help=f"candidates per node (default {d.k})")
    s.add_argument("--depth", type=int, default=d.depth, help=f"N (default {d.depth})")
    s.add_argument("--rollouts", type=int, default=d.rollouts, help=f"M (default {d.rollouts})")
    s.add_argument("--horizon", type=int, default=d.horizon, help=f"H (default {d.horizon})")
    s.add_argument("--lam", type=float, default=d.lam, help=f"lambda (default {d.lam})")
    s.add_argument("--rollout-horizon", type=int, default=d.rollout_horizon,
                   help=f"simulated actions per rollout (default {d.rollout_horizon})")  # fmt: skip
    s.add_argument("--samples", type=int, default=d.samples,
                   help="n: samples per proposal request (default max(k, 4))")  # fmt: skip
    s.add_argument("--expand-from", choices=["policy", "legal"], default=d.expand_from,
                   help="children below the root: LLM proposals (policy, default) or, for a "
                        "finite action set, every legal action without a request (legal)")
    s.add_argument("--value", choices=["feedback", "critic", "feedback+critic"], default=d.value)
    s.add_argument("--p-llm", choices=["auto", "logprob", "agreement"], default=d.p_llm,
                   help=f"how P_LLM is computed (default {d.p_llm})")  # fmt: skip
    s.add_argument("--agreement-weight", type=float, default=d.agreement_weight,
                   help=f"weight of agreement between paths (default {d.agreement_weight})")
    s.add_argument("--answer-from", choices=["best", "last"], default=d.answer_from,
                   help=f"which real result the answer rests on (default {d.answer_from})")
    s.add_argument("--stop-when", choices=["submit", "no_gain", "first_result"],
                   default=d.stop_when,
                   help="stop on SUBMIT only (submit, default), also when no candidate is "
                        "valued above a result already in hand (no_gain), or no_gain and also "
                        "after the first real action that did not fail (first_result)")
    s.add_argument("--temperature", type=float, default=d.temperature)
    s.add_argument("--seed", type=int, default=None)
    b = p.add_argument_group("budgets")
    b.add_argument("--max-llm-calls", type=int, default=d.max_llm_calls)
    b.add_argument("--max-tokens", type=int, default=d.max_tokens)
    b.add_argument("--max-seconds", type=float, default=d.max_seconds)
    p.add_argument("--json", action="store_true",
                   help='print exactly one JSON object {"answer", "actions", "usage"}')  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="do not show the search live")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slinvit", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="answer a question about a database (SQL agent)")
    ask.add_argument("question")
    ask.add_argument("--db", required=True, help="SQLAlchemy URL, e.g. sqlite:///shop.db")
    ask.add_argument("--allow-writes", action="store_true",
                     help="let real actions change the database (rollouts never do)")  # fmt: skip
    _add_common(ask)
    run = sub.add_parser("run", help="carry out a task in a directory (shell agent)")
    run.add_argument("task")
    run.add_argument("--dir", required=True, help="working directory")
    run.add_argument("--timeout", type=float, default=10.0, help="seconds per command")
    run.add_argument(
        "--no-sandbox",
        action="store_true",
        help="UNSAFE: run bash without bubblewrap (machines without namespaces)",
    )
    _add_common(run)
    demo = sub.add_parser("demo", help="the SQL agent on the bundled shop database")
    _add_common(demo)
    try:
        from langgraph_slinvit.bench.cli import add_bench_parser
    except ImportError:  # the benchmark tools are optional
        pass
    else:
        add_bench_parser(sub)
    return parser


def _config(args: argparse.Namespace) -> SlinvitConfig:
    try:
        return SlinvitConfig(
            k=args.k, depth=args.depth, rollouts=args.rollouts, horizon=args.horizon,
            lam=args.lam, value=args.value, temperature=args.temperature, seed=args.seed,
            rollout_horizon=args.rollout_horizon, samples=args.samples, p_llm=args.p_llm,
            agreement_weight=args.agreement_weight, answer_from=args.answer_from,
            stop_when=args.stop_when, expand_from=args.expand_from,
            max_llm_calls=args.max_llm_calls, max_tokens=args.max_tokens,
            max_seconds=args.max_seconds,
        )  # fmt: skip
    except ValueError as exc:
        raise UserError(str(exc)) from exc


def server_slots(config: SlinvitConfig) -> int:
    """llama-server slots a local model needs: it refuses a request whose ``n`` exceeds them."""
    return max(4, config.n_samples, config.rollouts)


def _model(args: argparse.Namespace, temperature: float) -> Any:
    from langgraph_slinvit.models import chat_model

    extra: dict[str, Any] = {}
    if not (args.base_url or args.api_key or os.environ.get("OPENAI_BASE_URL")
            or os.environ.get("OPENAI_API_KEY")):  # fmt: skip
        if args.model_path:
            extra["model_path"] = args.model_path
        if args.threads:
            extra["threads"] = args.threads
        extra["parallel"] = server_slots(_config(args))
    return chat_model(base_url=args.base_url, model=args.model, api_key=args.api_key,
                      temperature=temperature, **extra)  # fmt: skip


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
        UserError, SQLEnvironmentError, ShellEnvironmentError, ModelEndpointError,
        FileNotFoundError,
    ]  # fmt: skip
    try:
        from langgraph_slinvit.envs.sandbox import SandboxUnavailableError

        errors.append(SandboxUnavailableError)
    except ImportError:  # pragma: no cover
        pass
    try:
        from langgraph_slinvit import local

        errors += [local.ModelChecksumError, local.ModelDownloadError, local.ModelNotFoundError,
                   local.LlamaServerBuildError, local.LocalServerError]  # fmt: skip
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
