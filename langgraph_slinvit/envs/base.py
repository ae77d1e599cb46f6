"""The environment protocol every SLINVIT environment implements.

An environment is a place where actions (SQL statements, shell commands, ...) run and produce
observations. SLINVIT needs these things from it:

* ``step(action)`` runs one action and returns an :class:`Observation`;
* ``fork()`` returns an *isolated* copy of the current state: whatever runs in the fork never
  reaches the original (the user's database or files);
* ``describe()`` gives the context the LLM sees (a schema, a file listing);
* ``feedback_value(observation)`` turns execution feedback into a value in ``[0, 1]`` without
  any gold answer (:func:`default_feedback_value` is the usual rule);
* ``close()`` releases the resources (forks are thrown away on close);
* ``action_syntax``, an :class:`ActionSyntax`: how its actions are written, which is all the
  core knows of the action language (the fence tag and place named in prompts, the fence tags a
  reply may use, whether an unfenced reply counts as an action). :data:`SQL_SYNTAX`,
  :data:`SHELL_SYNTAX` and :data:`TEXT_SYNTAX` are the built-in ones. The core reads it with
  :func:`syntax_of`, so an environment that declares none still runs: one that names only a
  ``language`` (``"sql"``, ``"bash"``) gets the built-in syntax of that name, any other gets
  :data:`TEXT_SYNTAX`; such an environment is no :class:`Environment` to a type checker or
  ``isinstance``, though.

Optional methods, each read through one helper that gives the default for an environment
without it, so a custom environment gets the same treatment as the built-in ones:

* ``legal_actions() -> list[str]`` (:func:`legal_actions_of`, default None: an open action set):
  the actions applicable in its current state, for an environment with a finite action set (a
  puzzle). Proposals are then mapped onto those actions (a reply in prose that names one counts
  as that action), and when the model proposes fewer than k of them the rest are filled from
  the legal actions with P_LLM 0, as the reference code ranks all legal actions;
* ``needs_approval(action) -> bool`` (:func:`needs_approval_of`, default False): whether a real
  action changes data and so waits for the user's approval (``approve_writes``);
* ``parallel_forks() -> bool`` (:func:`parallel_forks_of`, default False): whether several
  forks of the current state may be stepped at the same time, in threads (each fork is its own
  copy); with ``rollout_workers`` > 1 a leaf's rollouts then run at once;
* ``default_settings()``, a classmethod (:func:`default_settings_of`, default None: the agent then
  uses ``SlinvitConfig()``): the settings the environment measured best with;
* ``critic_rubric() -> CriticRubric`` (:func:`critic_rubric_of`, default None: the generic
  "does the last result answer the task" question, scored 0 to 10): how the LLM critic judges
  a trajectory in this environment (ALFWorld asks how many of the task's sub-goals hold).

An observation may carry ``details["while_latest"]``: text the prompts show after its output only
while it is the newest step (the commands admissible now), so a long episode's prompt does not
repeat what no longer holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from langgraph_slinvit.records import ObservationRecord

if TYPE_CHECKING:
    from langgraph_slinvit.config import SlinvitConfig

BareRule = Callable[[str], bool] | str | re.Pattern[str] | None
"""Whether an unfenced reply is an action: a predicate on the stripped reply, a regular
expression that must match at its start, or None (an unfenced reply is never an action)."""


@dataclass(frozen=True)
class ActionSyntax:
    """How an environment's actions are written: what the prompts and the reply parser use.

    Args:
        name: the action language, as prompts name it and as the tag of the fence they ask for
            (``sql`` asks for a block opened with three backticks and ``sql``).
        description: the place the actions run in, for the system prompt ("SQL database");
            default ``"<name> environment"``.
        tags: the fence tags a reply's code block may carry to count as an action (compared in
            lower case; ``""`` accepts an untagged fence). ``name`` is always accepted.
        bare: whether a reply without any fence is itself an action (see :data:`BareRule`).
    """

    name: str
    description: str = ""
    tags: frozenset[str] = frozenset({""})
    bare: BareRule = None

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise ValueError("ActionSyntax.name must be a non-empty word (the fence tag)")
        tags = {t.lower() for t in (self.tags if not isinstance(self.tags, str) else [self.tags])}
        object.__setattr__(self, "tags", frozenset(tags | {self.name.lower()}))
        if not self.description:
            object.__setattr__(self, "description", f"{self.name} environment")
        if isinstance(self.bare, str):
            object.__setattr__(self, "bare", re.compile(self.bare))

    def accepts_tag(self, tag: str) -> bool:
        """True when a fenced block tagged ``tag`` holds an action of this syntax."""
        return tag.lower() in self.tags

    def is_bare_action(self, text: str) -> bool:
        """True when ``text`` (a stripped reply without a fence) is itself an action."""
        if self.bare is None:
            return False
        if isinstance(self.bare, re.Pattern):
            return self.bare.match(text) is not None
        return bool(self.bare(text))


_SQL_START = re.compile(
    r"^\s*(select|with|insert|update|delete|create|drop|alter|pragma|explain|show|describe)\b",
    re.IGNORECASE,
)
_PROSE_START = re.compile(r"^(sure|here|i |i'm|sorry|the |this |to )", re.IGNORECASE)


def one_line_command(text: str) -> bool:
    """A reply that reads as one shell command: one line, short, not opening like prose."""
    return "\n" not in text and len(text) < 300 and not _PROSE_START.match(text)


SQL_SYNTAX = ActionSyntax(
    name="sql",
    description="SQL database",
    tags=frozenset({"sql", "sqlite", "mysql", "postgresql", "postgres", "psql", ""}),
    bare=_SQL_START,
)
"""SQL statements: fences tagged for SQL dialects or untagged; an unfenced reply that starts
with a statement keyword is one."""

SHELL_SYNTAX = ActionSyntax(
    name="bash",
    description="Linux shell",
    tags=frozenset({"bash", "sh", "shell", "console", "zsh", ""}),
    bare=one_line_command,
)
"""Shell commands: fences tagged for a shell or untagged; an unfenced reply is one when it is a
single short line that does not open like prose (:func:`one_line_command`)."""

TEXT_SYNTAX = ActionSyntax(
    name="text",
    description="task whose actions are short sentences (copy one of the legal actions exactly)",
    tags=frozenset({"text", ""}),
)
"""Plain sentences (a puzzle's moves): the default of an environment that declares no syntax.
An unfenced reply is no action by itself; with legal actions it counts as the one it names."""

_BUILT_IN = {s.name: s for s in (SQL_SYNTAX, SHELL_SYNTAX, TEXT_SYNTAX)}


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

    def to_dict(self) -> ObservationRecord:
        return ObservationRecord(**asdict(self))

    @classmethod
    def from_dict(cls, data: ObservationRecord) -> Observation:
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

    action_syntax: ActionSyntax
    """How actions are written (:class:`ActionSyntax`); read it with :func:`syntax_of`."""

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


class FiniteActions(Protocol):
    """An environment with a finite action set (read with :func:`legal_actions_of`)."""

    def legal_actions(self) -> list[str]: ...


class ApprovesActions(Protocol):
    """An environment whose real actions may need the user's approval
    (read with :func:`needs_approval_of`)."""

    def needs_approval(self, action: str) -> bool: ...


class HasDefaultSettings(Protocol):
    """An environment that brings its measured-best settings (read with
    :func:`default_settings_of`; a classmethod, so a lazy environment answers unbuilt)."""

    @classmethod
    def default_settings(cls) -> SlinvitConfig: ...


def syntax_of(env: Any) -> ActionSyntax:
    """The environment's :class:`ActionSyntax`: its ``action_syntax``; for an environment that
    only names a ``language``, the built-in syntax of that name (or a plain one: fences tagged
    with it, no unfenced actions); else :data:`TEXT_SYNTAX`."""
    declared = getattr(env, "action_syntax", None)
    if isinstance(declared, ActionSyntax):
        return declared
    if declared is not None:
        raise TypeError(
            f"{type(env).__name__}.action_syntax must be an ActionSyntax, not {declared!r}"
        )
    language = getattr(env, "language", None)
    if isinstance(language, str) and language.strip():
        return _BUILT_IN.get(language) or ActionSyntax(name=language)
    return TEXT_SYNTAX


def legal_actions_of(env: Any) -> list[str] | None:
    """The environment's legal actions now, or None when its action set is open (SQL, shell)."""
    legal = getattr(env, "legal_actions", None)
    return list(legal()) if callable(legal) else None


def needs_approval_of(env: Any, action: str) -> bool:
    """Whether running ``action`` for real needs the user's approval (the environment's optional
    ``needs_approval(action)``; an environment without it never asks)."""
    check = getattr(env, "needs_approval", None)
    return bool(check(action)) if callable(check) else False


def parallel_forks_of(env: Any) -> bool:
    """Whether several forks of the environment's current state may run at the same time, in
    threads (its optional ``parallel_forks()``; default False: rollouts then run one after
    another)."""
    own = getattr(env, "parallel_forks", None)
    return bool(own()) if callable(own) else False


def default_settings_of(env: Any) -> SlinvitConfig | None:
    """The settings an environment measured best with (its optional ``default_settings()``,
    a ``SlinvitConfig``), or None: the agent then uses ``SlinvitConfig()``."""
    own = getattr(env, "default_settings", None)
    return own() if callable(own) else None


@dataclass(frozen=True)
class CriticRubric:
    """How the LLM critic judges a trajectory: the question asked after the task and the
    trajectory, and how its reply becomes a value in [0, 1] (None when the reply holds none)."""

    question: str
    parse: Callable[[str], float | None]


def critic_rubric_of(env: Any) -> CriticRubric | None:
    """The environment's own critic rubric (its optional ``critic_rubric()``), or None: the
    critic then asks the generic question (:data:`langgraph_slinvit.prompts.CRITIC_QUESTION`)."""
    own = getattr(env, "critic_rubric", None)
    rubric = own() if callable(own) else None
    if rubric is not None and not isinstance(rubric, CriticRubric):
        raise TypeError(f"{type(env).__name__}.critic_rubric() must return a CriticRubric")
    return rubric


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, saying how much was dropped."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... [truncated: {len(text) - limit} more characters]"
