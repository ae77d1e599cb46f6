"""Options and helpers every ``slinvit`` command shares (``ask``, ``run``, ``demo``, ``bench``).

A module of its own so that :mod:`langgraph_slinvit.cli` and :mod:`langgraph_slinvit.bench.cli`
both import it and neither imports the other at module import.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import fields
from typing import Any, get_type_hints

from langgraph_slinvit.config import GROUPS, SlinvitConfig, choices, setting_docs, split_optional
from langgraph_slinvit.presets import PRESETS, preset

__all__ = [
    "UserError",
    "add_common_options",
    "add_setting_options",
    "config_from_args",
    "model_from_args",
    "server_slots",
]


class UserError(Exception):
    """An error the user can fix; printed as one line, no traceback."""


def add_common_options(p: argparse.ArgumentParser, preset: str = "default") -> None:
    """Add the model, preset, settings and output options shared by every ``slinvit`` command.

    ``preset`` is the command's default ``--preset``; a setting given on the command line
    replaces the preset's value.
    """
    m = p.add_argument_group("model")
    m.add_argument(
        "--base-url",
        help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL, "
        "else the embedded local model)",
    )
    m.add_argument("--model", help="model name at the endpoint (default: $SLINVIT_MODEL)")
    m.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY)")
    m.add_argument("--model-path", help="a GGUF file for the local model instead of the default")
    m.add_argument("--threads", type=int, help="local model threads (default 1, $SLINVIT_THREADS)")
    p.add_argument(
        "--preset",
        choices=list(PRESETS),
        default=preset,
        help=f"named settings (default: {preset}); the settings below replace its values",
    )
    add_setting_options(p)
    p.add_argument(
        "--json",
        action="store_true",
        help='print exactly one JSON object {"answer", "actions", "usage"}',
    )
    p.add_argument("--quiet", action="store_true", help="do not show the search live")


def add_setting_options(p: argparse.ArgumentParser) -> None:
    """One option per :class:`SlinvitConfig` field (``--rollout-horizon`` for
    ``rollout_horizon``), generated from the fields' types and docstrings and grouped as
    :data:`~langgraph_slinvit.config.GROUPS`. Every option defaults to None: the preset's value."""
    hints = get_type_hints(SlinvitConfig)
    docs = setting_docs()
    defaults = SlinvitConfig()
    groups = {name: p.add_argument_group(f"settings: {name}") for name in GROUPS}
    for f in fields(SlinvitConfig):
        base, _ = split_optional(hints[f.name])
        allowed = choices(base)
        default = getattr(defaults, f.name)
        text = f"{_first_sentence(docs.get(f.name, ''))} (SlinvitConfig default {default!r})"
        kwargs: dict[str, Any] = {"dest": f.name, "default": None, "help": text.replace("%", "%%")}
        if allowed is not None:
            kwargs["choices"] = list(allowed)
        elif base is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = base
            kwargs["metavar"] = {int: "N", float: "X", str: "TEXT"}[base]
        groups[f.metadata["group"]].add_argument("--" + f.name.replace("_", "-"), **kwargs)


def _first_sentence(doc: str) -> str:
    text = " ".join(doc.replace("``", "").split())
    match = re.search(r"(?<=[a-z0-9)`])\.(\s|$)", text)
    return text[: match.start() + 1] if match else text


def config_from_args(args: argparse.Namespace) -> SlinvitConfig:
    """The :class:`SlinvitConfig` of parsed :func:`add_common_options` options: the preset,
    with every setting given on the command line replacing its value."""
    given = {
        f.name: getattr(args, f.name)
        for f in fields(SlinvitConfig)
        if getattr(args, f.name, None) is not None
    }
    try:
        return preset(getattr(args, "preset", "default"), **given)
    except ValueError as exc:
        raise UserError(str(exc)) from exc


def server_slots(config: SlinvitConfig) -> int:
    """llama-server slots a local model needs: it refuses a request whose ``n`` exceeds them."""
    return max(4, config.n_samples, config.rollouts)


def model_from_args(args: argparse.Namespace, temperature: float) -> Any:
    """The chat model the parsed options name: an endpoint, else the embedded local model."""
    from langgraph_slinvit.models import chat_model

    extra: dict[str, Any] = {}
    if not (
        args.base_url
        or args.api_key
        or os.environ.get("OPENAI_BASE_URL")
        or os.environ.get("OPENAI_API_KEY")
    ):
        if args.model_path:
            extra["model_path"] = args.model_path
        if args.threads:
            extra["threads"] = args.threads
        extra["parallel"] = server_slots(config_from_args(args))
    return chat_model(
        base_url=args.base_url,
        model=args.model,
        api_key=args.api_key,
        temperature=temperature,
        **extra,
    )
