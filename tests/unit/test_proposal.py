from hypothesis import given
from hypothesis import strategies as st

from langgraph_slinvit.budget import Budget
from langgraph_slinvit.envs.base import SHELL_SYNTAX, SQL_SYNTAX, TEXT_SYNTAX, ActionSyntax
from langgraph_slinvit.policy import Policy, Sample
from langgraph_slinvit.prompts import SUBMIT
from langgraph_slinvit.proposal import (
    action_of,
    candidates_from_samples,
    match_choice,
    normalize,
    parse_action,
    propose,
)
from langgraph_slinvit.testing import ScriptedChatModel


def fenced(sql: str) -> str:
    return f"```sql\n{sql}\n```"


def big_budget() -> Budget:
    return Budget(llm_calls=100, tokens=10**9, deadline=float("inf"))


def test_parse_fenced_sql_and_submit() -> None:
    assert parse_action("Here:\n```sql\nSELECT 1;\n```\nthanks", SQL_SYNTAX) == "SELECT 1;"
    assert parse_action("```\nSELECT 2\n```", SQL_SYNTAX) == "SELECT 2"
    assert parse_action("SUBMIT", SQL_SYNTAX) == SUBMIT
    assert parse_action("submit.", SHELL_SYNTAX) == SUBMIT
    assert parse_action("```bash\nsubmit\n```", SHELL_SYNTAX) == SUBMIT
    assert parse_action("```bash\nls -la\n```", SHELL_SYNTAX) == "ls -la"


def test_parse_takes_first_matching_block_and_rejects_garbage() -> None:
    two = "```python\nprint(1)\n```\n```sql\nSELECT a FROM t\n```\n```sql\nSELECT b\n```"
    assert parse_action(two, SQL_SYNTAX) == "SELECT a FROM t"
    assert parse_action("I cannot help with that.", SQL_SYNTAX) is None
    assert parse_action("", SQL_SYNTAX) is None
    assert parse_action("Sure, here is the command you need", SHELL_SYNTAX) is None
    assert parse_action("SELECT name FROM t", SQL_SYNTAX) == "SELECT name FROM t"


def test_parse_clips_huge_output() -> None:
    huge = "```sql\n" + "SELECT 1 UNION ALL " * 5000 + "SELECT 1\n```"
    action = parse_action(huge, SQL_SYNTAX)
    assert action is not None and len(action) == 4000


@given(st.text(max_size=400), st.sampled_from([SQL_SYNTAX, SHELL_SYNTAX]))
def test_parse_never_raises(text: str, syntax: ActionSyntax) -> None:
    result = parse_action(text, syntax)
    assert result is None or (isinstance(result, str) and result.strip())


def test_agreement_rule_counts_unusable_samples_in_denominator() -> None:
    samples = [Sample("```sql\nSELECT 1\n```")] * 2 + [Sample("```sql\nSELECT 1;\n```")]
    samples += [Sample("```sql\nSELECT 2\n```"), Sample("no idea")]
    cands = candidates_from_samples(samples, SQL_SYNTAX, "agreement")
    assert [c.action for c in cands] == ["SELECT 1", "SELECT 2"]
    assert [c.p_llm for c in cands] == [0.6, 0.2]
    assert [c.count for c in cands] == [3, 1]


def test_logprob_rule_uses_mean_token_probability() -> None:
    samples = [Sample("```sql\nSELECT 1\n```", -0.1), Sample("```sql\nSELECT 2\n```", -1.0)]
    cands = candidates_from_samples(samples, SQL_SYNTAX, "auto")
    assert cands[0].action == "SELECT 1"
    assert abs(cands[0].p_llm - 0.904837) < 1e-5
    assert abs(cands[1].p_llm - 0.367879) < 1e-5
    # without log-probabilities auto falls back to agreement
    plain = [Sample(s.text) for s in samples]
    assert [c.p_llm for c in candidates_from_samples(plain, SQL_SYNTAX, "auto")] == [0.5, 0.5]


def test_propose_returns_k_distinct_and_asks_again_when_short() -> None:
    model = ScriptedChatModel(
        script=[
            ["```sql\nSELECT 1\n```"] * 4,
            ["```sql\nSELECT 2\n```", "```sql\nSELECT 3\n```", "```sql\nSELECT 1\n```", "x"],
        ],
        calls=[],
    )
    budget = big_budget()
    cands = propose(
        Policy(model),
        task="t",
        context="c",
        steps=[],
        syntax=SQL_SYNTAX,
        k=3,
        n=4,
        rule="agreement",
        budget=budget,
    )
    assert len(cands) == 3
    assert len({normalize(c.action) for c in cands}) == 3
    assert len(model.calls) == 2 and model.calls[0]["n"] == 4
    assert "different" in str(model.calls[1]["messages"][-1].content)
    assert cands[0].action == "SELECT 1" and cands[0].p_llm == 5 / 8
    assert budget.spent["llm_calls"] == 2


