"""The plain records the search core and the graph share: JSON-ready dicts, typed.

Every value a decision produces (a candidate, a rollout, a path, a scored path, a real step) is
one of these ``TypedDict``s, so the same data flows through :mod:`langgraph_slinvit.search`,
the graph's state and any checkpointer without conversion.
"""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict


class CandidateRecord(TypedDict):
    """A proposed action with its prior under the LLM (``proposal.Candidate.to_dict()``)."""

    action: str
    p_llm: float
    count: int


class RolloutRecord(TypedDict):
    """One Monte-Carlo rollout: the whole trajectory's actions and its terminal value."""

    actions: list[str]
    value: float
    signature: str | None
    """What the rollout's result was (equal signatures = the same result), if comparable."""
    source: str
    """Which value source valued it (``oracle``, ``rule``, ``feedback``)."""
    output: str


class PathRecord(TypedDict):
    """One leaf path of a decision's tree with its evidence."""

    actions: list[str]
    p_llm: list[float]
    leaf_output: str | None
    rollouts: list[RolloutRecord]
    critic: float | None
    stopped_by: str | None
    """The budget that cut this path's evaluation short, if any."""
    failed: bool
    """The path's first action failed in its fork (an error, a refusal, a timeout)."""


class ScoredPath(PathRecord):
    """A path with its score: ``prior + v_hat`` (``search.score_paths``)."""

    v_hat: float
    prior: float
    score: float


class StepRecord(TypedDict):
    """A real step of the episode (a decision that ran an action, or proposed none)."""

    action: str
    observation: dict[str, Any]
    """``Observation.to_dict()``."""
    decision: int
    score: float | None
    value: NotRequired[float | None]
    value_here: NotRequired[bool]
    """The decision valued the state this action reached (not a state further ahead)."""


class BudgetRecord(TypedDict):
    """What a branch may spend (``Budget.to_record()``)."""

    llm_calls: int
    tokens: int
    deadline: float
    rollouts: int


class TurnRecord(TypedDict):
    """One finished episode of a conversation: the question, what ran, the answer."""

    question: str
    steps: list[dict[str, Any]]
    """``{"action", "output"}`` of each real action, in order."""
    answer: str
