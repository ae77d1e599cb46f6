"""The environment protocol every SLINVIT environment implements.

An environment is a place where actions (SQL statements, shell commands, ...) run and produce
observations. SLINVIT needs exactly four things from it:

* ``step(action)`` runs one action and returns an :class:`Observation`;
* ``fork()`` returns an *isolated* copy of the current state: whatever runs in the fork never
  reaches the original (the user's database or files);
* ``describe()`` gives the context the LLM sees (a schema, a file listing);
* ``close()`` releases the resources (forks are thrown away on close).

``language`` names the action language (``"sql"``, ``"bash"``) and is used as the code-fence tag in
prompts. ``feedback_value(observation)`` turns execution feedback into a value in ``[0, 1]``
without any gold answer; environments may override the default rule.

Optional: an environment with a finite action set (a puzzle) may define
``legal_actions() -> list[str]``, the actions applicable in its current state. Proposals are then
mapped onto those actions (a reply in prose that names one counts as that action), and when the
model proposes fewer than k of them the rest are filled from the legal actions with P_LLM 0,
as the reference code ranks all legal actions (:func:`legal_actions_of`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass
class Observation:
    """What one action produced, as plain data (it goes into graph state)."""

    output: str
    """Text shown to the LLM, already truncated."""
    ok: bool = True
    """False when the action failed (SQL error, non-zero exit, timeout, refusal)."""
    error: str | None = None
    empty: bool = False
    """True when the action succeeded but produced nothing (no rows, no output)."""
    signature: str | None = None
    """A digest of the full result, used to measure agreement between rollouts."""
    timed_out: bool = False
    refused: bool = False
    """True when the environment refused to run the action (e.g. a write on a read-only DB)."""
    details: dict[str, Any] = field(default_factory=dict)
    """Environment-specific numbers: ``rows``, ``columns``, ``exit_code``, ``bytes``..."""
    terminal: bool = False
    """True when the episode is over in the state this action reached (e.g. a puzzle's goal
    holds): the agent stops there, and the search does not expand or roll out past it."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Observation:
        return cls(**data)


def default_feedback_value(obs: Observation) -> float:
    """Execution-feedback value without a gold answer: errors 0, empty results 0.3, else 1."""
    if obs.timed_out or obs.refused or not obs.ok:
        return 0.0
    if obs.empty:
        return 0.3
    return 1.0


@runtime_checkable
class Environment(Protocol):
    """The protocol SLINVIT drives (see ``examples/custom_environment.py``)."""

    language: str

    def describe(self) -> str:
        """Context for the LLM: what the task runs against (schema, files...)."""
        ...

    def step(self, action: str) -> Observation:
        """Run one action and return what it produced."""
        ...

    def fork(self) -> Environment:
        """An isolated copy of the current state; nothing done in it reaches ``self``."""
        ...

    def feedback_value(self, obs: Observation) -> float:
        """Value in [0, 1] of an observation from execution feedback alone."""
        ...

    def close(self) -> None:
        """Release resources; a fork is discarded."""
        ...


def legal_actions_of(env: Environment) -> list[str] | None:
    """The environment's legal actions now, or None when its action set is open (SQL, shell)."""
    legal = getattr(env, "legal_actions", None)
    return list(legal()) if callable(legal) else None


def default_settings_of(env: Environment) -> Any:
    """The settings an environment measured best with (its optional ``default_settings()``,
    a ``SlinvitConfig``), or None: the agent then uses ``SlinvitConfig()``."""
    own = getattr(env, "default_settings", None)
    return own() if callable(own) else None


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, saying how much was dropped."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... [truncated: {len(text) - limit} more characters]"
