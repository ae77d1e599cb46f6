"""The knowledge-free BlocksWorld policy of tools/bw_search_without_llm.py names only legal actions
of the state its prompt shows last, and with the rollout settings the lookahead still runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from langchain_core.messages import HumanMessage

TOOL = Path(__file__).resolve().parents[2] / "tools" / "bw_search_without_llm.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("bw_search_without_llm", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PROMPT = """Legal actions now:
- pick up the red block
- pick up the blue block
Reply with one action.

Action 1: ...
Legal actions now:
- put down the red block
- stack the red block on top of the blue block
"""


def test_random_policy_names_a_legal_action_of_the_last_state() -> None:
    tool = load_tool()
    model = tool.random_model(seed=3)
    replies = model.invoke([HumanMessage(PROMPT)], n=1)
    seen = set()
    for _ in range(40):
        text = str(model.invoke([HumanMessage(PROMPT)]).content)
        seen.add(text.removeprefix("```text\n").removesuffix("\n```"))
    assert seen == {"put down the red block", "stack the red block on top of the blue block"}
    assert "pick up" not in str(replies.content)
    # the same seed gives the same draws
    again = tool.random_model(seed=3)
    first = [str(again.invoke([HumanMessage(PROMPT)]).content) for _ in range(5)]
    other = tool.random_model(seed=3)
    assert [str(other.invoke([HumanMessage(PROMPT)]).content) for _ in range(5)] == first
    # a prompt with no legal actions gets no action
    assert str(model.invoke([HumanMessage("no list here")]).content) == "I am not sure."


OTHER = """Legal actions now:
- pick up the green block
- pick up the yellow block
- unstack the orange block from on top of the green block
"""


def test_random_draws_do_not_depend_on_the_order_of_requests() -> None:
    """Parallel branches interleave their requests in any order; each prompt's draws stay."""
    tool = load_tool()

    def draws(order: list[str]) -> dict[str, list[str]]:
        model = tool.random_model(seed=7)
        seen: dict[str, list[str]] = {PROMPT: [], OTHER: []}
        for prompt in order:
            seen[prompt].append(str(model.invoke([HumanMessage(prompt)]).content))
        return seen

    interleaved = draws([PROMPT, OTHER] * 6)
    one_then_other = draws([PROMPT] * 6 + [OTHER] * 6)
    assert interleaved == one_then_other
    assert len(set(interleaved[OTHER])) > 1  # repeated asks of one prompt still vary
    other_seed = tool.random_model(seed=8)
    assert [str(other_seed.invoke([HumanMessage(OTHER)]).content) for _ in range(6)] != (
        interleaved[OTHER]
    )


def test_summary_pairs_each_setting_with_the_first_over_every_seed(capsys) -> None:
    tool = load_tool()
    outcomes = {
        "M=0": {(0, "a"): (False, 5.0), (0, "b"): (True, 5.0), (1, "a"): (False, 6.0)},
        "M=4": {(0, "a"): (True, 12.0), (0, "b"): (False, 12.0), (1, "a"): (True, 13.0)},
    }
    tool.print_summary(outcomes, [0, 1], 2)
    out = capsys.readouterr().out
    assert "M=0: solved [1, 0], mean 0.5 (25.0%), 5.3 requests/task" in out
    assert "M=4: solved [1, 1], mean 1.0 (50.0%), 12.3 requests/task" in out
    assert "against M=0: 2 wins, 1 losses (sign test p=1)" in out
