"""Graph state: plain, serializable data only (any checkpointer and Studio can save it).

Every value is a record of :mod:`langgraph_slinvit.records` (typed dicts shared with the search
core), a message, or a number or string.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from langgraph_slinvit.budget import add_usage
from langgraph_slinvit.records import (
    BudgetRecord,
    CandidateRecord,
    PathRecord,
    ScoredPath,
    StepRecord,
    TreeNode,
    TurnRecord,
)


class InputState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


class OutputState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    answer: str
    """The final answer text (also the content of the last message)."""
    steps: list[StepRecord]
    """Real actions taken, each with its observation and the decision that chose it."""
    usage: Annotated[dict[str, float], add_usage]
    """``llm_calls``, ``prompt_tokens``, ``completion_tokens``, ``rollouts``, ``env_steps``,
    ``rollout_steps``, ``seconds`` for the run."""
    answer_step: int | None
    """Index in ``steps`` of the result the answer rests on (see ``SlinvitConfig.answer_from``)."""
    stop_reason: str
    """``submitted``, ``no_gain``, ``first_result``, ``terminal``, ``horizon``, ``no_result`` (the
    episode ended on a failed action or none), or the budget that ran out (``max_llm_calls``...)."""
    structured_response: Any
    """The answer in the agent's ``response_format``, when it has one."""
    turns: list[TurnRecord]
    """Finished episodes of this thread: the context of the next question."""


class SlinvitState(OutputState, total=False):
    task: str
    context: str
    decision: int
    """Decisions made in this episode (each takes at most one real action)."""
    candidates: list[CandidateRecord]
    paths: Annotated[list[PathRecord], operator.add]
    """Results of the rollout branches of the current decision (reset at each proposal)."""
    scored: list[ScoredPath]
    chosen: ScoredPath | None
    tree: Annotated[list[TreeNode], operator.add]
    """The search tree as plain nodes keyed by id."""
    started_at: float
    done: bool


class BranchState(TypedDict):
    """The input of one rollout branch (sent with ``Send``)."""

    task: str
    context: str
    steps: list[StepRecord]
    horizon_left: int
    candidate: CandidateRecord
    budget: BudgetRecord
    decision: int


class SlinvitContext(TypedDict, total=False):
    """A run's context (``invoke(..., context={...})``): per-run overrides of the settings."""

    k: int
    depth: int
    rollouts: int
    horizon: int
    rollout_horizon: int
    lam: float
    samples: int


class RolloutState(BranchState, total=False):
    """State inside one rollout branch (the ``rollout`` subgraph)."""

    leaves: list[list[CandidateRecord]]
    """Leaf paths of the branch after expansion, as candidate records."""
    stopped_by: str | None
    paths: list[PathRecord]
    usage: Annotated[dict[str, float], add_usage]


class RolloutOutput(TypedDict):
    """What a branch gives back to the parent graph (merged by the parent's reducers)."""

    paths: list[PathRecord]
    usage: dict[str, float]
