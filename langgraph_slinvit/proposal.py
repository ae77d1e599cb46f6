"""Propose: turn n LLM samples into k distinct candidate actions with P_LLM.

P_LLM rules (``SlinvitConfig.p_llm``):

* ``agreement``: the share of all samples that proposed the action (after normalising
  whitespace and a trailing semicolon), so P_LLM sums to at most 1 over the candidates;
* ``logprob``: ``exp(mean token log-probability)`` of the most likely sample of the action, the
  "mean token probability" of the reference code;
* ``auto``: ``logprob`` when every sample carries log-probabilities, else ``agreement``.

A sample without a usable action (no code block, a refusal, garbage) is counted in the
denominator but proposes nothing. A sample that repeats the action that just ran counts as
``SUBMIT`` (``repeat_means_submit``): running it again adds no information, and small models
re-state their answer this way instead of submitting. If fewer than k distinct actions come
back, one more request asks for actions different from those seen, pooled into the same counts.

With a finite action set (``choices``, an environment's ``legal_actions()``), every reply is
mapped onto the legal action it names (:func:`action_of`: a fenced or bare action equal to one,
else the legal action named earliest in the text, so a reply in prose still counts), and instead
of a second request the candidates are filled up to k from the remaining legal actions with
P_LLM 0: the reference code ranks *all* legal actions by P_LLM. ``SUBMIT`` is no candidate
there: such an environment ends the episode itself when the task is done.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from langgraph_slinvit.budget import Budget, BudgetExhausted
from langgraph_slinvit.envs.base import ActionSyntax
from langgraph_slinvit.policy import REPLY_TOKENS, Policy, Sample
from langgraph_slinvit.prompts import SUBMIT, proposal_messages
from langgraph_slinvit.records import ActionStep, CandidateRecord, ObservationRecord

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
MAX_ACTION_CHARS = 4000
_BULLET = re.compile(r"^\s*(?:[-*]|\d+[.)])\s+")


@dataclass
class Candidate:
    """A proposed action with its prior probability under the LLM."""

    action: str
    p_llm: float
    count: int = 1

    @property
    def is_submit(self) -> bool:
        return self.action == SUBMIT

    def to_dict(self) -> CandidateRecord:
        return CandidateRecord(**asdict(self))

    @classmethod
    def from_dict(cls, record: CandidateRecord) -> Candidate:
        """The candidate of a record (graph state, a branch's input): the one way back."""
        return cls(action=record["action"], p_llm=record["p_llm"], count=record.get("count", 1))


def parse_action(text: str, syntax: ActionSyntax) -> str | None:
    """The action in a model reply, ``SUBMIT``, or None when there is no usable action.

    The first fenced block whose tag the syntax accepts wins; a bare ``SUBMIT`` reply (or a
    block holding only ``submit``) means submit; an unfenced reply is taken only when the syntax
    says it is an action (``ActionSyntax.is_bare_action``: one plausible statement).
    """
    if not isinstance(text, str):
        return None
    stripped = text.strip()
    if not stripped:
        return None
    for match in _FENCE.finditer(stripped):
        tag, body = match.group(1).lower(), match.group(2).strip()
        if body.lower() in ("submit", "submit;"):
            return SUBMIT
        if body and syntax.accepts_tag(tag):
            return _clip(body)
    first_word = re.split(r"\W+", stripped, maxsplit=1)[0] if stripped else ""
    if first_word.upper() == SUBMIT:
        return SUBMIT
    if "```" in stripped:
        return None
    return _clip(stripped) if syntax.is_bare_action(stripped) else None


def _choice_key(text: str) -> str:
    return re.sub(r"\s+", " ", _BULLET.sub("", text.strip().strip("`"))).strip().rstrip(".").lower()


def match_choice(text: str, choices: Sequence[str]) -> str | None:
    """The choice that ``text`` is (case, spacing, a bullet and a final period aside) or, failing
    that, the choice it names earliest as whole words (the longer one on a tie); else None."""
    key = _choice_key(text)
    keys = [_choice_key(c) for c in choices]
    if key in keys:
        return choices[keys.index(key)]
    low = re.sub(r"\s+", " ", text.lower())
    found: list[tuple[int, int, str]] = []
    for choice, ckey in zip(choices, keys, strict=True):
        match = re.search(rf"(?<![a-z0-9]){re.escape(ckey)}(?![a-z0-9])", low) if ckey else None
        if match:
            found.append((match.start(), -len(ckey), choice))
    return min(found)[2] if found else None


def action_of(text: str, syntax: ActionSyntax, choices: Sequence[str] | None = None) -> str | None:
    """The action of a reply: :func:`parse_action`, mapped onto ``choices`` when the
    environment's action set is finite. A fenced action that names no listed one is kept as
    written (the environment may accept another form, e.g. PDDL, or report it illegal); prose
    that names none gives None."""
    action = parse_action(text, syntax)
    if choices is None or action == SUBMIT:
        return action
    for source in (action, text):
        if isinstance(source, str) and source.strip():
            chosen = match_choice(source, choices)
            if chosen is not None:
                return chosen
    return action  # a written action naming no listed one: the environment judges its form


def _clip(action: str) -> str:
    return action if len(action) <= MAX_ACTION_CHARS else action[:MAX_ACTION_CHARS]


def normalize(action: str) -> str:
    """The key under which two actions count as the same."""
    if action == SUBMIT:
        return SUBMIT
    return re.sub(r"\s+", " ", action.strip().rstrip(";").strip())


def candidates_from_samples(
    samples: Sequence[Sample],
    syntax: ActionSyntax,
    rule: str,
    total: int | None = None,
    last_action: str | None = None,
    choices: Sequence[str] | None = None,
) -> list[Candidate]:
    """Group samples by normalised action and compute P_LLM; most probable first.

    A sample equal to ``last_action`` (the action that just ran) counts as ``SUBMIT``; with
    ``choices`` each sample counts as the legal action it names (:func:`action_of`), and one
    naming none, or ``SUBMIT``, proposes nothing: such an environment ends its episodes itself
    (``Observation.terminal``), so stopping early could only give up.
    """
    repeat = normalize(last_action) if last_action else None
    use_logprob = rule == "logprob" or (
        rule == "auto" and samples and all(s.mean_logprob is not None for s in samples)
    )
    groups: dict[str, Candidate] = {}
    denominator = total if total is not None else len(samples)
    for sample in samples:
        action = action_of(sample.text, syntax, choices)
        if action is None or (choices is not None and action not in choices):
            continue  # with a finite set only its legal actions are candidates (no SUBMIT)
        key = normalize(action)
        if key == repeat:
            action = key = SUBMIT
        prob = sample.token_probability if use_logprob else None
        if key in groups:
            groups[key].count += 1
            if prob is not None:
                groups[key].p_llm = max(groups[key].p_llm, prob)
        else:
            groups[key] = Candidate(action=action, p_llm=prob if prob is not None else 0.0)
    for cand in groups.values():
        if not use_logprob or cand.p_llm == 0.0:
            cand.p_llm = cand.count / max(denominator, 1)
    return sorted(groups.values(), key=lambda c: (-c.p_llm, -c.count))


def propose(
    policy: Policy,
    *,
    task: str,
    context: str,
    steps: Sequence[ActionStep],
    syntax: ActionSyntax,
    k: int,
    n: int,
    rule: str,
    budget: Budget,
    repeat_means_submit: bool = True,
    choices: Sequence[str] | None = None,
    reply_tokens: int = REPLY_TOKENS,
) -> list[Candidate]:
    """Up to ``k`` distinct candidate actions for the state reached by ``steps``.

    ``choices``: the legal actions when the action set is finite (see the module docstring).
    ``reply_tokens``: completion tokens at most per sample.
    """
    last = steps[-1].get("action") if steps and repeat_means_submit else None
    if choices is not None:
        last = None  # a puzzle move may rightly repeat (pick up, put down, pick up again)
    messages = proposal_messages(task, context, steps, syntax)
    samples = policy.sample(messages, n, budget, max_tokens=reply_tokens)
    candidates = candidates_from_samples(samples, syntax, rule, last_action=last, choices=choices)
    if choices is not None:
        seen = {c.action for c in candidates}
        fill = [Candidate(action=c, p_llm=0.0, count=0) for c in choices if c not in seen]
        return [*candidates, *fill][:k]
    if len(candidates) < k:
        avoid = [c.action for c in candidates if not c.is_submit]
        try:
            again = proposal_messages(task, context, steps, syntax, avoid)
            more = policy.sample(again, n, budget, max_tokens=reply_tokens)
        except BudgetExhausted:
            more = []  # keep what the first request gave
        candidates = candidates_from_samples([*samples, *more], syntax, rule, last_action=last)
    return candidates[:k]


def is_failure(observation: ObservationRecord) -> bool:
    """True for an observation (``Observation.to_dict()``) of an action that failed."""
    return (
        not observation.get("ok", True)
        or bool(observation.get("refused"))
        or bool(observation.get("timed_out"))
    )
