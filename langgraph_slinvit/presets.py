"""Named SLINVIT settings: the best measured non-oracle configuration of each kind of task.

    from langgraph_slinvit import preset
    config = preset("sql", seed=4)          # overrides replace any setting

Each preset's figures are from ``docs/results.md`` (Qwen2.5-Coder-1.5B-Instruct, the embedded
local model; success rates of the runs that did not see the gold answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from langgraph_slinvit.config import SlinvitConfig

__all__ = ["PRESETS", "preset"]

_AGREEMENT_VOTE: dict[str, Any] = {
    "k": 4,
    "samples": 4,
    "rollouts": 0,
    "horizon": 4,
    "p_llm": "agreement",
    "agreement_weight": 1.0,
}

PRESETS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "default": MappingProxyType({}),
        "sql": MappingProxyType(
            {**_AGREEMENT_VOTE, "samples": 8, "stop_when": "first_result", "temperature": 0.6}
        ),
        "shell": MappingProxyType({**_AGREEMENT_VOTE, "stop_when": "no_gain"}),
        "blocksworld": MappingProxyType(
            {
                "k": 2,
                "depth": 2,
                "expand_from": "legal",
                "rollouts": 0,
                "horizon": 6,
                "lam": 0.02,
                "p_llm": "agreement",
                "samples": 4,
            }
        ),
        "alfworld": MappingProxyType(
            {
                "k": 2,
                "depth": 2,
                "execute_path": True,
                "rollouts": 0,
                "horizon": 50,
                "lam": 0.1,
                "samples": 8,
                "temperature": 1.0,
                "value": "feedback+critic",
                "agreement_weight": 0.0,
                "repeat_means_submit": False,
                "max_llm_calls": 150,
            }
        ),
    }
)
"""Preset name -> the settings it changes from :class:`SlinvitConfig`'s defaults.

* ``default``: :class:`SlinvitConfig`'s defaults.
* ``sql`` (questions over a database; :meth:`SlinvitConfig.for_sql_questions`): 8 samples of
  one request at temperature 0.6, agreement among their execution results as the value, no
  rollouts, the answer is the first query that runs. InterCode-SQL, 60 tasks: 75.0%, 71.7% and
  71.7% over seeds 4-6 against ReAct's 60.0% (measured 2026-12-03).
* ``shell`` (tasks in a directory): 4 samples, agreement as the value, no rollouts, stop when
  no candidate is valued above a result in hand. InterCode-Bash, 40 tasks: 27.5% against
  ReAct's 12.5% and single's 22.5%.
* ``blocksworld`` (a finite action set): every legal action below the root, depth 2, the rule
  value's lookahead. BlocksWorld, the 57 four-step tasks: 49.1% against LATS's 1.8%.
* ``alfworld`` (household text games): the SLINVIT paper's ALFWorld settings (k=2, N=2,
  lambda=0.1, 8 samples at high temperature, both actions of the chosen sub-goal run), valued
  by the sub-goal critic averaged with the game's own signal (``Nothing happens.`` is 0), no
  rollouts, at most 150 LLM calls (3x the 50 steps ReAct gets). The paper's settings, not yet
  a measured best: with the embedded 1.5B model on 2 CPU cores a game spends its 1200 s before
  its 150 calls, and that model's critic gives every state the same value
  (docs/results-alfworld.md).
"""


def preset(name: str, **overrides: Any) -> SlinvitConfig:
    """The :class:`SlinvitConfig` of the preset ``name`` (see :data:`PRESETS`), ``overrides``
    replacing any of its settings. Raises ValueError for an unknown name."""
    try:
        settings = PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}") from None
    return SlinvitConfig(**{**settings, **overrides})
