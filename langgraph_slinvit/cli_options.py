"""Options and helpers every ``slinvit`` command shares (``ask``, ``run``, ``demo``, ``bench``).

A module of its own so that :mod:`langgraph_slinvit.cli` and :mod:`langgraph_slinvit.bench.cli`
both import it and neither imports the other at module import.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from langgraph_slinvit.config import SlinvitConfig

__all__ = [
    "UserError",
    "add_common_options",
    "config_from_args",
    "model_from_args",
    "server_slots",
]


class UserError(Exception):
    """An error the user can fix; printed as one line, no traceback."""


def add_common_options(p: argparse.ArgumentParser) -> None:
    """Add the model, search, budget and output options shared by every ``slinvit`` command."""
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


def config_from_args(args: argparse.Namespace) -> SlinvitConfig:
    """The :class:`SlinvitConfig` of parsed :func:`add_common_options` options."""
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


def model_from_args(args: argparse.Namespace, temperature: float) -> Any:
    """The chat model the parsed options name: an endpoint, else the embedded local model."""
    from langgraph_slinvit.models import chat_model

    extra: dict[str, Any] = {}
    if not (args.base_url or args.api_key or os.environ.get("OPENAI_BASE_URL")
            or os.environ.get("OPENAI_API_KEY")):  # fmt: skip
        if args.model_path:
            extra["model_path"] = args.model_path
        if args.threads:
            extra["threads"] = args.threads
        extra["parallel"] = server_slots(config_from_args(args))
    return chat_model(base_url=args.base_url, model=args.model, api_key=args.api_key,
                      temperature=temperature, **extra)  # fmt: skip
