"""The plain records the search core and the graph share: JSON-ready dicts, typed.

Every value a decision produces (a candidate, a rollout, a path, a scored path, a real step) is
one of these ``TypedDict``s, so the same data flows through :mod:`langgraph_slinvit.search`,
the graph's state (:mod:`langgraph_slinvit.state`) and any checkpointer without conversion:
at run time they are plain ``dict``s of strings, numbers, lists and None. The only objects made
from them are a :class:`~langgraph_slinvit.proposal.Candidate` (``Candidate.from_dict``) and an
:class:`~langgraph_slinvit.envs.base.Observation` (``Observation.from_dict``).
"""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict


class ObservationRecord(TypedDict):
    """What one action produced (``Observation.to_dict()``; see ``Observation`` for each field)."""

    output: str
    ok: bool
    error: str | None
    empty: bool
    signature: str | None
    timed_out: bool
    refused: bool
    details: dict[str, Any]
    terminal: bool


class ActionStep(TypedDict):
    """One action of a trajectory (real, on a path, or in a rollout) and what it produced."""

    action: str
    observation: ObservationRecord


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


class StepRecord(ActionStep):
    """A real step of the episode (a decision that ran an action, or proposed none: then
    ``action`` is ``""``)."""

    decision: int
    score: float | None
    value: NotRequired[float | None]
    value_here: NotRequired[bool]
    """The decision valued the state this action reached (not a state further ahead)."""


class TreeNode(TypedDict, total=False):
    """A node of the state's search ``tree``: the task, a decision, or a scored path of it."""

    id: str
    parent: str | None
    kind: str
    """``task``, ``decision`` or ``path``."""
    text: str
    actions: list[str]
    p_llm: list[float]
    v_hat: float
    score: float
    chosen: bool


class BudgetRecord(TypedDict):
    """What a branch may spend (``Budget.to_record()``)."""

    llm_calls: int
    tokens: int
    deadline: float
    rollouts: int


class RanAction(TypedDict):
    """A real action of a finished episode and its output (what later questions see of it)."""

    action: str
    output: str


class TurnRecord(TypedDict):
    """One finished episode of a conversation: the question, what ran, the answer."""

    question: str
    steps: list[RanAction]
    """Each real action, in order."""
    answer: str
