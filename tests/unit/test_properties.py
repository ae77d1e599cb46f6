"""Property tests for the parsers, P_LLM and the rewards.

Already covered elsewhere, and not repeated here: ``parse_action`` never raising on short text
(``test_proposal.py``); the InterCode-SQL reward's self-reward, symmetry, bounds and
permutations (``test_sql_reward.py``); TF-IDF symmetry and bounds (``test_bash_reward.py``).
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration

from langgraph_slinvit.bench.rewards.bash import (
    BashEpisodeResult,
    FileChange,
    bash_reward,
    compute_bash_reward,
)
from langgraph_slinvit.envs.base import SHELL_SYNTAX, SQL_SYNTAX, ActionSyntax
from langgraph_slinvit.policy import Sample, _mean_logprob
from langgraph_slinvit.prompts import SUBMIT
from langgraph_slinvit.proposal import (
    MAX_ACTION_CHARS,
    candidates_from_samples,
    normalize,
    parse_action,
)
from langgraph_slinvit.value import parse_critic_score

SYNTAXES = st.sampled_from([SQL_SYNTAX, SHELL_SYNTAX])

# ------------------------------------------------------------------ parse_action


@given(st.text(max_size=2000), SYNTAXES)
def test_parse_action_result_is_usable(text: str, syntax: ActionSyntax) -> None:
    action = parse_action(text, syntax)
    if action is not None:
        assert action == SUBMIT or (action.strip() and len(action) <= MAX_ACTION_CHARS)


body_text = st.text(st.characters(blacklist_characters="`"), min_size=1, max_size=300).filter(
    lambda b: b.strip() and b.strip().lower() not in ("submit", "submit;")
)


@given(body_text, st.sampled_from(["sql", "", "sqlite"]), st.text(max_size=40))
def test_a_fenced_block_is_taken_verbatim(body: str, tag: str, prose: str) -> None:
    prose = prose.replace("`", "")
    reply = f"{prose}\n```{tag}\n{body}\n```\nthanks"
    assert parse_action(reply, SQL_SYNTAX) == body.strip()[:MAX_ACTION_CHARS]


@given(st.text(max_size=200))
def test_normalize_is_idempotent(action: str) -> None:
    once = normalize(action)
    assert normalize(once) == once


# ------------------------------------------------------------------ P_LLM

POOL = [
    "```sql\nSELECT 1\n```",
    "```sql\nSELECT  1;\n```",  # the same action as the first after normalising
    "```sql\nSELECT 2\n```",
    "SELECT name FROM t",
    "SUBMIT",
    "I cannot help with that.",
    "",
    "```python\nprint(1)\n```",
]
samples_st = st.lists(
    st.builds(
        Sample,
        st.one_of(st.sampled_from(POOL), st.text(max_size=60)),
        st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    ),
    max_size=12,
)


@given(samples_st)
def test_agreement_rule_is_a_distribution_over_distinct_actions(samples: list[Sample]) -> None:
    cands = candidates_from_samples(samples, SQL_SYNTAX, "agreement")
    keys = [normalize(c.action) for c in cands]
    assert len(keys) == len(set(keys))  # distinct actions
    for c in cands:
        assert 0.0 < c.p_llm <= 1.0
        assert math.isclose(c.p_llm, c.count / len(samples))
    assert sum(c.p_llm for c in cands) <= 1.0 + 1e-9
    assert sum(c.count for c in cands) <= len(samples)
    assert [c.p_llm for c in cands] == sorted((c.p_llm for c in cands), reverse=True)


@given(samples_st, st.sampled_from(["logprob", "auto"]))
def test_logprob_rules_stay_in_unit_interval(samples: list[Sample], rule: str) -> None:
    """Whatever log-probabilities an endpoint sends (positive, infinite, NaN)."""
    cands = candidates_from_samples(samples, SQL_SYNTAX, rule)
    keys = [normalize(c.action) for c in cands]
    assert len(keys) == len(set(keys))
    for c in cands:
        assert 0.0 <= c.p_llm <= 1.0, c


@given(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)))
def test_token_probability_is_a_probability(mean_logprob: float | None) -> None:
    p = Sample("x", mean_logprob).token_probability
    assert p is None or 0.0 <= p <= 1.0


junk = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["logprob", "x"]), inner)
    ),
    max_leaves=12,
)


@given(st.one_of(junk, st.fixed_dictionaries({"content": st.lists(junk, max_size=5)})))
def test_malformed_logprobs_never_raise(logprobs: object) -> None:
    generation = ChatGeneration(message=AIMessage("x"), generation_info={"logprobs": logprobs})
    mean = _mean_logprob(generation)
    assert mean is None or (math.isfinite(mean) and mean <= 0.0)


# ------------------------------------------------------------------ critic score


@given(st.text(max_size=300))
def test_critic_score_is_none_or_in_unit_interval(text: str) -> None:
    score = parse_critic_score(text)
    assert score is None or 0.0 <= score <= 1.0


@given(st.lists(st.integers(0, 10), min_size=1, max_size=4), st.text(max_size=40))
def test_critic_score_takes_the_last_score(scores: list[int], noise: str) -> None:
    noise = noise.replace(":", "").replace("=", "")
    text = noise + "".join(f"\nScore: {s} because {noise}" for s in scores)
    assert parse_critic_score(text) == scores[-1] / 10


# ------------------------------------------------------------------ InterCode-Bash reward

paths = st.sampled_from(["a.txt", "b.txt", "dir/", "dir/c.txt", "old.txt"])
changes = st.dictionaries(
    paths,
    st.builds(
        FileChange,
        st.sampled_from(["added", "removed", "modified"]),
        st.one_of(st.none(), st.sampled_from(["h1", "h2", "h3"])),
    ),
    max_size=4,
)
episodes = st.builds(
    BashEpisodeResult,
    changes,
    st.one_of(st.none(), st.text(max_size=80), st.sampled_from(["3 files", "a b c", ""])),
)


@given(episodes)
def test_bash_self_reward_is_exactly_one(episode: BashEpisodeResult) -> None:
    result = compute_bash_reward(episode, episode)
    assert result.reward == 1.0 and result.success
    assert bash_reward(episode, episode, content_kinds=("added", "modified")) == 1.0


@settings(max_examples=200)
@given(episodes, episodes)
def test_bash_reward_range_and_parts(agent: BashEpisodeResult, gold: BashEpisodeResult) -> None:
    r = compute_bash_reward(agent, gold)
    for part in (r.file_diff, r.file_changes, r.answer_similarity):
        assert 0.0 <= part <= 0.33
    assert 0.01 <= r.reward <= 1.0 + 1e-12
    assert math.isclose(r.reward, 0.01 + r.file_diff + r.file_changes + r.answer_similarity)
    if r.success:  # one missing or extra change already costs 0.28
        assert {(p, c.kind) for p, c in agent.fs_diff.items()} == {
            (p, c.kind) for p, c in gold.fs_diff.items()
        }
