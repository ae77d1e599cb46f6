"""Settings: grouped fields, validation read from the types, command-line options generated from
the fields, presets as the command line's starting point, and each environment's own preset."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path
from typing import Any, get_type_hints

import pytest

from langgraph_slinvit import cli
from langgraph_slinvit.bench.task_envs.blocksworld import BlocksWorldEnvironment
from langgraph_slinvit.cli_options import add_common_options, config_from_args
from langgraph_slinvit.config import GROUPS, SlinvitConfig, choices, setting_docs, split_optional
from langgraph_slinvit.envs import ShellEnvironment
from langgraph_slinvit.envs.lazy import LazyEnvironment
from langgraph_slinvit.presets import preset

HINTS = get_type_hints(SlinvitConfig)
NAMES = [f.name for f in fields(SlinvitConfig)]


def test_every_setting_is_in_exactly_one_group_and_documented() -> None:
    cfg = SlinvitConfig()
    seen: list[str] = []
    for group in GROUPS:
        seen += list(cfg.group(group))
    assert sorted(seen) == sorted(NAMES) and len(seen) == len(set(seen))
    assert cfg.group("search") == {
        "k": 3,
        "depth": 1,
        "rollouts": 2,
        "rollout_leaves": 0,
        "rollout_legal_only": False,
        "untried_candidates": 0,
        "rollout_aggregate": "mean",
        "horizon": 6,
        "rollout_horizon": 3,
        "lam": 0.5,
        "samples": 0,
        "temperature": 0.8,
        "reply_tokens": 512,
        "p_llm": "auto",
        "expand_from": "policy",
        "execute_path": False,
    }
    docs = setting_docs()
    assert set(docs) == set(NAMES) and all(len(docs[n]) > 20 for n in NAMES)
    with pytest.raises(ValueError, match="unknown settings group 'model'"):
        cfg.group("model")


@pytest.mark.parametrize("name", [n for n in NAMES if choices(HINTS[n])])
def test_a_choice_setting_refuses_a_value_outside_its_literal(name: str) -> None:
    allowed = ", ".join(repr(a) for a in choices(HINTS[name]) or ())
    with pytest.raises(
        ValueError, match=rf"{name}='nope' \(must be one of {allowed}\)".replace("+", r"\+")
    ):
        SlinvitConfig(**{name: "nope"})


@pytest.mark.parametrize("name", NAMES)
def test_every_setting_refuses_a_value_of_the_wrong_type(name: str) -> None:
    base, optional = split_optional(HINTS[name])
    wrong: Any = 1 if base is str or choices(base) else "1"
    with pytest.raises(ValueError, match=rf"invalid SlinvitConfig value: {name}="):
        SlinvitConfig(**{name: wrong})
    if optional:
        assert getattr(SlinvitConfig(**{name: None}), name) is None


def _changed(name: str) -> tuple[list[str], Any]:
    """Command-line words that set ``name`` away from its default, and the value they set."""
    default = getattr(SlinvitConfig(), name)
    base, _ = split_optional(HINTS[name])
    flag = "--" + name.replace("_", "-")
    allowed = choices(base)
    if allowed:
        value = next(a for a in allowed if a != default)
        return [flag, str(value)], value
    if base is bool:
        return ([f"--no-{name.replace('_', '-')}"] if default else [flag]), not default
    if base is int:
        value = (default or 0) + 2
    elif base is float:
        value = default + 0.25
    else:
        value = "/tmp/somewhere.sqlite"
    return [flag, str(value)], value


@pytest.mark.parametrize("name", NAMES)
def test_every_setting_has_a_generated_option_that_sets_it(name: str) -> None:
    parser = argparse.ArgumentParser()
    add_common_options(parser)
    words, value = _changed(name)
    cfg = config_from_args(parser.parse_args(words))
    assert getattr(cfg, name) == value
    assert cfg == SlinvitConfig(**{name: value})  # nothing else moved


def test_the_preset_is_the_starting_point_and_options_replace_its_values() -> None:
    parser = argparse.ArgumentParser()
    add_common_options(parser, preset="sql")
    assert config_from_args(parser.parse_args([])) == preset("sql")
    assert config_from_args(parser.parse_args(["--preset", "blocksworld"])) == preset("blocksworld")
    assert config_from_args(parser.parse_args(["--preset", "blocksworld", "--k", "3"])) == preset(
        "blocksworld", k=3
    )
    with pytest.raises(cli.UserError, match=r"k=0 \(must be an integer >= 1\)"):
        config_from_args(parser.parse_args(["--k", "0"]))


def test_each_command_starts_from_the_preset_of_its_environment() -> None:
    parser = cli.build_parser()
    assert parser.parse_args(["demo"]).preset == "sql"
    assert parser.parse_args(["ask", "q", "--db", "sqlite://"]).preset == "sql"
    assert parser.parse_args(["run", "t", "--dir", "."]).preset == "shell"
    bench = parser.parse_args(["bench", "--suite", "blocksworld", "--method", "slinvit"])
    from langgraph_slinvit.bench.cli import bench_settings

    settings = bench_settings(bench)
    # benchmark runs keep the library's defaults (their published commands name every change)
    assert bench.preset == "default"
    assert settings.slinvit == SlinvitConfig(max_llm_calls=20) and settings.max_llm_calls == 20


def test_a_bench_preset_brings_its_own_llm_budget_unless_one_is_given() -> None:
    from langgraph_slinvit.bench.cli import bench_settings

    parser = cli.build_parser()
    base = ["bench", "--suite", "alfworld", "--method", "react"]
    settings = bench_settings(parser.parse_args([*base, "--preset", "alfworld"]))
    assert settings.max_llm_calls == settings.slinvit.max_llm_calls == 150
    given = parser.parse_args([*base, "--preset", "alfworld", "--max-llm-calls", "30"])
    assert bench_settings(given).max_llm_calls == bench_settings(given).slinvit.max_llm_calls == 30
    # a preset without a budget of its own keeps the bench's 20 for every method
    assert bench_settings(parser.parse_args([*base, "--preset", "sql"])).max_llm_calls == 20


def test_shell_and_puzzle_environments_bring_their_presets(tmp_path: Path) -> None:
    assert ShellEnvironment.default_settings() == preset("shell")
    assert BlocksWorldEnvironment.default_settings() == preset("blocksworld")

    def refuse() -> ShellEnvironment:
        raise AssertionError("the environment was built to read its preset")

    lazy = LazyEnvironment(refuse, ShellEnvironment)
    assert lazy.default_settings() == preset("shell") and not lazy.built
