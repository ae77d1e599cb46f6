"""SlinvitConfig: the method's knobs and the run's budgets, with documented defaults.

Each setting belongs to one group (:data:`GROUPS`): ``search`` (the tree: k, N, M, H, lambda,
samples, temperature), ``value`` (V_hat), ``stopping`` (when the agent stops and what it
answers from), ``budgets`` and ``runtime``. Validation reads each field's type (a ``Literal``
lists its choices) and its lower bound; the command line's options are generated from the same
fields (:func:`langgraph_slinvit.cli_options.add_setting_options`). Named presets
(:mod:`langgraph_slinvit.presets`) are the documented way to choose settings.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import types
from dataclasses import Field, asdict, dataclass, field, fields
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

ValueEstimator = Literal["feedback", "critic", "feedback+critic"]
PLLMRule = Literal["auto", "logprob", "agreement"]
AnswerRule = Literal["best", "last"]
ExpandFrom = Literal["policy", "legal"]
StopRule = Literal["submit", "no_gain", "first_result"]
RolloutAggregate = Literal["mean", "max"]

GROUPS = ("search", "value", "stopping", "budgets", "runtime")
"""The groups of settings, in the order the command line and the docs show them."""


def _setting(default: Any, group: str, low: float | None = None, *, strict: bool = False) -> Any:
    """A field of ``group`` whose value must be ``>= low`` (``> low`` when ``strict``)."""
    assert group in GROUPS, group
    return field(default=default, metadata={"group": group, "low": low, "strict": strict})


@dataclass(frozen=True)
class SlinvitConfig:
    """Settings of one SLINVIT agent.

    The score of a candidate path ``a_1..a_N`` is ``lam * sum_i P_LLM(a_i|s_i) + V_hat(leaf)``
    (P_LLM, not its log, as in the paper, so a rare candidate cannot score minus infinity).
    """

    k: int = _setting(3, "search", 1)
    """Distinct candidate actions proposed per search node."""
    depth: int = _setting(1, "search", 1)
    """N: actions per sub-goal path (the tree has up to k**N leaves)."""
    rollouts: int = _setting(2, "search", 0)
    """M: Monte-Carlo rollouts of the LLM policy from each leaf."""
    rollout_leaves: int = _setting(0, "search", 0)
    """Leaves below each candidate that get the M rollouts: 0 = every leaf; R > 0 = only the R
    whose own value is highest (ties: the more probable, then the earlier), the others valued
    where they stand, as with M=0. A leaf that is rolled out keeps its own value as one more
    record (a rollout that stops at once), so leaves with and without rollouts compare on the
    same footing. Rollouts cost requests; with an action set as large as a lookahead's leaves
    (``expand_from="legal"``) M rollouts from every leaf exceed a small budget."""
    rollout_legal_only: bool = _setting(False, "search")
    """With a finite action set (``legal_actions()``), rollouts follow the policy restricted to
    the legal actions, as the root's proposals do: a first sample that names no legal action
    gives no rollout, and a rollout ends before a later action that is not legal, so only legal
    continuations enter V_hat (when no sample is legal, the leaf keeps its own value). Off, such
    an action runs and the environment refuses it: the state stays, and the rollout counts the
    leaf's value once more (on BlocksWorld, two in five of the embedded model's rollout moves:
    ``tools/bw_rollout_moves.py``)."""
    untried_candidates: int = _setting(0, "search", 0)
    """With a finite action set, this many more root candidates: legal actions that the
    episode has not taken and no proposal names, drawn at random (seeded by ``seed`` and the
    step), with P_LLM 0. They let the value choose exploration when the model only proposes
    what it has already done (an ALFWorld game examining one cabinet twenty times); each costs
    the requests of one more candidate."""
    rollout_aggregate: RolloutAggregate = _setting("mean", "search")
    """How a path's rollout values make its Monte-Carlo V_hat: ``mean`` (the estimate of the
    policy's expected return) or ``max`` (the optimistic variant the paper discusses: what the
    best of the policy's continuations reaches)."""
    horizon: int = _setting(6, "search", 1)
    """H: real actions at most before the agent must answer."""
    rollout_horizon: int = _setting(3, "search", 0)
    """Simulated actions at most per rollout (after the path), bounded by what is left of H."""
    lam: float = _setting(0.5, "search", 0)
    """lambda: weight of the LLM prior (sum of P_LLM over the path) against the value."""
    samples: int = _setting(0, "search", 0)
    """n: samples per proposal request; 0 means max(k, 4)."""
    temperature: float = _setting(0.8, "search", 0)
    """Sampling temperature for proposals and rollouts."""
    reply_tokens: int = _setting(512, "search", 1)
    """Completion tokens at most per proposal or rollout sample. A request waits for its
    longest sample, and a small model often writes a whole plan after the one fenced action
    it is asked for (only the first block counts): where an action is short (a puzzle move, a
    game command), a cap of a few dozen tokens ends those samples early. The same cap applies to
    the vote's samples."""
    p_llm: PLLMRule = _setting("auto", "search")
    """How P_LLM is computed: ``logprob`` = exp(mean token log-probability) of the sample;
    ``agreement`` = share of the n samples proposing the same action; ``auto`` = logprob when
    the model returns log-probabilities, else agreement."""
    expand_from: ExpandFrom = _setting("policy", "search")
    """Where the children of a node below the root come from: ``policy`` = k proposals of the
    LLM (one request per node, k**(N-1) requests per decision at depth N); ``legal`` = when the
    environment has a finite action set (``legal_actions()``), every legal action, with P_LLM 0
    and no request, so only the root's candidates carry the LLM's prior (a cheap lookahead for
    puzzles; open action sets still ask the LLM)."""
    execute_path: bool = _setting(False, "search")
    """Run every action of the chosen sub-goal path for real, in order (the paper's ALFWorld
    protocol: N actions per decision), instead of only its first one; the path stops early when
    an action ends the episode. A decision then spends one search on N real actions."""
    value: ValueEstimator = _setting("feedback", "value")
    """V_hat without a gold answer: ``feedback`` = Monte-Carlo rollouts valued by execution
    feedback plus agreement between rollouts; ``critic`` = the LLM rates the leaf;
    ``feedback+critic`` = the mean of both."""
    agreement_weight: float = _setting(0.5, "value", 0)
    """Weight of agreement (how much of the policy reaches the same result) in the value."""
    stop_when: StopRule = _setting("submit", "stopping")
    """When the agent stops before the horizon: ``submit`` = when the chosen path is SUBMIT;
    ``no_gain`` = also when the chosen path's value (V_hat) is no higher than the value of a
    result in hand (a real step whose decision valued the state it reached), so the agent does
    not act on a result it values no better than one it has (and the files or tables that
    result left stay as they are). With depth > 1, or rollouts that go past the leaf, a step's
    value is that of a state further ahead, not in hand, and the rule does not stop there.
    Measured with ``rollouts=0`` (docs/changelog.md, 2026-11-25): better on InterCode-SQL and
    -Bash; not the default, since on a puzzle a plateau of the value is a step on the way.
    ``first_result`` = ``no_gain``, and also right after the first real action that did not fail
    (a result, empty or not): for tasks answered by one query, where a later decision's
    agreement is no evidence against a result in hand (its samples see that result and repeat
    it), so exploring past it can only replace it (docs/changelog.md, 2026-12-02). Not
    for tasks that take several actions (a shell session, a puzzle)."""
    repeat_means_submit: bool = _setting(True, "stopping")
    """A proposal that repeats the action that just ran counts as SUBMIT (see proposal.py)."""
    answer_from: AnswerRule = _setting("best", "stopping")
    """Which real result the final answer rests on: ``best`` = the real step whose decision
    valued it highest (ties: the later one), so exploring after a good result cannot replace it
    with a worse one; ``last`` = the last real step."""
    max_llm_calls: int = _setting(80, "budgets", 1)
    """Budget: LLM requests per run (a request with n samples counts once)."""
    max_tokens: int = _setting(200_000, "budgets", 1)
    """Budget: prompt plus completion tokens per run."""
    max_seconds: float = _setting(900.0, "budgets", 0, strict=True)
    """Budget: wall-clock seconds per run."""
    max_rollouts: int = _setting(200, "budgets", 0)
    """Budget: simulated rollouts per run."""
    approve_writes: bool = _setting(True, "runtime")
    """With a checkpointer, ask for approval (a LangGraph ``interrupt``) before a real action that
    the environment says changes data (``needs_approval``); resume with ``Command(resume=True)``
    to run it or ``Command(resume=False)`` to refuse it."""
    journal_path: str | None = _setting(None, "runtime")
    """Where the action journal lives (only used with a checkpointer); default
    ``<cache>/langgraph-slinvit/journal.sqlite``."""
    history_tokens: int = _setting(2000, "runtime", 0)
    """Tokens (estimated as characters / 4) of earlier turns of the thread shown with a follow-up
    question: their questions, the actions that ran with their results, and the answers."""
    summarize_answer: bool = _setting(True, "runtime")
    """Ask the LLM to phrase the final answer from the last result (one more call)."""
    retries: int = _setting(3, "runtime", 0)
    """Retries of a model request after a transient endpoint error (connection, timeout, 5xx)."""
    retry_backoff: float = _setting(1.0, "runtime", 0)
    """Seconds before the first retry; doubled each time (at most 30)."""
    rollout_workers: int = _setting(1, "runtime", 1)
    """Rollouts of one leaf that run at the same time, in threads, each in its own fork, for an
    environment that allows it (``parallel_forks()``): with a model server of S parallel slots,
    up to S keep it busy. 1 runs them one after another (the order a scripted model expects)."""
    seed: int | None = _setting(None, "runtime")
    """Seed passed to the model where it supports one."""

    def __post_init__(self) -> None:
        hints = _hints()
        for f in fields(self):
            _validate(f, hints[f.name], getattr(self, f.name))

    @classmethod
    def for_sql_questions(cls, **overrides: Any) -> SlinvitConfig:
        """The ``sql`` preset (:data:`langgraph_slinvit.presets.PRESETS`): the settings that
        answer questions over a database best in the published benchmark (InterCode-SQL,
        docs/results.md, 2026-12-03). ``overrides`` replace any field."""
        from langgraph_slinvit.presets import preset

        return preset("sql", **overrides)

    @property
    def n_samples(self) -> int:
        return self.samples or max(self.k, 4)

    def group(self, name: str) -> dict[str, Any]:
        """The settings of one group of :data:`GROUPS`, by name."""
        if name not in GROUPS:
            raise ValueError(f"unknown settings group {name!r}; groups: {', '.join(GROUPS)}")
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata["group"] == name}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@cache
def _hints() -> dict[str, Any]:
    return get_type_hints(SlinvitConfig)


