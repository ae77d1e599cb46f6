"""SlinvitConfig: the method's knobs and the run's budgets, with documented defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

ValueEstimator = Literal["feedback", "critic", "feedback+critic"]
PLLMRule = Literal["auto", "logprob", "agreement"]
AnswerRule = Literal["best", "last"]
ExpandFrom = Literal["policy", "legal"]
StopRule = Literal["submit", "no_gain", "first_result"]


_RANGES: dict[str, tuple[type, float, bool]] = {
    "k": (int, 1, False),
    "depth": (int, 1, False),
    "rollouts": (int, 0, False),
    "horizon": (int, 1, False),
    "rollout_horizon": (int, 0, False),
    "lam": (float, 0, False),
    "agreement_weight": (float, 0, False),
    "samples": (int, 0, False),
    "temperature": (float, 0, False),
    "max_llm_calls": (int, 1, False),
    "max_tokens": (int, 1, False),
    "max_seconds": (float, 0, True),
    "max_rollouts": (int, 0, False),
    "history_tokens": (int, 0, False),
    "retries": (int, 0, False),
    "retry_backoff": (float, 0, False),
    "seed": (int, -(2**63), False),
}
"""Each numeric setting: its type, its lower bound, and whether the bound is excluded."""
_OPTIONAL = ("seed",)


@dataclass(frozen=True)
class SlinvitConfig:
    """Settings of one SLINVIT agent.

    The score of a candidate path ``a_1..a_N`` is ``lam * sum_i P_LLM(a_i|s_i) + V_hat(leaf)``
    (P_LLM, not its log, as in the paper, so a rare candidate cannot score minus infinity).
    """

    k: int = 3
    """Distinct candidate actions proposed per search node."""
    depth: int = 1
    """N: actions per sub-goal path (the tree has up to k**N leaves)."""
    rollouts: int = 2
    """M: Monte-Carlo rollouts of the LLM policy from each leaf."""
    horizon: int = 6
    """H: real actions at most before the agent must answer."""
    rollout_horizon: int = 3
    """Simulated actions at most per rollout (after the path), bounded by what is left of H."""
    lam: float = 0.5
    """lambda: weight of the LLM prior (sum of P_LLM over the path) against the value."""
    value: ValueEstimator = "feedback"
    """V_hat without a gold answer: ``feedback`` = Monte-Carlo rollouts valued by execution
    feedback plus agreement between rollouts; ``critic`` = the LLM rates the leaf;
    ``feedback+critic`` = the mean of both."""
    agreement_weight: float = 0.5
    """Weight of agreement (how much of the policy reaches the same result) in the value."""
    p_llm: PLLMRule = "auto"
    """How P_LLM is computed: ``logprob`` = exp(mean token log-probability) of the sample;
    ``agreement`` = share of the n samples proposing the same action; ``auto`` = logprob when
    the model returns log-probabilities, else agreement."""
    samples: int = 0
    """n: samples per proposal request; 0 means max(k, 4)."""
    expand_from: ExpandFrom = "policy"
    """Where the children of a node below the root come from: ``policy`` = k proposals of the
    LLM (one request per node, k**(N-1) requests per decision at depth N); ``legal`` = when the
    environment has a finite action set (``legal_actions()``), every legal action, with P_LLM 0
    and no request, so only the root's candidates carry the LLM's prior (a cheap lookahead for
    puzzles; open action sets still ask the LLM)."""
    repeat_means_submit: bool = True
    """A proposal that repeats the action that just ran counts as SUBMIT (see proposal.py)."""
    temperature: float = 0.8
    """Sampling temperature for proposals and rollouts."""
    max_llm_calls: int = 80
    """Budget: LLM requests per run (a request with n samples counts once)."""
    max_tokens: int = 200_000
    """Budget: prompt plus completion tokens per run."""
    max_seconds: float = 900.0
    """Budget: wall-clock seconds per run."""
    max_rollouts: int = 200
    """Budget: simulated rollouts per run."""
    approve_writes: bool = True
    """With a checkpointer, ask for approval (a LangGraph ``interrupt``) before a real action that
    the environment says changes data (``needs_approval``); resume with ``Command(resume=True)``
    to run it or ``Command(resume=False)`` to refuse it."""
    journal_path: str | None = None
    """Where the action journal lives (only used with a checkpointer); default
    ``<cache>/langgraph-slinvit/journal.sqlite``."""
    answer_from: AnswerRule = "best"
    """Which real result the final answer rests on: ``best`` = the real step whose decision
    valued it highest (ties: the later one), so exploring after a good result cannot replace it
    with a worse one; ``last`` = the last real step."""
    stop_when: StopRule = "submit"
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
    history_tokens: int = 2000
    """Tokens (estimated as characters / 4) of earlier turns of the thread shown with a follow-up
    question: their questions, the actions that ran with their results, and the answers."""
    summarize_answer: bool = True
    """Ask the LLM to phrase the final answer from the last result (one more call)."""
    retries: int = 3
    """Retries of a model request after a transient endpoint error (connection, timeout, 5xx)."""
    retry_backoff: float = 1.0
    """Seconds before the first retry; doubled each time (at most 30)."""
    seed: int | None = None
    """Seed passed to the model where it supports one."""

    def __post_init__(self) -> None:
        for name, (kind, low, strict) in _RANGES.items():
            value = getattr(self, name)
            if value is None and name in _OPTIONAL:
                continue
            if kind is int:
                ok_type = isinstance(value, int) and not isinstance(value, bool)
            else:
                ok_type = isinstance(value, (int, float)) and not isinstance(value, bool)
            word = "an integer" if kind is int else "a number"
            rule = f"{word} {'>' if strict else '>='} {low}"
            if not ok_type or (value <= low if strict else value < low):
                raise ValueError(f"invalid SlinvitConfig value: {name}={value!r} (must be {rule})")
        for name in ("repeat_means_submit", "approve_writes", "summarize_answer"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"invalid SlinvitConfig value: {name}={getattr(self, name)!r} "
                                 "(must be True or False)")  # fmt: skip
        if self.value not in ("feedback", "critic", "feedback+critic"):
            raise ValueError(f"unknown value estimator: {self.value!r}")
        if self.answer_from not in ("best", "last"):
            raise ValueError(f"unknown answer rule: {self.answer_from!r}")
        if self.expand_from not in ("policy", "legal"):
            raise ValueError(f"unknown expansion source: {self.expand_from!r}")
        if self.stop_when not in ("submit", "no_gain", "first_result"):
            raise ValueError(f"unknown stop rule: {self.stop_when!r}")
        if self.p_llm not in ("auto", "logprob", "agreement"):
            raise ValueError(f"unknown P_LLM rule: {self.p_llm!r}")

    @classmethod
    def for_sql_questions(cls, **overrides: Any) -> SlinvitConfig:
        """The settings that answer questions over a database best in the published benchmark
        (InterCode-SQL, docs/results.md, 2026-12-03): 8 samples of one request at temperature
        0.6, agreement among their execution results as the value (no rollouts: one query
        answers), and the answer is the first query that runs. ``overrides`` replace any field.
        """
        settings: dict[str, Any] = {
            "k": 4,
            "samples": 8,
            "rollouts": 0,
            "horizon": 4,
            "p_llm": "agreement",
            "agreement_weight": 1.0,
            "stop_when": "first_result",
            "temperature": 0.6,
        }
        return cls(**{**settings, **overrides})

    @property
    def n_samples(self) -> int:
        return self.samples or max(self.k, 4)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
