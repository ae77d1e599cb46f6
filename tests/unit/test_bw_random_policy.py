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