def test_repeating_the_last_action_counts_as_submit() -> None:
    samples = [
        Sample("```sql\nSELECT 1;\n```"),
        Sample("```sql\nSELECT  1\n```"),
        Sample("SUBMIT"),
        Sample("```sql\nSELECT 2\n```"),
    ]
    cands = candidates_from_samples(samples, SQL_SYNTAX, "agreement", last_action="SELECT 1")
    assert [(c.action, c.p_llm) for c in cands] == [(SUBMIT, 0.75), ("SELECT 2", 0.25)]
    plain = candidates_from_samples(samples, SQL_SYNTAX, "agreement")
    assert normalize(plain[0].action) == "SELECT 1" and plain[0].count == 2


def test_completion_tokens_count_every_choice() -> None:
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration

    from langgraph_slinvit.policy import _usage

    def gen(tokens: int) -> ChatGeneration:
        lp = {"content": [{"token": "t", "logprob": -0.1}] * tokens}
        return ChatGeneration(message=AIMessage("x"), generation_info={"logprobs": lp})

    # like llama-server with n=3: usage counts one choice, the log-probabilities show all three
    reported = {"token_usage": {"prompt_tokens": 40, "completion_tokens": 3}}
    assert _usage(reported, [gen(3), gen(6), gen(2)]) == (40, 11)
    # an endpoint that counts every choice itself is trusted
    honest = {"token_usage": {"prompt_tokens": 40, "completion_tokens": 20}}
    assert _usage(honest, [gen(3), gen(6), gen(2)]) == (40, 20)


LEGAL = [
    "pick up the red block",
    "unstack the blue block from on top of the orange block",
    "stack the red block on top of the blue block",
]


def test_a_reply_in_prose_counts_as_the_legal_action_it_names() -> None:
    assert match_choice("- Pick up the red block.", LEGAL) == LEGAL[0]
    prose = "First I will unstack the blue block from on top of the orange block, then pick up..."
    assert match_choice(prose, LEGAL) == LEGAL[1]  # the one named earliest
    # "stack ..." inside "unstack ..." is not a match: whole words only
    assert match_choice("unstack the red block on top of the blue block", LEGAL) is None
    assert action_of("```text\nPICK UP THE RED BLOCK\n```", TEXT_SYNTAX, LEGAL) == LEGAL[0]
    assert (
        action_of("I would stack the red block on top of the blue block.", TEXT_SYNTAX, LEGAL)
        == (LEGAL[2])
    )
    assert action_of("Let me think about the tower.", TEXT_SYNTAX, LEGAL) is None
    assert action_of("SUBMIT", TEXT_SYNTAX, LEGAL) == SUBMIT
    assert action_of("pick up the red block", TEXT_SYNTAX) is None  # open action set: no mapping


def test_a_finite_action_set_fills_up_to_k_from_the_legal_actions_without_asking_again() -> None:
    model = ScriptedChatModel(
        script=[["I would pick up the red block.", "pick up the red block", "no idea", "?"]],
        calls=[],
    )
    budget = big_budget()
    cands = propose(
        Policy(model),
        task="t",
        context="c",
        steps=[],
        syntax=TEXT_SYNTAX,
        k=2,
        n=4,
        rule="agreement",
        budget=budget,
        choices=LEGAL,
    )
    assert [(c.action, c.p_llm) for c in cands] == [(LEGAL[0], 0.5), (LEGAL[1], 0.0)]
    assert len(model.calls) == 1 and budget.spent["llm_calls"] == 1
    # a move may repeat the last one (the rule that a repeat means SUBMIT is for open sets)
    again = ScriptedChatModel(script=[["pick up the red block"] * 4], calls=[])
    steps = [{"action": LEGAL[0], "observation": {"output": "ok"}}]
    cands = propose(
        Policy(again),
        task="t",
        context="c",
        steps=steps,
        syntax=TEXT_SYNTAX,
        k=1,
        n=4,
        rule="agreement",
        budget=big_budget(),
        choices=LEGAL,
    )
    assert [(c.action, c.p_llm) for c in cands] == [(LEGAL[0], 1.0)]


def test_a_finite_action_set_keeps_only_legal_candidates() -> None:
    samples = [
        Sample("SUBMIT"),
        Sample("```text\nSet the goal: red on blue\n```"),
        Sample("```text\n(unstack blue orange)\n```"),
        Sample("pick up the red block"),
    ]
    cands = candidates_from_samples(samples, TEXT_SYNTAX, "agreement", choices=LEGAL)
    assert [(c.action, c.p_llm) for c in cands] == [(LEGAL[0], 0.25)]