def choices(hint: Any) -> tuple[Any, ...] | None:
    """The values a ``Literal`` type (or an optional one) allows; None for other types."""
    base, _ = split_optional(hint)
    return get_args(base) if get_origin(base) is Literal else None


def split_optional(hint: Any) -> tuple[Any, bool]:
    """``(T, True)`` for ``T | None``, else ``(hint, False)``."""
    if get_origin(hint) in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(get_args(hint)) == 2:
            return args[0], True
    return hint, False


def _validate(f: Field[Any], hint: Any, value: Any) -> None:
    base, optional = split_optional(hint)
    if value is None and optional:
        return
    allowed = choices(base)
    low, strict = f.metadata["low"], f.metadata["strict"]
    if allowed is not None:
        ok, rule = value in allowed, "one of " + ", ".join(repr(a) for a in allowed)
    elif base is bool:
        ok, rule = isinstance(value, bool), "True or False"
    elif base is int:
        ok, rule = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif base is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        rule = "a number"
    elif base is str:
        ok, rule = isinstance(value, str), "a string"
    else:  # pragma: no cover - a new field type must be taught here
        raise TypeError(f"SlinvitConfig.{f.name}: no validation for type {hint!r}")
    if low is not None:
        rule += f" {'>' if strict else '>='} {low:g}"
        ok = ok and (value > low if strict else value >= low)
    if optional:
        rule += ", or None"
    if not ok:
        raise ValueError(f"invalid SlinvitConfig value: {f.name}={value!r} (must be {rule})")


@cache
def setting_docs() -> dict[str, str]:
    """Each field's docstring (the string literal after it in the class body), by name."""
    tree = ast.parse(inspect.getsource(SlinvitConfig))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, after in itertools.pairwise(body):
        named = isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
        if named and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
            docs[node.target.id] = inspect.cleandoc(str(after.value.value))  # type: ignore[union-attr]
    return docs
