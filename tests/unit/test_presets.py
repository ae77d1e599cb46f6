"""Named presets: each is a valid SlinvitConfig, overrides win, unknown names are refused."""

from __future__ import annotations

import pytest

from langgraph_slinvit.config import SlinvitConfig
from langgraph_slinvit.presets import PRESETS, preset


def test_the_documented_presets_exist_and_build() -> None:
    assert {"default", "sql", "shell", "blocksworld"} <= set(PRESETS)
    for name in PRESETS:
        assert isinstance(preset(name), SlinvitConfig)
    assert preset("default") == SlinvitConfig()


def test_the_sql_preset_is_the_sql_questions_configuration() -> None:
    assert preset("sql") == SlinvitConfig.for_sql_questions()
    assert preset("sql", seed=4) == SlinvitConfig.for_sql_questions(seed=4)


def test_the_shell_and_blocksworld_presets_are_the_benchmarked_settings() -> None:
    shell = preset("shell")
    assert (shell.k, shell.n_samples, shell.rollouts, shell.stop_when) == (4, 4, 0, "no_gain")
    bw = preset("blocksworld")
    assert (bw.k, bw.depth, bw.expand_from, bw.horizon, bw.lam) == (2, 2, "legal", 6, 0.02)


def test_overrides_replace_a_preset_setting_and_keep_the_rest() -> None:
    cfg = preset("sql", k=2)
    assert cfg.k == 2
    assert cfg.n_samples == 8 and cfg.stop_when == "first_result" and cfg.temperature == 0.6


def test_preset_is_exported_from_the_package() -> None:
    import langgraph_slinvit

    assert langgraph_slinvit.preset is preset and langgraph_slinvit.PRESETS is PRESETS


def test_presets_are_read_only() -> None:
    with pytest.raises(TypeError):
        PRESETS["sql"]["k"] = 1  # type: ignore[index]


def test_an_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown preset 'nope'.*sql"):
        preset("nope")
